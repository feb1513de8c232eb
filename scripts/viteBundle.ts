/**
 * A Vite bundle the project serves (the pages in web/dist, the explorer in gateway/explorer/dist) is whole or
 * absent: it is built into a folder beside its place and moved in at once, and a bundle is built again when it is
 * older than its sources or when a file its index.html names is missing (a folder left half-deleted would otherwise
 * be served as blank pages, with 404s for their script and stylesheet). Vite, a development dependency, is loaded
 * only when a build is needed.
 */
import { rmSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ViteBundle {
  /** Its vite.config.ts. */
  configFile: string;
  /** Files and folders whose change makes the bundle stale. */
  sources: string[];
}

/** True when `outDir` lacks index.html or a file it names, or is older than any of the bundle's sources. */
export async function bundleNeedsBuild(bundle: ViteBundle, outDir: string): Promise<boolean> {
  const index = join(outDir, 'index.html');
  const built = await stat(index).catch(() => null);
  if (!built) return true;
  if ((await missingFiles(outDir, await readFile(index, 'utf8'))).length > 0) return true;
  return (await newestChangeMs(bundle.sources)) > built.mtimeMs;
}

/** The files an index.html names by a path of its own (`src="/assets/…"`, `href="./…"`) that `outDir` lacks. */
export async function missingFiles(outDir: string, indexHtml: string): Promise<string[]> {
  const named = [...indexHtml.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
    .filter((ref) => !/^[a-z][a-z0-9+.-]*:|^\/\/|^#/i.test(ref))
    .map((ref) => decodeURIComponent(ref.split(/[?#]/)[0]!.replace(/^\.?\//, '')));
  const missing: string[] = [];
  for (const file of new Set(named)) {
    if (!(await stat(join(outDir, file)).catch(() => null))?.isFile()) missing.push(file);
  }
  return missing;
}

/** Builds into a folder beside `outDir`, then puts it in place of `outDir`; a build stopped half-way leaves nothing. */
export async function buildBundle(bundle: ViteBundle, outDir: string): Promise<void> {
  const { build } = await import('vite');
  const staging = `${outDir}.building-${process.pid}-${Date.now()}`;
  const abandon = () => {
    rmSync(staging, { recursive: true, force: true });
    process.exit(143);
  };
  process.once('SIGTERM', abandon);
  try {
    await build({ configFile: bundle.configFile, logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir);
  } finally {
    process.off('SIGTERM', abandon);
    await rm(staging, { recursive: true, force: true });
  }
}

/** Builds when needed; true when it did. */
export async function ensureBundleBuilt(bundle: ViteBundle, outDir: string): Promise<boolean> {
  if (!(await bundleNeedsBuild(bundle, outDir))) return false;
  await buildBundle(bundle, outDir);
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
