/**
 * The shape every subgraph call has below the cache and merge stages, and how the call-level stages compose: a
 * stage takes the next dispatch and returns a dispatch, as undici's interceptors do, so behaviour is added by
 * wrapping, never by flags in one class. The answer returns through each stage that asked for it.
 *
 *   cache (stages/cache.ts) -> merge (stages/merge.ts) -> report -> breaker -> deadline -> transport
 */
import type { TransportResponse } from './stages/transport.js';

export interface SubgraphCall {
  /** Root fetches, `_entities` fetches, and the gateway's own health checks and schema loading. */
  kind: 'root' | 'entities' | 'internal';
  body: string;
  /** Forwarded to the subgraph as they are (lower-case names). */
  headers: Record<string, string>;
  /** When the operation budget of the last caller still waiting runs out (clock ms); Infinity for none. */
  budgetAtMs: number;
  /**
   * The call may go on past its deadline to fill the cache for later pages: queries only, never a private
   * caller's, never for a caller that asked for revalidation.
   */
  mayFinishLate: boolean;
  /** Aborted when nobody waits for the answer any more (each caller went away). */
  signal?: AbortSignal;
  /** For the log line of a failure. */
  operationName?: string;
  requestIds: readonly string[];
}

export type Dispatch = (call: SubgraphCall) => Promise<TransportResponse>;
export type Stage = (next: Dispatch) => Dispatch;

/** `compose(a, b)(transport)`: a call goes through a, then b, then the transport. */
export function compose(...stages: Stage[]): (transport: Dispatch) => Dispatch {
  for (const [i, stage] of stages.entries()) {
    if (typeof stage !== 'function') throw new TypeError(`stage ${i} is not a function`);
  }
  return (transport) => stages.reduceRight<Dispatch>((next, stage) => stage(next), transport);
}
