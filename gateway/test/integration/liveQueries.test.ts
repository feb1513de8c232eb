/**
 * Issue 26 - live queries: a query marked `@live` (over graphql-ws or SSE, by its text or its manifest id) is
 * answered at once, then again when an entity or tag its answer showed is evicted, only when the answer changed, at
 * most once per LIVE_QUERY_MIN_INTERVAL_MS, once for all its viewers, across replicas over Redis. And trust: the
 * token is checked at connection_init and the connection closed when it expires. Real subgraphs and gateways.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildManifest, manifestText } from '../../src/persisted/manifest.js';
import { startGateway } from '../../src/server.js';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { deleteKeys, REDIS_URL, redisAvailable, uniqueKeyPrefix } from '../../../test/support/redis.js';
import { ManualClock } from '../support/manualClock.js';
import { watchPlanner } from '../support/plannerSpy.js';
import { metricValue, serverSentEvents } from '../support/serverSentEvents.js';
import { DEVELOPMENT_IDENTITY_ENV } from '../support/signedIdentity.js';
import { LIVE_LATEST, REVIEW_ADDED, startSubscriptionFixture, take, type SubscriptionFixture } from '../support/subscriptionFixture.js';
import { startTestIssuer, type TestIssuer } from '../support/testIssuer.js';

let fixture: SubscriptionFixture | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fixture?.stop();
  fixture = undefined;
});
const start = async (env: Record<string, string> = {}, clock?: ManualClock) => (fixture = await startSubscriptionFixture({ env, ...(clock ? { clock } : {}) }));
const review = (id: string, body: string, brandId = 'b1') => ({ id, body, brand: { id: brandId } });
const latest = (body: string, name: string) => ({ data: { latestReview: { body, brand: { name } } } });
const LIVE_WITH_LOGO = 'query LatestWithLogo($brandId: ID!) @live { latestReview(brandId: $brandId) { body brand { name logoUrl } } }';
const withLogo = (body: string, name: string) => ({ data: { latestReview: { body, brand: { name, logoUrl: '/logos/b1.png' } } } });

describe('a live query', () => {
  it('is answered at once, then again when an entity it showed is evicted, and only when its answer changed', async () => {
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0' });
    f.latest.set('b1', review('r1', 'good'));
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    expect(await take(results, 1)).toEqual([latest('good', 'Brand One')]);

    f.brandNames.set('b1', 'Brand Uno');
    expect(f.gateway.invalidateEntity('Brand', { id: 'b1' })).toBeGreaterThan(0);
    expect(await take(results, 1)).toEqual([latest('good', 'Brand Uno')]);

    // Evicted, run again, the same answer: nothing is pushed. The next change is the next thing the client sees.
    const entityCalls = f.entityCalls().length;
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    await vi.waitFor(() => expect(f.entityCalls().length).toBe(entityCalls + 1), { timeout: 10_000, interval: 5 });
    f.brandNames.set('b1', 'Brand Eins');
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    expect(await take(results, 1)).toEqual([latest('good', 'Brand Eins')]);
    // An eviction of something it did not show runs nothing.
    f.gateway.invalidateEntity('Brand', { id: 'b2' });
    expect(await metric(f, 'gateway_stream_pushes_total{kind="live"}')).toBe(3);
    expect(await metric(f, 'gateway_stream_events_total{source="live"}')).toBe(3);
  });

  it('an answer with errors is pushed as it is (fields nulled, the errors beside), and the query stays live', async () => {
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0' });
    f.latest.set('b2', review('r1', 'fine', 'b2'));
    await f.brands.stop();
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b2' } });
    const [first] = await take(results, 1);
    expect(first!.data).toEqual({ latestReview: { body: 'fine', brand: null } });
    expect(first!.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'brands' }) })]);
    // What failed carries no tag of its own: an eviction by subgraph (or type) re-runs every live query.
    f.latest.set('b2', review('r2', 'better', 'b2'));
    const evicted = await fetch(f.gateway.url.replace('/graphql', '/invalidation'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'a-long-invalidation-secret' },
      body: JSON.stringify({ kind: 'subgraph', subgraph: 'reviews' }),
    });
    expect(evicted.status).toBe(200);
    const [second] = await take(results, 1);
    expect(second!.data).toEqual({ latestReview: { body: 'better', brand: null } });
  });

  it('an answer with a part that failed at its subgraph is run again after LIVE_QUERY_RETRY_MS, doubling, until the subgraph is back', async () => {
    const clock = new ManualClock();
    const f = (fixture = await startSubscriptionFixture({ env: { LIVE_QUERY_MIN_INTERVAL_MS: '0', LIVE_QUERY_RETRY_MS: '1000' }, clock, brandsProxy: true }));
    const brands = f.brandsProxy!;
    brands.fault = { kind: 'status', status: 503 };
    f.latest.set('b1', review('r1', 'good'));
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    const unavailable = [expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'brands' }) })];
    expect(await take(results, 1)).toEqual([{ data: { latestReview: { body: 'good', brand: null } }, errors: unavailable }]);
    expect(brands.requests).toHaveLength(1);

    f.latest.set('b1', review('r1', 'still good'));
    clock.advance(999);
    expect(await metric(f, 'gateway_stream_events_total{source="live"}')).toBe(0);
    clock.advance(1);
    expect(await take(results, 1)).toEqual([{ data: { latestReview: { body: 'still good', brand: null } }, errors: unavailable }]);
    expect(brands.requests).toHaveLength(2);

    // Failed again: the next run waits twice as long. The subgraph is back meanwhile; the page fills in.
    brands.fault = { kind: 'none' };
    clock.advance(1999);
    expect(await metric(f, 'gateway_stream_events_total{source="live"}')).toBe(1);
    clock.advance(1);
    expect(await take(results, 1)).toEqual([latest('still good', 'Brand One')]);
    // A whole answer is not run again by time.
    clock.advance(120_000);
    expect(await metric(f, 'gateway_stream_events_total{source="live"}')).toBe(2);
  });

  it('a part the page budget gave up on is filled in as soon as its late answer arrives', async () => {
    const clock = new ManualClock();
    const f = (fixture = await startSubscriptionFixture({
      env: { LIVE_QUERY_MIN_INTERVAL_MS: '0', LIVE_QUERY_RETRY_MS: '60000', ENTITY_PAGE_BUDGET_MS: '100', ENTITY_TIMEOUT_MS: '5000' },
      clock,
      brandsProxy: true,
    }));
    const brands = f.brandsProxy!;
    brands.fault = { kind: 'hold' };
    f.latest.set('b1', review('r1', 'good'));
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    await brands.waitForRequests(1);
    clock.advance(100);
    const [first] = await take(results, 1);
    expect(first).toEqual({ data: { latestReview: { body: 'good', brand: null } }, errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' }) })] });

    // The call ran on; its answer fills the cache and completes the live answer, long before any retry.
    brands.fault = { kind: 'none' };
    brands.releaseHeld();
    expect(await take(results, 1)).toEqual([latest('good', 'Brand One')]);
    expect(brands.requests).toHaveLength(1);
  });

  it('ten viewers: one run per change for all of them, one _entities call', async () => {
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0' });
    f.latest.set('b2', review('r1', 'fine', 'b2'));
    const viewers = Array.from({ length: 10 }, () => f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b2' } }));
    for (const viewer of viewers) expect(await take(viewer, 1)).toEqual([latest('fine', 'Brand Two')]);
    const calls = f.entityCalls().length;
    f.brandNames.set('b2', 'Brand Deux');
    f.gateway.invalidateEntity('Brand', { id: 'b2' });
    for (const viewer of viewers) expect(await take(viewer, 1)).toEqual([latest('fine', 'Brand Deux')]);
    expect(f.entityCalls().length).toBe(calls + 1);
    expect(f.reviews.received.filter((r) => r.query.includes('latestReview'))).toHaveLength(2);
  });

  it('beside a subscription that shows the same entity with another selection: one _entities call per change for both', async () => {
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0' });
    f.latest.set('b1', review('r1', 'good'));
    const page = f.client().iterate({ query: LIVE_WITH_LOGO, variables: { brandId: 'b1' } });
    expect(await take(page, 1)).toEqual([withLogo('good', 'Brand One')]);
    const events = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(1), { timeout: 10_000, interval: 5 });
    f.publish(review('r2', 'fine'));
    expect(await take(events, 1)).toEqual([{ data: { reviewAdded: { id: 'r2', body: 'fine', brand: { id: 'b1', name: 'Brand One' } } } }]);
    const calls = f.entityCalls().length;

    // One change both show: the live query's run and the subscription's event ask for b1 with one united selection.
    f.brandNames.set('b1', 'Brand Uno');
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    f.publish(review('r3', 'better'));
    expect(await take(page, 1)).toEqual([withLogo('better', 'Brand Uno')]);
    expect(await take(events, 1)).toEqual([{ data: { reviewAdded: { id: 'r3', body: 'better', brand: { id: 'b1', name: 'Brand Uno' } } } }]);
    expect(f.entityCalls().slice(calls)).toEqual([['b1']]);
    const united = f.brands.received.filter((r) => r.query.includes('_entities')).at(-1)!.query;
    expect(united).toMatch(/name/);
    expect(united).toMatch(/logoUrl/);

    // A page over HTTP is never widened: it asks for what it selects.
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    const response = await fetch(f.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ latestReview(brandId: "b1") { brand { name } } }' }) });
    expect(await response.json()).toEqual({ data: { latestReview: { brand: { name: 'Brand Uno' } } } });
    expect(f.brands.received.filter((r) => r.query.includes('_entities')).at(-1)!.query).not.toMatch(/logoUrl/);
  });

  it('changes within LIVE_QUERY_MIN_INTERVAL_MS make one run, when the interval ends', async () => {
    const clock = new ManualClock();
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '1000' }, clock);
    f.latest.set('b1', review('r1', 'good'));
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    expect(await take(results, 1)).toEqual([latest('good', 'Brand One')]);
    const calls = f.entityCalls().length;
    f.brandNames.set('b1', 'Brand Uno');
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    clock.advance(400);
    f.brandNames.set('b1', 'Brand Eins');
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    expect(f.entityCalls().length).toBe(calls);
    clock.advance(600);
    expect(await take(results, 1)).toEqual([latest('good', 'Brand Eins')]);
    expect(f.entityCalls().length).toBe(calls + 1);
  });

  it('over SSE and graphql-ws, by its persisted query id, its plan prepared when the supergraph loaded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'live-manifest-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const manifest = buildManifest([{ name: 'Latest', type: 'query', body: LIVE_LATEST }]);
    await writeFile(join(dir, 'manifest.json'), manifestText(manifest));
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0', PERSISTED_QUERIES: 'safelist', PERSISTED_QUERY_MANIFEST: join(dir, 'manifest.json') });
    f.latest.set('b1', review('r1', 'good'));
    const plans = await watchPlanner(f.gateway);
    const abort = new AbortController();
    const search = new URLSearchParams({ variables: JSON.stringify({ brandId: 'b1' }), extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: manifest.operations[0]!.id } }) });
    const response = await fetch(`${f.gateway.url}?${search}`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    const reader = serverSentEvents(response);
    expect(await reader.nextResult()).toEqual(latest('good', 'Brand One'));
    // Its runs (the query without @live) were prepared with the manifest (PLAN_WARMUP).
    expect(plans).not.toHaveBeenCalled();
    f.latest.set('b1', review('r2', 'better'));
    f.brandNames.set('b1', 'Brand Uno');
    f.gateway.invalidateEntity('Brand', { id: 'b1' });
    expect(await reader.nextResult()).toEqual(latest('better', 'Brand Uno'));
    abort.abort();
    // Over graphql-ws by its id: the protocol wants a query text, and an empty one stands for none.
    const byId = f.client().iterate({ query: '', variables: { brandId: 'b1' }, extensions: { persistedQuery: { version: 1, sha256Hash: manifest.operations[0]!.id } } });
    expect(await take(byId, 1)).toEqual([latest('better', 'Brand Uno')]);
    // The safelist holds for the streaming transports too.
    const refused = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    await expect(refused.next()).rejects.toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_NOT_IN_SAFELIST' } })]);
  });
});

describe('a live query without the entity cache', () => {
  it('is refused with why: there are no evictions to follow', async () => {
    const f = await start({ ENTITY_CACHE: 'false' });
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    await expect(results.next()).rejects.toEqual([{ message: 'Live queries follow the evictions of the entity cache, which is off here (ENTITY_CACHE=false)', extensions: { code: 'LIVE_QUERIES_UNAVAILABLE' } }]);
  });
});

describe.skipIf(!redisAvailable)('a live query across replicas (Redis)', () => {
  it('an eviction on another replica reaches it over Redis', async () => {
    const prefix = uniqueKeyPrefix('live');
    cleanups.push(() => deleteKeys(prefix));
    const secret = 'a-long-invalidation-secret';
    const f = await start({ LIVE_QUERY_MIN_INTERVAL_MS: '0', REDIS_URL, REDIS_KEY_PREFIX: prefix });
    const other = await startGateway(loadConfig({ PORT: '0', SUPERGRAPH: f.supergraphFile, INVALIDATION_SECRET: secret, REDIS_URL, REDIS_KEY_PREFIX: prefix, ...DEVELOPMENT_IDENTITY_ENV }), { logger: jsonLogger('silent') });
    cleanups.push(() => other.stop());
    f.latest.set('b1', review('r1', 'good'));
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    expect(await take(results, 1)).toEqual([latest('good', 'Brand One')]);
    f.brandNames.set('b1', 'Brand Uno');
    const answer = await fetch(other.url.replace('/graphql', '/invalidation'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: secret },
      body: JSON.stringify({ kind: 'entity', type: 'Brand', key: { id: 'b1' } }),
    });
    expect(answer.status).toBe(200);
    expect(await take(results, 1)).toEqual([latest('good', 'Brand Uno')]);
  });
});

describe('trust on a WebSocket', () => {
  let issuer: TestIssuer;
  const withIssuer = async (clock?: ManualClock) => {
    issuer = await startTestIssuer();
    cleanups.push(() => issuer.close());
    return start(issuer.env, clock);
  };

  it('the token in connection_init names the caller the subgraph is told about', async () => {
    const f = await withIssuer();
    const token = await issuer.token('seller-7');
    const results = f.client({ connectionParams: { authorization: `Bearer ${token}` } }).iterate({ query: `subscription { reviewAdded(brandId: "b1") { seenBy } }` });
    const next = take(results, 1);
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(1), { timeout: 10_000, interval: 5 });
    f.publish(review('r1', 'x'));
    expect(await next).toEqual([{ data: { reviewAdded: { seenBy: 'seller-7' } } }]);
  });

  it('a token that does not verify closes the connection with 4403 and the reason', async () => {
    const f = await withIssuer();
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const client = f.client({ connectionParams: { authorization: `Bearer ${'x'.repeat(20)}.${'y'.repeat(20)}.${'z'.repeat(20)}` }, onClosed: (event) => resolve(event as { code: number; reason: string }) });
      client.iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }).next().catch(() => undefined);
    });
    expect(await closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/^Forbidden: /) });
    expect(f.listeners('b1')).toBe(0);
  });

  it('when the token expires, the connection is closed with 4403 "the token has expired"', async () => {
    const clock = new ManualClock();
    const f = await withIssuer(clock);
    const token = await issuer.token('seller-7', { expiresAt: Math.floor(Date.now() / 1000) + 60 });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const client = f.client({ connectionParams: { authorization: `Bearer ${token}` }, onClosed: (event) => resolve(event as { code: number; reason: string }) });
      client.iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }).next().catch(() => undefined);
    });
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(1), { timeout: 10_000, interval: 5 });
    clock.advance(61_000);
    expect(await closed).toMatchObject({ code: 4403, reason: 'Forbidden: the token has expired' });
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(0), { timeout: 10_000, interval: 5 });
  });
});

describe('limits', () => {
  const refusal = async (results: AsyncIterator<unknown>) => results.next().then(() => 'not refused', (errors: unknown) => errors);

  it('STREAMS_MAX_PER_CALLER bounds one identified caller over all its connections; STREAMS_MAX bounds everyone', async () => {
    const f = await start({ STREAMS_MAX_PER_CALLER: '2', STREAMS_MAX: '4' });
    const as = (seller: string) => f.client({ connectionParams: { headers: { 'x-seller-id': seller } } });
    const open = [as('s1').iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }), as('s1').iterate({ query: REVIEW_ADDED, variables: { brandId: 'b2' } })];
    await vi.waitFor(async () => expect(await metric(f, 'gateway_streams_open{transport="ws",kind="subscription"}')).toBe(2), { timeout: 10_000, interval: 5 });
    expect(await refusal(as('s1').iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }))).toEqual([expect.objectContaining({ message: expect.stringContaining('at most 2 streams'), extensions: { code: 'TOO_MANY_STREAMS' } })]);
    // Another caller, and anonymous callers, are not held to s1's count; the process's total still holds.
    open.push(as('s2').iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }), f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }));
    await vi.waitFor(async () => expect(await metric(f, 'gateway_streams_open{transport="ws",kind="subscription"}')).toBe(4), { timeout: 10_000, interval: 5 });
    expect(await refusal(f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b2' } }))).toEqual([expect.objectContaining({ message: expect.stringContaining('at most 4 streams at once'), extensions: { code: 'TOO_MANY_STREAMS' } })]);
    // A stream that ends gives its place back.
    await open[0]!.return?.();
    await vi.waitFor(async () => expect(await metric(f, 'gateway_streams_open{transport="ws",kind="subscription"}')).toBe(3), { timeout: 10_000, interval: 5 });
    const again = as('s1').iterate({ query: REVIEW_ADDED, variables: { brandId: 'b2' } });
    await vi.waitFor(async () => expect(await metric(f, 'gateway_streams_open{transport="ws",kind="subscription"}')).toBe(4), { timeout: 10_000, interval: 5 });
    await again.return?.();
  });

  it('a WebSocket that carries nothing for STREAMS_IDLE_TIMEOUT_MS is closed (1000)', async () => {
    const clock = new ManualClock();
    const f = await start({ STREAMS_IDLE_TIMEOUT_MS: '60000' }, clock);
    const { WebSocket } = await import('ws');
    const raw = new WebSocket(f.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => raw.once('message', resolve));
    const closed = new Promise<[number, string]>((resolve) => raw.once('close', (code, reason) => resolve([code, String(reason)])));
    clock.advance(60_000);
    expect(await closed).toEqual([1000, 'idle: no subscription for a while']);
  });

  it('a peer that does not answer pings is cut after STREAMS_KEEPALIVE_MS', async () => {
    const f = await start({ STREAMS_KEEPALIVE_MS: '1000' });
    const { WebSocket } = await import('ws');
    const silent = new WebSocket(f.wsUrl, 'graphql-transport-ws', { autoPong: false });
    await new Promise((resolve) => silent.once('open', resolve));
    silent.send(JSON.stringify({ type: 'connection_init' }));
    const pinged = new Promise((resolve) => silent.once('ping', resolve));
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    await pinged;
    // Cut without a close frame: the peer sees 1006.
    expect(await closed).toBe(1006);
  });

  it('garbage on many connections: each is refused or closed by the protocol, and the gateway goes on serving', async () => {
    const f = await start();
    const { WebSocket } = await import('ws');
    const garbage = ['', 'not json', '{}', '[]', 'null', '{"type":"subscribe"}', '{"type":"subscribe","id":"1","payload":{"query":1}}', '{"type":"next","id":"1","payload":{}}', '{"type":"connection_init","payload":"x"}', '\u0000\u0001', '{"type":"ping","payload":[]}', '{"type":"complete","id":7}',
      // Well formed, but what only a server sends.
      '{"type":"next","id":"1","payload":{"data":{}}}', '{"type":"error","id":"1","payload":[{"message":"x"}]}', '{"type":"connection_ack"}'];
    const printed = vi.spyOn(console, 'error');
    const codes = await Promise.all(garbage.map(async (message) => {
      const raw = new WebSocket(f.wsUrl, 'graphql-transport-ws');
      await new Promise((resolve) => raw.once('open', resolve));
      raw.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise((resolve) => raw.once('message', resolve));
      const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
      raw.send(message);
      // A message the protocol accepts leaves the connection open: close it ourselves.
      raw.send('{"type":"subscribe"}');
      return closed;
    }));
    expect(codes).toEqual(garbage.map(() => 4400));
    // Refusals are the protocol's answers, not errors of the gateway: nothing is printed outside the JSON logs.
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
    const results = f.client().iterate({ query: LIVE_LATEST, variables: { brandId: 'b1' } });
    expect(await take(results, 1)).toEqual([{ data: { latestReview: null } }]);
  });
});

const metric = (f: SubscriptionFixture, line: string) => metricValue(f.gateway.url, line);
