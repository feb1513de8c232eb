/**
 * What the data source knows about one incoming operation, shared by all its subgraph fetches: who is calling,
 * whether they asked for revalidated data (`Cache-Control: no-cache`), when the operation's budget runs out, its
 * request id, whether the caller is still there, and which stale values were served. Kept in a WeakMap keyed by
 * the operation's context object, so nothing outlives the request.
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
  /** Admission on the gateway's clock: the operation budget and the page budgets count from here. */
  startedAtMs: number;
  deadlineAtMs: number;
  requestId: string;
  /** Aborted when the caller disconnects before the answer is sent. */
  signal?: AbortSignal;
  staleServed: StaleServed[];
  /** The cache tags of everything this operation's answer shows (for a CDN's `Cache-Tag`). */
  cacheTags: Set<string>;
}

/** What our HTTP server knows of a request before Apollo runs it; put in the context under REQUEST_META. */
export interface RequestMeta {
  /** Arrival on the gateway's clock: the operation budget counts from here, not from the first fetch. */
  startedAtMs: number;
  requestId: string;
  signal: AbortSignal;
}

export const REQUEST_META = Symbol.for('hybrid-gateway.request');

const states = new WeakMap<object, OperationState>();
/** The same states by the server's RequestMeta: Apollo Server hands fetches a copy of the context, not ours. */
const statesByMeta = new WeakMap<RequestMeta, OperationState>();

export function operationState(incoming: GatewayGraphQLRequestContext<Record<string, any>>, budgetMs: number, nowMs: number): OperationState {
  const owner = (incoming.context ?? incoming) as object;
  let state = states.get(owner);
  if (!state) {
    const headers = incoming.request.http?.headers;
    const meta = (owner as Record<symbol, RequestMeta | undefined>)[REQUEST_META];
    state = {
      identity: callerIdentity(incoming.context),
      noCache: parseRequestDirectives(headers?.get('cache-control'), headers?.get('pragma')).noCache,
      startedAtMs: meta?.startedAtMs ?? nowMs,
      deadlineAtMs: (meta?.startedAtMs ?? nowMs) + budgetMs,
      requestId: meta?.requestId ?? '',
      signal: meta?.signal,
      staleServed: [],
      cacheTags: new Set(),
    };
    states.set(owner, state);
    if (meta) statesByMeta.set(meta, state);
  }
  return state;
}

/** The state of the operation our server started with this RequestMeta, if any fetch of it ran. */
export function operationStateOf(meta: RequestMeta): OperationState | undefined {
  return statesByMeta.get(meta);
}

/** The state of an operation, if any fetch of it ran (for the response report). */
export function existingOperationState(context: object): OperationState | undefined {
  return states.get(context);
}
