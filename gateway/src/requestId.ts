/**
 * Every operation has a request id: the caller's `x-request-id` when it sends a sane one (so a trace started
 * upstream goes on), else a new UUID. It is returned to the caller, forwarded to every subgraph call made for
 * the operation, and named in every log line about it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable, no spaces, short: anything else is not trusted into logs and subgraph headers. */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(headers: IncomingHttpHeaders): string {
  const sent = headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && SANE_ID.test(sent) ? sent : randomUUID();
}
