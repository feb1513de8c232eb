/**
 * Admission control end to end: past its limit, with no queue, the gateway turns an operation away at the front
 * door (503, GATEWAY_OVERLOADED, Retry-After) before any subgraph is called, and admits the next one once an
 * operation in progress is answered; a burst runs wider each window in which the loop has room. The gateway runs on a
 * ManualClock: its limit adapts only when a test moves the clock.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { ManualClock } from '../support/manualClock.js';
import { PAGE, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';

let fixture: ReadPathFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

it('an operation past the limit gets 503 GATEWAY_OVERLOADED with Retry-After and no subgraph call; after a release the next is admitted', async () => {
  const f = (fixture = await startReadPathFixture({
    clock: new ManualClock(),
    env: { ADMISSION_MAX_IN_FLIGHT: '1', ADMISSION_MIN_IN_FLIGHT: '1', ADMISSION_MAX_QUEUE_MS: '0' },
  }));
  f.shop.fault = { kind: 'hold' };
  const first = f.query(PAGE, { ids: ['p0'] });
  await f.shop.waitForRequests(1);

  const refused = await f.query(PAGE, { ids: ['p1'] }, { 'x-request-id': 'refused-1' });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.body.errors).toHaveLength(1);
  expect(refused.body.errors[0].extensions).toEqual({ code: 'GATEWAY_OVERLOADED' });
  expect(refused.headers.get('x-request-id')).toBe('refused-1');
  expect(f.shop.requests).toHaveLength(1);
  expect(f.brands.requests).toHaveLength(0);
  expect(await f.metric('gateway_operations_overloaded_total{reason="no_queue"}')).toBe(1);
  expect(await f.metric('gateway_operations_overloaded_total{reason="waited"}')).toBe(0);

  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();
  const answered = await first;
  expect(answered.status).toBe(200);
  expect(answered.body.errors).toBeUndefined();

  const next = await f.query(PAGE, { ids: ['p2'] });
  expect(next.status).toBe(200);
  expect(next.body.data.products[0]).toEqual({ id: 'p2', title: 'Product p2', brand: { id: 'b2', name: 'Brand 2' } });
  expect(f.shop.requests).toHaveLength(2);
});

it('a caller that goes away while queued gives its slot back: the operations after it are admitted and answered', async () => {
  const f = (fixture = await startReadPathFixture({
    clock: new ManualClock(),
    env: { ADMISSION_MAX_IN_FLIGHT: '1', ADMISSION_MIN_IN_FLIGHT: '1', ADMISSION_MAX_QUEUE_MS: '60000' },
  }));
  f.shop.fault = { kind: 'hold' };
  const first = f.query(PAGE, { ids: ['p0'] });
  await f.shop.waitForRequests(1);

  const hangUp = new AbortController();
  const leaving = f.query(PAGE, { ids: ['p1'] }, {}, hangUp.signal).catch((error: Error) => error.name);
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_queued')).toBe(1));
  hangUp.abort();
  expect(await leaving).toBe('AbortError');

  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();
  expect((await first).status).toBe(200);
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_in_progress')).toBe(0));
  const next = await f.query(PAGE, { ids: ['p2'] });
  expect(next.status).toBe(200);
  expect(next.body.data.products[0].title).toBe('Product p2');
  // The operation whose caller left was never run: shop saw only the first and the last.
  expect(f.shop.requests).toHaveLength(2);
});

it('a burst on a gateway just started runs wide as soon as the loop shows room: each window admits as many more as wait, up to doubling the limit', async () => {
  const clock = new ManualClock();
  // A target no test machine's loop lag comes near: every window reads as having room.
  const f = (fixture = await startReadPathFixture({ clock, env: { ADMISSION_TARGET_LAG_MS: '10000' } }));
  f.shop.fault = { kind: 'hold' };
  const burst = Array.from({ length: 40 }, (_, i) => f.query(PAGE, { ids: [`p${i}`] }));
  // The starting limit: 16 in progress (each held at shop), the rest waiting at the door.
  await vi.waitFor(async () => expect(await f.metric('gateway_operations_queued')).toBe(24));
  // The 16 admitted may still be on their way to shop when the queue shows 24.
  await f.shop.waitForRequests(16);
  expect(f.shop.requests).toHaveLength(16);

  clock.advance(100);
  await f.shop.waitForRequests(32);
  clock.advance(100);
  await f.shop.waitForRequests(40);
  expect(await f.metric('gateway_admission_limit')).toBe(40);

  f.shop.fault = { kind: 'none' };
  f.shop.releaseHeld();
  const answers = await Promise.all(burst);
  expect(answers.map((answer) => answer.status)).toEqual(Array(40).fill(200));
  expect(answers[39]!.body.data.products[0]).toEqual({ id: 'p39', title: 'Product p39', brand: { id: 'b4', name: 'Brand 4' } });
});
