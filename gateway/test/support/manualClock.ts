/**
 * A Clock that moves only when a test says so (cf. undici's cache tests moving a fake clock to the edge of
 * max-age). `advance(ms)` runs every timer that comes due on the way, in order of due time (then of scheduling),
 * each with `now()` reading its due time, including timers that timers schedule; nothing ever fires on its own.
 */
import type { Clock, Timer } from '../../src/clock.js';

interface Scheduled {
  dueAtMs: number;
  seq: number;
  callback: () => void;
}

/** Where a ManualClock starts: epoch-like, so readings look like the system clock's. */
export const MANUAL_CLOCK_START_MS = 1_700_000_000_000;

export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Set<Scheduled>();

  constructor(startMs = MANUAL_CLOCK_START_MS) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(ms: number, callback: () => void): Timer {
    const scheduled: Scheduled = { dueAtMs: this.nowMs + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.add(scheduled);
    return { cancel: () => void this.timers.delete(scheduled) };
  }

  /** Timers scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running each timer due by then, in order. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`a clock never steps back (advance(${ms}))`);
    const targetMs = this.nowMs + ms;
    for (let next = this.nextDue(targetMs); next; next = this.nextDue(targetMs)) {
      this.timers.delete(next);
      this.nowMs = next.dueAtMs;
      next.callback();
    }
    this.nowMs = targetMs;
  }

  private nextDue(targetMs: number): Scheduled | undefined {
    let first: Scheduled | undefined;
    for (const t of this.timers) {
      if (t.dueAtMs > targetMs) continue;
      if (!first || t.dueAtMs < first.dueAtMs || (t.dueAtMs === first.dueAtMs && t.seq < first.seq)) first = t;
    }
    return first;
  }
}
