/**
 * What the streaming transports (WebSocket and SSE, webSocketTransport.ts and sseTransport.ts) run, whatever the
 * transport: one operation sent by one caller, checked as the HTTP path checks it, then
 *  - a subscription: planned, made to its subgraph once per group of identical subscriptions (same operation,
 *    variables and caller), each event completed through the read path (subscriptionPlan.ts) and pushed to every
 *    subscriber of the group;
 *  - a query marked `@live`: answered at once, then again when what it showed changes (liveQueries.ts);
 *  - any other query: answered once, as over HTTP.
 * A mutation is refused: it is sent over HTTP, where its answer is never shared or replayed.
 *
 * Checks, before anything runs: the persisted-query gate (manifest ids, the safelist, the query limits, as for HTTP:
 * `@live` operations may be in the manifest and sent by id), the schema (with `@live`), the operation's variables,
 * and the limits on streams per caller and in all. Every refusal is a GraphQL error for that operation alone.
 */
import { randomUUID } from 'node:crypto';
import type { Schema } from '@apollo/federation-internals';
import {
  GraphQLError, GraphQLSchema, getOperationAST, getVariableValues, parse, print, validate, visit,
  type DocumentNode, type OperationDefinitionNode,
} from 'graphql';
import type { Clock } from '../clock.js';
import { stableJson } from '../cache/entityCache.js';
import type { ReadPath } from '../datasource/readPath.js';
import { StreamSelections, type StreamSelectionSet } from '../datasource/streamSelections.js';
import type { GatewayInternals } from '../execution/gatewayInternals.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { ManifestOperation } from '../persisted/manifest.js';
import { prepareOnePerTurn } from '../persisted/manifestWarmUp.js';
import type { PersistedQueryGate } from '../persisted/persistedQueries.js';
import { Cancellation, GatewayRequest, type Caller } from '../request.js';
import { isLive, withLiveDirective, withoutLive } from '../validation/directiveRules.js';
import { LiveQueries, type LiveAnswer } from './liveQueries.js';
import { SharedStreams, type PushIterator, type StartSource } from './sharedStreams.js';
import { prepareSubscription, resolveEvent, shaperFor, upstreamVariables, type PreparedSubscription } from './subscriptionPlan.js';
import { UpstreamSubscriptions, type UpstreamOptions } from './upstreamSubscriptions.js';

export type StreamTransport = 'ws' | 'sse';
export type StreamResult = LiveAnswer['result'] & { extensions?: Record<string, unknown> };
export type StreamKind = 'subscription' | 'live' | 'query';

/** The parameters of one operation as a transport received them (not yet checked). */
export interface StreamParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

/** An operation checked and ready to run. */
export interface PreparedStream {
  kind: StreamKind;
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  /** A subscription or a live query: its results, until the client stops; another query: its answer. */
  run(): Promise<StreamResult | PushIterator<StreamResult>>;
}

export interface StreamLimits {
  /** Streams one identified caller may have open at once, over every connection and replica process (per process). */
  perCaller: number;
  /** Streams this process serves at once. */
  total: number;
  /** Results a subscriber may leave unread before its stream is ended. */
  maxQueued: number;
  /** The shortest time between two runs of one live query. */
  liveMinIntervalMs: number;
  /** The first wait before running again a live answer with a part that failed at its subgraph. */
  liveRetryMs: number;
}

export interface OperationStreamsDeps {
  gate: PersistedQueryGate;
  readPath: ReadPath;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  limits: StreamLimits;
  operationBudgetMs: number;
  upstream: Pick<UpstreamOptions, 'retries' | 'retryBaseMs' | 'protocolOf'>;
  /**
   * Runs a query as HTTP would (Apollo Server, the executor, the read path), and says what its answer showed; a live
   * query's run brings its stream's selections.
   */
  runQuery(params: { query: string; operationName?: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> }, caller: Caller | null, selections?: StreamSelectionSet): Promise<LiveAnswer>;
  /** The persisted query manifest's operations whose subscriptions are planned when a supergraph loads (PLAN_WARMUP). */
  warm: readonly ManifestOperation[];
}

export { LIVE_DIRECTIVE } from '../validation/directiveRules.js';

interface Loaded {
  internals: GatewayInternals;
  /** The API schema operations are validated against: with `@defer` (refused here, with a clear error) and `@live`. */
  schema: GraphQLSchema;
  subscriptions: Map<string, PreparedSubscription | GraphQLError>;
}

/** The errors an operation is refused with, for it alone. */
type Refusal = { errors: readonly GraphQLError[] };

/** An operation that passed every check, with what running it needs. */
interface CheckedOperation {
  document: DocumentNode;
  definition: OperationDefinitionNode;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  /** The text to run (a persisted query's, when sent by id). */
  query: string;
  extensions: Record<string, unknown> | undefined;
}

/** Subscriptions prepared per supergraph; past this, the oldest is prepared again when asked. */
const PREPARED_SUBSCRIPTIONS = 1_000;

/** A prepared subscription's key: its text as printed, and the operation named (a document may hold several). */
function subscriptionKey(printed: string, operationName: string | undefined): string {
  return `${printed}\u0000${operationName ?? ''}`;
}

export class OperationStreams {
  private loaded: Loaded | null = null;
  private readonly upstream: UpstreamSubscriptions;
  private readonly live: LiveQueries;
  private readonly subscriptionGroups: SharedStreams<StreamResult>;
  private readonly liveGroups: SharedStreams<StreamResult>;
  private readonly perCaller = new Map<string, number>();
  /** What the open streams select of each entity: a change they all show costs one subgraph call. */
  private readonly selections = new StreamSelections();
  private open = 0;

  constructor(private readonly deps: OperationStreamsDeps) {
    const { metrics, clock, logger, limits, readPath } = deps;
    this.upstream = new UpstreamSubscriptions({ urlOf: (name) => readPath.subgraphUrl(name), clock, logger, ...deps.upstream });
    this.live = new LiveQueries({ clock, minIntervalMs: limits.liveMinIntervalMs, retryMs: limits.liveRetryMs, metrics });
    const onSlowConsumer = () => metrics.streamDrops.inc({ reason: 'slow_consumer' });
    this.subscriptionGroups = new SharedStreams({ maxQueued: limits.maxQueued, onSlowConsumer, onDelivered: (n) => metrics.streamPushes.inc({ kind: 'subscription' }, n) });
    this.liveGroups = new SharedStreams({ maxQueued: limits.maxQueued, onSlowConsumer, onDelivered: (n) => metrics.streamPushes.inc({ kind: 'live' }, n) });
    readPath.cache?.onChange((tags) => this.live.changed(tags));
  }

  /** The supergraph loaded now (and each one after it); resolves once the manifest's subscriptions are planned for it. */
  supergraphLoaded(internals: GatewayInternals, apiSchema: Schema): Promise<void> {
    const base = apiSchema.toGraphQLJSSchema({ includeDefer: true });
    const loaded: Loaded = { internals, schema: withLiveDirective(base), subscriptions: new Map() };
    this.loaded = loaded;
    return this.prepareAhead(loaded);
  }

  /**
   * Plans the manifest's subscriptions for a supergraph just loaded, one per turn, as the executor prepares the
   * manifest's queries (persisted/manifestWarmUp.ts): the first subscriber after a start or an update plans nothing.
   */
  private async prepareAhead(loaded: Loaded): Promise<void> {
    const startedAtMs = this.deps.clock.now();
    const subscriptions = this.deps.warm.filter(({ type }) => type === 'subscription');
    const prepared = await prepareOnePerTurn(subscriptions, () => this.loaded === loaded, ({ name, body }) => {
      const document = parse(body);
      let plan: PreparedSubscription | GraphQLError;
      try {
        plan = prepareSubscription(loaded.internals, document, name);
      } catch (error) {
        // A warm-up never keeps the gateway from starting: this one is left to its first subscriber, as without it.
        this.deps.logger.warn('could not prepare a subscription of the persisted query manifest; it is planned when first subscribed to', { operation: name, error: String((error as Error)?.message ?? error) });
        return false;
      }
      // Under the keys its requests look it up by: a request by id may name its operation or not.
      const printed = print(document);
      loaded.subscriptions.set(subscriptionKey(printed, name), plan);
      loaded.subscriptions.set(subscriptionKey(printed, undefined), plan);
      return true;
    });
    if (prepared) this.deps.logger.info('prepared the persisted query manifest\'s subscriptions for the supergraph loaded', { subscriptions: prepared, ms: Math.round(this.deps.clock.now() - startedAtMs) });
  }

  /** Streams open now. */
  get size(): number {
    return this.open;
  }

  /** Checks one operation; errors for it alone, or the operation ready to run. */
  prepare(params: StreamParams, caller: Caller | null, transport: StreamTransport): Refusal | PreparedStream {
    const loaded = this.loaded;
    if (!loaded) return refused('The gateway is still loading its supergraph', 'GATEWAY_NOT_READY');
    const checked = this.check(params, loaded);
    if ('errors' in checked) return checked;
    if (checked.definition.operation === 'subscription') return this.prepareSubscription(loaded, checked, caller, transport);
    if (isLive(checked.definition)) return this.prepareLive(checked, caller, transport);
    const { document, operationName, variables, query, extensions } = checked;
    return {
      kind: 'query',
      document,
      operationName,
      variables,
      run: async () => (await this.deps.runQuery({ query, variables, ...(operationName ? { operationName } : {}), ...(extensions ? { extensions } : {}) }, caller)).result,
    };
  }

  /** What HTTP checks, in the same order: the persisted-query gate, the text, the schema, the operation, its variables. */
  private check(params: StreamParams, loaded: Loaded): Refusal | CheckedOperation {
    // graphql-ws's subscribe message must carry a query text: an empty one beside a persisted query id stands for none.
    const sent: StreamParams = params.query === '' && isObject(params.extensions) && 'persistedQuery' in params.extensions ? { ...params, query: undefined } : params;
    const gated = this.deps.gate.prepare({ method: 'POST', search: '', body: { ...sent } });
    if (gated.kind === 'refuse') return refused(gated.refusal.message, gated.refusal.code);
    const body = gated.body as Record<string, unknown>;
    if (typeof body.query !== 'string') return refused('The operation has no query text (send `query`, or a persisted query id)', 'BAD_REQUEST');
    if (body.variables !== undefined && body.variables !== null && !isObject(body.variables)) return refused('`variables` must be an object', 'BAD_REQUEST');
    const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (error) {
      return { errors: [error as GraphQLError] };
    }
    const invalid = validate(loaded.schema, document);
    if (invalid.length > 0) return { errors: invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) };
    const definition = getOperationAST(document, operationName);
    if (!definition) return refused(operationName ? `No operation named "${operationName}"` : 'The document has several operations: name the one to run (operationName)', 'BAD_REQUEST');
    if (definition.operation === 'mutation') return refused('Mutations are sent over HTTP (POST /graphql), not over a streaming transport', 'BAD_REQUEST');
    if (hasDirective(document, 'defer')) return refused('@defer is served over HTTP (Accept: multipart/mixed), not over a streaming transport', 'BAD_REQUEST');
    const { errors, coerced } = getVariableValues(loaded.internals.schema, definition.variableDefinitions ?? [], (body.variables ?? {}) as Record<string, unknown>);
    if (errors) return { errors: errors.map((error) => withCode(error, 'BAD_USER_INPUT')) };
    const variables = { ...(body.variables as Record<string, unknown> | undefined), ...coerced };
    return { document, definition, operationName, variables, query: body.query, extensions: body.extensions as Record<string, unknown> | undefined };
  }

  /** A subscription, planned once per text (and supergraph), joined to its group of identical subscribers. */
  private prepareSubscription(loaded: Loaded, checked: CheckedOperation, caller: Caller | null, transport: StreamTransport): Refusal | PreparedStream {
    const { document, operationName, variables } = checked;
    const key = subscriptionKey(print(document), operationName);
    let prepared = loaded.subscriptions.get(key);
    if (!prepared) {
      prepared = prepareSubscription(loaded.internals, document, operationName);
      if (loaded.subscriptions.size >= PREPARED_SUBSCRIPTIONS) loaded.subscriptions.delete(loaded.subscriptions.keys().next().value!);
      loaded.subscriptions.set(key, prepared);
    }
    if (prepared instanceof GraphQLError) return { errors: [prepared] };
    return this.stream('subscription', transport, caller, { document, operationName, variables }, this.subscribe(loaded.internals, prepared, key, variables, caller));
  }

  /** A live query, run once per group of identical viewers (the same text without `@live`, variables and caller). */
  private prepareLive(checked: CheckedOperation, caller: Caller | null, transport: StreamTransport): Refusal | PreparedStream {
    if (!this.deps.readPath.cache) return refused('Live queries follow the evictions of the entity cache, which is off here (ENTITY_CACHE=false)', 'LIVE_QUERIES_UNAVAILABLE');
    const { document, operationName, variables, extensions } = checked;
    const query = print(withoutLive(document));
    const key = `${query}\u0000${operationName ?? ''}\u0000${stableJson(variables)}\u0000${caller?.identity ?? ''}`;
    const source = this.withSelections((selections) => this.live.source(() =>
      this.deps.runQuery({ query, variables, ...(operationName ? { operationName } : {}), ...(extensions ? { extensions } : {}) }, caller, selections)));
    return this.stream('live', transport, caller, { document, operationName, variables }, (onLeave) => this.liveGroups.join(key, source, { replayLast: true, onLeave }));
  }

  /** Ends every stream with `error` and closes every subgraph subscription (the gateway is stopping). */
  endAll(error: Error): void {
    this.deps.metrics.streamDrops.inc({ reason: 'shutdown' }, this.open);
    this.subscriptionGroups.endAll(error);
    this.liveGroups.endAll(error);
  }

  close(): Promise<void> {
    return this.upstream.close();
  }

  /** A stream, counted against the limits from when it opens to when it ends, however it ends. */
  private stream(kind: 'subscription' | 'live', transport: StreamTransport, caller: Caller | null, parts: Pick<PreparedStream, 'document' | 'operationName' | 'variables'>, join: (onLeave: () => void) => PushIterator<StreamResult>): PreparedStream | Refusal {
    const { limits, metrics } = this.deps;
    const identity = caller?.identity ?? null;
    if (this.open >= limits.total) {
      metrics.streamDrops.inc({ reason: 'limit' });
      return refused(`This gateway serves at most ${limits.total} streams at once (STREAMS_MAX); try again later`, 'TOO_MANY_STREAMS');
    }
    if (identity !== null && (this.perCaller.get(identity) ?? 0) >= limits.perCaller) {
      metrics.streamDrops.inc({ reason: 'limit' });
      return refused(`A caller may have at most ${limits.perCaller} streams open at once (STREAMS_MAX_PER_CALLER)`, 'TOO_MANY_STREAMS');
    }
    return {
      kind,
      ...parts,
      run: async () => {
        this.open += 1;
        if (identity !== null) this.perCaller.set(identity, (this.perCaller.get(identity) ?? 0) + 1);
        metrics.streamsOpen.inc({ transport, kind });
        return join(() => {
          this.open -= 1;
          if (identity !== null) {
            const left = (this.perCaller.get(identity) ?? 1) - 1;
            if (left > 0) this.perCaller.set(identity, left);
            else this.perCaller.delete(identity);
          }
          metrics.streamsOpen.dec({ transport, kind });
        });
      },
    };
  }

  /** Joins (or starts) the group of identical subscriptions. */
  private subscribe(internals: GatewayInternals, prepared: PreparedSubscription, operationKey: string, variables: Record<string, unknown>, caller: Caller | null): (onLeave: () => void) => PushIterator<StreamResult> {
    const key = `${operationKey}\u0000${stableJson(variables)}\u0000${caller?.identity ?? ''}`;
    const source = this.withSelections((selections) => this.subscriptionSource(internals, prepared, variables, caller, selections));
    return (onLeave) => this.subscriptionGroups.join(key, source, { replayLast: false, onLeave });
  }

  /** A group's source, with the selections of its stream open from when it starts until it stops. */
  private withSelections<T>(source: (selections: StreamSelectionSet) => StartSource<T>): StartSource<T> {
    return (emit, end) => {
      const selections = this.selections.open();
      const stop = source(selections)(emit, end);
      return () => {
        stop();
        selections.close();
      };
    };
  }

  /** One subscription to the subgraph; each event completed once for every subscriber of the group, in order. */
  private subscriptionSource(internals: GatewayInternals, prepared: PreparedSubscription, variables: Record<string, unknown>, caller: Caller | null, selections: StreamSelectionSet): StartSource<StreamResult> {
    const { clock, metrics, readPath, operationBudgetMs, logger } = this.deps;
    return (emit, end) => {
      const stopped = new Cancellation();
      const shaper = shaperFor(prepared, variables);
      // Events are completed concurrently but pushed in the order the subgraph sent them.
      let pushed: Promise<void> = Promise.resolve();
      const unsubscribe = this.upstream.open(prepared.subgraph, { query: prepared.upstream.query, ...(prepared.upstream.operationName ? { operationName: prepared.upstream.operationName } : {}), variables: upstreamVariables(prepared, variables) }, caller, {
        next: (event) => {
          metrics.streamEvents.inc({ source: prepared.subgraph });
          const request = new GatewayRequest({ id: randomUUID(), admittedAtMs: clock.now(), operationBudgetMs, cancellation: stopped, caller, headers: {}, streamSelections: selections });
          const completed = resolveEvent(prepared, event, { internals, readPath, request, variables, shaper }).catch((error: unknown): StreamResult => {
            logger.error('a subscription event could not be completed', { subgraph: prepared.subgraph, error: String((error as Error)?.message ?? error) });
            return { errors: [new GraphQLError('The event could not be completed', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
          });
          pushed = pushed.then(async () => emit(await completed));
        },
        error: (error) => {
          metrics.streamDrops.inc({ reason: 'upstream_lost' });
          logger.warn('a subgraph subscription ended with an error', { subgraph: prepared.subgraph, error: error.message });
          pushed = pushed.then(() => end(new GraphQLError(error.message, { extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: prepared.subgraph } })));
        },
        complete: () => {
          pushed = pushed.then(() => end());
        },
      });
      return () => {
        stopped.abort();
        unsubscribe();
      };
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function refused(message: string, code: string): Refusal {
  return { errors: [new GraphQLError(message, { extensions: { code } })] };
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, ...(error.path ? { path: error.path } : {}), extensions: { ...error.extensions, code } });
}

function hasDirective(document: DocumentNode, name: string): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === name) found = true;
    },
  });
  return found;
}
