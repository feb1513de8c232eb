/**
 * The gateway's metrics, declared in one place, on a registry of its own (so several gateways in one process do
 * not mix), served as Prometheus text on /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from '../datasource/stages/breaker.js';
import type { GatewayFeature } from '../feature.js';

/** What happened to one entity the plan asked a subgraph for. */
export type EntityOutcome =
  | 'requested' // every representation of every entity fetch
  | 'cache_hit' // fresh in the cache, no network
  | 'revalidated' // stale with a validator, sent as a conditional request
  | 'not_modified' // revalidation answered "not modified": no payload, freshness renewed
  | 'fetched' // fetched in full (miss or changed)
  | 'deduplicated' // shared another request's representation in the same or an in-flight call
  | 'stale_served' // subgraph failed, a stale cached value was served instead
  | 'failed'; // subgraph failed and nothing could be served

type LookupKind = 'root' | 'entity' | 'background';
const LOOKUP_KINDS: readonly LookupKind[] = ['root', 'entity', 'background'];

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };

/**
 * Increments by two label values, kept as plain numbers until a scrape adds them to their counter. prom-client
 * builds and checks a label hash on every increment, and the read path counts several per page: in bench s4d's
 * profile, prom-client took 6.5 µs of the page without the details and 12.4 µs of the deferred page.
 */
class Tally {
  private readonly counts = new Map<string, Map<string, number>>();

  add(first: string, second: string, count: number): void {
    let bySecond = this.counts.get(first);
    if (!bySecond) this.counts.set(first, (bySecond = new Map()));
    bySecond.set(second, (bySecond.get(second) ?? 0) + count);
  }

  /** Hands over every count added since the last time, and starts again from zero. */
  drain(into: (first: string, second: string, count: number) => void): void {
    for (const [first, bySecond] of this.counts) {
      for (const [second, count] of bySecond) {
        if (count === 0) continue;
        into(first, second, count);
        bySecond.set(second, 0);
      }
    }
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly subgraphRequests = new Counter({
    name: 'gateway_subgraph_requests_total',
    help: 'HTTP requests sent to subgraphs, by kind of fetch (root, entities) and outcome (ok, not_modified, failure code)',
    labelNames: ['subgraph', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly subgraphDuration = new Histogram({
    name: 'gateway_subgraph_request_duration_seconds',
    help: 'Time from sending a subgraph request to its parsed answer or failure',
    labelNames: ['subgraph', 'kind'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly entityTally = new Tally();

  readonly entities = new Counter({
    name: 'gateway_entities_total',
    help: 'Entities asked of subgraphs, by what the hybrid read path did with each',
    labelNames: ['subgraph', 'outcome'] as const,
    registers: [this.registry],
    collect: () => this.entityTally.drain((subgraph, outcome, count) => this.entities.inc({ subgraph, outcome }, count)),
  });

  readonly notModifiedBytesSaved = new Counter({
    name: 'gateway_not_modified_bytes_saved_total',
    help: 'Approximate payload bytes not transferred because revalidated entities were not modified',
    labelNames: ['subgraph'] as const,
    registers: [this.registry],
  });

  readonly failures = new Counter({
    name: 'gateway_subgraph_failures_total',
    help: 'Subgraph fetches that failed, by error code (SUBGRAPH_TIMEOUT, SUBGRAPH_UNAVAILABLE, ...)',
    labelNames: ['subgraph', 'code'] as const,
    registers: [this.registry],
  });

  private readonly lookupTallies: Record<LookupKind, Tally> = { root: new Tally(), entity: new Tally(), background: new Tally() };

  readonly cacheLookups = new Counter({
    name: 'gateway_cache_lookups_total',
    help: 'Cache lookups per subgraph and kind (root, entity; background = refreshes started), by outcome: fresh (hit), staleWhileRevalidate (served, refreshed in the background), revalidate (conditional request), miss',
    labelNames: ['subgraph', 'kind', 'outcome'] as const,
    registers: [this.registry],
    collect: () => {
      for (const kind of LOOKUP_KINDS) this.lookupTallies[kind].drain((subgraph, outcome, count) => this.cacheLookups.inc({ subgraph, kind, outcome }, count));
    },
  });

  readonly cacheEvictions = new Counter({
    name: 'gateway_cache_evictions_total',
    help: 'Cache entries dropped by invalidation (change events, the invalidation endpoint), per subgraph, by what named them: tag, type or subgraph',
    labelNames: ['subgraph', 'reason'] as const,
    registers: [this.registry],
  });

  readonly overloaded = new Counter({
    name: 'gateway_operations_overloaded_total',
    help: 'Operations turned away with 503 GATEWAY_OVERLOADED before anything ran, by why: no_queue (the limit reached with ADMISSION_MAX_QUEUE_MS 0), hopeless (the queue would not have drained in twice ADMISSION_MAX_QUEUE_MS), waited (ADMISSION_MAX_QUEUE_MS spent in the queue)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly deduplicated = new Counter({
    name: 'gateway_operations_deduplicated_total',
    help: 'GraphQL requests answered with the answer of an identical operation in flight, without running their own (INBOUND_DEDUP)',
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'gateway_subgraph_breaker_state',
    help: 'Circuit breaker state per subgraph: 0 closed, 1 half-open, 2 open',
    labelNames: ['subgraph'] as const,
    registers: [this.registry],
  });

  readonly breakerTransitions = new Counter({
    name: 'gateway_subgraph_breaker_transitions_total',
    help: 'Circuit breaker state changes per subgraph, by the state entered',
    labelNames: ['subgraph', 'state'] as const,
    registers: [this.registry],
  });

  readonly redisOperations = new Counter({
    name: 'gateway_redis_operations_total',
    help: 'Uses of Redis (REDIS_URL) by operation (entity_get, entity_set, evict, publish, apq_get, apq_set, apq_delete) and outcome (hit, miss, ok, error, timeout, skipped while Redis is out of use)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly redisTransitions = new Counter({
    name: 'gateway_redis_transitions_total',
    help: 'Times Redis was taken out of use (down) or back into use (up)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly changeSourceState = new Gauge({
    name: 'gateway_change_source_state',
    help: 'Where each source of evictions (change feed, JetStream subject, Redis eviction channel) stands: 0 following, 1 behind (its missed events are replayed when it is back), 2 waiting (no position: changes may go unheard)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly changeGaps = new Counter({
    name: 'gateway_change_gaps_total',
    help: 'Times a source of evictions took a position without hearing what came before it (reason: start, source_replaced, source_reset, truncated, resubscribed); every answer cached before is then revalidated',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  readonly streamsOpen = new Gauge({
    name: 'gateway_streams_open',
    help: 'Operations streamed to clients now, by transport (ws, sse) and kind (subscription, live, query)',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });

  readonly streamEvents = new Counter({
    name: 'gateway_stream_events_total',
    help: 'What starts a push: an event from a subgraph subscription (subgraph), or a re-run of a live query (live: an eviction, a late arrival or a retry)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly streamPushes = new Counter({
    name: 'gateway_stream_pushes_total',
    help: 'Results pushed to streaming clients, by kind (subscription, live); a live re-run whose answer did not change pushes nothing',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly streamDrops = new Counter({
    name: 'gateway_stream_drops_total',
    help: 'Streams the gateway ended, by reason (slow_consumer, upstream_lost, token_expired, limit, shutdown)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  entity(subgraph: string, outcome: EntityOutcome, count = 1): void {
    if (count > 0) this.entityTally.add(subgraph, outcome, count);
  }

  cacheLookup(subgraph: string, kind: LookupKind, outcome: string, count = 1): void {
    if (count > 0) this.lookupTallies[kind].add(subgraph, outcome, count);
  }

  setBreakerState(subgraph: string, state: BreakerState): void {
    this.breakerState.set({ subgraph }, BREAKER_VALUE[state]);
    this.breakerTransitions.inc({ subgraph, state });
  }

  /** Adds gauges whose value is read when /metrics is scraped (cache size, for example). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** /metrics as a feature: this registry's text, or `text` (a cluster worker answers with every worker's metrics). */
export function useMetrics(metrics: GatewayMetrics, text: () => Promise<string> = () => metrics.text()): GatewayFeature {
  return {
    name: 'metrics',
    routes: {
      '/metrics': async (_req, res) => {
        const body = await text();
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(body);
      },
    },
  };
}
