/**
 * The `extensions.code`s the persisted-query layer answers with, defined once with what they mean (to be listed
 * in ERRORS.md beside the gateway's other codes). `PERSISTED_QUERY_NOT_FOUND` is Apollo's own code and means the
 * same here: the client should send the query text again.
 */
import type { ServerResponse } from 'node:http';

export const PERSISTED_QUERY_ERROR_CODES = {
  PERSISTED_QUERY_NOT_IN_SAFELIST: 'PERSISTED_QUERIES=safelist and the operation is not in the persisted query manifest; send a manifest operation, by its id.',
  PERSISTED_QUERY_HASH_MISMATCH: 'The request carries a query and extensions.persistedQuery.sha256Hash, and the hash is not the sha256 of that query.',
  PERSISTED_QUERY_BAD_REQUEST: 'extensions.persistedQuery is malformed: its version is not 1, or its sha256Hash is not a string.',
  QUERY_TOO_LARGE: 'The query text is longer than QUERY_MAX_BYTES; no subgraph was called.',
  QUERY_TOO_DEEP: 'The operation nests fields deeper than QUERY_MAX_DEPTH (introspection fields do not count); no subgraph was called.',
  QUERY_TOO_MANY_TOKENS: 'The query text has more than QUERY_MAX_TOKENS tokens (names, punctuation, values); parsing stopped there and no subgraph was called.',
  QUERY_TOO_MANY_ALIASES: 'The operation uses more than QUERY_MAX_ALIASES aliases (fragments included); no subgraph was called.',
  QUERY_TOO_MANY_DIRECTIVES: 'The operation uses more than QUERY_MAX_DIRECTIVES directives (fragments included); no subgraph was called.',
  QUERY_BATCH_TOO_LARGE: 'The request body is an array of operations and batching is off, or it holds more than BATCH_MAX_OPERATIONS (or none); nothing ran.',
} as const;

/** The HTTP status each code is answered with (ERRORS.md lists both). */
export const PERSISTED_QUERY_ERROR_STATUS: Record<keyof typeof PERSISTED_QUERY_ERROR_CODES, number> = {
  PERSISTED_QUERY_NOT_IN_SAFELIST: 403,
  PERSISTED_QUERY_HASH_MISMATCH: 400,
  PERSISTED_QUERY_BAD_REQUEST: 400,
  QUERY_TOO_LARGE: 400,
  QUERY_TOO_DEEP: 400,
  QUERY_TOO_MANY_TOKENS: 400,
  QUERY_TOO_MANY_ALIASES: 400,
  QUERY_TOO_MANY_DIRECTIVES: 400,
  QUERY_BATCH_TOO_LARGE: 400,
};

/** Apollo Server's own codes, answered here with the meaning Apollo gives them. */
export type PersistedQueryErrorCode = keyof typeof PERSISTED_QUERY_ERROR_CODES | 'PERSISTED_QUERY_NOT_FOUND' | 'OPERATION_RESOLUTION_FAILURE';

/** A request refused before Apollo Server sees it, answered in Apollo's error shape. */
export interface Refusal {
  status: number;
  code: PersistedQueryErrorCode;
  message: string;
  headers?: Record<string, string>;
}

export function refusalBody(refusal: Refusal): string {
  return JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  const body = refusalBody(refusal);
  res.writeHead(refusal.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...refusal.headers,
  });
  res.end(body);
}

export function refusal(code: keyof typeof PERSISTED_QUERY_ERROR_CODES, message: string): Refusal {
  return { status: PERSISTED_QUERY_ERROR_STATUS[code], code, message };
}
