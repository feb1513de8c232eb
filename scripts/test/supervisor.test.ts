import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, restartDelayMs, Supervisor, type ExitReport } from '../supervisor.js';

describe('restart backoff', () => {
  it('starts at 0.5 s, doubles up to 10 s, and starts over once the process stayed up 30 s', () => {
    const delays: number[] = [];
    let previous: number | null = null;
    for (let i = 0; i < 7; i++) delays.push((previous = restartDelayMs(previous, 1_000)));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(restartDelayMs(10_000, DEFAULT_BACKOFF.resetAfterMs - 1)).toBe(10_000);
    expect(restartDelayMs(10_000, DEFAULT_BACKOFF.resetAfterMs)).toBe(500);
  });
});

/** A real child that prints its pid and lives until killed, or exits at once with `exitCode`. */
function child(exitCode: number | null): () => ChildProcess {
  const script = exitCode === null ? 'console.log(`up ${process.pid}`); setInterval(() => {}, 1000)' : `process.exit(${exitCode})`;
  return () => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('Supervisor', () => {
  it('once kept alive, restarts a killed process after the backoff and tells; stop() ends it without a restart', async () => {
    const exits: ExitReport[] = [];
    let restarted!: (child: ChildProcess) => void;
    const restart = new Promise<ChildProcess>((resolve) => (restarted = resolve));
    const supervisor = new Supervisor('svc', child(null), {
      onLine: () => undefined,
      onExit: (report) => exits.push(report),
      onRestart: (restartedChild) => restarted(restartedChild),
    }, { initialMs: 20, maxMs: 100, resetAfterMs: 60_000 });
    try {
      const first = supervisor.start();
      await new Promise((resolve) => first.stdout!.once('data', resolve));
      supervisor.keepAlive();
      first.kill('SIGKILL');
      const second = await restart;
      expect(exits).toEqual([{ name: 'svc', how: 'signal SIGKILL', restartInMs: 20 }]);
      expect(second.pid).not.toBe(first.pid);
      expect(supervisor.pid).toBe(second.pid);
      await new Promise((resolve) => second.stdout!.once('data', resolve));
      await supervisor.stop();
      expect(second.signalCode).toBe('SIGTERM');
      expect(exits).toHaveLength(1); // stop() is neither reported nor answered with a restart
    } finally {
      await supervisor.stop();
    }
  });

  it('a process that exits before keepAlive is reported with its code and not restarted', async () => {
    const report = await new Promise<ExitReport>((resolve) => {
      new Supervisor('svc', child(3), { onLine: () => undefined, onExit: resolve, onRestart: () => resolve({ name: 'wrong', how: '', restartInMs: 0 }) }).start();
    });
    expect(report).toEqual({ name: 'svc', how: 'code 3', restartInMs: null });
  });
});
