/**
 * Small supergraphs of our own for the differential tests against stock @apollo/gateway: each one exercises a part
 * of federation the hybrid data source must not change (@requires/@external, @provides, interfaces and unions
 * across subgraphs, @interfaceObject, entities returned as null or with errors, one entity reached through several
 * paths). Subgraphs are real Apollo subgraphs on port 0; every type carries a @cacheControl hint so that, with the
 * entity cache on, warm runs really are served from the cache. Data is deterministic unless a fixture exposes a
 * switch (`switches`) that a test flips on purpose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from './testSubgraph.js';
import { signedCaller } from './signedIdentity.js';

export interface FixtureOperation {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

export interface RunningFixture {
  subgraphs: TestSubgraph[];
  supergraphSdl: string;
  /** Live data switches a test may flip (see each fixture). */
  switches: Record<string, boolean>;
  stop(): Promise<void>;
}

export interface SupergraphFixture {
  name: string;
  operations: FixtureOperation[];
  start(): Promise<RunningFixture>;
}

const CACHE_CONTROL = `enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`;

const link = (...imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports.map((i) => `"${i}"`).join(', ')}])\n${CACHE_CONTROL}\n`;

const MAX_AGE = '@cacheControl(maxAge: 60)';

/** `failingIds`: the subgraph sits behind an EntityErrorProxy that fails these entity ids. */
async function startAll(
  definitions: { name: string; sdl: string; resolvers: any; failingIds?: string[] }[],
  switches: Record<string, boolean> = {},
): Promise<RunningFixture> {
  const subgraphs: TestSubgraph[] = [];
  const proxies: EntityErrorProxy[] = [];
  const stopAll = async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(subgraphs.map((s) => s.stop()));
  };
  try {
    const composed: { name: string; url: string; sdl: string }[] = [];
    for (const d of definitions) {
      const subgraph = await startTestSubgraph(d.name, d.sdl, d.resolvers);
      subgraphs.push(subgraph);
      let url = subgraph.url;
      if (d.failingIds) {
        const proxy = await startEntityErrorProxy(subgraph.url);
        proxies.push(proxy);
        for (const id of d.failingIds) proxy.failingClientIds.add(id);
        url = proxy.url;
      }
      composed.push({ name: d.name, url, sdl: d.sdl });
    }
    return { subgraphs, supergraphSdl: composeTestSupergraph(composed), switches, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * A real HTTP hop that answers like the subgraph behind it, except that every representation whose `id` is in
 * `failingClientIds` comes back null with an error at `["_entities", i]` (what a subgraph that fails some entities
 * sends, and what @apollo/subgraph itself never does: a throwing __resolveReference fails the whole list).
 */
export interface EntityErrorProxy {
  url: string;
  failingClientIds: Set<string>;
  stop(): Promise<void>;
}

export async function startEntityErrorProxy(targetUrl: string): Promise<EntityErrorProxy> {
  const failingClientIds = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    try {
      const upstream = await fetch(targetUrl, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      const outHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, key) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(key)) outHeaders[key] = value;
      });
      let answer = await upstream.text();
      const representations: { id?: string }[] | undefined = JSON.parse(body.toString('utf8') || '{}')?.variables?.representations;
      const failing = (representations ?? []).flatMap((r, i) => (r.id && failingClientIds.has(r.id) ? [i] : []));
      if (failing.length > 0 && upstream.status === 200) {
        const parsed = JSON.parse(answer);
        if (Array.isArray(parsed.data?._entities)) {
          for (const i of failing) parsed.data._entities[i] = null;
          parsed.errors = [
            ...(parsed.errors ?? []),
            ...failing.map((i) => ({ message: `client ${representations![i]!.id} is unavailable`, path: ['_entities', i], extensions: { code: 'CLIENT_UNAVAILABLE' } })),
          ];
          answer = JSON.stringify(parsed);
          // What Apollo Server itself says about a response with errors.
          outHeaders['cache-control'] = 'no-store';
          delete outHeaders.etag;
        }
      }
      res.writeHead(upstream.status, { ...outHeaders, 'content-length': String(Buffer.byteLength(answer)) });
      res.end(answer);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    failingClientIds,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const coded = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

// (a) @requires / @external: inventory computes shipping from products' price and weight.
const PRODUCTS = [
  { upc: 'p1', name: 'Table', price: 899, weight: 100 },
  { upc: 'p2', name: 'Couch', price: 1299, weight: 1000 },
  { upc: 'p3', name: 'Chair', price: 54, weight: 50 },
  { upc: 'p4', name: 'Mystery box', price: 10, weight: null },
  { upc: 'p5', name: 'Gift card', price: 0, weight: 0 },
];
const REVIEWS = [
  { id: 'r1', body: 'Love it', upc: 'p1' },
  { id: 'r2', body: 'Too heavy', upc: 'p2' },
  { id: 'r3', body: 'What is in it?', upc: 'p4' },
  { id: 'r4', body: 'Still love it', upc: 'p1' },
  { id: 'r5', body: 'Unknown product', upc: 'p-gone' },
];

export const requiresFixture: SupergraphFixture = {
  name: 'requires-external',
  operations: [
    {
      name: 'shipping needs price and weight, one weight unknown',
      query: `query ShippingForTopProducts($first: Int) { topProducts(first: $first) { upc name price weight inStock shippingEstimate } }`,
      variables: { first: 5 },
    },
    { name: 'required fields not selected by the client', query: `{ topProducts { upc shippingEstimate } }` },
    { name: 'non-null required field null bubbles to the list item', query: `{ topProducts { upc name shippingClass } }` },
    {
      name: 'same products through reviews, back to reviews',
      query: `query ReviewsToShipping { reviews { id body product { upc name shippingEstimate reviews { id } } } }`,
    },
  ],
  start: () =>
    startAll([
      {
        name: 'products',
        sdl: `${link('@key')}
          type Product @key(fields: "upc") ${MAX_AGE} { upc: String! name: String price: Int weight: Int }
          type Query { topProducts(first: Int = 5): [Product] product(upc: String!): Product }`,
        resolvers: {
          Query: {
            topProducts: (_: unknown, { first }: { first: number }) => PRODUCTS.slice(0, first),
            product: (_: unknown, { upc }: { upc: string }) => PRODUCTS.find((p) => p.upc === upc) ?? null,
          },
          Product: { __resolveReference: (ref: { upc: string }) => PRODUCTS.find((p) => p.upc === ref.upc) ?? null },
        },
      },
      {
        name: 'inventory',
        sdl: `${link('@key', '@external', '@requires')}
          type Product @key(fields: "upc") ${MAX_AGE} {
            upc: String! weight: Int @external price: Int @external inStock: Boolean
            shippingEstimate: Int @requires(fields: "price weight")
            shippingClass: String! @requires(fields: "weight")
          }`,
        resolvers: {
          Product: {
            __resolveReference: (ref: any) => ({ ...ref, inStock: ref.upc !== 'p3' }),
            shippingEstimate: (p: { upc: string; price: number | null; weight: number | null }) => {
              if (p.weight === null || p.weight === undefined) throw coded(`weight of ${p.upc} is unknown`, 'WEIGHT_UNKNOWN');
              return (p.price ?? 0) > 1000 ? 0 : Math.round(p.weight / 2);
            },
            shippingClass: (p: { weight: number | null }) => (p.weight === null ? null : p.weight > 500 ? 'freight' : 'parcel'),
          },
        },
      },
      {
        name: 'reviews',
        sdl: `${link('@key')}
          type Review ${MAX_AGE} { id: ID! body: String! product: Product }
          type Product @key(fields: "upc") ${MAX_AGE} { upc: String! reviews: [Review] }
          type Query { reviews: [Review] }`,
        resolvers: {
          Query: { reviews: () => REVIEWS },
          Review: { product: (r: { upc: string }) => ({ upc: r.upc }) },
          Product: {
            __resolveReference: (ref: { upc: string }) => ref,
            reviews: (p: { upc: string }) => REVIEWS.filter((r) => r.upc === p.upc),
          },
        },
      },
    ]),
};

// (b) @provides: reviews can give an author's username without asking accounts.
const USERS = [
  { id: 'u1', username: '@ada', name: 'Ada Lovelace', birthYear: 1815 },
  { id: 'u2', username: '@alan', name: 'Alan Turing', birthYear: 1912 },
  { id: 'u3', username: '@grace', name: 'Grace Hopper', birthYear: 1906 },
];
const LATEST = [
  { id: 'l1', body: 'First!', author: 'u1', editor: 'u2' },
  { id: 'l2', body: 'Second', author: 'u2', editor: 'u2' },
  { id: 'l3', body: 'Third', author: 'u1', editor: 'u3' },
  { id: 'l4', body: 'Orphan', author: 'u-gone', editor: 'u-gone' },
];
const userById = (id: string) => USERS.find((u) => u.id === id) ?? null;

export const providesFixture: SupergraphFixture = {
  name: 'provides',
  operations: [
    { name: 'provided field only (one fetch)', query: `{ latestReviews { body author { username } } }` },
    {
      name: 'provided and non-provided fields, unprovided path',
      query: `query Mixed { latestReviews { id body author { id username name } editor { username birthYear } } }`,
    },
    { name: 'back and forth between subgraphs', query: `query Me { me { name reviews { body author { id username birthYear } } } }` },
    {
      // Names Object.prototype has, as aliases: each must come back as a plain key, on every path.
      name: 'aliases named like Object.prototype properties',
      query: `{ latestReviews { constructor: id toString: body author { __proto__: username valueOf: name hasOwnProperty: id } } }`,
    },
    {
      // Introspection beside data: the compiled executor leaves such an operation to stock's, whole.
      name: 'introspection beside data',
      query: `{ __typename latestReviews { body } __type(name: "Review") { name fields { name } } }`,
    },
  ],
  start: () =>
    startAll([
      {
        name: 'accounts',
        sdl: `${link('@key', '@shareable')}
          type User @key(fields: "id") ${MAX_AGE} { id: ID! username: String! @shareable name: String birthYear: Int }
          type Query { me: User }`,
        resolvers: {
          Query: { me: () => USERS[0] },
          User: { __resolveReference: (ref: { id: string }) => userById(ref.id) },
        },
      },
      {
        name: 'reviews',
        sdl: `${link('@key', '@external', '@provides')}
          type Review ${MAX_AGE} { id: ID! body: String author: User @provides(fields: "username") editor: User }
          type User @key(fields: "id") ${MAX_AGE} { id: ID! username: String! @external reviews: [Review] }
          type Query { latestReviews: [Review] }`,
        resolvers: {
          Query: { latestReviews: () => LATEST },
          Review: {
            author: (r: { author: string }) => ({ id: r.author, username: userById(r.author)?.username ?? '@unknown' }),
            editor: (r: { editor: string }) => ({ id: r.editor }),
          },
          User: {
            __resolveReference: (ref: { id: string }) => ref,
            reviews: (u: { id: string }) => LATEST.filter((r) => r.author === u.id),
          },
        },
      },
    ]),
};

// (c) Interfaces and unions whose members are entities of several subgraphs; some members are skipped.
const MEDIA = [
  { __typename: 'Book', id: 'b1', title: 'Dune', pages: 412 },
  { __typename: 'Podcast', id: 'pod1', title: 'Talk', host: 'Sam' },
  { __typename: 'Movie', id: 'm1', title: 'Alien', minutes: 117 },
  { __typename: 'Movie', id: 'm2', title: 'Brazil', minutes: 142 },
  { __typename: 'Book', id: 'b2', title: 'Emma', pages: 474 },
  { __typename: 'Movie', id: 'm3', title: 'Heat', minutes: 170 },
];
const mediaById = (id: string) => MEDIA.find((m) => m.id === id) ?? null;
const RECOMMENDED: Record<string, { __typename: string; id: string }[]> = {
  b1: [{ __typename: 'Movie', id: 'm2' }, { __typename: 'Book', id: 'b2' }, { __typename: 'Movie', id: 'm1' }],
  b2: [{ __typename: 'Book', id: 'b1' }, { __typename: 'Movie', id: 'm2' }],
};

export const abstractTypesFixture: SupergraphFixture = {
  name: 'interfaces-unions',
  operations: [
    {
      name: 'interface list, ratings from another subgraph, one rating fails',
      query: `{ feed { __typename id title ... on Book { pages rating } ... on Movie { rating } } }`,
    },
    { name: 'interface list with books and podcasts skipped', query: `{ feed { id ... on Movie { minutes rating } } }` },
    {
      name: 'union search with variables and skipped members',
      query: `query Search($term: String!) { search(term: $term) { __typename ... on Book { title rating } ... on Podcast { host } } }`,
      variables: { term: 'e' },
    },
    {
      name: 'union returned by _entities, then resolved again',
      query: `{ feed { ... on Book { id recommended { __typename ... on Movie { id title rating } ... on Book { title } } } } }`,
    },
  ],
  start: () =>
    startAll([
      {
        name: 'media',
        sdl: `${link('@key')}
          interface Media ${MAX_AGE} { id: ID! title: String! }
          type Book implements Media @key(fields: "id") ${MAX_AGE} { id: ID! title: String! pages: Int }
          type Movie implements Media @key(fields: "id") ${MAX_AGE} { id: ID! title: String! minutes: Int }
          type Podcast implements Media ${MAX_AGE} { id: ID! title: String! host: String }
          union SearchResult ${MAX_AGE} = Book | Movie | Podcast
          type Query { feed: [Media] search(term: String!): [SearchResult] }`,
        resolvers: {
          Query: {
            feed: () => MEDIA,
            search: (_: unknown, { term }: { term: string }) => MEDIA.filter((m) => m.title.toLowerCase().includes(term)),
          },
          Media: { __resolveType: (m: { __typename: string }) => m.__typename },
          SearchResult: { __resolveType: (m: { __typename: string }) => m.__typename },
          Book: { __resolveReference: (ref: { id: string }) => mediaById(ref.id) },
          Movie: { __resolveReference: (ref: { id: string }) => mediaById(ref.id) },
        },
      },
      {
        name: 'ratings',
        sdl: `${link('@key')}
          type Book @key(fields: "id") ${MAX_AGE} { id: ID! rating: Float recommended: [Recommendation] }
          type Movie @key(fields: "id") ${MAX_AGE} { id: ID! rating: Float }
          union Recommendation ${MAX_AGE} = Book | Movie`,
        resolvers: {
          Recommendation: { __resolveType: (m: { __typename: string }) => m.__typename },
          Book: {
            __resolveReference: (ref: { id: string }) => ref,
            rating: (b: { id: string }) => (b.id === 'b1' ? 4.5 : 3.9),
            recommended: (b: { id: string }) => RECOMMENDED[b.id] ?? [],
          },
          Movie: {
            __resolveReference: (ref: { id: string }) => ref,
            rating: (m: { id: string }) => {
              if (m.id === 'm2') throw coded(`rating of ${m.id} is under embargo`, 'EMBARGOED');
              return m.id === 'm1' ? 4.8 : 4.1;
            },
          },
        },
      },
    ]),
};

// (d) @interfaceObject: pricing sees every Item as one type; catalog knows the implementations.
const ITEMS = [
  { __typename: 'Shoe', id: 's1', name: 'Runner', size: 42 },
  { __typename: 'Hat', id: 'h1', name: 'Fedora', color: 'grey' },
  { __typename: 'Hat', id: 'h2', name: 'Beret', color: 'red' },
  { __typename: 'Shoe', id: 's2', name: 'Boot', size: 44 },
];
const itemById = (id: string) => ITEMS.find((i) => i.id === id) ?? null;
const PRICES: Record<string, number> = { s1: 120, h1: 40, h2: 25, s2: 180 };

export const interfaceObjectFixture: SupergraphFixture = {
  name: 'interface-object',
  operations: [
    { name: 'interface list with fields from the interface object, one price fails', query: `{ items { id name price ... on Shoe { size } } }` },
    {
      name: 'interface object root list resolved to concrete types through _entities',
      query: `{ cheapest { __typename id price name ... on Hat { color } } }`,
    },
    {
      name: 'variables on an interface object field',
      query: `query Discount($id: ID!, $percent: Int!) { item(id: $id) { __typename name discounted(percent: $percent) } }`,
      variables: { id: 's1', percent: 10 },
    },
  ],
  start: () =>
    startAll([
      {
        name: 'catalog',
        sdl: `${link('@key')}
          interface Item @key(fields: "id") ${MAX_AGE} { id: ID! name: String! }
          type Shoe implements Item @key(fields: "id") ${MAX_AGE} { id: ID! name: String! size: Int }
          type Hat implements Item @key(fields: "id") ${MAX_AGE} { id: ID! name: String! color: String }
          type Query { items: [Item] item(id: ID!): Item }`,
        resolvers: {
          Query: { items: () => ITEMS, item: (_: unknown, { id }: { id: string }) => itemById(id) },
          Item: {
            __resolveType: (i: { __typename: string }) => i.__typename,
            __resolveReference: (ref: { id: string }) => itemById(ref.id),
          },
          Shoe: { __resolveReference: (ref: { id: string }) => itemById(ref.id) },
          Hat: { __resolveReference: (ref: { id: string }) => itemById(ref.id) },
        },
      },
      {
        name: 'pricing',
        sdl: `${link('@key', '@interfaceObject')}
          type Item @key(fields: "id") @interfaceObject ${MAX_AGE} { id: ID! price: Int discounted(percent: Int!): Int }
          type Query { cheapest: [Item] }`,
        resolvers: {
          Query: { cheapest: () => [{ id: 'h2' }, { id: 'x-unknown' }, { id: 'h1' }, { id: 's1' }] },
          Item: {
            __resolveReference: (ref: { id: string }) => ref,
            price: (i: { id: string }) => {
              if (i.id === 'h2') throw coded(`no price for ${i.id}`, 'PRICE_MISSING');
              return PRICES[i.id] ?? null;
            },
            discounted: (i: { id: string }, { percent }: { percent: number }) => Math.round((PRICES[i.id] ?? 0) * (100 - percent) / 100),
          },
        },
      },
    ]),
};

// (e) Entities returned as null, with errors on some _entities indexes (c9: customers sits behind a proxy that fails
// it with an error at ["_entities", i]; the others fail inside Apollo), a subgraph whose every entity throws, a
// failing root field. `presence` sends no cache hint at all (nothing of it may be cached). Switch `c1Fails`:
// customers and presence start refusing c1 (for tests that change data between runs).
const ORDERS = [
  { id: 'o1', customer: 'c1', backup: 'c2' },
  { id: 'o2', customer: 'c-missing', backup: 'c2' },
  { id: 'o3', customer: 'c-throw', backup: 'c-throw' },
  { id: 'o4', customer: 'c-private', backup: 'c2' },
  { id: 'o5', customer: 'c-broken', backup: 'c2' },
  { id: 'o6', customer: 'c1', backup: 'c-missing' },
  { id: 'o7', customer: null, backup: 'c2' },
  { id: 'o8', customer: 'c9', backup: 'c2' },
  { id: 'o9', customer: 'c9', backup: 'c9' },
];
const CUSTOMERS: Record<string, { id: string; name: string; email: string; vip: boolean | null }> = {
  c1: { id: 'c1', name: 'Acme', email: 'acme@example.test', vip: true },
  c2: { id: 'c2', name: 'Globex', email: 'globex@example.test', vip: false },
  'c-private': { id: 'c-private', name: 'Initech', email: 'hidden', vip: false },
  'c-broken': { id: 'c-broken', name: 'Umbrella', email: 'u@example.test', vip: null },
  c9: { id: 'c9', name: 'Hooli', email: 'hooli@example.test', vip: true },
};

export const entityErrorsFixture: SupergraphFixture = {
  name: 'null-and-failing-entities',
  operations: [
    { name: 'null entity, entity error, field error, non-null violation, duplicate', query: `{ orders { id customer { id name email vip } } }` },
    {
      name: 'errors at ["_entities", i] and below, null entity, duplicates, mapped to their list items',
      query: `{ recentOrders { id customer { id name email vip } } }`,
    },
    { name: 'a subgraph that throws for every entity', query: `{ orders { id customer { name points } } }` },
    { name: 'non-null entity field bubbles to the list item', query: `{ orders { id backupCustomer { name vip } } }` },
    { name: 'failing root field beside a working one', query: `{ brokenOrders { id } orders { id customer { name } } }` },
    {
      name: 'non-null root field with a non-null violation below',
      query: `query One($id: ID!) { order(id: $id) { id customer { name vip } } }`,
      variables: { id: 'o5' },
    },
  ],
  start: () => {
    const switches = { c1Fails: false };
    return startAll(
      [
        {
          name: 'orders',
          sdl: `${link('@key')}
            type Order ${MAX_AGE} { id: ID! customer: Customer backupCustomer: Customer! }
            type Customer @key(fields: "id", resolvable: false) ${MAX_AGE} { id: ID! }
            type Query { orders: [Order] recentOrders: [Order] brokenOrders: [Order] order(id: ID!): Order! }`,
          resolvers: {
            Query: {
              orders: () => ORDERS,
              // No c-throw here: a throwing __resolveReference fails the whole _entities list in @apollo/subgraph.
              recentOrders: () => ORDERS.filter((o) => o.customer !== 'c-throw'),
              brokenOrders: () => {
                throw coded('orders archive is unavailable', 'ARCHIVE_DOWN');
              },
              order: (_: unknown, { id }: { id: string }) => ORDERS.find((o) => o.id === id),
            },
            Order: {
              customer: (o: { customer: string | null }) => (o.customer ? { id: o.customer } : null),
              backupCustomer: (o: { backup: string }) => ({ id: o.backup }),
            },
          },
        },
        {
          name: 'customers',
          failingIds: ['c9'],
          sdl: `${link('@key')}
            type Customer @key(fields: "id") ${MAX_AGE} { id: ID! name: String email: String vip: Boolean! }`,
          resolvers: {
            Customer: {
              __resolveReference: (ref: { id: string }) => {
                if (ref.id === 'c-throw' || (ref.id === 'c1' && switches.c1Fails)) throw coded(`customer ${ref.id} is locked`, 'CUSTOMER_LOCKED');
                return CUSTOMERS[ref.id] ?? null;
              },
              email: (c: { id: string; email: string }) => {
                if (c.id === 'c-private') throw coded('email is private', 'FORBIDDEN');
                return c.email;
              },
            },
          },
        },
        {
          name: 'presence',
          sdl: `${link('@key')}
            type Customer @key(fields: "id") { id: ID! online: Boolean }`,
          resolvers: {
            Customer: {
              __resolveReference: (ref: { id: string }) => {
                if (ref.id === 'c1' && switches.c1Fails) throw coded(`presence of ${ref.id} is unknown`, 'PRESENCE_UNKNOWN');
                return { id: ref.id, online: ref.id === 'c1' || ref.id === 'c2' };
              },
            },
          },
        },
        {
          name: 'loyalty',
          sdl: `${link('@key')}
            type Customer @key(fields: "id") ${MAX_AGE} { id: ID! points: Int }`,
          resolvers: {
            Customer: {
              __resolveReference: () => {
                throw new Error('loyalty ledger exploded');
              },
            },
          },
        },
      ],
      switches,
    );
  },
};

// (f) The same entity reached through several paths of one operation: aliases, fragments, variables,
// @skip/@include, __typename, lists of lists, duplicate representations.
const POSTS = [
  { id: 'p1', title: 'Hello', author: 'u1', coAuthors: ['u2', 'u1', 'u-bad'], comments: [['k1', 'u2'], ['k2', 'u-bad'], ['k3', 'u-ghost'], ['k4', 'u1']] },
  { id: 'p2', title: 'Again', author: 'u-bad', coAuthors: ['u1'], comments: [] },
  { id: 'p3', title: 'Ghost', author: 'u-ghost', coAuthors: [], comments: [['k5', 'u1']] },
];
const PEOPLE: Record<string, { id: string; name: string; handle: string }> = {
  u1: { id: 'u1', name: 'Uma', handle: 'uma' },
  u2: { id: 'u2', name: 'Vic', handle: 'vic' },
  'u-bad': { id: 'u-bad', name: 'Bea', handle: 'bea' },
};

export const severalPathsFixture: SupergraphFixture = {
  name: 'several-paths',
  operations: [
    {
      name: 'one person through author, co-authors, comments and an alias, all directives on',
      query: `query SeveralPaths($size: Int!, $withComments: Boolean!, $skipCo: Boolean!) {
        posts { __typename id title writer: author { ...PersonBits } coAuthors @skip(if: $skipCo) { ...PersonBits small: avatar(size: 16) }
          comments @include(if: $withComments) { id author { __typename id name } } }
        again: posts { id author { name } }
      }
      fragment PersonBits on Person { __typename id name big: avatar(size: $size) }`,
      variables: { size: 128, withComments: true, skipCo: false },
    },
    {
      name: 'same operation with directives off',
      query: `query SeveralPaths($size: Int!, $withComments: Boolean!, $skipCo: Boolean!) {
        posts { __typename id title writer: author { ...PersonBits } coAuthors @skip(if: $skipCo) { ...PersonBits small: avatar(size: 16) }
          comments @include(if: $withComments) { id author { __typename id name } } }
        again: posts { id author { name } }
      }
      fragment PersonBits on Person { __typename id name big: avatar(size: $size) }`,
      variables: { size: 32, withComments: false, skipCo: true },
    },
    { name: 'lists of lists', query: `{ authorGrid { id name handle } }` },
    { name: '__typename alone and on a root list', query: `{ __typename posts { __typename } }` },
    {
      name: 'mutation whose result needs entities, one with a non-null violation',
      query: `mutation Like($id: ID!) { likePost(id: $id) { id title author { name handle } coAuthors { name } } }`,
      variables: { id: 'p2' },
    },
    {
      name: 'one root field twice under aliases, different selections',
      query: `{ a: post(id: "p1") { author { name } } b: post(id: "p1") { author { name avatar handle } coAuthors { id handle } } }`,
    },
  ],
  start: () =>
    startAll([
      {
        name: 'posts',
        sdl: `${link('@key')}
          type Post @key(fields: "id") ${MAX_AGE} { id: ID! title: String! author: Person coAuthors: [Person] comments: [Comment] }
          type Comment ${MAX_AGE} { id: ID! author: Person }
          type Person @key(fields: "id", resolvable: false) ${MAX_AGE} { id: ID! }
          type Query { posts: [Post] authorGrid: [[Person]] post(id: ID!): Post }
          "Idempotent on purpose, so every gateway and every run sees the same answer."
          type Mutation { likePost(id: ID!): Post }`,
        resolvers: {
          Query: {
            posts: () => POSTS,
            post: (_: unknown, { id }: { id: string }) => POSTS.find((p) => p.id === id) ?? null,
            authorGrid: () => [[{ id: 'u1' }, { id: 'u2' }], [{ id: 'u-bad' }, null, { id: 'u1' }], [], [{ id: 'u-ghost' }]],
          },
          Mutation: { likePost: (_: unknown, { id }: { id: string }) => POSTS.find((p) => p.id === id) ?? null },
          Post: {
            // A plan with @defer fetches a post's deferred fields as entities.
            __resolveReference: (ref: { id: string }) => POSTS.find((p) => p.id === ref.id) ?? null,
            author: (p: { author: string }) => ({ id: p.author }),
            coAuthors: (p: { coAuthors: string[] }) => p.coAuthors.map((id) => ({ id })),
            comments: (p: { comments: [string, string][] }) => p.comments.map(([id, author]) => ({ id, author: { id: author } })),
          },
        },
      },
      {
        name: 'people',
        sdl: `${link('@key')}
          type Person @key(fields: "id") ${MAX_AGE} { id: ID! name: String avatar(size: Int = 64): String handle: String! }`,
        resolvers: {
          Person: {
            __resolveReference: (ref: { id: string }) => PEOPLE[ref.id] ?? null,
            avatar: (p: { id: string }, { size }: { size: number }) => {
              if (p.id === 'u-bad') throw coded(`avatar of ${p.id} is being moderated`, 'MODERATED');
              return `https://img.example.test/${p.id}/${size}.png`;
            },
            handle: (p: { id: string; handle: string }) => (p.id === 'u-bad' ? null : p.handle),
          },
        },
      },
    ]),
};

// (g) Entities with nested entity references, cached on their own: `feed` lists post references (no cache hint, so
// the root list is never cached), `posts` owns Post (max-age 60) with a nested author, `people` sends no cache hint
// (nothing of it may be cached) and takes a variable. Switch `peopleFail`: people fails every Person.
const TIMELINE_POSTS: Record<string, { id: string; title: string; author: string }> = {
  t1: { id: 't1', title: 'Launch', author: 'a1' },
  t2: { id: 't2', title: 'Update', author: 'a2' },
  t3: { id: 't3', title: 'Recap', author: 'a1' },
};
const AUTHORS: Record<string, string> = { a1: 'Ines', a2: 'Jo' };

export const nestedEntitiesFixture: SupergraphFixture = {
  name: 'nested-entities',
  operations: [
    {
      name: 'cached entities with nested references, variable below',
      query: `query Timeline($size: Int!) { timeline { id title author { id name avatar(size: $size) } } }`,
      variables: { size: 16 },
    },
    {
      name: 'same operation, other variables',
      query: `query Timeline($size: Int!) { timeline { id title author { id name avatar(size: $size) } } }`,
      variables: { size: 64 },
    },
  ],
  start: () => {
    const switches = { peopleFail: false };
    return startAll(
      [
        {
          name: 'feed',
          sdl: `${link('@key')}
            type Post @key(fields: "id", resolvable: false) { id: ID! }
            type Query { timeline: [Post] }`,
          resolvers: { Query: { timeline: () => Object.keys(TIMELINE_POSTS).map((id) => ({ id })) } },
        },
        {
          name: 'posts',
          sdl: `${link('@key')}
            type Post @key(fields: "id") ${MAX_AGE} { id: ID! title: String author: Person }
            type Person @key(fields: "id", resolvable: false) ${MAX_AGE} { id: ID! }`,
          resolvers: {
            Post: {
              __resolveReference: (ref: { id: string }) => TIMELINE_POSTS[ref.id] ?? null,
              author: (p: { author: string }) => ({ id: p.author }),
            },
          },
        },
        {
          name: 'people',
          sdl: `${link('@key')}
            type Person @key(fields: "id") { id: ID! name: String avatar(size: Int!): String }`,
          resolvers: {
            Person: {
              __resolveReference: (ref: { id: string }) => {
                if (switches.peopleFail) throw coded('people directory is read-only for maintenance', 'MAINTENANCE');
                return AUTHORS[ref.id] ? { id: ref.id, name: AUTHORS[ref.id] } : null;
              },
              avatar: (p: { id: string }, { size }: { size: number }) => `https://img.example.test/${p.id}/${size}.png`,
            },
          },
        },
      ],
      switches,
    );
  },
};

// (h) Private data under a public list: `shelf` lists books (public, max-age 60), `notes` gives each caller
// (x-seller-id, signed by the gateway) their own note on a book (PRIVATE, max-age 60); s2 has no notes (null entities). Our gateway
// forwards the caller's identity, stock does not, so this one is compared cache on against cache off only.
export const privateNotesFixture: SupergraphFixture = {
  name: 'private-notes',
  operations: [{ name: 'books with the caller\'s notes', query: `query Shelf { books { id title note } }` }],
  start: () =>
    startAll([
      {
        name: 'shelf',
        sdl: `${link('@key')}
          type Book @key(fields: "id") ${MAX_AGE} { id: ID! title: String }
          type Query { books: [Book] }`,
        resolvers: { Query: { books: () => [{ id: 'b1', title: 'Dune' }, { id: 'b2', title: 'Emma' }] } },
      },
      {
        name: 'notes',
        sdl: `${link('@key')}
          type Book @key(fields: "id") @cacheControl(maxAge: 60, scope: PRIVATE) { id: ID! note: String }`,
        resolvers: {
          Book: {
            __resolveReference: (ref: { id: string }, context: { headers: Record<string, string | undefined> }) => {
              const caller = signedCaller(context.headers);
              return caller === 's1' ? { id: ref.id, note: `note of s1 on ${ref.id}` } : null;
            },
          },
        },
      },
    ]),
};

export const SUPERGRAPH_FIXTURES: SupergraphFixture[] = [
  requiresFixture,
  providesFixture,
  abstractTypesFixture,
  interfaceObjectFixture,
  entityErrorsFixture,
  severalPathsFixture,
  nestedEntitiesFixture,
];
