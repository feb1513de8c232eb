/**
 * Whether this gateway process hears every change that could make a cached answer wrong, and since when. Each
 * source of evictions (a change feed, a JetStream subject, the Redis channel other processes broadcast on) reports
 * where it stands:
 *
 *   waiting ──cut──▶ following ◀──following── behind
 *      ▲                │  ▲                     ▲
 *      └──────lost──────┘  └─────────cut─────────┘ (a gap it cannot replay)
 *
 * - `following`: it has a position in the source and has heard everything up to the source's end.
 * - `behind`: it has a position but is cut off or replaying; whatever it missed is heard when it gets back, so
 *   nothing cached meanwhile can outlive a change (it is evicted late, not never).
 * - `waiting`: it has no position (not reached yet, or lost with the connection, as a Redis subscription is):
 *   changes made now may never be heard.
 *
 * A source that takes a position without having heard what came before it (its first position, or a gap it cannot
 * replay: a source whose log was replaced or truncated) makes a cut: every answer stored before it, and every
 * fetch that started before it, may show a change no event will ever evict. Such entries are revalidated before
 * they are served again (`mustRevalidate`), and such fetches are not stored (`mayStore`). Entries stored while a
 * source was waiting carry `evictable: false`, which every process sharing them (Redis) honours the same way.
 * Sources are not mapped to the answers they can change, so a cut covers every entry: it costs one conditional
 * request per entry (an ETag answered 304), and happens once per start and per gap.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';

export type ChangeSourceState = 'waiting' | 'following' | 'behind';

/** What /ready says about one source. */
export interface ChangeSourceReport {
  state: ChangeSourceState;
  /** Where it is in the source (`feed id 41`, `stream seq 7`), once it has a position. */
  position: string | null;
  /** Whether /ready waits for this source to follow once. */
  gatesReadiness: boolean;
  /** Cuts so far, first start included. */
  cuts: number;
  /** Why it is behind or waiting, when it is. */
  reason?: string;
}

/** How one source reports to the coverage. */
export interface ChangeSource {
  /**
   * It hears every change from `position` on, but not the ones before (`reason`: `start` for its first position,
   * otherwise the gap it could not replay): whatever was cached before now must be revalidated.
   */
  cut(position: string, reason: string): void;
  /** It has heard everything up to the source's end. */
  following(position: string): void;
  /** It keeps its position but is cut off or replaying (without a position yet, it says why it is still waiting). */
  behind(reason: string): void;
  /** It lost its position: changes made from now on may never reach it, until its next cut. */
  lost(reason: string): void;
}

/** The part of a cached entry the coverage judges. */
export interface CoveredEntry {
  storedAtMs: number;
  /** Whether the process that stored it heard every change then (see the header). */
  evictable: boolean;
}

const STATE_VALUE: Record<ChangeSourceState, number> = { following: 0, behind: 1, waiting: 2 };

export class ChangeCoverage {
  private readonly sources = new Map<string, ChangeSourceReport & { followedOnce: boolean }>();
  private waitingSources = 0;
  private waiters: { until: () => boolean; resolve: () => void }[] = [];
  private trustedAfter = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: { clock: Clock; logger: Logger; metrics: GatewayMetrics }) {}

  /**
   * Every source is positioned: what is stored now will be evicted by the change that makes it wrong. Without any
   * source there is nothing to wait for (max-age and the invalidation endpoint are then all there is).
   */
  get covered(): boolean {
    return this.waitingSources === 0;
  }

  /** Entries stored, and fetches started, at or before this time may show a change no event will evict. */
  get trustedAfterMs(): number {
    return this.trustedAfter;
  }

  /** Every source that gates readiness has followed its source at least once since the process started. */
  get ready(): boolean {
    for (const source of this.sources.values()) if (source.gatesReadiness && !source.followedOnce) return false;
    return true;
  }

  /** Resolves once `ready`. */
  whenReady(): Promise<void> {
    return this.when(() => this.ready);
  }

  /** Resolves once `covered`: what is stored from then on is evictable. */
  whenCovered(): Promise<void> {
    return this.when(() => this.covered);
  }

  /** An entry that may show a change nothing will evict is revalidated before it is served as fresh. */
  mustRevalidate(entry: CoveredEntry): boolean {
    return this.covered && (!entry.evictable || entry.storedAtMs <= this.trustedAfter);
  }

  /** A fetch that started before the last cut may have read what the lost changes changed: it is not stored. */
  mayStore(fetchStartedAtMs: number): boolean {
    return fetchStartedAtMs > this.trustedAfter;
  }

  report(): Record<string, ChangeSourceReport> {
    return Object.fromEntries([...this.sources].map(([name, { followedOnce: _, ...report }]) => [name, report]));
  }

  /** Registers a source, waiting for its first position; `/ready` waits for it to follow unless told otherwise. */
  source(name: string, { gatesReadiness = true }: { gatesReadiness?: boolean } = {}): ChangeSource {
    if (this.sources.has(name)) throw new Error(`change source ${name} is registered twice`);
    const source: ChangeSourceReport & { followedOnce: boolean } = { state: 'waiting', position: null, gatesReadiness, cuts: 0, followedOnce: false, reason: 'not reached yet' };
    this.sources.set(name, source);
    this.waitingSources++;
    this.deps.metrics.changeSourceState.set({ source: name }, STATE_VALUE.waiting);
    const enter = (state: ChangeSourceState, reason?: string) => {
      if (source.state === 'waiting' && state !== 'waiting') this.waitingSources--;
      if (source.state !== 'waiting' && state === 'waiting') this.waitingSources++;
      source.state = state;
      if (reason === undefined) delete source.reason;
      else source.reason = reason;
      this.deps.metrics.changeSourceState.set({ source: name }, STATE_VALUE[state]);
      if (state === 'following') source.followedOnce = true;
      this.waiters = this.waiters.filter(({ until, resolve }) => (until() ? (resolve(), false) : true));
    };
    return {
      cut: (position, reason) => {
        this.trustedAfter = this.deps.clock.now();
        source.cuts++;
        source.position = position;
        this.deps.metrics.changeGaps.inc({ source: name, reason });
        if (reason === 'start') {
          this.deps.logger.info('following change events; answers cached before are revalidated', { source: name, position });
        } else {
          this.deps.logger.warn('missed change events that cannot be replayed; every answer cached before is revalidated', { source: name, position, reason });
        }
        enter('following');
      },
      following: (position) => {
        if (source.state === 'waiting') throw new Error(`change source ${name} follows without a position: it must cut first`);
        // Back after an outage or a replay: everything it missed has been heard (and evicted) by now.
        if (source.state === 'behind') this.deps.logger.info('following change events again', { source: name, position });
        source.position = position;
        enter('following');
      },
      behind: (reason) => {
        // Without a position it is still waiting; the report says why.
        if (source.state === 'waiting') source.reason = reason;
        else enter('behind', reason);
      },
      lost: (reason) => {
        // Said once per loss: a connection that keeps failing to come back reports it on every attempt.
        if (source.state !== 'waiting') {
          this.deps.logger.warn('stopped hearing change events; what is cached until they are heard again will be revalidated', { source: name, reason });
        }
        source.position = null;
        enter('waiting', reason);
      },
    };
  }

  private when(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }
}
