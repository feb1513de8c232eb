/**
 * A real HTTP hop in front of one subgraph: it waits `delayMs` (+ up to `jitterMs`) before forwarding each request,
 * counts what passes (GraphQL requests, `_entities` calls), and can play dead (every connection reset at once) so a
 * scenario can make a subgraph slow or down without touching it. Listens on 127.0.0.1, port 0.
 *
 * WebSocket upgrades (a gateway subscribing to the subgraph over graphql-ws at the same URL, scenario 8) are passed
 * through as they are: the upgrade request is sent on to the subgraph over a TCP connection of its own and the two
 * sockets are joined, with no delay (a stream's frames are not requests); each one is counted in `webSockets`.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

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
  /** WebSocket upgrades passed through (subscriptions to the subgraph). */
  webSockets: number;
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
  const counts: ProxyCounts = { requests: 0, entityRequests: 0, refused: 0, webSockets: 0 };
  /** Upgraded connections, which the HTTP server no longer tracks: destroyed on stop. */
  const tunnels = new Set<Duplex>();
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

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (state.down) {
      counts.refused++;
      socket.destroy();
      return;
    }
    counts.webSockets++;
    const upstream: Socket = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    tunnels.add(socket).add(upstream);
    const close = () => {
      socket.destroy();
      upstream.destroy();
      tunnels.delete(socket);
      tunnels.delete(upstream);
    };
    for (const end of [socket, upstream]) end.on('error', close).on('close', close);
  });

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
      counts.webSockets = 0;
    },
    async stop() {
      for (const tunnel of tunnels) tunnel.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
