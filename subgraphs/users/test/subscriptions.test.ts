import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeBatch } from '../../toolkit/consumer.js';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import { EVENT_SCHEMA_VERSION, sellerClientIdsChanged } from '../../toolkit/events.js';
import type { RunningService } from '../../toolkit/service.js';
import { subscriptionClient, until } from '../../toolkit/test/subscriptionClient.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE } from '../../../test/support/system.js';
import { usersService } from '../service.js';

const UPDATED = 'subscription($s: ID!) { userPageUpdated(sellerId: $s) { version appliedAt seller { id username displayName topClients { id } } } }';

describe.each(STORAGE_KINDS)('users subscriptions over graphql-ws (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const seller = demo.sellers.find((s) => s.topClientIds.length >= 2)!;
  let service: RunningService;
  let stopped = false;

  beforeAll(async () => {
    service = await startSubgraphUnderTest(usersService, storage, demo);
  });
  afterAll(async () => {
    if (!stopped) await service?.stop();
  });

  it('userPageUpdated yields each list users applied, with the seller\'s profile as the user page shows it', async () => {
    const client = subscriptionClient(service.url);
    try {
      const updates = client.iterate(UPDATED, { s: seller.id });
      await until(service.outboxSubscriptions, () => service.outboxSubscriptions.subscriberCount === 1);
      const raw = JSON.stringify({ id: '1', schemaVersion: EVENT_SCHEMA_VERSION, occurredAt: new Date().toISOString(), ...sellerClientIdsChanged(seller.id, ['c-x'], 2) });
      await consumeBatch(service.db, 'topclients:test', [{ position: 1, raw }], () => undefined);
      expect((await updates.next()).value.data.userPageUpdated).toEqual({
        version: 2, appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        seller: { id: seller.id, username: seller.username, displayName: seller.displayName, topClients: [{ id: 'c-x' }] },
      });
      await updates.return!();
    } finally {
      await client.dispose();
    }
    await until(service.outboxSubscriptions, () => !service.outboxSubscriptions.tailing);
  });

  it('stop() with subscriptions open closes each WebSocket with 1001 at once and ends the tailer', async () => {
    const clients = [subscriptionClient(service.url), subscriptionClient(service.url)];
    const updates = clients.map((c) => c.iterate(UPDATED, { s: seller.id }));
    const ended = updates.map((u) => u.next().then(() => 'no error', (error: { code?: number }) => error.code));
    await until(service.outboxSubscriptions, () => service.outboxSubscriptions.subscriberCount === 2);
    const started = performance.now();
    stopped = true;
    await service.stop();
    // An open WebSocket left alone would hold the HTTP server's close for ever; a bound far from any timeout here
    // (the busy machine's slowest database close included) and the clean 1001 (a cut connection reads 1006) say
    // it was closed, not waited out.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await Promise.all(ended)).toEqual([1001, 1001]);
    for (const client of clients) expect(client.closes).toEqual([{ code: 1001, reason: 'users is stopping' }]);
    expect(service.outboxSubscriptions.subscriberCount).toBe(0);
    expect(service.outboxSubscriptions.tailing).toBe(false);
    await Promise.all(clients.map((c) => c.dispose()));
  });
});
