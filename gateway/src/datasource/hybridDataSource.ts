/**
 * The data source stock's executor calls for each fetch of a plan (installed through ApolloGateway's
 * `buildService`): an adapter onto the read path, for introspection, plans the compiled executor leaves to stock,
 * traced requests and `GATEWAY_EXECUTOR=stock`. It says what the fetch is (once per operation text,
 * subgraphFetch.ts) and what the request brings to it, calls the same read path the compiled executor calls
 * (readPath.ts), and hands the policy of what it served to Apollo's. Failures come back as errors on exactly the
 * fields the fetch would have filled, never as throws: ApolloGateway adds `serviceName` and the client path only
 * to errors a data source returns.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { gatewayRequestOf } from '../request.js';
import { internalBudget, type SubgraphLimits } from './budget.js';
import type { Dispatch } from './pipeline.js';
import type { ReadPath } from './readPath.js';
import { subgraphFetchOfText } from './subgraphFetch.js';

export interface HybridDataSourceOptions {
  serviceName: string;
  fetch: ReadPath['fetch'];
  /** Health checks and schema loading: deadline and transport only, no cache, merging or breaker. */
  internal: Dispatch;
  /** The subgraph's limits: its own calls get its root timeout. */
  limits: SubgraphLimits;
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
    const gatewayRequest = gatewayRequestOf(incoming.context);
    if (!gatewayRequest) throw new Error('an operation reached the data source without the request the gateway made for it');
    const planned: Record<string, string> = {};
    for (const [name, value] of request.http?.headers ?? []) planned[name.toLowerCase()] = value;
    const traced = TRACE_HEADER in planned;
    const fetch = subgraphFetchOfText({
      subgraph: this.options.serviceName,
      operation: request.query,
      operationName: request.operationName,
      inMutation: incoming.operation?.operation === 'mutation',
      traced,
    });
    const { representations, ...variables } = request.variables ?? {};
    const { response, policy } = await this.options.fetch(fetch, {
      request: gatewayRequest,
      variables: traced ? (request.variables ?? {}) : variables,
      representations: Array.isArray(representations) ? representations : undefined,
      plannedHeaders: planned,
    });
    if (policy) {
      incoming.overallCachePolicy?.restrict({
        maxAge: policy.maxAgeSeconds,
        scope: policy.scope === 'private' ? 'PRIVATE' : 'PUBLIC',
      } as never);
    }
    return response;
  }

  /** Health checks and schema loading: failures are thrown, as ApolloGateway expects there. */
  private async internalFetch(query: string, variables: Record<string, unknown> | undefined): Promise<GatewayGraphQLResponse> {
    const outcome = await this.options.internal({
      kind: 'internal',
      body: JSON.stringify({ query, variables }),
      headers: {},
      budget: internalBudget(this.options.limits),
      requestIds: [],
    });
    if (outcome.kind === 'failed') throw outcome.failure;
    return outcome.response.body ?? {};
  }

  close(): Promise<void> {
    return this.options.close();
  }
}
