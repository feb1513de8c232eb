import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import type { RunningService } from '../../toolkit/service.js';
import { subscriptionClient, until } from '../../toolkit/test/subscriptionClient.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { signedBy } from '../../../test/support/gatewayTrust.js';
import { topClientsService } from '../service.js';

const CHANGED = 'subscription { myTopClientsChanged { sellerId version clients { id name version } } }';

describe.each(STORAGE_KINDS)('topclients subscriptions over graphql-ws (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const listed = demo.sellers.filter((s) => s.topClientIds.length >= 2);
  let service: RunningService;
  const gql = async (query: string, variables: Record<string, unknown>, sellerId: string) =>
    postGraphQL(service.url, query, variables, await signedBy(sellerId));
  const listVersion = async (sellerId: string) =>
    (await service.db.query<{ version: number }>('SELECT version FROM seller_lists WHERE seller_id = $1', [sellerId]))[0]!.version;

  beforeAll(async () => {
    service = await startSubgraphUnderTest(topClientsService, storage, demo);
  });
  afterAll(() => service?.stop());

  it('a signed seller hears each change of its own list: the version and the clients as stored after it', async () => {
    const [seller, other] = listed;
    const extra = demo.clients.find((c) => !seller!.topClientIds.includes(c.id))!;
    const mine = subscriptionClient(service.url, { sellerId: seller!.id });
    try {
      const changes = mine.iterate(CHANGED);
      await until(service.outboxSubscriptions, () => service.outboxSubscriptions.subscriberCount === 1);
      const before = await listVersion(seller!.id);
      // Another seller's change is not this subscriber's.
      await gql('mutation($c: ID!) { removeTopClient(clientId: $c) { id } }', { c: other!.topClientIds[0] }, other!.id);
      const added = await gql('mutation($c: ID!) { addTopClient(clientId: $c) { id name version } }', { c: extra.id }, seller!.id);
      expect((await changes.next()).value).toEqual({
        data: { myTopClientsChanged: { sellerId: seller!.id, version: before + 1, clients: added.body.data.addTopClient } },
      });

      // A client renamed between two changes shows with its new name: each event is read afresh, not from a cache
      // the subscription kept.
      const renamed = await gql('mutation($id: ID!) { updateClient(id: $id, input: { name: "Renamed Co" }) { id } }', { id: extra.id }, seller!.id);
      expect(renamed.body.errors).toBeUndefined();
      const removed = await gql('mutation($c: ID!) { removeTopClient(clientId: $c) { id name version } }', { c: seller!.topClientIds[0] }, seller!.id);
      const next = (await changes.next()).value;
      expect(next.data.myTopClientsChanged).toEqual({ sellerId: seller!.id, version: before + 2, clients: removed.body.data.removeTopClient });
      expect(next.data.myTopClientsChanged.clients.at(-1)).toMatchObject({ id: extra.id, name: 'Renamed Co', version: 2 });
      // And it is what the self-view reads now.
      const self = await gql('{ myTopClients { id name version } }', {}, seller!.id);
      expect(self.body.data.myTopClients).toEqual(next.data.myTopClientsChanged.clients);

      await changes.return!();
      await until(service.outboxSubscriptions, () => !service.outboxSubscriptions.tailing);
      expect(service.outboxSubscriptions.subscriberCount).toBe(0);
    } finally {
      await mine.dispose();
    }
  });

  it('an anonymous or forged caller gets the mutations\' UNAUTHENTICATED error, and no subscription is kept', async () => {
    const anonymous = subscriptionClient(service.url);
    try {
      const answer = anonymous.iterate(CHANGED);
      const first = await answer.next();
      expect(first.value.data).toBeUndefined();
      expect(first.value.errors).toEqual([expect.objectContaining({
        message: 'This operation needs a signed-in seller: call it through the gateway with a valid token.',
        extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
      })]);
      expect((await answer.next()).done).toBe(true);
    } finally {
      await anonymous.dispose();
    }
    // A header signed with another secret, sent on the upgrade itself: anonymous as well, and the connection stays.
    const forged = subscriptionClient(service.url, { upgradeHeaders: await signedBy(listed[0]!.id, { secret: 'x'.repeat(40) }) });
    try {
      const first = await forged.iterate(CHANGED).next();
      expect(first.value.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const still = await forged.iterate('{ client(id: "nope") { id } }').next();
      expect(still.value).toEqual({ data: { client: null } });
    } finally {
      await forged.dispose();
    }
    expect(service.outboxSubscriptions.subscriberCount).toBe(0);
  });

  it('a signature sent on the upgrade request is believed like one in connection_init', async () => {
    const seller = listed[2]!;
    const client = subscriptionClient(service.url, { upgradeHeaders: await signedBy(seller.id) });
    try {
      const changes = client.iterate(CHANGED);
      await until(service.outboxSubscriptions, () => service.outboxSubscriptions.subscriberCount === 1);
      await gql('mutation($ids: [ID!]!) { reorderTopClients(clientIds: $ids) { id } }', { ids: [...seller.topClientIds].reverse() }, seller.id);
      const change = (await changes.next()).value.data.myTopClientsChanged;
      expect(change.clients.map((c: { id: string }) => c.id)).toEqual([...seller.topClientIds].reverse());
      await changes.return!();
    } finally {
      await client.dispose();
    }
    await until(service.outboxSubscriptions, () => !service.outboxSubscriptions.tailing);
  });
});
