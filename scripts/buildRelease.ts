/**
 * The built release: every TypeScript file the processes run (the gateway, the subgraphs, the schema helpers, the
 * start scripts and the web server), compiled ahead by esbuild into a `.js` file beside it, so `node` runs them
 * with no compiler loaded (`npm start`, the `gateway`/`subgraph`/`web` scripts, the Docker image).
 *
 * Beside, not in another folder: the code finds its migrations, schema, manifest and bundles relative to its own
 * file, and those paths stay true. The `.js` files are not committed (.gitignore). In development `tsx` keeps running
 * the `.ts` files (it prefers them), and so do the tests in their own process (vitest.config.ts tells Vite to); the
 * processes a test starts run the release, which Vitest's global setup builds first (test/support/buildReleaseOnce.ts).
 * Each file is transpiled alone (types are checked by `tsc` in `npm test`), which takes well under a second for the
 * whole tree.
 *
 * Usage: `tsx scripts/buildRelease.ts` (npm run build:release); `npm start` runs it first.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What the processes run: folders walked for `.ts` files, and the files kept out (tests, browser code, configs). */
const SOURCES = ['gateway/src', 'gateway/explorer/build.ts', 'subgraphs', 'schema', 'scripts', 'web'];
const LEFT_OUT = [/\/test\//, /\.test\.ts$/, /\.d\.ts$/, /^web\/(src|dist|test)\//, /^gateway\/explorer\/(src|dist)\//, /vite\.config\.ts$/, /\/node_modules\//];

export async function releaseSources(root = ROOT): Promise<string[]> {
  const files: string[] = [];
  for (const source of SOURCES) {
    const path = join(root, source);
    if (source.endsWith('.ts')) {
      files.push(path);
      continue;
    }
    for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = join(entry.parentPath, entry.name);
      if (!LEFT_OUT.some((pattern) => pattern.test(relative(root, file)))) files.push(file);
    }
  }
  return files.sort();
}

/** Compiles every release source into the `.js` beside it; returns how many. */
export async function buildRelease(root = ROOT): Promise<number> {
  const entryPoints = await releaseSources(root);
  await build({
    entryPoints,
    outdir: root,
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20.18',
    logLevel: 'warning',
  });
  return entryPoints.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const count = await buildRelease();
  console.log(`built the release: ${count} files compiled beside their sources in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
