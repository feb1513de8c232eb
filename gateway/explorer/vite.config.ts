/**
 * Builds the local explorer (GraphiQL 5) into gateway/explorer/dist, served by the gateway at /explorer
 * (gateway/src/explorer/explorerRoute.ts). Everything it loads at run time is in that folder: scripts, styles,
 * Monaco's web workers and the fonts (inlined by GraphiQL's stylesheet).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative URLs: the page works under whatever path the gateway mounts it (/explorer/ by default).
  base: './',
  // React's production build whoever builds it: vitest (NODE_ENV=test) builds it too, and Vite would follow that.
  mode: 'production',
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Monaco alone is several MB; the size is expected and the page is served from the local gateway.
    chunkSizeWarningLimit: 8_000,
    modulePreload: false,
    rollupOptions: {
      // GraphiQL's dependencies mark modules "use client" for React Server Components; a client bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  // Monaco's GraphQL worker imports modules of its own: module workers keep them as code-split chunks.
  worker: { format: 'es' },
});
