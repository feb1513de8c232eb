/**
 * Assembles the hybrid read path for one gateway: one shared entity cache and metrics registry, and per subgraph
 * a transport, a circuit breaker and a HybridDataSource (ApolloGateway keeps one data source per subgraph through
 * `buildService`). Nothing here knows any particular supergraph.
 */
import type { GraphQLDataSource } from '@apollo/gateway';
import { EntityCache } from '../cache/entityCache.js';
import type { ReadPathConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import { SubgraphBreaker } from './breaker.js';
import { HybridDataSource } from './hybridDataSource.js';
import { UndiciTransport } from './transport.js';

export interface ReadPath {
  buildService(definition: { name: string; url?: string }): GraphQLDataSource;
  /** Null when ENTITY_CACHE is off. */
  cache: EntityCache | null;
  /** Drops every cached copy of one entity (all subgraphs, selections and scopes); returns how many. */
  invalidateEntity(typename: string, keyFields: Record<string, unknown>): number;
  close(): Promise<void>;
}

export function createReadPath(
  config: ReadPathConfig,
  urlOverrides: Readonly<Record<string, string>>,
  metrics: GatewayMetrics,
  logger: Logger,
): ReadPath {
  const cache = config.entityCache ? new EntityCache({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes }) : null;
  if (cache) {
    metrics.gauge('gateway_entity_cache_entries', 'Entries in the entity cache', () => cache.size);
    metrics.gauge('gateway_entity_cache_bytes', 'Approximate bytes held by the entity cache', () => cache.bytes);
  }
  const sources: HybridDataSource[] = [];
  return {
    cache,
    buildService({ name, url }) {
      const target = urlOverrides[name.toLowerCase()] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL: set SUBGRAPH_${name.toUpperCase()}_URL`);
      const breaker = new SubgraphBreaker(name, config.breaker, (state) => {
        metrics.setBreakerState(name, state);
        logger[state === 'closed' ? 'info' : 'warn']('circuit breaker changed state', { subgraph: name, state });
      });
      metrics.breakerState.set({ subgraph: name }, 0);
      const source = new HybridDataSource({
        serviceName: name,
        transport: new UndiciTransport(name, target, {
          connections: config.connectionsPerSubgraph,
          maxResponseBytes: config.maxResponseBytes,
        }),
        breaker,
        cache,
        rootFetchCache: config.rootFetchCache,
        timeouts: { ...config.timeouts, ...config.perSubgraph[name.toLowerCase()] },
        operationBudgetMs: config.operationBudgetMs,
        staleIfErrorSeconds: config.staleIfErrorSeconds,
        batchWindowMs: config.batchWindowMs,
        maxBatchSize: config.maxBatchSize,
        metrics,
      });
      sources.push(source);
      return source;
    },
    invalidateEntity: (typename, keyFields) => cache?.evictEntity(typename, keyFields) ?? 0,
    async close() {
      await Promise.all(sources.map((s) => s.close()));
    },
  };
}
