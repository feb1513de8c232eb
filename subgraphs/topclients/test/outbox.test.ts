import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import { parseChangeEvent, type ChangeEvent } from '../../toolkit/events.js';
import { outboxSignal } from '../../toolkit/outbox.js';
import type { RunningService } from '../../toolkit/service.js';
import type { Database } from '../../toolkit/storage.js';
import { changeFeedRoutes, fetchFeedPage } from '../../toolkit/transports/changeFeed.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { graphqlRequest } from '../../../test/support/graphqlRequest.js';
import { signedBy } from '../../../test/support/gatewayTrust.js';

const TEST_SCALE = 0.01;
import { topClientsService } from '../service.js';

/**
 * Resolves once a feed long-poll waits for the outbox's in-process signal, which is what a commit here wakes it
 * through. Nothing else listens on this service's signal (it runs without a relay), so the listener is the poll's.
 */
function feedParked(db: Database): Promise<void> {
  const signal = outboxSignal(db);
  if (signal.listenerCount('written') > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const added = (event: string | symbol) => {
      if (event !== 'written') return;
      signal.off('newListener', added);
      resolve();
    };
    signal.on('newListener', added);
  });
}

describe.each(STORAGE_KINDS)('topclients outbox and change feed (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const listed = demo.sellers.filter((s) => s.topClientIds.length >= 2);
  let service: RunningService;
  let feedUrl: string;
  const gql = async (query: string, variables: Record<string, unknown>, sellerId: string) =>
    graphqlRequest(service.url, query, variables, await signedBy(sellerId));
  const outboxCount = async () => (await service.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0]!.n;
  const eventsAfter = async (after: number) => (await fetchFeedPage(feedUrl, after, 100, 0)).events.map(parseChangeEvent);

  beforeAll(async () => {
    service = await startSubgraphUnderTest(topClientsService, storage, demo);
    feedUrl = service.url.replace(/\/graphql$/, '/events');
  });
  afterAll(() => service?.stop());

  it('a list change writes one seller-client-ids-changed event with the new ids and version, served by the feed', async () => {
    const seller = listed[0]!;
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const head = (await fetchFeedPage(feedUrl, 0, 1, 0)).head;
    const answer = await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: extra.id }, seller.id);
    expect(answer.body.errors).toBeUndefined();
    const events = await eventsAfter(head);
    expect(events).toEqual([expect.objectContaining({
      schemaVersion: 1,
      type: 'seller-client-ids-changed',
      entity: { typename: 'Seller', keyFields: { id: seller.id } },
      version: 2,
      payload: { sellerId: seller.id, clientIds: [...seller.topClientIds, extra.id] },
    })]);
    expect(Number(events[0]!.id)).toBeGreaterThan(head);
  });

  it('updateClient writes a client-updated event naming the Client entity and its new version', async () => {
    const seller = listed[1]!;
    const clientId = seller.topClientIds[0]!;
    const head = (await fetchFeedPage(feedUrl, 0, 1, 0)).head;
    const answer = await gql(`mutation($id: ID!) { updateClient(id: $id, input: { name: "Renamed Ltd" }) { version } }`, { id: clientId }, seller.id);
    const events = await eventsAfter(head);
    expect(events).toEqual([expect.objectContaining({
      type: 'client-updated',
      entity: { typename: 'Client', keyFields: { id: clientId } },
      version: answer.body.data.updateClient.version,
      payload: { clientId },
    })]);
  });

  it('a no-op, a rejected and a failing mutation write no event (change and event commit together or not at all)', async () => {
    const seller = listed[2]!;
    const before = await outboxCount();
    await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: seller.topClientIds[0] }, seller.id);
    const missing = await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: 'no-such-client' }, seller.id);
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const bad = await gql(`mutation($ids: [ID!]!) { reorderTopClients(clientIds: $ids) { id } }`, { ids: ['x'] }, seller.id);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await gql(`mutation($id: ID!) { updateClient(id: $id, input: {}) { id } }`, { id: seller.topClientIds[0] }, seller.id);
    expect(await outboxCount()).toBe(before);
  });

  it('a long-poll waiting on the feed answers as soon as a mutation commits, woken by the commit, not by a re-read', async () => {
    const seller = listed[3]!;
    // The feed's own handler over the service's database, re-reading the outbox only every two minutes and the
    // poll waiting as long: only the commit's signal can answer it before this test's timeout.
    const routes = changeFeedRoutes(service.db, { pollIntervalMs: 120_000, maxWaitMs: 120_000 });
    const feed = createServer((req, res) => void routes['/events']!(req, res, new URL(req.url!, 'http://feed')));
    await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
    try {
      const slowFeedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/events`;
      const head = (await fetchFeedPage(slowFeedUrl, 0, 1, 0)).head;
      const waiting = fetchFeedPage(slowFeedUrl, head, 100, 120_000);
      await feedParked(service.db);
      await gql(`mutation($c: ID!) { removeTopClient(clientId: $c) { id } }`, { c: seller.topClientIds[0] }, seller.id);
      const page = await waiting;
      expect(page.events.map((e) => (e as ChangeEvent).type)).toEqual(['seller-client-ids-changed']);
    } finally {
      feed.closeAllConnections();
      await new Promise((resolve) => feed.close(resolve));
    }
  }, 30_000);

  it('events come in id order, a page at a time, and bad feed parameters get a 400 naming them', async () => {
    const first = await fetchFeedPage(feedUrl, 0, 2, 0);
    const rest = await fetchFeedPage(feedUrl, Number((first.events.at(-1) as ChangeEvent).id), 100, 0);
    const ids = [...first.events, ...rest.events].map((e) => Number((e as ChangeEvent).id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.length).toBe(await outboxCount());
    const bad = await fetch(`${feedUrl}?after=-1`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'after must be an integer from 0 to 9007199254740991, got "-1"' });
    expect((await fetch(`${feedUrl}?waitMs=999999`)).status).toBe(400);
  });

  it('the feed names its log, the same on every page and at /head, and answers at once a reader past its head or naming another log', async () => {
    const end = await (await fetch(`${feedUrl}/head`)).json() as { head: number; log: string };
    expect(end.log).toMatch(/^[0-9a-f-]{36}$/);
    expect((await fetchFeedPage(feedUrl, 0, 1, 0)).log).toBe(end.log);
    // A poll that may wait 25 s for ids this log has not reached answers now, with the head and the log.
    const ahead = await fetchFeedPage(feedUrl, end.head + 1_000, 100, 25_000);
    expect(ahead).toEqual({ events: [], head: end.head, log: end.log });
    // So does a poll whose position belongs to another log, whatever it is.
    const other = await (await fetch(`${feedUrl}?after=0&limit=1&waitMs=25000&log=another-log`)).json();
    expect(other).toMatchObject({ head: end.head, log: end.log });
  }, 10_000);

  it('the snapshot holds every listed seller with its version and ordered ids, and the outbox head', async () => {
    const snapshot = await (await fetch(`${feedUrl}/snapshot`)).json() as { head: number; lists: { sellerId: string; version: number; clientIds: string[] }[] };
    expect(snapshot.head).toBe((await fetchFeedPage(feedUrl, 0, 1, 0)).head);
    const bySeller = new Map(snapshot.lists.map((l) => [l.sellerId, l]));
    const untouched = listed[10]!;
    expect(bySeller.get(untouched.id)).toEqual({ sellerId: untouched.id, version: 1, clientIds: untouched.topClientIds });
    expect(bySeller.get(listed[0]!.id)!.version).toBe(2);
    expect(snapshot.lists.length).toBe(demo.sellers.filter((s) => s.topClientIds.length > 0).length);
  });
});
