/**
 * What the data source knows about one incoming operation, shared by all its subgraph fetches: who is calling,
 * whether they asked for revalidated data (`Cache-Control: no-cache`), when the operation's budget runs out, and
 * which stale values were served. Kept in a WeakMap keyed by the operation's context object, so nothing outlives
 * the request.
 */
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { parseRequestDirectives } from '../cache/cacheHints.js';
import { callerIdentity } from '../identity.js';

export interface StaleServed {
  subgraph: string;
  typename: string | null;
  ageSeconds: number;
}

export interface OperationState {
  identity: string | null;
  noCache: boolean;
  deadlineAtMs: number;
  staleServed: StaleServed[];
}

/** Our server puts the arrival time in the context so the budget counts from the request, not the first fetch. */
export const REQUEST_STARTED_AT = Symbol.for('hybrid-gateway.requestStartedAtMs');

const states = new WeakMap<object, OperationState>();

export function operationState(incoming: GatewayGraphQLRequestContext<Record<string, any>>, budgetMs: number, nowMs: number): OperationState {
  const owner = (incoming.context ?? incoming) as object;
  let state = states.get(owner);
  if (!state) {
    const headers = incoming.request.http?.headers;
    const startedAtMs = (owner as Record<symbol, unknown>)[REQUEST_STARTED_AT];
    state = {
      identity: callerIdentity(headers),
      noCache: parseRequestDirectives(headers?.get('cache-control'), headers?.get('pragma')).noCache,
      deadlineAtMs: (typeof startedAtMs === 'number' ? startedAtMs : nowMs) + budgetMs,
      staleServed: [],
    };
    states.set(owner, state);
  }
  return state;
}

/** The state of an operation, if any fetch of it ran (for the response report). */
export function existingOperationState(context: object): OperationState | undefined {
  return states.get(context);
}
