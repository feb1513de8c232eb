/**
 * The entity-cache plugin on a small subgraph of its own (no database): entities of a type without a version,
 * entities that fail, per-field cache hints and abstract types — cases the reference services do not have.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { startSubgraphServer, type RunningSubgraph } from '../subgraphServer.js';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION

  type Product @key(fields: "upc") @cacheControl(maxAge: 120) {
    upc: ID!
    name: String
    price: Int @cacheControl(maxAge: 5)
    maker: Maker
  }
  type Maker { name: String }
  type Review @key(fields: "id") @cacheControl(maxAge: 30) {
    id: ID!
    body: String
  }
  type Query { top: Product @cacheControl(maxAge: 10) }
`);

const products: Record<string, { upc: string; name: string; price: number; rev: number }> = {
  p1: { upc: 'p1', name: 'Chair', price: 10, rev: 4 },
  p2: { upc: 'p2', name: 'Table', price: 99, rev: 7 },
};

describe('entity-cache plugin on a custom subgraph', () => {
  let server: RunningSubgraph;
  const post = async (body: unknown) => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: await response.json() as any };
  };
  const entities = (selection: string, representations: unknown[], extensions?: unknown) =>
    post({ query: `query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, variables: { r: representations }, ...(extensions ? { extensions } : {}) });

  beforeAll(async () => {
    server = await startSubgraphServer({
      name: 'shapes',
      typeDefs,
      context: (base) => base,
      entityVersions: { Product: (p: { rev: number }) => p.rev },
      resolvers: {
        Product: {
          __resolveReference: async (ref: { upc: string }) => {
            if (ref.upc === 'boom') throw new Error('storage failed');
            return products[ref.upc] ?? null;
          },
          maker: () => ({ name: 'Acme' }),
        },
        Review: {
          __resolveReference: (ref: { id: string }) => {
            // A synchronous throw fails the whole `_entities` field, not one entity.
            if (ref.id === 'sync-boom') throw new Error('whole call failed');
            return { id: ref.id, body: `review ${ref.id}` };
          },
        },
        Query: { top: () => products.p1 },
      } as never,
    });
  });
  afterAll(() => server?.stop());

  it('gives no validator to a type without a version, and never "not modified" to it', async () => {
    const reps = [{ __typename: 'Product', upc: 'p1' }, { __typename: 'Review', id: 'r1' }];
    const first = await entities('... on Product { name } ... on Review { body }', reps);
    const wire = first.body.extensions.entityCache;
    expect(wire.etags[0]).toMatch(/^".+"$/);
    expect(wire.etags[1]).toBeNull();
    expect(wire.maxAge).toEqual([120, 30]); // per type, not the response's minimum
    const again = await entities('... on Product { name } ... on Review { body }', reps, { entityCache: { version: 1, ifNoneMatch: [wire.etags[0], '"anything"'] } });
    expect(again.body.data._entities).toEqual([null, { body: 'review r1' }]);
    expect(again.body.extensions.entityCache.notModified).toEqual([0]);
  });

  it('an entity with errors gets no validator and is answered in full even when asked conditionally', async () => {
    const reps = [{ __typename: 'Product', upc: 'boom' }, { __typename: 'Product', upc: 'p2' }];
    const answer = await entities('... on Product { name }', reps, { entityCache: { version: 1, ifNoneMatch: ['"x"', null] } });
    expect(answer.body.errors?.[0]?.path).toEqual(['_entities', 0]);
    expect(answer.body.data._entities).toEqual([null, { name: 'Table' }]);
    expect(answer.body.extensions.entityCache).toMatchObject({ etags: [null, expect.any(String)], maxAge: [null, 120], notModified: [] });
  });

  it('a failed _entities field gets no protocol extension at all', async () => {
    const answer = await entities('... on Review { body }', [{ __typename: 'Review', id: 'sync-boom' }]);
    expect(answer.body.errors?.[0]?.path).toEqual(['_entities']);
    expect(answer.body.data).toBeNull();
    expect(answer.body.extensions?.entityCache).toBeUndefined();
  });

  it("lowers an entity's max-age by the hints of the fields selected, including Apollo's 0 for an unhinted object", async () => {
    const rep = [{ __typename: 'Product', upc: 'p1' }];
    expect((await entities('... on Product { name }', rep)).body.extensions.entityCache.maxAge).toEqual([120]);
    expect((await entities('... on Product { name price }', rep)).body.extensions.entityCache.maxAge).toEqual([5]);
    expect((await entities('... on Product { maker { name } }', rep)).body.extensions.entityCache.maxAge).toEqual([0]);
  });

  it('keeps the same validator across selections and changes it with the version', async () => {
    const rep = [{ __typename: 'Product', upc: 'p2' }];
    const a = (await entities('... on Product { name }', rep)).body.extensions.entityCache.etags[0];
    const b = (await entities('... on Product { price maker { name } }', rep)).body.extensions.entityCache.etags[0];
    expect(a).toBe(b);
    products.p2!.rev += 1;
    const c = (await entities('... on Product { name }', rep)).body.extensions.entityCache.etags[0];
    expect(c).not.toBe(a);
  });

  it('adds nothing to root answers but the ETag header', async () => {
    const answer = await post({ query: '{ top { name } }' });
    expect(answer.body).toEqual({ data: { top: { name: 'Chair' } } });
    expect(answer.headers.get('cache-control')).toBe('max-age=10, public');
    expect(answer.headers.get('etag')).toMatch(/^".+"$/);
  });
});
