/** How the event machinery reports what it does: one JSON line per record, like the services' own logs. */
export type EventLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export function jsonEventLog(service: string): EventLog {
  return (level, msg, fields = {}) => {
    const line = JSON.stringify({ level, service, msg, ...fields });
    if (level === 'info') console.log(line);
    else console.error(line);
  };
}

/** Doubles a retry delay up to `maxMs`: a source that is down is asked again soon, but not in a tight loop. */
export function nextBackoffMs(previousMs: number, maxMs = 5_000): number {
  return Math.min(maxMs, Math.max(100, previousMs * 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
