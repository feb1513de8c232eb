/**
 * Builds the pages into web/dist. The operations and their persisted-query ids come from
 * schema/persisted-query-manifest.json, imported at build time, so a page can only send what the manifest holds.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Nothing is fetched from outside at run time and nothing is copied from a public folder.
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no code splitting for four pages.
    modulePreload: false,
  },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
});
