/**
 * On the reference deployment, the entity cache must not change what a page shows: two gateways in front of the
 * same subgraphs, one with ENTITY_CACHE=on and one with ENTITY_CACHE=off, give equal answers to every page
 * operation in schema/operations, cold and warm, including when topclients fails some clients. A real HTTP proxy
 * in front of topclients turns chosen clients of every `_entities` answer into errors at `["_entities", i]`, as a
 * partially failing subgraph would; those errors must land on the right list items of the page. Mutations are
 * compared through the self-view (MyTopClients) that follows them.
 *
 * Answers are compared after normaliseAnswer (gateway/test/support/stockGateway.ts): status, data, errors sorted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { normaliseAnswer, type Answer } from '../../gateway/test/support/stockGateway.js';
import { startEntityErrorProxy, type EntityErrorProxy } from '../../gateway/test/support/supergraphFixtures.js';
import { loadOperations, operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { TEST_SCALE, gatewayEnvFor, postGraphQL, startSubgraphs } from '../support/system.js';

const GENEROUS = { SUBGRAPH_TIMEOUT_MS: '10000', ENTITY_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '20000' };

describe('entity cache on and off give equal pages (reference deployment)', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const seller = demo.sellers.find((s) => s.topClientIds.length >= 4)!;
  const other = demo.sellers.find((s) => s.id !== seller.id && s.topClientIds.length >= 2 && s.topClientIds.some((id) => !seller.topClientIds.includes(id)))!;
  const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
  const variablesFor: Record<string, Record<string, unknown>> = {
    GigPage: { id: gig.id },
    UserPage: { username: seller.username },
    SearchResults: { text: null, category: gig.category, first: 10 },
    MyTopClients: {},
  };
  const self = { 'x-seller-id': seller.id };
  // The failing client belongs to a seller whose clients the healthy tests never load: a client the cache already
  // holds fresh is rightly served from it, so only clients not in the cache can show the failure.
  const faulty = demo.sellers.find((s) => s.topClientIds.length >= 3 && s.topClientIds.every((id) => !seller.topClientIds.includes(id)))!;
  const faultyGig = demo.gigs.find((g) => g.sellerId === faulty.id)!;
  const failingClient = faulty.topClientIds[1]!;
  const faultyVariablesFor: Record<string, Record<string, unknown>> = {
    GigPage: { id: faultyGig.id },
    UserPage: { username: faulty.username },
  };

  let stopSubgraphs: () => Promise<void>;
  let proxy: EntityErrorProxy;
  let cacheOn: RunningGateway;
  let cacheOff: RunningGateway;

  beforeAll(async () => {
    const started = await startSubgraphs('pglite', demo);
    stopSubgraphs = started.stop;
    proxy = await startEntityErrorProxy(started.subgraphs.topclients.url);
    const env = (cache: string) => gatewayEnvFor({ ...started.subgraphs, topclients: proxy }, { ENTITY_CACHE: cache, ...GENEROUS });
    cacheOn = await startGateway(loadConfig(env('on')), { logger: jsonLogger('silent') });
    cacheOff = await startGateway(loadConfig(env('off')), { logger: jsonLogger('silent') });
    // Migrating and seeding three PGlite databases takes a few seconds alone, far longer on a busy machine.
  }, 180_000);
  afterAll(async () => {
    await cacheOn?.stop();
    await cacheOff?.stop();
    await proxy?.stop();
    await stopSubgraphs?.();
  });

  const ask = async (gateway: RunningGateway, name: string, variables: Record<string, unknown>, headers: Record<string, string> = self): Promise<Answer> => {
    const { status, body } = await postGraphQL(gateway.url, operation(name).body, variables, headers);
    return normaliseAnswer(status, body);
  };

  /** Cold, then warm twice, then 5 at once, on both gateways; returns the answer they agree on. */
  async function expectEqual(name: string, variables: Record<string, unknown>): Promise<Answer> {
    const expected = await ask(cacheOff, name, variables);
    const seen: { gateway: string; run: string; answer: Answer }[] = [];
    for (const run of ['cold', 'warm 2', 'warm 3']) seen.push({ gateway: 'cache on', run, answer: await ask(cacheOn, name, variables) });
    seen.push({ gateway: 'cache off', run: 'again', answer: await ask(cacheOff, name, variables) });
    const together = await Promise.all([cacheOn, cacheOff, cacheOn, cacheOff, cacheOn].map((g) => ask(g, name, variables)));
    together.forEach((answer, i) => seen.push({ gateway: i % 2 === 0 ? 'cache on' : 'cache off', run: 'concurrent', answer }));
    for (const s of seen) expect(s).toEqual({ gateway: s.gateway, run: s.run, answer: expected });
    return expected;
  }

  // A live query is served over the streaming transports, where a page's first answer is this same query's.
  const queries = loadOperations().filter((o) => o.type === 'query' && !o.body.includes('@live')).map((o) => o.name);
  const mutations = loadOperations().filter((o) => o.type === 'mutation').map((o) => o.name);

  it('covers every page operation in schema/operations', () => {
    expect([...queries].sort()).toEqual(Object.keys(variablesFor).sort());
    expect([...mutations].sort()).toEqual(['AddTopClient', 'RemoveTopClient', 'ReorderTopClients', 'UpdateClient']);
  });

  it.each(Object.keys(variablesFor))('%s: equal answers cold, warm and concurrent', async (name) => {
    const answer = await expectEqual(name, variablesFor[name]!);
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toBeTruthy();
  });

  it.each(Object.keys(faultyVariablesFor))('%s: equal answers when topclients fails one client, with the error on that client', async (name) => {
    proxy.failingClientIds.add(failingClient);
    try {
      const answer = await expectEqual(name, faultyVariablesFor[name]!);
      const listPath = name === 'GigPage' ? ['gig', 'seller', 'topClients'] : ['seller', 'topClients'];
      expect(answer.errors).toEqual([
        {
          message: `client ${failingClient} is unavailable`,
          path: [...listPath, faulty.topClientIds.indexOf(failingClient)],
          extensions: { code: 'CLIENT_UNAVAILABLE', serviceName: 'topclients' },
        },
      ]);
    } finally {
      proxy.failingClientIds.clear();
    }
  });

  it('mutations: the self-view that follows each one is equal on both gateways', async () => {
    const selfView = async () => {
      const on = await ask(cacheOn, 'MyTopClients', {});
      const off = await ask(cacheOff, 'MyTopClients', {});
      expect({ gateway: 'cache on', answer: on }).toEqual({ gateway: 'cache on', answer: off });
      expect(on.errors).toBeUndefined();
      return (on.data as any).myTopClients as { id: string; name: string }[];
    };
    const added = other.topClientIds.find((id) => !seller.topClientIds.includes(id))!;
    const steps: [RunningGateway, string, Record<string, unknown>][] = [
      [cacheOn, 'AddTopClient', { clientId: added }],
      [cacheOff, 'ReorderTopClients', { clientIds: [added, ...seller.topClientIds].reverse() }],
      [cacheOn, 'UpdateClient', { id: seller.topClientIds[0], input: { name: 'Renamed by the equivalence test' } }],
      [cacheOff, 'RemoveTopClient', { clientId: added }],
    ];
    await selfView(); // warms the cache-on gateway with the list before any change
    for (const [gateway, name, variables] of steps) {
      const result = await ask(gateway, name, variables);
      expect({ name, errors: result.errors }).toEqual({ name, errors: undefined });
      await selfView();
    }
    const final = await selfView();
    expect(final.map((c) => c.id)).toEqual([...seller.topClientIds].reverse());
    expect(final.find((c) => c.id === seller.topClientIds[0])!.name).toBe('Renamed by the equivalence test');
  });
});
