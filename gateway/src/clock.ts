/**
 * The one clock of the gateway: every reading of time (cache ages, freshness, deadlines, the breaker's windows,
 * admission) and every timer goes through it, so a test moves time by hand instead of sleeping, and the cache and
 * the deadlines can never disagree about "now".
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not wall-clock time: it never steps back). */
  now(): number;
  /** Runs `callback` once, `ms` from now; the timer never keeps the process alive on its own. */
  setTimer(ms: number, callback: () => void): Timer;
}

/** Real time: `performance.now()` on the scale of `performance.timeOrigin`, so readings look like epoch ms. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
