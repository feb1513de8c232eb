/**
 * The deadline stage: a call may take the smaller of its timeout and what is left of the budget of the last
 * operation waiting for it (budget.ts), on the gateway's one clock. Past that its waiters get SUBGRAPH_TIMEOUT at
 * once; the call is aborted, or, when its budget allows it to finish late, left running (a few per subgraph, up to
 * its late allowance) and its outcome says so: `late` brings how it ends, so its answer still fills the cache for
 * the pages after this one.
 *
 * A deadline measures the subgraph, not the gateway: the timer is armed when the call leaves (time queued in the
 * merge stage is the gateway's), and when it fires the verdict waits for the end of the current event-loop turn,
 * so an answer that already arrived while the gateway was busy wins over a timer that came due in the same turn.
 */
import type { Clock } from '../../clock.js';
import { SubgraphFailure } from '../../errors.js';
import { Cancellation } from '../../request.js';
import { callDeadline, lateLeftMs, type CallDeadline } from '../budget.js';
import type { CallOutcome, Stage, SubgraphCall } from '../pipeline.js';

export interface DeadlineStageOptions {
  serviceName: string;
  clock: Clock;
  /** How many calls past their deadline may go on at once to fill the cache; beyond that they are aborted. */
  maxLateCalls: number;
  /** Defers a verdict to the end of the current event-loop turn; injectable so tests can run it at once. */
  afterCurrentTurn?: (run: () => void) => void;
}

export function deadlineStage(options: DeadlineStageOptions): Stage {
  const { serviceName, clock, maxLateCalls } = options;
  const afterCurrentTurn = options.afterCurrentTurn ?? ((run) => void setImmediate(run));
  let lateCalls = 0;

  return (next) => (call) => {
    const startedAtMs = clock.now();
    const deadline = callDeadline(startedAtMs, call.budget.callTimeoutMs, call.budget.operationEndsAtMs);
    if (deadline.timeoutMs <= 0) return Promise.resolve({ kind: 'failed', failure: timeoutFailure(serviceName, deadline) });

    const controller = new Cancellation();
    const cancel = () => controller.abort(callerGone(serviceName));
    if (call.signal?.aborted) cancel();
    call.signal?.addEventListener('abort', cancel, { once: true });
    const answer = next({ ...call, signal: controller });

    return new Promise<CallOutcome>((resolve) => {
      let settled = false;
      const timer = clock.setTimer(deadline.timeoutMs, () => afterCurrentTurn(() => {
        if (settled) return;
        settled = true;
        call.signal?.removeEventListener('abort', cancel);
        const lateMs = lateLeftMs(call.budget.lateAllowanceMs, startedAtMs, clock.now());
        const goesOn = mayGoOn(call) && lateCalls < maxLateCalls && lateMs > 0;
        // A call that goes on is judged by how it ends (the breaker reads `late`), not by this deadline.
        const failure = timeoutFailure(serviceName, deadline, goesOn);
        if (!goesOn) {
          controller.abort(failure);
          return resolve({ kind: 'failed', failure });
        }
        lateCalls++;
        const stop = clock.setTimer(lateMs, () => controller.abort(timeoutFailure(serviceName, { timeoutMs: call.budget.lateAllowanceMs, limitedBy: 'subgraph timeout' })));
        const late = answer.finally(() => {
          lateCalls--;
          stop.cancel();
        });
        resolve({ kind: 'failed', failure, late });
      }));
      void answer.then((outcome) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        call.signal?.removeEventListener('abort', cancel);
        resolve(outcome);
      });
    });
  };
}

function mayGoOn(call: SubgraphCall): boolean {
  return call.budget.lateAllowanceMs > 0 && !call.signal?.aborted;
}

function timeoutFailure(serviceName: string, deadline: CallDeadline, goesOn = false): SubgraphFailure {
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
