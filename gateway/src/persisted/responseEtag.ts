/**
 * Conditional GET for GraphQL answers. Apollo Server computes `Cache-Control` (from the cache policy the data
 * sources restrict) but has no ETag, so this layer tags every complete 200 GET answer with a strong ETag (a hash
 * of the exact bytes) and answers a matching `If-None-Match` with 304 and no body (RFC 9110 13.1.2 / 15.4.5):
 * a page that revalidates a GET persisted query saves the body when nothing changed.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export function entityTag(body: string): string {
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
export function endWithEntityTag(req: IncomingMessage, res: ServerResponse, body: string, varyOn: readonly string[]): void {
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
