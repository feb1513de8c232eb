/**
 * Builds the explorer bundle into gateway/explorer/dist when it is missing or older than its sources, the way
 * web/build.ts does for the pages. `npm run build` builds it; in development the gateway also builds it on the
 * first visit to /explorer (explorerRoute.ts runs this file as a child process, so the gateway keeps answering).
 * Vite is a devDependency: it is loaded only when a build is needed.
 *
 * A build goes to a temporary folder beside dist and replaces dist only when complete, so the gateway never
 * serves half a bundle.
 */
import { rmSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXPLORER_DIR = fileURLToPath(new URL('.', import.meta.url));
export const EXPLORER_DIST = join(EXPLORER_DIR, 'dist');
const SOURCES = [join(EXPLORER_DIR, 'src'), join(EXPLORER_DIR, 'index.html'), join(EXPLORER_DIR, 'vite.config.ts')];

export async function buildExplorer(outDir = EXPLORER_DIST): Promise<void> {
  const { build } = await import('vite');
  const staging = `${outDir}.building-${process.pid}-${Date.now()}`;
  // Stopped half-way (the gateway stopping kills its build): leave no half-built folder behind.
  const abandon = () => {
    rmSync(staging, { recursive: true, force: true });
    process.exit(143);
  };
  process.once('SIGTERM', abandon);
  try {
    await build({ configFile: join(EXPLORER_DIR, 'vite.config.ts'), logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir);
  } finally {
    process.off('SIGTERM', abandon);
    await rm(staging, { recursive: true, force: true });
  }
}

/** True when dist/index.html is missing or older than any source of the explorer. */
export async function explorerNeedsBuild(outDir = EXPLORER_DIST): Promise<boolean> {
  const built = await stat(join(outDir, 'index.html')).catch(() => null);
  if (!built) return true;
  return (await newestChangeMs(SOURCES)) > built.mtimeMs;
}

export async function ensureExplorerBuilt(outDir = EXPLORER_DIST): Promise<boolean> {
  if (!(await explorerNeedsBuild(outDir))) return false;
  await buildExplorer(outDir);
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

// `node --import tsx gateway/explorer/build.ts [outDir]`: build when needed, say what happened.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] || EXPLORER_DIST;
  const started = performance.now();
  const built = await ensureExplorerBuilt(outDir);
  console.log(built ? `built the explorer into ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s` : 'the explorer bundle is up to date');
}
