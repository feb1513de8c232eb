/**
 * A `next` Dispatch for stage unit tests: every call is recorded and held until the test answers or fails it by
 * hand, so a test counts exactly the calls a stage let through and decides when (and how) each one ends.
 */
import type { SubgraphFailure } from '../../src/errors.js';
import type { CallOutcome, Dispatch, SubgraphCall } from '../../src/datasource/pipeline.js';
import type { TransportResponse } from '../../src/datasource/stages/transport.js';

export interface HeldCall {
  call: SubgraphCall;
  answer(response?: TransportResponse): void;
  fail(failure: SubgraphFailure): void;
  /** Ends the call with this outcome (a failure with `late`, say). */
  end(outcome: CallOutcome): void;
}

export interface HeldDispatch {
  dispatch: Dispatch;
  calls: HeldCall[];
}

export const OK: TransportResponse = { status: 200, headers: {}, body: { data: { ok: true } }, bytes: 20 };

/** Holds every call; with `failOnAbort`, a call fails with its signal's reason when aborted, as the transport does. */
export function heldDispatch({ failOnAbort = false } = {}): HeldDispatch {
  const calls: HeldCall[] = [];
  const dispatch: Dispatch = (call) => new Promise<CallOutcome>((resolve) => {
    calls.push({ call, answer: (response = OK) => resolve({ kind: 'answered', response }), fail: (failure) => resolve({ kind: 'failed', failure }), end: resolve });
    if (!failOnAbort || !call.signal) return;
    const failed = () => resolve({ kind: 'failed', failure: call.signal!.reason as SubgraphFailure });
    if (call.signal.aborted) failed();
    else call.signal.addEventListener('abort', failed, { once: true });
  });
  return { dispatch, calls };
}

/** A call as the stages below merge see it: an entity call with a 300 ms timeout and no late allowance, unless told. */
export function subgraphCall(overrides: Partial<SubgraphCall> = {}): SubgraphCall {
  return {
    kind: 'entities',
    body: '{}',
    headers: {},
    budget: { callTimeoutMs: 300, operationEndsAtMs: Number.POSITIVE_INFINITY, lateAllowanceMs: 0 },
    requestIds: ['r1'],
    ...overrides,
  };
}

/** Lets every promise callback already queued run (awaiting the event loop's next turn, not sleeping). */
export const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Watched<T> {
  readonly state: 'pending' | 'fulfilled' | 'rejected';
  readonly value: T | undefined;
  readonly error: unknown;
}

/** Records how a promise ended, so a test can assert "still waiting" without awaiting it. */
export function watch<T>(promise: Promise<T>): Watched<T> {
  const watched = { state: 'pending', value: undefined, error: undefined } as { state: Watched<T>['state']; value: T | undefined; error: unknown };
  promise.then(
    (value) => Object.assign(watched, { state: 'fulfilled', value }),
    (error: unknown) => Object.assign(watched, { state: 'rejected', error }),
  );
  return watched;
}
