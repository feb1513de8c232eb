/**
 * What a listener does when asking its source failed: it tells the source's coverage why, logs the first failure
 * and every 20th (a source that is down, or still starting, does not flood the log), and waits 100 ms doubling to
 * 500 ms before asking again. A source that comes back is thus heard again within half a second (what it missed
 * is replayed then: the wait is part of how late an edit shows). The wait is on the gateway's clock and ends early
 * when the listener stops.
 */
import type { Clock } from '../clock.js';
import type { ChangeSource } from './changeCoverage.js';

export interface FailedAttempt {
  /** Failures in a row, this one included. */
  failures: number;
  error: unknown;
  sources: readonly ChangeSource[];
  /** Logs the failure (called for the first and every 20th). */
  log(reason: string): void;
  clock: Clock;
  /** Aborted when the listener stops. */
  signal: AbortSignal;
}

export async function afterFailure({ failures, error, sources, log, clock, signal }: FailedAttempt): Promise<void> {
  const reason = String((error as Error)?.message ?? error);
  for (const source of sources) source.behind(reason);
  if (failures === 1 || failures % 20 === 0) log(reason);
  await pause(clock, retryDelayMs(failures), signal);
}

export function retryDelayMs(failures: number): number {
  return Math.min(500, 100 * 2 ** Math.min(failures - 1, 3));
}

export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
