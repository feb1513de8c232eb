/**
 * A built bundle is rebuilt when it is not whole: a start that finds index.html but not a file it names (a folder
 * left half-deleted) builds again instead of serving blank pages. Real files in a scratch folder; times set with
 * utimes.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleNeedsBuild, missingFiles, type ViteBundle } from '../viteBundle.js';

const INDEX = `<!doctype html><html><head>
<link rel="stylesheet" crossorigin href="./assets/index-B1.css">
<link rel="icon" href="data:,">
<script type="module" crossorigin src="/assets/index-C2.js?v=1"></script>
<link rel="preconnect" href="https://example.org">
</head><body><a href="#main">skip</a></body></html>`;

describe('a built bundle', () => {
  let dir: string;
  let outDir: string;
  let bundle: ViteBundle;
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundle-'));
    outDir = join(dir, 'dist');
    await mkdir(join(dir, 'src'));
    await mkdir(join(outDir, 'assets'), { recursive: true });
    await writeFile(join(dir, 'src', 'main.ts'), 'export {};');
    await writeFile(join(outDir, 'index.html'), INDEX);
    await writeFile(join(outDir, 'assets', 'index-B1.css'), 'body{}');
    await writeFile(join(outDir, 'assets', 'index-C2.js'), 'void 0;');
    await utimes(join(dir, 'src', 'main.ts'), at(0), at(0));
    await utimes(join(outDir, 'index.html'), at(10), at(10));
    bundle = { configFile: join(dir, 'vite.config.ts'), sources: [join(dir, 'src')] };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('whole and newer than its sources: nothing to build', async () => {
    expect(await missingFiles(outDir, INDEX)).toEqual([]);
    expect(await bundleNeedsBuild(bundle, outDir)).toBe(false);
  });

  it('a file its index.html names is missing: built again (other schemes, anchors and queries are not files)', async () => {
    await rm(join(outDir, 'assets', 'index-C2.js'));
    expect(await missingFiles(outDir, INDEX)).toEqual(['assets/index-C2.js']);
    expect(await bundleNeedsBuild(bundle, outDir)).toBe(true);
  });

  it('its assets folder gone: built again', async () => {
    await rm(join(outDir, 'assets'), { recursive: true });
    expect(await missingFiles(outDir, INDEX)).toEqual(['assets/index-B1.css', 'assets/index-C2.js']);
    expect(await bundleNeedsBuild(bundle, outDir)).toBe(true);
  });

  it('a source changed since the build, or no index.html: built again', async () => {
    await utimes(join(dir, 'src', 'main.ts'), at(20), at(20));
    expect(await bundleNeedsBuild(bundle, outDir)).toBe(true);
    await rm(join(outDir, 'index.html'));
    expect(await bundleNeedsBuild(bundle, outDir)).toBe(true);
  });
});
