/**
 * Inbound deduplication end to end (INBOUND_DEDUP, on by default): identical operations in flight run once and
 * every request waiting for them gets the same answer; a mutation, a `no-cache` request or another caller's
 * request runs on its own; a client that hangs up does not cancel the run the others wait for. shop holds its
 * answers until the test lets them go, so "in flight" is a fact of the test, not of timing.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ACCEPT, openParts, type OpenParts } from '../support/incrementalAnswers.js';
import { BUY, NOTES, PAGE, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';

let fixture: ReadPathFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const shopOperations = (f: ReadPathFixture) => f.shop.requests.map((request) => request.query);

it('ten identical queries in flight run once: one call to each subgraph, ten equal answers', async () => {
  const f = (fixture = await startReadPathFixture());
  f.shop.fault = { kind: 'hold' };
  const first = f.query(PAGE, { ids: ['p1', 'p2'] });
  await f.shop.waitForRequests(1);
  const others = Array.from({ length: 9 }, () => f.query(PAGE, { ids: ['p1', 'p2'] }));
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_awaiting_identical')).toBe(9));
  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();

  const answers = await Promise.all([first, ...others]);
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { products: [{ id: 'p1', title: 'Product p1', brand: { id: 'b1', name: 'Brand 1' } }, { id: 'p2', title: 'Product p2', brand: { id: 'b2', name: 'Brand 2' } }] } });
  }
  expect(f.shop.requests).toHaveLength(1);
  expect(f.brands.requests).toHaveLength(1);
  expect(await f.metric('gateway_operations_deduplicated_total')).toBe(9);
  // Each request keeps its own id, and the same answer's headers.
  expect(new Set(answers.map((answer) => answer.headers.get('x-request-id'))).size).toBe(10);
  expect(new Set(answers.map((answer) => answer.headers.get('cache-control')))).toEqual(new Set([answers[0]!.headers.get('cache-control')]));
});

it('other variables, another caller, a no-cache request: each runs on its own', async () => {
  const f = (fixture = await startReadPathFixture());
  f.shop.fault = { kind: 'hold' };
  const held = f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 'alice' });
  await f.shop.waitForRequests(1);
  const others = [
    f.query(NOTES, { ids: ['p2'] }, { 'x-seller-id': 'alice' }),
    f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 'bob' }),
    f.query(NOTES, { ids: ['p1'] }, { 'x-seller-id': 'alice', 'cache-control': 'no-cache' }),
  ];
  await f.shop.waitForRequests(4);
  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();

  const [alice, aliceOther, bob, aliceAgain] = await Promise.all([held, ...others]);
  expect(alice!.body.data.products).toEqual([{ id: 'p1', note: { text: 'note np1 for alice' } }]);
  expect(aliceOther!.body.data.products).toEqual([{ id: 'p2', note: { text: 'note np2 for alice' } }]);
  expect(bob!.body.data.products).toEqual([{ id: 'p1', note: { text: 'note np1 for bob' } }]);
  expect(aliceAgain!.body.data.products).toEqual([{ id: 'p1', note: { text: 'note np1 for alice' } }]);
  expect(f.shop.requests).toHaveLength(4);
  expect(await f.metric('gateway_operations_deduplicated_total')).toBe(0);
});

it('identical mutations each run: a request that waited for one runs its own once it is done', async () => {
  const f = (fixture = await startReadPathFixture());
  f.shop.fault = { kind: 'hold' };
  const first = f.query(BUY, { id: 'p3' }, { 'x-seller-id': 'alice' });
  await f.shop.waitForRequests(1);
  const second = f.query(BUY, { id: 'p3' }, { 'x-seller-id': 'alice' });
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_awaiting_identical')).toBe(1));
  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();

  for (const answer of await Promise.all([first, second])) {
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { buy: { id: 'p3', brand: { id: 'b3', name: 'Brand 3' } } } });
  }
  expect(shopOperations(f).filter((query) => query.includes('buy'))).toHaveLength(2);
  expect(await f.metric('gateway_operations_deduplicated_total')).toBe(0);
});

it('the first client hanging up cancels nothing the others wait for: they get the whole answer', async () => {
  const f = (fixture = await startReadPathFixture());
  f.shop.fault = { kind: 'hold' };
  const hangUp = new AbortController();
  const leaving = f.query(PAGE, { ids: ['p4'] }, {}, hangUp.signal).catch((error: Error) => error.name);
  await f.shop.waitForRequests(1);
  const staying = f.query(PAGE, { ids: ['p4'] });
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_awaiting_identical')).toBe(1));
  hangUp.abort();
  expect(await leaving).toBe('AbortError');
  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();

  const answer = await staying;
  expect(answer.body).toEqual({ data: { products: [{ id: 'p4', title: 'Product p4', brand: { id: 'b4', name: 'Brand 4' } }] } });
  expect(f.shop.requests).toHaveLength(1);
  expect(f.brands.requests).toHaveLength(1);
});

it('identical queries with @defer in flight run once: each gets the first part and the deferred one, and one hanging up cancels nothing the others wait for', async () => {
  const f = (fixture = await startReadPathFixture());
  const deferred = { query: `query DeferredPage($ids: [ID!]!) { products(ids: $ids) { id title brand { id ... @defer(label: "brand") { name } } } }`, variables: { ids: ['p1', 'p2'] } };
  f.shop.fault = { kind: 'hold' };
  f.brands.fault = { kind: 'hold' };
  const opening = [openParts(f.gateway.url, deferred, ACCEPT['deferSpec=20220824'])];
  await f.shop.waitForRequests(1);
  opening.push(openParts(f.gateway.url, deferred, ACCEPT['deferSpec=20220824']), openParts(f.gateway.url, deferred, ACCEPT['deferSpec=20220824']));
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_awaiting_identical')).toBe(2));
  f.shop.releaseHeld();
  const [leaving, ...staying] = await Promise.all(opening) as [OpenParts, ...OpenParts[]];

  for (const parts of [leaving, ...staying]) {
    const first = await parts.next();
    expect(first).toEqual({ data: { products: [{ id: 'p1', title: 'Product p1', brand: { id: 'b1' } }, { id: 'p2', title: 'Product p2', brand: { id: 'b2' } }] }, hasNext: true });
  }
  const brandsCall = await f.brands.waitForRequests(1);
  leaving.hangUp();
  f.brands.releaseHeld();
  for (const parts of staying) {
    const items = [];
    for (let payload = await parts.next(); payload; payload = await parts.next()) items.push(...payload.incremental);
    expect(items.sort((a, b) => a.path[1] - b.path[1])).toEqual([
      { data: { name: 'Brand 1' }, path: ['products', 0, 'brand'], label: 'brand' },
      { data: { name: 'Brand 2' }, path: ['products', 1, 'brand'], label: 'brand' },
    ]);
  }
  await brandsCall.closed;
  expect(brandsCall.aborted).toBe(false);
  expect(f.shop.requests).toHaveLength(1);
  expect(f.brands.requests).toHaveLength(1);
  expect(await f.metric('gateway_operations_deduplicated_total')).toBe(2);
});

it('INBOUND_DEDUP=off runs every request on its own; a value that is not on or off stops the start', async () => {
  const f = (fixture = await startReadPathFixture({ env: { INBOUND_DEDUP: 'off' } }));
  f.shop.fault = { kind: 'hold' };
  const answers = [f.query(PAGE, { ids: ['p1'] }), f.query(PAGE, { ids: ['p1'] })];
  await f.shop.waitForRequests(2);
  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();
  for (const answer of await Promise.all(answers)) expect(answer.body.data.products).toEqual([{ id: 'p1', title: 'Product p1', brand: { id: 'b1', name: 'Brand 1' } }]);
  expect(f.shop.requests).toHaveLength(2);
  expect(await f.metric('gateway_operations_awaiting_identical')).toBeNaN();

  expect(() => loadConfig({ SUPERGRAPH: f.supergraphFile, INBOUND_DEDUP: 'sometimes' })).toThrow('INBOUND_DEDUP must be true or false, got "sometimes"');
});
