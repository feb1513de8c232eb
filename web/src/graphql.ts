/**
 * How a page talks to the graph. Reads are persisted queries over GET by manifest id (cacheable by the gateway and
 * the browser); mutations are POSTs that carry the body and the same persistedQuery extension. When the gateway
 * does not know an id (PERSISTED_QUERY_NOT_FOUND, or persisted queries switched off), the request is retried once
 * with the query text, exactly as Apollo's persisted-queries link does; that retry also registers the id (APQ).
 */
import { persistedOperation, type OperationName } from './operations.js';
import { sessionToken } from './session.js';

export interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: GraphQLError[];
  extensions?: Record<string, unknown>;
}

export interface RequestOptions {
  /** The signed-in seller (the editor's self-view): their token, or in development the bare `x-seller-id`. */
  sellerId?: string;
  /** Ask every cache on the way to revalidate: the editor must never show stale data. */
  noCache?: boolean;
}

/** The request failed as a whole (network, HTTP error without a GraphQL answer). */
export class RequestFailed extends Error {
  override name = 'RequestFailed';
}

const ENDPOINT = '/graphql';
const RETRY_WITH_TEXT = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

export async function query<T>(name: OperationName, variables: Record<string, unknown>, options: RequestOptions = {}): Promise<GraphQLResult<T>> {
  const operation = persistedOperation(name);
  const extensions = persistedQueryExtension(operation.id);
  const params = new URLSearchParams({ operationName: name, variables: JSON.stringify(variables), extensions: JSON.stringify(extensions) });
  const result = await send<T>(`${ENDPOINT}?${params}`, { method: 'GET', headers: headersFor(options), cache: options.noCache ? 'no-cache' : 'default' });
  if (!needsQueryText(result)) return result;
  return post<T>(operation.body, name, variables, options);
}

export async function mutate<T>(name: OperationName, variables: Record<string, unknown>, options: RequestOptions = {}): Promise<GraphQLResult<T>> {
  return post<T>(persistedOperation(name).body, name, variables, options);
}

function post<T>(body: string, name: OperationName, variables: Record<string, unknown>, options: RequestOptions): Promise<GraphQLResult<T>> {
  const operation = persistedOperation(name);
  return send<T>(ENDPOINT, {
    method: 'POST',
    headers: { ...headersFor(options), 'content-type': 'application/json' },
    body: JSON.stringify({ operationName: name, query: body, variables, extensions: persistedQueryExtension(operation.id) }),
    cache: 'no-store',
  });
}

function persistedQueryExtension(sha256Hash: string) {
  return { persistedQuery: { version: 1, sha256Hash } };
}

function headersFor(options: RequestOptions): Record<string, string> {
  // Apollo Server's CSRF prevention accepts a GET only with a header a simple cross-site form cannot send.
  const headers: Record<string, string> = { 'apollo-require-preflight': 'true', accept: 'application/json' };
  const token = options.sellerId ? sessionToken() : null;
  if (token) headers.authorization = `Bearer ${token}`;
  else if (options.sellerId) headers['x-seller-id'] = options.sellerId;
  if (options.noCache) headers['cache-control'] = 'no-cache';
  return headers;
}

function needsQueryText(result: GraphQLResult<unknown>): boolean {
  return (result.errors ?? []).some((e) => RETRY_WITH_TEXT.has(String(e.extensions?.code)));
}

async function send<T>(url: string, init: RequestInit): Promise<GraphQLResult<T>> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new RequestFailed(`The server could not be reached (${(error as Error).message})`);
  }
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLResult<T>;
  } catch {
    throw new RequestFailed(`The server answered HTTP ${response.status} without a GraphQL result`);
  }
}

/** The errors of a result that concern `path` (a field and everything under it). */
export function errorsAt(result: GraphQLResult<unknown>, path: (string | number)[]): GraphQLError[] {
  return (result.errors ?? []).filter((e) => e.path && path.every((segment, i) => e.path![i] === segment));
}
