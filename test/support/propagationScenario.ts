/**
 * A mutation on topclients reaches gigs, users and the gateway's entity cache, on both transports: the seller's
 * self-view shows it at once, the gig and user pages once the event is applied. The delays are printed (they are
 * figures to report, not assertions); the only bound asserted is "well before Client's max-age of 60 s".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway } from '../../gateway/src/server.js';
import { operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { natsAvailable } from './nats.js';
import { pollUntil, startPropagatingSystem, type PropagatingSystem, type TransportKind } from './propagatingSystem.js';
import { gatewayEnvFor, postGraphQL, TEST_SCALE } from './system.js';

const CLIENT_MAX_AGE_MS = 60_000;

/** One file per transport (test/e2e/propagation.*.test.ts), so each stays short and they run side by side. */
export function describePropagation(transport: TransportKind): void {
  describe.runIf(transport === 'feed' || natsAvailable)(`ID propagation end to end (${transport} transport)`, () => {
    scenario(transport);
  });
}

function scenario(transport: TransportKind): void {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const sellers = demo.sellers.filter((s) => s.topClientIds.length >= 2 && s.topClientIds.length < 10 && demo.gigs.some((g) => g.sellerId === s.id));
  let system: PropagatingSystem;
  const run = (name: string, variables: Record<string, unknown>, sellerId?: string) =>
    postGraphQL(system.gateway.url, operation(name).body, variables, sellerId ? { 'x-seller-id': sellerId } : {});
  const gigPage = async (gigId: string) => {
    const answer = await run('GigPage', { id: gigId });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data.gig.seller.topClients as { id: string; name: string; version: number }[];
  };
  const userPage = async (username: string) => (await run('UserPage', { username })).body.data.seller.topClients as { id: string }[];

  beforeAll(async () => {
    system = await startPropagatingSystem(transport, demo);
  });
  afterAll(() => system?.stop());

  // Page subgraphs are asked directly while waiting: polling through the gateway would cache the page (Seller
  // max-age 30 s) before the event lands. The gateway page is read once the subgraphs hold the change.
  const subgraphIds = async (name: 'gigs' | 'users', sellerId: string, username: string) => {
    const query = name === 'gigs'
      ? 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Seller { topClients { id } } } }'
      : 'query($u: String!) { seller(username: $u) { topClients { id } } }';
    const answer = await postGraphQL(system.subgraphs[name].url, query, { r: [{ __typename: 'Seller', id: sellerId }], u: username });
    const seller = name === 'gigs' ? answer.body.data._entities[0] : answer.body.data.seller;
    return (seller?.topClients ?? []).map((c: { id: string }) => c.id) as string[];
  };
  const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);

  it('adding a top client: the self-view shows it at once, the gig and user pages once the event is applied', async () => {
    const seller = sellers[0]!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    expect(await subgraphIds('gigs', seller.id, seller.username)).toEqual(seller.topClientIds);
    const wanted = [...seller.topClientIds, extra.id];

    const mutated = await run('AddTopClient', { clientId: extra.id }, seller.id);
    expect(mutated.body.errors).toBeUndefined();
    const committedAt = performance.now();
    // Read your writes: the self-view reads topclients, the source, so no waiting at all.
    const mine = await run('MyTopClients', {}, seller.id);
    expect(mine.body.data.myTopClients.map((c: { id: string }) => c.id)).toEqual(wanted);

    const [atGigs, atUsers] = await Promise.all((['gigs', 'users'] as const).map(async (name) => {
      await pollUntil(`${name} to apply the event`, () => subgraphIds(name, seller.id, seller.username), (ids) => same(ids, wanted), 20_000, 5);
      return performance.now() - committedAt;
    }));
    expect((await gigPage(gig.id)).map((c) => c.id)).toEqual(wanted);
    expect((await userPage(seller.username)).map((c) => c.id)).toEqual(wanted);
    console.log(`[propagation ${transport}] addTopClient committed -> applied at gigs after ${atGigs!.toFixed(0)} ms, at users after ${atUsers!.toFixed(0)} ms`);
  });

  it('removing and reordering reach both pages in the source order, ending at the source version', async () => {
    const seller = sellers[1]!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const [first, ...rest] = seller.topClientIds;
    await run('RemoveTopClient', { clientId: first }, seller.id);
    const reordered = [...rest].reverse();
    if (reordered.length > 1) await run('ReorderTopClients', { clientIds: reordered }, seller.id);
    for (const name of ['gigs', 'users'] as const) {
      await pollUntil(`${name} to apply the last change`, () => subgraphIds(name, seller.id, seller.username), (ids) => same(ids, reordered));
    }
    expect((await gigPage(gig.id)).map((c) => c.id)).toEqual(reordered);
    expect((await userPage(seller.username)).map((c) => c.id)).toEqual(reordered);
    const [stored] = await system.subgraphs.gigs.db.query<{ version: number }>('SELECT version FROM seller_client_ids WHERE seller_id = $1', [seller.id]);
    const [source] = await system.subgraphs.topclients.db.query<{ version: number }>('SELECT version FROM seller_lists WHERE seller_id = $1', [seller.id]);
    expect(stored!.version).toBe(source!.version);
  });

  it('editing a client shows the new name on a warmed gig page well before Client max-age (the event evicts the cache)', async () => {
    const seller = sellers[2]!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const clientId = seller.topClientIds[0]!;
    // Warm: the page's Client entities are now in the gateway's entity cache (max-age 60 s).
    const before = await gigPage(gig.id);
    await gigPage(gig.id);
    const newName = `Renamed over ${transport} ${Date.now()}`;
    const edited = await run('UpdateClient', { id: clientId, input: { name: newName } }, seller.id);
    expect(edited.body.data.updateClient.name).toBe(newName);
    const shown = await pollUntil('the gig page to show the new name', async () => (await gigPage(gig.id)).find((c) => c.id === clientId)!.name, (name) => name === newName, CLIENT_MAX_AGE_MS / 2);
    expect(before.find((c) => c.id === clientId)!.name).not.toBe(newName);
    expect(shown.elapsedMs).toBeLessThan(CLIENT_MAX_AGE_MS / 2);
    console.log(`[propagation ${transport}] updateClient -> gig page shows the new name after ${shown.elapsedMs.toFixed(0)} ms (Client max-age ${CLIENT_MAX_AGE_MS / 1000} s)`);
  });

  it('without a change listener the same warmed page keeps the old name (the cache holds it), so eviction is what made it fresh', async () => {
    const seller = sellers[4]!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const clientId = seller.topClientIds[0]!;
    const plain = await startGateway(loadConfig(gatewayEnvFor(system.subgraphs)), { logger: jsonLogger('error') });
    try {
      const names = async () => ((await postGraphQL(plain.url, operation('GigPage').body, { id: gig.id })).body.data.gig.seller.topClients as { id: string; name: string }[])
        .find((c) => c.id === clientId)!.name;
      const listening = async () => (await gigPage(gig.id)).find((c) => c.id === clientId)!.name;
      const before = await names();
      await names();
      // The listening gateway is warmed too, so its turning fresh can only be the event's doing.
      expect(await listening()).toBe(before);
      await listening();
      const newName = `Unseen over ${transport} ${Date.now()}`;
      await run('UpdateClient', { id: clientId, input: { name: newName } }, seller.id);
      // Once the listening gateway shows the edit, the event has been delivered and acted on: a plain gateway that
      // still shows the old name then is stale because nothing evicted it, not because the event was slow.
      await pollUntil('the listening gateway to show it', listening, (n) => n === newName, 10_000);
      expect(await names()).toBe(before);
    } finally {
      await plain.stop();
    }
  });

  it('gigs and users publish the lists they applied, and a gateway serving pages from memory (max-age) shows the change once they did', async () => {
    const seller = sellers[5]!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const fromMemory = await startGateway(loadConfig(gatewayEnvFor(system.subgraphs, { ...system.invalidationEnv, ROOT_FETCH_CACHE: 'max-age' })), { logger: jsonLogger('error') });
    try {
      const pages = async () => {
        const [gigAnswer, userAnswer] = await Promise.all([
          postGraphQL(fromMemory.url, operation('GigPage').body, { id: gig.id }),
          postGraphQL(fromMemory.url, operation('UserPage').body, { username: seller.username }),
        ]);
        return [gigAnswer.body.data.gig.seller.topClients, userAnswer.body.data.seller.topClients].map((list: { id: string }[]) => list.map((c) => c.id));
      };
      expect(await pages()).toEqual([seller.topClientIds, seller.topClientIds]);
      const wanted = seller.topClientIds.slice(1);
      await run('RemoveTopClient', { clientId: seller.topClientIds[0] }, seller.id);
      const shown = await pollUntil('both pages to show the applied list', pages, ([g, u]) => same(g!, wanted) && same(u!, wanted), 10_000);
      console.log(`[propagation ${transport}] removeTopClient -> both pages from memory show it after ${shown.elapsedMs.toFixed(0)} ms (Seller max-age 30 s)`);
      for (const name of ['gigs', 'users'] as const) {
        const [applied] = await system.subgraphs[name].db.query<{ version: number; payload: { clientIds: string[] } }>(
          "SELECT version, payload FROM outbox WHERE event_type = 'seller-client-ids-applied' AND entity_key = $1::jsonb ORDER BY id DESC LIMIT 1",
          [JSON.stringify({ id: seller.id })],
        );
        expect(applied).toEqual({ version: 2, payload: { sellerId: seller.id, clientIds: wanted } });
      }
    } finally {
      await fromMemory.stop();
    }
  });

  it('a poison event in the source is parked with its position by gigs and users, and the events after it apply', async () => {
    const seller = sellers[3]!;
    const [poison] = await system.subgraphs.topclients.db.query<{ id: string }>(
      `INSERT INTO outbox (event_type, entity_typename, entity_key, version, payload)
       VALUES ('seller-client-ids-changed', 'Seller', $1::jsonb, 99, '{"sellerId": 42}'::jsonb) RETURNING id::text AS id`,
      [JSON.stringify({ id: seller.id })],
    );
    const [first] = seller.topClientIds;
    await run('RemoveTopClient', { clientId: first }, seller.id);
    const wanted = seller.topClientIds.slice(1);
    for (const name of ['gigs', 'users'] as const) {
      await pollUntil(`${name} to apply the event after the poison`, () => subgraphIds(name, seller.id, seller.username), (ids) => same(ids, wanted));
      const parked = await system.subgraphs[name].db.query<{ position: string; error: string }>('SELECT position::text, error FROM parked_events');
      expect(parked.map((p) => p.error)).toEqual(['payload.sellerId must be a non-empty string']);
      // On the feed the position is the outbox id; on JetStream, the stream sequence the relay gave it.
      if (transport === 'feed') expect(parked[0]!.position).toBe(poison!.id);
    }
  });

  it('each page subgraph reports its position, no lag and one parked event once caught up', async () => {
    for (const name of ['gigs', 'users'] as const) {
      const statusUrl = system.subgraphs[name].url.replace(/\/graphql$/, '/events/status');
      const caughtUp = await pollUntil(`${name} to catch up`, async () => (await fetch(statusUrl)).json() as Promise<Record<string, unknown>>, (s) => s.lag === 0);
      expect(caughtUp.value).toMatchObject({ service: name, transport, lag: 0, parked: 1 });
      expect(caughtUp.value.position).toBeGreaterThan(0);
    }
  });
}
