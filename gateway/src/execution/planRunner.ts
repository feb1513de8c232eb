/**
 * Runs a prepared query plan's fetches (sequence, parallel, flatten, condition) through the read path and merges
 * their answers into one result, as @apollo/gateway's `executeQueryPlan` does before it shapes the response: the same
 * requests reach the subgraphs, the same representations, the same merge, and the same errors with the same paths.
 *
 * What stock works out per request is worked out once per fetch node, when the operation is prepared
 * (`preparePlan`): the fetch as the read path takes it (datasource/subgraphFetch.ts), how to read a representation
 * out of an entity, and which typenames a `requires` fragment applies to. A request then calls the read path for
 * each fetch (`readPath.fetch`) and hands the policy of what it served to Apollo's. `Defer` nodes are run by
 * deferredRun.ts; plans with subscriptions or context rewrites are not prepared here (compiledExecutor.ts leaves
 * them to stock).
 */
import { ERRORS, errorCodeDef, type Operation } from '@apollo/federation-internals';
import { evaluateCondition, type ConditionNode, type DeferNode, type FetchDataRewrite, type FetchNode, type PlanNode, type QueryPlanSelectionNode, type ResponsePath } from '@apollo/query-planner';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { ReadPath } from '../datasource/readPath.js';
import type { ServedFromMemory } from '../datasource/stages/cache.js';
import { subgraphFetch, type SubgraphFetch } from '../datasource/subgraphFetch.js';
import type { GatewayRequest } from '../request.js';
import type { PreparedDefer } from './deferredRun.js';
import type { DataRewrites } from './gatewayInternals.js';
import { ownValue } from '../jsonValues.js';

type Data = Record<string, unknown>;

/** The part of Apollo's request context a run reads and writes. */
export interface RunRequestContext {
  request: { variables?: Record<string, unknown> };
  metrics: unknown;
  overallCachePolicy?: { restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void };
}

/** One request's run of a prepared plan. */
export interface PlanRun {
  requestContext: RunRequestContext;
  request: GatewayRequest;
  operation: Operation;
  readPath: ReadPath;
  supergraphSchema: GraphQLSchema;
  rewrites: DataRewrites;
  /** The merged data, which the response shaper reads afterwards. */
  fullResult: Data;
  errors: GraphQLError[];
  /**
   * When not null, each fetch's way to be served again from memory is recorded here (null: it cannot be);
   * partMemo.ts. Always present, so a deferred part's copy of its run (a spread) only changes it: on Node 20 a key
   * added to a spread's copy makes a new hidden class each time.
   */
  fromMemory: (ServedFromMemory | null)[] | null;
}

/** A plan node as a request runs it: fetches already described for the read path. */
export type PreparedNode =
  | { kind: 'Sequence' | 'Parallel'; nodes: PreparedNode[] }
  | { kind: 'Flatten'; path: ResponsePath; node: PreparedNode }
  | { kind: 'Condition'; condition: ConditionNode; ifClause?: PreparedNode; elseClause?: PreparedNode }
  | PreparedFetch
  | PreparedDefer;

export interface PreparedFetch {
  kind: 'Fetch';
  fetch: SubgraphFetch;
  variableUsages: readonly string[];
  /** Entity fetches: how to read a representation out of an entity of the data so far. */
  representationOf: ((entity: unknown) => Data | null) | null;
  inputRewrites: FetchDataRewrite[] | undefined;
  outputRewrites: FetchDataRewrite[] | undefined;
  /** `_entities` errors are mapped to the entities' places in the answer. */
  requires: boolean;
}

interface Cursor {
  path: ResponsePath;
  data: unknown;
}

/**
 * The plan prepared for runs, or null when a node is one this runner leaves to stock (subscriptions, context
 * rewrites). A `Defer` node is prepared by `prepareDefer` (deferredRun.ts runs it) where one may stand: at the root
 * of the plan or of a deferred fragment, under conditions only.
 */
export function preparePlan(node: PlanNode, schema: GraphQLSchema, rewrites: DataRewrites, inMutation: boolean, prepareDefer?: (node: DeferNode) => PreparedDefer | null): PreparedNode | null {
  const prepare = (child: PlanNode): PreparedNode | null => preparePlan(child, schema, rewrites, inMutation);
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel': {
      const nodes = node.nodes.map(prepare);
      return nodes.every((n): n is PreparedNode => n !== null) ? { kind: node.kind, nodes } : null;
    }
    case 'Flatten': {
      const inner = prepare(node.node);
      return inner && { kind: 'Flatten', path: node.path, node: inner };
    }
    case 'Condition': {
      const branch = (child: PlanNode) => preparePlan(child, schema, rewrites, inMutation, prepareDefer);
      const ifClause = node.ifClause ? branch(node.ifClause) : undefined;
      const elseClause = node.elseClause ? branch(node.elseClause) : undefined;
      if (ifClause === null || elseClause === null) return null;
      return { kind: 'Condition', condition: node, ...(ifClause ? { ifClause } : {}), ...(elseClause ? { elseClause } : {}) };
    }
    case 'Fetch':
      return node.contextRewrites?.length ? null : prepareFetch(node, schema, rewrites, inMutation);
    case 'Defer':
      return prepareDefer ? prepareDefer(node) : null;
    default:
      return null;
  }
}

function prepareFetch(node: FetchNode, schema: GraphQLSchema, rewrites: DataRewrites, inMutation: boolean): PreparedFetch {
  return {
    kind: 'Fetch',
    fetch: subgraphFetch({
      subgraph: node.serviceName,
      operation: node.operation,
      operationName: node.operationName,
      ...(node.operationDocumentNode ? { document: node.operationDocumentNode } : {}),
      inMutation,
    }),
    variableUsages: node.variableUsages ?? [],
    representationOf: node.requires ? representationReader(schema, rewrites, node.requires) : null,
    inputRewrites: node.inputRewrites,
    outputRewrites: node.outputRewrites,
    requires: node.requires !== undefined,
  };
}

export async function runPlanNode(run: PlanRun, node: PreparedNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await runPlanNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => runPlanNode(run, child, cursor)));
      return;
    case 'Flatten': {
      const data = valuesAtPath(cursor.data, node.path, 0);
      // Nothing at that path (null or missing): nothing to fetch for it.
      if (!data) return;
      return runPlanNode(run, node.node, { path: cursor.path.concat(node.path), data });
    }
    case 'Fetch':
      try {
        await runFetch(run, node, cursor);
      } catch (error) {
        run.errors.push(error as GraphQLError);
      }
      return;
    case 'Condition': {
      const branch = evaluateCondition(node.condition, run.operation.variableDefinitions, run.requestContext.request.variables)
        ? node.ifClause : node.elseClause;
      if (branch) await runPlanNode(run, branch, cursor);
      return;
    }
    default:
      // A Defer node only stands where deferredRun.ts runs it.
      throw new Error(`The plan runner cannot run a ${node.kind} node here`);
  }
}

/** Every value at `path` ('@' = each list item), lists flattened one level per '@', as stock's cursor moves. */
function valuesAtPath(value: unknown, path: readonly (string | number)[], from: number): unknown {
  let current = value;
  for (let i = from; i < path.length; i++) {
    if (current === undefined || current === null) return current;
    const step = path[i]!;
    if (step === '@') {
      if (!Array.isArray(current)) throw new TypeError('Expected a list in the merged result where the plan has `@`');
      const out: unknown[] = [];
      for (const item of current) {
        const found = valuesAtPath(item, path, i + 1);
        if (Array.isArray(found)) for (const f of found) out.push(f);
        else out.push(found);
      }
      return out;
    }
    if (typeof step !== 'string') throw new Error(`Unexpected ${typeof step} found in path`);
    if (Array.isArray(current)) throw new Error(`Unexpected array in result for path element ${step}`);
    current = ownValue(current as Data, step);
  }
  return current;
}

async function runFetch(run: PlanRun, node: PreparedFetch, cursor: Cursor): Promise<void> {
  const entities = Array.isArray(cursor.data) ? cursor.data.filter((e) => e !== null && e !== undefined) : [cursor.data];
  if (entities.length === 0) return;
  const variables: Data = Object.create(null);
  const provided = run.requestContext.request.variables;
  if (provided) {
    for (const name of node.variableUsages) {
      if (Object.prototype.hasOwnProperty.call(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
    }
  }
  const { applyRewrites } = run.rewrites;
  if (!node.representationOf) {
    const received = await send(run, node, cursor, variables, undefined);
    if (received) applyRewrites(run.supergraphSchema, node.outputRewrites, received);
    for (const entity of entities) mergeInto(entity as Data, received);
    return;
  }
  const representations: Data[] = [];
  const entityOfRepresentation: Data[] = [];
  for (const entity of entities) {
    const representation = node.representationOf(entity);
    if (!representation || !representation.__typename) continue;
    applyRewrites(run.supergraphSchema, node.inputRewrites, representation);
    representations.push(representation);
    entityOfRepresentation.push(entity as Data);
  }
  if (representations.length === 0) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  const received = await send(run, node, cursor, variables, representations);
  if (!received) return;
  const answered = received._entities;
  if (!Array.isArray(answered)) throw new Error('Expected "data._entities" in response to be an array');
  if (answered.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < answered.length; i++) {
    const entity = answered[i] as Data | null;
    const existing = entityOfRepresentation[i]!;
    if (entity && !entity.__typename) entity.__typename = existing.__typename;
    if (entity) applyRewrites(run.supergraphSchema, node.outputRewrites, entity);
    mergeInto(existing, entity);
  }
}

async function send(run: PlanRun, node: PreparedFetch, cursor: Cursor, variables: Data, representations: Data[] | undefined): Promise<Data | null | undefined> {
  const { requestContext } = run;
  const { response, policy, fromMemory } = await run.readPath.fetch(node.fetch, { request: run.request, variables, ...(representations ? { representations } : {}), servesAgain: run.fromMemory !== null });
  run.fromMemory?.push(fromMemory ?? null);
  if (policy) requestContext.overallCachePolicy?.restrict({ maxAge: policy.maxAgeSeconds, scope: policy.scope === 'private' ? 'PRIVATE' : 'PUBLIC' });
  if (response.errors) {
    const serviceName = node.fetch.subgraph;
    const pathOf = errorPathMapper(node, cursor, run.fullResult);
    for (const error of response.errors) run.errors.push(fromSubgraph(error as GraphQLError, serviceName, pathOf));
    if (!response.extensions?.ftv1) {
      // What Apollo's usage reporting reads for errors from subgraphs that send no trace.
      const metrics = requestContext.metrics as { nonFtv1ErrorPaths?: { subgraph: string; path: unknown }[] };
      const paths = response.errors.map((error) => ({ subgraph: serviceName, path: error.path }));
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
      else metrics.nonFtv1ErrorPaths = paths;
    }
  }
  return response.data as Data | null | undefined;
}

/**
 * A subgraph error's path in the client's answer: `_entities` index i is the i-th entity found at the fetch's
 * path in the merged result; other paths are relative to the fetch's path.
 */
function errorPathMapper(fetch: PreparedFetch, cursor: Cursor, fullResult: Data): (path: readonly (string | number)[] | undefined) => ResponsePath | undefined {
  let entityPaths: ResponsePath[] | undefined;
  return (path) => {
    if (fetch.requires && typeof path?.[1] === 'number') {
      entityPaths ??= entityPathsAt(cursor.path, fullResult);
      return [...(entityPaths[path[1]] ?? []), ...path.slice(2)];
    }
    return path ? [...cursor.path, ...path] : undefined;
  };
}

function entityPathsAt(path: ResponsePath, data: unknown): ResponsePath[] {
  const found: ResponsePath[] = [];
  const visit = (at: number, value: unknown, prefix: ResponsePath) => {
    if (value === null || value === undefined) return;
    const step = path[at];
    if (step === undefined) {
      found.push(prefix.slice());
    } else if (step === '@' || (typeof step === 'string' && Array.isArray(value))) {
      if (!Array.isArray(value)) throw new Error('expected array when encountering `@`');
      const next = step === '@' ? at + 1 : at;
      value.forEach((item, i) => {
        prefix.push(i);
        visit(next, item, prefix);
        prefix.pop();
      });
    } else if (typeof step === 'string') {
      if (Object.prototype.hasOwnProperty.call(value, step)) {
        prefix.push(step);
        visit(at + 1, (value as Data)[step], prefix);
        prefix.pop();
      }
    } else {
      throw new Error(`unknown path part "${step}"`);
    }
  };
  visit(0, data, []);
  return found;
}

/** A subgraph's error as the client sees it: its code kept (or DOWNSTREAM_SERVICE_ERROR), `serviceName` added. */
export function fromSubgraph(error: GraphQLError, serviceName: string, pathOf: (path: readonly (string | number)[] | undefined) => ResponsePath | undefined): GraphQLError {
  const message = error.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = { originalError: error, path: pathOf(error.path), extensions: { ...error.extensions, serviceName } };
  const code = errorCodeDef(error);
  // Built without a stack: none is ever shown (includeStacktraceInErrorResponses is off), and a failed entity fetch
  // gives one error per entity, where capturing a stack was a third of the cost of each.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    if (!code && error.extensions?.code) return new GraphQLError(message, options);
    return (code ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Reads what `requires` selects out of an entity; null when a selected field is missing (no representation). */
function representationReader(schema: GraphQLSchema, rewrites: DataRewrites, selections: readonly QueryPlanSelectionNode[]): (source: unknown) => Data | null {
  const steps = selections.map((selection) => {
    if (selection.kind === 'Field') {
      return {
        kind: 'field' as const,
        responseName: selection.alias ?? selection.name,
        read: selection.selections ? representationReader(schema, rewrites, selection.selections) : null,
      };
    }
    const typeCondition = selection.typeCondition;
    const byTypename = new Map<unknown, boolean>();
    return {
      kind: 'fragment' as const,
      typeCondition,
      read: representationReader(schema, rewrites, selection.selections),
      applies(source: Data): boolean {
        const typename = source.__typename;
        let applies = byTypename.get(typename);
        if (applies === undefined) {
          applies = rewrites.isObjectOfType(schema, source, typeCondition!);
          byTypename.set(typename, applies);
        }
        return applies;
      },
    };
  });
  // Plain objects (fast to fill and to serialize into the call's body) unless a key is one of Object.prototype's.
  const protoKey = steps.some((step) => step.kind === 'field' && step.responseName in Object.prototype);
  const read = (source: unknown): Data | null => {
    if (source === null) return null;
    const result: Data = protoKey ? Object.create(null) : {};
    for (const step of steps) {
      if (step.kind === 'field') {
        const value = ownValue(source as Data, step.responseName);
        if (value === undefined) return null;
        if (Array.isArray(value)) result[step.responseName] = step.read ? value.map(step.read) : value.slice();
        else result[step.responseName] = step.read ? step.read(value) : value;
      } else if (step.typeCondition && source && step.applies(source as Data)) {
        mergeInto(result, step.read(source));
      }
    }
    return result;
  };
  return read;
}

/** Merges a fetch's answer into what earlier fetches put there, as stock's `deepMerge`. */
export function mergeInto(target: Data, source: Data | null | undefined): Data {
  if (source === undefined || source === null) return target;
  // for-in, not Object.keys: no array per merged object; answers are parsed JSON or null-prototype objects, so
  // nothing enumerable is inherited.
  for (const key in source) {
    const value = source[key];
    if (value === undefined) continue;
    ownSlot(target, key);
    const existing = target[key];
    if (existing && isObject(value)) {
      mergeInto(existing as Data, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) mergeInto(existing[i] as Data, value[i] as Data);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** Makes `key` an own property before it is written, so a key like `constructor` never lands on a prototype. */
function ownSlot(target: Data, key: string): void {
  if (!Object.prototype.hasOwnProperty.call(target, key) && key in target) {
    Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
  }
}

function isObject(value: unknown): value is Data {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
