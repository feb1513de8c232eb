/**
 * Subscriptions through the gateway with real processes (issue 26): the reference subgraphs and a gateway, each a
 * process of its own, the gateway reaching topclients through a TCP gate the test can cut. A seller's change of top
 * clients is published by gigs once applied (`gigPagesUpdated`), and each event's client details come from
 * topclients through the gateway's read path.
 *
 * - Twenty-one subscribers (twenty over graphql-ws, one over SSE) of one seller: one subscription to gigs, one
 *   `_entities` call to topclients per event, every subscriber told.
 * - topclients cut off: the event still comes, with the client details nulled and the error.
 * - gigs killed and started again: the gateway subscribes again and events flow.
 * - The gateway restarted on its port: the client connects again and its subscription goes on.
 *
 * Waits are on what the parts report: the gateway's `/metrics`, gigs' `/subscriptions/status`, the events.
 */
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { metricValue, serverSentEvents } from '../../gateway/test/support/serverSentEvents.js';
import { operation } from '../../schema/operations.js';
import { signedBy } from '../support/gatewayTrust.js';
import { graphqlRequest } from '../support/graphqlRequest.js';
import { processSystem, type ProcessSystem, type RunningGatewayProcess } from '../support/processSystem.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

const GIG_PAGES_UPDATED = operation('GigPagesUpdated').body;
const WAIT = { timeout: 30_000, interval: 20 };

interface Update {
  version: number;
  seller: { id: string; topClients: { id: string; name: string }[] | null };
}

describe('subscriptions through the gateway, with real processes', () => {
  let system: ProcessSystem;
  let gate: TcpProxy;
  let gateway: RunningGatewayProcess;
  const clients: Client[] = [];
  /** A client that lost its connection tries again once the gateway serves (again): awaited, not timed. */
  let gatewayServing: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    system = await processSystem();
    await Promise.all([system.subgraphs.topclients.start(), system.subgraphs.gigs.start(), system.subgraphs.users.start()]);
    gate = await startTcpProxy('127.0.0.1', Number(new URL(system.subgraphs.topclients.baseUrl).port));
    gateway = await system.startGateway({
      SUBGRAPH_TOPCLIENTS_URL: `http://127.0.0.1:${gate.port}/graphql`,
      INVALIDATION_FEED_URL: ['topclients', 'gigs', 'users'].map((name) => system.feedUrl(name as 'gigs')).join(','),
      SUBSCRIPTION_UPSTREAM_RETRY_MS: '100',
    });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await system?.stop();
    await gate?.stop();
  });

  const client = (retryAttempts = 0) => {
    const made = createClient({ url: gateway.url.replace('http:', 'ws:'), webSocketImpl: WebSocket, retryAttempts, retryWait: () => gatewayServing, shouldRetry: () => true });
    clients.push(made);
    return made;
  };
  const metric = (line: string) => metricValue(gateway.url, line);
  const gigsSubscribers = async () => ((await (await fetch(`${system.subgraphs.gigs.baseUrl}/subscriptions/status`)).json()) as { subscribers: number }).subscribers;
  /** A seller no earlier test changed (each test takes the next), with a gig and a few top clients. */
  let sellersTaken = 0;
  const freshSeller = () => system.demo.sellers.filter((s) => s.topClientIds.length >= 2 && system.demo.gigs.some((g) => g.sellerId === s.id))[sellersTaken++]!.id;
  /** A client the (fresh) seller does not list yet. */
  const unlisted = (sellerId: string) => {
    const listed = new Set(system.demo.sellers.find((s) => s.id === sellerId)!.topClientIds);
    return system.demo.clients.find((c) => !listed.has(c.id))!.id;
  };
  const nextUpdate = async (results: AsyncIterator<unknown>): Promise<ExecutionResult<{ gigPagesUpdated: Update }>> => {
    const next = await results.next();
    if (next.done) throw new Error('the subscription ended');
    return next.value as ExecutionResult<{ gigPagesUpdated: Update }>;
  };

  it('twenty-one subscribers of one seller (graphql-ws and SSE): one subscription to gigs, one _entities call to topclients per event', async () => {
    system.printLogsIfFailed();
    const sellerId = freshSeller();
    const streams = Array.from({ length: 20 }, () => client().iterate({ query: GIG_PAGES_UPDATED, variables: { sellerId } }));
    const abort = new AbortController();
    const sse = await fetch(gateway.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: GIG_PAGES_UPDATED, variables: { sellerId } }),
      signal: abort.signal,
    });
    const sseUpdate = (serverSentEvents(sse).nextResult() as Promise<ExecutionResult<{ gigPagesUpdated: Update }>>).finally(() => abort.abort());
    await vi.waitFor(async () => expect(await metric('gateway_streams_open{transport="ws",kind="subscription"}') + await metric('gateway_streams_open{transport="sse",kind="subscription"}')).toBe(21), WAIT);
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    const entityCallsBefore = await metric('gateway_subgraph_requests_total{subgraph="topclients",kind="entities",outcome="ok"}');

    const clientId = unlisted(sellerId);
    const added = await gateway.run('AddTopClient', { clientId }, sellerId);
    expect(added.body.errors).toBeUndefined();
    const expected = added.body.data.addTopClient.map((c: { id: string }) => c.id);
    const updates = await Promise.all(streams.map((s) => nextUpdate(s)));
    for (const update of [...updates, await sseUpdate]) {
      expect(update.errors).toBeUndefined();
      expect(update.data!.gigPagesUpdated.seller.topClients!.map((c) => c.id)).toEqual(expected);
      expect(update.data!.gigPagesUpdated.seller.topClients!.every((c) => typeof c.name === 'string' && c.name.length > 0)).toBe(true);
    }
    expect(await metric('gateway_subgraph_requests_total{subgraph="topclients",kind="entities",outcome="ok"}') - entityCallsBefore).toBe(1);
    expect(await gigsSubscribers()).toBe(1);
    await Promise.all(streams.map((s) => s.return?.()));
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(0), WAIT);
  });

  it('topclients cut off from the gateway: the event still comes, its client details nulled with the error', async () => {
    system.printLogsIfFailed();
    const sellerId = freshSeller();
    const results = client().iterate({ query: GIG_PAGES_UPDATED, variables: { sellerId } });
    const update = nextUpdate(results);
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    gate.cut();
    try {
      // The change is made at topclients itself (the gateway cannot reach it), signed as the seller.
      const clientId = unlisted(sellerId);
      const added = await graphqlRequest(`${system.subgraphs.topclients.baseUrl}/graphql`, operation('AddTopClient').body, { clientId }, await signedBy(sellerId));
      expect(added.body.errors).toBeUndefined();
      const { data, errors } = await update;
      expect(data!.gigPagesUpdated).toMatchObject({ version: expect.any(Number), seller: { id: sellerId, topClients: null } });
      // One error per client whose details could not be fetched (those cached earlier are served), at its place.
      expect(errors!.length).toBeGreaterThan(0);
      for (const error of errors!) {
        expect(error).toMatchObject({ path: ['gigPagesUpdated', 'seller', 'topClients', expect.any(Number)], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'topclients' } });
      }
    } finally {
      gate.restore();
      await results.return?.();
    }
  });

  it('gigs killed and started again: the gateway subscribes again, and the next change is told', async () => {
    system.printLogsIfFailed();
    const sellerId = freshSeller();
    const results = client().iterate({ query: GIG_PAGES_UPDATED, variables: { sellerId } });
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    await system.subgraphs.gigs.kill();
    await system.subgraphs.gigs.start();
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    const update = nextUpdate(results);
    const added = await gateway.run('AddTopClient', { clientId: unlisted(sellerId) }, sellerId);
    expect((await update).data!.gigPagesUpdated.seller.topClients!.map((c) => c.id)).toEqual(added.body.data.addTopClient.map((c: { id: string }) => c.id));
    await results.return?.();
  });

  it('the gateway restarted on its port: the client connects again, and its subscription goes on', async () => {
    system.printLogsIfFailed();
    const sellerId = freshSeller();
    const results = client(300).iterate({ query: GIG_PAGES_UPDATED, variables: { sellerId } });
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    const port = new URL(gateway.url).port;
    let back!: () => void;
    gatewayServing = new Promise((resolve) => (back = resolve));
    const exited = gateway.exited;
    gateway.child.kill('SIGTERM');
    await exited;
    const restarted = system.startGateway({
      PORT: port,
      SUBGRAPH_TOPCLIENTS_URL: `http://127.0.0.1:${gate.port}/graphql`,
      INVALIDATION_FEED_URL: ['topclients', 'gigs', 'users'].map((name) => system.feedUrl(name as 'gigs')).join(','),
    });
    gateway = await restarted;
    back();
    await vi.waitFor(async () => expect(await gigsSubscribers()).toBe(1), WAIT);
    const update = nextUpdate(results);
    const added = await gateway.run('AddTopClient', { clientId: unlisted(sellerId) }, sellerId);
    expect((await update).data!.gigPagesUpdated.seller.topClients!.map((c) => c.id)).toEqual(added.body.data.addTopClient.map((c: { id: string }) => c.id));
    await results.return?.();
  });
});
