/**
 * Admission control at the gateway's front door. An operation runs only when the gateway can finish it: at most
 * `limit` operations in progress, the rest wait in a short FIFO queue; one still waiting after `maxQueueMs` (or
 * arriving at a queue that, by its recent drain rate, would take twice that) is turned away with 503
 * GATEWAY_OVERLOADED and a Retry-After, before anything is planned or sent. Once admitted, an operation's fetches are never cut
 * short because the gateway is busy: this is where the gateway says it is busy.
 *
 * The limit adapts, as Envoy's adaptive concurrency filter and Netflix's concurrency-limits do, but steered by the
 * gateway's own event-loop lag rather than by latency (which a slow subgraph would raise): every window, a lag
 * above target shrinks the limit (x0.9), a lag below target with operations queued grows it (+1). Operations that
 * wait on subgraphs cost no lag, so I/O-bound traffic runs wide; CPU-bound traffic runs as wide as the cores allow.
 */
import type { Clock, Timer } from '../clock.js';
import type { LoopLag } from './loopLag.js';

export interface AdmissionOptions {
  /** The most operations in progress at once, whatever the lag. */
  maxInFlight: number;
  /** The fewest the limit shrinks to. */
  minInFlight: number;
  /** The longest an operation may wait to be admitted. */
  maxQueueMs: number;
  /** Event-loop lag (90th percentile per window) above which the limit shrinks. */
  targetLagMs: number;
}

export type Admission =
  | { kind: 'admitted'; /** Call exactly once when the operation's answer is sent or abandoned. */ release: () => void }
  | { kind: 'overloaded'; retryAfterSeconds: number };

interface Queued {
  resolve: (admission: Admission) => void;
  timer: Timer;
}

const WINDOW_MS = 100;

export class AdmissionControl {
  private inFlight = 0;
  private limitNow: number;
  private readonly queue: Queued[] = [];
  private completedInWindow = 0;
  /** Completions per ms while operations were queued, smoothed over windows; 0 until measured. */
  private drainRate = 0;
  private windowTimer: Timer;
  private stopped = false;

  constructor(private readonly options: AdmissionOptions, private readonly clock: Clock, private readonly lag: LoopLag) {
    if (options.minInFlight > options.maxInFlight) {
      throw new RangeError(`ADMISSION_MIN_IN_FLIGHT (${options.minInFlight}) is above ADMISSION_MAX_IN_FLIGHT (${options.maxInFlight})`);
    }
    this.limitNow = Math.max(options.minInFlight, Math.min(options.maxInFlight, 16));
    this.windowTimer = clock.setTimer(WINDOW_MS, () => this.adjust());
  }

  get limit(): number {
    return this.limitNow;
  }

  get inProgress(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.queue.length;
  }

  admit(): Promise<Admission> {
    if (this.inFlight < this.limitNow && this.queue.length === 0) return Promise.resolve(this.grant());
    // Turned away at once only when the queue is clearly hopeless (twice the longest wait by the drain rate): an
    // estimate near the limit is left to the queue's own timer, so noise in the estimate sheds nothing.
    const expectedWaitMs = this.drainRate > 0 ? (this.queue.length + 1) / this.drainRate : 0;
    if (this.options.maxQueueMs === 0 || expectedWaitMs > 2 * this.options.maxQueueMs) return Promise.resolve(this.refusal(expectedWaitMs));
    return new Promise((resolve) => {
      const entry: Queued = {
        resolve,
        timer: this.clock.setTimer(this.options.maxQueueMs, () => {
          const at = this.queue.indexOf(entry);
          if (at === -1) return;
          this.queue.splice(at, 1);
          resolve(this.refusal(this.options.maxQueueMs));
        }),
      };
      this.queue.push(entry);
    });
  }

  stop(): void {
    this.stopped = true;
    this.windowTimer.cancel();
    this.lag.stop();
  }

  private grant(): Admission {
    this.inFlight++;
    let released = false;
    return {
      kind: 'admitted',
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.completedInWindow++;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.inFlight < this.limitNow && this.queue.length > 0) {
      const next = this.queue.shift()!;
      next.timer.cancel();
      next.resolve(this.grant());
    }
  }

  private refusal(waitMs: number): Admission {
    return { kind: 'overloaded', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private adjust(): void {
    if (this.stopped) return;
    // Only a window with operations waiting measures how fast the gateway drains its queue; an idle one says nothing.
    // Smoothed over about a second (alpha 0.1 per 100 ms window): one slow window, a GC pause say, must not make
    // the queue look longer than it is and turn away operations that would have been admitted in time.
    if (this.queue.length > 0 && this.completedInWindow > 0) {
      const rate = this.completedInWindow / WINDOW_MS;
      this.drainRate = this.drainRate === 0 ? rate : 0.9 * this.drainRate + 0.1 * rate;
    }
    this.completedInWindow = 0;
    const lagMs = this.lag.read();
    if (lagMs > this.options.targetLagMs) {
      this.limitNow = Math.max(this.options.minInFlight, Math.floor(this.limitNow * 0.9));
    } else if (this.queue.length > 0 || this.inFlight >= this.limitNow) {
      this.limitNow = Math.min(this.options.maxInFlight, this.limitNow + 1);
      this.drain();
    }
    this.windowTimer = this.clock.setTimer(WINDOW_MS, () => this.adjust());
  }
}
