/**
 * The bench's own npm package (bench/package.json: Hive Gateway, its Rust router runtime, Grafbase's CLI,
 * autocannon). They are benchmark-only and some of their dependencies want a newer Node than the product's
 * `engines`, so they stay out of the product's install; `npm run bench` installs them from bench/package-lock.json
 * the first time, and again whenever that lock file is newer than the install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function ensureBenchPackages(root: string): void {
  const lock = join(root, 'bench', 'package-lock.json');
  const installed = join(root, 'bench', 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('bench: installing the bench\'s own packages (npm ci --prefix bench: Hive Gateway, its router runtime, Grafbase\'s CLI, autocannon)...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--prefix', join(root, 'bench'), '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm ci --prefix bench failed (exit ${result.status ?? result.signal}); run it by hand to see why`);
}
