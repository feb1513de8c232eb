/**
 * The data source behind every subgraph fetch of a query plan (installed through ApolloGateway's `buildService`):
 * it reads what the fetch is and hands it to the pipeline (gateway/ARCHITECTURE.md):
 *
 *   stages/cache.ts -> stages/merge.ts -> stages/breaker.ts -> stages/deadline.ts -> stages/transport.ts
 *
 * (with stages/report.ts counting and logging each call). Failures come back as errors on exactly the fields
 * the fetch would have filled, never as throws: ApolloGateway adds `serviceName` and the client path only to
 * errors a data source returns.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { stableJson } from '../cache/cacheKey.js';
import { gatewayRequestOf } from '../request.js';
import { operationShape } from './operationShape.js';
import type { Dispatch } from './pipeline.js';
import type { CacheStage, FetchRequest } from './stages/cache.js';

export interface HybridDataSourceOptions {
  serviceName: string;
  cacheStage: CacheStage;
  /** Health checks and schema loading: deadline and transport only, no cache, merging or breaker. */
  internal: Dispatch;
  close(): Promise<void>;
}

type Incoming = GatewayGraphQLRequestContext<Record<string, any>>;

/** Apollo Studio traces are per request: a fetch that asks for one is never merged or served from cache. */
const TRACE_HEADER = 'apollo-federation-include-trace';

export class HybridDataSource implements GraphQLDataSource {
  constructor(private readonly options: HybridDataSourceOptions) {}

  async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    if (!('incomingRequestContext' in options)) return this.internalFetch(request.query, request.variables);

    const incoming = options.incomingRequestContext as Incoming;
    const state = gatewayRequestOf(incoming.context);
    if (!state) throw new Error('an operation reached the data source without the request the gateway made for it');
    const planned: Record<string, string> = {};
    for (const [name, value] of request.http?.headers ?? []) planned[name.toLowerCase()] = value;
    const { representations, ...variables } = request.variables ?? {};
    const shape = operationShape(request.query);
    const traced = TRACE_HEADER in planned;
    const fetch: FetchRequest = {
      query: request.query,
      operationName: request.operationName,
      variables: traced ? (request.variables ?? {}) : variables,
      representations: Array.isArray(representations) ? representations : undefined,
      shape,
      traced,
      headers: { ...planned, ...state.identityHeaders() },
      sharingKey: `${stableJson(planned)}\u0000${state.identity ?? ''}`,
      request: state,
      restrictPolicy: (maxAgeSeconds, scope) => incoming.overallCachePolicy?.restrict({
        maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
        scope: scope === 'private' ? 'PRIVATE' : 'PUBLIC',
      } as never),
    };
    return shape.isEntityFetch && fetch.representations && !traced
      ? this.options.cacheStage.fetchEntities(fetch)
      : this.options.cacheStage.fetchRoot(fetch);
  }

  /** Health checks and schema loading: failures are thrown, as ApolloGateway expects there. */
  private async internalFetch(query: string, variables: Record<string, unknown> | undefined): Promise<GatewayGraphQLResponse> {
    const response = await this.options.internal({
      kind: 'internal',
      body: JSON.stringify({ query, variables }),
      headers: {},
      budgetAtMs: Number.POSITIVE_INFINITY,
      mayFinishLate: false,
      requestIds: [],
    });
    return response.body ?? {};
  }

  close(): Promise<void> {
    return this.options.close();
  }
}
