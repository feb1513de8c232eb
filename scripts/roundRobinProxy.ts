/**
 * The one port in front of several gateway processes for `npm run start:scaled`: each request goes to the next
 * gateway in turn; a gateway that refuses the connection is skipped and the request goes to the next one (nothing
 * was sent to it, so even a mutation is safe to pass on; likewise a kept-alive connection it had closed). A gateway that fails after receiving a request is not
 * retried: its answer (or a 502) goes back. `x-served-by` on the response names the gateway that answered. A
 * WebSocket (the gateway's subscriptions) goes to the next gateway in turn too, and stays with it.
 * What docker-compose.yml does with nginx, kept small enough to read.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyUpgrade } from './upgradeProxy.js';

export interface RoundRobinProxy {
  url: string;
  stop(): Promise<void>;
}

export interface RoundRobinProxyOptions {
  /** Origins of the gateways, e.g. http://127.0.0.1:4010 */
  targets: readonly string[];
  host?: string;
  port?: number;
  maxBodyBytes?: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  if (options.targets.length === 0) throw new Error('a round-robin proxy needs at least one target');
  const targets = options.targets.map((t) => new URL(t));
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  let next = 0;

  const server = createServer((req, res) => {
    void readBody(req, maxBodyBytes).then((body) => {
      if (body === null) return send(res, 413, 'request body too large');
      const first = next;
      next = (next + 1) % targets.length;
      forward(req, res, body, first, 0);
    }, () => send(res, 400, 'could not read the request'));
  });

  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const target = targets[next]!;
    next = (next + 1) % targets.length;
    proxyUpgrade(req, socket, head, target, { 'x-forwarded-for': req.socket.remoteAddress ?? '' });
  });

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, index: number, tried: number): void {
    const target = targets[(index + tried) % targets.length]!;
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
    headers['content-length'] = String(body.length);
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
      out['x-served-by'] = target.host;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // Refused, or a kept-alive socket the gateway had closed (a restart): nothing reached that gateway, so the
      // next one may have the request (Node's documented retry case for `reusedSocket`).
      const notSent = error.code === 'ECONNREFUSED' || (error.code === 'ECONNRESET' && upstream.reusedSocket);
      if (notSent && tried + 1 < targets.length) return forward(req, res, body, index, tried + 1);
      if (!res.headersSent) send(res, 502, `gateway ${target.host} failed: ${error.code ?? error.message}`);
      else res.destroy();
    });
    upstream.end(body);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ errors: [{ message }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
