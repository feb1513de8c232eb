/**
 * The hybrid read path on a supergraph of our own (shop + brands), with real subgraphs behind real fault
 * proxies: batching across requests, the per-entity cache, deadlines, error codes on exactly the failed fields,
 * stale-if-error, the circuit breaker, private scope, no-cache, the response's Cache-Control, request ids and
 * failure logs.
 *
 * The gateway runs on a ManualClock: time passes only when a test advances it, after awaiting the real event it
 * is about (a request reaching a proxy, an answer coming back), so no test sleeps and a busy machine cannot turn
 * a healthy subgraph into a timeout.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { endOfTurn, watch } from '../support/heldDispatch.js';
import { BUY, NOTES, PAGE, fixturePerTest, ids } from '../support/readPathFixture.js';

const { start, clock } = fixturePerTest();
const brandNamesOf = (body: any) => body.data.products.map((p: any) => p.brand?.name ?? null);
const BRANDS_BREAKER = 'gateway_subgraph_breaker_state{subgraph="brands"}';

describe('batching across requests', () => {
  it('concurrent pages needing the same brands share one _entities call, each brand sent once', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off' }, brandCount: 5 });
    f.holdShopUntil(10);
    const pages = await Promise.all(Array.from({ length: 10 }, (_, i) => f.query(PAGE, { ids: ids(i, i + 5) })));
    for (const [i, page] of pages.entries()) {
      expect(page.body.errors).toBeUndefined();
      expect(brandNamesOf(page.body)).toEqual(ids(i, i + 5).map((id) => `Brand ${Number(id.slice(1)) % 5}`));
    }
    const calls = f.brands.entityCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.representations.map((r: any) => r.id).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    // 10 pages x 5 brands asked; each brand fetched once, the other 45 loads shared a representation.
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="requested"}')).toBe(50);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="fetched"}')).toBe(5);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="deduplicated"}')).toBe(45);
  });

  it('duplicate representations within one page are sent once', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off' }, brandCount: 2 });
    const page = await f.query(PAGE, { ids: ids(0, 6) });
    expect(brandNamesOf(page.body)).toEqual(['Brand 0', 'Brand 1', 'Brand 0', 'Brand 1', 'Brand 0', 'Brand 1']);
    expect(f.brands.entityCalls().map((c) => c.representations.length)).toEqual([2]);
  });

  it('every place of a duplicated entity is served, counted and failed on its own, in page order', async () => {
    const f = await start({ brandCount: 2, brandMaxAgeSeconds: 1, env: { STALE_IF_ERROR_SECONDS: '60' } });
    const first = await f.query(PAGE, { ids: ids(0, 4) });
    expect(brandNamesOf(first.body)).toEqual(['Brand 0', 'Brand 1', 'Brand 0', 'Brand 1']);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="deduplicated"}')).toBe(2);
    const warm = await f.query(PAGE, { ids: ids(0, 4) });
    expect(warm.body).toEqual(first.body);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="cache_hit"}')).toBe(4);
    // Each brand is looked up once per page, however many places show it.
    expect(await f.metric('gateway_cache_lookups_total{subgraph="brands",kind="entity",outcome="fresh"}')).toBe(2);
    clock().advance(1_100);
    f.brands.fault = { kind: 'status', status: 500 };
    const stale = await f.query(PAGE, { ids: ids(0, 4) });
    expect(stale.body.data).toEqual(first.body.data);
    expect(stale.body.extensions.staleServed).toHaveLength(4);
    const failed = await f.query(PAGE, { ids: ids(0, 4) }, { 'cache-control': 'no-cache' });
    expect(brandNamesOf(failed.body)).toEqual([null, null, null, null]);
    expect(failed.body.errors.map((e: any) => e.path)).toEqual([0, 1, 2, 3].map((i) => ['products', i, 'brand']));
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="failed"}')).toBe(4);
    expect(f.brands.entityCalls().map((c) => c.representations.length)).toEqual([2, 2, 2]);
  });
});

describe('per-entity cache', () => {
  it('a batch where 8 of 10 entities are fresh in cache sends only the 2 others', async () => {
    const f = await start({ brandCount: 20 });
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
    clock().advance(1_100);
    const second = await f.query(PAGE, { ids: ids(0, 3) });
    expect(second.body).toEqual(first.body);
    expect(f.brands.requests).toHaveLength(0);
    expect(second.headers.get('cache-control')).toBe('max-age=58, public');
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

  it('a mutation reads its own writes: its entity fetches ask the subgraph even where a copy is fresh in memory', async () => {
    const f = await start();
    expect((await f.query(BUY, { id: 'p0' })).body.data.buy.brand.name).toBe('Brand 0');
    f.brandNames.set('b0', 'Brand 0 renamed by the purchase');
    f.brands.reset();
    const bought = await f.query(BUY, { id: 'p0' });
    expect(bought.body).toEqual({ data: { buy: { id: 'p0', brand: { id: 'b0', name: 'Brand 0 renamed by the purchase' } } } });
    expect(f.brands.entityCalls().map((c) => c.representations.map((r: any) => r.id))).toEqual([['b0']]);
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
  it('a hanging entity subgraph: the page gets SUBGRAPH_TIMEOUT at ENTITY_TIMEOUT_MS, the call goes on and is aborted at SUBGRAPH_TIMEOUT_MS', async () => {
    const f = await start({ env: { ENTITY_TIMEOUT_MS: '200', SUBGRAPH_TIMEOUT_MS: '1000' }, brandCount: 2 });
    f.brands.fault = { kind: 'hang' };
    const answering = f.query(PAGE, { ids: ids(0, 2) });
    const answer = watch(answering);
    const call = await f.brands.waitForRequests(1);
    clock().advance(199);
    await endOfTurn();
    expect(answer.state).toBe('pending');
    clock().advance(1);
    const page = await answering;
    expect(page.status).toBe(200);
    expect(page.body.data.products).toEqual([
      { id: 'p0', title: 'Product p0', brand: null },
      { id: 'p1', title: 'Product p1', brand: null },
    ]);
    expect(page.body.errors).toEqual([0, 1].map((i) => ({
      message: 'brands did not answer within 200 ms',
      path: ['products', i, 'brand'],
      extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' },
    })));
    // An anonymous query's call goes on, so its late answer can fill the cache, up to the subgraph's root timeout.
    expect(call.aborted).toBe(false);
    clock().advance(799);
    await endOfTurn();
    expect(call.aborted).toBe(false);
    clock().advance(1);
    await call.closed;
    expect(call.aborted).toBe(true);
    expect(f.brands.requests).toHaveLength(1);
  });

  it('a late answer fills the cache: the next page is complete without a new call', async () => {
    const f = await start({ env: { ENTITY_TIMEOUT_MS: '200', SUBGRAPH_TIMEOUT_MS: '1000' }, brandCount: 2 });
    f.brands.fault = { kind: 'hold' };
    const first = f.query(PAGE, { ids: ids(0, 2) });
    const call = await f.brands.waitForRequests(1);
    clock().advance(200);
    const late = await first;
    expect(brandNamesOf(late.body)).toEqual([null, null]);
    expect(late.body.errors.map((e: any) => e.extensions.code)).toEqual(['SUBGRAPH_TIMEOUT', 'SUBGRAPH_TIMEOUT']);

    clock().advance(300);
    f.brands.releaseHeld();
    await call.closed;
    expect(call.aborted).toBe(false);
    // The answer is stored when the gateway has read it.
    await vi.waitFor(async () => expect(await f.metric('gateway_entity_cache_entries')).toBe(2));
    const next = await f.query(PAGE, { ids: ids(0, 2) });
    expect(next.body.errors).toBeUndefined();
    expect(brandNamesOf(next.body)).toEqual(['Brand 0', 'Brand 1']);
    expect(f.brands.requests).toHaveLength(1);
    expect(await f.metric('gateway_entities_total{subgraph="brands",outcome="cache_hit"}')).toBe(2);
  });

  it('the operation budget bounds the page even when the subgraph timeout is longer', async () => {
    const f = await start({ env: { OPERATION_BUDGET_MS: '400', ENTITY_TIMEOUT_MS: '5000' } });
    f.shop.fault = { kind: 'hold' };
    f.brands.fault = { kind: 'hang' };
    const answer = f.query(PAGE, { ids: ['p0'] });
    await f.shop.waitForRequests(1);
    clock().advance(250);
    f.shop.releaseHeld();
    await f.brands.waitForRequests(1);
    clock().advance(150);
    const page = await answer;
    expect(page.body.errors).toEqual([{
      message: 'brands did not answer within the 150 ms left of the operation budget',
      path: ['products', 0, 'brand'],
      extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' },
    }]);
    expect(page.body.data.products[0].title).toBe('Product p0');
  });

  it('a page budget counts the page\'s earlier fetches: the entity fields are null that long after admission, and the call goes on', async () => {
    const f = await start({ env: { SUBGRAPH_BRANDS_ENTITY_PAGE_BUDGET_MS: '300', ENTITY_TIMEOUT_MS: '300', SUBGRAPH_TIMEOUT_MS: '2000' } });
    f.shop.fault = { kind: 'hold' };
    f.brands.fault = { kind: 'hang' };
    const answering = f.query(PAGE, { ids: ['p0'] });
    const answer = watch(answering);
    await f.shop.waitForRequests(1);
    clock().advance(120);
    f.shop.releaseHeld();
    const call = await f.brands.waitForRequests(1);
    clock().advance(179);
    await endOfTurn();
    expect(answer.state).toBe('pending');
    clock().advance(1);
    const page = await answering;
    expect(page.body.data.products).toEqual([{ id: 'p0', title: 'Product p0', brand: null }]);
    expect(page.body.errors).toEqual([{
      message: 'brands did not answer within the 300 ms a page waits for it (180 ms were left when it was asked)',
      path: ['products', 0, 'brand'],
      extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' },
    }]);
    // The page stopped waiting, the call did not: it still has its own 300 ms deadline, then goes on late.
    expect(call.aborted).toBe(false);
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
    clock().advance(1_100);
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
    clock().advance(1_100);
    f.brands.fault = { kind: 'status', status: 500 };
    const page = await f.query(PAGE, { ids: ['p0'] }, { 'cache-control': 'no-cache' });
    expect(page.body.data.products[0].brand).toBeNull();
    expect(page.body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
  });
});

describe('circuit breaker', () => {
  it('opens after repeated failures (fail fast, no call), half-opens after the reset time, and closes on a good probe', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off', BREAKER_VOLUME_THRESHOLD: '2', BREAKER_ERROR_PERCENT: '50', BREAKER_RESET_MS: '300' } });
    const state = () => f.metric(BRANDS_BREAKER);
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

    clock().advance(299);
    expect(await state()).toBe(2);
    clock().advance(1);
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
    clock().advance(200);
    expect((await f.query(PAGE, { ids: ['p0'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect((await f.query(PAGE, { ids: ['p0'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
  });

  it('a budget-exhausted fetch and a caller-aborted fetch leave the subgraph\'s breaker closed', async () => {
    const f = await start({
      env: { ENTITY_CACHE: 'off', BREAKER_VOLUME_THRESHOLD: '1', OPERATION_BUDGET_MS: '100', ENTITY_TIMEOUT_MS: '5000', SUBGRAPH_TIMEOUT_MS: '10000' },
      brandCount: 10,
    });
    f.brands.fault = { kind: 'hang' };
    // Each page asks for another brand, so none joins a call still out for an earlier one.
    for (let i = 0; i < 4; i++) {
      const answering = f.query(PAGE, { ids: [`p${i}`] });
      await f.brands.waitForRequests(i + 1);
      clock().advance(100);
      const page = await answering;
      expect(page.body.errors).toEqual([{
        message: 'brands did not answer within the 100 ms left of the operation budget',
        path: ['products', 0, 'brand'],
        extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'brands' },
      }]);
      expect(await f.metric(BRANDS_BREAKER)).toBe(0);
    }
    for (let i = 4; i < 8; i++) {
      const hangUp = new AbortController();
      const answering = f.query(PAGE, { ids: [`p${i}`] }, {}, hangUp.signal).catch(() => 'hung up');
      const call = await f.brands.waitForRequests(i + 1);
      hangUp.abort();
      expect(await answering).toBe('hung up');
      await call.closed;
      expect(call.aborted).toBe(true);
      expect(await f.metric(BRANDS_BREAKER)).toBe(0);
    }
    expect(f.brands.requests).toHaveLength(8);
    expect(await f.metric(BRANDS_BREAKER)).toBe(0);
    expect(await f.metric('gateway_subgraph_failures_total{subgraph="brands",code="SUBGRAPH_TIMEOUT"}')).toBe(8);

    // The same breaker opens on one failure that is the subgraph's own.
    f.brands.fault = { kind: 'status', status: 500 };
    expect((await f.query(PAGE, { ids: ['p8'] })).body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(await f.metric(BRANDS_BREAKER)).toBe(2);
  });
});

describe('callers that go away', () => {
  it('a client that disconnects cancels the subgraph call only it was waiting for; a call another page shares goes on', async () => {
    const f = await start({ brandCount: 5 });
    f.brands.fault = { kind: 'hold' };
    const hangUp = new AbortController();
    const alone = f.query(PAGE, { ids: ['p0'] }, {}, hangUp.signal).catch(() => 'hung up');
    const call = await f.brands.waitForRequests(1);
    hangUp.abort();
    expect(await alone).toBe('hung up');
    await call.closed;
    expect(call.aborted).toBe(true);

    // p1 and p6 are both made by b1: one call serves the two pages.
    f.holdShopUntil(2);
    const leaving = new AbortController();
    const left = f.query(PAGE, { ids: ['p1'] }, {}, leaving.signal).catch(() => 'hung up');
    const staying = f.query(PAGE, { ids: ['p6'] });
    const shared = await f.brands.waitForRequests(2);
    leaving.abort();
    expect(await left).toBe('hung up');
    // A round trip to the gateway after the hang-up: by then it has read the closed connection.
    expect((await fetch(f.gateway.url.replace('/graphql', '/health'))).status).toBe(200);
    f.brands.releaseHeld();
    const page = await staying;
    expect(page.body.errors).toBeUndefined();
    expect(brandNamesOf(page.body)).toEqual(['Brand 1']);
    expect(shared.aborted).toBe(false);
    expect(f.brands.entityCalls().map((c) => c.representations.map((r: any) => r.id))).toEqual([['b0'], ['b1']]);
  });
});

describe('request ids and failure logs', () => {
  it('returns an incoming x-request-id and forwards it to every subgraph call; makes one up when absent', async () => {
    const f = await start({ env: { ENTITY_CACHE: 'off' } });
    const traced = await f.query(PAGE, { ids: ['p0'] }, { 'x-request-id': 'trace-7f3a.1' });
    expect(traced.headers.get('x-request-id')).toBe('trace-7f3a.1');
    expect(f.shop.requests.map((r) => r.headers['x-request-id'])).toEqual(['trace-7f3a.1']);
    expect(f.brands.requests.map((r) => r.headers['x-request-id'])).toEqual(['trace-7f3a.1']);

    const untraced = await f.query(PAGE, { ids: ['p1'] });
    const madeUp = untraced.headers.get('x-request-id');
    expect(madeUp).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(f.shop.requests[1]!.headers['x-request-id']).toBe(madeUp);
    expect(f.brands.requests[1]!.headers['x-request-id']).toBe(madeUp);
  });

  it('logs a failing subgraph call once, as a JSON line naming subgraph, code, upstream status, body excerpt, operation and request id', async () => {
    const lines: string[] = [];
    const capture = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, msg, ...fields }));
    const logger: Logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
    const f = await start({ env: { ENTITY_CACHE: 'off' }, logger });
    f.brands.fault = { kind: 'status', status: 500, body: 'upstream exploded: database unreachable' };
    const page = await f.query(PAGE, { ids: ['p0'] }, { 'x-request-id': 'req-500' });
    expect(page.body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    const failures = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'subgraph call failed');
    expect(failures).toEqual([expect.objectContaining({
      level: 'warn',
      subgraph: 'brands',
      code: 'SUBGRAPH_UNAVAILABLE',
      upstreamStatus: 500,
      bodyExcerpt: 'upstream exploded: database unreachable',
      operationName: 'Page__brands__1',
      requestIds: ['req-500'],
    })]);
  });
});

describe('metrics', () => {
  it('counts requests, entities by outcome, failures and cache size per subgraph on /metrics', async () => {
    const f = await start({ brandCount: 3 });
    await f.query(PAGE, { ids: ids(0, 3) });
    await f.query(PAGE, { ids: ids(0, 3) });
    f.brands.fault = { kind: 'hang' };
    const answering = f.query(PAGE, { ids: ['p9'] }, { 'cache-control': 'no-cache' });
    await f.brands.waitForRequests(2);
    clock().advance(300);
    await answering;
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
