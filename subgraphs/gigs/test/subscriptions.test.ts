import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { consumeBatch } from '../../toolkit/consumer.js';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import { EVENT_SCHEMA_VERSION, sellerClientIdsApplied, sellerClientIdsChanged } from '../../toolkit/events.js';
import { appendToOutbox } from '../../toolkit/outbox.js';
import type { RunningService } from '../../toolkit/service.js';
import { subscriptionClient, until, wsUrl, type SubscriptionClient } from '../../toolkit/test/subscriptionClient.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { gigsService } from '../service.js';

const UPDATED = 'subscription($s: ID!) { gigPagesUpdated(sellerId: $s) { version appliedAt seller { id topClients { id } } } }';

describe.each(STORAGE_KINDS)('gigs subscriptions over graphql-ws (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const [seller, other] = demo.sellers.filter((s) => s.topClientIds.length >= 2);
  let service: RunningService;
  let position = 0;
  const version = new Map<string, number>();
  const clients: SubscriptionClient[] = [];
  const connect = () => {
    const client = subscriptionClient(service.url);
    clients.push(client);
    return client;
  };
  const tailer = () => service.outboxSubscriptions;
  const subscribed = (count: number) => until(tailer(), () => tailer().subscriberCount === count);

  /** topclients' event for a new list of `sellerId`, applied as gigs' consumer applies what it reads off the feed. */
  async function apply(sellerId: string, clientIds: string[]): Promise<number> {
    const next = (version.get(sellerId) ?? 1) + 1;
    version.set(sellerId, next);
    position += 1;
    const raw = JSON.stringify({ id: String(position), schemaVersion: EVENT_SCHEMA_VERSION, occurredAt: new Date().toISOString(), ...sellerClientIdsChanged(sellerId, clientIds, next) });
    expect(await consumeBatch(service.db, 'topclients:test', [{ position, raw }], () => undefined)).toMatchObject({ applied: 1 });
    return next;
  }

  beforeAll(async () => {
    service = await startSubgraphUnderTest(gigsService, storage, demo);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await service?.stop();
  });

  it('every subscriber of a seller hears each list gigs applied, with the IDs as applied; one tailer serves them all', async () => {
    const [a, b, c] = [connect(), connect(), connect()];
    const first = a.iterate(UPDATED, { s: seller!.id });
    const second = b.iterate(UPDATED, { s: seller!.id });
    const others = c.iterate(UPDATED, { s: other!.id });
    await subscribed(3);
    expect(tailer().tailing).toBe(true);

    const before = Date.now();
    const applied = await apply(seller!.id, [seller!.topClientIds[1]!, 'c-new']);
    const otherApplied = await apply(other!.id, [other!.topClientIds[0]!]);
    for (const iterator of [first, second]) {
      const { gigPagesUpdated } = (await iterator.next()).value.data;
      expect(gigPagesUpdated).toEqual({
        version: applied, appliedAt: expect.any(String), seller: { id: seller!.id, topClients: [{ id: seller!.topClientIds[1] }, { id: 'c-new' }] },
      });
      expect(new Date(gigPagesUpdated.appliedAt).toISOString()).toBe(gigPagesUpdated.appliedAt);
      expect(Date.parse(gigPagesUpdated.appliedAt)).toBeGreaterThanOrEqual(before - 60_000);
    }
    // The other seller's subscriber heard only its own seller's change.
    expect((await others.next()).value.data.gigPagesUpdated).toMatchObject({ version: otherApplied, seller: { id: other!.id, topClients: [{ id: other!.topClientIds[0] }] } });

    // A second change: each event reads the IDs afresh, not what the subscription read for the first one.
    const again = await apply(seller!.id, ['c-last']);
    for (const iterator of [first, second]) {
      expect((await iterator.next()).value.data.gigPagesUpdated).toMatchObject({ version: again, seller: { topClients: [{ id: 'c-last' }] } });
    }
    await Promise.all([first.return!(), second.return!(), others.return!()]);
    await until(tailer(), () => !tailer().tailing);
  });

  it('a row committed without this process\'s signal (another process of gigs) is heard at the next poll', async () => {
    const client = connect();
    const updates = client.iterate(UPDATED, { s: seller!.id });
    await subscribed(1);
    // Written as another gigs process would: its own transaction, and nobody here is told.
    await service.db.transaction(async (tx) => {
      await tx.query('UPDATE seller_client_ids SET client_ids = $2, version = 40 WHERE seller_id = $1', [seller!.id, ['c-polled']]);
      await appendToOutbox(tx, sellerClientIdsApplied(seller!.id, ['c-polled'], 40));
    });
    version.set(seller!.id, 40);
    expect((await updates.next()).value.data.gigPagesUpdated).toMatchObject({ version: 40, seller: { topClients: [{ id: 'c-polled' }] } });
    await updates.return!();
    await until(tailer(), () => !tailer().tailing);
  });

  it('unsubscribing ends the subscription; with nobody left the tailer stops, and the next one starts at the head then', async () => {
    const client = connect();
    const updates = client.iterate(UPDATED, { s: seller!.id });
    await subscribed(1);
    // The client's complete reaches the server, whose iterator for it ends and leaves the tailer, which stops.
    await updates.return!();
    await until(tailer(), () => tailer().subscriberCount === 0 && !tailer().tailing);

    // Applied while nobody listens: not replayed to a later subscriber, who hears only what comes after it.
    await apply(seller!.id, ['c-unheard']);
    const later = client.iterate(UPDATED, { s: seller!.id });
    await subscribed(1);
    const heard = await apply(seller!.id, ['c-heard']);
    expect((await later.next()).value.data.gigPagesUpdated).toMatchObject({ version: heard, seller: { topClients: [{ id: 'c-heard' }] } });
    await later.return!();
    await until(tailer(), () => !tailer().tailing);
  });

  it('bad input gets graphql-ws\'s own answers and breaks no other subscription, on this connection or another', async () => {
    const good = connect();
    const updates = good.iterate(UPDATED, { s: seller!.id });
    await subscribed(1);

    // Not JSON, not a message, a subscribe before connection_init: each closes only its own connection.
    for (const [frames, code] of [[['{not json'], 4400], [['{"type":"subscribe"}'], 4400], [['{"type":"nope","id":"1"}'], 4400],
      [['{"type":"connection_init"}', '{"type":"connection_init"}'], 4429],
      [['{"id":"1","type":"subscribe","payload":{"query":"{ __typename }"}}'], 4401]] as const) {
      const raw = new WebSocket(wsUrl(service.url), 'graphql-transport-ws');
      await once(raw, 'open');
      for (const frame of frames) raw.send(frame);
      const [closeCode] = await once(raw, 'close');
      expect(closeCode, frames.join(' ')).toBe(code);
    }
    // A connection without graphql-transport-ws is refused; another path is not served.
    const unnamed = new WebSocket(wsUrl(service.url));
    expect((await once(unnamed, 'close'))[0]).toBe(4406);
    const elsewhere = new WebSocket(wsUrl(service.url).replace('/graphql', '/events'), 'graphql-transport-ws');
    elsewhere.on('error', () => undefined);
    const [, response] = await once(elsewhere, 'unexpected-response');
    expect(response.statusCode).toBe(404);
    response.socket.destroy();

    // On the good connection: a document that does not parse, a field gigs lacks, an operation name it does not hold.
    await expect(good.iterate('subscription {').next()).rejects.toEqual([expect.objectContaining({ message: expect.stringContaining('Syntax Error') })]);
    await expect(good.iterate('subscription { nope }').next()).rejects.toEqual([expect.objectContaining({ message: expect.stringContaining('Cannot query field "nope"') })]);
    await expect(good.client.iterate({ query: UPDATED, variables: { s: 'x' }, operationName: 'Missing' }).next())
      .rejects.toEqual([expect.objectContaining({ message: 'Unable to identify operation' })]);
    // A variable of the wrong type is the operation's error, not the connection's.
    const wrong = await good.iterate(UPDATED, { s: { not: 'an id' } }).next();
    expect(wrong.value.errors?.[0]?.message).toMatch(/Variable "\$s"/);

    // Over HTTP a subscription is refused, saying where it is served.
    const overHttp = await postGraphQL(service.url, UPDATED, { s: seller!.id });
    expect(overHttp.status).toBe(400);
    expect(overHttp.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('over WebSocket'), extensions: { code: 'BAD_REQUEST' } });

    expect(tailer().subscriberCount).toBe(1);
    const applied = await apply(seller!.id, ['c-after-bad-input']);
    expect((await updates.next()).value.data.gigPagesUpdated).toMatchObject({ version: applied });
    await updates.return!();
    await until(tailer(), () => !tailer().tailing);
  });
});
