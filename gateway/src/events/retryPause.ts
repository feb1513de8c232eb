/**
 * How a listener waits before asking a source that failed again: 100 ms doubling to 500 ms, so a source that is
 * down (or still starting) is never asked in a tight loop, and one that comes back is heard again within half a
 * second (what it missed is replayed then: the wait is part of how late an edit shows). The wait is on the
 * gateway's clock and ends early when the listener stops.
 */
import type { Clock } from '../clock.js';

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
