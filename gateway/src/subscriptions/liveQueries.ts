/**
 * Live queries: a query marked `@live` is answered at once, then again whenever what its answer showed may have
 * changed, until the client stops.
 *
 * Every answer knows the cache tags of what it showed (the entities and the subgraphs' own tags, collected by the
 * read path as for a CDN's `Cache-Tag`). The gateway already hears every change that evicts them: change events, the
 * invalidation endpoint, and on Redis the evictions of every other replica. An invalidation naming one of an
 * answer's tags (or one by type or subgraph, which names none) runs the query again, no sooner than
 * LIVE_QUERY_MIN_INTERVAL_MS after its last run (changes meanwhile make one run); the new answer is pushed only when
 * its bytes differ from the last one pushed.
 *
 * A part that failed at its subgraph fills in by itself. An entity the page budget gave up on is tagged in the
 * answer, and its late arrival in the cache names that tag (`changed`). Any answer with a failed part (timed out,
 * refused, a bad answer, the breaker open) is also run again after `retryMs`, doubling while it keeps failing (up
 * to a minute), until an answer has none.
 *
 * One live query (the same text, variables and caller) is run once for all its viewers (sharedStreams.ts).
 */
import { createHash } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { StartSource } from './sharedStreams.js';

export interface LiveAnswer {
  result: { data?: unknown; errors?: readonly unknown[] };
  /** The cache tags of everything the answer showed. */
  tags: ReadonlySet<string>;
}

type Result = LiveAnswer['result'];

/** The codes of a part that failed at its subgraph (errors.ts). */
const FAILED_AT_SUBGRAPH = new Set(['SUBGRAPH_TIMEOUT', 'SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_BAD_RESPONSE', 'SUBGRAPH_CIRCUIT_OPEN']);
/** The longest wait before running an answer with a failed part again. */
const MAX_RETRY_MS = 60_000;

interface Watch {
  tags: ReadonlySet<string>;
  changed(): void;
}

export class LiveQueries {
  private readonly byTag = new Map<string, Set<Watch>>();
  private readonly watches = new Set<Watch>();

  constructor(private readonly options: { clock: Clock; minIntervalMs: number; retryMs: number; metrics: GatewayMetrics }) {}

  /** Live queries running now. */
  get size(): number {
    return this.watches.size;
  }

  /**
   * What answers showed may have changed: an invalidation with the tags it named, or null (by type or subgraph) for
   * every live query; or an entity a run failed to bring arrived late, with its tags.
   */
  changed(tags: readonly string[] | null): void {
    if (tags === null) {
      for (const watch of [...this.watches]) watch.changed();
      return;
    }
    const touched = new Set<Watch>();
    for (const tag of tags) for (const watch of this.byTag.get(tag) ?? []) touched.add(watch);
    for (const watch of touched) watch.changed();
  }

  /** The source of one live query's group: `run` answers it once, with the answer's tags. */
  source(run: () => Promise<LiveAnswer>): StartSource<Result> {
    return (emit, end) => {
      const { clock, minIntervalMs, retryMs, metrics } = this.options;
      let lastDigest: string | null = null;
      let lastRunAtMs = Number.NEGATIVE_INFINITY;
      let running = false;
      let changedSinceRun = false;
      let timer: Timer | null = null;
      let stopped = false;
      /** Answers in a row with a failed part. */
      let failedRuns = 0;
      /** The run again after the last of them. */
      let retry: Timer | null = null;
      const watch: Watch = {
        tags: new Set(),
        changed: () => {
          changedSinceRun = true;
          schedule();
        },
      };
      const fire = () => {
        timer = null;
        void runOnce();
      };
      const schedule = () => {
        if (stopped || running || timer) return;
        const waitMs = lastRunAtMs + minIntervalMs - clock.now();
        // Due already: at the end of this turn, so that the changes heard in one turn make one run.
        timer = waitMs > 0 ? clock.setTimer(waitMs, fire) : endOfTurn(fire);
      };
      const runOnce = async () => {
        running = true;
        changedSinceRun = false;
        if (Number.isFinite(lastRunAtMs)) metrics.streamEvents.inc({ source: 'live' });
        lastRunAtMs = clock.now();
        let answer: LiveAnswer;
        try {
          answer = await run();
        } catch (error) {
          running = false;
          if (!stopped) end(error as Error);
          return;
        }
        running = false;
        if (stopped) return;
        this.retag(watch, answer.tags);
        retry?.cancel();
        retry = null;
        failedRuns = hasFailedPart(answer.result) ? failedRuns + 1 : 0;
        if (failedRuns > 0) {
          retry = clock.setTimer(Math.min(MAX_RETRY_MS, retryMs * 2 ** (failedRuns - 1)), () => {
            retry = null;
            watch.changed();
          });
        }
        const digest = createHash('sha256').update(JSON.stringify(answer.result)).digest('base64url');
        if (digest !== lastDigest) {
          lastDigest = digest;
          emit(answer.result);
        }
        if (changedSinceRun) schedule();
      };
      this.watches.add(watch);
      void runOnce();
      return () => {
        stopped = true;
        timer?.cancel();
        retry?.cancel();
        this.watches.delete(watch);
        this.retag(watch, new Set());
      };
    };
  }

  /** Indexes the live query by the tags of its newest answer. */
  private retag(watch: Watch, tags: ReadonlySet<string>): void {
    for (const tag of watch.tags) {
      const watching = this.byTag.get(tag);
      watching?.delete(watch);
      if (watching?.size === 0) this.byTag.delete(tag);
    }
    watch.tags = tags;
    for (const tag of tags) {
      let watching = this.byTag.get(tag);
      if (!watching) this.byTag.set(tag, (watching = new Set()));
      watching.add(watch);
    }
  }
}

function hasFailedPart(result: Result): boolean {
  return (result.errors ?? []).some((error) => FAILED_AT_SUBGRAPH.has(String((error as { extensions?: { code?: unknown } }).extensions?.code)));
}

function endOfTurn(run: () => void): Timer {
  let cancelled = false;
  queueMicrotask(() => {
    if (!cancelled) run();
  });
  return { cancel: () => void (cancelled = true) };
}
