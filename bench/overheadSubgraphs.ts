/**
 * Scenarios 6 and 7's graph: the accounts / products / reviews / inventory shape that public federation gateway
 * benchmarks use, with in-memory data, no cache hints and no delay, so whatever a gateway spends is its own. Each
 * subgraph is a plain Apollo Server over `buildSubgraphSchema` that counts the requests it serves; scenario 6 uses
 * small data (an 8 KB answer), scenario 7 the public benchmarks' shape (publicBenchmarkData.ts, about 90 KB) with a
 * memoizing front (memoizingFront.ts) so a repeated request costs the subgraph next to nothing.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { startMemoizingFront, type MemoizingFront } from './memoizingFront.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])';

/**
 * Each subgraph's SDL: what it serves and what the supergraph is composed from (a gateway that composes for itself,
 * Grafbase, is given these files).
 */
export const OVERHEAD_SDL = {
  accounts: `${LINK}
    type Query { me: User users: [User] }
    type User @key(fields: "id") { id: ID! name: String username: String @shareable }`,
  products: `${LINK}
    type Query { topProducts(first: Int = 5): [Product] }
    type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }`,
  inventory: `${LINK}
    type Product @key(fields: "upc") {
      upc: String!
      weight: Int @external
      price: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }`,
  reviews: `${LINK}
    type Review @key(fields: "id") { id: ID! body: String author: User @provides(fields: "username") product: Product }
    type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
    type Product @key(fields: "upc") { upc: String! reviews: [Review] }`,
} as const;

export type OverheadSubgraphName = keyof typeof OVERHEAD_SDL;

export interface OverheadData {
  users: { id: string; name: string; username: string }[];
  products: { upc: string; name: string; price: number; weight: number }[];
  inventory: { upc: string; inStock: boolean }[];
  reviews: { id: string; authorID: string; product: { upc: string }; body: string }[];
  /** What `User.reviews` lists for a user. */
  reviewsOfUser(userId: string): OverheadData['reviews'];
}

const smallReviews: OverheadData['reviews'] = [
  { id: '1', authorID: '1', product: { upc: '1' }, body: 'Love it!' },
  { id: '2', authorID: '1', product: { upc: '2' }, body: 'Too expensive.' },
  { id: '3', authorID: '2', product: { upc: '3' }, body: 'Could be better.' },
  { id: '4', authorID: '2', product: { upc: '1' }, body: 'Prefer something else.' },
  { id: '5', authorID: '3', product: { upc: '4' }, body: 'Sleeps well.' },
  { id: '6', authorID: '4', product: { upc: '5' }, body: 'Bright enough.' },
  { id: '7', authorID: '3', product: { upc: '5' }, body: 'Nice colour.' },
];

/** Scenario 6's data: a handful of short records, an answer of about 8 KB. */
export const SMALL_DATA: OverheadData = {
  users: [
    { id: '1', name: 'Ada Lovelace', username: '@ada' },
    { id: '2', name: 'Alan Turing', username: '@complete' },
    { id: '3', name: 'Grace Hopper', username: '@grace' },
    { id: '4', name: 'Edsger Dijkstra', username: '@edsger' },
  ],
  products: [
    { upc: '1', name: 'Table', price: 899, weight: 100 },
    { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
    { upc: '3', name: 'Chair', price: 54, weight: 50 },
    { upc: '4', name: 'Bed', price: 1000, weight: 1200 },
    { upc: '5', name: 'Lamp', price: 60, weight: 5 },
  ],
  inventory: [
    { upc: '1', inStock: true }, { upc: '2', inStock: false }, { upc: '3', inStock: true },
    { upc: '4', inStock: false }, { upc: '5', inStock: true },
  ],
  reviews: smallReviews,
  reviewsOfUser: (userId) => smallReviews.filter((r) => r.authorID === userId),
};

function resolversFor(data: OverheadData) {
  const usernames = new Map(data.users.map((u) => [u.id, u.username]));
  const users = data.users;
  const products = data.products;
  const reviews = data.reviews;
  return {
    accounts: {
      Query: { me: () => users[0], users: () => users },
      User: { __resolveReference: (ref: { id: string }) => users.find((u) => u.id === ref.id) },
    },
    products: {
      Query: { topProducts: (_: unknown, args: { first: number }) => products.slice(0, args.first) },
      Product: { __resolveReference: (ref: { upc: string }) => products.find((p) => p.upc === ref.upc) },
    },
    inventory: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({ ...ref, ...data.inventory.find((i) => i.upc === ref.upc) }),
        // Free for cheap or light things, otherwise half the weight: needs price and weight from products (@requires).
        shippingEstimate: (p: { price?: number; weight?: number }) => ((p.price ?? 0) > 1000 ? 0 : Math.round((p.weight ?? 0) * 0.5)),
      },
    },
    reviews: {
      Review: {
        __resolveReference: (ref: { id: string }) => reviews.find((r) => r.id === ref.id),
        author: (r: { authorID: string }) => ({ __typename: 'User', id: r.authorID, username: usernames.get(r.authorID) }),
      },
      User: { reviews: (u: { id: string }) => data.reviewsOfUser(u.id) },
      Product: { reviews: (p: { upc: string }) => reviews.filter((r) => r.product.upc === p.upc) },
    },
  };
}

/** The operation the public benchmarks send: every subgraph, entity fetches three levels deep, a @requires. */
export const OVERHEAD_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } }
  topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }
}`;

export interface RunningOverheadSubgraphs {
  urls: Record<OverheadSubgraphName, string>;
  supergraphSdl: string;
  counts: Record<OverheadSubgraphName, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

export interface OverheadOptions {
  data: OverheadData;
  /** Put a memoizing front before each subgraph, so repeated requests are answered from memory at once. */
  memoize: boolean;
}

export async function startOverheadSubgraphs(options: OverheadOptions = { data: SMALL_DATA, memoize: false }): Promise<RunningOverheadSubgraphs> {
  const names = Object.keys(OVERHEAD_SDL) as OverheadSubgraphName[];
  const resolvers = resolversFor(options.data);
  const served = Object.fromEntries(names.map((n) => [n, 0])) as Record<OverheadSubgraphName, number>;
  const servers: ApolloServer[] = [];
  const fronts: Partial<Record<OverheadSubgraphName, MemoizingFront>> = {};
  const urls = {} as Record<OverheadSubgraphName, string>;
  for (const name of names) {
    const server = new ApolloServer({
      schema: buildSubgraphSchema({ typeDefs: parse(OVERHEAD_SDL[name]), resolvers: resolvers[name] as never }),
      plugins: [ApolloServerPluginInlineTraceDisabled(), { async requestDidStart() { served[name]++; } }],
    });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    servers.push(server);
    urls[name] = url.replace('localhost', '127.0.0.1');
    if (options.memoize) {
      fronts[name] = await startMemoizingFront(urls[name]);
      urls[name] = fronts[name].url;
    }
  }
  const composed = composeServices(names.map((name) => ({ name, url: urls[name], typeDefs: parse(OVERHEAD_SDL[name]) })));
  if (composed.errors) throw new Error(`overhead supergraph does not compose: ${composed.errors.map((e) => e.message).join('; ')}`);
  const counts = {} as Record<OverheadSubgraphName, number>;
  for (const name of names) {
    Object.defineProperty(counts, name, { enumerable: true, get: () => fronts[name]?.requests ?? served[name] });
  }
  return {
    urls,
    supergraphSdl: composed.supergraphSdl,
    counts,
    resetCounts() {
      for (const name of names) {
        served[name] = 0;
        if (fronts[name]) fronts[name].requests = 0;
      }
    },
    async stop() {
      await Promise.all(Object.values(fronts).map((f) => f.stop()));
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
