/**
 * Invalidation follows the projection, not the source (issue 12, item 3): with root answers served from memory
 * while fresh (ROOT_FETCH_CACHE=max-age), a list change reaches the gig page as soon as gigs holds it, even when
 * the source's event reached the gateway long before gigs applied it.
 *
 * gigs' consumer reads topclients' feed through a gate the test holds, so topclients' event is everywhere except at
 * gigs. A gateway evicting on the source's event (the old wiring, the control) caches the gig page again in that
 * window and keeps the old list after gigs applied it; the reference gateway, evicting on gigs' own
 * `seller-client-ids-applied`, shows the new list once gigs published it. Every wait is on an event or a state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { startFeedGate, type FeedGate } from '../support/feedGate.js';
import { pollUntil, startPropagatingSystem, type PropagatingSystem } from '../support/propagatingSystem.js';
import { gatewayEnvFor, postGraphQL, TEST_SCALE } from '../support/system.js';

const SELLER_MAX_AGE_MS = 30_000;

describe('invalidation follows the projection (change feed, ROOT_FETCH_CACHE=max-age)', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const withGigs = demo.sellers.filter((s) => s.topClientIds.length >= 2 && s.topClientIds.length < 10 && demo.gigs.some((g) => g.sellerId === s.id));
  let gate: FeedGate;
  let system: PropagatingSystem;
  let control: RunningGateway;

  beforeAll(async () => {
    gate = await startFeedGate();
    system = await startPropagatingSystem('feed', demo, {
      gatewayEnv: { ROOT_FETCH_CACHE: 'max-age' },
      consumerFeedUrl: (service, feedUrl) => (service === 'gigs' ? gate.urlFor(feedUrl) : feedUrl),
    });
    // The old wiring: evict a seller when the SOURCE says its list changed.
    control = await startGateway(loadConfig(gatewayEnvFor(system.subgraphs, {
      ROOT_FETCH_CACHE: 'max-age',
      INVALIDATION_FEED_URL: system.feedUrl,
      INVALIDATION_EVENT_TYPES: 'client-updated,client-removed,seller-client-ids-changed',
    })), { logger: jsonLogger('error') });
  }, 120_000);
  afterAll(async () => {
    gate?.release();
    await control?.stop();
    await system?.stop();
    await gate?.stop();
  });

  const page = async (gateway: RunningGateway, gigId: string) => {
    const answer = await postGraphQL(gateway.url, operation('GigPage').body, { id: gigId });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data.gig.seller.topClients as { id: string; name: string }[];
  };
  const ids = async (gateway: RunningGateway, gigId: string) => (await page(gateway, gigId)).map((c) => c.id);
  const atGigs = async (sellerId: string) => {
    const answer = await postGraphQL(system.subgraphs.gigs.url, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Seller { topClients { id } } } }', {
      r: [{ __typename: 'Seller', id: sellerId }],
    });
    return (answer.body.data._entities[0]?.topClients ?? []).map((c: { id: string }) => c.id) as string[];
  };
  const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);

  it('an event that reaches the gateway before gigs applied the change never leaves the old list cached', async () => {
    const [seller, fenceSeller] = [withGigs[0]!, withGigs[1]!];
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const fenceGig = demo.gigs.find((g) => g.sellerId === fenceSeller.id)!;
    const fenceClient = fenceSeller.topClientIds.find((c) => !seller.topClientIds.includes(c)) ?? fenceSeller.topClientIds[0]!;
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const before = seller.topClientIds;
    const after = [...before, extra.id];
    for (const gateway of [system.gateway, control]) {
      expect(await ids(gateway, gig.id)).toEqual(before);
      await page(gateway, fenceGig.id);
    }

    gate.hold();
    const signedIn = { 'x-seller-id': seller.id };
    expect((await postGraphQL(system.gateway.url, operation('AddTopClient').body, { clientId: extra.id }, signedIn)).body.errors).toBeUndefined();
    // A fence: a client edit right after it in topclients' feed. Once a gateway shows the new name, it has read the
    // list change before it (the feed is in order), and the control has evicted the seller.
    const fenceName = `Fence ${Date.now()}`;
    expect((await postGraphQL(system.gateway.url, operation('UpdateClient').body, { id: fenceClient, input: { name: fenceName } }, { 'x-seller-id': fenceSeller.id })).body.errors).toBeUndefined();
    for (const gateway of [system.gateway, control]) {
      await pollUntil('the gateway to read the source\'s events', async () => (await page(gateway, fenceGig.id)).find((c) => c.id === fenceClient)?.name, (n) => n === fenceName, 10_000);
    }
    await gate.holding();
    expect(await atGigs(seller.id)).toEqual(before);

    // The race window: the source's event has come and gone, gigs still holds the old list, and a page is read.
    expect(await ids(control, gig.id)).toEqual(before);
    expect(await ids(system.gateway, gig.id)).toEqual(before);

    gate.release();
    await pollUntil('gigs to apply the change', () => atGigs(seller.id), (list) => same(list, after), 10_000);
    const shown = await pollUntil('the gig page to show the new list', () => ids(system.gateway, gig.id), (list) => same(list, after), SELLER_MAX_AGE_MS / 3);
    console.log(`[propagation race] gig page shows the list gigs applied ${shown.elapsedMs.toFixed(0)} ms after gigs held it (Seller max-age ${SELLER_MAX_AGE_MS / 1000} s)`);
    // The control, evicting on the source's event only, still serves what it cached in the window.
    expect(await ids(control, gig.id)).toEqual(before);
  });
});
