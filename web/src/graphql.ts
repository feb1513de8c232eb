/**
 * How a page talks to the graph. Reads are persisted queries over GET by manifest id (cacheable by the gateway and
 * the browser); mutations are POSTs that carry the body and the same persistedQuery extension. When the gateway
 * does not know an id (PERSISTED_QUERY_NOT_FOUND, or persisted queries switched off), the request is retried once
 * with the query text, exactly as Apollo's persisted-queries link does; that retry also registers the id (APQ).
 *
 * A page whose operation defers a part (`@defer`) reads it with `queryInParts`: it accepts a `multipart/mixed`
 * answer (Apollo's deferSpec=20220824 format) and gets the result once when the first part arrives, then again,
 * merged, each time a deferred part does. A gateway may still answer with one JSON body (an error, a cached answer,
 * a gateway that does not defer): that is the whole result at once.
 */
import { multipartBoundary, multipartJsonParts } from './multipart.js';
import { persistedOperation, type OperationName } from './operations.js';
import { identityHeaders } from './session.js';

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

/** A result as an answer in parts has it so far. */
export interface PartialResult<T> extends GraphQLResult<T> {
  /** Deferred parts are still on their way; false once the answer is whole (or ended without them). */
  hasNext: boolean;
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
const JSON_ONLY = 'application/json';
// Apollo Client's and Apollo Router's format; JSON as well, for an answer that comes whole.
const PARTS_OR_JSON = 'multipart/mixed;deferSpec=20220824, application/json';

export async function query<T>(name: OperationName, variables: Record<string, unknown>, options: RequestOptions = {}): Promise<GraphQLResult<T>> {
  const result = await wholeResult<T>(await send(readUrl(name, variables), readInit(options, JSON_ONLY)));
  if (!needsQueryText(result)) return result;
  return wholeResult<T>(await send(ENDPOINT, postInit(name, variables, options, JSON_ONLY)));
}

/**
 * Reads an operation that defers parts: yields the result when its first part arrives, then after each deferred
 * part, merged into it (`hasNext` false on the last). Throws RequestFailed when the gateway cannot be reached, or
 * the answer breaks off before its first part; one that breaks off later ends with what it had, `hasNext` false.
 */
export async function* queryInParts<T>(name: OperationName, variables: Record<string, unknown>, options: RequestOptions = {}): AsyncGenerator<PartialResult<T>> {
  const byId = resultsInParts<T>(await send(readUrl(name, variables), readInit(options, PARTS_OR_JSON)));
  const first = await byId.next();
  if (first.done) throw new RequestFailed('The server answered without a result');
  if (!needsQueryText(first.value)) {
    yield first.value;
    yield* byId;
    return;
  }
  await byId.return(undefined);
  yield* resultsInParts<T>(await send(ENDPOINT, postInit(name, variables, options, PARTS_OR_JSON)));
}

export async function mutate<T>(name: OperationName, variables: Record<string, unknown>, options: RequestOptions = {}): Promise<GraphQLResult<T>> {
  return wholeResult<T>(await send(ENDPOINT, postInit(name, variables, options, JSON_ONLY)));
}

function readUrl(name: OperationName, variables: Record<string, unknown>): string {
  const extensions = persistedQueryExtension(persistedOperation(name).id);
  return `${ENDPOINT}?${new URLSearchParams({ operationName: name, variables: JSON.stringify(variables), extensions: JSON.stringify(extensions) })}`;
}

function readInit(options: RequestOptions, accept: string): RequestInit {
  return { method: 'GET', headers: headersFor(options, accept), cache: options.noCache ? 'no-cache' : 'default' };
}

function postInit(name: OperationName, variables: Record<string, unknown>, options: RequestOptions, accept: string): RequestInit {
  const operation = persistedOperation(name);
  return {
    method: 'POST',
    headers: { ...headersFor(options, accept), 'content-type': 'application/json' },
    body: JSON.stringify({ operationName: name, query: operation.body, variables, extensions: persistedQueryExtension(operation.id) }),
    cache: 'no-store',
  };
}

function persistedQueryExtension(sha256Hash: string) {
  return { persistedQuery: { version: 1, sha256Hash } };
}

function headersFor(options: RequestOptions, accept: string): Record<string, string> {
  // Apollo Server's CSRF prevention accepts a GET only with a header a simple cross-site form cannot send.
  const headers: Record<string, string> = { 'apollo-require-preflight': 'true', accept, ...(options.sellerId ? identityHeaders(options.sellerId) : {}) };
  if (options.noCache) headers['cache-control'] = 'no-cache';
  return headers;
}

function needsQueryText(result: GraphQLResult<unknown>): boolean {
  return (result.errors ?? []).some((e) => RETRY_WITH_TEXT.has(String(e.extensions?.code)));
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new RequestFailed(`The server could not be reached (${(error as Error).message})`);
  }
}

async function wholeResult<T>(response: Response): Promise<GraphQLResult<T>> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new RequestFailed(`The answer broke off (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as GraphQLResult<T>;
  } catch {
    throw new RequestFailed(`The server answered HTTP ${response.status} without a GraphQL result`);
  }
}

/** One deferred fragment's payload in Apollo's deferSpec=20220824 format. */
interface IncrementalPayload {
  data?: Record<string, unknown> | null;
  path?: (string | number)[];
  errors?: GraphQLError[];
}

/** The result after each part of a multipart answer, or the one result of a JSON answer. */
async function* resultsInParts<T>(response: Response): AsyncGenerator<PartialResult<T>> {
  const boundary = multipartBoundary(response.headers.get('content-type'));
  if (boundary === null || !response.body) {
    yield { ...(await wholeResult<T>(response)), hasNext: false };
    return;
  }
  let result: PartialResult<T> | null = null;
  try {
    for await (const payload of multipartJsonParts(response.body, boundary)) {
      const part = payload as GraphQLResult<T> & { hasNext?: boolean; incremental?: IncrementalPayload[] };
      if (result === null) {
        result = { ...part, hasNext: part.hasNext === true };
      } else {
        for (const increment of part.incremental ?? []) mergeAt(result.data, increment.path ?? [], increment.data);
        const errors = [...(part.errors ?? []), ...(part.incremental ?? []).flatMap((increment) => increment.errors ?? [])];
        if (errors.length) result.errors = [...(result.errors ?? []), ...errors];
        // A part with nothing in it (a server's keep-alive) changes nothing.
        if (!part.incremental?.length && !errors.length && part.hasNext !== false) continue;
        result.hasNext = part.hasNext === true;
      }
      // Each result its own copy: the next part is merged into the answer, not into what a page holds.
      yield structuredClone(result);
      if (!result.hasNext) return;
    }
  } catch (error) {
    // Broken off, or a part that is not JSON: what came before it stands, what would have followed is missing.
    if (result === null) throw new RequestFailed(`The answer broke off (${(error as Error).message})`);
  }
  if (result === null) throw new RequestFailed(`The server answered HTTP ${response.status} with an empty multipart body`);
  // The answer ended (or broke off) with parts still announced: they will not come.
  if (result.hasNext) yield { ...structuredClone(result), hasNext: false };
}

/** Merges a deferred fragment's data into the object at `path` (nothing when a null took its place). */
function mergeAt(data: unknown, path: readonly (string | number)[], patch: Record<string, unknown> | null | undefined): void {
  if (!patch) return;
  let target = data;
  for (const key of path) {
    if (target === null || typeof target !== 'object') return;
    target = (target as Record<string | number, unknown>)[key];
  }
  if (isObject(target)) mergeInto(target, patch);
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (isObject(current) && isObject(value)) mergeInto(current, value);
    else if (Array.isArray(current) && Array.isArray(value) && current.length === value.length) {
      value.forEach((item, i) => (isObject(current[i]) && isObject(item) ? mergeInto(current[i], item) : (current[i] = item)));
    } else target[key] = value;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The errors of a result that concern `path` (a field and everything under it). */
export function errorsAt(result: GraphQLResult<unknown>, path: (string | number)[]): GraphQLError[] {
  return (result.errors ?? []).filter((e) => e.path && path.every((segment, i) => e.path![i] === segment));
}
