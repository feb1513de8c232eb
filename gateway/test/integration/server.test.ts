import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { createGatewayRuntime } from '../../src/runtime.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from '../support/testSubgraph.js';
import { DEVELOPMENT_IDENTITY_ENV, signedCaller } from '../support/signedIdentity.js';

const PRODUCTS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! name: String! }
  type Query { product(id: ID!): Product whoami: String }`;

describe('gateway server', () => {
  let products: TestSubgraph;
  let dir: string;
  let supergraphFile: string;
  let gateway: RunningGateway;
  const base = () => gateway.url.replace(/\/graphql$/, '');
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  beforeAll(async () => {
    products = await startTestSubgraph('products', PRODUCTS, {
      Query: {
        product: (_: unknown, { id }: { id: string }) => ({ id, name: `Product ${id}` }),
        whoami: (_: unknown, __: unknown, ctx: { headers: Record<string, string> }) => signedCaller(ctx.headers),
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'gateway-'));
    supergraphFile = join(dir, 'supergraph.graphql');
    // The file names an unreachable URL on purpose: SUBGRAPH_PRODUCTS_URL must win.
    await writeFile(supergraphFile, composeTestSupergraph([{ ...products, url: 'http://127.0.0.1:9/graphql' }]));
    gateway = await startGateway(
      loadConfig({ PORT: '0', SUPERGRAPH: supergraphFile, SUBGRAPH_PRODUCTS_URL: products.url, REQUEST_MAX_BODY_BYTES: '2048', BATCH_MAX_OPERATIONS: '2', ...DEVELOPMENT_IDENTITY_ENV }),
      { logger: jsonLogger('silent') },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await products?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /health and /ready with 200 once the supergraph is loaded, and 404 elsewhere', async () => {
    expect((await fetch(`${base()}/health`)).status).toBe(200);
    expect(await (await fetch(`${base()}/ready`)).json()).toEqual({ status: 'ready', redis: { configured: false } });
    const missing = await fetch(`${base()}/nowhere`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('routes to the subgraph URL given by SUBGRAPH_<NAME>_URL over the one in the supergraph, and answers compact JSON', async () => {
    const text = await (await post(JSON.stringify({ query: '{ product(id: "7") { id name } }' }))).text();
    expect(text).toBe('{"data":{"product":{"id":"7","name":"Product 7"}}}');
  });

  it('sends the exact bytes of the answer\'s JSON, escapes and non-ASCII text included, alone and in a batch', async () => {
    const variables = { a: 'say "hi" now', b: 'é "東" 😀 back\\slash\ttab' };
    const query = 'query($a: ID!, $b: ID!) { a: product(id: $a) { id name } b: product(id: $b) { id name } }';
    const expected = JSON.stringify({ data: { a: { id: variables.a, name: `Product ${variables.a}` }, b: { id: variables.b, name: `Product ${variables.b}` } } });
    const alone = await post(JSON.stringify({ query, variables }));
    expect(alone.headers.get('content-length')).toBe(String(Buffer.byteLength(expected)));
    expect(await alone.text()).toBe(expected);
    const batch = await post(JSON.stringify([{ query, variables }, { query: '{ product(id: "2") { id } }' }]));
    expect(await batch.text()).toBe(`[${expected},{"data":{"product":{"id":"2"}}}]`);
  });

  it('passes the caller on to subgraphs signed by the gateway, never the bare identity header', async () => {
    const answer = await (await post(JSON.stringify({ query: '{ whoami }' }), { 'x-seller-id': 's42' })).json();
    expect(answer).toEqual({ data: { whoami: 's42' } });
    expect(products.received.at(-1)!.headers['x-seller-id']).toBeUndefined();
  });

  it('refuses malformed JSON with 400 and an oversize body with 413, without calling any subgraph', async () => {
    const before = products.received.length;
    const bad = await post('{"query": ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).errors[0]).toEqual({ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } });
    const big = await post(JSON.stringify({ query: `{ product(id: "${'x'.repeat(4096)}") { id } }` }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as any).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(products.received.length).toBe(before);
  });

  it('answers CORS preflights for browser pages, exposing ETag and Cache-Control', async () => {
    const preflight = await fetch(gateway.url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-seller-id');
    expect(preflight.headers.get('access-control-expose-headers')).toBe('etag, cache-control');
  });

  it('reloads the supergraph file when it changes, without a restart', async () => {
    const extended = PRODUCTS.replace('whoami: String }', 'whoami: String version: Int }');
    // Apollo Server subscribed to schema updates when it started, before this listener, and swaps its schema
    // synchronously when told: once this listener hears of the extended schema, requests are answered with it.
    const reloaded = new Promise<void>((resolve) => {
      const unsubscribe = gateway.gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
        if (!apiSchema.getQueryType()?.getFields().version) return;
        unsubscribe();
        resolve();
      });
    });
    await writeFile(supergraphFile, composeTestSupergraph([{ ...products, sdl: extended }]));
    await reloaded;
    const answer: any = await (await post(JSON.stringify({ query: '{ __type(name: "Query") { fields { name } } }' }))).json();
    expect(answer.data.__type.fields.map((f: { name: string }) => f.name)).toContain('version');
  });

  it('is a handler any node:http server can mount, composed with a deployment\'s own features, stopped in reverse', async () => {
    const stopped: string[] = [];
    const runtime = createGatewayRuntime(loadConfig({ SUPERGRAPH: supergraphFile, SUBGRAPH_PRODUCTS_URL: products.url }), {
      logger: jsonLogger('silent'),
      features: [
        { name: 'version', routes: { '/version': (_req, res) => void res.end('v1') }, stop: () => void stopped.push('version') },
        {
          name: 'maintenance',
          onOperation(operation) {
            if (operation.req.headers['x-maintenance'] !== 'on') return;
            operation.res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"message":"down for maintenance"}]}');
            return 'answered';
          },
          stop: () => void stopped.push('maintenance'),
        },
      ],
    });
    const server = createServer((req, res) => {
      // Mounted under a prefix of the host application's own.
      if (!req.url?.startsWith('/api/')) return void res.writeHead(404).end();
      req.url = req.url.slice('/api'.length);
      runtime.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    try {
      await runtime.start();
      expect(await (await fetch(`${url}/version`)).text()).toBe('v1');
      const query = JSON.stringify({ query: '{ product(id: "3") { name } }' });
      const answer = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query });
      expect(await answer.json()).toEqual({ data: { product: { name: 'Product 3' } } });
      const reached = products.received.length;
      const refused = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-maintenance': 'on' }, body: query });
      expect(refused.status).toBe(503);
      expect(products.received.length).toBe(reached);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.stop();
    }
    expect(stopped).toEqual(['maintenance', 'version']);
  });
});

describe('gateway start-up', () => {
  it('turns Apollo telemetry off before it builds ApolloGateway when the operator did not opt in', async () => {
    // ApolloGateway decides in its constructor: with telemetry on, it registers the exporter's shutdown among the
    // things it disposes of. So a gateway built without the variable set must dispose of exactly as much as one
    // built with it set; had the choice been applied after construction, it would have one more.
    const dir = await mkdtemp(join(tmpdir(), 'gateway-telemetry-'));
    const supergraph = join(dir, 'supergraph.graphql');
    await writeFile(supergraph, composeTestSupergraph([{ name: 'products', url: 'http://127.0.0.1:9/graphql', sdl: PRODUCTS }]));
    const disposers = async (env: string | undefined) => {
      if (env === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
      else process.env.APOLLO_TELEMETRY_DISABLED = env;
      const running = await startGateway(loadConfig({ PORT: '0', SUPERGRAPH: supergraph }), { logger: jsonLogger('silent') });
      try {
        expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('true');
        return (running.gateway as unknown as { toDispose: unknown[] }).toDispose.length;
      } finally {
        await running.stop();
      }
    };
    try {
      const optedOut = await disposers('true');
      expect(await disposers(undefined)).toBe(optedOut);
    } finally {
      process.env.APOLLO_TELEMETRY_DISABLED = 'true';
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with a message naming the supergraph file it cannot read', async () => {
    await expect(
      startGateway(loadConfig({ PORT: '0', SUPERGRAPH: '/nonexistent/supergraph.graphql' }), { logger: jsonLogger('silent') }),
    ).rejects.toThrow(/cannot read SUPERGRAPH file \/nonexistent\/supergraph.graphql/);
  });
});
