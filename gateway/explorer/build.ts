/**
 * Builds the explorer bundle into gateway/explorer/dist when it is missing, incomplete or older than its sources,
 * the way web/build.ts does for the pages (scripts/viteBundle.ts: a build goes to a folder beside dist and replaces
 * it only when complete, so the gateway never serves half a bundle). `npm start` builds it before it says the system
 * is up, and so does `npm run build`; in development the gateway also builds it when a visit to /explorer finds it
 * missing or stale (explorerRoute.ts runs this file as a child process, so the gateway keeps answering).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, bundleNeedsBuild, ensureBundleBuilt, type ViteBundle } from '../../scripts/viteBundle.js';

export const EXPLORER_DIR = fileURLToPath(new URL('.', import.meta.url));
export const EXPLORER_DIST = join(EXPLORER_DIR, 'dist');
const EXPLORER: ViteBundle = {
  configFile: join(EXPLORER_DIR, 'vite.config.ts'),
  sources: [join(EXPLORER_DIR, 'src'), join(EXPLORER_DIR, 'index.html'), join(EXPLORER_DIR, 'vite.config.ts')],
};

export const buildExplorer = (outDir = EXPLORER_DIST): Promise<void> => buildBundle(EXPLORER, outDir);
/** True when dist is missing, lacks a file its index.html names, or is older than any source of the explorer. */
export const explorerNeedsBuild = (outDir = EXPLORER_DIST): Promise<boolean> => bundleNeedsBuild(EXPLORER, outDir);
export const ensureExplorerBuilt = (outDir = EXPLORER_DIST): Promise<boolean> => ensureBundleBuilt(EXPLORER, outDir);

// `node --import tsx gateway/explorer/build.ts [outDir]`: build when needed, say what happened.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] || EXPLORER_DIST;
  const started = performance.now();
  const built = await ensureExplorerBuilt(outDir);
  console.log(built ? `built the explorer into ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s` : 'the explorer bundle is up to date');
}
