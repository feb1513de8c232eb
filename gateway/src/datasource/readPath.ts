/**
 * The hybrid read path of one gateway: one entity cache, one clock and one metrics registry shared by all
 * subgraphs, and per subgraph its pipeline, made when ApolloGateway loads the supergraph (`buildService`):
 *
 *   cache -> merge -> report -> breaker -> deadline -> transport
 *
 * `fetch` is the way in: the compiled executor calls it for each fetch of a plan. Stock's executor reaches the same
 * pipelines through the data source adapter `buildService` returns (hybridDataSource.ts). Nothing here knows any
 * particular supergraph.
 */
import type { GraphQLDataSource } from '@apollo/gateway';
import { EntityCache } from '../cache/entityCache.js';
import type { SharedEntityCache } from '../cache/sharedEntityCache.js';
import { entityKeysFromSupergraph, type EntityKeys } from '../cache/entityTags.js';
import type { Clock } from '../clock.js';
import type { ReadPathConfig } from '../config.js';
import type { ChangeCoverage } from '../events/changeCoverage.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { GatewayRequest } from '../request.js';
import { stableJson } from '../cache/cacheKey.js';
import { HybridDataSource } from './hybridDataSource.js';
import { compose } from './pipeline.js';
import { SubgraphBreaker, breakerStage } from './stages/breaker.js';
import { cacheStage, type FetchHandler, type FetchResult } from './stages/cache.js';
import { deadlineStage } from './stages/deadline.js';
import { mergeStage } from './stages/merge.js';
import { reportStage } from './stages/report.js';
import { UndiciTransport } from './stages/transport.js';
import type { SubgraphFetch } from './subgraphFetch.js';
import { fetchBudget, type SubgraphLimits } from './budget.js';

/** What one request brings to one fetch of its plan. */
export interface FetchInput {
  request: GatewayRequest;
  /** Without `representations`. */
  variables: Record<string, unknown>;
  /** Entity fetches: the entities' representations, as the plan reads them out of the data so far. */
  representations?: Record<string, unknown>[];
  /** Headers the plan adds to the subgraph request (stock's executor only: Apollo's trace header). */
  plannedHeaders?: Record<string, string>;
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
  const pipelines = new Map<string, { handle: FetchHandler; limits: SubgraphLimits }>();
  const fetch: ReadPath['fetch'] = (subgraphFetch, input) => {
    const pipeline = pipelines.get(subgraphFetch.subgraph);
    if (!pipeline) throw new Error(`no read path for subgraph "${subgraphFetch.subgraph}": it is not in the supergraph loaded`);
    const { request } = input;
    const planned = input.plannedHeaders ?? {};
    const kind = subgraphFetch.kind === 'entities' && input.representations ? 'entities' : 'root';
    // A late answer fills the cache for the pages after this one: only an anonymous one others may be served.
    const mayFinishLate = request.identity === null && !request.noCache && !subgraphFetch.revalidate;
    return pipeline.handle({
      fetch: subgraphFetch,
      request,
      budget: fetchBudget(request, pipeline.limits, kind, mayFinishLate),
      variables: input.variables,
      representations: input.representations,
      headers: { ...planned, ...request.identityHeaders() },
      // The signed identity header renews: callers are told apart by who they are, not by its bytes.
      sharingKey: `${input.plannedHeaders ? stableJson(planned) : '{}'}\u0000${request.identity ?? ''}`,
    });
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
      const calls = compose(reportStage({ serviceName: name, metrics, logger, clock }), breakerStage(breaker), deadline)(transport.send);
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
      pipelines.set(name, { handle, limits });
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
