/**
 * Keeps one service process of `npm start` running. Until `keepAlive()` an exit is reported and left alone (a
 * service that cannot start is a configuration problem: `npm start` stops and says so). After it, a process that
 * exits on its own is started again after a backoff: 0.5 s, doubling to 10 s, back to 0.5 s once it has stayed up
 * 30 s. `stop()` ends it for good: no restart during shutdown.
 */
import type { ChildProcess } from 'node:child_process';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A process that stayed up this long counts as healthy: its next restart waits `initialMs` again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000, resetAfterMs: 30_000 };

/** The wait before the next restart, from the previous one (null: never restarted) and how long the process was up. */
export function restartDelayMs(previousMs: number | null, upForMs: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (previousMs === null || upForMs >= policy.resetAfterMs) return policy.initialMs;
  return Math.min(policy.maxMs, previousMs * 2);
}

export interface ExitReport {
  name: string;
  /** `code 1`, `signal SIGKILL` */
  how: string;
  /** When the process will be started again; null when it will not (not kept alive yet, or stopping). */
  restartInMs: number | null;
}

export interface SupervisorHooks {
  onLine(line: string): void;
  onExit(report: ExitReport): void;
  onRestart(child: ChildProcess, restarts: number): void;
}

export class Supervisor {
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private lastDelayMs: number | null = null;
  private restarts = 0;
  private kept = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly spawnChild: () => ChildProcess,
    private readonly hooks: SupervisorHooks,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): ChildProcess {
    const child = this.spawnChild();
    this.child = child;
    this.startedAt = this.now();
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) this.hooks.onLine(line);
      });
      stream.on('end', () => {
        if (pending) this.hooks.onLine(pending);
        pending = '';
      });
    }
    child.once('exit', (code, signal) => this.exited(child, signal ? `signal ${signal}` : `code ${code}`));
    return child;
  }

  /** From now on an exit is answered with a restart. */
  keepAlive(): void {
    this.kept = true;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Never restarts it again. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    });
  }

  private exited(child: ChildProcess, how: string): void {
    if (child !== this.child || this.stopped) return;
    if (!this.kept) {
      this.hooks.onExit({ name: this.name, how, restartInMs: null });
      return;
    }
    const delay = restartDelayMs(this.lastDelayMs, this.now() - this.startedAt, this.policy);
    this.lastDelayMs = delay;
    this.hooks.onExit({ name: this.name, how, restartInMs: delay });
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.restarts += 1;
      this.hooks.onRestart(this.start(), this.restarts);
    }, delay);
  }
}
