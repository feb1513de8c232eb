/**
 * The hybrid read path on a supergraph of our own (shop + brands), with real subgraphs behind real fault
 * proxies: batching across requests, the per-entity cache, deadlines, error codes on exactly the failed fields,
 * stale-if-error, the circuit breaker, private scope, no-cache and the response's Cache-Control.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NOTES, PAGE, ids, startReadPathFixture, type FixtureOptions, type ReadPathFixture } from '../support/readPathFixture.js';

let fixture: ReadPathFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});
const start = async (options: FixtureOptions = {}) => (fixture = await startReadPathFixture(options));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const brandNamesOf = (body: any) => body.data.products.map((p: any) => p.brand?.name ?? null);
// For tests about batching and caching, not deadlines: a busy machine must not turn them into timeouts.
const RELAXED = { ENTITY_TIMEOUT_MS: '10000', SUBGRAPH_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '30000' };

describe('batching across requests', () => {
  it('concurrent pages needing the same brands share one _entities call, each brand sent once', async () => {
    const f = await start({ env: { ...RELAXED, ENTITY_CACHE: 'off', ENTITY_BATCH_WINDOW_MS: '25' }, brandCount: 5 });
    f.holdShopUntil(10);
    const pages = await Promise.all(Array.from({ length: 10 }, (_, i) => f.query(PAGE, { ids: ids(i, i + 5) })));
    for (const [i, page] of pages.entries()) {
      expect(page.body.errors).toBeUndefined();
      expect(brandNamesOf(page.body)).toEqual(ids(i, i + 5).map((id) => `Brand ${Number(id.slice(1)) % 5}`));
    }
    const calls = f.brands.entityCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.representations.map((r: any) => r.id).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('duplicate representations within one page are sent once', async () => {
    const f = await start({ env: { ...RELAXED, ENTITY_CACHE: 'off' }, brandCount: 2 });
    const page = await f.query(PAGE, { ids: ids(0, 6) });
    expect(brandNamesOf(page.body)).toEqual(['Brand 0', 'Brand 1', 'Brand 0', 'Brand 1', 'Brand 0', 'Brand 1']);
    expect(f.brands.entityCalls().map((c) => c.representations.length)).toEqual([2]);
  });
});

describe('per-entity cache', () => {
  it('a batch where 8 of 10 entities are fresh in cache sends only the 2 others', async () => {
    const f = await start({ env: RELAXED, brandCount: 20 });
    await f.query(PAGE, { ids: ids(0, 8) });
    f.brands.reset();
    const page = await f.query(PAGE, { ids: ids(0, 10) });
    expect(brandNamesOf(page.body)).toEqual(ids(0, 10).map((id) => `Brand ${id.slice(1)}`));
    expect(f.brands.entityCalls().map((c) => c.representations.map((r: any) => r.id))).toEqual([['b8', 'b9']]);
  });

  it('a fully cached page costs the entity subgraph nothing, and the response says how long it stays fresh', async () => {
    const f = await start();
    const first = await f.query(PAGE, { ids: ids(0, 3) });
    expect(first.headers.get('cache-control')).toBe('max-age=60, public');
    f.brands.reset();
    await sleep(1_100);
    const second = await f.query(PAGE, { ids: ids(0, 3) });
    expect(second.body).toEqual(first.body);
    expect(f.brands.requests).toHaveLength(0);
    expect(second.headers.get('cache-control')).toMatch(/^max-age=5[89], public$/);
  });

  it('root answers are asked for every time by default, and served from memory while fresh with ROOT_FETCH_CACHE=max-age', async () => {
    const revalidating = await start();
    await revalidating.query(PAGE, { ids: ids(0, 2) });
    await revalidating.query(PAGE, { ids: ids(0, 2) });
    expect(revalidating.shop.requests).toHaveLength(2);
    await revalidating.restartGateway({ ROOT_FETCH_CACHE: 'max-age' });
    revalidating.shop.reset();
    const first = await revalidating.query(PAGE, { ids: ids(0, 2) });
    const second = await revalidating.query(PAGE, { ids: ids(0, 2) });
    expect(second.body).toEqual(first.body);
    expect(revalidating.shop.requests).toHaveLength(1);
  });

  it('never serves one caller a private entity cached for another', async () => {
    const f = await start();
    const mine = await f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 's1' });
    expect(mine.body.data.products[0].note.text).toBe('note np1 for s1');
    expect(mine.headers.get('cache-control')).toBe('max-age=60, private');
    const theirs = await f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 's2' });
    expect(theirs.body.data.products[0].note.text).toBe('note np1 for s2');
    const anonymous = await f.query(NOTES, { ids: ['p1'] });
    expect(anonymous.body.data.products[0].note.text).toBe('note np1 for nobody');
    expect(f.brands.entityCalls()).toHaveLength(3);
    const again = await f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 's1' });
    expect(again.body.data.products[0].note.text).toBe('note np1 for s1');
    expect(f.brands.entityCalls()).toHaveLength(3);
  });

  it('Cache-Control: no-cache from the client bypasses fresh entries', async () => {
    const f = await start();
    await f.query(PAGE, { ids: ids(0, 2) });
    f.brandNames.set('b0', 'Brand 0 renamed');
    const cached = await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandNamesOf(cached.body)).toEqual(['Brand 0', 'Brand 1']);
    const revalidated = await f.query(PAGE, { ids: ids(0, 2) }, { 'cache-control': 'no-cache' });
    expect(brandNamesOf(revalidated.body)).toEqual(['Brand 0 renamed', 'Brand 1']);
    expect(f.brands.entityCalls()).toHaveLength(2);
  });

  it('an entity the subgraph returns as null is null on the page and is not cached', async () => {
    const f = await start({ brandCount: 2 });
    f.brandNames.delete('b1');
    const page = await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandNamesOf(page.body)).toEqual(['Brand 0', null]);
    f.brandNames.set('b1', 'Brand 1 is back');
    const later = await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandNamesOf(later.body)).toEqual(['Brand 0', 'Brand 1 is back']);
  });
});

describe('failures null the failing fields, not the page', () => {
  it('a hanging subgraph costs the page no more than its timeout, and the request to it is aborted', async () => {
    const f = await start({ env: { ENTITY_TIMEOUT_MS: '200' }, brandCount: 2 });
    f.brands.fault = { kind: 'hang' };
    const page = await f.query(PAGE, { ids: ids(0, 2) });
    expect(page.status).toBe(200);
    expect(page.ms).toBeLessThan(200 + 500);
    expect(page.body.data.products).toEqual([
      { id: 'p0', title: 'Product p0', brand: null },
      { id: 'p1', title: 'Product p1', brand: null },
    ]);
    expect(page.body.errors).toEqual([0, 1].map((i) => ({
      message: 'brands did not answer within 200 ms',
      path: ['products', i, 'brand'],
      extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' },
    })));
    for (let i = 0; i < 50 && !f.brands.requests[0]!.aborted; i++) await sleep(10);
    expect(f.brands.requests[0]!.aborted).toBe(true);
  });

  it('the operation budget bounds the page even when the subgraph timeout is longer', async () => {
    const f = await start({ env: { OPERATION_BUDGET_MS: '400', ENTITY_TIMEOUT_MS: '5000' } });
    f.shop.fault = { kind: 'delay', ms: 250 };
    f.brands.fault = { kind: 'hang' };
    const page = await f.query(PAGE, { ids: ['p0'] });
    expect(page.ms).toBeLessThan(400 + 300);
    expect(page.body.errors[0].message).toMatch(/^brands did not answer within the \d+ ms left of the operation budget$/);
    expect(page.body.data.products[0].title).toBe('Product p0');
  });

  it.each([
    ['HTTP 500', { kind: 'status', status: 500 }, 'SUBGRAPH_UNAVAILABLE', /brands answered HTTP 500/],
    ['a connection reset', { kind: 'reset' }, 'SUBGRAPH_UNAVAILABLE', /brands is unavailable \(connection reset\)/],
    ['an HTML page', { kind: 'garbage', body: '<html>502 Bad Gateway</html>' }, 'SUBGRAPH_BAD_RESPONSE', /not a GraphQL response/],
    ['the wrong number of entities', { kind: 'garbage', body: '{"data":{"_entities":[]}}' }, 'SUBGRAPH_BAD_RESPONSE', /answered 0 entities for 1 representations/],
  ] as const)('%s nulls the entity fields with %s and keeps the rest of the page', async (_, fault, code, message) => {
    const f = await start({ env: { ENTITY_CACHE: 'off' } });
    f.brands.fault = fault as never;
    const page = await f.query(PAGE, { ids: ['p3'] });
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual({ products: [{ id: 'p3', title: 'Product p3', brand: null }] });
    expect(page.body.errors).toHaveLength(1);
    expect(page.body.errors[0]).toMatchObject({ path: ['products', 0, 'brand'], extensions: { code, serviceName: 'brands' } });
    expect(page.body.errors[0].message).toMatch(message);
  });

  it('a refused connection is SUBGRAPH_UNAVAILABLE', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off' } });
    await f.brands.stop();
    const page = await f.query(PAGE, { ids: ['p0'] });
    expect(page.body.errors[0]).toMatchObject({ message: 'brands is unavailable (connection refused)', extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    expect(page.body.data.products[0].title).toBe('Product p0');
  });

  it('a failed root fetch nulls its root field with a coded error, HTTP 200', async () => {
    const f = await start();
    f.shop.fault = { kind: 'status', status: 503 };
    const page = await f.query(PAGE, { ids: ['p0'] });
    expect(page.status).toBe(200);
    expect(page.body).toEqual({
      data: null,
      errors: [{ message: 'shop answered HTTP 503', path: ['products'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'shop' } }],
    });
    expect(page.headers.get('cache-control')).toBe('no-store');
  });
});

describe('stale-if-error', () => {
  it('serves a stale cached entity when its subgraph fails, says so in extensions, and raises no error', async () => {
    const f = await start({ brandMaxAgeSeconds: 1, env: { STALE_IF_ERROR_SECONDS: '60' } });
    const fresh = await f.query(PAGE, { ids: ids(0, 2) });
    await sleep(1_100);
    f.brands.fault = { kind: 'status', status: 500 };
    const page = await f.query(PAGE, { ids: ids(0, 2) });
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data).toEqual(fresh.body.data);
    expect(page.body.extensions.staleServed).toEqual([
      { subgraph: 'brands', typename: 'Brand', ageSeconds: 1 },
      { subgraph: 'brands', typename: 'Brand', ageSeconds: 1 },
    ]);
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('a client asking for no-cache gets the error, never the stale value', async () => {
    const f = await start({ brandMaxAgeSeconds: 1 });
    await f.query(PAGE, { ids: ['p0'] });
    await sleep(1_100);
    f.brands.fault = { kind: 'status', status: 500 };
    const page = await f.query(PAGE, { ids: ['p0'] }, { 'cache-control': 'no-cache' });
    expect(page.body.data.products[0].brand).toBeNull();
    expect(page.body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
  });
});

describe('circuit breaker', () => {
  const metric = async (f: ReadPathFixture, name: string) => {
    const text = await (await fetch(f.gateway.url.replace('/graphql', '/metrics'))).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };

  it('opens after repeated failures (fail fast, no call), half-opens after the reset time, and closes on a good probe', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off', BREAKER_VOLUME_THRESHOLD: '2', BREAKER_ERROR_PERCENT: '50', BREAKER_RESET_MS: '300' } });
    const state = () => metric(f, 'gateway_subgraph_breaker_state{subgraph="brands"}');
    expect(await state()).toBe(0);
    f.brands.fault = { kind: 'status', status: 500 };
    for (let i = 0; i < 2; i++) {
      expect((await f.query(PAGE, { ids: ['p0'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    }
    expect(await state()).toBe(2);
    const sent = f.brands.requests.length;
    const fast = await f.query(PAGE, { ids: ['p0'] });
    expect(fast.body.errors[0].extensions.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
    expect(fast.body.data.products[0].title).toBe('Product p0');
    expect(f.brands.requests.length).toBe(sent);

    await sleep(350);
    expect(await state()).toBe(1);
    f.brands.fault = { kind: 'none' };
    const probe = await f.query(PAGE, { ids: ['p0'] });
    expect(probe.body.errors).toBeUndefined();
    expect(f.brands.requests.length).toBe(sent + 1);
    expect(await state()).toBe(0);
  });

  it('a failed probe opens the breaker again', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off', BREAKER_VOLUME_THRESHOLD: '1', BREAKER_RESET_MS: '200' } });
    f.brands.fault = { kind: 'status', status: 500 };
    await f.query(PAGE, { ids: ['p0'] });
    await sleep(250);
    expect((await f.query(PAGE, { ids: ['p0'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect((await f.query(PAGE, { ids: ['p0'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
  });
});

describe('metrics', () => {
  it('counts requests, entities by outcome, failures and cache size per subgraph on /metrics', async () => {
    const f = await start({ brandCount: 3 });
    await f.query(PAGE, { ids: ids(0, 3) });
    await f.query(PAGE, { ids: ids(0, 3) });
    f.brands.fault = { kind: 'hang' };
    await f.query(PAGE, { ids: ['p9'] }, { 'cache-control': 'no-cache' });
    const response = await fetch(f.gateway.url.replace('/graphql', '/metrics'));
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const line of [
      'gateway_subgraph_requests_total{subgraph="brands",kind="entities",outcome="ok"} 1',
      'gateway_subgraph_requests_total{subgraph="brands",kind="entities",outcome="SUBGRAPH_TIMEOUT"} 1',
      'gateway_entities_total{subgraph="brands",outcome="requested"} 7',
      'gateway_entities_total{subgraph="brands",outcome="cache_hit"} 3',
      'gateway_entities_total{subgraph="brands",outcome="fetched"} 4',
      'gateway_entities_total{subgraph="brands",outcome="failed"} 1',
      'gateway_subgraph_failures_total{subgraph="brands",code="SUBGRAPH_TIMEOUT"} 1',
      'gateway_subgraph_breaker_state{subgraph="brands"} 0',
      // the three brands; shop's root answers carry no ETag, so by default they are not kept
      'gateway_entity_cache_entries 3',
    ]) expect(text).toContain(line);
  });
});
