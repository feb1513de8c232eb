/**
 * The merge stage: the entity misses of every request in flight leave in as few `_entities` calls as possible.
 * Per subgraph and operation shape (query, other variables, forwarded headers) at most `maxCallsInFlight` calls
 * are out at once; loads that arrive meanwhile queue, and leave together (up to `maxBatchSize` representations,
 * each sent once) when a call comes back. A lone request waits for nothing: with a free slot its loads leave at
 * the end of the current event-loop turn, together with whatever else arrived in that turn.
 *
 * A load whose representation is already on its way joins that call. Every waiter stops waiting at its own
 * operation budget or when its caller goes away (neither is the subgraph's fault); a call nobody waits for any
 * more is cancelled. Results come back as values, never rejections, so one bad call touches only its own loads.
 */
import type { Clock } from '../../clock.js';
import { conditionalRequestExtensions } from '../../cache/entityValidation.js';
import { SubgraphFailure } from '../../errors.js';
import type { GatewayMetrics } from '../../metrics/registry.js';
import { REQUEST_ID_HEADER } from '../../request.js';
import { splitEntities, type EntityResult } from '../entityAnswer.js';
import type { Dispatch } from '../pipeline.js';
import type { TransportResponse } from './transport.js';

/** What must be identical for two loads to share one `_entities` call. */
export interface EntityGroup {
  key: string;
  query: string;
  operationName: string | undefined;
  /** The fetch's variables without `representations`. */
  variables: Record<string, unknown>;
  /** Forwarded headers (the caller's identity among them): part of the key. */
  headers: Record<string, string>;
  /** Anonymous queries may finish late to fill the cache; a private caller's never do. */
  mayFinishLate: boolean;
}

export interface EntityLoad {
  representation: Record<string, unknown>;
  /**
   * JSON of the representation (one group builds them all with one key order): equal ones share a slot, and the
   * call's body is written from these, so no representation is serialized twice.
   */
  representationKey: string;
  /** The validator of a stale cached copy, to revalidate instead of fetching in full. */
  ifNoneMatch: string | null;
}

/** The operation a set of loads is for. */
export interface Waiter {
  budgetAtMs: number;
  /** The operation's admission on the clock, where its page budget counts from; absent for the gateway's own refreshes. */
  startedAtMs?: number;
  signal?: AbortSignal;
  requestId: string;
  /** False when the caller asked for revalidation: an answer it will never see is not worth waiting for. */
  mayFinishLate: boolean;
}

export interface MergeStageOptions {
  serviceName: string;
  clock: Clock;
  maxCallsInFlight: number;
  maxBatchSize: number;
  /**
   * The longest a load waits for its answer, queue included (the subgraph's entity timeout): a slot stays busy
   * only while the subgraph has not answered, so waiting for one is waiting for the subgraph.
   */
  waitLimitMs: number;
  /**
   * The most of an operation's time, from its admission, that it waits for this subgraph's entities (null: none).
   * It bounds the page, not the call: a call whose waiters all reached it runs on to its own deadline.
   */
  pageBudgetMs?: number | null;
  metrics: GatewayMetrics;
  /** When queued loads leave, and when a waiter's time is up: the end of the current event-loop turn. */
  schedule?: (run: () => void) => void;
}

interface Pending {
  waiter: WaiterState;
  /** This load's place in its call's results. */
  index: number;
  done: boolean;
  slot?: Slot;
}

interface Slot {
  load: EntityLoad;
  pendings: Pending[];
  call?: Call;
  /** Once sent: what the call brings for this representation, even after its waiters gave up. */
  outcome?: Promise<EntityResult>;
  settle?: (result: EntityResult) => void;
}

interface Call {
  controller: AbortController;
  slots: Slot[];
}

interface WaiterState extends Waiter {
  pendings: Pending[];
  results: EntityResult[];
  unsettled: number;
  settleAll: (results: EntityResult[]) => void;
}

function settle(pending: Pending, result: EntityResult): void {
  const { waiter } = pending;
  waiter.results[pending.index] = result;
  if (--waiter.unsettled === 0) waiter.settleAll(waiter.results);
}

interface GroupState {
  group: EntityGroup;
  queue: Slot[];
  queued: Map<string, Slot>;
  sent: Map<string, Slot>;
  callsInFlight: number;
  pumpScheduled: boolean;
}

/** How many request ids a failure's log line lists. */
const LOGGED_REQUEST_IDS = 20;

export class MergeStage {
  private readonly groups = new Map<string, GroupState>();
  private readonly schedule: (run: () => void) => void;

  constructor(private readonly options: MergeStageOptions, private readonly send: Dispatch) {
    this.schedule = options.schedule ?? ((run) => void setImmediate(run));
  }

  /** One result per load, in order; never rejects. */
  loadEntities(group: EntityGroup, loads: readonly EntityLoad[], waiter: Waiter): Promise<EntityResult[]> {
    if (loads.length === 0) return Promise.resolve([]);
    const { metrics, serviceName, clock } = this.options;
    const state = this.groupState(group);
    // One promise per call, settled by the last of its loads: a promise (or a closure) per load would cost a page
    // with hundreds of representations hundreds of allocations.
    let settleAll!: (results: EntityResult[]) => void;
    const allSettled = new Promise<EntityResult[]>((resolve) => (settleAll = resolve));
    const waiting: WaiterState = { ...waiter, pendings: [], results: new Array<EntityResult>(loads.length), unsettled: loads.length, settleAll };
    // One increment per call, not per load: prom-client hashes the labels on every increment, and a large page
    // shares hundreds of representations.
    let deduplicated = 0;
    loads.forEach((load, index) => {
      const pending: Pending = { waiter: waiting, index, done: false };
      waiting.pendings.push(pending);
      const sent = state.sent.get(load.representationKey);
      if (sent && (sent.load.ifNoneMatch === null || sent.load.ifNoneMatch === load.ifNoneMatch)) {
        sent.pendings.push(pending);
        pending.slot = sent;
        deduplicated++;
        return;
      }
      const queued = state.queued.get(load.representationKey);
      if (queued) {
        // Different copies (or none): ask for the full entity, which serves them all.
        if (queued.load.ifNoneMatch !== load.ifNoneMatch) queued.load = { ...queued.load, ifNoneMatch: null };
        queued.pendings.push(pending);
        pending.slot = queued;
        deduplicated++;
        return;
      }
      const slot: Slot = { load, pendings: [pending] };
      pending.slot = slot;
      state.queue.push(slot);
      state.queued.set(load.representationKey, slot);
    });
    metrics.entity(serviceName, 'deduplicated', deduplicated);

    const { waitMs, message } = this.waitFor(waiter);
    // As in the deadline stage, an answer read in the same event-loop turn as the timer wins.
    const timer = clock.setTimer(waitMs, () => this.schedule(() => this.release(state, waiting,
      // The breaker judges calls, not waiters: a call that really is late is counted by the deadline stage.
      new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, message, { countsAgainstSubgraph: false }), false)));
    const onAbort = () => this.release(state, waiting,
      new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, 'the caller went away', { countsAgainstSubgraph: false }), true);
    if (waiter.signal?.aborted) onAbort();
    waiter.signal?.addEventListener('abort', onAbort, { once: true });
    this.schedulePump(state);
    return allSettled.finally(() => {
      timer.cancel();
      waiter.signal?.removeEventListener('abort', onAbort);
    });
  }

  /** How long a waiter waits from now: the first of the wait limit, its operation budget and its page budget. */
  private waitFor(waiter: Waiter): { waitMs: number; message: string } {
    const { clock, serviceName, waitLimitMs, pageBudgetMs } = this.options;
    const now = clock.now();
    const budgetLeftMs = Math.max(0, Math.floor(waiter.budgetAtMs - now));
    const pageLeftMs = pageBudgetMs && waiter.startedAtMs !== undefined
      ? Math.max(0, Math.floor(waiter.startedAtMs + pageBudgetMs - now))
      : Number.POSITIVE_INFINITY;
    if (pageLeftMs < waitLimitMs && pageLeftMs <= budgetLeftMs) {
      return { waitMs: pageLeftMs, message: `${serviceName} did not answer within the ${pageBudgetMs} ms a page waits for it (${pageLeftMs} ms were left when it was asked)` };
    }
    if (budgetLeftMs < waitLimitMs) {
      return { waitMs: budgetLeftMs, message: `${serviceName} did not answer within the ${budgetLeftMs} ms left of the operation budget` };
    }
    return { waitMs: waitLimitMs, message: `${serviceName} did not answer within ${waitLimitMs} ms` };
  }

  private groupState(group: EntityGroup): GroupState {
    let state = this.groups.get(group.key);
    if (!state) {
      state = { group, queue: [], queued: new Map(), sent: new Map(), callsInFlight: 0, pumpScheduled: false };
      this.groups.set(group.key, state);
    }
    return state;
  }

  /**
   * The waiter stops waiting: its loads fail now and slots nobody waits for leave the queue. A call already sent
   * is cancelled only when every waiter's caller went away; one whose waiters merely ran out of time goes on to its
   * own deadline, where the breaker hears how the subgraph did and a late answer may still fill the cache.
   */
  private release(state: GroupState, waiter: WaiterState, failure: SubgraphFailure, callerGone: boolean): void {
    const touched = new Set<Call>();
    for (const pending of waiter.pendings) {
      if (pending.done) continue;
      pending.done = true;
      const slot = pending.slot!;
      slot.pendings = slot.pendings.filter((p) => p !== pending);
      if (slot.call) {
        touched.add(slot.call);
        settle(pending, { kind: 'failed', failure, ...(callerGone ? {} : { late: slot.outcome! }) });
        continue;
      }
      settle(pending, { kind: 'failed', failure });
      if (slot.pendings.length === 0) {
        state.queued.delete(slot.load.representationKey);
        state.queue.splice(state.queue.indexOf(slot), 1);
      }
    }
    if (callerGone) {
      for (const call of touched) {
        if (call.slots.every((s) => s.pendings.length === 0)) call.controller.abort();
      }
    }
    this.forgetIfIdle(state);
  }

  private schedulePump(state: GroupState): void {
    if (state.pumpScheduled || state.queue.length === 0) return;
    state.pumpScheduled = true;
    this.schedule(() => {
      state.pumpScheduled = false;
      this.pump(state);
    });
  }

  private pump(state: GroupState): void {
    while (state.callsInFlight < this.options.maxCallsInFlight && state.queue.length > 0) {
      this.dispatch(state, state.queue.splice(0, this.options.maxBatchSize));
    }
  }

  private dispatch(state: GroupState, slots: Slot[]): void {
    const { metrics, serviceName } = this.options;
    const { group } = state;
    const call: Call = { controller: new AbortController(), slots };
    for (const slot of slots) {
      state.queued.delete(slot.load.representationKey);
      state.sent.set(slot.load.representationKey, slot);
      slot.call = call;
      slot.outcome = new Promise((settle) => (slot.settle = settle));
    }
    const waiters = [...new Set(slots.flatMap((s) => s.pendings.map((p) => p.waiter)))];
    const ifNoneMatch = slots.map((s) => s.load.ifNoneMatch);
    const revalidating = ifNoneMatch.filter((v) => v !== null).length;
    metrics.entity(serviceName, 'revalidated', revalidating);
    metrics.entity(serviceName, 'fetched', slots.length - revalidating);
    const body = callBody(group, slots.map((s) => s.load.representationKey), revalidating > 0 ? ifNoneMatch : null);
    state.callsInFlight++;
    const answer = this.send({
      kind: 'entities',
      body,
      headers: { ...group.headers, [REQUEST_ID_HEADER]: waiters[0]?.requestId ?? '' },
      budgetAtMs: Math.max(...waiters.map((w) => w.budgetAtMs)),
      mayFinishLate: group.mayFinishLate && waiters.some((w) => w.mayFinishLate),
      signal: call.controller.signal,
      operationName: group.operationName,
      requestIds: waiters.slice(0, LOGGED_REQUEST_IDS).map((w) => w.requestId),
    });
    const split = (response: TransportResponse) => splitEntities(serviceName, response, slots.length, ifNoneMatch);
    answer.then(split, (error: unknown) => this.failedResults(error, slots.length, split)).then((results) => {
      state.callsInFlight--;
      slots.forEach((slot, i) => {
        if (state.sent.get(slot.load.representationKey) === slot) state.sent.delete(slot.load.representationKey);
        slot.settle!(results[i]!);
        const result = results[i]!;
        if (result.kind === 'answer') result.consumers = slot.pendings.filter((p) => !p.done).length;
        for (const pending of slot.pendings) {
          if (pending.done) continue;
          pending.done = true;
          settle(pending, results[i]!);
        }
      });
      if (results.some((r) => r.kind === 'answer' && r.notModified)) {
        metrics.entity(serviceName, 'not_modified', results.filter((r) => r.kind === 'answer' && r.notModified).length);
      }
      this.schedulePump(state);
      this.forgetIfIdle(state);
    });
  }

  private failedResults(error: unknown, count: number, split: (response: TransportResponse) => EntityResult[]): EntityResult[] {
    const { serviceName } = this.options;
    const failure = error instanceof SubgraphFailure
      ? error
      : new SubgraphFailure('SUBGRAPH_UNAVAILABLE', serviceName, `${serviceName} could not be called`, { cause: error });
    const late = failure.late as Promise<TransportResponse> | undefined;
    const lateResults = late?.then(split, (lateError: unknown) => this.failedResults(lateError, count, split));
    return Array.from({ length: count }, (_, i) => ({
      kind: 'failed',
      failure,
      ...(lateResults ? { late: lateResults.then((results) => results[i]!) } : {}),
    }));
  }

  private forgetIfIdle(state: GroupState): void {
    if (state.callsInFlight === 0 && state.queue.length === 0 && state.sent.size === 0) this.groups.delete(state.group.key);
  }
}

/** The `_entities` call's JSON body: the group's query and variables, with the representations' JSON spliced in last. */
function callBody(group: EntityGroup, representationsJson: string[], ifNoneMatch: (string | null)[] | null): string {
  const variables = JSON.stringify(group.variables);
  const representations = `"representations":[${representationsJson.join(',')}]`;
  return `{"query":${JSON.stringify(group.query)}`
    + (group.operationName ? `,"operationName":${JSON.stringify(group.operationName)}` : '')
    + `,"variables":${variables === '{}' ? `{${representations}}` : `${variables.slice(0, -1)},${representations}}`}`
    + (ifNoneMatch ? `,"extensions":${JSON.stringify(conditionalRequestExtensions(ifNoneMatch))}` : '')
    + '}';
}
