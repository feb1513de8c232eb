/**
 * Builds the pages into web/dist when they are missing, incomplete or older than their sources, so `npm start`
 * always serves what the tree holds (scripts/viteBundle.ts: whole or absent).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, bundleNeedsBuild, ensureBundleBuilt, type ViteBundle } from '../scripts/viteBundle.js';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const PAGES_DIST = join(webDir, 'dist');
const PAGES: ViteBundle = {
  configFile: join(webDir, 'vite.config.ts'),
  sources: [join(webDir, 'src'), join(webDir, 'index.html'), join(webDir, 'vite.config.ts'), join(webDir, '../schema/persisted-query-manifest.json')],
};

export const buildPages = (outDir = PAGES_DIST): Promise<void> => buildBundle(PAGES, outDir);
export const pagesNeedBuild = (outDir = PAGES_DIST): Promise<boolean> => bundleNeedsBuild(PAGES, outDir);
export const ensurePagesBuilt = (outDir = PAGES_DIST): Promise<boolean> => ensureBundleBuilt(PAGES, outDir);
