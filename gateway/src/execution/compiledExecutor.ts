/**
 * GATEWAY_EXECUTOR=compiled (the default): ApolloGateway keeps loading the supergraph and planning, and this executor
 * runs the plans. Each operation is prepared once, on its first request (compiled per operation shape): its
 * federation form, its plan, which of its variables pick `@skip`/`@include`, and a response shaper per set of their
 * values. A request then only runs the fetches (planRunner.ts) and the shaper (responseShaper.ts).
 *
 * Answers equal stock's (data, errors, paths): the stock executor stays the reference (GATEWAY_EXECUTOR=stock), and
 * it still serves what this one does not cover: introspection (`__schema`, `__type`), subscriptions, requests whose
 * traces Apollo's usage reporting asks for, operations stock refuses to plan and variables that do not fit the
 * operation (so their errors stay stock's own, as Apollo Server formats them).
 *
 * This executor answers from an Apollo Server plugin's `responseForOperation` hook, with Apollo's own request context;
 * Apollo calls the gateway's executor (stock) only when it declines. Called as the gateway's executor, it would be
 * given the context Apollo builds for gateways on every request, whose `response.http.status` is an accessor pair
 * closing over the whole request context: V8 keeps accessor pairs in its old generation, so each request's context
 * and everything it holds (the answer, the GatewayRequest) outlived its request until the next full collection,
 * and every scavenge copied them: about 5 MB promoted per scavenge on a query that fetches nothing, 1.6 MB from the
 * hook; in bench scenario 4 the gateway's scavenges went from 12-20 ms each to 4-8 ms (bench/README.md).
 *
 * `@defer` (DEFER=on): the API schema Apollo Server validates against carries the directive, and the planner plans
 * it. An operation with `@defer` is planned with its `@defer`s for a client that takes a multipart answer
 * (deferredRun.ts runs it, incrementalDelivery.ts writes it), and, when a client first asks for it whole (JSON
 * only, or `@defer(if: false)`), planned without them too: that client gets the whole answer in one body, exactly as
 * if it had sent no `@defer`. Planning is the costliest part of a first request, and the pages that defer take parts,
 * so their cold start does not pay for a plan they never use. Stock's executor cannot run a deferred plan, so
 * whatever it serves is planned without the `@defer`s.
 *
 * Plan warm-up (PLAN_WARMUP, on by default), as Apollo Router's persisted-query prewarm and Cosmo's cache warmer do:
 * the operations of the persisted query manifest are prepared when a supergraph loads, before the gateway reports
 * ready and again after each update, so the pages' first requests after a start find their plans ready instead of
 * all waiting behind the first one's planning.
 */
import { operationFromDocument, type Operation } from '@apollo/federation-internals';
import { buildOperationContext, type ApolloGateway } from '@apollo/gateway';
import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContextResponseForOperation, type GraphQLResponse } from '@apollo/server';
import type { DeferNode, QueryPlan } from '@apollo/query-planner';
import { GraphQLError, GraphQLSchema, getVariableValues, Kind, parse, print, visit, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { ReadPath } from '../datasource/readPath.js';
import type { Logger } from '../logger.js';
import { operationId, type ManifestOperation } from '../persisted/manifest.js';
import { prepareOnePerTurn } from '../persisted/manifestWarmUp.js';
import { boolean, choice, type SettingGroup } from '../settings.js';
import { answerInBytes, gatewayRequestOf, type GatewayContext, type GatewayRequest } from '../request.js';
import { isLive, withLiveDirective, withoutLive } from '../validation/directiveRules.js';
import { annotateSpan, inInternalSpan } from '../telemetry/tracing.js';
import { formatError } from './incrementalDelivery.js';
import { decideConditions, prepareDefer, runDeferred, type PartAnswer, type PartSelection, type PreparedDefer } from './deferredRun.js';
import { PartMemo } from './partMemo.js';
import { gatewayInternals, loadDataRewrites, loadedApiSchema, type GatewayInternals } from './gatewayInternals.js';
import { preparePlan, runPlanNode, type PlanRun, type PreparedNode } from './planRunner.js';
import { compileFragmentShaper, compileResponseShaper, conditionVariables, selectsIntrospection, type FragmentShaper, type ResponseShaper, type ShapedResponse } from './responseShaper.js';

export type ExecutorChoice = 'compiled' | 'stock';

type LoadOptions = Parameters<ApolloGateway['load']>[0];
type LoadResult = Awaited<ReturnType<ApolloGateway['load']>>;
type Executor = NonNullable<LoadResult['executor']>;
type ExecutionResult = Awaited<ReturnType<Executor>>;
/** Apollo Server's request context once it has resolved the operation: what the compiled executor runs from. */
type CompiledRequest = GraphQLRequestContextResponseForOperation<GatewayContext>;
/** The compiled answer, or null: stock serves the operation. */
type CompiledExecutor = (requestContext: CompiledRequest) => Promise<ExecutionResult | null>;

/** Operations kept prepared per loaded supergraph; past this, the least recently used is prepared again when asked. */
const PREPARED_OPERATIONS = 1_000;
/** Response shapers kept per operation, one per combination of `@skip`/`@include` values seen. */
const SHAPERS_PER_OPERATION = 32;

type Prepared =
  | { kind: 'stock' }
  | {
    kind: 'compiled';
    operation: Operation;
    definition: OperationDefinitionNode;
    /** The plan of the whole answer (the operation without its `@defer`s), planned when first asked for. */
    whole: () => WholePlan;
    /** The plan with its `@defer`s, for a client that takes the answer in parts; null without `@defer`. */
    incremental: PreparedNode | null;
    conditions: string[];
    shapers: Map<string, ResponseShaper>;
  };

/** How the whole answer is run: by a prepared plan (null: nothing to fetch), or by stock, which refuses it itself. */
type WholePlan = { kind: 'compiled'; plan: PreparedNode | null } | { kind: 'stock' };

/** The supergraph loaded now, as the compiled executor runs it: its internals and the operations prepared for it. */
interface Loaded {
  internals: GatewayInternals;
  prepared: LRUCache<string, Prepared>;
}

/**
 * What Apollo Server is given: as its gateway, ApolloGateway itself with stock's executor, and the plugin that answers
 * with the compiled executor whatever it runs (stock serves the rest), either way saying in the answer what was
 * served stale. The compiled executor calls the read path itself, and prepares `warm` (the manifest's operations)
 * for each supergraph it loads.
 */
export function withExecutor(gateway: ApolloGateway, options: { executor: ExecutorChoice; defer: boolean; warm: readonly ManifestOperation[] }, logger: Logger, readPath: ReadPath, clock: Clock): { gateway: Pick<ApolloGateway, 'load' | 'onSchemaLoadOrUpdate' | 'stop'>; plugin: ApolloServerPlugin<GatewayContext> } {
  let compiled: CompiledExecutor | null = null;
  const answering = {
    responseForOperation: async (requestContext: CompiledRequest) => {
      let result: ExecutionResult | null | undefined;
      try {
        result = await compiled?.(requestContext);
      } catch (error) {
        return failedResponse(error);
      }
      return result ? apolloResponse(withStaleServed(result, gatewayRequestOf(requestContext.contextValue))) : null;
    },
  };
  return {
    gateway: {
      async load(loadOptions?: LoadOptions): Promise<LoadResult> {
        const loaded = await gateway.load(loadOptions);
        const stock = loaded.executor && (options.defer ? withoutDefer(loaded.executor) : loaded.executor);
        if (!stock) return loaded;
        const served = options.defer ? schemaWithDefer(gateway, loaded.schema) : loaded.schema;
        // Without a schema (a gateway that loaded nothing) there is nothing to declare `@live` in.
        const schema = served && withLiveDirective(served);
        const answer = { schema, executor: reportingStale(stock) };
        if (options.executor === 'stock') return answer;
        const rewrites = await loadDataRewrites();
        const internals = gatewayInternals(gateway, rewrites);
        if (!internals) {
          logger.warn('GATEWAY_EXECUTOR=compiled needs the internals of @apollo/gateway 2.14 (its planner, schemas and data rewrites); this version does not have them, so the stock executor serves every operation');
          return answer;
        }
        // Read once per supergraph, not per request; a new supergraph prepares its operations anew.
        let current: Loaded | null = { internals, prepared: new LRUCache({ max: PREPARED_OPERATIONS }) };
        const warmUp = (loaded: Loaded) => prepareAhead(loaded, options.warm, () => current === loaded, logger, clock);
        gateway.onSchemaLoadOrUpdate(() => {
          const next = gatewayInternals(gateway, rewrites);
          current = next && { internals: next, prepared: new LRUCache({ max: PREPARED_OPERATIONS }) };
          // Traffic goes on meanwhile: what a request asks for before its turn comes is prepared by that request.
          if (current) void warmUp(current);
        });
        await warmUp(current);
        compiled = compiledExecutor(() => current, readPath, clock, logger);
        return answer;
      },
      onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate((update) => callback({ ...update, apiSchema: withLiveDirective(options.defer ? schemaWithDefer(gateway, update.apiSchema) : update.apiSchema) })),
      stop: () => gateway.stop(),
    },
    plugin: { requestDidStart: async () => answering },
  };
}

/** The API schema Apollo Server validates operations against, with `@defer` declared (stock's has no `@defer`). */
function schemaWithDefer(gateway: ApolloGateway, stockSchema: GraphQLSchema): GraphQLSchema {
  const apiSchema = loadedApiSchema(gateway);
  if (!apiSchema) return stockSchema;
  // Stock's extensions (the gateway's version for usage reporting) kept.
  return new GraphQLSchema({ ...apiSchema.toGraphQLJSSchema({ includeDefer: true }).toConfig(), extensions: stockSchema.extensions });
}

/** Stock's executor given each operation without its `@defer`s: it plans and answers the whole of it. */
function withoutDefer(stock: Executor): Executor {
  return (requestContext) => (requestContext.source?.includes('@defer') ? stock({ ...requestContext, document: documentWithoutDefer(requestContext.document) }) : stock(requestContext));
}

function documentWithoutDefer(document: DocumentNode): DocumentNode {
  return visit(document, { Directive: (node) => (node.name.value === 'defer' ? null : undefined) });
}

/** The `__typename` fields the operation selects at its root, as written (aliases kept). */
function rootTypenameFields(definition: OperationDefinitionNode): string {
  return definition.selectionSet.selections.filter((selection) => selection.kind === Kind.FIELD && selection.name.value === '__typename').map((field) => print(field)).join(' ');
}

/** The labels the client gave its `@defer`s; null when the document has none. */
function deferLabels(document: DocumentNode): Set<string> | null {
  let labels: Set<string> | null = null;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer') return;
      labels ??= new Set();
      const label = node.arguments?.find((argument) => argument.name.value === 'label')?.value;
      if (label?.kind === Kind.STRING) labels.add(label.value);
    },
  });
  return labels;
}

/** Stock's answers say what was served stale as the compiled ones do. */
function reportingStale(executor: Executor): Executor {
  return async (requestContext) => withStaleServed(await executor(requestContext), gatewayRequestOf(requestContext.context));
}

/**
 * Parts served from a stale cached copy because their subgraph failed (stale-if-error) carry no error: the answer's
 * `extensions.staleServed` says which, so a client or an operator can tell.
 */
export function withStaleServed<T extends ExecutionResult>(result: T, request: GatewayRequest | undefined): T {
  const staleServed = request?.staleServed;
  return staleServed?.length ? { ...result, extensions: { ...result.extensions, staleServed } } : result;
}

/**
 * The compiled answer as Apollo Server formats a gateway executor's, since it takes a plugin's answer as it is: every
 * error with a code, no stack trace, and a status an error asks for (`extensions.http.status`, as a subgraph's error
 * may carry) set on the answer rather than shown.
 */
export function apolloResponse(result: ExecutionResult): GraphQLResponse {
  const { errors, ...rest } = result;
  const http: GraphQLResponse['http'] = { headers: new HeaderMap() };
  const formatted = errors?.map((error: GraphQLError) => {
    const { extensions: { http: head, ...extensions } = {}, ...fields } = formatError(error);
    const status = (head as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number') http.status = status;
    return { ...fields, extensions };
  });
  return { http, body: { kind: 'single', singleResult: { ...rest, ...(formatted ? { errors: formatted } : {}) } } };
}

/**
 * A compiled run that threw, answered as Apollo Server answers a gateway executor that throws (a plugin's hook that
 * throws would fail the whole HTTP request, every operation of a batch with it): its error alone, with status 500
 * unless the error asks for another.
 */
export function failedResponse(error: unknown): GraphQLResponse {
  const response = apolloResponse(failedResult(error));
  return { ...response, http: { ...response.http, status: response.http.status ?? 500 } };
}

function compiledExecutor(loaded: () => Loaded | null, readPath: ReadPath, clock: Clock, logger: Logger): CompiledExecutor {
  const memo = new PartMemo();
  return async (requestContext) => {
    const current = loaded();
    const { request, document, queryHash } = requestContext;
    if (!current || !queryHash || requestContext.metrics.captureTraces) return null;
    const key = preparedKey(queryHash, request.operationName);
    let operation = current.prepared.get(key);
    if (!operation) {
      // Traced: planning is a span of the request's trace; a request served by a plan prepared before says so.
      operation = inInternalSpan('plan', request.operationName ? { 'graphql.operation.name': request.operationName } : {}, () => prepare(current.internals, document, request.operationName, logger));
      current.prepared.set(key, operation);
      annotateSpan({ 'gateway.plan.cached': false });
    } else {
      annotateSpan({ 'gateway.plan.cached': true });
    }
    if (operation.kind === 'stock') return null;
    return execute(current.internals, readPath, operation, requestContext, clock, memo);
  };
}

/** Where an operation is kept prepared: its text's hash (Apollo Server's `queryHash`) and the name it was asked by. */
function preparedKey(queryHash: string, operationName?: string): string {
  return operationName ? `${queryHash}\0${operationName}` : queryHash;
}

/**
 * Prepares `operations` for a supergraph just loaded, under the keys their requests look them up by (the hash of the
 * text Apollo Server is given, with or without the operation's name), one per turn (persisted/manifestWarmUp.ts).
 */
async function prepareAhead(loaded: Loaded, operations: readonly ManifestOperation[], current: () => boolean, logger: Logger, clock: Clock): Promise<void> {
  const startedAtMs = clock.now();
  // Subscriptions are planned by the streams (subscriptions/operationStreams.ts), which prepare the manifest's too.
  const prepared = await prepareOnePerTurn(operations.filter(({ type }) => type !== 'subscription'), current, ({ name, body }) => {
    const written = parse(body);
    // A live query runs as its text without `@live` (subscriptions/operationStreams.ts): that is the one to prepare.
    const live = written.definitions.some((definition) => definition.kind === Kind.OPERATION_DEFINITION && isLive(definition));
    const document = live ? withoutLive(written) : written;
    const hash = live ? operationId(print(document)) : operationId(body);
    if (loaded.prepared.has(preparedKey(hash))) return false;
    const operation = prepare(loaded.internals, document, name, logger);
    loaded.prepared.set(preparedKey(hash, name), operation);
    loaded.prepared.set(preparedKey(hash), operation);
    return true;
  });
  if (prepared) logger.info('prepared the persisted query manifest\'s operations for the supergraph loaded', { operations: prepared, ms: Math.round(clock.now() - startedAtMs) });
}

function prepare(internals: GatewayInternals, document: DocumentNode, operationName: string | undefined, logger: Logger): Prepared {
  let context: ReturnType<typeof buildOperationContext>;
  let operation: Operation;
  let wholeDocument: DocumentNode;
  let deferredPlan: QueryPlan | null = null;
  const clientLabels = deferLabels(document);
  const planOf = (planned: Operation) => internals.queryPlanner.buildQueryPlan(planned, {
    recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled,
    nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled,
  });
  try {
    // The whole answer is planned from the document without its `@defer`s (federation's `withoutDefer` cannot take
    // a deferred fragment spread).
    wholeDocument = clientLabels ? documentWithoutDefer(document) : document;
    context = buildOperationContext({ schema: internals.schema, operationDocument: wholeDocument, operationName });
    operation = operationFromDocument(internals.apiSchema, document, { operationName });
    if (clientLabels) deferredPlan = planOf(operation);
  } catch {
    // Stock refuses it too, with its own error: it answers, so the client sees exactly that error.
    return { kind: 'stock' };
  }
  if (selectsIntrospection(operation)) return { kind: 'stock' };
  const inMutation = operation.rootKind === 'mutation';
  // Everything the whole answer alone needs is done here, when it is first asked for.
  const planWhole = (): WholePlan => {
    try {
      const plan = planOf(clientLabels ? operationFromDocument(internals.apiSchema, wholeDocument, { operationName }) : operation);
      // Sequences, parallels, flattens, fetches and conditions; subscriptions and context rewrites stay with stock.
      const prepared = plan.node && plan.node.kind !== 'Subscription' ? preparePlan(plan.node, internals.supergraphSchema, internals.rewrites, inMutation) : null;
      return plan.node && !prepared ? { kind: 'stock' } : { kind: 'compiled', plan: prepared };
    } catch {
      return { kind: 'stock' };
    }
  };
  let whole: WholePlan | null = null;
  if (!clientLabels) {
    whole = planWhole();
    if (whole.kind === 'stock') return whole;
  }
  const shapingOperation = shapingOperationOf(internals, context);
  // Deferred parts are shaped with the planner's selections, parsed against the operation with its `@defer`s.
  const client = { labels: clientLabels ?? new Set<string>(), rootTypenames: rootTypenameFields(context.operation) };
  const deferring = (at: readonly string[]) => (node: DeferNode): PreparedDefer | null => prepareDefer(node, at, operation, client,
    (child, childAt) => preparePlan(child, internals.supergraphSchema, internals.rewrites, inMutation, deferring(childAt)));
  let incremental: PreparedNode | null = null;
  try {
    if (deferredPlan?.node && deferredPlan.node.kind !== 'Subscription') incremental = preparePlan(deferredPlan.node, internals.supergraphSchema, internals.rewrites, inMutation, deferring([]));
  } catch (error) {
    // The whole answer is still right: a client asking for parts gets it in one.
    logger.warn('an operation with @defer is answered whole: its deferred plan could not be prepared', { operationName, error: String((error as Error)?.message ?? error) });
  }
  return {
    kind: 'compiled', operation: shapingOperation, definition: context.operation, incremental, conditions: conditionVariables(shapingOperation), shapers: new Map(),
    // Traced: planning the whole answer later is a span of the request that asks for it, as planning is.
    whole: () => (whole ??= inInternalSpan('plan', operationName ? { 'graphql.operation.name': operationName } : {}, planWhole)),
  };
}

/** Shaping uses the operation as stock rebuilds it at execution time: its fragments kept as written. */
export function shapingOperationOf(internals: GatewayInternals, context: ReturnType<typeof buildOperationContext>): Operation {
  return operationFromDocument(internals.apiSchema,
    { kind: Kind.DOCUMENT, definitions: [context.operation, ...Object.values(context.fragments)] }, { validate: false });
}

async function execute(internals: GatewayInternals, readPath: ReadPath, prepared: Extract<Prepared, { kind: 'compiled' }>, requestContext: CompiledRequest, clock: Clock, memo: PartMemo): Promise<ExecutionResult | null> {
  const { request } = requestContext;
  const gatewayRequest = gatewayRequestOf(requestContext.contextValue);
  if (!gatewayRequest) throw new Error('an operation reached the executor without the request the gateway made for it');
  // Variables that do not fit go to stock: Apollo Server turns its coercion errors into BAD_USER_INPUT with a 400.
  if (prepared.definition.variableDefinitions?.length && getVariableValues(internals.schema, prepared.definition.variableDefinitions, request.variables ?? {}).errors) return null;
  const run: PlanRun = {
    requestContext,
    request: gatewayRequest,
    operation: prepared.operation,
    readPath,
    supergraphSchema: internals.supergraphSchema,
    rewrites: internals.rewrites,
    fullResult: Object.create(null),
    errors: [],
    fromMemory: null,
  };
  const root = gatewayRequest.incremental ? decideConditions(prepared.incremental ?? undefined, request.variables, prepared.operation) : undefined;
  if (root?.kind === 'Defer') {
    try {
      const { first, rest } = await runDeferred(run, root, {
        clock,
        memo,
        shaperFor: (selection) => fragmentShaperFor(prepared, selection, request.variables),
        firstAnswerOf: answerOf,
      });
      gatewayRequest.incrementalAnswer = rest;
      return executionResult(first);
    } catch (error) {
      return failedResult(error);
    }
  }
  const whole = prepared.whole();
  if (whole.kind === 'stock') return null;
  if (whole.plan) await runPlanNode(run, whole.plan, { path: [], data: run.fullResult });
  try {
    const answer = answerOf(run.errors, shaperFor(prepared, request.variables)(run.fullResult, run.errors.length === 0));
    // Shaped data is plain JSON: it can be written as bytes.
    if (answer.data) answerInBytes(answer.data, gatewayRequest);
    return executionResult(answer);
  } catch (error) {
    return failedResult(error);
  }
}

/** A run that threw (what the shaper cannot shape, say) answers with that error alone. */
function failedResult(error: unknown): ExecutionResult {
  if (error instanceof GraphQLError) return { errors: [error] };
  return { errors: [new GraphQLError((error as Error).message, { originalError: error as Error })] };
}

/** As stock: errors found while shaping are reported only when no fetch failed, and then as an extension. */
export function answerOf(fetchErrors: GraphQLError[], { data, errors: completionErrors }: ShapedResponse): PartAnswer {
  if (fetchErrors.length === 0 && completionErrors.length > 0) return { data, errors: [], extensions: { valueCompletion: completionErrors } };
  return { data, errors: fetchErrors };
}

export function executionResult({ data, errors, extensions }: PartAnswer): ExecutionResult {
  return { ...(errors.length > 0 ? { errors } : {}), ...(extensions ? { extensions } : {}), data };
}

/** One shaper per set of `@skip`/`@include` values: a variable left out takes the operation's default, so it is told apart from one given as null. */
function conditionsKey(prepared: Extract<Prepared, { kind: 'compiled' }>, variables: Record<string, unknown> | undefined): string {
  return prepared.conditions.length === 0 ? ''
    : JSON.stringify(prepared.conditions.map((name) => (variables && Object.hasOwn(variables, name) ? variables[name] : { default: true })));
}

function fragmentShaperFor(prepared: Extract<Prepared, { kind: 'compiled' }>, selection: PartSelection, variables: Record<string, unknown> | undefined): FragmentShaper {
  const key = conditionsKey(prepared, variables);
  let shaper = selection.shapers.get(key);
  if (!shaper) {
    shaper = compileFragmentShaper(prepared.operation, selection.selectionSet, variables);
    if (selection.shapers.size >= SHAPERS_PER_OPERATION) selection.shapers.clear();
    selection.shapers.set(key, shaper);
  }
  return shaper;
}

function shaperFor(prepared: Extract<Prepared, { kind: 'compiled' }>, variables: Record<string, unknown> | undefined): ResponseShaper {
  const key = conditionsKey(prepared, variables);
  let shaper = prepared.shapers.get(key);
  if (!shaper) {
    shaper = compileResponseShaper(prepared.operation, variables);
    if (prepared.shapers.size >= SHAPERS_PER_OPERATION) prepared.shapers.clear();
    prepared.shapers.set(key, shaper);
  }
  return shaper;
}

export const EXECUTOR_SETTINGS = {
  defer: boolean('DEFER', { default: true, doc: '@defer in the API schema and the plans: a client that accepts multipart/mixed gets the first part of the answer at once and each deferred fragment when it is ready; one that takes JSON only gets the whole answer (docs/DEFER.md). Off: @defer is an unknown directive' }),
  planWarmup: boolean('PLAN_WARMUP', { default: true, doc: 'prepare the operations of the persisted query manifest (their plans, with GATEWAY_EXECUTOR=compiled; its subscriptions\' plans whatever the executor) when a supergraph loads, before the gateway reports ready and again after each update, so the first requests after a start do not wait for planning; off: each is planned on its first request' }),
  executor: choice('GATEWAY_EXECUTOR', ['compiled', 'stock'] as const, { default: 'compiled', doc: 'who runs query plans: compiled prepares each operation once and answers exactly as stock (gateway/ARCHITECTURE.md); stock is @apollo/gateway\'s own executor, kept as the reference and for its OpenTelemetry spans' }),
} satisfies SettingGroup;
