/**
 * Exploring the graph by mode: the Sandbox landing page and introspection in development, neither in production,
 * and a landing page pointing to GraphOS Studio when APOLLO_GRAPH_REF is set. The landing pages load Apollo's
 * scripts from its CDN in a browser; these tests only read the HTML the gateway serves and never load it.
 * Nothing here contacts Apollo: usage reporting and managed federation are checked by the wiring config chooses.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../../schema/referenceGateway.js';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { explorationSetup } from '../../src/persisted/exploration.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from '../support/testSubgraph.js';

const PRODUCTS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! name: String! }
  type Query { product(id: ID!): Product }`;

let products: TestSubgraph;
let dir: string;
let supergraphFile: string;
const gateways: RunningGateway[] = [];

async function gatewayWith(env: Record<string, string>): Promise<RunningGateway> {
  const gateway = await startGateway(
    // A manifest of operations this graph does not have: in production's safelist mode, ad-hoc queries are refused.
    loadConfig({ PORT: '0', SUPERGRAPH: supergraphFile, PERSISTED_QUERY_MANIFEST: MANIFEST_FILE, SUBGRAPH_PRODUCTS_URL: products.url, ...env }),
    { logger: jsonLogger('silent') },
  );
  gateways.push(gateway);
  return gateway;
}

/** What a browser sends when someone opens the gateway's URL. */
const openInBrowser = (url: string) => fetch(url, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });

const introspect = async (gateway: RunningGateway) => {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: getIntrospectionQuery(), operationName: 'IntrospectionQuery' }),
  });
  return { status: response.status, body: (await response.json()) as any };
};

beforeAll(async () => {
  products = await startTestSubgraph('products', PRODUCTS, {
    Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: `Product ${id}` }) },
  });
  dir = await mkdtemp(join(tmpdir(), 'exploration-'));
  supergraphFile = join(dir, 'supergraph.graphql');
  await writeFile(supergraphFile, composeTestSupergraph([products]));
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await products?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('exploring the graph', () => {
  it('in development serves the embedded Apollo Sandbox landing page and answers the full introspection query', async () => {
    const gateway = await gatewayWith({ GATEWAY_MODE: 'development' });
    for (const url of [gateway.url, gateway.url.replace(/\/graphql$/, '/')]) {
      const page = await openInBrowser(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('embeddable-sandbox.cdn.apollographql.com');
      expect(html).toContain('new window.EmbeddedSandbox(');
      expect(html).not.toContain('embeddable-explorer.umd');
    }
    const { status, body } = await introspect(gateway);
    expect(status).toBe(200);
    expect(body.data.__schema.types.map((t: { name: string }) => t.name)).toContain('Product');
    // (That query nests `ofType` deeper than the default QUERY_MAX_DEPTH of 15; introspection fields do not count.)
  });

  it('in production turns introspection off and serves no landing page when no Studio graph is configured', async () => {
    const strict = await gatewayWith({ GATEWAY_MODE: 'production' });
    const refused = await introspect(strict);
    // Production defaults to the safelist, which refuses introspection like any operation outside the manifest...
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
    // ...and with ad-hoc operations allowed, Apollo Server's own rule still refuses introspection.
    const open = await gatewayWith({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'manifest+apq' });
    const stillRefused = await introspect(open);
    expect(stillRefused.status).toBe(400);
    expect(stillRefused.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(stillRefused.body.errors[0].message).toMatch(/introspection is not allowed/i);
    const ordinary = await fetch(open.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ product(id: \\"1\\") { name } }"}' });
    expect(await ordinary.json()).toEqual({ data: { product: { name: 'Product 1' } } });

    const page = await openInBrowser(strict.url);
    expect(page.headers.get('content-type')).not.toContain('text/html');
    expect(await page.text()).not.toContain('apollographql.com');
  });

  it('in production with INTROSPECTION=true answers introspection again', async () => {
    const gateway = await gatewayWith({ GATEWAY_MODE: 'production', INTROSPECTION: 'true' });
    const { status, body } = await introspect(gateway);
    expect(status).toBe(200);
    expect(body.data.__schema.queryType.name).toBe('Query');
  });

  it('in production with APOLLO_GRAPH_REF the landing page points to that graph in GraphOS Studio', async () => {
    const gateway = await gatewayWith({ GATEWAY_MODE: 'production', APOLLO_GRAPH_REF: 'hybrid-gigs@production' });
    const page = await openInBrowser(gateway.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    // Apollo's landing page script reads its settings from `window.landingPage` (URI-encoded JSON).
    const settings = JSON.parse(decodeURIComponent(/window\.landingPage = "([^"]+)"/.exec(html)![1]!));
    expect(settings).toMatchObject({ isProd: true, graphRef: 'hybrid-gigs@production' });
    expect(html).not.toContain('EmbeddedSandbox');
  });
});

describe('GraphOS wiring, chosen from config alone', () => {
  it('with APOLLO_KEY and APOLLO_GRAPH_REF: usage reporting on, managed federation when SUPERGRAPH is unset, Studio landing page', () => {
    const env = { GATEWAY_MODE: 'production', APOLLO_KEY: 'service:hybrid-gigs:secret', APOLLO_GRAPH_REF: 'hybrid-gigs@production' };
    const config = loadConfig(env);
    expect(config.supergraph).toEqual({ kind: 'managed' });
    const setup = explorationSetup(config);
    expect(setup).toMatchObject({ landingPage: 'studio', usageReporting: true, apollo: { key: 'service:hybrid-gigs:secret', graphRef: 'hybrid-gigs@production' } });
    const usage = setup.plugins.find((p) => (p as { __internal_plugin_id__?: string }).__internal_plugin_id__ === 'UsageReporting') as Record<string, unknown>;
    expect(usage.__is_disabled_plugin__).not.toBe(true);
    // A local supergraph wins over Uplink; usage is still reported.
    const local = loadConfig({ ...env, SUPERGRAPH: supergraphFile });
    expect(local.supergraph.kind).toBe('file');
    expect(explorationSetup(local).usageReporting).toBe(true);
  });

  it('without both, usage reporting is explicitly disabled, so a stray APOLLO_KEY reports nothing', () => {
    for (const env of [{}, { APOLLO_KEY: 'service:x:y' }, { APOLLO_GRAPH_REF: 'g@v' }]) {
      const setup = explorationSetup(loadConfig({ SUPERGRAPH: 'schema/supergraph.graphql', ...env }));
      expect(setup.usageReporting).toBe(false);
      const usage = setup.plugins.find((p) => (p as { __internal_plugin_id__?: string }).__internal_plugin_id__ === 'UsageReporting') as Record<string, unknown>;
      expect(usage.__is_disabled_plugin__).toBe(true);
    }
    expect(explorationSetup(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql' })).landingPage).toBe('sandbox');
    expect(explorationSetup(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql', GATEWAY_MODE: 'production' })).landingPage).toBe('disabled');
    expect(() => loadConfig({ APOLLO_KEY: 'service:x:y' })).toThrow('APOLLO_KEY is set without APOLLO_GRAPH_REF');
  });
});
