/**
 * The read path's stages and what flows between them. Every stage has one shape: a factory takes the stage's
 * options and returns `(next) => handler`, so a stage adds its behaviour by wrapping the next one, as undici's
 * interceptors do, and the answer returns through each stage that asked for it:
 *
 *   cache (FetchCall) -> merge (entity loads) -> [trace] -> report -> breaker -> deadline -> transport (SubgraphCall)
 *
 * Above the merge stage a call is one request's fetch; below it, one HTTP call to the subgraph, which may serve many
 * requests (their loads merged). Root fetches are not merged: the cache stage hands them to the call stages itself.
 * Nothing below the cache stage throws: a call ends with an outcome, and a call left running past its deadline to
 * fill the cache says so in its outcome (`late`).
 */
import type { SubgraphFailure } from '../errors.js';
import type { FetchBudget } from './budget.js';
import type { CallSignal } from '../request.js';
import type { TransportResponse } from './stages/transport.js';

/** The limits one call to a subgraph runs under (budget.ts): a merged call takes the most generous of its waiters'. */
export type CallBudget = Pick<FetchBudget, 'callTimeoutMs' | 'operationEndsAtMs' | 'lateAllowanceMs'>;

export interface SubgraphCall {
  /** Root fetches, `_entities` fetches, and the gateway's own health checks and schema loading. */
  kind: 'root' | 'entities' | 'internal';
  body: string;
  /** Forwarded to the subgraph as they are (lower-case names). */
  headers: Record<string, string>;
  budget: CallBudget;
  /** Aborted when nobody waits for the answer any more (each caller went away). */
  signal?: CallSignal;
  /** For the log line of a failure. */
  operationName?: string;
  requestIds: readonly string[];
}

/**
 * How a call ended: the subgraph's answer, or the failure that nulls the fields it would have filled. A call left
 * running past its deadline to fill the cache fails for its waiters at once, and `late` is how it ends after all.
 */
export type CallOutcome =
  | { kind: 'answered'; response: TransportResponse }
  | { kind: 'failed'; failure: SubgraphFailure; late?: Promise<CallOutcome> };

/** Never rejects. */
export type Dispatch = (call: SubgraphCall) => Promise<CallOutcome>;
export type Stage = (next: Dispatch) => Dispatch;

/** `compose(a, b)(transport)`: a call goes through a, then b, then the transport. */
export function compose(...stages: Stage[]): (transport: Dispatch) => Dispatch {
  for (const [i, stage] of stages.entries()) {
    if (typeof stage !== 'function') throw new TypeError(`stage ${i} is not a function`);
  }
  return (transport) => stages.reduceRight<Dispatch>((next, stage) => stage(next), transport);
}
