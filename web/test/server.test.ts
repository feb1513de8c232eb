/**
 * The web server on its own: pages, hashed assets, generated logos and the /graphql proxy (requests and WebSockets),
 * against a real stand-in gateway (a node:http server on port 0 that records what reaches it, and speaks graphql-ws).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWebServer, type RunningWebServer } from '../server.js';
import { serveGraphQLWs, type GraphQLWsStandIn } from './graphqlWsStandIn.js';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }

let base: string;
let dist: string;
let upstream: Server;
let streams: GraphQLWsStandIn;
let web: RunningWebServer;
const seen: Seen[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'web-server-test-'));
  dist = join(base, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(base, 'secret.txt'), 'not for the web');
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>pages</title>');
  await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
  upstream = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60, public', etag: '"v1"' });
    res.end(JSON.stringify({ data: { echo: req.url } }));
  });
  streams = serveGraphQLWs(upstream);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  web = await startWebServer({ gatewayUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`, port: 0, distDir: dist });
});

afterAll(async () => {
  await web?.stop();
  await streams?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  await rm(base, { recursive: true, force: true });
});

describe('the web server', () => {
  it('answers every page path with index.html, never cached, and hashed assets as immutable', async () => {
    for (const path of ['/', '/search?q=logo', '/gigs/g1', '/users/calm_raven2', '/me/top-clients']) {
      const response = await fetch(`${web.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toContain('<title>pages</title>');
    }
    const asset = await fetch(`${web.url}/assets/index-abc123.js`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log(1)');
  });

  it('refuses files that do not exist or lie outside the build', async () => {
    expect((await fetch(`${web.url}/assets/missing.js`)).status).toBe(404);
    // secret.txt sits next to the build directory: an encoded ../ must not reach it.
    expect((await fetch(`${web.url}/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${web.url}/assets/..%2f..%2fsecret.txt`)).status).toBe(404);
  });

  it('draws the same logo for the same client id and refuses ids that are not plain', async () => {
    const first = await fetch(`${web.url}/logos/c12.svg`);
    expect(first.headers.get('content-type')).toBe('image/svg+xml');
    const svg = await first.text();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(await (await fetch(`${web.url}/logos/c12.svg`)).text()).toBe(svg);
    expect(await (await fetch(`${web.url}/logos/c13.svg`)).text()).not.toBe(svg);
    expect((await fetch(`${web.url}/logos/${encodeURIComponent('<script>')}.svg`)).status).toBe(404);
  });

  it('forwards a GET with its query string and headers to the gateway and passes back its caching headers', async () => {
    seen.length = 0;
    const search = '?operationName=GigPage&variables=%7B%22id%22%3A%22g1%22%7D&extensions=%7B%7D';
    const response = await fetch(`${web.url}/graphql${search}`, {
      headers: { 'apollo-require-preflight': 'true', 'x-seller-id': 's7', 'cache-control': 'no-cache', 'if-none-match': '"v0"' },
    });
    expect(await response.json()).toEqual({ data: { echo: `/graphql${search}` } });
    expect(response.headers.get('cache-control')).toBe('max-age=60, public');
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', url: `/graphql${search}` });
    expect(seen[0]!.headers).toMatchObject({ 'apollo-require-preflight': 'true', 'x-seller-id': 's7', 'cache-control': 'no-cache', 'if-none-match': '"v0"' });
  });

  it('forwards a POST body unchanged', async () => {
    seen.length = 0;
    const body = JSON.stringify({ operationName: 'AddTopClient', variables: { clientId: 'c1' } });
    await fetch(`${web.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-seller-id': 's1' }, body });
    expect(seen).toEqual([expect.objectContaining({ method: 'POST', body, url: '/graphql' })]);
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('passes a WebSocket at /graphql through to the gateway: graphql-ws both ways, on the pages\' own origin', async () => {
    const client = createClient({
      url: `${web.url.replace('http:', 'ws:')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { headers: { 'x-seller-id': 's7' } },
      retryAttempts: 0,
    });
    try {
      const arrived = streams.nextOperation();
      const results = client.iterate({ query: '', variables: { id: 'g1' }, extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } });
      const operation = await arrived;
      expect(operation.payload).toEqual({ query: '', variables: { id: 'g1' }, extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } });
      expect(operation.init).toEqual({ headers: { 'x-seller-id': 's7' } });
      expect(operation.url).toBe('/graphql');
      expect(operation.headers['sec-websocket-protocol']).toBe('graphql-transport-ws');
      expect(operation.headers['x-forwarded-host']).toBe(new URL(web.url).host);
      // Pushed by the gateway whenever it likes, each arrives as it is sent.
      operation.push({ data: { gig: { title: 'first' } } });
      expect((await results.next()).value).toEqual({ data: { gig: { title: 'first' } } });
      operation.push({ data: { gig: { title: 'second' } } });
      expect((await results.next()).value).toEqual({ data: { gig: { title: 'second' } } });
      // Stopping on the client's side stops the operation at the gateway.
      await results.return?.();
      await operation.stopped;
    } finally {
      await client.dispose();
    }
  });

  it('answers 404 to an upgrade anywhere but /graphql, and 502 to one the gateway cannot take', async () => {
    const refusal = (url: string) => new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws');
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => reject(new Error(`${url} was opened`)));
      socket.on('error', () => {});
    });
    const ws = web.url.replace('http:', 'ws:');
    expect(await refusal(`${ws}/`)).toBe(404);
    expect(await refusal(`${ws}/gigs/g1`)).toBe(404);
    const down = await startWebServer({ gatewayUrl: 'http://127.0.0.1:1/graphql', port: 0, distDir: dist });
    try {
      expect(await refusal(`${down.url.replace('http:', 'ws:')}/graphql`)).toBe(502);
    } finally {
      await down.stop();
    }
  });

  it('answers a GraphQL error with a stable code when the gateway cannot be reached', async () => {
    const down = await startWebServer({ gatewayUrl: 'http://127.0.0.1:1/graphql', port: 0, distDir: dist });
    try {
      const response = await fetch(`${down.url}/graphql?operationName=GigPage`);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ errors: [{ message: 'The gateway could not be reached', extensions: { code: 'GATEWAY_UNAVAILABLE' } }] });
    } finally {
      await down.stop();
    }
  });

  it('refuses to start without a build, saying how to make one', async () => {
    await expect(startWebServer({ gatewayUrl: 'http://127.0.0.1:1/graphql', port: 0, distDir: join(dist, 'nowhere') }))
      .rejects.toThrow(/index\.html is missing: build the pages first \(npm run build\)/);
  });
});
