/**
 * Apollo Client 4, unchanged (its own HttpLink, the deferSpec=20220824 incremental handler), reading the pages'
 * deferred GigPage from the real reference deployment: the gig arrives in one emission while topclients has not
 * answered, the top clients in the next. topclients sits behind a real proxy that holds its answer until the test
 * lets it go, so the two parts cannot arrive together, whatever the machine's speed: ordering is awaited, never
 * timed.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql, type ObservableQuery } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { startFaultProxy, type FaultProxy } from '../../gateway/test/support/faultProxy.js';
import { operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { TEST_SCALE, gatewayEnvFor, startSubgraphs } from '../support/system.js';

interface GigPageData {
  gig: {
    id: string; title: string;
    seller: { id: string; username: string; topClients: { id: string; name?: string; logoUrl?: string | null; verified?: boolean; version?: number }[] | null };
  } | null;
}

/** Every result an observable query emits, and a way to wait for the n-th one. */
function emissionsOf<T>(observable: ObservableQuery<T>) {
  const results: ObservableQuery.Result<T>[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  const failures: unknown[] = [];
  const subscription = observable.subscribe({
    next: (result) => {
      results.push(result);
      for (const waiter of waiting.filter((w) => results.length >= w.count)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    error: (error) => void failures.push(error),
  });
  return {
    results,
    failures,
    /** Resolves once `count` results have been emitted. */
    until: (count: number) => (results.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve }))),
    stop: () => subscription.unsubscribe(),
  };
}

describe('Apollo Client reading the deferred gig page', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const seller = demo.sellers.find((s) => s.topClientIds.length >= 3)!;
  const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
  const clientNames = seller.topClientIds.map((id) => demo.clients.find((c) => c.id === id)!.name);
  let stopSubgraphs: () => Promise<void>;
  let topclients: FaultProxy;
  let gateway: RunningGateway;

  beforeAll(async () => {
    const started = await startSubgraphs('pglite', demo);
    stopSubgraphs = started.stop;
    topclients = await startFaultProxy(started.subgraphs.topclients.url);
    // Patient with topclients: its answer is held for as long as the test takes to look at the first part.
    gateway = await startGateway(loadConfig(gatewayEnvFor({ ...started.subgraphs, topclients }, {
      SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: '30000',
      OPERATION_BUDGET_MS: '30000',
    })), { logger: jsonLogger('error') });
  });
  afterAll(async () => {
    await gateway?.stop();
    await topclients?.stop();
    await stopSubgraphs?.();
  });

  it('emits the gig without the top clients\' details while topclients has not answered, then the whole page', async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: gateway.url }),
      cache: new InMemoryCache(),
      incrementalHandler: new Defer20220824Handler(),
    });
    topclients.fault = { kind: 'hold' };
    const emissions = emissionsOf(client.watchQuery<GigPageData>({ query: gql(operation('GigPage').body), variables: { id: gig.id } }));
    try {
      // The gateway has asked topclients, and topclients' answer is held: only the first part can have come.
      await topclients.waitForRequests(1);
      await emissions.until(2);
      const [loading, first] = emissions.results;
      expect(loading).toMatchObject({ loading: true, dataState: 'empty' });
      expect(first).toMatchObject({ loading: true, dataState: 'streaming' });
      expect(first!.data?.gig).toMatchObject({ id: gig.id, title: gig.title, seller: { id: seller.id, username: seller.username } });
      // The IDs, which gigs stores, came with the gig; none of the details topclients holds.
      expect(first!.data?.gig?.seller?.topClients).toEqual(seller.topClientIds.map((id) => ({ __typename: 'Client', id })));
      expect(topclients.requests[0]!.responseText).toBe('');

      topclients.releaseHeld();
      await emissions.until(3);
      const second = emissions.results[2]!;
      expect(second).toMatchObject({ loading: false, dataState: 'complete', networkStatus: 7 });
      expect(second.error).toBeUndefined();
      expect(second.data?.gig?.title).toBe(gig.title);
      expect(second.data?.gig?.seller?.topClients?.map((c) => c?.name)).toEqual(clientNames);
      expect(second.data?.gig?.seller?.topClients?.every((c) => typeof c?.logoUrl === 'string' && typeof c?.version === 'number')).toBe(true);
      // Two emissions with data, in that order, and nothing after the complete one.
      expect(emissions.results.map((r) => r.dataState)).toEqual(['empty', 'streaming', 'complete']);
      expect(emissions.failures).toEqual([]);
      expect(topclients.entityCalls()).toHaveLength(1);
    } finally {
      topclients.reset();
      topclients.releaseHeld();
      emissions.stop();
      client.stop();
    }
  });
});
