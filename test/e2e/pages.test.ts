/**
 * Every page operation in schema/operations/ against the running reference deployment, on both storage back
 * ends: the gateway plans, the subgraphs answer from their own databases, client details come from topclients
 * through `_entities`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operation } from '../../schema/operations.js';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { postgresAvailable } from '../support/postgres.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recordingProxy.js';
import { TEST_SCALE, gatewayEnvFor, postGraphQL, startSubgraphs, type StorageKind } from '../support/system.js';

const backends: StorageKind[] = postgresAvailable ? ['pglite', 'postgres'] : ['pglite'];

describe.each(backends)('page operations through the gateway (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  let stopSubgraphs: () => Promise<void>;
  let topclientsProxy: RecordingProxy;
  let gateway: RunningGateway;
  const query = (name: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
    postGraphQL(gateway.url, operation(name).body, variables, headers);

  const sellerWithClients = demo.sellers.find((s) => s.topClientIds.length >= 3)!;
  const sellerWithout = demo.sellers.find((s) => s.topClientIds.length === 0)!;
  const gigOf = (sellerId: string) => demo.gigs.find((g) => g.sellerId === sellerId)!;
  const clientName = (id: string) => demo.clients.find((c) => c.id === id)!.name;

  beforeAll(async () => {
    const started = await startSubgraphs(storage, demo);
    stopSubgraphs = started.stop;
    topclientsProxy = await startRecordingProxy(started.subgraphs.topclients.url);
    gateway = await startGateway(
      loadConfig(gatewayEnvFor({ ...started.subgraphs, topclients: topclientsProxy })),
      { logger: jsonLogger('error') },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await topclientsProxy?.stop();
    await stopSubgraphs?.();
  });

  it('gig page returns the gig, its seller and the top clients fetched through _entities on topclients', async () => {
    const gig = gigOf(sellerWithClients.id);
    topclientsProxy.reset();
    const { status, body } = await query('GigPage', { id: gig.id });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.gig).toMatchObject({ id: gig.id, title: gig.title, price: gig.price, category: gig.category });
    expect(body.data.gig.seller).toMatchObject({ id: sellerWithClients.id, username: sellerWithClients.username });
    expect(body.data.gig.seller.topClients.map((c: { name: string }) => c.name)).toEqual(sellerWithClients.topClientIds.map(clientName));
    const calls = topclientsProxy.entityCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.representations).toEqual(sellerWithClients.topClientIds.map((id) => ({ __typename: 'Client', id })));
  });

  it('gig page of a seller without top clients shows an empty list and asks topclients nothing', async () => {
    topclientsProxy.reset();
    const { body } = await query('GigPage', { id: gigOf(sellerWithout.id).id });
    expect(body.errors).toBeUndefined();
    expect(body.data.gig.seller.topClients).toEqual([]);
    expect(topclientsProxy.requests).toHaveLength(0);
  });

  it('an unknown gig is null, not an error', async () => {
    const { status, body } = await query('GigPage', { id: 'g-does-not-exist' });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { gig: null } });
  });

  it('user page returns the profile, top clients with details and the seller gigs', async () => {
    const { body } = await query('UserPage', { username: sellerWithClients.username });
    expect(body.errors).toBeUndefined();
    const seller = body.data.seller;
    expect(seller).toMatchObject({
      id: sellerWithClients.id,
      displayName: sellerWithClients.displayName,
      level: sellerWithClients.level,
      country: sellerWithClients.country,
      memberSince: sellerWithClients.memberSince,
      languages: sellerWithClients.languages,
    });
    expect(seller.topClients.map((c: { id: string }) => c.id)).toEqual(sellerWithClients.topClientIds);
    expect(seller.topClients[0]).toMatchObject({ version: 1, website: expect.stringMatching(/^https:\/\//) });
    expect(seller.gigs.length).toBeGreaterThan(0);
    expect(seller.gigs.every((g: { id: string }) => demo.gigs.find((d) => d.id === g.id)?.sellerId === sellerWithClients.id)).toBe(true);
  });

  it('search results: all gigs by default, best rated first, filtered by text and category, bounded by first', async () => {
    const all = await query('SearchResults', {});
    expect(all.body.errors).toBeUndefined();
    expect(all.body.data.searchGigs).toHaveLength(20);
    const ratings = all.body.data.searchGigs.map((g: { rating: number | null }) => g.rating ?? 0);
    expect(ratings).toEqual([...ratings].sort((a: number, b: number) => b - a));
    expect(all.body.data.searchGigs[0].seller.username).toMatch(/_/);

    const logos = await query('SearchResults', { text: 'LOGO', first: 100 });
    const expected = demo.gigs.filter((g) => /logo/i.test(g.title) || /logo/i.test(g.description)).length;
    expect(logos.body.data.searchGigs).toHaveLength(Math.min(expected, 100));
    const category = await query('SearchResults', { category: 'Voice Over', first: 5 });
    expect(category.body.data.searchGigs.every((g: { category: string }) => g.category === 'Voice Over')).toBe(true);

    const tooMany = await query('SearchResults', { first: 1000 });
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('self-view needs the seller header and then reads the source of truth in position order', async () => {
    const anonymous = await query('MyTopClients');
    expect(anonymous.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', serviceName: 'topclients' });

    const mine = await query('MyTopClients', {}, { 'x-seller-id': sellerWithClients.id });
    expect(mine.body.errors).toBeUndefined();
    expect(mine.body.data.myTopClients.map((c: { id: string }) => c.id)).toEqual(sellerWithClients.topClientIds);
  });

  it('mutations through the gateway change the self-view at once (read your writes)', async () => {
    const seller = demo.sellers.filter((s) => s.topClientIds.length >= 2)[1]!;
    const headers = { 'x-seller-id': seller.id };
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;

    const added = await query('AddTopClient', { clientId: extra.id }, headers);
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data.addTopClient.map((c: { id: string }) => c.id)).toEqual([...seller.topClientIds, extra.id]);

    const reversed = [...seller.topClientIds, extra.id].reverse();
    const reordered = await query('ReorderTopClients', { clientIds: reversed }, headers);
    expect(reordered.body.data.reorderTopClients.map((c: { id: string }) => c.id)).toEqual(reversed);

    const removed = await query('RemoveTopClient', { clientId: extra.id }, headers);
    expect(removed.body.data.removeTopClient.map((c: { id: string }) => c.id)).toEqual(reversed.filter((id) => id !== extra.id));

    const updated = await query('UpdateClient', { id: seller.topClientIds[0], input: { name: 'Renamed Brand' } }, headers);
    expect(updated.body.data.updateClient).toMatchObject({ id: seller.topClientIds[0], name: 'Renamed Brand', version: 2 });

    const mine = await query('MyTopClients', {}, headers);
    expect(mine.body.data.myTopClients.map((c: { id: string }) => c.id)).toEqual(reversed.filter((id) => id !== extra.id));
    expect(mine.body.data.myTopClients.find((c: { id: string }) => c.id === seller.topClientIds[0]).name).toBe('Renamed Brand');
  });

  it('mutations without the seller header answer UNAUTHENTICATED and change nothing', async () => {
    const seller = sellerWithClients;
    const { body } = await query('RemoveTopClient', { clientId: seller.topClientIds[0] });
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const mine = await query('MyTopClients', {}, { 'x-seller-id': seller.id });
    expect(mine.body.data.myTopClients.map((c: { id: string }) => c.id)).toEqual(seller.topClientIds);
  });
});
