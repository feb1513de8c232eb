import { describe, expect, it } from 'vitest';
import { entityAnswerTags, entityKeysFromSupergraph, entityTag, rootAnswerTags, tagsIn } from '../../src/cache/entityTags.js';

const SUPERGRAPH = `
  type Seller @join__type(graph: GIGS, key: "id", resolvable: false) @join__type(graph: USERS, key: "id") { id: ID! }
  type Sku @join__type(graph: SHOP, key: "upc region") @join__type(graph: SHOP, key: "org { id } code") { upc: String }
  type Review @join__type(graph: REVIEWS) { body: String }
  interface Node @join__type(graph: USERS, key: "id") { id: ID! }
`;

describe('entity tags', () => {
  const keys = entityKeysFromSupergraph(SUPERGRAPH);

  it("reads each entity type's keys from @join__type, once each, leaving out keys with nested fields", () => {
    expect(Object.fromEntries(keys)).toEqual({ Seller: [['id']], Sku: [['upc', 'region']], Node: [['id']] });
  });

  it('tags an object by the first key whose fields it carries, under the name change events use', () => {
    expect(entityTag(keys, { __typename: 'Seller', id: 's1', name: 'x' })).toBe('Seller:{"id":"s1"}');
    expect(entityTag(keys, { __typename: 'Sku', region: 'eu', upc: '42' })).toBe('Sku:{"region":"eu","upc":"42"}');
    expect(entityTag(keys, { __typename: 'Sku', upc: '42' })).toBeNull();
    expect(entityTag(keys, { __typename: 'Review', body: 'b' })).toBeNull();
    expect(entityTag(keys, { id: 's1' })).toBeNull();
  });

  it('finds every entity in a nested answer, lists included, once each', () => {
    const data = { gigs: [{ seller: { __typename: 'Seller', id: 's1' } }, { seller: { __typename: 'Seller', id: 's1' } }, { seller: { __typename: 'Seller', id: 's2' } }] };
    expect([...tagsIn(keys, data)].sort()).toEqual(['Seller:{"id":"s1"}', 'Seller:{"id":"s2"}']);
  });

  it("reads a subgraph's own tags the way Apollo Router does, ignoring what is not a tag", () => {
    expect(rootAnswerTags({ apolloCacheTags: ['homepage', 7, ''] })).toEqual(['homepage']);
    expect(entityAnswerTags({ apolloEntityCacheTags: [['a'], ['b', 'c']] }, 1)).toEqual(['b', 'c']);
    expect(entityAnswerTags({ apolloEntityCacheTags: 'nope' }, 0)).toEqual([]);
    expect(rootAnswerTags(undefined)).toEqual([]);
  });
});
