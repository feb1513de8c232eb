/**
 * A small supergraph of our own for the read-path tests: `shop` lists products (root fetches) and `brands` owns
 * Brand entities (entity fetches, @cacheControl max-age 60 unless told) and private Wishlist notes per caller. `brands` sits
 * behind a fault proxy, and `shop` can hold its answers until N requests are waiting, to make batching
 * deterministic.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/clock.js';
import { jsonLogger, type Logger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { startFaultProxy, type FaultProxy } from './faultProxy.js';
import { ManualClock } from './manualClock.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from './testSubgraph.js';
import { DEVELOPMENT_IDENTITY_ENV, signedCaller } from './signedIdentity.js';

const CACHE_CONTROL = `enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`;

const SHOP = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${CACHE_CONTROL}
  type Product @key(fields: "id") @cacheControl(maxAge: 120) { id: ID! title: String! brand: Brand @cacheControl(inheritMaxAge: true) note: Note @cacheControl(inheritMaxAge: true) }
  type Brand @key(fields: "id", resolvable: false) { id: ID! }
  type Note @key(fields: "id", resolvable: false) { id: ID! }
  type Query { products(ids: [ID!]!): [Product!]! @cacheControl(maxAge: 120) }
  "Buys a product: the answer shows it with its brand, which brands resolves."
  type Mutation { buy(id: ID!): Product! }`;

const brandsSdl = (brandMaxAgeSeconds: number) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${CACHE_CONTROL}
  type Brand @key(fields: "id") @cacheControl(maxAge: ${brandMaxAgeSeconds}) { id: ID! name: String! }
  "A private note: different for every caller."
  type Note @key(fields: "id") @cacheControl(maxAge: 60, scope: PRIVATE) { id: ID! text: String! }`;

export const PAGE = `query Page($ids: [ID!]!) { products(ids: $ids) { id title brand { id name } } }`;
export const NOTES = `query Notes($ids: [ID!]!) { products(ids: $ids) { id note { text } } }`;
export const BUY = `mutation Buy($id: ID!) { buy(id: $id) { id brand { id name } } }`;

/** Product p<n> is made by brand b<n % brandCount> (so pages share brands). */
export interface ReadPathFixture {
  gateway: RunningGateway;
  brands: FaultProxy;
  shop: FaultProxy;
  brandNames: Map<string, string>;
  /** Holds shop's answers until this many product queries wait, then answers them all at once. */
  holdShopUntil(count: number): void;
  /** Sends an operation; `signal` lets the test hang up before the answer (the promise then rejects). */
  query(query: string, variables: Record<string, unknown>, headers?: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; headers: Headers; body: any; ms: number }>;
  /** The value of one line of /metrics (name with labels), NaN when absent. */
  metric(name: string): Promise<number>;
  restartGateway(env?: Record<string, string>): Promise<void>;
  /** Another gateway on the same subgraphs and settings (plus `env`); the caller stops it. */
  startGateway(env?: Record<string, string>): Promise<RunningGateway>;
  /** The composed supergraph, for a gateway started as a process. */
  supergraphFile: string;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  brandCount?: number;
  brandMaxAgeSeconds?: number;
  /** The gateway's clock (a ManualClock in tests that move time by hand); the system clock when absent. */
  clock?: Clock;
  /** Where the gateway logs; silent when absent. */
  logger?: Logger;
}

export async function startReadPathFixture({ env = {}, brandCount = 5, brandMaxAgeSeconds = 60, clock, logger = jsonLogger('silent') }: FixtureOptions = {}): Promise<ReadPathFixture> {
  const brandNames = new Map(Array.from({ length: brandCount }, (_, i) => [`b${i}`, `Brand ${i}`]));
  let hold: { count: number; waiting: (() => void)[] } | null = null;
  const shopSubgraph: TestSubgraph = await startTestSubgraph('shop', SHOP, {
    Query: {
      products: async (_: unknown, { ids }: { ids: string[] }) => {
        if (hold) {
          const gate = hold;
          await new Promise<void>((resolve) => {
            gate.waiting.push(resolve);
            if (gate.waiting.length >= gate.count) {
              hold = null;
              for (const release of gate.waiting) release();
            }
          });
        }
        return ids.map((id) => ({ id, title: `Product ${id}`, brand: { id: `b${Number(id.slice(1)) % brandCount}` }, note: { id: `n${id}` } }));
      },
    },
    Mutation: {
      buy: (_: unknown, { id }: { id: string }) => ({ id, title: `Product ${id}`, brand: { id: `b${Number(id.slice(1)) % brandCount}` }, note: { id: `n${id}` } }),
    },
  });
  const brandsSubgraph = await startTestSubgraph('brands', brandsSdl(brandMaxAgeSeconds), {
    Brand: {
      __resolveReference: (ref: { id: string }) => (brandNames.has(ref.id) ? { id: ref.id, name: brandNames.get(ref.id) } : null),
    },
    Note: {
      __resolveReference: (ref: { id: string }, ctx: { headers: Record<string, string> }) => ({ id: ref.id, text: `note ${ref.id} for ${signedCaller(ctx.headers) ?? 'nobody'}` }),
    },
  });
  const brands = await startFaultProxy(brandsSubgraph.url);
  const shop = await startFaultProxy(shopSubgraph.url);
  const dir = await mkdtemp(join(tmpdir(), 'read-path-'));
  const supergraphFile = join(dir, 'supergraph.graphql');
  await writeFile(supergraphFile, composeTestSupergraph([{ ...shopSubgraph, url: shop.url }, { ...brandsSubgraph, url: brands.url }]));

  const start = (extra: Record<string, string>) =>
    startGateway(loadConfig({ PORT: '0', SUPERGRAPH: supergraphFile, ...DEVELOPMENT_IDENTITY_ENV, ...env, ...extra }), { logger, clock });
  const fixture: ReadPathFixture = {
    gateway: await start({}),
    brands,
    shop,
    brandNames,
    holdShopUntil(count) {
      hold = { count, waiting: [] };
    },
    async query(query, variables, headers = {}, signal) {
      const started = performance.now();
      const response = await fetch(fixture.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
        signal,
      });
      const body = await response.json();
      return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
    },
    async metric(name) {
      const text = await (await fetch(fixture.gateway.url.replace('/graphql', '/metrics'))).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.slice(name.length + 1)) : Number.NaN;
    },
    startGateway: (extra = {}) => start(extra),
    supergraphFile,
    async restartGateway(extra = {}) {
      await fixture.gateway.stop();
      fixture.gateway = await start(extra);
    },
    async stop() {
      await fixture.gateway.stop();
      await Promise.all([brands.stop(), shop.stop(), shopSubgraph.stop(), brandsSubgraph.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `p${from + i}`);

/**
 * For a test file whose tests each start a fixture on a ManualClock of their own (`start`; `clock()` is the current
 * test's). After each test the clock moves a minute on, so calls left running late end at their subgraph's timeout
 * (stopping waits for calls in flight), and the fixture stops.
 */
export function fixturePerTest(): { start(options?: FixtureOptions): Promise<ReadPathFixture>; clock(): ManualClock } {
  let fixture: ReadPathFixture | undefined;
  let clock: ManualClock | undefined;
  afterEach(async () => {
    clock?.advance(60_000);
    await fixture?.stop();
    fixture = undefined;
  });
  return {
    async start(options = {}) {
      clock = new ManualClock();
      return (fixture = await startReadPathFixture({ clock, ...options }));
    },
    clock: () => clock!,
  };
}
