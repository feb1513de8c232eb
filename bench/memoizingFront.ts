/**
 * A front for a subgraph that answers from memory: the first time a request body is seen it goes to the subgraph,
 * and its answer is kept; every later identical request gets that answer at once, without running any resolver.
 * The data never changes during a run, so the answer to the same body is always the same: this leaves the
 * gateway's own work as the only work a request costs (scenario 7). Bounded: past `maxEntries` new bodies are
 * forwarded and not kept. Counts every request it serves.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MemoizingFront {
  url: string;
  requests: number;
  /** Requests that had to go to the subgraph (a body not seen before). */
  misses: number;
  stop(): Promise<void>;
}

interface Kept { status: number; contentType: string; body: Buffer }

export async function startMemoizingFront(upstreamUrl: string, maxEntries = 10_000): Promise<MemoizingFront> {
  const kept = new Map<string, Kept>();
  const front: MemoizingFront = { url: '', requests: 0, misses: 0, stop: async () => {} };
  const forward = async (method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Kept> => {
    const response = await fetch(upstreamUrl, {
      method,
      headers: { 'content-type': headers['content-type'] ?? 'application/json', accept: headers.accept ?? 'application/json' },
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
    });
    return { status: response.status, contentType: response.headers.get('content-type') ?? 'application/json', body: Buffer.from(await response.arrayBuffer()) };
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      front.requests++;
      const body = Buffer.concat(chunks);
      // The answer's format follows the Accept header, so it is part of the key.
      const key = `${req.method} ${req.headers.accept ?? ''} ${body.toString()}`;
      const hit = kept.get(key);
      const answer = hit ? Promise.resolve(hit) : forward(req.method ?? 'POST', req.headers, body).then((fresh) => {
        front.misses++;
        if (fresh.status === 200 && kept.size < maxEntries) kept.set(key, fresh);
        return fresh;
      });
      answer
        .then((a) => res.writeHead(a.status, { 'content-type': a.contentType, 'content-length': a.body.length }).end(a.body))
        .catch((error: unknown) => res.writeHead(502).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  front.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return front;
}
