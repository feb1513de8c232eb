/** Small pieces of HTTP the gateway's server needs: bounded body reading, JSON answers, CORS, ETags. */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Reads the whole body; rejects with BodyTooLargeError as soon as it passes `limitBytes`. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) {
      req.resume();
      reject(new BodyTooLargeError(`request body is larger than ${limitBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`request body is larger than ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Calls `listener` once when the client hangs up before `res` is finished (at once if it already has), so what only
 * this client was waiting for can stop. A response's 'close' after it finished is not a hang-up.
 */
export function onHangUp(res: ServerResponse, listener: () => void): void {
  if (res.closed) {
    if (!res.writableFinished) listener();
    return;
  }
  res.once('close', () => {
    if (!res.writableFinished) listener();
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** A GraphQL-shaped error answer for requests refused before GraphQL runs. */
export function sendRequestError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] }, headers);
}

const ALLOWED_HEADERS = [
  'content-type', 'authorization', 'cache-control', 'if-none-match', 'apollo-require-preflight',
  'x-apollo-operation-name', 'apollographql-client-name', 'apollographql-client-version',
].join(', ');

/**
 * Sets CORS headers for an allowed origin; returns false when the origin is not allowed. `identityHeaders` are the
 * request headers that name the caller besides `authorization` (the development identity header).
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[], identityHeaders: readonly string[] = []): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  const any = allowedOrigins.includes('*');
  if (!any && !allowedOrigins.includes(origin)) return false;
  res.setHeader('access-control-allow-origin', any ? '*' : origin);
  if (!any) res.setHeader('vary', 'origin');
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  const extra = identityHeaders.filter((name) => !ALLOWED_HEADERS.split(', ').includes(name));
  res.setHeader('access-control-allow-headers', extra.length > 0 ? `${ALLOWED_HEADERS}, ${extra.join(', ')}` : ALLOWED_HEADERS);
  res.setHeader('access-control-expose-headers', 'etag, cache-control');
  res.setHeader('access-control-max-age', '600');
  return true;
}

/*
 * Conditional GET for GraphQL answers. Apollo Server computes `Cache-Control` (from the cache policy the data
 * sources restrict) but has no ETag, so every complete 200 GET answer is tagged with a strong ETag (a hash of the
 * exact bytes) and a matching `If-None-Match` is answered with 304 and no body (RFC 9110 13.1.2 / 15.4.5): a page
 * that revalidates a GET persisted query saves the body when nothing changed.
 */
export function entityTag(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

/** `If-None-Match` uses the weak comparison: `W/"x"` matches `"x"`; `*` matches any current representation. */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === wanted);
}

/** Headers a 304 keeps (RFC 9110 15.4.5): the validators and caching metadata the 200 would have sent. */
export const NOT_MODIFIED_HEADERS = ['etag', 'cache-control', 'vary', 'expires', 'date'] as const;

/**
 * Ends a complete answer whose status and headers are already on `res`: a 200 GET gets an ETag, and a 304 with
 * no body when `If-None-Match` matches it. Every other answer is sent as it is. `varyOn` names the request headers
 * that say who is calling.
 */
export function endWithEntityTag(req: IncomingMessage, res: ServerResponse, answer: string | Buffer, varyOn: readonly string[]): void {
  // Encoded here, once: given a string, Node prepends the headers to it, and a large answer is copied whole again
  // (about a fifth of what answering a 90 KB query allocates) before it is encoded for the socket anyway.
  const body = typeof answer === 'string' ? Buffer.from(answer) : answer;
  if (req.method !== 'GET' || res.statusCode !== 200) {
    res.end(body);
    return;
  }
  const etag = entityTag(body);
  res.setHeader('etag', etag);
  // The answer depends on who asks: a browser cache must not hand one caller's answer to another.
  const vary = res.getHeader('vary');
  const callers = varyOn.join(', ');
  res.setHeader('vary', vary ? `${String(vary)}, ${callers}` : callers);
  if (!ifNoneMatchMatches(req.headers['if-none-match'], etag)) {
    res.end(body);
    return;
  }
  for (const name of res.getHeaderNames()) {
    if (!(NOT_MODIFIED_HEADERS as readonly string[]).includes(name) && !name.startsWith('access-control-')) res.removeHeader(name);
  }
  res.statusCode = 304;
  res.end();
}

/** How a client takes an answer in parts (`@defer`): execution/incrementalDelivery.ts writes each format. */
export type IncrementalFormat = 'deferSpec=20220824' | 'incrementalSpec=v0.2';

const MULTIPART = 'multipart/mixed';

/**
 * The format the client asks for by its Accept header, or null when it accepts no multipart answer. Of the
 * multipart ranges it accepts (q > 0), the one with the highest q wins, the first listed on a tie.
 */
export function incrementalFormatOf(accept: string | undefined): IncrementalFormat | null {
  if (!accept) return null;
  let best: { format: IncrementalFormat; q: number } | null = null;
  for (const range of accept.split(',')) {
    const [type, ...parameters] = range.split(';').map((part) => part.trim());
    if (type?.toLowerCase() !== MULTIPART) continue;
    let q = 1;
    let format: IncrementalFormat | null = 'incrementalSpec=v0.2';
    for (const parameter of parameters) {
      const [name, value] = parameter.split('=').map((part) => part.trim().replace(/^"|"$/g, ''));
      if (name === 'q') q = Number(value);
      else if (name === 'deferSpec') format = value === '20220824' ? 'deferSpec=20220824' : null;
      else if (name === 'incrementalSpec') format = value === 'v0.2' ? 'incrementalSpec=v0.2' : null;
    }
    if (format && q > 0 && (!best || q > best.q)) best = { format, q };
  }
  return best?.format ?? null;
}

/** Whether a GraphQL request asks for an event stream (GraphQL over SSE), by its Accept header. */
export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && accept.split(',').some((type) => type.split(';')[0]!.trim().toLowerCase() === 'text/event-stream');
}
