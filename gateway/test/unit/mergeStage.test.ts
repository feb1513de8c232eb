/**
 * The merge stage with a held `send`, a manual clock and event-loop turns the test ends by hand: loads of one
 * turn leave together, loads that arrive while the slots are busy queue and leave together when one frees, each
 * representation is sent once, and every waiter stops waiting on its own (time or caller) without touching the
 * others.
 */
import { describe, expect, it } from 'vitest';
import { SubgraphFailure } from '../../src/errors.js';
import type { FetchBudget } from '../../src/datasource/budget.js';
import type { EntityResult } from '../../src/datasource/entityAnswer.js';
import type { SubgraphCall } from '../../src/datasource/pipeline.js';
import { mergeStage, type EntityGroup, type EntityLoad, type MergeStageOptions, type Waiter } from '../../src/datasource/stages/merge.js';
import type { TransportResponse } from '../../src/datasource/stages/transport.js';
import { GatewayMetrics } from '../../src/metrics/registry.js';
import { ManualClock } from '../support/manualClock.js';
import { endOfTurn, heldDispatch, watch } from '../support/heldDispatch.js';

const GROUP: EntityGroup = {
  key: 'brands-page',
  query: 'query($representations:[_Any!]!){_entities(representations:$representations){...on Brand{name}}}',
  operationName: undefined,
  variables: {},
  headers: {},
  mayFinishLate: true,
};

const load = (id: string): EntityLoad => ({
  representation: { __typename: 'Brand', id },
  representationKey: JSON.stringify({ __typename: 'Brand', id }),
  ifNoneMatch: null,
});

function setup(options: Partial<MergeStageOptions> = {}) {
  const clock = new ManualClock();
  const turns: (() => void)[] = [];
  const next = heldDispatch();
  const merge = mergeStage({
    serviceName: 'brands',
    clock,
    maxCallsInFlight: 4,
    maxBatchSize: 100,
    metrics: new GatewayMetrics(),
    schedule: (run) => void turns.push(run),
    ...options,
  })(next.dispatch);
  /** Ends the current event-loop turn: what was scheduled in it runs; returns how many ran. */
  const endTurn = async () => {
    await endOfTurn();
    const due = turns.splice(0);
    for (const run of due) run();
    await endOfTurn();
    return due.length;
  };
  /** A page's waiter: a 300 ms entity timeout, 10 s of operation budget left, no page budget unless given. */
  const waiter = ({ budget, ...overrides }: Partial<Omit<Waiter, 'budget'>> & { budget?: Partial<FetchBudget> } = {}): Waiter => ({
    budget: { operationEndsAtMs: clock.now() + 10_000, pageBudgetMs: null, pageEndsAtMs: null, callTimeoutMs: 300, lateAllowanceMs: 1_000, ...budget },
    requestId: 'r',
    ...overrides,
  });
  const loadAll = (ids: string[], w: Waiter = waiter()) => watch(merge(GROUP, ids.map(load), w));
  return { clock, next, merge, endTurn, waiter, loadAll };
}

/** The brand ids a call asked for, in order. */
const idsSent = (call: SubgraphCall) => (JSON.parse(call.body).variables.representations as { id: string }[]).map((r) => r.id);

/** What the subgraph answers for a call: each brand's name. */
const answerFor = (call: SubgraphCall): TransportResponse => ({
  status: 200,
  headers: {},
  body: { data: { _entities: idsSent(call).map((id) => ({ __typename: 'Brand', name: `Brand ${id}` })) } },
  bytes: 100,
});

const names = (results: EntityResult[] | undefined) =>
  results?.map((r) => (r.kind === 'answer' ? (r.value as { name: string }).name : r.failure.code));

describe('merge stage', () => {
  it('sends the loads of several waiters in the same turn as one call, each representation once', async () => {
    const { next, endTurn, loadAll } = setup();
    const a = loadAll(['b1', 'b2']);
    const b = loadAll(['b2', 'b3', 'b1']);
    await endTurn();
    expect(next.calls.map((c) => idsSent(c.call))).toEqual([['b1', 'b2', 'b3']]);
    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endOfTurn();
    expect(names(a.value)).toEqual(['Brand b1', 'Brand b2']);
    expect(names(b.value)).toEqual(['Brand b2', 'Brand b3', 'Brand b1']);
  });

  it('sends a lone waiter\'s loads at the end of the current turn, without waiting on the clock', async () => {
    const { clock, next, endTurn, loadAll } = setup();
    const startedAt = clock.now();
    const a = loadAll(['b1']);
    expect(next.calls).toHaveLength(0);
    expect(await endTurn()).toBe(1);
    expect(next.calls).toHaveLength(1);
    expect(clock.now()).toBe(startedAt);
    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endOfTurn();
    expect(names(a.value)).toEqual(['Brand b1']);
  });

  it('with one call in flight, queues the loads that arrive meanwhile and sends them together when it returns', async () => {
    const { next, endTurn, loadAll } = setup({ maxCallsInFlight: 1 });
    const first = loadAll(['b1']);
    await endTurn();
    const later = [loadAll(['b2']), loadAll(['b3', 'b2']), loadAll(['b4'])];
    await endTurn();
    await endTurn();
    expect(next.calls).toHaveLength(1);

    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endTurn();
    expect(names(first.value)).toEqual(['Brand b1']);
    expect(next.calls.map((c) => idsSent(c.call))).toEqual([['b1'], ['b2', 'b3', 'b4']]);
    next.calls[1]!.answer(answerFor(next.calls[1]!.call));
    await endTurn();
    expect(later.map((w) => names(w.value))).toEqual([['Brand b2'], ['Brand b3', 'Brand b2'], ['Brand b4']]);
    expect(next.calls).toHaveLength(2);
  });

  it('splits a batch larger than maxBatchSize into calls of at most that many', async () => {
    const { next, endTurn, loadAll } = setup({ maxBatchSize: 2 });
    loadAll(['b1', 'b2', 'b3', 'b4', 'b5']);
    await endTurn();
    expect(next.calls.map((c) => idsSent(c.call))).toEqual([['b1', 'b2'], ['b3', 'b4'], ['b5']]);
  });

  it('joins a representation already on its way instead of sending it again', async () => {
    const { next, endTurn, loadAll } = setup();
    const a = loadAll(['b1']);
    await endTurn();
    const b = loadAll(['b1']);
    await endTurn();
    expect(next.calls).toHaveLength(1);
    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endOfTurn();
    expect(names(a.value)).toEqual(['Brand b1']);
    expect(names(b.value)).toEqual(['Brand b1']);
  });

  it('a waiter gives up at the end of its budget when that comes before the entity timeout; the others still get the answer, and it gets `late`', async () => {
    const { clock, next, endTurn, waiter, loadAll } = setup();
    const hurried = loadAll(['b1'], waiter({ budget: { operationEndsAtMs: clock.now() + 100 } }));
    const patient = loadAll(['b1', 'b2']);
    await endTurn();
    clock.advance(99);
    await endTurn();
    expect(hurried.state).toBe('pending');
    clock.advance(1);
    await endTurn();
    const [given] = hurried.value!;
    expect(given).toMatchObject({
      kind: 'failed',
      failure: { code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within the 100 ms left of the operation budget', countsAgainstSubgraph: false },
    });
    expect(patient.state).toBe('pending');
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);

    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endOfTurn();
    expect(names(patient.value)).toEqual(['Brand b1', 'Brand b2']);
    const late = given?.kind === 'failed' ? await given.late : undefined;
    expect(names(late && [late])).toEqual(['Brand b1']);
  });

  it('with a page budget, a waiter gives up that long after its operation was admitted (time spent before the load counts) and the call goes on', async () => {
    const { clock, next, endTurn, waiter, loadAll } = setup();
    // The page spent 40 ms on its first fetches before asking for these entities; a page admitted now has all 300.
    const later = loadAll(['b1'], waiter({ budget: { pageBudgetMs: 300, pageEndsAtMs: clock.now() - 40 + 300 } }));
    const fresh = loadAll(['b2'], waiter({ budget: { pageBudgetMs: 300, pageEndsAtMs: clock.now() + 300 } }));
    await endTurn();
    clock.advance(259);
    await endTurn();
    expect(later.state).toBe('pending');
    clock.advance(1);
    await endTurn();
    expect(later.value![0]).toMatchObject({
      kind: 'failed',
      failure: { code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within the 300 ms a page waits for it (260 ms were left when it was asked)', countsAgainstSubgraph: false },
    });
    expect(fresh.state).toBe('pending');
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
    clock.advance(40);
    await endTurn();
    expect(fresh.value![0]).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within 300 ms' } });

    // The call was never cut short by the page budget: its answer still arrives for whoever reads `late`.
    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    const late = later.value![0]!.kind === 'failed' ? await later.value![0]!.late : undefined;
    expect(names(late && [late])).toEqual(['Brand b1']);
  });

  it('without a page budget only the entity timeout and the operation budget count, however long the page ran before', async () => {
    const { clock, endTurn, waiter, loadAll } = setup();
    const page = loadAll(['b1'], waiter({ budget: { pageBudgetMs: null, pageEndsAtMs: null } }));
    await endTurn();
    clock.advance(299);
    await endTurn();
    expect(page.state).toBe('pending');
  });

  it('a waiter gives up at the entity timeout when its budget is longer, and the call that only ran out of time is not aborted', async () => {
    const { clock, next, endTurn, loadAll } = setup();
    const a = loadAll(['b1']);
    await endTurn();
    clock.advance(299);
    await endTurn();
    expect(a.state).toBe('pending');
    clock.advance(1);
    await endTurn();
    expect(a.value![0]).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within 300 ms' } });
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
  });

  it('a waiter whose caller goes away fails at once; the call goes on for the others and is aborted when nobody waits any more', async () => {
    const { next, endTurn, waiter, loadAll } = setup();
    const callers = [new AbortController(), new AbortController()];
    const [a, b] = callers.map((c) => loadAll(['b1'], waiter({ signal: c.signal })));
    await endTurn();
    callers[0]!.abort();
    await endOfTurn();
    expect(a!.value![0]).toMatchObject({ kind: 'failed', failure: { message: 'the caller went away', countsAgainstSubgraph: false } });
    expect(b!.state).toBe('pending');
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
    callers[1]!.abort();
    await endOfTurn();
    expect(b!.value![0]).toMatchObject({ kind: 'failed' });
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
  });

  it('a waiter whose caller goes away while its loads are queued takes them out of the queue: they are never sent', async () => {
    const { next, endTurn, waiter, loadAll } = setup({ maxCallsInFlight: 1 });
    loadAll(['b1']);
    await endTurn();
    const caller = new AbortController();
    const gone = loadAll(['b2', 'b3'], waiter({ signal: caller.signal }));
    const staying = loadAll(['b3']);
    caller.abort();
    await endOfTurn();
    expect(gone.value!.map((r) => r.kind)).toEqual(['failed', 'failed']);
    next.calls[0]!.answer(answerFor(next.calls[0]!.call));
    await endTurn();
    expect(next.calls.map((c) => idsSent(c.call))).toEqual([['b1'], ['b3']]);
    next.calls[1]!.answer(answerFor(next.calls[1]!.call));
    await endOfTurn();
    expect(names(staying.value)).toEqual(['Brand b3']);
  });

  it('a failed call gives every waiter a failed result, never a rejection', async () => {
    const { next, endTurn, loadAll } = setup();
    const a = loadAll(['b1', 'b2']);
    const b = loadAll(['b2']);
    await endTurn();
    next.calls[0]!.fail(new SubgraphFailure('SUBGRAPH_UNAVAILABLE', 'brands', 'brands answered HTTP 500', { status: 500 }));
    await endOfTurn();
    expect(a.state).toBe('fulfilled');
    expect(names(a.value)).toEqual(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_UNAVAILABLE']);
    expect(names(b.value)).toEqual(['SUBGRAPH_UNAVAILABLE']);
  });
});
