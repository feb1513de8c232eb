/**
 * How a listener waits before asking a source that failed again: 100 ms doubling to 5 s, so a source that is down
 * (or still starting) is asked again soon but never in a tight loop. The wait is on the gateway's clock and ends
 * early when the listener stops.
 */
import type { Clock } from '../clock.js';

export function retryDelayMs(failures: number): number {
  return Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
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
