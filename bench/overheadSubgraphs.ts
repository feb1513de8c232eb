/**
 * Scenario 6's graph: the accounts / products / reviews / inventory shape that public federation gateway benchmarks
 * use, with small in-memory data, no cache hints and no delay, so whatever a gateway spends is its own. Each
 * subgraph is a plain Apollo Server over `buildSubgraphSchema` that counts the requests it serves.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])';

const SDL = {
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

export type OverheadSubgraphName = keyof typeof SDL;

const users = [
  { id: '1', name: 'Ada Lovelace', username: '@ada' },
  { id: '2', name: 'Alan Turing', username: '@complete' },
  { id: '3', name: 'Grace Hopper', username: '@grace' },
  { id: '4', name: 'Edsger Dijkstra', username: '@edsger' },
];
const products = [
  { upc: '1', name: 'Table', price: 899, weight: 100 },
  { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
  { upc: '3', name: 'Chair', price: 54, weight: 50 },
  { upc: '4', name: 'Bed', price: 1000, weight: 1200 },
  { upc: '5', name: 'Lamp', price: 60, weight: 5 },
];
const inventory = [
  { upc: '1', inStock: true }, { upc: '2', inStock: false }, { upc: '3', inStock: true },
  { upc: '4', inStock: false }, { upc: '5', inStock: true },
];
const reviews = [
  { id: '1', authorID: '1', product: { upc: '1' }, body: 'Love it!' },
  { id: '2', authorID: '1', product: { upc: '2' }, body: 'Too expensive.' },
  { id: '3', authorID: '2', product: { upc: '3' }, body: 'Could be better.' },
  { id: '4', authorID: '2', product: { upc: '1' }, body: 'Prefer something else.' },
  { id: '5', authorID: '3', product: { upc: '4' }, body: 'Sleeps well.' },
  { id: '6', authorID: '4', product: { upc: '5' }, body: 'Bright enough.' },
  { id: '7', authorID: '3', product: { upc: '5' }, body: 'Nice colour.' },
];
const usernames = new Map(users.map((u) => [u.id, u.username]));

const RESOLVERS = {
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
      __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({ ...ref, ...inventory.find((i) => i.upc === ref.upc) }),
      // Free for cheap or light things, otherwise half the weight: needs price and weight from products (@requires).
      shippingEstimate: (p: { price?: number; weight?: number }) => ((p.price ?? 0) > 1000 ? 0 : Math.round((p.weight ?? 0) * 0.5)),
    },
  },
  reviews: {
    Review: {
      __resolveReference: (ref: { id: string }) => reviews.find((r) => r.id === ref.id),
      author: (r: { authorID: string }) => ({ __typename: 'User', id: r.authorID, username: usernames.get(r.authorID) }),
    },
    User: { reviews: (u: { id: string }) => reviews.filter((r) => r.authorID === u.id) },
    Product: { reviews: (p: { upc: string }) => reviews.filter((r) => r.product.upc === p.upc) },
  },
};

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

export async function startOverheadSubgraphs(): Promise<RunningOverheadSubgraphs> {
  const names = Object.keys(SDL) as OverheadSubgraphName[];
  const counts = Object.fromEntries(names.map((n) => [n, 0])) as Record<OverheadSubgraphName, number>;
  const servers: ApolloServer[] = [];
  const urls = {} as Record<OverheadSubgraphName, string>;
  for (const name of names) {
    const server = new ApolloServer({
      schema: buildSubgraphSchema({ typeDefs: parse(SDL[name]), resolvers: RESOLVERS[name] as never }),
      plugins: [{ async requestDidStart() { counts[name]++; } }],
    });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    servers.push(server);
    urls[name] = url.replace('localhost', '127.0.0.1');
  }
  const composed = composeServices(names.map((name) => ({ name, url: urls[name], typeDefs: parse(SDL[name]) })));
  if (composed.errors) throw new Error(`overhead supergraph does not compose: ${composed.errors.map((e) => e.message).join('; ')}`);
  return {
    urls,
    supergraphSdl: composed.supergraphSdl,
    counts,
    resetCounts() {
      for (const name of names) counts[name] = 0;
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
