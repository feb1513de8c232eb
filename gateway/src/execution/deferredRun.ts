/**
 * Runs a plan with `@defer` (a `Defer` node: a primary part and deferred fragments) so that the answer's first part
 * leaves as soon as the primary part is done, and each deferred fragment leaves the moment it is complete.
 *
 * - The primary part's fetches run first; its selection (the planner's `subselection`) is shaped into the first
 *   payload. Each deferred fragment then runs concurrently, on the same merged data (planRunner.ts), with a budget
 *   of its own counted from when it starts and no page budget (GatewayRequest.deferredPart): a slow source delays
 *   only its fragment, and nulls only that fragment's fields, with the error in that fragment's payload.
 * - A fragment is pending at every place its path reaches in what has been sent (one per list item), found in the
 *   shaped answer so far: a place nulled by an error upstream gets no fragment. Nested `@defer`s (a deferred node
 *   whose node is itself a `Defer`, or one beside its parent that depends on the parent's fetches) become pending
 *   when their parent is delivered, so they never arrive before it. A part starts on the event loop's next turn,
 *   once the part holding it has been written, unless the memo serves it (below).
 * - `@defer(if: $var)` is a `Condition` the planner puts around two plans; it is decided per request here.
 * - A part whose fetches were all served from fresh cache entries is kept as shaped, and served again to the next
 *   request bringing the same places' data while those entries last (partMemo.ts). Served so, a part of the first
 *   payload's is delivered with it, and leaves in its write.
 *
 * What it delivers (incrementalDelivery.ts writes it in the format the client asked for) is format-neutral.
 */
import { ERRORS, parseSelectionSet, type CompositeType, type Operation, type SelectionSet } from '@apollo/federation-internals';
import { evaluateCondition, type DeferNode, type PlanNode } from '@apollo/query-planner';
import { GraphQLError } from 'graphql';
import type { Clock } from '../clock.js';
import { ownValue } from '../jsonValues.js';
import type { GatewayRequest } from '../request.js';
import type { DeliveredPart, IncrementalAnswer, IncrementalStep, PendingPart, StepReader } from './incrementalDelivery.js';
import { memoizedPart, type MemoizedPart, type PartMemo } from './partMemo.js';
import { runPlanNode, type PlanRun, type PreparedNode } from './planRunner.js';
import { typeAtQueryPath, type FragmentShaper, type ShapedResponse } from './responseShaper.js';

type Data = Record<string, unknown>;
type Path = readonly (string | number)[];

/** A selection an answer's part is shaped with: the planner's `subselection`, at the type of its place. */
export interface PartSelection {
  selectionSet: SelectionSet;
  type: CompositeType;
  /** Compiled shapers, one per set of `@skip`/`@include` values (compiledExecutor.ts keys them). */
  shapers: Map<string, FragmentShaper>;
}

export interface PreparedDefer {
  kind: 'Defer';
  primary: PreparedNode | undefined;
  /** The first part's own selection; null when everything in it is deferred. */
  primarySelection: PartSelection | null;
  deferred: PreparedDeferred[];
  /**
   * A part may be announced after the first one: some fragment is nested in another. Only then does a run keep
   * what each delivered part holds, to find the places of those that come later.
   */
  nests: boolean;
}

export interface PreparedDeferred {
  /** The client's label; none for a `@defer` it left unlabelled (the planner labels those itself). */
  label: string | undefined;
  /** The planner's label for it, which other fragments' `depends` name. */
  plannerLabel: string | undefined;
  /** The fragments (planner's labels) it depends on: it is in one of them, so it comes after them. */
  after: string[];
  queryPath: string[];
  /** The fragment's own selection when its node is not itself a `Defer` (whose primary selection it is then). */
  selection: PartSelection | null;
  node: PreparedNode | undefined;
  /** Set when a run of it may be served again from memory (partMemo.ts). */
  memo: MemoizedPart | null;
}

/**
 * A Defer node whose parts are at `at` (the root, or the place of the deferred fragment it is the node of),
 * prepared; null when a part of it cannot be (its selections are parsed against the operation, which holds the
 * types of their places).
 */
export function prepareDefer(node: DeferNode, at: readonly string[], operation: Operation, client: { labels: ReadonlySet<string>; rootTypenames: string }, prepare: (child: PlanNode, at: readonly string[]) => PreparedNode | null): PreparedDefer | null {
  const primary = node.primary.node ? prepare(node.primary.node, at) : undefined;
  if (primary === null) return null;
  // The planner leaves the root's `__typename` out of its selections (no subgraph is asked for it).
  const subselection = at.length === 0 && client.rootTypenames ? `{ ${client.rootTypenames} ${node.primary.subselection?.slice(1, -1) ?? ''} }` : node.primary.subselection;
  const primarySelection = partSelection(operation, at, subselection);
  if (primarySelection === undefined) return null;
  const deferred: PreparedDeferred[] = [];
  for (const part of node.deferred) {
    const child = part.node ? prepare(part.node, part.queryPath) : undefined;
    const selection = partSelection(operation, part.queryPath, part.subselection);
    if (child === null || selection === undefined) return null;
    deferred.push({
      label: part.label !== undefined && client.labels.has(part.label) ? part.label : undefined,
      plannerLabel: part.label,
      after: part.depends.flatMap((dependency) => (dependency.deferLabel ? [dependency.deferLabel] : [])),
      queryPath: part.queryPath,
      selection,
      node: child,
      memo: null,
    });
  }
  const dependedOn = new Set(deferred.flatMap((part) => part.after));
  for (const part of deferred) {
    if (part.selection) part.memo = memoizedPart(part.node, part.queryPath, part.plannerLabel !== undefined && dependedOn.has(part.plannerLabel));
  }
  const nests = deferred.some((part) => part.after.length > 0 || mayDefer(part.node));
  return { kind: 'Defer', primary, primarySelection, deferred, nests };
}

/** Whether a part's node is a `Defer`, for some values of its conditions. */
function mayDefer(node: PreparedNode | undefined): boolean {
  if (node?.kind === 'Condition') return mayDefer(node.ifClause) || mayDefer(node.elseClause);
  return node?.kind === 'Defer';
}

/** Undefined: the place's type is not found in the operation. */
function partSelection(operation: Operation, queryPath: readonly string[], subselection: string | undefined): PartSelection | null | undefined {
  if (!subselection) return null;
  const type = typeAtQueryPath(operation, queryPath);
  if (!type) return undefined;
  const selectionSet = parseSelectionSet({ parentType: type, source: subselection, variableDefinitions: operation.variableDefinitions, validate: false });
  return { selectionSet, type, shapers: new Map() };
}

/** The node a request runs: `Condition`s decided by its variables. */
export function decideConditions(node: PreparedNode | undefined, variables: Record<string, unknown> | undefined, operation: Operation): PreparedNode | undefined {
  let current = node;
  while (current?.kind === 'Condition') {
    current = evaluateCondition(current.condition, operation.variableDefinitions, variables) ? current.ifClause : current.elseClause;
  }
  return current;
}

/** A part shaped: data and errors as the answer carries them (the compiled executor's rule for value completion). */
export interface PartAnswer {
  data: Data | null;
  errors: GraphQLError[];
  extensions?: Record<string, unknown>;
}

export interface DeferredRunContext {
  clock: Clock;
  /** Parts served again from memory; one per gateway. */
  memo: PartMemo;
  /** The shaper of a part's selection for this request's `@skip`/`@include` values. */
  shaperFor(selection: PartSelection): FragmentShaper;
  /** The first part from its fetch errors and its shaping (as the whole answer would be). */
  firstAnswerOf(fetchErrors: GraphQLError[], shaped: ShapedResponse): PartAnswer;
}

/**
 * Runs a Defer node: resolves with the first part once the primary fetches are done, and what follows it (null when
 * no deferred fragment has a place to go).
 */
export async function runDeferred(run: PlanRun, root: PreparedDefer, context: DeferredRunContext): Promise<{ first: PartAnswer; rest: IncrementalAnswer | null }> {
  if (root.primary) await runPlanNode(run, root.primary, { path: [], data: run.fullResult });
  const first = shapePart(root.primarySelection, run.fullResult, [], run.errors, context, context.firstAnswerOf);
  if (first.data === null) return { first, rest: null };
  // A fragment the planner puts beside its parent (it depends on the parent's fetches) waits for the parent.
  const delivered = new Set<string>();
  let waiting = root.deferred.filter((part) => part.after.length > 0);
  const childrenOf = (plannerLabel: string | undefined) => (plannerLabel === undefined ? [] : waiting.filter((part) => part.after.includes(plannerLabel)));
  for (const part of root.deferred) if (part.after.length === 0) fillPlaces(first.data, run.fullResult, part.queryPath);
  const sent = new SentAnswer(first.data);

  const queue = new StepQueue();
  let nextId = 0;
  let running = 0;
  /** Starts the parts whose places are known now; each leaves after the part it is in (`parentSent`). */
  const announce = (parts: readonly PreparedDeferred[], parentSent: Latch): PendingPart[] => {
    const pending: PendingPart[] = [];
    const servedNow: DeliveredPart[][] = [];
    for (const part of parts) {
      if (!part.after.every((label) => delivered.has(label))) continue;
      const { label } = part;
      const places = sent.placesOf(part.queryPath).map((path): PendingPart => (label === undefined ? { id: String(nextId++), path } : { id: String(nextId++), path, label }));
      if (places.length === 0) continue;
      pending.push(...places);
      running += 1;
      // Keyed here, before anything merges into its places.
      const memoKey = memoKeyOf(part, places);
      // A part the memo serves is delivered at once: it costs a lookup, and then no turn, no promise and no write of
      // its own, since it leaves in the write of the part it is in. In bench s4d that took the deferred page's CPU
      // from 0.74 to 0.64 s per 1000 pages (median of five rounds beside the build before, 2026-12-07).
      if (parentSent === OPEN && memoKey !== null) {
        // Asked as the request itself: the part's own would share its tags and its revalidation, and nothing else is read.
        const again = servedAgain(part, places, memoKey, run.request);
        if (again) {
          servedNow.push(again);
          continue;
        }
      }
      const partSent = root.nests ? new Latch() : OPEN;
      // Any other part starts on the event loop's next turn, once the part holding it has been written: its cache
      // lookups and merging are work the page does not wait for. Run at once, every such part would delay its page's
      // first write, and one subgraph answer completes many pages in one turn, whose first parts would all wait for
      // every one of their deferred parts: bench s4d's first payload p99 rose by half. Holding the first parts (a
      // corked socket) until this turn's parts had run saved no CPU and raised that p99 in 4 of 5 rounds
      // (2026-12-07). Starting them later instead, two a turn, oldest first, so that requests arriving meanwhile were
      // answered in between, left it as it was (1.19x against 1.20x, the same rounds). Whatever happens in it, a part
      // is delivered once: the answer ends only when every part has.
      onNextTurn(async () => {
        let step: Omit<IncrementalStep, 'hasNext'>;
        try {
          step = await deliver(part, places, partSent, memoKey);
        } catch (error) {
          step = { delivered: failed(places, error), pending: [] };
        }
        const parentWritten = parentSent.opened();
        if (parentWritten) await parentWritten;
        running -= 1;
        queue.push({ delivered: step.delivered, pending: step.pending, hasNext: running > 0 });
        partSent.open();
      });
    }
    // Queued once every part of this announcement is counted as running, so that `hasNext` says whether any is left.
    for (const parts of servedNow) {
      running -= 1;
      queue.push({ delivered: parts, pending: [], hasNext: running > 0 });
    }
    return pending;
  };
  /** The memo's key for a run of `part` at these places: keyed by their data before its fetches merge into them. */
  const memoKeyOf = (part: PreparedDeferred, places: readonly PendingPart[]): string | null => {
    if (!part.memo || !part.selection) return null;
    return context.memo.keyOf(part.memo, context.shaperFor(part.selection), run.requestContext.request.variables, places.map((place) => valueAt(run.fullResult, place.path)));
  };
  /** The part as the memo serves it again (it nests nothing and nothing depends on it), when it may. */
  const servedAgain = (part: PreparedDeferred, places: PendingPart[], memoKey: string, request: GatewayRequest): DeliveredPart[] | undefined => {
    const again = context.memo.served(memoKey, request);
    if (!again) return undefined;
    if (root.nests) places.forEach((place, i) => sent.delivered(place.path, again.data[i]!));
    return places.map((place, i) => ({ part: place, data: again.data[i]!, errors: [], json: again.json[i]! }));
  };
  const deliver = async (part: PreparedDeferred, places: PendingPart[], partSent: Latch, memoKey: string | null): Promise<Omit<IncrementalStep, 'hasNext'>> => {
    const partRun: PlanRun = { ...run, request: run.request.deferredPart(context.clock.now()), errors: [], fromMemory: null };
    let parts: DeliveredPart[];
    let nested: readonly PreparedDeferred[] = [];
    try {
      let node = decideConditions(part.node, run.requestContext.request.variables, run.operation);
      let selection = part.selection;
      if (node?.kind === 'Defer') {
        nested = node.deferred;
        selection = node.primarySelection;
        node = node.primary;
      }
      const again = memoKey === null ? undefined : servedAgain(part, places, memoKey, partRun.request);
      if (again) {
        parts = again;
      } else {
        if (memoKey !== null) partRun.fromMemory = [];
        if (node) await runPlanNode(partRun, node, { path: [], data: run.fullResult });
        const children = [...nested, ...childrenOf(part.plannerLabel)];
        parts = places.map((place) => {
          const input = valueAt(run.fullResult, place.path);
          const answer = shapePart(selection, input, place.path, errorsUnder(partRun.errors, place, places), context, deferredAnswerOf, partRun.request.staleServed);
          if (answer.data) {
            for (const child of children) fillPlaces(answer.data, input, child.queryPath, part.queryPath.length);
            if (root.nests) sent.delivered(place.path, answer.data);
          }
          return { part: place, ...answer };
        });
        if (memoKey !== null) context.memo.keep(memoKey, partRun.fromMemory!, parts);
      }
    } catch (error) {
      parts = failed(places, error);
      nested = [];
    }
    if (part.plannerLabel !== undefined) delivered.add(part.plannerLabel);
    const ready = childrenOf(part.plannerLabel).filter((child) => child.after.every((label) => delivered.has(label)));
    waiting = waiting.filter((child) => !ready.includes(child));
    return { delivered: parts, pending: announce([...nested, ...ready], partSent) };
  };

  const pending = announce(root.deferred, OPEN);
  if (pending.length === 0) return { first, rest: null };
  return { first, rest: { pending, read: () => queue.reader(() => running > 0) } };
}

/** The parts to start on the event loop's next turn: one `setImmediate` starts all those of a turn. */
let startingNextTurn: (() => void)[] | null = null;

function onNextTurn(start: () => void): void {
  if (startingNextTurn) {
    startingNextTurn.push(start);
    return;
  }
  startingNextTurn = [start];
  setImmediate(() => {
    const starts = startingNextTurn!;
    startingNextTurn = null;
    for (const begin of starts) begin();
  });
}

/** Open once a part has been queued: the parts found in it are queued after it. */
class Latch {
  private isOpen = false;
  private waiting: (() => void)[] = [];

  open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Resolved when open; an open latch costs its waiter nothing. */
  opened(): Promise<void> | undefined {
    return this.isOpen ? undefined : new Promise((resolve) => this.waiting.push(resolve));
  }
}

const OPEN = new Latch();
OPEN.open();

/** Every place of a part that failed as a whole (a bug, not a subgraph: those fail field by field). */
function failed(places: PendingPart[], error: unknown): DeliveredPart[] {
  const failure = error instanceof GraphQLError ? error : new GraphQLError(`A deferred part failed: ${(error as Error)?.message ?? String(error)}`, { originalError: error as Error });
  return places.map((place) => ({ part: place, data: null, errors: [failure] }));
}

/**
 * A deferred part's answer: a null in it always comes with its error. Those of shaping are reported when no fetch
 * failed (a failed fetch explains its nulls), as errors: stock's `valueCompletion` extension, which the first part
 * keeps, has no deferred counterpart to stay equal to.
 */
function deferredAnswerOf(fetchErrors: GraphQLError[], shaped: ShapedResponse, path: Path): PartAnswer {
  const errors = fetchErrors.length > 0 ? fetchErrors : shaped.errors;
  // Shaping nulls an object of a type name it cannot place without an error, as stock does; a deferred part says so.
  if (shaped.data === null && errors.length === 0) {
    return { data: null, errors: [ERRORS.INVALID_GRAPHQL.err(`The deferred fragment at ${path.join('.')} is null: its object's __typename is not one of the field's types.`, { path: [...path] })] };
  }
  return { data: shaped.data, errors };
}

function shapePart(selection: PartSelection | null, input: unknown, path: Path, fetchErrors: GraphQLError[], context: DeferredRunContext, answerOf: (fetchErrors: GraphQLError[], shaped: ShapedResponse, path: Path) => PartAnswer, staleServed?: readonly unknown[]): PartAnswer {
  const object = input !== null && typeof input === 'object' ? input as Data : {};
  const shaped = selection ? context.shaperFor(selection)(object, selection.type, path, fetchErrors.length === 0) : { data: {}, errors: [] };
  const answer = answerOf(fetchErrors, shaped, path);
  return staleServed?.length ? { ...answer, extensions: { ...answer.extensions, staleServed } } : answer;
}

/** The errors of a part's fetches that belong to one of its places (by path); those of no place go to the first. */
function errorsUnder(errors: GraphQLError[], place: PendingPart, places: PendingPart[]): GraphQLError[] {
  if (places.length === 1) return errors;
  const owner = (error: GraphQLError) => places.find((p) => error.path && p.path.every((step, i) => error.path![i] === step)) ?? places[0];
  return errors.filter((error) => owner(error) === place);
}

/**
 * Makes the places of a deferred fragment part of the answer that holds it: a field whose selection is nothing but
 * deferred fragments is sent as empty objects (one per list item), as the RFC has it, though the planner's
 * selection for the part holding it leaves the field out. `path.slice(at)` is relative to `out`, which shapes
 * `input` (walked by index: a page fills its places at every request).
 */
function fillPlaces(out: Data, input: unknown, path: readonly string[], at = 0): void {
  if (at === path.length || input === null || typeof input !== 'object') return;
  const name = path[at]!;
  const value = ownValue(input as Data, name);
  // Not fetched: the field is skipped (`@skip`/`@include`) for this request.
  if (value === undefined) return;
  if (!Object.hasOwn(out, name)) {
    out[name] = placeholder(value, path, at + 1);
    return;
  }
  fillWithin(out[name], value, path, at + 1);
}

function placeholder(value: unknown, path: readonly string[], at: number): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((item) => placeholder(item, path, at));
  const object: Data = {};
  fillPlaces(object, value, path, at);
  return object;
}

function fillWithin(out: unknown, value: unknown, path: readonly string[], at: number): void {
  if (Array.isArray(out) && Array.isArray(value)) {
    for (let i = 0; i < out.length; i++) fillWithin(out[i], value[i], path, at);
  } else if (out !== null && typeof out === 'object' && !Array.isArray(out)) {
    fillPlaces(out as Data, value, path, at);
  }
}

/**
 * The answer as the client has it so far: the first part and every part delivered since, each kept as it was sent
 * (the first part's objects are Apollo Server's to write, so nothing is merged into them).
 */
class SentAnswer {
  /** Made when a part is delivered into it: only a plan that nests parts reads them. */
  private parts: Map<string, Data> | null = null;

  constructor(private readonly first: Data) {}

  delivered(path: Path, data: Data): void {
    const key = JSON.stringify(path);
    this.parts ??= new Map();
    this.parts.set(key, { ...this.parts.get(key), ...data });
  }

  /** Every place `queryPath` reaches, list items expanded; a null ends a path. */
  placesOf(queryPath: readonly string[]): Path[] {
    const found: Path[] = [];
    // One path, extended and cut back as the walk goes: only a place found is copied.
    const path: (string | number)[] = [];
    const visit = (value: unknown, at: number) => {
      if (value === null || value === undefined) return;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          visit(value[i], at);
          path.pop();
        }
        return;
      }
      if (at === queryPath.length) {
        if (typeof value === 'object') found.push([...path]);
        return;
      }
      const name = queryPath[at]!;
      const part = this.parts !== null ? this.parts.get(JSON.stringify(path)) : undefined;
      const child = part && Object.hasOwn(part, name) ? part[name] : ownValue(value as Data, name);
      path.push(name);
      visit(child, at + 1);
      path.pop();
    };
    visit(this.first, 0);
    return found;
  }
}

function valueAt(data: unknown, path: Path): unknown {
  let current = data;
  for (const step of path) {
    if (current === null || current === undefined) return current;
    current = typeof step === 'number' ? (current as unknown[])[step] : ownValue(current as Data, step);
  }
  return current;
}

/**
 * Steps in the order their parts finish, kept for the answer's life: each reader (every request sharing the answer,
 * admission/admissionControl.ts) reads them all from the first, until no part is left running.
 */
class StepQueue {
  private readonly steps: IncrementalStep[] = [];
  private waiting: (() => void)[] = [];

  push(step: IncrementalStep): void {
    this.steps.push(step);
    const woken = this.waiting;
    this.waiting = [];
    for (const wake of woken) wake();
  }

  reader(running: () => boolean): StepReader {
    const { steps } = this;
    let next = 0;
    return {
      ready: () => {
        const taken = steps.slice(next);
        next = steps.length;
        return taken;
      },
      more: async () => {
        while (next === steps.length) {
          if (!running()) return false;
          await new Promise<void>((resolve) => this.waiting.push(resolve));
        }
        return true;
      },
    };
  }
}
