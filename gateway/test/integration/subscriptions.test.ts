/**
 * Issue 26 - subscriptions through the gateway: over graphql-ws and SSE, each event completed with another
 * subgraph's fields through the read path (batched across subscribers, nulled on failure), with the caller signed
 * for the subgraph; a manifest's subscription planned when the supergraph loads (PLAN_WARMUP); limits and bad input
 * answered per operation; a subgraph's stream re-opened when it drops; every stream ended with a reason when the
 * gateway stops. Real subgraphs and a real gateway on port 0.
 */
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildManifest, manifestText } from '../../src/persisted/manifest.js';
import { watchPlanner } from '../support/plannerSpy.js';
import { metricValue, serverSentEvents, type ServerSentEvent } from '../support/serverSentEvents.js';
import { REVIEW_ADDED, startSubscriptionFixture, take, type SubscriptionFixture } from '../support/subscriptionFixture.js';

let fixture: SubscriptionFixture | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
const start = async (env: Record<string, string> = {}) => (fixture = await startSubscriptionFixture({ env }));

/** Resolves once the reviews subgraph has `count` subscribers of the brand (the gateway's subscriptions are made). */
const subscribedUpstream = (f: SubscriptionFixture, brandId: string, count = 1) => vi.waitFor(() => expect(f.listeners(brandId)).toBe(count), { timeout: 10_000, interval: 5 });

/** Reads server-sent events until `count` `next` events (or `complete`) came, then hangs up. */
async function sseEvents(response: Response, count: number, abort: AbortController): Promise<ServerSentEvent[]> {
  const reader = serverSentEvents(response);
  const events: ServerSentEvent[] = [];
  for (let event = await reader.next(); event; event = await reader.next()) {
    events.push(event);
    if (events.filter((e) => e.event === 'next').length >= count || event.event === 'complete') break;
  }
  reader.release();
  abort.abort();
  return events;
}

const SUBSCRIPTION_MANIFEST = buildManifest([{ name: 'ReviewAdded', type: 'subscription', body: REVIEW_ADDED }]);

/** A persisted query manifest holding REVIEW_ADDED, in a folder removed after the test. */
async function manifestFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'subscription-manifest-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'manifest.json');
  await writeFile(file, manifestText(SUBSCRIPTION_MANIFEST));
  return file;
}

/** REVIEW_ADDED by its manifest id over graphql-ws, naming its operation and not (an empty query text stands for none): each one's first event. */
function subscribeById(f: SubscriptionFixture): [Promise<unknown[]>, Promise<unknown[]>] {
  const extensions = { persistedQuery: { version: 1, sha256Hash: SUBSCRIPTION_MANIFEST.operations[0]!.id } };
  const variables = { brandId: 'b1' };
  return [
    take(f.client().iterate({ query: '', operationName: 'ReviewAdded', variables, extensions }), 1),
    take(f.client().iterate({ query: '', variables, extensions }), 1),
  ];
}

describe('a subscription through the gateway', () => {
  it('over graphql-ws: each event is completed with the other subgraph\'s fields, in the order sent', async () => {
    const f = await start();
    const results = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const first = take(results, 2);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'great', brand: { id: 'b1' } });
    f.publish({ id: 'r2', body: 'fine', brand: { id: 'b1' } });
    expect(await first).toEqual([
      { data: { reviewAdded: { id: 'r1', body: 'great', brand: { id: 'b1', name: 'Brand One' } } } },
      { data: { reviewAdded: { id: 'r2', body: 'fine', brand: { id: 'b1', name: 'Brand One' } } } },
    ]);
    // The subgraph was asked for what it owns; the brand's name came through the read path (cached after r1).
    expect(f.reviews.subscriptions.map((s) => s.query)).toEqual([expect.stringContaining('reviewAdded(brandId:$brandId){id body brand{__typename id}}')]);
    expect(f.entityCalls()).toEqual([['b1']]);
    await results.return?.();
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(0), { timeout: 10_000, interval: 5 });
  });

  it('ten subscribers of one event: one subscription to the subgraph, one _entities call, ten pushes', async () => {
    const f = await start({ ENTITY_CACHE: 'false' });
    const streams = Array.from({ length: 10 }, () => f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b2' } }));
    const received = Promise.all(streams.map((s) => take(s, 1)));
    await subscribedUpstream(f, 'b2');
    // Every client's subscription reached the gateway before the event: the gateway counts them as open.
    await vi.waitFor(async () => expect(await metric(f, 'gateway_streams_open{transport="ws",kind="subscription"}')).toBe(10), { timeout: 10_000, interval: 5 });
    f.publish({ id: 'r9', body: 'ok', brand: { id: 'b2' } });
    const answers = await received;
    expect(answers.map(([r]) => r)).toEqual(Array(10).fill({ data: { reviewAdded: { id: 'r9', body: 'ok', brand: { id: 'b2', name: 'Brand Two' } } } }));
    expect(f.reviews.subscriptions).toHaveLength(1);
    expect(f.entityCalls()).toEqual([['b2']]);
    expect(await metric(f, 'gateway_stream_pushes_total{kind="subscription"}')).toBe(10);
    expect(await metric(f, 'gateway_stream_events_total{source="reviews"}')).toBe(1);
  });

  it('over SSE (POST, and GET with the parameters in the query string): the same results as server-sent events', async () => {
    const f = await start();
    const post = new AbortController();
    const byPost = await fetch(f.gateway.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }),
      signal: post.signal,
    });
    expect(byPost.status).toBe(200);
    expect(byPost.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const get = new AbortController();
    const search = new URLSearchParams({ query: REVIEW_ADDED, variables: JSON.stringify({ brandId: 'b1' }) });
    const byGet = await fetch(`${f.gateway.url}?${search}`, { headers: { accept: 'text/event-stream' }, signal: get.signal });
    const events = Promise.all([sseEvents(byPost, 1, post), sseEvents(byGet, 1, get)]);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'great', brand: { id: 'b1' } });
    const expected = { data: { reviewAdded: { id: 'r1', body: 'great', brand: { id: 'b1', name: 'Brand One' } } } };
    for (const stream of await events) expect(stream.filter((e) => e.event === 'next').map((e) => e.data)).toEqual([expected]);
    // Hanging up ends the gateway's subscription to the subgraph.
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(0), { timeout: 10_000, interval: 5 });
  });

  it('the other subgraph down: events still flow, with its fields nulled and the error', async () => {
    const f = await start();
    const results = f.client().iterate({ query: `subscription { reviewAdded(brandId: "b1") { id brand { id name } } }` });
    const next = take(results, 1);
    await subscribedUpstream(f, 'b1');
    await f.brands.stop();
    f.publish({ id: 'r1', body: 'x', brand: { id: 'b1' } });
    const [result] = await next;
    // `name` is non-null: its null bubbles up to the nullable `brand`; the rest of the event stands.
    expect(result!.data).toEqual({ reviewAdded: { id: 'r1', brand: null } });
    expect(result!.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'brands' }) })]);
  });

  it('by its persisted query id, with its operation name or without: planned when the supergraph loaded (PLAN_WARMUP), its first subscribers plan nothing', async () => {
    const f = await start({ PERSISTED_QUERY_MANIFEST: await manifestFile() });
    const plans = await watchPlanner(f.gateway);
    const [named, unnamed] = subscribeById(f);
    await subscribedUpstream(f, 'b1', 2);
    f.publish({ id: 'r1', body: 'great', brand: { id: 'b1' } });
    const event = { data: { reviewAdded: { id: 'r1', body: 'great', brand: { id: 'b1', name: 'Brand One' } } } };
    expect([await named, await unnamed]).toEqual([[event], [event]]);
    expect(plans).not.toHaveBeenCalled();
  });

  it('with PLAN_WARMUP=off, the manifest\'s subscription is planned by its first subscriber (for each way of naming it)', async () => {
    const f = await start({ PERSISTED_QUERY_MANIFEST: await manifestFile(), PLAN_WARMUP: 'off' });
    const plans = await watchPlanner(f.gateway);
    const [named, unnamed] = subscribeById(f);
    await subscribedUpstream(f, 'b1', 2);
    f.publish({ id: 'r1', body: 'great', brand: { id: 'b1' } });
    await Promise.all([named, unnamed]);
    expect(plans).toHaveBeenCalledTimes(2);
  });

  it('Apollo Client\'s GraphQLWsLink, unchanged, receives the events', async () => {
    const f = await start();
    const wsClient = createClient({ url: f.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
    const received: unknown[] = [];
    const first = new Promise<void>((resolve, reject) => {
      const subscription = apollo.subscribe({ query: gql(REVIEW_ADDED), variables: { brandId: 'b2' } }).subscribe({
        next: (result) => {
          received.push(result.data);
          subscription.unsubscribe();
          resolve();
        },
        error: reject,
      });
    });
    await subscribedUpstream(f, 'b2');
    f.publish({ id: 'r5', body: 'via Apollo Client', brand: { id: 'b2' } });
    await first;
    expect(received).toEqual([{ reviewAdded: { __typename: 'Review', id: 'r5', body: 'via Apollo Client', brand: { __typename: 'Brand', id: 'b2', name: 'Brand Two' } } }]);
    await wsClient.dispose();
  });

  it('the caller is signed for the subgraph, from the connection_init payload', async () => {
    const f = await start();
    const results = f.client({ connectionParams: { headers: { 'x-seller-id': 's-42' } } }).iterate({ query: `subscription { reviewAdded(brandId: "b1") { id seenBy } }` });
    const next = take(results, 1);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'x', brand: { id: 'b1' } });
    expect(await next).toEqual([{ data: { reviewAdded: { id: 'r1', seenBy: 's-42' } } }]);
  });

  it('to a subgraph that speaks GraphQL over SSE (SUBGRAPH_<NAME>_SUBSCRIPTIONS=sse): the same events, the caller signed in its headers', async () => {
    const f = await start({ SUBGRAPH_REVIEWS_SUBSCRIPTIONS: 'sse' });
    const results = f.client({ connectionParams: { headers: { 'x-seller-id': 's-42' } } }).iterate({ query: `subscription { reviewAdded(brandId: "b1") { id seenBy brand { name } } }` });
    const next = take(results, 2);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'x', brand: { id: 'b1' } });
    f.publish({ id: 'r2', body: 'y', brand: { id: 'b1' } });
    expect(await next).toEqual([
      { data: { reviewAdded: { id: 'r1', seenBy: 's-42', brand: { name: 'Brand One' } } } },
      { data: { reviewAdded: { id: 'r2', seenBy: 's-42', brand: { name: 'Brand One' } } } },
    ]);
    expect(f.reviews.subscriptions.map((s) => s.transport)).toEqual(['sse']);
    expect(f.reviews.openSockets()).toBe(0);
    await results.return?.();
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(0), { timeout: 10_000, interval: 5 });
  });
});

const metric = (f: SubscriptionFixture, line: string) => metricValue(f.gateway.url, line);

describe('bad input gets the protocol\'s error for that operation; the others carry on', () => {
  it('a mutation, an unknown field, a missing variable and one operation too many are refused; the good one still gets its event', async () => {
    const f = await start({ STREAMS_MAX_PER_CONNECTION: '2' });
    const client = f.client();
    const good = client.iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const next = take(good, 1);
    await subscribedUpstream(f, 'b1');
    const refusal = async (payload: { query: string; variables?: Record<string, unknown> }) => {
      try {
        for await (const result of client.iterate(payload)) return result;
      } catch (errors) {
        return errors;
      }
      return 'completed';
    };
    expect(await refusal({ query: 'mutation { nothing }' })).toEqual([{ message: 'Mutations are sent over HTTP (POST /graphql), not over a streaming transport', extensions: { code: 'BAD_REQUEST' } }]);
    expect(await refusal({ query: 'subscription { nope }' })).toEqual([expect.objectContaining({ message: 'Cannot query field "nope" on type "Subscription".' })]);
    expect(await refusal({ query: REVIEW_ADDED })).toEqual([expect.objectContaining({ message: expect.stringContaining('"$brandId" of required type "ID!" was not provided') })]);
    expect(await refusal({ query: '{ latestReview(brandId: "b1") { body } }' })).toEqual({ data: { latestReview: null } });
    // A second subscription is the connection's limit of 2 (with the good one); a third is refused.
    const second = client.iterate({ query: REVIEW_ADDED, variables: { brandId: 'b2' } });
    const secondNext = take(second, 1);
    await subscribedUpstream(f, 'b2');
    expect(await refusal({ query: REVIEW_ADDED, variables: { brandId: 'b1' } })).toEqual([expect.objectContaining({ message: expect.stringContaining('at most 2 subscriptions'), extensions: { code: 'TOO_MANY_STREAMS' } })]);
    f.publish({ id: 'r1', body: 'still here', brand: { id: 'b1' } });
    f.publish({ id: 'r2', body: 'and here', brand: { id: 'b2' } });
    expect((await next)[0]!.data).toEqual({ reviewAdded: { id: 'r1', body: 'still here', brand: { id: 'b1', name: 'Brand One' } } });
    expect((await secondNext)[0]!.data).toEqual({ reviewAdded: { id: 'r2', body: 'and here', brand: { id: 'b2', name: 'Brand Two' } } });
  });

  it('over SSE, a refusal is the stream\'s one event: @defer is served over HTTP only', async () => {
    const f = await start();
    const abort = new AbortController();
    const response = await fetch(f.gateway.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Q @live { latestReview(brandId: "b1") { body ... @defer { id: body } } }' }),
      signal: abort.signal,
    });
    const events = await sseEvents(response, 1, abort);
    expect(events[0]).toEqual({ event: 'next', data: { errors: [{ message: '@defer is served over HTTP (Accept: multipart/mixed), not over a streaming transport', extensions: { code: 'BAD_REQUEST' } }] } });
  });

  it('a subscription over plain HTTP is refused with 400 and where to send it', async () => {
    const f = await start();
    const response = await fetch(f.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: unknown[] }).errors).toEqual([expect.objectContaining({
      message: 'Subscriptions are served over WebSocket (graphql-ws) or Server-Sent Events (Accept: text/event-stream) at /graphql, not over plain HTTP.',
      extensions: expect.objectContaining({ code: 'BAD_REQUEST' }),
    })]);
    expect(f.listeners('b1')).toBe(0);
  });

  it('a malformed protocol message closes that connection with 4400; other connections carry on', async () => {
    const f = await start();
    const other = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const next = take(other, 1);
    await subscribedUpstream(f, 'b1');
    const { WebSocket } = await import('ws');
    const raw = new WebSocket(f.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => raw.once('message', resolve));
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.send('{"type":"subscribe","id":1,"payload":"not an object"}');
    expect(await closed).toBe(4400);
    f.publish({ id: 'r1', body: 'x', brand: { id: 'b1' } });
    expect((await next)[0]!.data).toEqual({ reviewAdded: { id: 'r1', body: 'x', brand: { id: 'b1', name: 'Brand One' } } });
  });

  it('a WebSocket that does not send connection_init in time is closed with 4408', async () => {
    const f = await start({ STREAMS_INIT_TIMEOUT_MS: '200' });
    const { WebSocket } = await import('ws');
    const raw = new WebSocket(f.wsUrl, 'graphql-transport-ws');
    const [code] = await new Promise<[number, string]>((resolve) => raw.once('close', (c, reason) => resolve([c, String(reason)])));
    expect(code).toBe(4408);
  });
});

describe('resilience', () => {
  it('a subgraph whose stream drops is subscribed to again, and events flow again', async () => {
    const f = await start({ SUBSCRIPTION_UPSTREAM_RETRY_MS: '10' });
    const results = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const before = take(results, 1);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'before', brand: { id: 'b1' } });
    expect((await before)[0]!.data?.reviewAdded).toEqual({ id: 'r1', body: 'before', brand: { id: 'b1', name: 'Brand One' } });
    f.reviews.dropSockets();
    await vi.waitFor(() => expect(f.reviews.subscriptions).toHaveLength(2), { timeout: 10_000, interval: 5 });
    await subscribedUpstream(f, 'b1');
    const after = take(results, 1);
    f.publish({ id: 'r2', body: 'after', brand: { id: 'b1' } });
    expect((await after)[0]!.data?.reviewAdded).toEqual({ id: 'r2', body: 'after', brand: { id: 'b1', name: 'Brand One' } });
  });

  it('a subgraph that stays away: the client is told, with SUBGRAPH_UNAVAILABLE', async () => {
    const f = await start({ SUBSCRIPTION_UPSTREAM_RETRIES: '1', SUBSCRIPTION_UPSTREAM_RETRY_MS: '10' });
    const results = f.client().iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const ended = results.next().then(() => 'no error', (errors: unknown) => errors);
    await subscribedUpstream(f, 'b1');
    await f.reviews.stop();
    expect(await ended).toEqual([expect.objectContaining({ message: expect.stringContaining('the subscription to subgraph reviews was lost'), extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'reviews' } })]);
  });

  it('a gateway restart: the client is told "going away" (1001), connects again and its subscription goes on', async () => {
    const f = await start();
    const closes: number[] = [];
    const results = f.client({ retryAttempts: 100, onClosed: (event) => closes.push((event as { code: number }).code) }).iterate({ query: REVIEW_ADDED, variables: { brandId: 'b1' } });
    const before = take(results, 1);
    await subscribedUpstream(f, 'b1');
    f.publish({ id: 'r1', body: 'before', brand: { id: 'b1' } });
    expect((await before)[0]!.data?.reviewAdded).toMatchObject({ body: 'before' });
    await f.restartGateway();
    await subscribedUpstream(f, 'b1');
    const after = take(results, 1);
    f.publish({ id: 'r2', body: 'after', brand: { id: 'b1' } });
    expect((await after)[0]!.data?.reviewAdded).toMatchObject({ body: 'after' });
    expect(closes[0]).toBe(1001);
  });

  it('SSE streams end with SHUTTING_DOWN when the gateway stops', async () => {
    const f = await start();
    const abort = new AbortController();
    const response = await fetch(f.gateway.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: REVIEW_ADDED, variables: { brandId: 'b1' } }),
      signal: abort.signal,
    });
    const events = sseEvents(response, 1, abort);
    await subscribedUpstream(f, 'b1');
    const stopped = f.gateway.stop();
    expect((await events)[0]).toEqual({ event: 'next', data: { errors: [expect.objectContaining({ extensions: { code: 'SHUTTING_DOWN' } })] } });
    await stopped;
    fixture = undefined;
    await Promise.all([f.reviews.stop(), f.brands.stop()]);
  });
});
