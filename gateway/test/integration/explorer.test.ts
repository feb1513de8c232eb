/**
 * The local explorer's route on a real gateway (port 0), serving a small stand-in bundle from a temporary folder:
 * the page with the gateway's settings written in, hashed assets cached as immutable, nothing outside the folder,
 * and a clear 503 when the bundle is missing. The real bundle in a real browser: web/test/explorer.browser.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { EXPLORER_CSP } from '../../src/explorer/explorerRoute.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from '../support/testSubgraph.js';

const PRODUCTS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! name: String! }
  type Query { product(id: ID!): Product }`;

const INDEX_HTML = `<!doctype html><html><head>
<!-- explorer-settings: the gateway replaces this line with its settings (explorerRoute.ts) -->
<script type="module" src="./assets/index-AbCd1234.js"></script></head><body><div id="explorer"></div></body></html>`;
const SCRIPT = 'console.log("explorer");';

let products: TestSubgraph;
let dir: string;
let supergraphFile: string;
let distDir: string;
const gateways: RunningGateway[] = [];

async function gatewayWith(env: Record<string, string>): Promise<{ base: string }> {
  const gateway = await startGateway(
    loadConfig({ PORT: '0', SUPERGRAPH: supergraphFile, SUBGRAPH_PRODUCTS_URL: products.url, EXPLORER_DIST: distDir, ...env }),
    { logger: jsonLogger('silent') },
  );
  gateways.push(gateway);
  return { base: gateway.url.replace(/\/graphql$/, '') };
}

const asBrowser = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };

beforeAll(async () => {
  products = await startTestSubgraph('products', PRODUCTS, { Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: `Product ${id}` }) } });
  dir = await mkdtemp(join(tmpdir(), 'explorer-'));
  supergraphFile = join(dir, 'supergraph.graphql');
  await writeFile(supergraphFile, composeTestSupergraph([products]));
  // Written after the explorer's sources were last touched, so development mode takes it as up to date.
  distDir = join(dir, 'dist');
  await mkdir(join(distDir, 'assets'), { recursive: true });
  await writeFile(join(distDir, 'index.html'), INDEX_HTML);
  await writeFile(join(distDir, 'assets', 'index-AbCd1234.js'), SCRIPT);
  await writeFile(join(dir, 'secret.txt'), 'outside the bundle');
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await products?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('explorer route', () => {
  it('redirects /explorer to /explorer/ and serves the page with the settings and a same-origin-only policy', async () => {
    const { base } = await gatewayWith({ GATEWAY_MODE: 'development' });
    const redirect = await fetch(`${base}/explorer?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('explorer/?x=1');

    const page = await fetch(`${base}/explorer/`, { headers: asBrowser });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
    const html = await page.text();
    expect(html).not.toContain('explorer-settings:');
    const settings = JSON.parse(/<script id="explorer-settings" type="application\/json">(.*?)<\/script>/.exec(html)![1]!);
    expect(settings).toEqual({ endpoint: '../graphql', headers: [] });
  });

  it('serves hashed assets with their type, cached as immutable, and HEAD without a body', async () => {
    const { base } = await gatewayWith({ GATEWAY_MODE: 'development' });
    const script = await fetch(`${base}/explorer/assets/index-AbCd1234.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await script.text()).toBe(SCRIPT);
    const head = await fetch(`${base}/explorer/assets/index-AbCd1234.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(SCRIPT.length));
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/explorer/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('never serves a file outside the bundle folder, however the path is spelled', async () => {
    const { base } = await gatewayWith({ GATEWAY_MODE: 'development' });
    // fetch() would normalise ../ away, so the raw paths go through node:http's request line as written.
    const { request } = await import('node:http');
    const raw = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(`${base}${path}`, { method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject).end();
    });
    for (const path of ['/explorer/../secret.txt', '/explorer/%2e%2e/secret.txt', '/explorer/assets/..%2f..%2fsecret.txt',
      '/explorer/..%5csecret.txt', '/explorer/assets/nothing-here.js']) {
      const answer = await raw(path);
      expect(answer.body, path).not.toContain('outside the bundle');
      expect([400, 404], path).toContain(answer.status);
    }
  });

  it('is off in production unless EXPLORER=true, and the documented identity header follows the config', async () => {
    const off = await gatewayWith({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'apq' });
    const refused = await fetch(`${off.base}/explorer/`);
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');

    const on = await gatewayWith({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'apq', EXPLORER: 'true' });
    const page = await fetch(`${on.base}/explorer/`);
    expect(page.status).toBe(200);
    const withHeader = await gatewayWith({ GATEWAY_MODE: 'development', IDENTITY_HEADER: 'x-caller-id', GATEWAY_SUBGRAPH_SECRET: 'explorer-test-secret-explorer-test-secret-0123456789' });
    const html = await (await fetch(`${withHeader.base}/explorer/`)).text();
    const settings = JSON.parse(/<script id="explorer-settings" type="application\/json">(.*?)<\/script>/.exec(html)![1]!);
    expect(settings.headers.map((h: { name: string }) => h.name)).toEqual(['x-caller-id']);
  });

  it('answers 503 EXPLORER_NOT_BUILT, saying how to build it, when the bundle is missing (production builds nothing)', async () => {
    const { base } = await gatewayWith({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'apq', EXPLORER: 'true', EXPLORER_DIST: join(dir, 'no-such-dist') });
    const json = await fetch(`${base}/explorer/`);
    expect(json.status).toBe(503);
    const body = (await json.json()) as any;
    expect(body.errors[0].extensions.code).toBe('EXPLORER_NOT_BUILT');
    expect(body.errors[0].message).toContain('npm run build');
    const page = await fetch(`${base}/explorer/`, { headers: asBrowser });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<code>npm run build</code>');
    // GraphQL is unaffected.
    const answer = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ product(id: \\"1\\") { name } }"}' });
    expect(answer.status).not.toBe(503);
  });
});
