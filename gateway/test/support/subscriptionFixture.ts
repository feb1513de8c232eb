/**
 * A small supergraph with a subscription, for the subscription and live-query tests: `reviews` owns the
 * subscription `reviewAdded(brandId)` (its events are published by the test) and `latestReview`, and knows brands by
 * id only; `brands` owns Brand names and logos (entities, max-age 60), so every event needs an `_entities` call to brands,
 * which the gateway makes through its read path. Both are real HTTP + graphql-ws servers on port 0.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/clock.js';
import { jsonLogger, type Logger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { PushIterator } from '../../src/subscriptions/sharedStreams.js';
import { startFaultProxy, type FaultProxy } from './faultProxy.js';
import { DEVELOPMENT_IDENTITY_ENV, signedCaller } from './signedIdentity.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from './testSubgraph.js';

const CACHE_CONTROL = `enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`;

const REVIEWS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${CACHE_CONTROL}
  type Review { id: ID! body: String! "Null when brands cannot say." brand: Brand "Who the subgraph was told is asking (the gateway's signed identity)." seenBy: String }
  type Brand @key(fields: "id", resolvable: false) { id: ID! }
  type Query { latestReview(brandId: ID!): Review @cacheControl(maxAge: 60) }
  type Subscription { reviewAdded(brandId: ID!): Review! }`;

const BRANDS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${CACHE_CONTROL}
  type Brand @key(fields: "id") @cacheControl(maxAge: 60) { id: ID! name: String! logoUrl: String! }`;

export const REVIEW_ADDED = `subscription ReviewAdded($brandId: ID!) { reviewAdded(brandId: $brandId) { id body brand { id name } } }`;
export const LIVE_LATEST = `query Latest($brandId: ID!) @live { latestReview(brandId: $brandId) { body brand { name } } }`;

interface Review {
  id: string;
  body: string;
  brand: { id: string };
}

export interface SubscriptionFixture {
  gateway: RunningGateway;
  reviews: TestSubgraph;
  brands: TestSubgraph;
  /** With `brandsProxy`: the fault proxy the gateway reaches brands through. */
  brandsProxy: FaultProxy | null;
  brandNames: Map<string, string>;
  latest: Map<string, Review>;
  /** Sends a review to every subscriber of its brand at the reviews subgraph. */
  publish(review: Review): void;
  /** Subscribers of a brand at the reviews subgraph now. */
  listeners(brandId: string): number;
  /** The brands `_entities` calls received so far, as the ids each asked for. */
  entityCalls(): string[][];
  /** A graphql-ws client of the gateway (closed by `stop`). */
  client(options?: { connectionParams?: Record<string, unknown>; retryAttempts?: number; onClosed?: (event: unknown) => void }): Client;
  /** The gateway's WebSocket URL. */
  wsUrl: string;
  restartGateway(): Promise<void>;
  supergraphFile: string;
  stop(): Promise<void>;
}

export async function startSubscriptionFixture(options: { env?: Record<string, string>; clock?: Clock; logger?: Logger; brandsProxy?: boolean } = {}): Promise<SubscriptionFixture> {
  const brandNames = new Map([['b1', 'Brand One'], ['b2', 'Brand Two']]);
  const latest = new Map<string, Review>();
  const listeners = new Map<string, Set<PushIterator<Review>>>();
  const reviews = await startTestSubgraph('reviews', REVIEWS, {
    Query: { latestReview: (_: unknown, { brandId }: { brandId: string }) => latest.get(brandId) ?? null },
    Review: { seenBy: (_: unknown, __: unknown, ctx: { headers: Record<string, string> }) => signedCaller(ctx.headers) },
    Subscription: {
      reviewAdded: {
        subscribe: (_: unknown, { brandId }: { brandId: string }) => {
          const set = listeners.get(brandId) ?? new Set();
          listeners.set(brandId, set);
          const events: PushIterator<Review> = new PushIterator(1_000, () => set.delete(events), () => undefined);
          set.add(events);
          return events;
        },
        resolve: (review: Review) => review,
      },
    },
  });
  const brands = await startTestSubgraph('brands', BRANDS, {
    Brand: { __resolveReference: (ref: { id: string }) => (brandNames.has(ref.id) ? { id: ref.id, name: brandNames.get(ref.id), logoUrl: `/logos/${ref.id}.png` } : null) },
  });
  const brandsProxy = options.brandsProxy ? await startFaultProxy(brands.url) : null;
  const dir = await mkdtemp(join(tmpdir(), 'subscriptions-'));
  const supergraphFile = join(dir, 'supergraph.graphql');
  await writeFile(supergraphFile, composeTestSupergraph([reviews, brands]));
  const start = (port = 0) => startGateway(loadConfig({ PORT: String(port), SUPERGRAPH: supergraphFile, INVALIDATION_SECRET: 'a-long-invalidation-secret', ...DEVELOPMENT_IDENTITY_ENV, ...(brandsProxy ? { SUBGRAPH_BRANDS_URL: brandsProxy.url } : {}), ...options.env }), {
    logger: options.logger ?? jsonLogger('silent'),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const clients: Client[] = [];
  let serving: Promise<void> = Promise.resolve();
  const fixture: SubscriptionFixture = {
    gateway: await start(),
    reviews,
    brands,
    brandsProxy,
    brandNames,
    latest,
    publish(review) {
      latest.set(review.brand.id, review);
      for (const events of listeners.get(review.brand.id) ?? []) events.push(review);
    },
    listeners: (brandId) => listeners.get(brandId)?.size ?? 0,
    entityCalls: () => brands.received.filter((r) => r.query.includes('_entities')).map((r) => (r.variables?.representations ?? []).map((x: { id: string }) => x.id)),
    get wsUrl() {
      return fixture.gateway.url.replace('http:', 'ws:');
    },
    client({ connectionParams, retryAttempts = 0, onClosed } = {}) {
      const client = createClient({
        url: fixture.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts,
        // A client that lost its connection tries again once the gateway serves (again): awaited, not timed.
        retryWait: () => serving,
        shouldRetry: () => true,
        ...(connectionParams ? { connectionParams } : {}),
        ...(onClosed ? { on: { closed: onClosed } } : {}),
      });
      clients.push(client);
      return client;
    },
    /** Stops the gateway and starts it again on the same port. */
    async restartGateway() {
      const { port } = fixture.gateway;
      const stopped = fixture.gateway.stop();
      const restarted = stopped.then(() => start(port));
      serving = restarted.then(() => undefined);
      fixture.gateway = await restarted;
    },
    supergraphFile,
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await fixture.gateway.stop();
      await Promise.all([reviews.stop(), brands.stop(), brandsProxy?.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The next `count` results of a graphql-ws subscription (then it is left running). */
export async function take<T = ExecutionResult>(results: AsyncIterator<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  while (taken.length < count) {
    const next = await results.next();
    if (next.done) throw new Error(`the stream ended after ${taken.length} of ${count} results`);
    taken.push(next.value);
  }
  return taken;
}
