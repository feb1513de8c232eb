/**
 * The data source behind every subgraph fetch of a query plan (installed through ApolloGateway's
 * `buildService`). Root fetches go straight to the subgraph (with HTTP ETag revalidation when a cached copy is
 * stale); entity fetches are split into representations, served from the per-entity cache when fresh,
 * revalidated in one conditional call when stale, and otherwise merged with every other request's misses by the
 * EntityBatcher. Every call has a deadline and goes through the subgraph's circuit breaker; a failure nulls
 * exactly the fields the fetch would have filled, unless a stale copy may be served instead. See
 * gateway/ARCHITECTURE.md for the flow and gateway/PROTOCOL.md for the wire protocol.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { GraphQLFormattedError } from 'graphql';
import { entityCacheKey, entityIdentity, stableJson } from '../cache/cacheKey.js';
import { parseCacheControl, type CacheHint } from '../cache/cacheHints.js';
import type { CacheEntry, EntityCache } from '../cache/entityCache.js';
import { canServeStaleOnError, decide } from '../cache/freshness.js';
import { SubgraphFailure } from '../errors.js';
import { identityHeaders } from '../identity.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { SubgraphBreaker } from './breaker.js';
import { fetchDeadline, type Deadline } from './deadline.js';
import { EntityBatcher, type EntityAnswer, type EntityGroup, type EntityLoad, type EntityResult } from './entityBatcher.js';
import { entityFailureErrors, rootFailureErrors } from './fieldErrors.js';
import { operationShape, type OperationShape } from './operationShape.js';
import { operationState, type OperationState } from './requestState.js';
import type { SubgraphTransport, TransportResponse } from './transport.js';

export type RootFetchCacheMode = 'revalidate' | 'max-age' | 'off';

export interface SubgraphTimeouts {
  /** Root fetches (and schema loading). */
  timeoutMs: number;
  /** Entity fetches, which fill optional parts of a page and so get a shorter leash. */
  entityTimeoutMs: number;
}

export interface HybridDataSourceOptions {
  serviceName: string;
  transport: SubgraphTransport;
  breaker: SubgraphBreaker;
  /** Null turns caching off (every fetch goes to the subgraph). */
  cache: EntityCache | null;
  /**
   * Root answers: 'revalidate' keeps those with an ETag and always sends If-None-Match; 'max-age' also serves them
   * from memory while fresh; 'off' never keeps them.
   */
  rootFetchCache: RootFetchCacheMode;
  timeouts: SubgraphTimeouts;
  operationBudgetMs: number;
  /** How long past max-age a cached value may stand in for a failing subgraph, when the subgraph gives no stale-if-error. */
  staleIfErrorSeconds: number;
  batchWindowMs: number;
  maxBatchSize: number;
  metrics: GatewayMetrics;
  now?: () => number;
}

type Incoming = GatewayGraphQLRequestContext<Record<string, any>>;

/** A representation that was not fresh in the cache: what it needs from the subgraph and where to store the answer. */
interface PendingEntity {
  index: number;
  entry: CacheEntry | undefined;
  publicKey: string | null;
  privateKey: string | null;
  load: EntityLoad;
}

/** Root responses live in the entity cache too, under a representation no entity can have. */
const ROOT_REPRESENTATION = { __typename: '__RootFetch' };
const TRACE_HEADER = 'apollo-federation-include-trace';

export class HybridDataSource implements GraphQLDataSource {
  private readonly batcher: EntityBatcher;
  private readonly now: () => number;

  constructor(private readonly options: HybridDataSourceOptions) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.batcher = new EntityBatcher(options.serviceName, (_group, body, timeoutMs) => this.call('entities', body, _group.headers, timeoutMs), {
      batchWindowMs: options.batchWindowMs,
      maxBatchSize: options.maxBatchSize,
    }, options.metrics);
  }

  async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    if (!('incomingRequestContext' in options)) return this.internalFetch(request.query, request.variables);

    const incoming = options.incomingRequestContext as Incoming;
    const state = operationState(incoming, this.options.operationBudgetMs, this.now());
    const headers = forwardedHeaders(request.http?.headers, state);
    const shape = operationShape(request.query);
    const representations = request.variables?.representations;
    // Traces for Apollo Studio are per request: such fetches bypass batching and caching.
    if (shape.isEntityFetch && Array.isArray(representations) && !headers[TRACE_HEADER]) {
      return this.entityFetch(incoming, state, headers, request.query, request.operationName, request.variables!, representations);
    }
    return this.rootFetch(incoming, state, headers, shape, request.query, request.operationName, request.variables);
  }

  /** Health checks and schema loading: no cache, no batching, failures thrown as Apollo expects. */
  private async internalFetch(query: string, variables: Record<string, unknown> | undefined): Promise<GatewayGraphQLResponse> {
    const response = await this.options.transport.send({
      body: JSON.stringify({ query, variables }),
      headers: {},
      timeoutMs: this.options.timeouts.timeoutMs,
    });
    return response.body ?? {};
  }

  private async rootFetch(
    incoming: Incoming,
    state: OperationState,
    headers: Record<string, string>,
    shape: OperationShape,
    query: string,
    operationName: string | undefined,
    variables: Record<string, unknown> | undefined,
  ): Promise<GatewayGraphQLResponse> {
    const { cache, serviceName, rootFetchCache } = this.options;
    const cacheable = cache !== null && rootFetchCache !== 'off' && shape.kind === 'query' && !headers[TRACE_HEADER];
    const keyFor = (scope: string | null) =>
      entityCacheKey({ subgraph: serviceName, operation: query, variables: variables ?? {}, representation: ROOT_REPRESENTATION, scope });
    const publicKey = cacheable ? keyFor(null) : null;
    const privateKey = cacheable && state.identity ? keyFor(state.identity) : null;
    const entry = (publicKey && cache!.get(publicKey)) || (privateKey && cache!.get(privateKey)) || undefined;
    const startedAtMs = this.now();
    // 'revalidate' asks the subgraph every time (a 304 saves the payload), so a page's own data is never older
    // than its subgraph's, whatever max-age says.
    const decision = decide(entry, startedAtMs, rootFetchCache === 'revalidate' ? { noCache: true } : state);
    if (entry && decision.kind === 'fresh') {
      restrictPolicy(incoming, decision.remainingSeconds, entry.scope);
      return ownCopy(entry.value) as GatewayGraphQLResponse;
    }

    const deadline = fetchDeadline(startedAtMs, this.options.timeouts.timeoutMs, state.deadlineAtMs);
    const conditional = decision.kind === 'revalidate' ? { ...headers, 'if-none-match': decision.etag } : headers;
    let response: TransportResponse;
    try {
      response = await this.call('root', JSON.stringify({ query, variables, operationName }), conditional, deadline.timeoutMs, deadline);
    } catch (error) {
      const failure = asFailure(error, serviceName);
      restrictPolicy(incoming, 0, 'public');
      if (entry && canServeStaleOnError(entry, this.now(), state)) {
        state.staleServed.push({ subgraph: serviceName, typename: null, ageSeconds: ageSeconds(entry, this.now()) });
        return ownCopy(entry.value) as GatewayGraphQLResponse;
      }
      return { data: null, errors: rootFailureErrors(failure, shape.rootResponseKeys) };
    }

    const hint = hintOf(response);
    if (response.status === 304) {
      if (!entry || !publicKey) {
        return { data: null, errors: rootFailureErrors(new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', serviceName, `${serviceName} answered 304 to a request that was not conditional`), shape.rootResponseKeys) };
      }
      cache!.renew(entry.scope === 'private' && privateKey ? privateKey : publicKey, hint.maxAgeSeconds, response.headers.etag ?? entry.etag);
      restrictPolicy(incoming, hint.maxAgeSeconds, entry.scope);
      return ownCopy(entry.value) as GatewayGraphQLResponse;
    }
    const body = response.body!;
    restrictPolicy(incoming, hint.noStore ? 0 : hint.maxAgeSeconds, hint.scope);
    const etag = response.headers.etag ?? null;
    if (cacheable && !body.errors && worthStoring(hint, etag) && (etag !== null || rootFetchCache === 'max-age')) {
      const key = hint.scope === 'private' ? privateKey : publicKey;
      if (key) cache!.set(key, this.entry(ownCopy(body as Record<string, unknown>), hint, etag, hint.maxAgeSeconds, hint.scope, '__root'));
    }
    return body as GatewayGraphQLResponse;
  }

  private async entityFetch(
    incoming: Incoming,
    state: OperationState,
    headers: Record<string, string>,
    query: string,
    operationName: string | undefined,
    allVariables: Record<string, unknown>,
    representations: Record<string, unknown>[],
  ): Promise<GatewayGraphQLResponse> {
    const { cache, serviceName, metrics } = this.options;
    const { representations: _, ...variables } = allVariables;
    const group: EntityGroup = {
      key: `${query}\u0000${stableJson(variables)}\u0000${stableJson(headers)}`,
      query,
      operationName,
      variables,
      headers,
    };
    const startedAtMs = this.now();
    const deadline = fetchDeadline(startedAtMs, this.options.timeouts.entityTimeoutMs, state.deadlineAtMs);
    const values: (Record<string, unknown> | null)[] = new Array(representations.length).fill(null);
    const errors: GraphQLFormattedError[] = [];
    const freshness = new PolicyAccumulator();
    metrics.entity(serviceName, 'requested', representations.length);

    const pending: PendingEntity[] = [];
    representations.forEach((representation, index) => {
      const keyFor = (scope: string | null) =>
        entityCacheKey({ subgraph: serviceName, operation: query, variables, representation, scope });
      const publicKey = cache ? keyFor(null) : null;
      const privateKey = cache && state.identity ? keyFor(state.identity) : null;
      const entry = (publicKey && cache!.get(publicKey)) || (privateKey && cache!.get(privateKey)) || undefined;
      const decision = decide(entry, startedAtMs, state);
      if (entry && decision.kind === 'fresh') {
        values[index] = ownCopy(entry.value);
        freshness.add(decision.remainingSeconds, entry.scope);
        metrics.entity(serviceName, 'cache_hit');
        return;
      }
      pending.push({
        index,
        entry,
        publicKey,
        privateKey,
        load: {
          group,
          representation,
          representationKey: stableJson(representation),
          ifNoneMatch: decision.kind === 'revalidate' ? decision.etag : null,
          timeoutMs: deadline.timeoutMs,
        },
      });
    });

    const results = await this.loadAll(pending, deadline);
    const globalErrorsSeen = new Set<readonly GraphQLFormattedError[]>();
    const now = this.now();
    pending.forEach(({ index, entry }, i) => {
      const result = results[i]!;
      if (result.kind === 'failed') {
        freshness.add(0, 'public');
        if (entry && canServeStaleOnError(entry, now, state)) {
          values[index] = ownCopy(entry.value);
          state.staleServed.push({ subgraph: serviceName, typename: typenameOf(representations[index]), ageSeconds: ageSeconds(entry, now) });
          metrics.entity(serviceName, 'stale_served');
        } else {
          errors.push(...entityFailureErrors(result.failure, [index]));
          metrics.entity(serviceName, 'failed');
        }
        return;
      }
      if (!globalErrorsSeen.has(result.globalErrors)) {
        globalErrorsSeen.add(result.globalErrors);
        errors.push(...result.globalErrors);
      }
      if (result.notModified && entry) {
        values[index] = ownCopy(entry.value);
        freshness.add(entityMaxAge(result), entry.scope);
        return;
      }
      values[index] = result.value && ownCopy(result.value);
      for (const { error, rest } of result.errors) errors.push({ ...error, path: ['_entities', index, ...rest] });
      freshness.add(entityMaxAge(result), result.hint.scope);
    });
    freshness.applyTo(incoming);
    return errors.length > 0 ? { data: { _entities: values }, errors } : { data: { _entities: values } };
  }

  /**
   * Waits for every load, but never past this operation's own deadline (a shared call may have a later one).
   * Each answer is remembered as soon as it arrives, so a request that needs the same entity a moment later finds
   * it in the cache even while this one still waits for its other loads.
   */
  private async loadAll(pending: PendingEntity[], deadline: Deadline): Promise<EntityResult[]> {
    if (pending.length === 0) return [];
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<EntityResult>((resolve) => {
      timer = setTimeout(() => resolve({
        kind: 'failed',
        failure: new SubgraphFailure('SUBGRAPH_TIMEOUT', this.options.serviceName, timeoutMessage(this.options.serviceName, deadline)),
      }), deadline.timeoutMs);
    });
    try {
      return await Promise.all(pending.map((p) => Promise.race([
        this.batcher.load(p.load).then((result) => {
          this.remember(p, result);
          return result;
        }),
        expired,
      ])));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stores a fetched entity, or renews a not-modified one, once per answer however many requests share it. */
  private remember(p: PendingEntity, result: EntityResult): void {
    const { cache, serviceName, metrics } = this.options;
    if (!cache || result.kind !== 'answer' || result.stored) return;
    const maxAgeSeconds = entityMaxAge(result);
    if (result.notModified) {
      const key = p.entry?.scope === 'private' ? p.privateKey : p.publicKey;
      if (!p.entry || !key) return;
      cache.renew(key, maxAgeSeconds, result.etag ?? p.entry.etag);
      metrics.notModifiedBytesSaved.inc({ subgraph: serviceName }, JSON.stringify(p.entry.value).length);
      result.stored = true;
      return;
    }
    const key = result.hint.scope === 'private' ? p.privateKey : p.publicKey;
    // Errors are never cached, whether about this entity or about the whole answer.
    if (!key || !result.value || result.errors.length > 0 || result.globalErrors.length > 0 || !worthStoring(result.hint, result.etag, maxAgeSeconds)) return;
    const representation = p.load.representation;
    const identity = entityIdentity(typenameOf(representation) ?? '', keyFieldsOf(representation));
    cache.set(key, this.entry(ownCopy(result.value), result.hint, result.etag, maxAgeSeconds, result.hint.scope, identity));
    result.stored = true;
  }

  /** One HTTP call through the breaker, with its metrics; failures are thrown as SubgraphFailure. */
  private async call(kind: 'root' | 'entities', body: string, headers: Record<string, string>, timeoutMs: number, deadline?: Deadline): Promise<TransportResponse> {
    const { breaker, transport, metrics, serviceName } = this.options;
    const stopTimer = metrics.subgraphDuration.startTimer({ subgraph: serviceName, kind });
    try {
      const response = await breaker.run(() => transport.send({ body, headers, timeoutMs }));
      metrics.subgraphRequests.inc({ subgraph: serviceName, kind, outcome: response.status === 304 ? 'not_modified' : 'ok' });
      return response;
    } catch (error) {
      const failure = asFailure(error, serviceName);
      const reported = failure.code === 'SUBGRAPH_TIMEOUT' && deadline
        ? new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, timeoutMessage(serviceName, deadline), { cause: failure })
        : failure;
      metrics.subgraphRequests.inc({ subgraph: serviceName, kind, outcome: reported.code });
      metrics.failures.inc({ subgraph: serviceName, code: reported.code });
      throw reported;
    } finally {
      stopTimer();
    }
  }

  private entry(value: Record<string, unknown>, hint: CacheHint, etag: string | null, maxAgeSeconds: number, scope: 'public' | 'private', identity: string): CacheEntry {
    return {
      value,
      storedAtMs: this.now(),
      maxAgeSeconds,
      staleIfErrorSeconds: hint.staleIfErrorSeconds > 0 ? hint.staleIfErrorSeconds : this.options.staleIfErrorSeconds,
      etag,
      scope,
      identity,
    };
  }

  async close(): Promise<void> {
    this.options.breaker.shutdown();
    await this.options.transport.close();
  }
}

/** Headers every subgraph request carries: the planner's own (tracing) and the caller's identity. */
function forwardedHeaders(planned: Iterable<[string, string]> | undefined, state: OperationState): Record<string, string> {
  const headers: Record<string, string> = {};
  if (planned) for (const [name, value] of planned) headers[name.toLowerCase()] = value;
  return { ...headers, ...identityHeaders(state.identity) };
}

/** The smallest freshness and the strictest scope of everything one fetch served, handed to Apollo's cache policy. */
class PolicyAccumulator {
  private maxAge = Number.POSITIVE_INFINITY;
  private scope: 'public' | 'private' = 'public';

  add(maxAgeSeconds: number, scope: 'public' | 'private'): void {
    this.maxAge = Math.min(this.maxAge, Math.max(0, Math.floor(maxAgeSeconds)));
    if (scope === 'private') this.scope = 'private';
  }

  applyTo(incoming: Incoming): void {
    if (this.maxAge !== Number.POSITIVE_INFINITY) restrictPolicy(incoming, this.maxAge, this.scope);
  }
}

function restrictPolicy(incoming: Incoming, maxAgeSeconds: number, scope: 'public' | 'private'): void {
  incoming.overallCachePolicy?.restrict({ maxAge: Math.max(0, Math.floor(maxAgeSeconds)), scope: scope === 'private' ? 'PRIVATE' : 'PUBLIC' } as never);
}

function hintOf(response: TransportResponse): CacheHint {
  return parseCacheControl(response.headers['cache-control']);
}

/**
 * ApolloGateway merges later fetches' results INTO the objects a data source returns (deepMerge, by reference for
 * nested objects). A cached value, or an answer shared by several requests, must therefore never be handed out
 * itself: every request gets its own copy, and the cache keeps one nobody else holds.
 */
function ownCopy<T>(value: T): T {
  return structuredClone(value);
}

/** An entity's freshness: its own max-age from the protocol when the subgraph gives one, else the response's. */
function entityMaxAge(answer: EntityAnswer): number {
  return answer.hint.noStore ? 0 : (answer.maxAgeSeconds ?? answer.hint.maxAgeSeconds);
}

function worthStoring(hint: CacheHint, etag: string | null, maxAgeSeconds = hint.maxAgeSeconds): boolean {
  // With a validator even max-age=0 is worth keeping: the next read revalidates instead of refetching.
  return !hint.noStore && (maxAgeSeconds > 0 || etag !== null);
}

function asFailure(error: unknown, serviceName: string): SubgraphFailure {
  return error instanceof SubgraphFailure
    ? error
    : new SubgraphFailure('SUBGRAPH_UNAVAILABLE', serviceName, `${serviceName} could not be called`, { cause: error });
}

function timeoutMessage(serviceName: string, deadline: Deadline): string {
  return deadline.limitedBy === 'operation budget'
    ? `${serviceName} did not answer within the ${deadline.timeoutMs} ms left of the operation budget`
    : `${serviceName} did not answer within ${deadline.timeoutMs} ms`;
}

function ageSeconds(entry: CacheEntry, nowMs: number): number {
  return Math.max(0, Math.round((nowMs - entry.storedAtMs) / 1000));
}

function typenameOf(representation: Record<string, unknown> | undefined): string | null {
  return typeof representation?.__typename === 'string' ? representation.__typename : null;
}

function keyFieldsOf(representation: Record<string, unknown>): Record<string, unknown> {
  const { __typename: _, ...keyFields } = representation;
  return keyFields;
}
