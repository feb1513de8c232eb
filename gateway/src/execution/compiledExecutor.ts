/**
 * GATEWAY_EXECUTOR=compiled (the default): ApolloGateway keeps loading the supergraph and planning, and this executor
 * runs the plans. Each operation is prepared once, on its first request (compiled per operation shape): its
 * federation form, its plan, which of its variables pick `@skip`/`@include`, and a response shaper per set of their
 * values. A request then only runs the fetches (planRunner.ts) and the shaper (responseShaper.ts).
 *
 * Answers equal stock's (data, errors, paths): the stock executor stays the reference (GATEWAY_EXECUTOR=stock), and
 * it still serves what this one does not cover: introspection (`__schema`, `__type`), plans with `@defer` or
 * subscriptions, requests whose traces Apollo's usage reporting asks for, and operations stock refuses to plan (so
 * their errors stay stock's own).
 */
import { operationFromDocument, type Operation } from '@apollo/federation-internals';
import { buildOperationContext, type ApolloGateway } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import { GraphQLError, getVariableValues, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { ReadPath } from '../datasource/readPath.js';
import type { Logger } from '../logger.js';
import { choice, type SettingGroup } from '../settings.js';
import { gatewayRequestOf } from '../request.js';
import { gatewayInternals, loadDataRewrites, type GatewayInternals } from './gatewayInternals.js';
import { preparePlan, runPlanNode, type PlanRun, type PreparedNode } from './planRunner.js';
import { compileResponseShaper, conditionVariables, selectsIntrospection, type ResponseShaper } from './responseShaper.js';

export type ExecutorChoice = 'compiled' | 'stock';

type LoadOptions = Parameters<ApolloGateway['load']>[0];
type LoadResult = Awaited<ReturnType<ApolloGateway['load']>>;
type Executor = NonNullable<LoadResult['executor']>;
type RequestContext = Parameters<Executor>[0];
type ExecutionResult = Awaited<ReturnType<Executor>>;

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
    plan: PreparedNode | null;
    conditions: string[];
    shapers: Map<string, ResponseShaper>;
  };

/** The supergraph loaded now, as the compiled executor runs it: its internals and the operations prepared for it. */
interface Loaded {
  internals: GatewayInternals;
  prepared: LRUCache<string, Prepared>;
}

/**
 * What Apollo Server is given as its gateway: ApolloGateway itself, with the chosen executor in place of its own,
 * either way saying in the answer what was served stale. The compiled executor calls the read path itself.
 */
export function withExecutor(gateway: ApolloGateway, choice: ExecutorChoice, logger: Logger, readPath: ReadPath): Pick<ApolloGateway, 'load' | 'onSchemaLoadOrUpdate' | 'stop'> {
  return {
    async load(options?: LoadOptions): Promise<LoadResult> {
      const loaded = await gateway.load(options);
      const stock = loaded.executor;
      if (!stock) return loaded;
      if (choice === 'stock') return { ...loaded, executor: reportingStale(stock) };
      const rewrites = await loadDataRewrites();
      const internals = gatewayInternals(gateway, rewrites);
      if (!internals) {
        logger.warn('GATEWAY_EXECUTOR=compiled needs the internals of @apollo/gateway 2.14 (its planner, schemas and data rewrites); this version does not have them, so the stock executor serves every operation');
        return { ...loaded, executor: reportingStale(stock) };
      }
      // Read once per supergraph, not per request; a new supergraph prepares its operations anew.
      let current: Loaded | null = { internals, prepared: new LRUCache({ max: PREPARED_OPERATIONS }) };
      gateway.onSchemaLoadOrUpdate(() => {
        const next = gatewayInternals(gateway, rewrites);
        current = next && { internals: next, prepared: new LRUCache({ max: PREPARED_OPERATIONS }) };
      });
      return { ...loaded, executor: reportingStale(compiledExecutor(() => current, readPath, stock)) };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}

/**
 * Parts served from a stale cached copy because their subgraph failed (stale-if-error) carry no error: the answer's
 * `extensions.staleServed` says which, so a client or an operator can tell.
 */
function reportingStale(executor: Executor): Executor {
  return async (requestContext) => {
    const result = await executor(requestContext);
    const staleServed = gatewayRequestOf(requestContext.context)?.staleServed;
    return staleServed?.length ? { ...result, extensions: { ...result.extensions, staleServed } } : result;
  };
}

function compiledExecutor(loaded: () => Loaded | null, readPath: ReadPath, stock: Executor): Executor {
  return async (requestContext) => {
    const current = loaded();
    if (!current || requestContext.metrics?.captureTraces) return stock(requestContext);
    const { request, document, queryHash } = requestContext;
    const key = request.operationName ? `${queryHash}\0${request.operationName}` : queryHash;
    let operation = current.prepared.get(key);
    if (!operation) {
      operation = prepare(current.internals, document, request.operationName);
      current.prepared.set(key, operation);
    }
    if (operation.kind === 'stock') return stock(requestContext);
    return execute(current.internals, readPath, operation, requestContext);
  };
}

function prepare(internals: GatewayInternals, document: DocumentNode, operationName: string | undefined): Prepared {
  let context: ReturnType<typeof buildOperationContext>;
  let operation: Operation;
  let plan: QueryPlan;
  try {
    context = buildOperationContext({ schema: internals.schema, operationDocument: document, operationName });
    operation = operationFromDocument(internals.apiSchema, document, { operationName });
    plan = internals.queryPlanner.buildQueryPlan(operation, {
      recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled,
      nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled,
    });
  } catch {
    // Stock refuses it too, with its own error: it answers, so the client sees exactly that error.
    return { kind: 'stock' };
  }
  if (selectsIntrospection(operation)) return { kind: 'stock' };
  // Sequences, parallels, flattens, fetches and conditions; `@defer`, subscriptions and context rewrites stay with stock.
  const prepared = plan.node && plan.node.kind !== 'Subscription' ? preparePlan(plan.node, internals.supergraphSchema, internals.rewrites, operation.rootKind === 'mutation') : null;
  if (plan.node && !prepared) return { kind: 'stock' };
  // Shaping uses the operation as stock rebuilds it at execution time: its fragments kept as written.
  const shapingOperation = operationFromDocument(internals.apiSchema,
    { kind: Kind.DOCUMENT, definitions: [context.operation, ...Object.values(context.fragments)] }, { validate: false });
  return { kind: 'compiled', operation: shapingOperation, definition: context.operation, plan: prepared, conditions: conditionVariables(shapingOperation), shapers: new Map() };
}

async function execute(internals: GatewayInternals, readPath: ReadPath, prepared: Extract<Prepared, { kind: 'compiled' }>, requestContext: RequestContext): Promise<ExecutionResult> {
  const { request } = requestContext;
  const gatewayRequest = gatewayRequestOf(requestContext.context);
  if (!gatewayRequest) throw new Error('an operation reached the executor without the request the gateway made for it');
  if (prepared.definition.variableDefinitions?.length) {
    const { errors } = getVariableValues(internals.schema, prepared.definition.variableDefinitions, request.variables ?? {});
    if (errors) return { errors };
  }
  const run: PlanRun = {
    requestContext: requestContext as PlanRun['requestContext'],
    request: gatewayRequest,
    operation: prepared.operation,
    readPath,
    supergraphSchema: internals.supergraphSchema,
    rewrites: internals.rewrites,
    fullResult: Object.create(null),
    errors: [],
  };
  if (prepared.plan) await runPlanNode(run, prepared.plan, { path: [], data: run.fullResult });
  let shaped;
  try {
    shaped = shaperFor(prepared, request.variables)(run.fullResult);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    return { errors: [new GraphQLError((error as Error).message, { originalError: error as Error })] };
  }
  const { data, errors: completionErrors } = shaped;
  // As stock: errors found while shaping are reported only when no fetch failed, and then as an extension.
  if (run.errors.length === 0 && completionErrors.length > 0) return { extensions: { valueCompletion: completionErrors }, data };
  return run.errors.length === 0 ? { data } : { errors: run.errors, data };
}

function shaperFor(prepared: Extract<Prepared, { kind: 'compiled' }>, variables: Record<string, unknown> | undefined): ResponseShaper {
  // A variable left out takes the operation's default, so it is told apart from one given as null.
  const key = prepared.conditions.length === 0 ? ''
    : JSON.stringify(prepared.conditions.map((name) => (variables && Object.hasOwn(variables, name) ? variables[name] : { default: true })));
  let shaper = prepared.shapers.get(key);
  if (!shaper) {
    shaper = compileResponseShaper(prepared.operation, variables);
    if (prepared.shapers.size >= SHAPERS_PER_OPERATION) prepared.shapers.clear();
    prepared.shapers.set(key, shaper);
  }
  return shaper;
}

export const EXECUTOR_SETTINGS = {
  executor: choice('GATEWAY_EXECUTOR', ['compiled', 'stock'] as const, { default: 'compiled', doc: 'who runs query plans: compiled prepares each operation once and answers exactly as stock (gateway/ARCHITECTURE.md); stock is @apollo/gateway\'s own executor, kept as the reference and for its OpenTelemetry spans' }),
} satisfies SettingGroup;
