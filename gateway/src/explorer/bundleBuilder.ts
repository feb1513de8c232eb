/**
 * Whether the explorer's bundle can be served, and (in development) building it on first use. The state is a
 * union ending in an exhaustive switch in explorerRoute.ts:
 *  - ready: index.html is there (and, when building is allowed, not older than its sources);
 *  - building: a build runs in a child process (`gateway/explorer/build.ts`), so the gateway keeps answering
 *    GraphQL meanwhile; it takes some 10-40 s on a small machine;
 *  - missing: no bundle and no build allowed (production), or the last build failed.
 * The staleness check runs once per process, on the first visit: editing the explorer's sources while the
 * gateway runs needs a restart (or `npm run build`) to show.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explorerNeedsBuild } from '../../explorer/build.js';
import type { Logger } from '../logger.js';

export type BundleState =
  | { kind: 'ready' }
  | { kind: 'building'; sinceMs: number }
  | { kind: 'missing'; reason: string };

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../explorer/build.ts', import.meta.url));
/** A build that has not finished by then is stuck; the machine is not that slow. */
const BUILD_TIMEOUT_MS = 300_000;
export const BUILD_COMMAND = 'npm run build';

export interface BundleBuilderOptions {
  distDir: string;
  /** Build when the bundle is missing or stale (development); otherwise serve what is there or say it is missing. */
  buildOnDemand: boolean;
  logger: Logger;
}

export class BundleBuilder {
  private checked = false;
  private state: BundleState = { kind: 'missing', reason: 'not checked yet' };
  private child: ChildProcess | undefined;
  /** One check at a time, so two first visits cannot start two builds. */
  private checking: Promise<BundleState> | undefined;
  private closed = false;

  constructor(private readonly options: BundleBuilderOptions) {}

  /** The state for this request; the first call checks the bundle and may start a build. */
  current(): Promise<BundleState> {
    if (this.state.kind === 'ready' || this.state.kind === 'building') return Promise.resolve(this.state);
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(): Promise<BundleState> {
    const hasBundle = await fileExists(join(this.options.distDir, 'index.html'));
    if (!this.options.buildOnDemand) {
      this.state = hasBundle ? { kind: 'ready' } : { kind: 'missing', reason: `The explorer's bundle is not built: run \`${BUILD_COMMAND}\` (it builds ${this.options.distDir}).` };
      return this.state;
    }
    if (this.checked) {
      // A failed build is not retried on every reload; a bundle built by hand since then is picked up.
      if (hasBundle && !(await explorerNeedsBuild(this.options.distDir))) this.state = { kind: 'ready' };
      return this.state;
    }
    this.checked = true;
    if (hasBundle && !(await explorerNeedsBuild(this.options.distDir))) {
      this.state = { kind: 'ready' };
      return this.state;
    }
    this.startBuild();
    return this.state;
  }

  /** Stops a build still running (the gateway is stopping). */
  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
  }

  private startBuild(): void {
    const startedMs = performance.timeOrigin + performance.now();
    this.state = { kind: 'building', sinceMs: startedMs };
    this.options.logger.info('building the explorer bundle (first visit to /explorer)', { distDir: this.options.distDir });
    // tsx is a dependency: the same loader `npm run gateway` runs under.
    const child = spawn(process.execPath, ['--import', 'tsx', BUILD_SCRIPT, this.options.distDir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    timer.unref();
    child.once('error', (error) => {
      output += String(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      this.child = undefined;
      const seconds = ((performance.timeOrigin + performance.now() - startedMs) / 1000).toFixed(1);
      if (code === 0) {
        this.state = { kind: 'ready' };
        this.options.logger.info('built the explorer bundle', { seconds });
        return;
      }
      if (this.closed) {
        this.options.logger.info('stopped the explorer build: the gateway is stopping', { seconds });
        return;
      }
      const reason = `Building the explorer failed (${signal ?? `exit code ${code}`}); run \`${BUILD_COMMAND}\` to see why.`;
      this.state = { kind: 'missing', reason };
      this.options.logger.error('building the explorer bundle failed', { seconds, code, signal, output: output.trim() });
    });
  }
}

async function fileExists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
