/**
 * Builds the pages into web/dist when they are missing or older than their sources, so `npm start` always serves
 * what the tree holds. Vite is loaded only when a build is needed.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const SOURCES = [join(webDir, 'src'), join(webDir, 'index.html'), join(webDir, 'vite.config.ts'), join(webDir, '../schema/persisted-query-manifest.json')];

export async function buildPages(outDir?: string): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn', ...(outDir ? { build: { outDir, emptyOutDir: true } } : {}) });
}

/** True when web/dist/index.html is missing or older than any source of the pages. */
export async function pagesNeedBuild(): Promise<boolean> {
  const built = await stat(join(webDir, 'dist', 'index.html')).catch(() => null);
  if (!built) return true;
  return (await newestChangeMs(SOURCES)) > built.mtimeMs;
}

export async function ensurePagesBuilt(): Promise<boolean> {
  if (!(await pagesNeedBuild())) return false;
  await buildPages();
  return true;
}

async function newestChangeMs(paths: string[]): Promise<number> {
  let newest = 0;
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    if (info.isDirectory()) {
      const entries = await readdir(path);
      newest = Math.max(newest, await newestChangeMs(entries.map((e) => join(path, e))));
    } else {
      newest = Math.max(newest, info.mtimeMs);
    }
  }
  return newest;
}
