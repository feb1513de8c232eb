/**
 * Serves the built pages (web/dist) and proxies `/graphql` to the gateway, so the pages and the graph share one
 * origin and a browser never sends a CORS preflight: requests, and WebSocket upgrades (the live gig page and the
 * editor's note hear the gateway's graphql-ws there). Also answers `/logos/<id>.svg` with generated placeholders.
 * Unknown paths without a file extension get index.html: the page picks its view from the path.
 */
import { readFile, stat } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { proxyUpgrade } from '../scripts/upgradeProxy.js';
import { logoSvg } from './logo.js';

export const DEFAULT_DIST_DIR = fileURLToPath(new URL('./dist', import.meta.url));

export interface WebServerOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  gatewayUrl: string;
  port: number;
  host?: string;
  distDir?: string;
  /**
   * Development only: issues a token for a seller id, served as `POST /dev-token` for the pages' sign-in. A real
   * deployment signs people in with its identity provider and leaves this out (the route is then 404).
   */
  devTokens?: (sellerId: string) => Promise<string>;
}

export interface RunningWebServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.map': 'application/json',
};

// Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const distDir = resolve(options.distDir ?? DEFAULT_DIST_DIR);
  const host = options.host ?? '127.0.0.1';
  const gateway = new URL(options.gatewayUrl);
  if (gateway.protocol !== 'http:') throw new Error(`the web server proxies to an http:// gateway, got ${options.gatewayUrl}`);
  const indexHtml = await readFile(join(distDir, 'index.html')).catch(() => {
    throw new Error(`${join(distDir, 'index.html')} is missing: build the pages first (npm run build)`);
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal error');
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://web');
    // Node no longer watches an upgraded socket: a reset with no listener would take the process down.
    socket.on('error', () => socket.destroy());
    if (url.pathname !== '/graphql') return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    // To the gateway's own path, as requests are (proxyUpgrade sends the request's path on).
    req.url = `${gateway.pathname}${url.search}`;
    proxyUpgrade(req, socket, head, gateway, { 'x-forwarded-host': req.headers.host ?? '' });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://web');
    if (url.pathname === '/graphql') return proxyToGateway(req, res, url.search);
    if (url.pathname === '/dev-token' && req.method === 'POST' && options.devTokens) return issueDevToken(req, res, options.devTokens);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const logo = /^\/logos\/([^/]+)\.svg$/.exec(url.pathname);
    if (logo) {
      const svg = logoSvg(decodeURIComponent(logo[1]!));
      if (!svg) return notFound(res);
      return send(req, res, 200, 'image/svg+xml', svg, 'public, max-age=86400');
    }
    if (extname(url.pathname)) return serveFile(req, res, url.pathname);
    // A page: the same index.html for every path; never cached so a new build shows at once.
    return send(req, res, 200, CONTENT_TYPES['.html']!, indexHtml, 'no-cache');
  }

  async function issueDevToken(req: IncomingMessage, res: ServerResponse, issue: (sellerId: string) => Promise<string>): Promise<void> {
    let text = '';
    for await (const chunk of req) {
      text += String(chunk);
      if (text.length > 1_024) return sendJson(res, 413, { error: 'request too large' });
    }
    let sellerId: unknown;
    try {
      sellerId = (JSON.parse(text) as { sellerId?: unknown }).sellerId;
    } catch {
      return sendJson(res, 400, { error: 'send {"sellerId": "s1"}' });
    }
    if (typeof sellerId !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(sellerId)) return sendJson(res, 400, { error: 'sellerId must be a seller id such as s1' });
    sendJson(res, 200, { token: await issue(sellerId) });
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return notFound(res);
    }
    const file = normalize(join(distDir, decoded));
    if (!file.startsWith(distDir + sep)) return notFound(res);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return notFound(res);
    // Vite puts a content hash in every asset's name, so those never change under the same URL.
    const cacheControl = decoded.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    send(req, res, 200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', await readFile(file), cacheControl);
  }

  function proxyToGateway(req: IncomingMessage, res: ServerResponse, search: string): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers['x-forwarded-host'] = req.headers.host ?? '';
    const upstream = httpRequest({
      agent,
      hostname: gateway.hostname,
      port: gateway.port || 80,
      path: `${gateway.pathname}${search}`,
      method: req.method,
      headers,
    }, (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
      // An answer the gateway broke off (it went away mid-body) is broken off for the browser too, or the page would
      // wait for the rest of it forever: a streamed `@defer` answer can be open for seconds.
      answer.on('close', () => {
        if (!answer.complete) res.destroy();
      });
    });
    upstream.on('error', () => {
      if (res.headersSent) return void res.destroy();
      const body = JSON.stringify({ errors: [{ message: 'The gateway could not be reached', extensions: { code: 'GATEWAY_UNAVAILABLE' } }] });
      res.writeHead(502, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }).end(body);
    });
    // The browser went away: stop the gateway's work for it too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      agent.destroy();
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string | Buffer, cacheControl: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': cacheControl });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Never cached: a token is for the one who asked. */
function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
  res.end(body);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
}
