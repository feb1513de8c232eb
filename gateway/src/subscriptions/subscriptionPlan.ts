/**
 * A federated subscription as the gateway runs it. The planner makes a `Subscription` node: a `primary` fetch, the
 * subscription itself, made to the subgraph that owns the field, and the `rest`, the fetches that complete each
 * event with fields other subgraphs own (a seller's top clients' details from topclients, say).
 *
 * Each event's `rest` runs through the plan runner and the read path like a query's fetches: cached, tagged,
 * budgeted, nulled with an error on failure, and merged with the loads of every other request in flight, so the
 * subscribers of one event cost one `_entities` call, not one each. The event is then shaped like a query's answer.
 */
import { operationFromDocument, type Operation } from '@apollo/federation-internals';
import { buildOperationContext } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import { GraphQLError, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { answerOf, executionResult, shapingOperationOf } from '../execution/compiledExecutor.js';
import type { GatewayInternals } from '../execution/gatewayInternals.js';
import { fromSubgraph, preparePlan, runPlanNode, type PlanRun, type PreparedNode } from '../execution/planRunner.js';
import { compileResponseShaper, type ResponseShaper } from '../execution/responseShaper.js';
import type { ReadPath } from '../datasource/readPath.js';
import type { GatewayRequest } from '../request.js';

export interface PreparedSubscription {
  /** The subgraph the subscription is made to. */
  subgraph: string;
  /** The subscription as the subgraph is asked for it, and which of the client's variables it uses. */
  upstream: { query: string; operationName?: string; variableUsages: readonly string[] };
  /** What completes each event; null when the subgraph's event is the whole answer. */
  rest: PreparedNode | null;
  /** The operation as the shaper reads it. */
  operation: Operation;
  definition: OperationDefinitionNode;
}

type ExecutionResult = ReturnType<typeof executionResult>;

/** Plans a subscription operation once; an error when it cannot be run here (the error says why). */
export function prepareSubscription(internals: GatewayInternals, document: DocumentNode, operationName: string | undefined): PreparedSubscription | GraphQLError {
  let plan: QueryPlan;
  let context: ReturnType<typeof buildOperationContext>;
  try {
    context = buildOperationContext({ schema: internals.schema, operationDocument: document, operationName });
    plan = internals.queryPlanner.buildQueryPlan(operationFromDocument(internals.apiSchema, document, { operationName }), {
      recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled,
      nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled,
    });
  } catch (error) {
    return error instanceof GraphQLError ? error : new GraphQLError(`The subscription cannot be planned: ${(error as Error).message}`);
  }
  const node = plan.node;
  if (!node || node.kind !== 'Subscription') return new GraphQLError('The operation is not a subscription');
  const rest = node.rest ? preparePlan(node.rest, internals.supergraphSchema, internals.rewrites, false) : null;
  if (node.rest && !rest) return new GraphQLError('The subscription needs a plan this gateway cannot run (context rewrites)');
  const { primary } = node;
  return {
    subgraph: primary.serviceName,
    upstream: { query: primary.operation, ...(primary.operationName ? { operationName: primary.operationName } : {}), variableUsages: primary.variableUsages ?? [] },
    rest,
    operation: shapingOperationOf(internals, context),
    definition: context.operation,
  };
}

/** The variables the subgraph's subscription uses, out of the client's. */
export function upstreamVariables(prepared: PreparedSubscription, variables: Record<string, unknown>): Record<string, unknown> {
  const used: Record<string, unknown> = {};
  for (const name of prepared.upstream.variableUsages) if (Object.hasOwn(variables, name)) used[name] = variables[name];
  return used;
}

export interface EventRun {
  internals: GatewayInternals;
  readPath: ReadPath;
  /** A request of the event's own: its budget counts from the event, for the subscriber's caller. */
  request: GatewayRequest;
  variables: Record<string, unknown>;
  shaper: ResponseShaper;
}

/** Completes one event of the subgraph's subscription with the rest of the plan, and shapes it. */
export async function resolveEvent(prepared: PreparedSubscription, event: { data?: unknown; errors?: readonly unknown[] }, run: EventRun): Promise<ExecutionResult> {
  const data = (event.data !== null && typeof event.data === 'object' ? event.data : {}) as Record<string, unknown>;
  const planRun: PlanRun = {
    requestContext: { request: { variables: run.variables }, metrics: {} },
    request: run.request,
    operation: prepared.operation,
    readPath: run.readPath,
    supergraphSchema: run.internals.supergraphSchema,
    rewrites: run.internals.rewrites,
    fullResult: data,
    errors: (event.errors ?? []).map((error) => fromSubgraph(asGraphQLError(error), prepared.subgraph, (path) => path as (string | number)[] | undefined)),
    fromMemory: null,
  };
  if (prepared.rest) await runPlanNode(planRun, prepared.rest, { path: [], data });
  return executionResult(answerOf(planRun.errors, run.shaper(data, planRun.errors.length === 0)));
}

export function shaperFor(prepared: PreparedSubscription, variables: Record<string, unknown>): ResponseShaper {
  return compileResponseShaper(prepared.operation, variables);
}

function asGraphQLError(error: unknown): GraphQLError {
  const { message, path, extensions } = (error ?? {}) as { message?: unknown; path?: unknown; extensions?: unknown };
  return new GraphQLError(typeof message === 'string' ? message : 'Error from the subgraph', {
    ...(Array.isArray(path) ? { path } : {}),
    ...(extensions !== null && typeof extensions === 'object' ? { extensions: extensions as Record<string, unknown> } : {}),
  });
}
