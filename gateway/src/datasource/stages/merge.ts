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
import { Cancellation, REQUEST_ID_HEADER, type CallSignal } from '../../request.js';
import { waitingEnds, type FetchBudget } from '../budget.js';
import { splitEntities, type EntityResult } from '../entityAnswer.js';
import { withHeaders } from './transport.js';
import type { CallOutcome, Dispatch } from '../pipeline.js';

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
  /**
   * Its limits (budget.ts): it waits at most the entity timeout from now (queue included: a busy slot is the subgraph
   * not answering), until its operation budget or its page budget for this subgraph runs out, whichever is first. The
   * page budget bounds the page, not the call: a call whose waiters all gave up runs on to its own deadline.
   */
  budget: FetchBudget;
  signal?: CallSignal;
  requestId: string;
}

/** One result per load, in order; never rejects. */
export type EntityLoader = (group: EntityGroup, loads: readonly EntityLoad[], waiter: Waiter) => Promise<EntityResult[]>;

export interface MergeStageOptions {
  serviceName: string;
  clock: Clock;
  maxCallsInFlight: number;
  maxBatchSize: number;
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
  /** Once sent: its place in the call's results. */
  position?: number;
}

interface Call {
  controller: Cancellation;
  slots: Slot[];
  /** What the call brings for each of its slots, even after their waiters gave up: one promise per call, not per slot. */
  results?: Promise<EntityResult[]>;
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

export function mergeStage(options: MergeStageOptions): (next: Dispatch) => EntityLoader {
  const { metrics, serviceName, clock } = options;
  const schedule = options.schedule ?? ((run: () => void) => void setImmediate(run));

  return (send) => {
    const groups = new Map<string, GroupState>();

    const groupState = (group: EntityGroup): GroupState => {
      let state = groups.get(group.key);
      if (!state) {
        state = { group, queue: [], queued: new Map(), sent: new Map(), callsInFlight: 0, pumpScheduled: false };
        groups.set(group.key, state);
      }
      return state;
    };

    const forgetIfIdle = (state: GroupState) => {
      if (state.callsInFlight === 0 && state.queue.length === 0 && state.sent.size === 0) groups.delete(state.group.key);
    };

    const schedulePump = (state: GroupState) => {
      if (state.pumpScheduled || state.queue.length === 0) return;
      state.pumpScheduled = true;
      schedule(() => {
        state.pumpScheduled = false;
        while (state.callsInFlight < options.maxCallsInFlight && state.queue.length > 0) dispatch(state, state.queue.splice(0, options.maxBatchSize));
      });
    };

    /**
     * The waiter stops waiting: its loads fail now and slots nobody waits for leave the queue. A call already sent
     * is cancelled only when every waiter's caller went away; one whose waiters merely ran out of time goes on to its
     * own deadline, where the breaker hears how the subgraph did and a late answer may still fill the cache.
     */
    const release = (state: GroupState, waiter: WaiterState, failure: SubgraphFailure, callerGone: boolean) => {
      const touched = new Set<Call>();
      for (const pending of waiter.pendings) {
        if (pending.done) continue;
        pending.done = true;
        const slot = pending.slot!;
        slot.pendings = slot.pendings.filter((p) => p !== pending);
        if (slot.call) {
          touched.add(slot.call);
          const call = slot.call;
          settle(pending, { kind: 'failed', failure, ...(callerGone ? {} : { late: call.results!.then((results) => results[slot.position!]!) }) });
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
      forgetIfIdle(state);
    };

    const dispatch = (state: GroupState, slots: Slot[]) => {
      const { group } = state;
      const call: Call = { controller: new Cancellation(), slots };
      slots.forEach((slot, position) => {
        state.queued.delete(slot.load.representationKey);
        state.sent.set(slot.load.representationKey, slot);
        slot.call = call;
        slot.position = position;
      });
      const waiterSet = new Set<WaiterState>();
      for (const slot of slots) for (const pending of slot.pendings) waiterSet.add(pending.waiter);
      const waiters = [...waiterSet];
      const ifNoneMatch = slots.map((s) => s.load.ifNoneMatch);
      const revalidating = ifNoneMatch.filter((v) => v !== null).length;
      metrics.entity(serviceName, 'revalidated', revalidating);
      metrics.entity(serviceName, 'fetched', slots.length - revalidating);
      state.callsInFlight++;
      const lateAllowanceMs = group.mayFinishLate ? Math.max(0, ...waiters.map((w) => w.budget.lateAllowanceMs)) : 0;
      const answer = send({
        kind: 'entities',
        body: callBody(group, slots.map((s) => s.load.representationKey), revalidating > 0 ? ifNoneMatch : null),
        headers: withHeaders(group.headers, { [REQUEST_ID_HEADER]: waiters[0]?.requestId ?? '' }),
        budget: {
          callTimeoutMs: Math.max(...waiters.map((w) => w.budget.callTimeoutMs)),
          operationEndsAtMs: Math.max(...waiters.map((w) => w.budget.operationEndsAtMs)),
          lateAllowanceMs,
        },
        signal: call.controller,
        operationName: group.operationName,
        requestIds: waiters.slice(0, LOGGED_REQUEST_IDS).map((w) => w.requestId),
      });
      call.results = answer.then((outcome) => resultsOf(outcome, slots.length, ifNoneMatch));
      void call.results.then((results) => {
        state.callsInFlight--;
        slots.forEach((slot, i) => {
          if (state.sent.get(slot.load.representationKey) === slot) state.sent.delete(slot.load.representationKey);
          const result = results[i]!;
          if (result.kind === 'answer') result.consumers = slot.pendings.filter((p) => !p.done).length;
          for (const pending of slot.pendings) {
            if (pending.done) continue;
            pending.done = true;
            settle(pending, result);
          }
        });
        const notModified = results.filter((r) => r.kind === 'answer' && r.notModified).length;
        if (notModified > 0) metrics.entity(serviceName, 'not_modified', notModified);
        schedulePump(state);
        forgetIfIdle(state);
      });
    };

    /** One result per representation of a call; a call left running late brings its results later, per entity. */
    const resultsOf = (outcome: CallOutcome, count: number, ifNoneMatch: readonly (string | null)[]): EntityResult[] => {
      if (outcome.kind === 'answered') return splitEntities(serviceName, outcome.response, count, ifNoneMatch);
      const late = outcome.late?.then((lateOutcome) => resultsOf(lateOutcome, count, ifNoneMatch));
      return Array.from({ length: count }, (_, i) => ({
        kind: 'failed',
        failure: outcome.failure,
        ...(late ? { late: late.then((results) => results[i]!) } : {}),
      }));
    };

    return (group, loads, waiter) => {
      // Nothing would ever settle the promise of a call without loads.
      if (loads.length === 0) return Promise.resolve([]);
      const state = groupState(group);
      // One promise per call, settled by the last of its loads: a promise (or a closure) per load would cost a page
      // with hundreds of representations hundreds of allocations.
      let settleAll!: (results: EntityResult[]) => void;
      const allSettled = new Promise<EntityResult[]>((resolve) => (settleAll = resolve));
      // Field by field: on Node 20 a key added to a spread's copy makes a new hidden class on every load.
      const waiting: WaiterState = { budget: waiter.budget, signal: waiter.signal, requestId: waiter.requestId, pendings: [], results: new Array<EntityResult>(loads.length), unsettled: loads.length, settleAll };
      // One increment per call, not per load: each is a tally's two map lookups (metrics/registry.ts), and a large
      // page shares hundreds of representations.
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

      const { waitMs, message } = waitingEnds(waiter.budget, serviceName, clock.now());
      // As in the deadline stage, an answer read in the same event-loop turn as the timer wins.
      const timer = clock.setTimer(waitMs, () => schedule(() => release(state, waiting,
        // The breaker judges calls, not waiters: a call that really is late is counted by the deadline stage.
        new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, message, { countsAgainstSubgraph: false }), false)));
      const onAbort = () => release(state, waiting,
        new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, 'the caller went away', { countsAgainstSubgraph: false }), true);
      if (waiter.signal?.aborted) onAbort();
      waiter.signal?.addEventListener('abort', onAbort, { once: true });
      schedulePump(state);
      return allSettled.finally(() => {
        timer.cancel();
        waiter.signal?.removeEventListener('abort', onAbort);
      });
    };
  };
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
