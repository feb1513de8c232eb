/**
 * Every `extensions.code` the gateway itself puts on an error, defined once with what it means. ERRORS.md is
 * kept in step with this registry by a test; Apollo Server's own codes (BAD_USER_INPUT, PERSISTED_QUERY_NOT_FOUND,
 * ...) and codes passed through from subgraphs are documented there too but not defined here.
 */
import { EXPLORER_ERROR_CODES, EXPLORER_ERROR_STATUS } from './explorer/explorerErrors.js';
import { PERSISTED_QUERY_ERROR_CODES, PERSISTED_QUERY_ERROR_STATUS } from './persisted/persistedErrors.js';

export const GATEWAY_ERROR_CODES = {
  ...PERSISTED_QUERY_ERROR_CODES,
  ...EXPLORER_ERROR_CODES,
  SUBGRAPH_TIMEOUT: 'The subgraph did not answer within its timeout, or the operation budget (or, for entities, the page budget for that subgraph) ran out first; the fields that fetch would have filled are null.',
  SUBGRAPH_UNAVAILABLE: 'The subgraph refused the connection, reset it, or answered HTTP 5xx; the fields that fetch would have filled are null.',
  SUBGRAPH_BAD_RESPONSE: 'The subgraph answered something that is not a GraphQL JSON response (or the wrong number of entities); the fields that fetch would have filled are null.',
  SUBGRAPH_CIRCUIT_OPEN: 'The subgraph failed repeatedly, so the gateway stopped waiting on it until a probe succeeds; the fields that fetch would have filled are null.',
  BAD_REQUEST: 'The HTTP request is not a GraphQL request the gateway can read (for example malformed JSON).',
  PAYLOAD_TOO_LARGE: 'The request body is larger than REQUEST_MAX_BODY_BYTES.',
  NOT_FOUND: 'No such route; GraphQL is served at /graphql.',
  GATEWAY_NOT_READY: 'The gateway is still loading its supergraph.',
  INVALIDATION_UNAUTHORIZED: 'POST /invalidation without the INVALIDATION_SECRET in its Authorization header; nothing was evicted.',
  INVALIDATION_BAD_REQUEST: 'POST /invalidation with a body that is not a list of cache_tag, entity, type or subgraph requests; nothing was evicted.',
  GATEWAY_OVERLOADED: 'The gateway has as many operations in progress and queued as it can finish within the operation budget; retry after the Retry-After seconds. No subgraph was called.',
  CORS_ORIGIN_NOT_ALLOWED: 'The browser origin is not in CORS_ORIGINS.',
  UNAUTHENTICATED: 'The request carries a token that does not verify (forged, expired, not yet valid, wrong issuer or audience, unaccepted algorithm, malformed) or a malformed Authorization header; nothing ran. WWW-Authenticate says why.',
  INTERNAL_SERVER_ERROR: 'Something failed inside the gateway; details are in its log, never in the response.',
  TOO_MANY_STREAMS: 'A subscription or live query over one of the limits on streams (STREAMS_MAX, STREAMS_MAX_PER_CALLER, STREAMS_MAX_PER_CONNECTION); only that operation is refused, the others on its connection carry on.',
  LIVE_QUERIES_UNAVAILABLE: 'A query with @live on a gateway whose entity cache is off (ENTITY_CACHE=false): there are no evictions to follow.',
  SHUTTING_DOWN: 'The gateway is stopping: the stream was ended; subscribe again, to another replica or to this one when it is back.',
  STREAM_ENDED: 'A stream was ended early by the gateway (its client left more than STREAMS_MAX_QUEUED results unread); subscribe again.',
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_CODES;

/**
 * The HTTP status each code is answered with (ERRORS.md lists it; a test compares the two, and the statuses the
 * gateway's sources answer with, with this). A subgraph failure nulls only its fields: the page is still a 200.
 */
export const GATEWAY_ERROR_STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  ...PERSISTED_QUERY_ERROR_STATUS,
  ...EXPLORER_ERROR_STATUS,
  SUBGRAPH_TIMEOUT: 200,
  SUBGRAPH_UNAVAILABLE: 200,
  SUBGRAPH_BAD_RESPONSE: 200,
  SUBGRAPH_CIRCUIT_OPEN: 200,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  GATEWAY_NOT_READY: 503,
  GATEWAY_OVERLOADED: 503,
  INVALIDATION_UNAUTHORIZED: 401,
  INVALIDATION_BAD_REQUEST: 400,
  CORS_ORIGIN_NOT_ALLOWED: 403,
  UNAUTHENTICATED: 401,
  INTERNAL_SERVER_ERROR: 500,
  // Sent within a stream (a WebSocket message, a server-sent event) that opened with 101 or 200.
  TOO_MANY_STREAMS: 200,
  LIVE_QUERIES_UNAVAILABLE: 200,
  SHUTTING_DOWN: 200,
  STREAM_ENDED: 200,
};

/** The failure codes a subgraph fetch can end with; each nulls exactly the fields that fetch would have filled. */
export type SubgraphFailureCode = Extract<GatewayErrorCode, `SUBGRAPH_${string}`>;

/**
 * A subgraph call that failed, with the code it surfaces as. The original error, when there is one, stays in
 * `cause` for the log; it never reaches the client.
 */
export class SubgraphFailure extends Error {
  override name = 'SubgraphFailure';
  /** The subgraph's HTTP status, when it answered one. */
  readonly status: number | undefined;
  /** The start of what the subgraph answered, for the log (never for the client). */
  readonly bodyExcerpt: string | undefined;
  /**
   * Whether the subgraph itself is to blame (refused, reset, 5xx, garbage, its own timeout): only such failures
   * feed its circuit breaker. The operation budget running out, or the caller going away, is not the subgraph's doing.
   */
  readonly countsAgainstSubgraph: boolean;

  constructor(
    readonly code: SubgraphFailureCode,
    readonly serviceName: string,
    message: string,
    options?: { cause?: unknown; status?: number; bodyExcerpt?: string; countsAgainstSubgraph?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.status = options?.status;
    this.bodyExcerpt = options?.bodyExcerpt;
    this.countsAgainstSubgraph = options?.countsAgainstSubgraph ?? true;
  }
}
