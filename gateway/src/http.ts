/** Small pieces of HTTP the gateway's server needs: bounded body reading, JSON answers, CORS. */
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
