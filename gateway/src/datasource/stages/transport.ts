/**
 * The last stage: how the gateway talks to one subgraph. A keep-alive undici Pool, one POST per call, bounded in
 * size; the deadline stage's signal aborts the request in flight. It answers a parsed GraphQL response, or a
 * failure whose code says what went wrong; it never retries (a mutation must not run twice).
 */
import { Pool, errors as undiciErrors } from 'undici';
import { SubgraphFailure } from '../../errors.js';
import type { CallSignal } from '../../request.js';
import type { Dispatch, SubgraphCall } from '../pipeline.js';

export interface GraphQLResponseBody {
  data?: Record<string, unknown> | null;
  errors?: ReadonlyArray<Record<string, unknown> & { message: string; path?: ReadonlyArray<string | number> }>;
  extensions?: Record<string, unknown>;
}

export interface TransportResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Null for 304 Not Modified. */
  body: GraphQLResponseBody | null;
  bytes: number;
}

export interface SubgraphTransport {
  send: Dispatch;
  close(): Promise<void>;
}

export interface UndiciTransportOptions {
  /** Sockets kept open to the subgraph. */
  connections: number;
  /** Answers larger than this are refused as SUBGRAPH_BAD_RESPONSE. */
  maxResponseBytes: number;
}

/**
 * A call's headers: `own`, then `added`. Built key by key rather than as `{ ...own, key }`: in V8 (Node 20) a spread's
 * copy gets a map outside the transition tree, and each key added after the spread makes a new hidden class on every
 * call (docs/APOLLO-NOTES.md, section 5).
 */
export function withHeaders(own: Readonly<Record<string, string>>, added: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in own) headers[name] = own[name]!;
  for (const name in added) headers[name] = added[name]!;
  return headers;
}

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', accept: 'application/json' };

/** How much of a bad answer the log line quotes. */
const EXCERPT_CHARS = 200;

export class UndiciTransport implements SubgraphTransport {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(readonly serviceName: string, url: string, options: UndiciTransportOptions) {
    const parsed = new URL(url);
    this.path = `${parsed.pathname}${parsed.search}`;
    this.pool = new Pool(parsed.origin, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
      maxResponseSize: options.maxResponseBytes,
    });
  }

  readonly send: Dispatch = async (call) => {
    try {
      return { kind: 'answered', response: await this.request(call) };
    } catch (error) {
      return { kind: 'failed', failure: asSubgraphFailure(error, this.serviceName) };
    }
  };

  private async request(call: SubgraphCall): Promise<TransportResponse> {
    const { signal } = call;
    let status: number;
    let headers: Record<string, string | undefined>;
    let text: string;
    try {
      const response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: withHeaders(call.headers, JSON_HEADERS),
        body: call.body,
        // undici reads a signal's shape only: `aborted`, `reason` and its 'abort' listeners.
        signal: signal as AbortSignal | undefined,
      });
      status = response.statusCode;
      headers = flattenHeaders(response.headers);
      text = await response.body.text();
    } catch (error) {
      throw this.failureFrom(error, signal);
    }
    const bytes = Buffer.byteLength(text);
    if (status === 304) return { status, headers, body: null, bytes };
    if (status >= 500) {
      throw new SubgraphFailure('SUBGRAPH_UNAVAILABLE', this.serviceName, `${this.serviceName} answered HTTP ${status}`,
        { status, bodyExcerpt: text.slice(0, EXCERPT_CHARS) });
    }
    const body = parseGraphQLBody(text);
    if (!body) {
      throw new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', this.serviceName,
        `${this.serviceName} answered HTTP ${status} with a body that is not a GraphQL response`, { status, bodyExcerpt: text.slice(0, EXCERPT_CHARS) });
    }
    return { status, headers, body, bytes };
  }

  /**
   * Called once the gateway has answered every request it admitted: what still runs then is only late calls
   * filling a cache that is going away, so they are cut rather than waited for.
   */
  close(): Promise<void> {
    return this.pool.destroy();
  }

  private failureFrom(error: unknown, signal: CallSignal | undefined): SubgraphFailure {
    // The deadline stage (or the last caller leaving) aborted the call, and its reason says whose fault that was.
    if (signal?.aborted) {
      return signal.reason instanceof SubgraphFailure
        ? signal.reason
        : new SubgraphFailure('SUBGRAPH_TIMEOUT', this.serviceName, `the call to ${this.serviceName} was cancelled`, { cause: error, countsAgainstSubgraph: false });
    }
    if (error instanceof undiciErrors.ResponseExceededMaxSizeError) {
      return new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', this.serviceName, `${this.serviceName} answered more bytes than allowed`, { cause: error });
    }
    return new SubgraphFailure('SUBGRAPH_UNAVAILABLE', this.serviceName,
      `${this.serviceName} is unavailable (${describeNetworkError(error)})`, { cause: error });
  }
}

/**
 * Deeper than any answer a query plan asks for: the gateway walks answers recursively, so one nested deeper
 * would exhaust its stack. Counted on the text before parsing (outside strings), in one pass.
 */
export const MAX_ANSWER_DEPTH = 512;

/** A GraphQL response is a JSON object with `data` and/or `errors` of the right shapes; anything else is garbage. */
export function parseGraphQLBody(text: string): GraphQLResponseBody | null {
  if (nestedDeeperThan(text, MAX_ANSWER_DEPTH)) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const body = value as Record<string, unknown>;
  const hasData = 'data' in body && (body.data === null || (typeof body.data === 'object' && !Array.isArray(body.data)));
  const hasErrors = Array.isArray(body.errors) && body.errors.every((e) => e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string');
  if (!hasData && !hasErrors) return null;
  if ('errors' in body && !hasErrors) return null;
  return body as GraphQLResponseBody;
}

function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(raw)) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** Names the network failure without leaking internals: "connection refused", "connection reset", ... */
function describeNetworkError(error: unknown): string {
  const code = (error as { code?: string; cause?: { code?: string } })?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return code ?? 'network error';
  }
}

/** Any error of a call, as the failure it surfaces as (one the gateway did not name is the subgraph being unavailable). */
export function asSubgraphFailure(error: unknown, serviceName: string): SubgraphFailure {
  return error instanceof SubgraphFailure
    ? error
    : new SubgraphFailure('SUBGRAPH_UNAVAILABLE', serviceName, `${serviceName} could not be called`, { cause: error });
}
