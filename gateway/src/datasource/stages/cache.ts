/**
 * The cache stage, first of the pipeline: it answers what it can from memory and stores what comes back.
 *
 * Root fetches: a kept answer is served while fresh when change events can evict it (ROOT_FETCH_CACHE=tagged, the
 * default: the answer carries tags and the gateway hears every change of its sources now), always (`max-age`), or
 * revalidated with If-None-Match on every page (`revalidate`, and `tagged` without events or while a source has
 * no position). An entry that may show a change no event will evict (cached before the gateway's last cut, see
 * events/changeCoverage.ts) is revalidated before it is served as fresh, root or entity alike.
 * Entity fetches: each representation is looked up on its own (subgraph + selection + typename + key fields, +
 * the caller for private data); fresh ones are served, stale ones with a validator are revalidated, the rest go
 * to the merge stage. Past max-age but within the subgraph's `stale-while-revalidate`, an entry is served at once
 * and refreshed in the background (one refresh per entry at a time). Answers are stored per entity as they arrive
 * (late ones too), tagged with the entities they show (entityTags.ts), errors never.
 * A failure becomes errors on exactly the fields that fetch would have filled (fieldErrors.ts), unless a stale
 * copy may stand in (stale-if-error, reported in `extensions.staleServed`).
 * A stream's entity misses are sent as the union of what the open streams select of that entity
 * (streamSelections.ts): each request gets its own part, and every united operation's part is stored.
 */
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { GraphQLFormattedError } from 'graphql';
import type { Clock } from '../../clock.js';
import { copyJson } from '../../jsonValues.js';
import { LRUCache } from 'lru-cache';
import { parseCacheControl, type CacheHint, type RequestDirectives } from '../../cache/cacheHints.js';
import { entityTag, rootAnswerTags, tagsIn, type EntityKeys } from '../../cache/entityTags.js';
import { entityCacheKey, entityIdentity, entityKeyer, stableJson, type CacheEntry, type EntityCache } from '../../cache/entityCache.js';
import type { SharedEntityCache } from '../../cache/sharedEntityCache.js';
import { canServeStaleOnError, decide } from '../../cache/freshness.js';
import type { ChangeCoverage } from '../../events/changeCoverage.js';
import { SubgraphFailure } from '../../errors.js';
import type { GatewayMetrics } from '../../metrics/registry.js';
import type { EntityAnswer, EntityResult } from '../entityAnswer.js';
import { entityFailureErrors, rootFailureErrors } from '../fieldErrors.js';
import type { FetchBudget } from '../budget.js';
import type { SubgraphFetch } from '../subgraphFetch.js';
import type { Dispatch } from '../pipeline.js';
import { REQUEST_ID_HEADER, type CallSignal, type GatewayRequest } from '../../request.js';
import type { EntityGroup, EntityLoad, EntityLoader } from './merge.js';
import { withHeaders, type TransportResponse } from './transport.js';
import { countOnSpan, inRecordedSpan } from '../../telemetry/tracing.js';
import type { EntityOperationUnion, EntityPart } from '../entityOperationUnion.js';
import { entityKindOf } from '../streamSelections.js';

export type RootFetchCacheMode = 'tagged' | 'revalidate' | 'max-age' | 'off';
export type Scope = 'public' | 'private';

/** One fetch of a query plan for one request: the prepared fetch, what the request brings to it, and its limits. */
export interface FetchCall {
  fetch: SubgraphFetch;
  request: GatewayRequest;
  budget: FetchBudget;
  /** Without `representations`. */
  variables: Record<string, unknown>;
  /** Only for entity fetches. */
  representations?: Record<string, unknown>[];
  /** What the subgraph request carries: the planner's headers and the caller's signed identity. */
  headers: Record<string, string>;
  /**
   * Who may share a subgraph call with whom: the planner's headers and the caller, not the signed identity
   * header itself, which renews.
   */
  sharingKey: string;
  /** The caller may serve the fetch again from memory (`FetchInput.servesAgain`). */
  servesAgain: boolean;
}

/** How long what a fetch served stays fresh, and for whom: the answer's Cache-Control may promise no more. */
export interface ServedPolicy {
  maxAgeSeconds: number;
  scope: Scope;
}

export interface FetchResult {
  response: GatewayGraphQLResponse;
  /** Null when the fetch served nothing that narrows the answer's policy. */
  policy: ServedPolicy | null;
  /** Set when the caller asked (`servesAgain`) and every entity came from a fresh public first-level entry: how to serve them again. */
  fromMemory?: ServedFromMemory;
}

/**
 * An entity fetch served wholly from fresh public entries of the first cache level, which its caller may serve
 * again without the fetch (execution/partMemo.ts) while this says so. Whoever is asked gets the same: the fetch
 * would serve the same entries to any caller.
 */
export interface ServedFromMemory {
  /**
   * Whether the fetch would serve the same entries to this request now: each is still the one cached under its key
   * (an eviction, a renewal or a newer answer replaces it) and fresh, the request does not ask to revalidate, and no
   * trace is recording (a traced request's fetches each have their span).
   */
  stillFresh(request: GatewayRequest): boolean;
  /** Counts the entities as served from memory again, for this request: their tags, and the cache's hit counts. */
  servedAgain(request: GatewayRequest): void;
}

export type FetchHandler = (call: FetchCall) => Promise<FetchResult>;

/** Entity misses go to the merge stage; root fetches, never merged, straight to the call stages. */
export interface CacheNext {
  entities: EntityLoader;
  root: Dispatch;
}

export interface CacheStageOptions {
  serviceName: string;
  /** Null turns caching off (every fetch goes to the subgraph). */
  cache: EntityCache | null;
  rootFetchCache: RootFetchCacheMode;
  /** Whether change events can evict entries (an invalidation source is configured). */
  evictedByEvents: boolean;
  /** Whether the gateway hears every change now, and since when: entries it cannot vouch for are revalidated. */
  coverage: ChangeCoverage;
  /**
   * The second level (Redis), shared by every gateway process: looked up on a first-level miss (its entry then
   * joins the first level), written whenever the first level stores or renews. Null when there is none.
   */
  shared: SharedEntityCache | null;
  /** The supergraph's entity keys, for tagging answers; read on every store, as the supergraph may change. */
  entityKeys: () => EntityKeys;
  /** How long past max-age a cached value may stand in for a failing subgraph, when the subgraph gives no stale-if-error. */
  staleIfErrorSeconds: number;
  clock: Clock;
  metrics: GatewayMetrics;
}

/** A representation that was not fresh in the cache: what it needs from the subgraph and where to store the answer. */
interface PendingEntity {
  /** The subgraph operation's text. */
  query: string;
  /** Its place among the fetch's distinct representations. */
  index: number;
  entry: CacheEntry | undefined;
  /** The fetch's cache key of a representation: one function per fetch, not one per entity. */
  keyOf: EntityKeyOf;
  identity: string | null;
  load: EntityLoad;
  /** Sent as part of a united operation (a stream's fetch): this operation's part, and the others' to store. */
  united: UnitedLoad | null;
}

/** A load sent as one part of a united operation (streamSelections.ts). */
interface UnitedLoad {
  own: EntityPart;
  /** The other operations of the union: where their parts of the answer are stored. */
  others: { part: EntityPart; keyOf: EntityKeyOf }[];
}

type EntityKeyOf = (representation: Record<string, unknown>, scope: string | null) => string;

/** Root responses live in the entity cache too, under a representation no entity can have. */
const ROOT_REPRESENTATION = { __typename: '__RootFetch' };
/** A refresh in the background gets this long; nobody waits for it. */
const BACKGROUND_BUDGET_MS = 10_000;

export function cacheStage(options: CacheStageOptions): (next: CacheNext) => FetchHandler {
  return (next) => {
    /**
     * Subgraph operations whose answers were never worth keeping (no max-age, no validator): their fetches skip the
     * lookups and the cache keys, which cost real CPU on a busy gateway. One cacheable answer takes them off.
     */
    const neverCached = new LRUCache<string, true>({ max: 5_000 });
    const refreshing = new Set<string>();

    const fetchRoot = async (call: FetchCall): Promise<FetchResult> => {
      const { cache, serviceName, rootFetchCache, clock, metrics } = options;
      const { request: state, fetch, variables } = call;
      const { operation: query, operationName } = fetch;
      const directives = directivesOf(call);
      const cacheable = cache !== null && rootFetchCache !== 'off' && fetch.cacheable && !neverCached.has(query);
      const keyFor = (scope: string | null) =>
        entityCacheKey({ subgraph: serviceName, operation: query, variables, representation: ROOT_REPRESENTATION, scope });
      const publicKey = cacheable ? keyFor(null) : null;
      const privateKey = cacheable && state.identity ? keyFor(state.identity) : null;
      const entry = (publicKey && cache!.get(publicKey)) || (privateKey && cache!.get(privateKey)) || (cacheable ? await fromShared([publicKey, privateKey]) : undefined);
      const decision = decide(entry, clock.now(), rootDirectives(entry, directives));
      if (cacheable) {
        metrics.cacheLookup(serviceName, 'root', decision.kind);
        countOnSpan(`gateway.cache.${decision.kind}`);
      }
      if (entry && decision.kind === 'fresh') {
        state.addCacheTags(entry.tags);
        return { response: ownCopy(entry.value) as GatewayGraphQLResponse, policy: { maxAgeSeconds: decision.remainingSeconds, scope: entry.scope } };
      }
      const send = (conditionalOn: string | null, operationEndsAtMs: number, signal: CallSignal | undefined) => next.root({
        kind: 'root',
        body: JSON.stringify({ query, variables, operationName }),
        headers: withHeaders(call.headers, conditionalOn ? { [REQUEST_ID_HEADER]: state.id, 'if-none-match': conditionalOn } : { [REQUEST_ID_HEADER]: state.id }),
        budget: { callTimeoutMs: call.budget.callTimeoutMs, operationEndsAtMs, lateAllowanceMs: 0 },
        signal,
        operationName,
        requestIds: [state.id],
      });
      const keyOf = (scope: Scope) => (scope === 'private' ? privateKey : publicKey);
      if (entry && decision.kind === 'staleWhileRevalidate') {
        const key = keyOf(entry.scope)!;
        refreshInBackground(key, async () => {
          const startedAtMs = clock.now();
          const outcome = await send(decision.etag, startedAtMs + BACKGROUND_BUDGET_MS, undefined);
          if (outcome.kind === 'answered') storeRoot(query, outcome.response, entry, keyOf, startedAtMs);
        });
        state.addCacheTags(entry.tags);
        return { response: ownCopy(entry.value) as GatewayGraphQLResponse, policy: { maxAgeSeconds: 0, scope: entry.scope } };
      }

      const startedAtMs = clock.now();
      const outcome = await send(decision.kind === 'revalidate' ? decision.etag : null, call.budget.operationEndsAtMs, state.signal);
      if (outcome.kind === 'failed') {
        const { failure } = outcome;
        const policy: ServedPolicy = { maxAgeSeconds: 0, scope: 'public' };
        if (entry && canServeStaleOnError(entry, clock.now(), directives)) {
          state.staleServed.push({ subgraph: serviceName, typename: null, ageSeconds: ageSeconds(entry, clock.now()) });
          countOnSpan('gateway.cache.stale_served');
          return { response: ownCopy(entry.value) as GatewayGraphQLResponse, policy };
        }
        return { response: { data: null, errors: rootFailureErrors(failure, fetch.rootResponseKeys) }, policy };
      }
      const { response } = outcome;
      const hint = parseCacheControl(response.headers['cache-control']);
      if (response.status === 304) {
        if (!entry || !publicKey) {
          const failure = new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', serviceName, `${serviceName} answered 304 to a request that was not conditional`);
          return { response: { data: null, errors: rootFailureErrors(failure, fetch.rootResponseKeys) }, policy: null };
        }
        storeRoot(query, response, entry, keyOf, startedAtMs);
        state.addCacheTags(entry.tags);
        return { response: ownCopy(entry.value) as GatewayGraphQLResponse, policy: { maxAgeSeconds: hint.maxAgeSeconds, scope: entry.scope } };
      }
      const body = response.body!;
      if (fetch.cacheable && cache !== null && rootFetchCache !== 'off') {
        const stored = storeRoot(query, response, undefined, (scope) => (scope === 'private' ? (state.identity ? keyFor(state.identity) : null) : keyFor(null)), startedAtMs);
        if (stored) state.addCacheTags(stored.tags);
      }
      return { response: body as GatewayGraphQLResponse, policy: { maxAgeSeconds: hint.noStore ? 0 : hint.maxAgeSeconds, scope: hint.scope } };
    };

    /**
     * Root answers are served from memory while fresh only where a change can evict them: in `tagged` mode that
     * takes an entry with tags and a gateway hearing every change of its sources now; otherwise they are revalidated
     * each time.
     */
    const rootDirectives = (entry: CacheEntry | undefined, state: RequestDirectives): RequestDirectives => {
      const { coverage } = options;
      switch (options.rootFetchCache) {
        case 'revalidate':
          return { noCache: true };
        case 'tagged':
          return { noCache: state.noCache || !options.evictedByEvents || !coverage.covered || !entry || entry.tags.length === 0 || coverage.mustRevalidate(entry) };
        case 'max-age':
        case 'off':
          return entryDirectives(entry, state);
        default:
          throw new Error(`unknown ROOT_FETCH_CACHE ${options.rootFetchCache satisfies never}`);
      }
    };

    /** The request's own directives, made `no-cache` for an entry that may show a change no event will evict. */
    const entryDirectives = (entry: CacheEntry | undefined, state: RequestDirectives): RequestDirectives => {
      return entry && !state.noCache && options.coverage.mustRevalidate(entry) ? { noCache: true } : state;
    };

    /** Stores a root answer (or renews the entry it did not modify); returns what was stored. */
    const storeRoot = (
      query: string,
      response: TransportResponse,
      entry: CacheEntry | undefined,
      keyOf: (scope: Scope) => string | null,
      startedAtMs: number,
    ): CacheEntry | undefined => {
      const cache = options.cache!;
      const hint = parseCacheControl(response.headers['cache-control']);
      if (response.status === 304) {
        const key = entry && keyOf(entry.scope);
        if (key) renew(key, hint.maxAgeSeconds, response.headers.etag ?? entry.etag, startedAtMs);
        return entry;
      }
      const body = response.body;
      const etag = response.headers.etag ?? null;
      if (!body || body.errors) return undefined;
      if (!worthStoring(hint, etag)) {
        neverCached.set(query, true);
        return undefined;
      }
      neverCached.delete(query);
      // Kept only where it can be used: served while fresh, or revalidated by its validator.
      const servedWhileFresh = options.rootFetchCache === 'max-age' || (options.rootFetchCache === 'tagged' && options.evictedByEvents);
      if (etag === null && !servedWhileFresh) return undefined;
      const key = keyOf(hint.scope);
      if (!key) return undefined;
      const tags = tagsIn(options.entityKeys(), body.data);
      for (const tag of rootAnswerTags(body.extensions)) tags.add(tag);
      const stored = makeEntry(ownCopy(body as Record<string, unknown>), hint, etag, hint.maxAgeSeconds, hint.scope, [...tags]);
      return store(key, stored, startedAtMs) ? stored : undefined;
    };

    const fetchEntities = async (call: FetchCall): Promise<FetchResult> => {
      const { cache, serviceName, metrics, clock } = options;
      const { request: state, variables } = call;
      const query = call.fetch.operation;
      const directives = directivesOf(call);
      const representations = call.representations ?? [];
      const startedAtMs = clock.now();
      const errors: GraphQLFormattedError[] = [];
      const freshness = new PolicyAccumulator();
      metrics.entity(serviceName, 'requested', representations.length);
      const lookups = cache !== null && !neverCached.has(query);
      // A page names the same entity in many places (a review's author on every review): each distinct representation
      // is looked up, loaded and stored once, and every place gets its own copy at the end.
      const { distinct, distinctOf } = distinctRepresentations(representations);
      metrics.entity(serviceName, 'deduplicated', representations.length - distinct.length);

      const variablesJson = stableJson(variables);
      const keyOf: EntityKeyOf = entityKeyer(serviceName, query, variablesJson);
      const union = unionFor(call, distinct);
      const sent = union?.operation ?? query;
      const group: EntityGroup = {
        key: `${sent}\u0000${variablesJson}\u0000${call.sharingKey}`,
        query: sent,
        operationName: union ? union.operationName : call.fetch.operationName,
        variables,
        headers: call.headers,
        mayFinishLate: state.identity === null,
      };
      const united: UnitedLoad | null = union && {
        own: union.parts.get(query)!,
        others: [...union.parts].filter(([operation]) => operation !== query).map(([operation, part]) => ({
          part,
          keyOf: entityKeyer(serviceName, operation, variablesJson),
        })),
      };
      // Where nothing is looked up (no cache, or answers never worth keeping), every entity is a miss at no cost.
      const publicKeys = lookups ? distinct.map(({ representation }) => keyOf(representation, null)) : [];
      const firstLevel = lookups ? distinct.map(({ representation }, index) =>
        cache.get(publicKeys[index]!) ?? (state.identity ? cache.get(keyOf(representation, state.identity)) : undefined)) : [];
      const secondLevel = lookups ? await manyFromShared(firstLevel, distinct.map((d) => d.representation), keyOf, state.identity) : [];

      /** Per distinct representation: what its places get (a value none of them shares yet), or why they get nothing. */
      const outcomes: EntityOutcome[] = new Array(distinct.length);
      const pending: PendingEntity[] = [];
      // Counted per fetch, not per entity: each increment is a tally's two map lookups (metrics/registry.ts).
      const decided = { fresh: 0, staleWhileRevalidate: 0, revalidate: 0, miss: 0 };
      let hits = 0;
      distinct.forEach(({ representation, json }, index) => {
        const entry = firstLevel[index] ?? secondLevel[index];
        const decision = decide(entry, startedAtMs, entryDirectives(entry, directives));
        if (lookups) {
          decided[decision.kind]++;
          countOnSpan(`gateway.cache.${decision.kind}`);
        }
        if (entry && (decision.kind === 'fresh' || decision.kind === 'staleWhileRevalidate')) {
          outcomes[index] = { kind: 'value', value: ownCopy(entry.value) };
          freshness.add(decision.kind === 'fresh' ? decision.remainingSeconds : 0, entry.scope);
          state.addCacheTags(entry.tags);
          hits += distinct[index]!.places;
          if (decision.kind === 'staleWhileRevalidate') {
            refreshEntityInBackground(group, { query, index, entry, keyOf, identity: state.identity, load: loadOf(representation, json, decision.etag), united }, call.budget, state.id);
          }
          return;
        }
        pending.push({ query, index, entry, keyOf, identity: state.identity, load: loadOf(representation, json, decision.kind === 'revalidate' ? decision.etag : null), united });
      });
      for (const [kind, count] of Object.entries(decided)) metrics.cacheLookup(serviceName, 'entity', kind, count);
      metrics.entity(serviceName, 'cache_hit', hits);

      const fromMemory = call.servesAgain && lookups && distinct.length > 0 && decided.fresh === distinct.length && !united && firstLevel.every((entry) => entry?.scope === 'public')
        ? servedFromMemory(publicKeys, firstLevel as CacheEntry[], representations.length) : undefined;
      // Every entity served from memory: nothing to send, so nothing below is entered.
      const results = pending.length === 0 ? [] : await next.entities(group, pending.map((p) => p.load), {
        budget: call.budget,
        signal: state.signal,
        requestId: state.id,
      });
      const now = clock.now();
      const unanswered = { stale_served: 0, failed: 0 };
      pending.forEach((p, i) => {
        const result = results[i]!;
        const stored = remember(p, result, startedAtMs);
        if (stored) state.addCacheTags(stored.tags);
        const { index, entry } = p;
        if (result.kind === 'failed') {
          freshness.add(0, 'public');
          outcomes[index] = entry && canServeStaleOnError(entry, now, directives)
            ? { kind: 'stale', value: ownCopy(entry.value), ageSeconds: ageSeconds(entry, now) }
            : { kind: 'failed', failure: result.failure };
          // What failed shows nothing an eviction would name: its own tag lets its late arrival complete the answer.
          if (outcomes[index].kind === 'failed') state.addCacheTags([ownTag(p.load.representation)]);
          unanswered[outcomes[index].kind === 'stale' ? 'stale_served' : 'failed'] += distinct[index]!.places;
          return;
        }
        if (result.notModified && entry) {
          outcomes[index] = { kind: 'value', value: ownCopy(entry.value), globalErrors: result.globalErrors };
          freshness.add(entityMaxAge(result), entry.scope);
          return;
        }
        if (p.united) {
          // Its own part is cut from the united answer, which is never handed out itself; it is still taken, so a
          // request sharing the call unwidened copies it or, as its last taker, takes it.
          --result.consumers;
          const { own } = p.united;
          const errors = result.errors.filter(({ rest }) => rest.length === 0 || own.selects(String(rest[0])));
          outcomes[index] = { kind: 'value', value: result.value && own.cut(result.value), globalErrors: result.globalErrors, errors };
        } else {
          outcomes[index] = { kind: 'value', value: result.value && (--result.consumers > 0 ? ownCopy(result.value) : result.value), globalErrors: result.globalErrors, errors: result.errors };
        }
        freshness.add(entityMaxAge(result), result.hint.scope);
      });
      metrics.entity(serviceName, 'stale_served', unanswered.stale_served);
      metrics.entity(serviceName, 'failed', unanswered.failed);

      // Every place in the order asked, so errors come in the order they would without the sharing above.
      const values: (Record<string, unknown> | null)[] = new Array(representations.length);
      const globalErrorsSeen = new Set<readonly GraphQLFormattedError[]>();
      representations.forEach((representation, place) => {
        const index = distinctOf[place]!;
        const outcome = outcomes[index]!;
        if (outcome.kind === 'failed') {
          values[place] = null;
          errors.push(...entityFailureErrors(outcome.failure, [place]));
          return;
        }
        // The last place to be filled takes the value itself, every other a copy.
        values[place] = outcome.value && (--distinct[index]!.places > 0 ? ownCopy(outcome.value) : outcome.value);
        if (outcome.kind === 'stale') {
          state.staleServed.push({ subgraph: serviceName, typename: typenameOf(representation), ageSeconds: outcome.ageSeconds });
          countOnSpan('gateway.cache.stale_served');
          return;
        }
        if (outcome.globalErrors && !globalErrorsSeen.has(outcome.globalErrors)) {
          globalErrorsSeen.add(outcome.globalErrors);
          errors.push(...outcome.globalErrors);
        }
        for (const { error, rest } of outcome.errors ?? []) errors.push({ ...error, path: ['_entities', place, ...rest] });
      });
      return {
        response: errors.length > 0 ? { data: { _entities: values }, errors } : { data: { _entities: values } },
        policy: freshness.policy(),
        ...(fromMemory && !inRecordedSpan() ? { fromMemory } : {}),
      };
    };

    /**
     * A fetch's fresh public entries (distinct representations, found under their public keys), for serving again.
     * Checked as a lookup would decide them; counted as a lookup counts them, once per fetch.
     */
    const servedFromMemory = (keys: readonly string[], entries: readonly CacheEntry[], places: number): ServedFromMemory => ({
      stillFresh(request) {
        if (request.noCache || inRecordedSpan()) return false;
        const now = options.clock.now();
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i]!;
          if (options.cache!.get(keys[i]!) !== entry || decide(entry, now, entryDirectives(entry, SERVED_AGAIN)).kind !== 'fresh') return false;
        }
        return true;
      },
      servedAgain(request) {
        const { metrics, serviceName } = options;
        metrics.entity(serviceName, 'requested', places);
        metrics.entity(serviceName, 'deduplicated', places - entries.length);
        metrics.cacheLookup(serviceName, 'entity', 'fresh', entries.length);
        metrics.entity(serviceName, 'cache_hit', places);
        for (const entry of entries) request.addCacheTags(entry.tags);
      },
    });

    /** One refresh per entry at a time; it waits for nobody and nobody waits for it. */
    const refreshInBackground = (key: string, refresh: () => Promise<void>): void => {
      if (refreshing.has(key)) return;
      refreshing.add(key);
      options.metrics.cacheLookup(options.serviceName, 'background', 'refresh');
      void refresh().catch(() => undefined).finally(() => refreshing.delete(key));
    };

    const refreshEntityInBackground = (group: EntityGroup, p: PendingEntity, budget: FetchBudget, requestId: string): void => {
      const key = p.keyOf(p.load.representation, p.entry!.scope === 'private' ? p.identity : null);
      refreshInBackground(key, async () => {
        const startedAtMs = options.clock.now();
        // Nobody waits for it: no page budget, and a budget of its own from now.
        const [result] = await next.entities(group, [p.load], {
          budget: { ...budget, operationEndsAtMs: startedAtMs + BACKGROUND_BUDGET_MS, pageBudgetMs: null, pageEndsAtMs: null },
          requestId,
        });
        remember(p, result!, startedAtMs);
      });
    };

    /**
     * Stores a fetched entity, or renews a not-modified one, once per answer however many requests share it. A
     * call that passed this page's deadline but was left running is stored when it ends, for the pages after it.
     */
    const remember = (p: PendingEntity, result: EntityResult, startedAtMs: number): CacheEntry | undefined => {
      const { cache, serviceName, metrics } = options;
      if (!cache) return undefined;
      if (result.kind === 'failed') {
        void result.late?.then((late) => {
          if (remember(p, late, startedAtMs)) cache.arrived([ownTag(p.load.representation)]);
        });
        return undefined;
      }
      if (result.stored) return undefined;
      const maxAgeSeconds = entityMaxAge(result);
      if (result.notModified) {
        if (!p.entry) return undefined;
        const key = p.keyOf(p.load.representation, p.entry.scope === 'private' ? p.identity : null);
        if (p.entry.scope === 'private' && !p.identity) return undefined;
        renew(key, maxAgeSeconds, result.etag ?? p.entry.etag, startedAtMs);
        metrics.notModifiedBytesSaved.inc({ subgraph: serviceName }, JSON.stringify(p.entry.value).length);
        result.stored = true;
        return p.entry;
      }
      // Errors are never cached, whether about this entity or about the whole answer.
      if (!result.value || result.errors.length > 0 || result.globalErrors.length > 0) return undefined;
      if (!worthStoring(result.hint, result.etag, maxAgeSeconds)) {
        neverCached.set(p.query, true);
        return undefined;
      }
      neverCached.delete(p.query);
      if (result.hint.scope === 'private' && !p.identity) return undefined;
      const representation = p.load.representation;
      const scope = result.hint.scope === 'private' ? p.identity : null;
      const entryOf = (value: Record<string, unknown>): CacheEntry => {
        const keys = options.entityKeys();
        const tags = tagsIn(keys, value);
        tags.add(ownTag(representation));
        for (const tag of result.subgraphTags) tags.add(tag);
        return makeEntry(value, result.hint, result.etag, maxAgeSeconds, result.hint.scope, [...tags]);
      };
      result.stored = true;
      // A united answer is stored as each of its operations would have been answered, for every one of them.
      for (const other of p.united?.others ?? []) store(other.keyOf(representation, scope), entryOf(other.part.cut(result.value)), startedAtMs);
      const stored = entryOf(p.united ? p.united.own.cut(result.value) : ownCopy(result.value));
      return store(p.keyOf(representation, scope), stored, startedAtMs) ? stored : undefined;
    };

    /** The tag naming the entity a representation stands for. */
    const ownTag = (representation: Record<string, unknown>): string =>
      entityTag(options.entityKeys(), representation) ?? entityIdentity(typenameOf(representation) ?? '', keyFieldsOf(representation));

    /** A stream's fetch of one kind of entity asks for what every open stream selects of it (streamSelections.ts). */
    const unionFor = (call: FetchCall, distinct: readonly DistinctRepresentation[]): EntityOperationUnion | null => {
      const selections = call.request.streamSelections;
      if (!selections || Object.keys(call.variables).length > 0) return null;
      const representation = entityKindOf(distinct);
      return representation ? selections.widen(options.serviceName, call.fetch.operation, representation) : null;
    };

    /**
     * Both levels: the first decides (size, the race guard), the second follows what the first kept. A fetch that
     * started before the gateway's last cut is not kept: it may have read what a lost change changed.
     */
    const store = (key: string, entry: CacheEntry, fetchStartedAtMs: number): boolean => {
      if (!options.coverage.mayStore(fetchStartedAtMs)) return false;
      if (!options.cache!.set(key, entry, fetchStartedAtMs)) return false;
      options.shared?.set(key, entry);
      return true;
    };

    const renew = (key: string, maxAgeSeconds: number, etag: string | null, fetchStartedAtMs: number): void => {
      const { cache, coverage, shared } = options;
      if (!coverage.mayStore(fetchStartedAtMs)) return;
      cache!.renew(key, maxAgeSeconds, etag, coverage.covered);
      const renewed = cache!.get(key);
      if (renewed) shared?.set(key, renewed);
    };

    /** A first-level miss asks the second level; what it has joins the first level. */
    const fromShared = async (keys: readonly (string | null)[]): Promise<CacheEntry | undefined> => {
      const { shared, cache } = options;
      if (!shared) return undefined;
      for (const key of keys) {
        if (!key) continue;
        const entry = await shared.get(key);
        if (entry) {
          cache!.set(key, entry);
          return entry;
        }
      }
      return undefined;
    };

    /** The same for a whole entity fetch, in one round trip to the second level. */
    const manyFromShared = async (
      firstLevel: readonly (CacheEntry | undefined)[],
      representations: readonly Record<string, unknown>[],
      keyOf: EntityKeyOf,
      identity: string | null,
    ): Promise<(CacheEntry | undefined)[]> => {
      const { shared, cache } = options;
      if (!shared || firstLevel.every((entry) => entry !== undefined)) return [];
      const wanted: { index: number; key: string }[] = [];
      firstLevel.forEach((entry, index) => {
        if (entry) return;
        wanted.push({ index, key: keyOf(representations[index]!, null) });
        if (identity) wanted.push({ index, key: keyOf(representations[index]!, identity) });
      });
      const found = await shared.getMany(wanted.map((w) => w.key));
      const entries: (CacheEntry | undefined)[] = [];
      wanted.forEach(({ index, key }, i) => {
        const entry = found[i];
        if (!entry || entries[index]) return;
        cache!.set(key, entry);
        entries[index] = entry;
      });
      return entries;
    };

    const makeEntry = (value: Record<string, unknown>, hint: CacheHint, etag: string | null, maxAgeSeconds: number, scope: Scope, tags: string[]): CacheEntry => {
      return {
        value,
        storedAtMs: options.clock.now(),
        maxAgeSeconds,
        staleIfErrorSeconds: hint.staleIfErrorSeconds > 0 ? hint.staleIfErrorSeconds : options.staleIfErrorSeconds,
        staleWhileRevalidateSeconds: hint.staleWhileRevalidateSeconds,
        etag,
        scope,
        tags,
        evictable: options.coverage.covered,
      };
    };

    return (call) => (call.fetch.kind === 'entities' && call.representations ? fetchEntities(call) : fetchRoot(call));
  };
}

/** The smallest freshness and the strictest scope of everything one fetch served, handed to Apollo's cache policy. */
class PolicyAccumulator {
  private maxAge = Number.POSITIVE_INFINITY;
  private scope: Scope = 'public';

  add(maxAgeSeconds: number, scope: Scope): void {
    this.maxAge = Math.min(this.maxAge, Math.max(0, Math.floor(maxAgeSeconds)));
    if (scope === 'private') this.scope = 'private';
  }

  /** Null when nothing was added. */
  policy(): ServedPolicy | null {
    return this.maxAge === Number.POSITIVE_INFINITY ? null : { maxAgeSeconds: this.maxAge, scope: this.scope };
  }
}

/**
 * ApolloGateway merges later fetches' results INTO the objects a data source returns (deepMerge, by reference for
 * nested objects). A cached value, or an answer shared by several requests, must therefore never be handed out
 * itself: every request gets its own copy, and the cache keeps one nobody else holds.
 */
function ownCopy<T>(value: T): T {
  return copyJson(value);
}

/** An entity's freshness: its own max-age from the protocol when the subgraph gives one, else the response's. */
function entityMaxAge(answer: EntityAnswer): number {
  return answer.hint.noStore ? 0 : (answer.maxAgeSeconds ?? answer.hint.maxAgeSeconds);
}

function worthStoring(hint: CacheHint, etag: string | null, maxAgeSeconds = hint.maxAgeSeconds): boolean {
  // With a validator even max-age=0 is worth keeping: the next read revalidates instead of refetching.
  return !hint.noStore && (maxAgeSeconds > 0 || etag !== null);
}


/** A request that `stillFresh` lets through asks for no revalidation. */
const SERVED_AGAIN: RequestDirectives = { noCache: false };

/** The client's `no-cache`, or a mutation's read-your-writes: nothing is served from memory without asking. */
function directivesOf(call: FetchCall): RequestDirectives {
  return { noCache: call.request.noCache || call.fetch.revalidate };
}

function loadOf(representation: Record<string, unknown>, json: string, ifNoneMatch: string | null): EntityLoad {
  return { representation, representationKey: json, ifNoneMatch };
}

/** One distinct representation of a fetch: its JSON, and how many places of the fetch ask for it (counted down as they are filled). */
interface DistinctRepresentation {
  representation: Record<string, unknown>;
  json: string;
  places: number;
}

/**
 * The distinct representations of a fetch, and which one each place asks for. A fetch's representations are all
 * built by one selection set, so their keys come in one order and plain JSON identifies them (the merge stage
 * shares loads across requests by the same JSON, and writes the call's body from it).
 */
function distinctRepresentations(representations: readonly Record<string, unknown>[]): { distinct: DistinctRepresentation[]; distinctOf: number[] } {
  const distinct: DistinctRepresentation[] = [];
  const distinctOf = new Array<number>(representations.length);
  const seen = new Map<string, number>();
  representations.forEach((representation, place) => {
    const json = JSON.stringify(representation);
    let index = seen.get(json);
    if (index === undefined) {
      index = distinct.length;
      seen.set(json, index);
      distinct.push({ representation, json, places: 0 });
    }
    distinct[index]!.places++;
    distinctOf[place] = index;
  });
  return { distinct, distinctOf };
}

/** What every place of one distinct representation gets: a value (its last place takes it, the others copies), or a failure. */
type EntityOutcome =
  | { kind: 'value'; value: Record<string, unknown> | null; globalErrors?: readonly GraphQLFormattedError[]; errors?: EntityAnswer['errors'] }
  | { kind: 'stale'; value: Record<string, unknown>; ageSeconds: number }
  | { kind: 'failed'; failure: SubgraphFailure };

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
