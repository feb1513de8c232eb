/**
 * Persisted queries end to end: the real reference subgraphs (PGlite), each behind a recording proxy so every
 * test can say what reached the origins, and real gateways on port 0 in front of them in several modes.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { generateDemoData, sizeForScale, type DemoData } from '../../../subgraphs/toolkit/demoData.js';
import { TEST_SCALE, gatewayEnvFor, startSubgraphs } from '../../../test/support/system.js';
import { startRecordingProxy, type RecordingProxy } from '../../../test/support/recordingProxy.js';
import manifestJson from '../../../schema/persisted-query-manifest.json' with { type: 'json' };

interface Entry { id: string; name: string; type: string; body: string }
const manifest = manifestJson as { operations: Entry[] };
const entry = (name: string) => manifest.operations.find((o) => o.name === name)!;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });
/** The header Apollo Server's CSRF prevention wants on a GET without a content-type (pages send it). */
const PREFLIGHT = { 'apollo-require-preflight': 'true' };

interface Answer { status: number; headers: Headers; text: string; body: any }

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

function post(gateway: RunningGateway, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) }).then(answer);
}

/** A GET exactly as Apollo Client (and our pages) write it. */
function getUrl(gateway: RunningGateway, params: { operationName?: string; query?: string; variables?: unknown; extensions?: unknown }): URL {
  const url = new URL(gateway.url);
  if (params.operationName) url.searchParams.set('operationName', params.operationName);
  if (params.query) url.searchParams.set('query', params.query);
  if (params.variables) url.searchParams.set('variables', JSON.stringify(params.variables));
  if (params.extensions) url.searchParams.set('extensions', JSON.stringify(params.extensions));
  return url;
}

function get(gateway: RunningGateway, params: Parameters<typeof getUrl>[1], headers: Record<string, string> = PREFLIGHT) {
  return fetch(getUrl(gateway, params), { headers }).then(answer);
}

let demo: DemoData;
let backends: Awaited<ReturnType<typeof startSubgraphs>>;
let proxies: Record<string, RecordingProxy>;
let dir: string;
const gateways: RunningGateway[] = [];
const subgraphCalls = () => Object.values(proxies).reduce((sum, p) => sum + p.requests.length, 0);
const resetCalls = () => Object.values(proxies).forEach((p) => p.reset());

/**
 * The entity cache is off so every answer is fetched and the proxies see each call (these tests count calls);
 * timeouts are generous because two shared cores under a full test run are slow, and timing is not tested here.
 */
const QUIET = { ENTITY_CACHE: 'false', SUBGRAPH_TIMEOUT_MS: '10000', ENTITY_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '20000' };

async function gatewayWith(env: Record<string, string> = {}): Promise<RunningGateway> {
  const gateway = await startGateway(loadConfig(gatewayEnvFor(proxies, { ...QUIET, ...env })), { logger: jsonLogger('silent') });
  gateways.push(gateway);
  return gateway;
}

beforeAll(async () => {
  demo = generateDemoData(sizeForScale(TEST_SCALE));
  backends = await startSubgraphs('pglite', demo);
  proxies = {};
  for (const [name, subgraph] of Object.entries(backends.subgraphs)) proxies[name] = await startRecordingProxy(subgraph.url);
  dir = await mkdtemp(join(tmpdir(), 'persisted-'));
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all(Object.values(proxies ?? {}).map((p) => p.stop()));
  await backends?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('persisted queries in development (PERSISTED_QUERIES=manifest+apq, the default)', () => {
  let gateway: RunningGateway;
  let seller: DemoData['sellers'][number];
  let variables: Record<string, Record<string, unknown>>;
  beforeAll(async () => {
    gateway = await gatewayWith();
    seller = demo.sellers.find((s) => s.topClientIds.length > 1)!;
    variables = {
      GigPage: { id: demo.gigs.find((g) => g.sellerId === seller.id)!.id },
      UserPage: { username: seller.username },
      SearchResults: { text: 'logo', first: 3 },
      MyTopClients: {},
    };
  });

  it('runs each page query by its manifest id over POST and over GET, with the same data as its text', async () => {
    const queries = manifest.operations.filter((o) => o.type === 'query' && o.name !== 'GigPageLive');
    expect(queries.map((q) => q.name).sort()).toEqual(['GigPage', 'MyTopClients', 'SearchResults', 'UserPage']);
    // The live gig page is live over WebSocket or SSE; over plain HTTP it is refused with where to send it.
    const live = await get(gateway, { operationName: 'GigPageLive', variables: variables.GigPage, extensions: persisted(entry('GigPageLive').id) }, PREFLIGHT);
    expect(live.status).toBe(400);
    expect(live.body.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('@live queries are served over WebSocket (graphql-ws) or Server-Sent Events'), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
    const identity = { 'x-seller-id': seller.id };
    for (const op of queries) {
      const byText = await post(gateway, { query: op.body, operationName: op.name, variables: variables[op.name] }, identity);
      expect(byText.status, op.name).toBe(200);
      expect(byText.body.errors, op.name).toBeUndefined();
      const byIdPost = await post(gateway, { operationName: op.name, variables: variables[op.name], extensions: persisted(op.id) }, identity);
      expect(byIdPost.status, op.name).toBe(200);
      expect(byIdPost.body, op.name).toEqual(byText.body);
      const byIdGet = await get(gateway, { operationName: op.name, variables: variables[op.name], extensions: persisted(op.id) }, { ...PREFLIGHT, ...identity });
      expect(byIdGet.status, op.name).toBe(200);
      expect(byIdGet.body, op.name).toEqual(byText.body);
    }
    const page = await get(gateway, { operationName: 'UserPage', variables: variables.UserPage, extensions: persisted(entry('UserPage').id) });
    expect(page.body.data.seller.username).toBe(seller.username);
    expect(page.body.data.seller.topClients.map((c: { id: string }) => c.id)).toEqual(seller.topClientIds);
  });

  it('runs a page mutation by its manifest id over POST, and refuses any mutation over GET with 405 before a subgraph is called', async () => {
    const identity = { 'x-seller-id': seller.id };
    const clientId = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!.id;
    resetCalls();
    const refused = await get(gateway, { operationName: 'AddTopClient', variables: { clientId }, extensions: persisted(entry('AddTopClient').id) }, { ...PREFLIGHT, ...identity });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST');
    const adHoc = await get(gateway, { query: `mutation { removeTopClient(clientId: "${seller.topClientIds[0]}") { id } }` }, { ...PREFLIGHT, ...identity });
    expect(adHoc.status).toBe(405);
    expect(subgraphCalls()).toBe(0);

    const added = await post(gateway, { operationName: 'AddTopClient', variables: { clientId }, extensions: persisted(entry('AddTopClient').id) }, identity);
    expect(added.status).toBe(200);
    expect(added.body.data.addTopClient.map((c: { id: string }) => c.id)).toContain(clientId);
    const removed = await post(gateway, { operationName: 'RemoveTopClient', variables: { clientId }, extensions: persisted(entry('RemoveTopClient').id) }, identity);
    expect(removed.body.data.removeTopClient.map((c: { id: string }) => c.id)).toEqual(seller.topClientIds);
  });

  it('answers a GET persisted query with the Cache-Control the subgraphs allow and an ETag; a matching If-None-Match gets 304 with no body', async () => {
    const params = { operationName: 'UserPage', variables: variables.UserPage, extensions: persisted(entry('UserPage').id) };
    const first = await get(gateway, params);
    expect(first.status).toBe(200);
    // The users and gigs subgraphs answer `max-age=30, public`; Apollo Server passes the strictest hint on.
    expect(first.headers.get('cache-control')).toMatch(/^max-age=\d+, (public|private)$/);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    // Answers depend on the caller, so caches keep one copy per identity.
    // (and on Accept: the same URL is answered in parts to a client that asks for them, @defer).
    expect(first.headers.get('vary')).toBe('authorization, x-seller-id, accept');

    const again = await get(gateway, params, { ...PREFLIGHT, 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toBe(first.headers.get('cache-control'));
    expect(again.headers.get('vary')).toBe('authorization, x-seller-id, accept');
    expect((await get(gateway, params, { ...PREFLIGHT, 'if-none-match': `"stale", W/${etag}` })).status).toBe(304);

    const changed = await get(gateway, params, { ...PREFLIGHT, 'if-none-match': '"something-else"' });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe(first.text);
    // Other variables, other body, other tag.
    const other = await get(gateway, { ...params, variables: { username: demo.sellers[0]!.username } }, { ...PREFLIGHT, 'if-none-match': etag });
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
    // POST answers are not tagged: browsers and CDNs do not cache them.
    expect((await post(gateway, { operationName: 'UserPage', variables: variables.UserPage, extensions: persisted(entry('UserPage').id) })).headers.get('etag')).toBeNull();
  });

  it('a page GET must carry apollo-require-preflight (CSRF prevention), and CORS lets a browser send it and If-None-Match', async () => {
    const params = { operationName: 'SearchResults', variables: variables.SearchResults, extensions: persisted(entry('SearchResults').id) };
    resetCalls();
    const bare = await get(gateway, params, {});
    expect(bare.status).toBe(400);
    expect(bare.text).toContain('apollo-require-preflight');
    expect(subgraphCalls()).toBe(0);
    expect((await get(gateway, params, { 'x-apollo-operation-name': 'SearchResults' })).status).toBe(200);

    const preflight = await fetch(gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET', 'access-control-request-headers': 'apollo-require-preflight, if-none-match' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('apollo-require-preflight');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('if-none-match');
    expect(preflight.headers.get('access-control-expose-headers')).toContain('etag');
  });

  it('APQ: an unknown hash is PERSISTED_QUERY_NOT_FOUND (200, not cacheable); sent with its text it registers; then the hash alone runs it', async () => {
    const query = `query ApqProbe { searchGigs(text: "logo", first: 2) { id title } }`;
    const hash = sha256(query);
    resetCalls();
    const miss = await post(gateway, { extensions: persisted(hash) });
    expect(miss.status).toBe(200);
    expect(miss.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(miss.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
    expect((await get(gateway, { extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(subgraphCalls()).toBe(0);

    const registered = await post(gateway, { query, extensions: persisted(hash) });
    expect(registered.status).toBe(200);
    expect(registered.body.data.searchGigs).toHaveLength(2);

    resetCalls();
    const hitPost = await post(gateway, { extensions: persisted(hash) });
    expect(hitPost.body).toEqual(registered.body);
    const hitGet = await get(gateway, { extensions: persisted(hash) });
    expect(hitGet.status).toBe(200);
    expect(hitGet.body).toEqual(registered.body);
    expect(hitGet.headers.get('etag')).toBeTruthy();
    // The text was never sent again, yet both hits reached the gigs subgraph with the registered operation.
    expect(proxies.gigs!.requests.map((r) => r.query).filter((q) => q.includes('searchGigs'))).toHaveLength(2);
  });

  it('refuses a hash that is not the sha256 of the query sent with it (400 PERSISTED_QUERY_HASH_MISMATCH), without calling a subgraph', async () => {
    resetCalls();
    const mismatch = await post(gateway, { query: '{ searchGigs(first: 1) { id } }', extensions: persisted(entry('GigPage').id) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' } }]);
    const overGet = await get(gateway, { query: '{ searchGigs(first: 1) { id } }', extensions: persisted(sha256('something else')) });
    expect(overGet.status).toBe(400);
    expect(overGet.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    const badVersion = await post(gateway, { extensions: { persistedQuery: { version: 2, sha256Hash: entry('GigPage').id } } });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_BAD_REQUEST');
    expect(subgraphCalls()).toBe(0);
  });
});

describe('safelist mode (PERSISTED_QUERIES=safelist, the production default)', () => {
  let safelist: RunningGateway;
  let closed: RunningGateway;
  beforeAll(async () => {
    safelist = await gatewayWith({ PERSISTED_QUERIES: 'safelist', INTROSPECTION: 'true' });
    closed = await gatewayWith({ GATEWAY_MODE: 'production' });
  });

  it('runs the manifest operations by id (GET and POST) and by their exact text', async () => {
    const search = entry('SearchResults');
    const variables = { text: 'logo', first: 2 };
    const byId = await get(closed, { operationName: 'SearchResults', variables, extensions: persisted(search.id) });
    expect(byId.status).toBe(200);
    expect(byId.body.data.searchGigs).toHaveLength(2);
    expect((await post(closed, { variables, extensions: persisted(search.id) })).body).toEqual(byId.body);
    const byText = await post(closed, { query: search.body, variables });
    expect(byText.body).toEqual(byId.body);
    // Layout does not matter, the operation does.
    expect((await post(closed, { query: search.body.replace(/\n\s*/g, ' '), variables })).body).toEqual(byId.body);
  });

  it('refuses an ad-hoc query with 403 PERSISTED_QUERY_NOT_IN_SAFELIST before any subgraph is called, and registers no APQ', async () => {
    resetCalls();
    const adHoc = '{ searchGigs(first: 50) { id title description seller { username bio } } }';
    const refused = await post(closed, { query: adHoc });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
    expect((await get(closed, { query: adHoc })).status).toBe(403);
    // An APQ client sends the hash, then hash + text: neither runs it, and the hash stays unknown.
    const hash = sha256(adHoc);
    expect((await post(closed, { extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(closed, { query: adHoc, extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
    expect((await post(closed, { extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // A page operation with one field more is not the page operation.
    const widened = entry('SearchResults').body.replace('title', 'title description');
    expect((await post(closed, { query: widened })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
    expect(subgraphCalls()).toBe(0);
  });

  it('keeps introspection only where it is configured', async () => {
    const introspection = '{ __schema { queryType { name } } }';
    const allowed = await post(safelist, { query: introspection });
    expect(allowed.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    // Introspection mixed with data is not introspection.
    expect((await post(safelist, { query: '{ __typename searchGigs(first: 1) { id } }' })).status).toBe(403);
    const refused = await post(closed, { query: introspection });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
  });
});

describe('request limits (QUERY_MAX_DEPTH, QUERY_MAX_BYTES)', () => {
  let limited: RunningGateway;
  beforeAll(async () => {
    limited = await gatewayWith({ QUERY_MAX_DEPTH: '4', QUERY_MAX_BYTES: '1024' });
  });

  it('refuses a query nested deeper than QUERY_MAX_DEPTH with 400 QUERY_TOO_DEEP, over POST, GET and APQ, reaching no subgraph', async () => {
    const gig = demo.gigs[0]!.id;
    const atLimit = `{ gig(id: "${gig}") { seller { gigs(first: 1) { id } } } }`;
    const tooDeep = `{ gig(id: "${gig}") { seller { gigs(first: 1) { seller { id } } } } }`;
    const viaFragment = `query Deep { gig(id: "${gig}") { ...G } } fragment G on Gig { seller { gigs(first: 1) { seller { id } } } }`;
    resetCalls();
    for (const query of [tooDeep, viaFragment]) {
      const refused = await post(limited, { query });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([{ message: 'The operation nests fields 5 deep; the limit is 4 (QUERY_MAX_DEPTH)', extensions: { code: 'QUERY_TOO_DEEP' } }]);
    }
    expect((await get(limited, { query: tooDeep })).body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
    const hash = sha256(tooDeep);
    expect((await post(limited, { query: tooDeep, extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
    expect((await post(limited, { extensions: persisted(hash) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(subgraphCalls()).toBe(0);

    const ok = await post(limited, { query: atLimit });
    expect(ok.body.data.gig.seller.gigs).toHaveLength(1);
    // Introspection is answered by the gateway itself and does not count.
    expect((await post(limited, { query: '{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }' })).status).toBe(200);
    // The page operations are within the default limits and within this one.
    expect((await post(limited, { variables: { id: gig }, extensions: persisted(entry('GigPage').id) })).body.data.gig.id).toBe(gig);
  });

  it('refuses a query longer than QUERY_MAX_BYTES with 400 QUERY_TOO_LARGE, reaching no subgraph', async () => {
    resetCalls();
    const big = `{ searchGigs(first: 1) { id } }${' '.repeat(1024)}`;
    const refused = await post(limited, { query: big });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toEqual({ message: `The query is ${big.length} bytes; the limit is 1024 (QUERY_MAX_BYTES)`, extensions: { code: 'QUERY_TOO_LARGE' } });
    expect((await get(limited, { query: big })).body.errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
    expect(subgraphCalls()).toBe(0);
  });

  it('the defaults are 15 levels and 32 KiB', () => {
    expect(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql' }).queryLimits).toEqual({
      maxQueryDepth: 15, maxQueryBytes: 32_768, maxQueryTokens: 2_000, maxQueryAliases: 30, maxQueryDirectives: 50, maxBatchOperations: 1,
    });
  });
});

describe('the manifest at start-up', () => {
  it('takes manifest ids and APQ when PERSISTED_QUERY_MANIFEST is set, only APQ without; production runs the safelist', () => {
    const base = { SUPERGRAPH: '/srv/supergraph.graphql' };
    const manifestPath = fileURLToPath(new URL('../../../schema/persisted-query-manifest.json', import.meta.url));
    const withManifest = loadConfig({ ...base, PERSISTED_QUERY_MANIFEST: manifestPath }).persistedQueries;
    expect(withManifest).toMatchObject({ mode: 'manifest+apq', manifestPath });
    // Read and checked with the rest of the configuration.
    expect(withManifest.manifest?.get(entry('GigPage').id)?.body).toBe(entry('GigPage').body);
    expect(loadConfig(base).persistedQueries).toEqual({ mode: 'apq', manifestPath: null, manifest: null });
    expect(loadConfig({ ...base, GATEWAY_MODE: 'production', PERSISTED_QUERY_MANIFEST: manifestPath }).persistedQueries.mode).toBe('safelist');
    expect(() => loadConfig({ ...base, PERSISTED_QUERIES: 'safelist' })).toThrow('PERSISTED_QUERIES=safelist needs PERSISTED_QUERY_MANIFEST');
    expect(() => loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql', PERSISTED_QUERIES: 'strict' })).toThrow('PERSISTED_QUERIES must be one of off, apq, manifest+apq, safelist, got "strict"');
  });

  it('refuses the configuration (nothing starts) with a manifest that is not JSON or whose ids do not match their bodies, naming the file', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"format": "apollo-persisted-query-manifest", ');
    await expect(gatewayWith({ PERSISTED_QUERY_MANIFEST: broken })).rejects.toThrow(`persisted query manifest ${broken} is not valid JSON`);
    const tampered = join(dir, 'tampered.json');
    const copy = structuredClone(manifestJson);
    copy.operations[0]!.body = copy.operations[0]!.body.replace('name', 'name website');
    await writeFile(tampered, JSON.stringify(copy));
    await expect(gatewayWith({ PERSISTED_QUERY_MANIFEST: tampered, PERSISTED_QUERIES: 'safelist' })).rejects.toThrow(
      new RegExp(`persisted query manifest ${tampered} is invalid:\\n- operations\\[0\\]\\.id`),
    );
    // `apq` and `off` do not read the manifest at all.
    const apqOnly = await gatewayWith({ PERSISTED_QUERY_MANIFEST: broken, PERSISTED_QUERIES: 'apq' });
    expect((await post(apqOnly, { extensions: persisted(entry('GigPage').id) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const off = await gatewayWith({ PERSISTED_QUERIES: 'off' });
    expect((await post(off, { extensions: persisted(entry('GigPage').id) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    // A client that always attaches the extension still runs its text when lookups by hash are off.
    const search = entry('SearchResults');
    const withText = await post(off, { query: search.body, variables: { first: 1 }, extensions: persisted(search.id) });
    expect(withText.body.data.searchGigs).toHaveLength(1);
    expect((await post(off, { query: search.body, extensions: persisted(entry('GigPage').id) })).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
  });
});
