/**
 * The hybrid read path of one gateway: one entity cache, one clock and one metrics registry shared by all
 * subgraphs, and per subgraph its pipeline, made when ApolloGateway loads the supergraph (`buildService`):
 *
 *   cache -> merge -> [trace] -> report -> breaker -> deadline -> transport
 *
 * (the trace stage only when tracing is on: telemetry/tracing.ts).
 *
 * `fetch` is the way in: the compiled executor calls it for each fetch of a plan. Stock's executor reaches the same
 * pipelines through the data source adapter `buildService` returns (hybridDataSource.ts). Nothing here knows any
 * particular supergraph.
 */
import type { GraphQLDataSource } from '@apollo/gateway';
import { context, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { EntityCache, stableJson } from '../cache/entityCache.js';
import type { SharedEntityCache } from '../cache/sharedEntityCache.js';
import { entityKeysFromSupergraph, type EntityKeys } from '../cache/entityTags.js';
import type { Clock } from '../clock.js';
import type { ReadPathConfig } from '../config.js';
import type { ChangeCoverage } from '../events/changeCoverage.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { GatewayRequest } from '../request.js';
import { HybridDataSource } from './hybridDataSource.js';
import { compose } from './pipeline.js';
import { SubgraphBreaker, breakerStage } from './stages/breaker.js';
import { cacheStage, type FetchHandler, type FetchResult } from './stages/cache.js';
import { deadlineStage } from './stages/deadline.js';
import { mergeStage } from './stages/merge.js';
import { reportStage } from './stages/report.js';
import { traceStage } from './stages/trace.js';
import { UndiciTransport } from './stages/transport.js';
import type { SubgraphFetch } from './subgraphFetch.js';
import { fetchBudget, type SubgraphLimits } from './budget.js';
import { boolean, choice, integer, megabytesToBytes, type SettingGroup } from '../settings.js';

/** What one request brings to one fetch of its plan. */
export interface FetchInput {
  request: GatewayRequest;
  /** Without `representations`. */
  variables: Record<string, unknown>;
  /** Entity fetches: the entities' representations, as the plan reads them out of the data so far. */
  representations?: Record<string, unknown>[];
  /** Headers the plan adds to the subgraph request (stock's executor only: Apollo's trace header). */
  plannedHeaders?: Record<string, string>;
  /** The caller may serve the fetch again from memory: the result says how, when it can (`FetchResult.fromMemory`). */
  servesAgain?: boolean;
}

export interface ReadPath {
  /** Runs one fetch of a plan for one request; failures come back as errors on the fields it would have filled. */
  fetch(fetch: SubgraphFetch, input: FetchInput): Promise<FetchResult>;
  /** The pipeline for a subgraph of the supergraph being loaded, and the data source stock's executor calls it by. */
  buildService(definition: { name: string; url?: string }): GraphQLDataSource;
  /** Null when ENTITY_CACHE is off. */
  cache: EntityCache | null;
  /** Drops every cached copy of one entity (all subgraphs, selections and scopes) and every answer showing it. */
  invalidateEntity(typename: string, keyFields: Record<string, unknown>): number;
  /** Drops every entry carrying one of these tags; returns how many. */
  invalidateTags(tags: readonly string[]): number;
  invalidateType(typename: string, subgraph?: string): number;
  invalidateSubgraph(subgraph: string): number;
  /** Where a subgraph of the supergraph loaded is reached (its SUBGRAPH_<NAME>_URL, or its routing URL). */
  subgraphUrl(name: string): string | undefined;
  /** The supergraph (re)loaded: its entity keys name the entities answers are tagged with. */
  supergraphLoaded(supergraphSdl: string): void;
  close(): Promise<void>;
}

export interface ReadPathOptions {
  /** Whether change events or invalidation requests can evict entries (so root answers may be served while fresh). */
  evictedByEvents: boolean;
  /** Whether the gateway hears every change now, and since when (its sources report to it). */
  coverage: ChangeCoverage;
  /** The second cache level (Redis) shared by every process and replica; null without REDIS_URL. */
  sharedCache?: SharedEntityCache | null;
  /** Spans for every fetch and subgraph call (telemetry/tracing.ts); none when absent. */
  tracer?: Tracer | null;
}

export function createReadPath(
  config: ReadPathConfig,
  urlOverrides: Readonly<Record<string, string>>,
  metrics: GatewayMetrics,
  logger: Logger,
  clock: Clock,
  options: ReadPathOptions,
): ReadPath {
  const cache = config.entityCache
    ? new EntityCache({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes, now: () => clock.now() })
    : null;
  let entityKeys: EntityKeys = new Map();
  if (cache) {
    cache.onEviction((key, reason) => metrics.cacheEvictions.inc({ subgraph: key.slice(0, key.indexOf(':')), reason }));
    metrics.gauge('gateway_entity_cache_entries', 'Entries in the entity cache', () => cache.size);
    metrics.gauge('gateway_entity_cache_bytes', 'Approximate bytes held by the entity cache', () => cache.bytes);
  }
  const sources: HybridDataSource[] = [];
  const pipelines = new Map<string, { handle: FetchHandler; limits: SubgraphLimits; url: string }>();
  const tracer = options.tracer ?? null;
  const run: ReadPath['fetch'] = (subgraphFetch, input) => {
    const pipeline = pipelines.get(subgraphFetch.subgraph);
    if (!pipeline) throw new Error(`no read path for subgraph "${subgraphFetch.subgraph}": it is not in the supergraph loaded`);
    const { request } = input;
    const planned = input.plannedHeaders ?? {};
    const kind = subgraphFetch.kind === 'entities' && input.representations ? 'entities' : 'root';
    // A late answer fills the cache for the pages after this one: only an anonymous one others may be served.
    const mayFinishLate = request.identity === null && !request.noCache && !subgraphFetch.revalidate;
    const budget = fetchBudget(request, pipeline.limits, kind, mayFinishLate);
    const span = tracer && trace.getActiveSpan();
    if (span) {
      span.setAttribute('gateway.budget.call_timeout_ms', budget.callTimeoutMs);
      if (Number.isFinite(budget.operationEndsAtMs)) span.setAttribute('gateway.budget.operation_left_ms', Math.max(0, Math.round(budget.operationEndsAtMs - clock.now())));
    }
    return pipeline.handle({
      fetch: subgraphFetch,
      request,
      budget,
      variables: input.variables,
      representations: input.representations,
      headers: { ...planned, ...request.identityHeaders() },
      // The signed identity header renews: callers are told apart by who they are, not by its bytes.
      sharingKey: `${input.plannedHeaders ? stableJson(planned) : '{}'}\u0000${request.identity ?? ''}`,
      servesAgain: input.servesAgain === true,
    });
  };
  /** Traced: a span per fetch, the parent of its subgraph calls, counting its cache lookups by outcome. */
  const fetch: ReadPath['fetch'] = !tracer ? run : (subgraphFetch, input) => {
    const span = tracer.startSpan(`fetch ${subgraphFetch.subgraph}`, {
      attributes: {
        'gateway.subgraph': subgraphFetch.subgraph,
        'gateway.fetch.kind': subgraphFetch.kind,
        'gateway.fetch.representations': input.representations?.length ?? 0,
        'gateway.request_id': input.request.id,
      },
    });
    return context.with(trace.setSpan(context.active(), span), () => run(subgraphFetch, input)).then((result) => {
      const errors = result.response.errors?.length ?? 0;
      span.setAttribute('gateway.fetch.errors', errors);
      if (errors > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: String(result.response.errors![0]!.message) });
      return result;
    }).finally(() => span.end());
  };
  return {
    cache,
    fetch,
    buildService({ name, url }) {
      const target = urlOverrides[name.toLowerCase()] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL: set SUBGRAPH_${name.toUpperCase()}_URL`);
      const limits = { ...config.timeouts, ...config.perSubgraph[name.toLowerCase()] };
      const breaker = new SubgraphBreaker(name, config.breaker, clock, (state) => {
        metrics.setBreakerState(name, state);
        logger[state === 'closed' ? 'info' : 'warn']('circuit breaker changed state', { subgraph: name, state });
      });
      metrics.breakerState.set({ subgraph: name }, 0);
      const transport = new UndiciTransport(name, target, {
        connections: config.connectionsPerSubgraph,
        maxResponseBytes: config.maxResponseBytes,
      });
      const deadline = deadlineStage({ serviceName: name, clock, maxLateCalls: config.maxLateCallsPerSubgraph });
      const tracing = options.tracer ? [traceStage({ serviceName: name, tracer: options.tracer })] : [];
      const calls = compose(...tracing, reportStage({ serviceName: name, metrics, logger, clock }), breakerStage(breaker), deadline)(transport.send);
      const merge = mergeStage({
        serviceName: name,
        clock,
        maxCallsInFlight: config.entityCallsInFlight,
        maxBatchSize: config.maxBatchSize,
        metrics,
      });
      const handle = cacheStage({
        serviceName: name,
        cache,
        rootFetchCache: config.rootFetchCache,
        evictedByEvents: options.evictedByEvents,
        coverage: options.coverage,
        shared: cache ? (options.sharedCache ?? null) : null,
        entityKeys: () => entityKeys,
        staleIfErrorSeconds: config.staleIfErrorSeconds,
        clock,
        metrics,
      })({ entities: merge(calls), root: calls });
      pipelines.set(name, { handle, limits, url: target });
      const source = new HybridDataSource({
        serviceName: name,
        fetch,
        internal: compose(deadline)(transport.send),
        limits,
        close: () => transport.close(),
      });
      sources.push(source);
      return source;
    },
    subgraphUrl: (name) => pipelines.get(name)?.url,
    invalidateEntity: (typename, keyFields) => cache?.evictEntity(typename, keyFields) ?? 0,
    invalidateTags: (tags) => cache?.evictTags(tags) ?? 0,
    invalidateType: (typename, subgraph) => cache?.evictType(typename, subgraph) ?? 0,
    invalidateSubgraph: (subgraph) => cache?.evictSubgraph(subgraph) ?? 0,
    supergraphLoaded(supergraphSdl) {
      try {
        entityKeys = entityKeysFromSupergraph(supergraphSdl);
      } catch (error) {
        // Without keys answers are tagged by their representations only; nothing else changes.
        logger.warn('could not read entity keys from the supergraph', { error: String((error as Error)?.message ?? error) });
      }
    },
    async close() {
      await Promise.all(sources.map((s) => s.close()));
    },
  };
}

/** How the read path caches, merges and calls: the entity cache, root answers, batches and connections. */
export const READ_PATH_SETTINGS = {
  entityCache: boolean('ENTITY_CACHE', { default: true, doc: 'the per-entity cache (and root answers the subgraph marks cacheable); off sends every fetch to its subgraph' }),
  rootFetchCache: choice('ROOT_FETCH_CACHE', ['tagged', 'revalidate', 'max-age', 'off'] as const, { default: 'tagged', doc: 'root answers: tagged serves them from memory while fresh when they carry cache tags and the gateway hears every change (an event source or INVALIDATION_SECRET), else acts as revalidate; revalidate keeps those with an ETag and always asks with If-None-Match; max-age serves them while fresh regardless; off never keeps them' }),
  cacheMaxEntries: integer('ENTITY_CACHE_MAX_ENTRIES', { default: 100_000, min: 1, max: 100_000_000, doc: 'the most entries in the in-process cache; least recently used go first' }),
  cacheMaxBytes: integer('ENTITY_CACHE_MAX_BYTES', {
    default: 134_217_728, min: 1_048_576, max: 68_719_476_736, unit: 'bytes', formerly: ['ENTITY_CACHE_MAX_MB'], fromFormer: megabytesToBytes,
    doc: 'the most bytes (JSON) the in-process cache holds; least recently used go first',
  }),
  staleIfErrorSeconds: integer('STALE_IF_ERROR_SECONDS', { default: 300, min: 0, max: 604_800, unit: 'seconds', doc: 'how long past its max-age a cached value may stand in for a failing subgraph (a subgraph\'s own stale-if-error wins); never for a no-cache request' }),
  entityCallsInFlight: integer('ENTITY_MAX_CALLS_IN_FLIGHT', { default: 1, min: 1, max: 1_000, unit: 'operations', formerly: ['ENTITY_CALLS_IN_FLIGHT'], doc: '_entities calls out at once per subgraph and operation shape; loads arriving meanwhile queue and leave together when one comes back (a lone request waits for nothing)' }),
  maxBatchSize: integer('ENTITY_BATCH_MAX_SIZE', { default: 200, min: 1, max: 10_000, formerly: ['ENTITY_BATCH_MAX'], doc: 'the most representations in one _entities call' }),
  connectionsPerSubgraph: integer('SUBGRAPH_MAX_CONNECTIONS', { default: 64, min: 1, max: 10_000, formerly: ['SUBGRAPH_CONNECTIONS'], doc: 'keep-alive connections per subgraph (undici pool)' }),
  maxResponseBytes: integer('SUBGRAPH_MAX_RESPONSE_BYTES', {
    default: 16_777_216, min: 1_048_576, max: 1_073_741_824, unit: 'bytes', formerly: ['SUBGRAPH_MAX_RESPONSE_MB'], fromFormer: megabytesToBytes,
    doc: 'larger subgraph answers are refused as SUBGRAPH_BAD_RESPONSE',
  }),
} satisfies SettingGroup;
