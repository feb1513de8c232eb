import { describe, expect, it } from 'vitest';
import { entityCacheKey, entityIdentity, stableJson } from '../../src/cache/entityCache.js';

const QUERY = 'query($representations:[_Any!]!){_entities(representations:$representations){...on Client{name}}}';
const base = {
  subgraph: 'topclients',
  operation: QUERY,
  variables: { locale: 'en', paging: { first: 2, after: null } },
  representation: { __typename: 'Client', id: 'c-1' },
  scope: null,
};

describe('entityCacheKey', () => {
  it('does not depend on the order of keys in representations or variables', () => {
    const reordered = entityCacheKey({
      ...base,
      variables: { paging: { after: null, first: 2 }, locale: 'en' },
      representation: { id: 'c-1', __typename: 'Client' },
    });
    expect(reordered).toBe(entityCacheKey(base));
  });

  it('separates entities, selections, variables, subgraphs and @requires inputs', () => {
    const key = entityCacheKey(base);
    const others = [
      { ...base, representation: { __typename: 'Client', id: 'c-2' } },
      { ...base, representation: { __typename: 'Brand', id: 'c-1' } },
      { ...base, operation: QUERY.replace('name', 'name website') },
      { ...base, variables: { locale: 'fr', paging: { first: 2, after: null } } },
      { ...base, subgraph: 'users' },
      { ...base, representation: { __typename: 'Client', id: 'c-1', weight: 3 } },
    ].map(entityCacheKey);
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
  });

  it('keeps public and each caller private entries apart', () => {
    const keys = [null, 's-1', 's-2', ''].map((scope) => entityCacheKey({ ...base, scope }));
    expect(new Set(keys).size).toBe(4);
  });

  it('stays short however long the operation is', () => {
    const huge = entityCacheKey({ ...base, operation: QUERY + ' '.repeat(100_000) + '#' });
    expect(huge.length).toBeLessThan(100);
    expect(huge.startsWith('topclients:Client:')).toBe(true);
  });

  it('is the key earlier releases wrote: a cache shared over Redis stays warm across an upgrade', () => {
    expect(entityCacheKey(base)).toBe('topclients:Client:wjC0VC4858tjUVrgq_2G2mvvUsxy9IunoIuDYCu0ZOM');
    expect(entityCacheKey({ ...base, variables: {}, representation: { id: 'c-1', __typename: 'Client' }, scope: 's-1' }))
      .toBe('topclients:Client:kRefxyBof7Np9ww_wSsi03Gknt5_2-8wUik5Tq4vQHc');
  });

  it('does not confuse an array order change (arrays are ordered data)', () => {
    expect(entityCacheKey({ ...base, variables: { ids: [1, 2] } })).not.toBe(entityCacheKey({ ...base, variables: { ids: [2, 1] } }));
  });
});

describe('entityIdentity', () => {
  it('is the typename plus key fields in a stable order, ignoring __typename among them', () => {
    expect(entityIdentity('Product', { upc: '1', sku: 'a' })).toBe(entityIdentity('Product', { sku: 'a', upc: '1', __typename: 'Product' }));
    expect(entityIdentity('Client', { id: 'c-1' })).toBe('Client:{"id":"c-1"}');
    expect(entityIdentity('Client', { id: 'c-1' })).not.toBe(entityIdentity('Brand', { id: 'c-1' }));
  });
});

describe('stableJson', () => {
  it('sorts keys at every depth', () => {
    expect(stableJson({ b: { d: 1, c: [{ z: 1, y: 2 }] }, a: null })).toBe('{"a":null,"b":{"c":[{"y":2,"z":1}],"d":1}}');
    expect(stableJson({ b: 1, a: 'x' })).toBe('{"a":"x","b":1}');
    // Integer-like keys: an object lists them first, in numeric order, however they were added.
    expect(stableJson({ b: 1, 10: 1, 9: 2 })).toBe(stableJson({ 9: 2, b: 1, 10: 1 }));
  });
});
