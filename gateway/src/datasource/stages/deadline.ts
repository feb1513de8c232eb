/**
 * The deadline stage: a call may take the smaller of its subgraph's timeout and what is left of the budget of the
 * last operation waiting for it, on the gateway's one clock. Past that the waiters get SUBGRAPH_TIMEOUT at once;
 * the call is aborted, or, for a cacheable query, left running (a few per subgraph, up to the subgraph's longer
 * root timeout) so its late answer still fills the cache for the pages after this one.
 *
 * A deadline measures the subgraph, not the gateway: the timer is armed when the call leaves (time queued in the
 * merge stage is the gateway's), and when it fires the verdict waits for the end of the current event-loop turn,
 * so an answer that already arrived while the gateway was busy wins over a timer that came due in the same turn.
 */
import type { Clock } from '../../clock.js';
import { SubgraphFailure } from '../../errors.js';
import type { Stage, SubgraphCall } from '../pipeline.js';

export interface SubgraphTimeouts {
  /** Root fetches (and the gateway's own calls); also how long a late entity call may run in all. */
  timeoutMs: number;
  /** Entity fetches, which fill optional parts of a page and so get a shorter leash. */
  entityTimeoutMs: number;
}

export interface Deadline {
  /** Milliseconds this call may take (0 = the budget is already spent). */
  timeoutMs: number;
  /** Which limit decided it: only the subgraph's own timeout is the subgraph's fault. */
  limitedBy: 'subgraph timeout' | 'operation budget';
}

/** Pure: the call's deadline from the clock reading, the subgraph's timeout and the budget's end. */
export function fetchDeadline(nowMs: number, subgraphTimeoutMs: number, budgetAtMs: number): Deadline {
  const budgetLeftMs = Math.max(0, Math.floor(budgetAtMs - nowMs));
  return budgetLeftMs < subgraphTimeoutMs
    ? { timeoutMs: budgetLeftMs, limitedBy: 'operation budget' }
    : { timeoutMs: subgraphTimeoutMs, limitedBy: 'subgraph timeout' };
}

export interface DeadlineStageOptions {
  serviceName: string;
  timeouts: SubgraphTimeouts;
  clock: Clock;
  /** How many calls past their deadline may go on at once to fill the cache; beyond that they are aborted. */
  maxLateCalls: number;
  /** Defers a verdict to the end of the current event-loop turn; injectable so tests can run it at once. */
  afterCurrentTurn?: (run: () => void) => void;
}

export function deadlineStage(options: DeadlineStageOptions): Stage {
  const { serviceName, timeouts, clock, maxLateCalls } = options;
  const afterCurrentTurn = options.afterCurrentTurn ?? ((run) => void setImmediate(run));
  let lateCalls = 0;

  return (next) => (call) => {
    const subgraphTimeoutMs = call.kind === 'entities' ? timeouts.entityTimeoutMs : timeouts.timeoutMs;
    const startedAtMs = clock.now();
    const deadline = fetchDeadline(startedAtMs, subgraphTimeoutMs, call.budgetAtMs);
    if (deadline.timeoutMs <= 0) return Promise.reject(timeoutFailure(serviceName, deadline));

    const controller = new AbortController();
    const cancel = () => controller.abort(callerGone(serviceName));
    if (call.signal?.aborted) cancel();
    call.signal?.addEventListener('abort', cancel, { once: true });
    const answer = next({ ...call, signal: controller.signal });

    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        timer.cancel();
        call.signal?.removeEventListener('abort', cancel);
      };
      const timer = clock.setTimer(deadline.timeoutMs, () => afterCurrentTurn(() => {
        if (settled) return;
        finish();
        const lateLeftMs = timeouts.timeoutMs - (clock.now() - startedAtMs);
        const goesOn = mayGoOn(call) && lateCalls < maxLateCalls && lateLeftMs > 0;
        // A call that goes on is judged by how it ends (the breaker reads `late`), not by this deadline.
        const failure = timeoutFailure(serviceName, deadline, goesOn);
        if (goesOn) {
          lateCalls++;
          const stop = clock.setTimer(lateLeftMs, () => controller.abort(timeoutFailure(serviceName, { timeoutMs: timeouts.timeoutMs, limitedBy: 'subgraph timeout' })));
          failure.late = answer.finally(() => {
            lateCalls--;
            stop.cancel();
          });
          // Nobody may be listening to a late answer that fails; it must not become an unhandled rejection.
          failure.late.catch(() => undefined);
        } else {
          controller.abort(failure);
        }
        reject(failure);
      }));
      answer.then(
        (response) => {
          if (settled) return;
          finish();
          resolve(response);
        },
        (error: unknown) => {
          if (settled) return;
          finish();
          reject(error);
        },
      );
    });
  };
}

function mayGoOn(call: SubgraphCall): boolean {
  return call.mayFinishLate && !call.signal?.aborted;
}

function timeoutFailure(serviceName: string, deadline: Deadline, goesOn = false): SubgraphFailure {
  const byBudget = deadline.limitedBy === 'operation budget';
  const message = byBudget
    ? deadline.timeoutMs <= 0
      ? `no time was left in the operation budget to call ${serviceName}`
      : `${serviceName} did not answer within the ${deadline.timeoutMs} ms left of the operation budget`
    : `${serviceName} did not answer within ${deadline.timeoutMs} ms`;
  return new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, message, { countsAgainstSubgraph: !byBudget && !goesOn });
}

function callerGone(serviceName: string): SubgraphFailure {
  return new SubgraphFailure('SUBGRAPH_TIMEOUT', serviceName, `every caller waiting for ${serviceName} went away`, { countsAgainstSubgraph: false });
}
