/**
 * The breaker stage on a manual clock: it opens on the subgraph's own failures only, fails fast while open,
 * lets one probe through after the reset time and closes or reopens on how that probe ends.
 */
import { describe, expect, it } from 'vitest';
import { SubgraphFailure } from '../../src/errors.js';
import { SubgraphBreaker, breakerStage, type BreakerOptions, type BreakerState } from '../../src/datasource/stages/breaker.js';
import { ManualClock } from '../support/manualClock.js';
import type { CallOutcome } from '../../src/datasource/pipeline.js';
import { OK, endOfTurn, heldDispatch, subgraphCall, watch } from '../support/heldDispatch.js';

const OPTIONS: BreakerOptions = { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 1_000, rollingWindowMs: 10_000 };

function setup(options: Partial<BreakerOptions> = {}) {
  const clock = new ManualClock();
  const states: BreakerState[] = [];
  const breaker = new SubgraphBreaker('brands', { ...OPTIONS, ...options }, clock, (state) => states.push(state));
  const next = heldDispatch();
  const dispatch = breakerStage(breaker)(next.dispatch);
  /** One call through the breaker, ended by the subgraph as told; resolves once the breaker has heard. */
  const call = async (ending: 'ok' | 'fails' | 'notCounted') => {
    const result = watch(dispatch(subgraphCall()));
    const held = next.calls.at(-1)!;
    if (ending === 'ok') held.answer();
    else held.fail(new SubgraphFailure(ending === 'fails' ? 'SUBGRAPH_UNAVAILABLE' : 'SUBGRAPH_TIMEOUT', 'brands', 'x', { countsAgainstSubgraph: ending === 'fails' }));
    await endOfTurn();
    return result;
  };
  const open = async () => {
    for (let i = 0; i < (options.volumeThreshold ?? OPTIONS.volumeThreshold); i++) await call('fails');
    expect(breaker.state).toBe('open');
  };
  return { clock, states, breaker, next, dispatch, call, open };
}

describe('breaker stage', () => {
  it('opens once the failure share over the rolling window reaches the threshold with enough calls', async () => {
    const { breaker, states, call } = setup();
    await call('ok');
    await call('ok');
    await call('fails');
    // 1 of 3 failed, and 3 calls are fewer than the volume threshold of 4
    expect(breaker.state).toBe('closed');
    await call('fails');
    // 2 of 4 = 50 %
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
  });

  it('stays closed while the failure share is under the threshold, however many failures', async () => {
    const { breaker, states, call } = setup();
    for (const ending of ['ok', 'ok', 'fails', 'ok', 'ok', 'fails', 'ok', 'ok', 'fails'] as const) await call(ending);
    expect(breaker.state).toBe('closed');
    expect(states).toEqual([]);
  });

  it('while open, fails fast with SUBGRAPH_CIRCUIT_OPEN (not counted against the subgraph) and makes no call', async () => {
    const { next, dispatch, open } = setup();
    await open();
    const made = next.calls.length;
    const outcome = await dispatch(subgraphCall());
    expect(outcome.kind === 'failed' && outcome.failure).toBeInstanceOf(SubgraphFailure);
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_CIRCUIT_OPEN', serviceName: 'brands', countsAgainstSubgraph: false } });
    expect(next.calls.length).toBe(made);
  });

  it('turns half-open when the clock passes the reset time, and says so without waiting for a call', async () => {
    const { clock, states, breaker, open } = setup();
    await open();
    clock.advance(999);
    expect(states).toEqual(['open']);
    clock.advance(1);
    expect(states).toEqual(['open', 'halfOpen']);
    expect(breaker.state).toBe('halfOpen');
  });

  it('closes on a good probe, and the failures before it no longer count', async () => {
    const { clock, states, breaker, call, next, open } = setup();
    await open();
    clock.advance(1_000);
    const made = next.calls.length;
    expect((await call('ok')).value).toMatchObject({ kind: 'answered' });
    expect(next.calls.length).toBe(made + 1);
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'halfOpen', 'closed']);
    await call('fails');
    expect(breaker.state).toBe('closed');
  });

  it('reopens on a failed probe, for another reset time', async () => {
    const { clock, states, breaker, call, open } = setup();
    await open();
    clock.advance(1_000);
    expect((await call('fails')).value).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_UNAVAILABLE' } });
    expect(breaker.state).toBe('open');
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(states).toEqual(['open', 'halfOpen', 'open', 'halfOpen']);
  });

  it('lets only one probe through at a time; the others fail fast', async () => {
    const { clock, breaker, dispatch, next, open } = setup();
    await open();
    clock.advance(1_000);
    const made = next.calls.length;
    const probe = watch(dispatch(subgraphCall()));
    const second = await dispatch(subgraphCall());
    expect(second).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_CIRCUIT_OPEN' } });
    expect(next.calls.length).toBe(made + 1);
    next.calls.at(-1)!.answer();
    await endOfTurn();
    expect(probe.value).toMatchObject({ kind: 'answered' });
    expect(breaker.state).toBe('closed');
  });

  it('never opens on failures that are not the subgraph\'s (operation budget, caller gone)', async () => {
    const { breaker, states, call } = setup({ volumeThreshold: 1 });
    for (let i = 0; i < 20; i++) expect((await call('notCounted')).value).toMatchObject({ kind: 'failed', failure: { code: 'SUBGRAPH_TIMEOUT', countsAgainstSubgraph: false } });
    expect(breaker.state).toBe('closed');
    expect(states).toEqual([]);
  });

  it('stays half-open when its probe ends for a reason that is not the subgraph\'s, and the next call probes again', async () => {
    const { clock, breaker, states, call, next, open } = setup();
    await open();
    clock.advance(1_000);
    await call('notCounted');
    expect(breaker.state).toBe('halfOpen');
    const made = next.calls.length;
    expect((await call('ok')).value).toMatchObject({ kind: 'answered' });
    expect(next.calls.length).toBe(made + 1);
    expect(states).toEqual(['open', 'halfOpen', 'closed']);
  });

  it('forgets failures older than the rolling window', async () => {
    const { clock, breaker, call } = setup({ volumeThreshold: 2 });
    await call('fails');
    clock.advance(10_000);
    await call('fails');
    expect(breaker.state).toBe('closed');
    clock.advance(9_999);
    await call('fails');
    expect(breaker.state).toBe('open');
  });

  it('judges a call left running past its deadline by how it ends: answered late is a success, failed late a failure', async () => {
    const { breaker, next, dispatch } = setup({ volumeThreshold: 2 });
    const lateCall = (ending: Promise<CallOutcome>) => {
      const result = watch(dispatch(subgraphCall()));
      next.calls.at(-1)!.end({ kind: 'failed', failure: new SubgraphFailure('SUBGRAPH_TIMEOUT', 'brands', 'late', { countsAgainstSubgraph: false }), late: ending });
      return result;
    };
    let failLate!: () => void;
    lateCall(Promise.resolve({ kind: 'answered', response: OK }));
    lateCall(new Promise<CallOutcome>((resolve) => (failLate = () => resolve({ kind: 'failed', failure: new SubgraphFailure('SUBGRAPH_TIMEOUT', 'brands', 'gave up late') }))));
    await endOfTurn();
    // Neither was counted at its deadline; the one answered late is a success.
    expect(breaker.state).toBe('closed');
    failLate();
    await endOfTurn();
    // 1 failure of 2 judged calls = 50 %, at the volume threshold: the late failure counted.
    expect(breaker.state).toBe('open');
  });

  it('a slow subgraph that answers late keeps its breaker closed however many pages gave up on it', async () => {
    const { breaker, next, dispatch } = setup({ volumeThreshold: 2 });
    for (let i = 0; i < 10; i++) {
      watch(dispatch(subgraphCall()));
      const failure = new SubgraphFailure('SUBGRAPH_TIMEOUT', 'brands', 'late', { countsAgainstSubgraph: false });
      next.calls.at(-1)!.end({ kind: 'failed', failure, late: Promise.resolve({ kind: 'answered', response: OK }) });
    }
    await endOfTurn();
    expect(breaker.state).toBe('closed');
  });
});
