/**
 * Deferred parts served again from memory (execution/partMemo.ts): a page whose deferred part shows the same
 * entities as a page before it gets that part without a subgraph call and as a cache hit, and never once one of
 * those entities is evicted, stale, asked to be revalidated, or private to another caller. Real subgraphs behind real
 * proxies, on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { ACCEPT, mergePayloads, sendAccepting } from '../support/incrementalAnswers.js';
import { fixturePerTest, ids, type FixtureOptions, type ReadPathFixture } from '../support/readPathFixture.js';

const SECRET = 'a-long-invalidation-secret';
/** Each product's brand name is deferred: one part, a place per product. */
const DEFERRED_BRANDS = `query DeferredBrands($ids: [ID!]!) { products(ids: $ids) { id title brand { id ... @defer { name } } } }`;
const DEFERRED_NOTES = `query DeferredNotes($ids: [ID!]!) { products(ids: $ids) { id note { id ... @defer { text } } } }`;
const FORMAT = 'deferSpec=20220824';

const perTest = fixturePerTest();
const clock = perTest.clock;
const start = (options: FixtureOptions = {}) => perTest.start({ ...options, env: { INVALIDATION_SECRET: SECRET, ...options.env } });

/** The page in parts, merged as a client merges them; fails unless its brands came in a part of their own. */
async function deferredPage(f: ReadPathFixture, query: string, productIds: string[], headers: Record<string, string> = {}) {
  const answer = await sendAccepting(f.gateway.url, { query, variables: { ids: productIds } }, ACCEPT[FORMAT], { headers });
  expect(answer.contentType).toContain('multipart/mixed');
  expect(answer.payloads.length).toBeGreaterThan(1);
  const merged = mergePayloads(answer.payloads, FORMAT);
  expect(merged.errors).toEqual([]);
  return merged.data.products;
}
const brandNames = (products: any[]) => products.map((p) => p.brand.name);
const freshBrandLookups = (f: ReadPathFixture) => f.metric('gateway_cache_lookups_total{subgraph="brands",kind="entity",outcome="fresh"}');

describe('a deferred part served again from memory', () => {
  it('another page showing the same brands gets their part without a call to brands, counted as cache hits', async () => {
    const f = await start({ brandCount: 2 });
    expect(brandNames(await deferredPage(f, DEFERRED_BRANDS, ids(0, 2)))).toEqual(['Brand 0', 'Brand 1']);
    f.brands.reset();
    // p2 and p3 are made by b0 and b1 too.
    for (let i = 1; i <= 3; i++) {
      const products = await deferredPage(f, DEFERRED_BRANDS, ids(2, 4));
      expect(products.map((p: any) => p.id)).toEqual(['p2', 'p3']);
      expect(brandNames(products)).toEqual(['Brand 0', 'Brand 1']);
      expect(await freshBrandLookups(f)).toBe(2 * i);
    }
    expect(f.brands.entityCalls()).toHaveLength(0);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="cache_hit"}')).toBe(6);
  });

  it('a part served from memory leaves in its first payload\'s write; one that is fetched follows in a write of its own', async () => {
    const f = await start({ brandCount: 2 });
    const send = (productIds: string[]) => sendAccepting(f.gateway.url, { query: DEFERRED_BRANDS, variables: { ids: productIds } }, ACCEPT[FORMAT]);
    // Fetched: the first payload is written before brands answers, so the length of the answer is not known then.
    const fetched = await send(ids(0, 2));
    expect(fetched.payloads).toHaveLength(2);
    expect(fetched.headers.get('transfer-encoding')).toBe('chunked');
    expect(fetched.headers.get('content-length')).toBeNull();
    // The entity cache serves the next page's part, which the memo keeps; the page after it, the memo serves: both
    // payloads and the closing delimiter in one write, whose length is known.
    await send(ids(2, 4));
    const again = await send(ids(2, 4));
    expect(again.payloads).toHaveLength(2);
    expect(again.payloads[0]).toMatchObject({ data: { products: [{ id: 'p2' }, { id: 'p3' }] }, hasNext: true });
    expect(again.payloads[1]).toMatchObject({ hasNext: false, incremental: [{ data: { name: 'Brand 0' }, path: ['products', 0, 'brand'] }, { data: { name: 'Brand 1' }, path: ['products', 1, 'brand'] }] });
    expect(again.headers.get('transfer-encoding')).toBeNull();
    expect(Number(again.headers.get('content-length'))).toBeGreaterThan(0);
    expect(f.brands.entityCalls()).toHaveLength(1);
  });

  it('a brand evicted by an invalidation is fetched again, and the page shows its new name', async () => {
    const f = await start({ brandCount: 2 });
    await deferredPage(f, DEFERRED_BRANDS, ids(0, 2));
    await deferredPage(f, DEFERRED_BRANDS, ids(2, 4));
    f.brandNames.set('b1', 'Brand One');
    const evicted = await fetch(f.gateway.url.replace('/graphql', '/invalidation'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: SECRET },
      body: JSON.stringify({ kind: 'entity', type: 'Brand', key: { id: 'b1' } }),
    });
    expect(evicted.status).toBe(200);
    f.brands.reset();
    expect(brandNames(await deferredPage(f, DEFERRED_BRANDS, ids(2, 4)))).toEqual(['Brand 0', 'Brand One']);
    expect(f.brands.entityCalls().map((call) => call.representations.map((r: any) => r.id))).toEqual([['b1']]);
  });

  it('past max-age the brands are asked again, and a name changed meanwhile shows', async () => {
    const f = await start({ brandCount: 2, brandMaxAgeSeconds: 30 });
    await deferredPage(f, DEFERRED_BRANDS, ids(0, 2));
    await deferredPage(f, DEFERRED_BRANDS, ids(2, 4));
    f.brandNames.set('b0', 'Brand Zero');
    clock().advance(29_000);
    f.brands.reset();
    expect(brandNames(await deferredPage(f, DEFERRED_BRANDS, ids(2, 4)))).toEqual(['Brand 0', 'Brand 1']);
    expect(f.brands.entityCalls()).toHaveLength(0);
    clock().advance(1_000);
    expect(brandNames(await deferredPage(f, DEFERRED_BRANDS, ids(2, 4)))).toEqual(['Brand Zero', 'Brand 1']);
    expect(f.brands.entityCalls()).toHaveLength(1);
  });

  it('a client asking to revalidate (Cache-Control: no-cache) is not served from memory', async () => {
    const f = await start({ brandCount: 2 });
    await deferredPage(f, DEFERRED_BRANDS, ids(0, 2));
    await deferredPage(f, DEFERRED_BRANDS, ids(2, 4));
    f.brandNames.set('b1', 'Brand One');
    f.brands.reset();
    expect(brandNames(await deferredPage(f, DEFERRED_BRANDS, ids(2, 4), { 'cache-control': 'no-cache' }))).toEqual(['Brand 0', 'Brand One']);
    expect(f.brands.entityCalls()).toHaveLength(1);
  });

  it('a part made of one caller\'s private entries is never served to another caller', async () => {
    const f = await start();
    const notes = async (caller: string) => (await deferredPage(f, DEFERRED_NOTES, ['p1'], { 'x-seller-id': caller })).map((p: any) => p.note.text);
    expect(await notes('s1')).toEqual(['note np1 for s1']);
    expect(await notes('s1')).toEqual(['note np1 for s1']);
    expect(await notes('s2')).toEqual(['note np1 for s2']);
    expect(f.brands.entityCalls()).toHaveLength(2);
  });
});
