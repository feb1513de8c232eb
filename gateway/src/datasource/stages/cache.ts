/**
 * The cache stage, first of the pipeline: it answers what it can from memory and stores what comes back.
 *
 * Root fetches: a kept answer is served while fresh (ROOT_FETCH_CACHE=max-age) or revalidated with
 * If-None-Match (`revalidate`, the default: a page's own data is never older than its subgraph's).
 * Entity fetches: each representation is looked up on its own (subgraph + selection + typename + key fields, +
 * the caller for private data); fresh ones are served, stale ones with a validator are revalidated, the rest go
 * to the merge stage. Answers are stored per entity as they arrive (late ones too), errors never.
 * A failure becomes errors on exactly the fields that fetch would have filled (fieldErrors.ts), unless a stale
 * copy may stand in (stale-if-error, reported in `extensions.staleServed`).
 */
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { GraphQLFormattedError } from 'graphql';
import type { Clock } from '../../clock.js';
import { entityCacheKey, entityIdentity, stableJson } from '../../cache/cacheKey.js';
import { parseCacheControl, type CacheHint } from '../../cache/cacheHints.js';
import type { CacheEntry, EntityCache } from '../../cache/entityCache.js';
import { canServeStaleOnError, decide } from '../../cache/freshness.js';
import { SubgraphFailure } from '../../errors.js';
import type { GatewayMetrics } from '../../metrics/registry.js';
import type { EntityAnswer, EntityResult } from '../entityAnswer.js';
import { entityFailureErrors, rootFailureErrors } from '../fieldErrors.js';
import type { OperationShape } from '../operationShape.js';
import type { Dispatch } from '../pipeline.js';
import type { OperationState } from '../requestState.js';
import { REQUEST_ID_HEADER } from '../../requestId.js';
import type { EntityGroup, EntityLoad, MergeStage } from './merge.js';
import type { TransportResponse } from './transport.js';

export type RootFetchCacheMode = 'revalidate' | 'max-age' | 'off';
export type Scope = 'public' | 'private';

/** One fetch of a query plan, as the data source hands it over. */
export interface FetchRequest {
  query: string;
  operationName: string | undefined;
  /** Without `representations`. */
  variables: Record<string, unknown>;
  /** Only for entity fetches. */
  representations?: Record<string, unknown>[];
  shape: OperationShape;
  /** An Apollo Studio trace is per request: such a fetch is never served from or stored in the cache. */
  traced: boolean;
  /** What the subgraph request carries: the planner's headers and the caller's signed identity. */
  headers: Record<string, string>;
  /**
   * Who may share a subgraph call with whom: the planner's headers and the caller, not the signed identity
   * header itself, which renews.
   */
  sharingKey: string;
  operation: OperationState;
  /** Narrows the response's cache policy (Apollo's `overallCachePolicy`) to what this fetch served. */
  restrictPolicy(maxAgeSeconds: number, scope: Scope): void;
}

export interface CacheStageOptions {
  serviceName: string;
  /** Null turns caching off (every fetch goes to the subgraph). */
  cache: EntityCache | null;
  rootFetchCache: RootFetchCacheMode;
  /** How long past max-age a cached value may stand in for a failing subgraph, when the subgraph gives no stale-if-error. */
  staleIfErrorSeconds: number;
  clock: Clock;
  metrics: GatewayMetrics;
}

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

export class CacheStage {
  constructor(
    private readonly options: CacheStageOptions,
    private readonly merge: MergeStage,
    private readonly dispatch: Dispatch,
  ) {}

  async fetchRoot(request: FetchRequest): Promise<GatewayGraphQLResponse> {
    const { cache, serviceName, rootFetchCache, clock } = this.options;
    const { operation: state, shape, query, variables, operationName } = request;
    const cacheable = cache !== null && rootFetchCache !== 'off' && shape.kind === 'query' && !request.traced;
    const keyFor = (scope: string | null) =>
      entityCacheKey({ subgraph: serviceName, operation: query, variables, representation: ROOT_REPRESENTATION, scope });
    const publicKey = cacheable ? keyFor(null) : null;
    const privateKey = cacheable && state.identity ? keyFor(state.identity) : null;
    const entry = (publicKey && cache!.get(publicKey)) || (privateKey && cache!.get(privateKey)) || undefined;
    // 'revalidate' asks the subgraph every time (a 304 saves the payload), so a page's own data is never older
    // than its subgraph's, whatever max-age says.
    const decision = decide(entry, clock.now(), rootFetchCache === 'revalidate' ? { noCache: true } : state);
    if (entry && decision.kind === 'fresh') {
      request.restrictPolicy(decision.remainingSeconds, entry.scope);
      return ownCopy(entry.value) as GatewayGraphQLResponse;
    }

    let response: TransportResponse;
    try {
      response = await this.dispatch({
        kind: 'root',
        body: JSON.stringify({ query, variables, operationName }),
        headers: {
          ...request.headers,
          [REQUEST_ID_HEADER]: state.requestId,
          ...(decision.kind === 'revalidate' ? { 'if-none-match': decision.etag } : {}),
        },
        budgetAtMs: state.deadlineAtMs,
        mayFinishLate: false,
        signal: state.signal,
        operationName,
        requestIds: [state.requestId],
      });
    } catch (error) {
      const failure = asFailure(error, serviceName);
      request.restrictPolicy(0, 'public');
      if (entry && canServeStaleOnError(entry, clock.now(), state)) {
        state.staleServed.push({ subgraph: serviceName, typename: null, ageSeconds: ageSeconds(entry, clock.now()) });
        return ownCopy(entry.value) as GatewayGraphQLResponse;
      }
      return { data: null, errors: rootFailureErrors(failure, shape.rootResponseKeys) };
    }

    const hint = parseCacheControl(response.headers['cache-control']);
    if (response.status === 304) {
      if (!entry || !publicKey) {
        const failure = new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', serviceName, `${serviceName} answered 304 to a request that was not conditional`);
        return { data: null, errors: rootFailureErrors(failure, shape.rootResponseKeys) };
      }
      cache!.renew(entry.scope === 'private' && privateKey ? privateKey : publicKey, hint.maxAgeSeconds, response.headers.etag ?? entry.etag);
      request.restrictPolicy(hint.maxAgeSeconds, entry.scope);
      return ownCopy(entry.value) as GatewayGraphQLResponse;
    }
    const body = response.body!;
    request.restrictPolicy(hint.noStore ? 0 : hint.maxAgeSeconds, hint.scope);
    const etag = response.headers.etag ?? null;
    if (cacheable && !body.errors && worthStoring(hint, etag) && (etag !== null || rootFetchCache === 'max-age')) {
      const key = hint.scope === 'private' ? privateKey : publicKey;
      if (key) cache!.set(key, this.entry(ownCopy(body as Record<string, unknown>), hint, etag, hint.maxAgeSeconds, hint.scope, '__root'));
    }
    return body as GatewayGraphQLResponse;
  }

  async fetchEntities(request: FetchRequest): Promise<GatewayGraphQLResponse> {
    const { cache, serviceName, metrics, clock } = this.options;
    const { operation: state, query, variables } = request;
    const representations = request.representations ?? [];
    const group: EntityGroup = {
      key: `${query}\u0000${stableJson(variables)}\u0000${request.sharingKey}`,
      query,
      operationName: request.operationName,
      variables,
      headers: request.headers,
      mayFinishLate: state.identity === null,
    };
    const startedAtMs = clock.now();
    const values: (Record<string, unknown> | null)[] = new Array(representations.length).fill(null);
    const errors: GraphQLFormattedError[] = [];
    const freshness = new PolicyAccumulator();
    metrics.entity(serviceName, 'requested', representations.length);

    const pending: PendingEntity[] = [];
    representations.forEach((representation, index) => {
      const keyFor = (scope: string | null) => entityCacheKey({ subgraph: serviceName, operation: query, variables, representation, scope });
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
        load: { representation, representationKey: stableJson(representation), ifNoneMatch: decision.kind === 'revalidate' ? decision.etag : null },
      });
    });

    const results = await this.merge.loadEntities(group, pending.map((p) => p.load), {
      budgetAtMs: state.deadlineAtMs,
      signal: state.signal,
      requestId: state.requestId,
      mayFinishLate: !state.noCache,
    });
    const globalErrorsSeen = new Set<readonly GraphQLFormattedError[]>();
    const now = clock.now();
    pending.forEach((p, i) => {
      const result = results[i]!;
      this.remember(p, result);
      const { index, entry } = p;
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
    freshness.applyTo(request);
    return errors.length > 0 ? { data: { _entities: values }, errors } : { data: { _entities: values } };
  }

  /**
   * Stores a fetched entity, or renews a not-modified one, once per answer however many requests share it. A
   * call that passed this page's deadline but was left running is stored when it ends, for the pages after it.
   */
  private remember(p: PendingEntity, result: EntityResult): void {
    const { cache, serviceName, metrics } = this.options;
    if (!cache) return;
    if (result.kind === 'failed') {
      void result.late?.then((late) => this.remember(p, late));
      return;
    }
    if (result.stored) return;
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

  private entry(value: Record<string, unknown>, hint: CacheHint, etag: string | null, maxAgeSeconds: number, scope: Scope, identity: string): CacheEntry {
    return {
      value,
      storedAtMs: this.options.clock.now(),
      maxAgeSeconds,
      staleIfErrorSeconds: hint.staleIfErrorSeconds > 0 ? hint.staleIfErrorSeconds : this.options.staleIfErrorSeconds,
      etag,
      scope,
      identity,
    };
  }
}

/** The smallest freshness and the strictest scope of everything one fetch served, handed to Apollo's cache policy. */
class PolicyAccumulator {
  private maxAge = Number.POSITIVE_INFINITY;
  private scope: Scope = 'public';

  add(maxAgeSeconds: number, scope: Scope): void {
    this.maxAge = Math.min(this.maxAge, Math.max(0, Math.floor(maxAgeSeconds)));
    if (scope === 'private') this.scope = 'private';
  }

  applyTo(request: FetchRequest): void {
    if (this.maxAge !== Number.POSITIVE_INFINITY) request.restrictPolicy(this.maxAge, this.scope);
  }
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
