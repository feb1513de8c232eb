/**
 * The deadline stage on a manual clock: the smaller of the call's timeout and the budget left decides, only the
 * subgraph's own timeout counts against it, a call whose budget allows it may finish late (a few at once, up to its
 * late allowance, and its outcome says so) and an answer read in the same turn as the timer wins.
 */
import { describe, expect, it } from 'vitest';
import type { SubgraphFailure } from '../../src/errors.js';
import type { CallOutcome, SubgraphCall } from '../../src/datasource/pipeline.js';
import { deadlineStage } from '../../src/datasource/stages/deadline.js';
import type { TransportResponse } from '../../src/datasource/stages/transport.js';
import { ManualClock } from '../support/manualClock.js';
import { OK, endOfTurn, heldDispatch, subgraphCall, watch, type Watched } from '../support/heldDispatch.js';

const LATE_ANSWER: TransportResponse = { status: 200, headers: {}, body: { data: { _entities: [{ name: 'late' }] } }, bytes: 40 };

/** An entity call (300 ms) that may go on late up to the subgraph's root timeout (1000 ms from when it left). */
const mayFinishLate = (overrides: Partial<SubgraphCall> = {}) => subgraphCall({ budget: { callTimeoutMs: 300, operationEndsAtMs: Number.POSITIVE_INFINITY, lateAllowanceMs: 1_000 }, ...overrides });

function setup({ maxLateCalls = 2, turns }: { maxLateCalls?: number; turns?: (() => void)[] } = {}) {
  const clock = new ManualClock();
  const next = heldDispatch({ failOnAbort: true });
  const dispatch = deadlineStage({
    serviceName: 'brands',
    clock,
    maxLateCalls,
    // Verdicts at once, unless the test holds them to the end of a turn it controls.
    afterCurrentTurn: turns ? (run) => void turns.push(run) : (run) => run(),
  })(next.dispatch);
  return { clock, next, dispatch };
}

const outcomeOf = (watched: Watched<CallOutcome>) => watched.value as Extract<CallOutcome, { kind: 'failed' }>;
const failureOf = (watched: Watched<CallOutcome>): SubgraphFailure => outcomeOf(watched).failure;

describe('deadline stage', () => {
  it('gives an entity call its entity timeout: SUBGRAPH_TIMEOUT at 300 ms, counted against the subgraph, call aborted', async () => {
    const { clock, next, dispatch } = setup();
    const result = watch(dispatch(subgraphCall({ kind: 'entities' })));
    clock.advance(299);
    await endOfTurn();
    expect(result.state).toBe('pending');
    clock.advance(1);
    await endOfTurn();
    expect(result.value).toMatchObject({ kind: 'failed' });
    expect(failureOf(result)).toMatchObject({ code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within 300 ms', countsAgainstSubgraph: true });
    expect(next.calls).toHaveLength(1);
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
    expect(next.calls[0]!.call.signal!.reason).toBe(failureOf(result));
  });

  it('gives a root call its root timeout', async () => {
    const { clock, dispatch } = setup();
    const result = watch(dispatch(subgraphCall({ kind: 'root', budget: { callTimeoutMs: 1_000, operationEndsAtMs: Number.POSITIVE_INFINITY, lateAllowanceMs: 0 } })));
    clock.advance(999);
    await endOfTurn();
    expect(result.state).toBe('pending');
    clock.advance(1);
    await endOfTurn();
    expect(failureOf(result)).toMatchObject({ code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within 1000 ms', countsAgainstSubgraph: true });
  });

  it('gives only what is left of the operation budget when that is less, and that timeout is not the subgraph\'s fault', async () => {
    const { clock, next, dispatch } = setup();
    const result = watch(dispatch(subgraphCall({ budget: { callTimeoutMs: 300, operationEndsAtMs: clock.now() + 120, lateAllowanceMs: 0 } })));
    clock.advance(119);
    await endOfTurn();
    expect(result.state).toBe('pending');
    clock.advance(1);
    await endOfTurn();
    expect(failureOf(result)).toMatchObject({
      code: 'SUBGRAPH_TIMEOUT',
      message: 'brands did not answer within the 120 ms left of the operation budget',
      countsAgainstSubgraph: false,
    });
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
  });

  it('makes no call when the operation budget is already spent', async () => {
    const { clock, next, dispatch } = setup();
    const outcome = await dispatch(subgraphCall({ budget: { callTimeoutMs: 300, operationEndsAtMs: clock.now(), lateAllowanceMs: 0 } }));
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_TIMEOUT', message: 'no time was left in the operation budget to call brands', countsAgainstSubgraph: false } });
    expect(next.calls).toHaveLength(0);
  });

  it('passes an answer within the deadline through and leaves no timer behind', async () => {
    const { clock, next, dispatch } = setup();
    const result = watch(dispatch(subgraphCall()));
    clock.advance(299);
    next.calls[0]!.answer(OK);
    await endOfTurn();
    expect(result.value).toEqual({ kind: 'answered', response: OK });
    expect(clock.pending).toBe(0);
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
  });

  it('lets a call that may finish late go on past the deadline: the waiter fails at once, `late` brings the answer and the verdict', async () => {
    const { clock, next, dispatch } = setup();
    const result = watch(dispatch(mayFinishLate()));
    clock.advance(300);
    await endOfTurn();
    // Not counted now: the breaker judges the call by how `late` ends.
    expect(failureOf(result)).toMatchObject({ code: 'SUBGRAPH_TIMEOUT', countsAgainstSubgraph: false });
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
    clock.advance(400);
    next.calls[0]!.answer(LATE_ANSWER);
    await expect(outcomeOf(result).late).resolves.toEqual({ kind: 'answered', response: LATE_ANSWER });
    expect(clock.pending).toBe(0);
  });

  it('aborts a late call at the subgraph\'s root timeout, counted from when the call left', async () => {
    const { clock, next, dispatch } = setup();
    const result = watch(dispatch(mayFinishLate()));
    clock.advance(300);
    await endOfTurn();
    const late = watch(outcomeOf(result).late!);
    clock.advance(699);
    await endOfTurn();
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
    clock.advance(1);
    await endOfTurn();
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
    expect(late.value).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_TIMEOUT', message: 'brands did not answer within 1000 ms' } });
  });

  it('lets at most maxLateCalls calls go on late at once; the next one is aborted, and a slot frees when a late one ends', async () => {
    const { clock, next, dispatch } = setup({ maxLateCalls: 2 });
    const results = [1, 2, 3].map(() => watch(dispatch(mayFinishLate())));
    clock.advance(300);
    await endOfTurn();
    expect(results.map((r) => outcomeOf(r).late !== undefined)).toEqual([true, true, false]);
    expect(next.calls.map((c) => c.call.signal!.aborted)).toEqual([false, false, true]);

    next.calls[0]!.answer(LATE_ANSWER);
    await endOfTurn();
    const fourth = watch(dispatch(mayFinishLate()));
    clock.advance(300);
    await endOfTurn();
    expect(outcomeOf(fourth).late).toBeDefined();
    expect(next.calls[3]!.call.signal!.aborted).toBe(false);
  });

  it('an answer that arrives in the same turn as the timer wins over the timeout', async () => {
    const turns: (() => void)[] = [];
    const { clock, next, dispatch } = setup({ turns });
    const result = watch(dispatch(subgraphCall()));
    clock.advance(300);
    expect(turns).toHaveLength(1);
    next.calls[0]!.answer(OK);
    await Promise.resolve();
    for (const run of turns.splice(0)) run();
    await endOfTurn();
    expect(result.value).toEqual({ kind: 'answered', response: OK });
    expect(next.calls[0]!.call.signal!.aborted).toBe(false);
  });

  it('a timer whose turn ends with no answer still times the call out', async () => {
    const turns: (() => void)[] = [];
    const { clock, dispatch } = setup({ turns });
    const result = watch(dispatch(subgraphCall()));
    clock.advance(300);
    await endOfTurn();
    expect(result.state).toBe('pending');
    for (const run of turns.splice(0)) run();
    await endOfTurn();
    expect(failureOf(result)).toMatchObject({ code: 'SUBGRAPH_TIMEOUT' });
  });

  it('aborts the call when its caller goes away, with a failure not counted against the subgraph', async () => {
    const { next, dispatch } = setup();
    const caller = new AbortController();
    const result = watch(dispatch(mayFinishLate({ signal: caller.signal })));
    caller.abort();
    await endOfTurn();
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
    expect(failureOf(result)).toMatchObject({ code: 'SUBGRAPH_TIMEOUT', message: 'every caller waiting for brands went away', countsAgainstSubgraph: false });
  });

  it('aborts at once a call whose caller is already gone', async () => {
    const { next, dispatch } = setup();
    const result = watch(dispatch(subgraphCall({ signal: AbortSignal.abort() })));
    await endOfTurn();
    expect(next.calls[0]!.call.signal!.aborted).toBe(true);
    expect(failureOf(result)).toMatchObject({ countsAgainstSubgraph: false });
  });
});
