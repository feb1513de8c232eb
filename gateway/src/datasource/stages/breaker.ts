/**
 * The breaker stage: one circuit per subgraph. After repeated failures it opens and calls fail fast with
 * SUBGRAPH_CIRCUIT_OPEN instead of waiting on a subgraph that keeps failing; after `resetTimeoutMs` it lets one
 * probe through (half-open) and closes when the probe succeeds.
 *
 * It counts only the subgraph's own failures (`SubgraphFailure.countsAgainstSubgraph`: refused, reset, 5xx, a bad
 * answer, its own timeout). A call left running past its page's deadline to fill the cache is judged by how it
 * ends: an answer within the subgraph's longer timeout is a slow success, not a failure, so a slow subgraph keeps
 * filling the cache instead of being cut off. An operation budget running out, a caller going away or a busy gateway says nothing
 * about the subgraph, so such a call leaves no mark. Time is the gateway's clock (a rolling window of buckets and
 * one timer for the move to half-open), so tests move it by hand.
 */
import type { Clock, Timer } from '../../clock.js';
import { SubgraphFailure } from '../../errors.js';
import type { CallOutcome, Stage } from '../pipeline.js';
import { integer, type SettingGroup } from '../../settings.js';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export interface BreakerOptions {
  /** Share of failed calls in the rolling window that opens the breaker (1-100). */
  errorThresholdPercentage: number;
  /** Calls needed in the window before the breaker may open, so one early failure does not open it. */
  volumeThreshold: number;
  /** How long the breaker stays open before it lets a probe through. */
  resetTimeoutMs: number;
  /** Length of the rolling window the failure share is computed over. */
  rollingWindowMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5_000,
  rollingWindowMs: 10_000,
};

const BUCKETS = 10;

interface Bucket {
  startMs: number;
  successes: number;
  failures: number;
}

export class SubgraphBreaker {
  private current: BreakerState = 'closed';
  private openedAtMs = 0;
  private probing = false;
  private buckets: Bucket[] = [];
  private halfOpenTimer: Timer | undefined;

  constructor(
    readonly serviceName: string,
    private readonly options: BreakerOptions,
    private readonly clock: Clock,
    private readonly onStateChange: (state: BreakerState) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    if (this.current === 'open' && this.clock.now() - this.openedAtMs >= this.options.resetTimeoutMs) this.enter('halfOpen');
    return this.current;
  }

  /** Runs the call unless the circuit is open (then it fails fast, calling nothing), and learns from how it ends. */
  async run(call: () => Promise<CallOutcome>): Promise<CallOutcome> {
    const state = this.state;
    switch (state) {
      case 'open':
        return { kind: 'failed', failure: this.openFailure() };
      case 'halfOpen':
        if (this.probing) return { kind: 'failed', failure: this.openFailure() };
        this.probing = true;
        return this.settle(await call(), true);
      case 'closed':
        return this.settle(await call(), false);
      default:
        throw new Error(`unknown breaker state ${state satisfies never}`);
    }
  }

  private settle(outcome: CallOutcome, probe: boolean): CallOutcome {
    // A call left running past its page's deadline is judged once it ends.
    if (outcome.kind === 'failed' && outcome.late) void outcome.late.then((late) => this.settle(late, probe));
    else if (outcome.kind === 'answered') this.succeeded(probe);
    else this.failed(outcome.failure, probe);
    return outcome;
  }

  private succeeded(probe: boolean): void {
    if (probe) {
      this.probing = false;
      this.buckets = [];
      this.enter('closed');
    } else {
      this.bucket().successes++;
    }
  }

  private failed(failure: SubgraphFailure, probe: boolean): void {
    const counts = failure.countsAgainstSubgraph;
    if (probe) {
      this.probing = false;
      // A probe that ended for reasons not the subgraph's proves nothing: the next call probes again.
      if (counts) this.open();
    } else if (counts) {
      this.bucket().failures++;
      this.openIfOverThreshold();
    }
  }

  private openIfOverThreshold(): void {
    let successes = 0;
    let failures = 0;
    for (const b of this.buckets) {
      successes += b.successes;
      failures += b.failures;
    }
    const total = successes + failures;
    if (total >= this.options.volumeThreshold && (failures * 100) / total >= this.options.errorThresholdPercentage) this.open();
  }

  private open(): void {
    this.openedAtMs = this.clock.now();
    this.enter('open');
    // Half-open is announced when it is due (metrics, logs), not only when the next call happens to look.
    this.halfOpenTimer?.cancel();
    this.halfOpenTimer = this.clock.setTimer(this.options.resetTimeoutMs, () => void this.state);
  }

  private enter(state: BreakerState): void {
    if (this.current === state) return;
    this.current = state;
    this.onStateChange(state);
  }

  /** The bucket for now; buckets older than the rolling window are dropped. */
  private bucket(): Bucket {
    const now = this.clock.now();
    const width = this.options.rollingWindowMs / BUCKETS;
    this.buckets = this.buckets.filter((b) => now - b.startMs < this.options.rollingWindowMs);
    let last = this.buckets.at(-1);
    if (!last || now - last.startMs >= width) {
      last = { startMs: now, successes: 0, failures: 0 };
      this.buckets.push(last);
    }
    return last;
  }

  private openFailure(): SubgraphFailure {
    // Failing fast is the breaker's own doing: it must not count as yet another failure of the subgraph.
    return new SubgraphFailure('SUBGRAPH_CIRCUIT_OPEN', this.serviceName,
      `${this.serviceName} failed repeatedly; not calling it until a probe succeeds`, { countsAgainstSubgraph: false });
  }
}

export function breakerStage(breaker: SubgraphBreaker): Stage {
  return (next) => (call) => breaker.run(() => next(call));
}

/** BREAKER_*: when a subgraph's circuit opens, and for how long. */
export const BREAKER_SETTINGS = {
  errorThresholdPercentage: integer('BREAKER_ERROR_PERCENT', { default: 50, min: 1, max: 100, unit: 'percent', doc: 'the circuit opens when at least this share of the calls in the window failed (the subgraph\'s own failures only)…' }),
  volumeThreshold: integer('BREAKER_VOLUME_THRESHOLD', { default: 10, min: 1, max: 100_000, unit: 'operations', doc: '…and at least this many calls were made in the window' }),
  rollingWindowMs: integer('BREAKER_WINDOW_MS', { default: 10_000, min: 100, max: 3_600_000, unit: 'ms', doc: 'the rolling window the failure share is counted over' }),
  resetTimeoutMs: integer('BREAKER_RESET_MS', { default: 5_000, min: 10, max: 3_600_000, unit: 'ms', doc: 'how long an open circuit stays open before one probe is let through' }),
} satisfies SettingGroup;
