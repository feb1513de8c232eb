/**
 * The built release (scripts/buildRelease.ts): what the processes run is compiled beside its source, tests and
 * browser code are not, and the result runs under plain `node`, with no TypeScript loader.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildRelease, releaseSources } from '../buildRelease.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the built release', () => {
  it('compiles every file a process runs, beside it, and no test, browser code or bundler config', async () => {
    const sources = (await releaseSources()).map((file) => relative(ROOT, file));
    for (const entry of ['gateway/src/main.ts', 'gateway/src/cluster.ts', 'subgraphs/main.ts', 'web/main.ts', 'scripts/start.ts', 'scripts/startScaled.ts', 'gateway/explorer/build.ts']) {
      expect(sources).toContain(entry);
    }
    expect(sources.filter((file) => /(^|\/)test\/|\.test\.ts$|^web\/src\/|^gateway\/explorer\/src\/|vite\.config\.ts$/.test(file))).toEqual([]);
    expect(await buildRelease()).toBe(sources.length);
    expect(sources.filter((file) => !existsSync(join(ROOT, file.replace(/\.ts$/, '.js'))))).toEqual([]);
  });

  it('runs under plain node: the gateway\'s settings load and refuse a bad value with the key named', async () => {
    await buildRelease();
    const script = "const { loadConfig } = await import('./gateway/src/config.js'); try { loadConfig({ PORT: 'x' }); } catch (e) { console.log(e.message); }";
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', APOLLO_TELEMETRY_DISABLED: 'true' } }).toString();
    expect(printed).toContain('PORT must be a whole number');
  });
});
