/**
 * A real HTTP hop in front of one subgraph: it waits `delayMs` (+ up to `jitterMs`) before forwarding each request,
 * counts what passes (GraphQL requests, `_entities` calls), and can play dead (every connection reset at once) so a
 * scenario can make a subgraph slow or down without touching it. Listens on 127.0.0.1, port 0.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyBehaviour {
  delayMs: number;
  jitterMs: number;
  /** Reset every connection without answering, as a crashed service's host would. */
  down: boolean;
}

export interface ProxyCounts {
  requests: number;
  entityRequests: number;
  refused: number;
}

export interface RunningProxy {
  name: string;
  url: string;
  behaviour: ProxyBehaviour;
  counts: ProxyCounts;
  resetCounts(): void;
  stop(): Promise<void>;
}

/** `port` 0 picks a free one; a restarted subgraph's proxy is given its old one, so gateways keep their URL. */
export async function startDelayProxy(name: string, targetUrl: string, behaviour: ProxyBehaviour, port = 0): Promise<RunningProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counts: ProxyCounts = { requests: 0, entityRequests: 0, refused: 0 };
  const state = { ...behaviour };

  const server: Server = createServer((req, res) => {
    if (state.down) {
      counts.refused++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' || req.method === 'GET') {
        counts.requests++;
        // The query text names _entities for every entity fetch the planners send.
        if (body.includes('_entities')) counts.entityRequests++;
      }
      const wait = state.delayMs + (state.jitterMs > 0 ? Math.random() * state.jitterMs : 0);
      if (wait > 0) setTimeout(() => forward(req, res, body), wait);
      else forward(req, res, body);
    });
  });

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    if (res.destroyed) return;
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // A caller that gave up (deadline) closes its socket; stop the upstream work it no longer wants.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }

  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    name,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`,
    behaviour: state,
    counts,
    resetCounts() {
      counts.requests = 0;
      counts.entityRequests = 0;
      counts.refused = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
