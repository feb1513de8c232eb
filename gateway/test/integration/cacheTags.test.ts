/**
 * Issue 12 - fresh and fast: every cached answer is tagged with the entities it shows (from the supergraph's
 * @keys) and the subgraph's own tags; root answers are served from memory while fresh when something can evict
 * them; POST /invalidation evicts by tag, entity, type or subgraph; stale-while-revalidate serves at once and
 * refreshes once in the background; GET answers can carry Cache-Tag for a CDN. Real subgraphs behind real
 * proxies, on a ManualClock.
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeCacheTag } from '../../src/cache/cacheTagHeader.js';
import { PAGE, fixturePerTest, ids, type FixtureOptions, type ReadPathFixture } from '../support/readPathFixture.js';

const SECRET = 'a-long-invalidation-secret';
const perTest = fixturePerTest();
const clock = perTest.clock;
const start = (options: FixtureOptions = {}) => perTest.start({ ...options, env: { INVALIDATION_SECRET: SECRET, ...options.env } });
const brandNamesOf = (body: any) => body.data.products.map((p: any) => p.brand?.name ?? null);
const invalidate = (f: ReadPathFixture, body: unknown, authorization: string | null = SECRET) =>
  fetch(f.gateway.url.replace('/graphql', '/invalidation'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('root answers while fresh, evicted by the entities they show', () => {
  it('a warm page costs no subgraph call; evicting one brand drops the product list showing it and that brand only', async () => {
    const f = await start({ brandCount: 2 });
    const first = await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandNamesOf(first.body)).toEqual(['Brand 0', 'Brand 1']);
    f.shop.reset();
    f.brands.reset();
    const warm = await f.query(PAGE, { ids: ids(0, 2) });
    expect(warm.body).toEqual(first.body);
    expect([f.shop.requests.length, f.brands.requests.length]).toEqual([0, 0]);

    f.brandNames.set('b1', 'Brand One');
    const answer = await invalidate(f, { kind: 'entity', type: 'Brand', key: { id: 'b1' } });
    expect(answer.status).toBe(200);
    // The brand's own entry and the shop answer that showed it.
    expect(await answer.json()).toEqual({ count: 2 });
    const after = await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandNamesOf(after.body)).toEqual(['Brand 0', 'Brand One']);
    expect(f.shop.requests).toHaveLength(1);
    expect(f.brands.entityCalls().map((c) => c.representations.map((r: any) => r.id))).toEqual([['b1']]);
  });

  it('without any way to evict (no secret, no events) root answers are asked for every time, as before', async () => {
    const f = await perTest.start({ brandCount: 2 });
    await f.query(PAGE, { ids: ids(0, 2) });
    await f.query(PAGE, { ids: ids(0, 2) });
    expect(f.shop.requests).toHaveLength(2);
  });

  it('evicts by type and by subgraph and answers how many entries went (none for a tag nothing carries)', async () => {
    const f = await start({ brandCount: 3 });
    await f.query(PAGE, { ids: ids(0, 3) });
    expect(await (await invalidate(f, [{ kind: 'type', type: 'Brand', subgraph: 'brands' }])).json()).toEqual({ count: 3 });
    expect(await (await invalidate(f, { kind: 'subgraph', subgraph: 'shop' })).json()).toEqual({ count: 1 });
    expect(await (await invalidate(f, { kind: 'cache_tag', cache_tags: ['nothing-has-this'] })).json()).toEqual({ count: 0 });
  });
});

describe('POST /invalidation', () => {
  it('refuses a missing or wrong secret with 401 and bad bodies with 400, evicting nothing', async () => {
    const f = await start({ brandCount: 1 });
    await f.query(PAGE, { ids: ids(0, 1) });
    const entries = await f.metric('gateway_entity_cache_entries');
    for (const authorization of [null, 'wrong-secret-of-some-length', `Bearer ${SECRET}x`]) {
      const refused = await invalidate(f, { kind: 'subgraph', subgraph: 'brands' }, authorization);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await refused.json()) as any).errors[0].extensions.code).toBe('INVALIDATION_UNAUTHORIZED');
    }
    for (const [body, message] of [
      ['{"kind":', 'The body is not JSON'],
      [[], 'The body names nothing to invalidate'],
      [{ kind: 'everything' }, '"kind" must be cache_tag, entity, type or subgraph'],
      [[{ kind: 'subgraph', subgraph: 'brands' }, { kind: 'entity', type: 'Brand' }], 'entity needs "key", an object of key fields (item 1)'],
    ] as const) {
      const refused = await invalidate(f, body);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({ errors: [{ message, extensions: { code: 'INVALIDATION_BAD_REQUEST' } }] });
    }
    expect(await f.metric('gateway_entity_cache_entries')).toBe(entries);
    expect((await fetch(f.gateway.url.replace('/graphql', '/invalidation'))).status).toBe(405);
  });

  it('is not there without INVALIDATION_SECRET', async () => {
    const f = await perTest.start();
    expect((await invalidate(f, { kind: 'subgraph', subgraph: 'brands' })).status).toBe(404);
  });
});

describe('stale-while-revalidate', () => {
  it('past max-age an entity is served at once and refreshed once in the background; the next page shows the refresh', async () => {
    const f = await start({ brandCount: 1 });
    f.brands.overrideHeaders = { 'cache-control': 'max-age=10, stale-while-revalidate=60' };
    await f.query(PAGE, { ids: ids(0, 1) });
    f.brands.reset();
    f.brandNames.set('b0', 'Brand Zero');
    clock().advance(11_000);
    f.brands.fault = { kind: 'hold' };
    const [a, b] = await Promise.all([f.query(PAGE, { ids: ids(0, 1) }), f.query(PAGE, { ids: ['p0', 'p0'] })]);
    expect(brandNamesOf(a.body)).toEqual(['Brand 0']);
    expect(brandNamesOf(b.body)).toEqual(['Brand 0', 'Brand 0']);
    expect(f.brands.requests).toHaveLength(1);
    f.brands.releaseHeld();
    await f.brands.requests[0]!.closed;
    await vi.waitFor(async () => expect(await f.metric('gateway_cache_lookups_total{subgraph="brands",kind="background",outcome="refresh"}')).toBe(1));
    await vi.waitFor(async () => expect(brandNamesOf((await f.query(PAGE, { ids: ids(0, 1) })).body)).toEqual(['Brand Zero']));
  });
});

describe('Cache-Tag for a CDN', () => {
  it('GET answers carry the tags of what they show with CACHE_TAG_HEADER=true, percent-encoded', async () => {
    const f = await start({ brandCount: 1, env: { CACHE_TAG_HEADER: 'true' } });
    const url = new URL(f.gateway.url);
    url.searchParams.set('query', PAGE);
    url.searchParams.set('variables', JSON.stringify({ ids: ['p0'] }));
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
    // The brand is tagged: the shop answer names it with __typename (another subgraph resolves it) and brands'
    // answer is that entity. The product's own fields come without __typename, so it carries no tag of its own.
    expect(response.headers.get('cache-tag')).toBe(encodeCacheTag('Brand:{"id":"b0"}'));
  });
});
