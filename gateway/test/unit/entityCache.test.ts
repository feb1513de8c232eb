import { describe, expect, it } from 'vitest';
import { entityCacheKey, entityIdentity } from '../../src/cache/entityCache.js';
import { EntityCache, entrySizeBytes, type CacheEntry } from '../../src/cache/entityCache.js';

function entry(id: string, value: Record<string, unknown> = { id }, extra: Partial<CacheEntry> = {}): CacheEntry {
  return {
    value,
    storedAtMs: 0,
    maxAgeSeconds: 60,
    staleIfErrorSeconds: 0,
    staleWhileRevalidateSeconds: 0,
    etag: `"v1-${id}"`,
    scope: 'public',
    tags: [entityIdentity('Client', { id })],
    evictable: true,
    ...extra,
  };
}

describe('EntityCache', () => {
  it('returns what was stored and counts entries and bytes', () => {
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 100_000 });
    const stored = entry('c-1', { id: 'c-1', name: 'Acme' });
    cache.set('k1', stored);
    expect(cache.get('k1')).toEqual(stored);
    expect(cache.get('nope')).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(entrySizeBytes('k1', stored));
  });

  it('evicts the least recently used entry once maxEntries is reached', () => {
    const cache = new EntityCache({ maxEntries: 3, maxBytes: 1_000_000 });
    for (const id of ['a', 'b', 'c']) cache.set(id, entry(id));
    cache.get('a'); // a is now the most recent; b is the oldest
    cache.set('d', entry('d'));
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k)?.value.id)).toEqual(['a', 'c', 'd']);
  });

  it('evicts by bytes: a few large entities cannot exceed maxBytes', () => {
    const big = (id: string) => entry(id, { id, blob: 'x'.repeat(1_000) });
    const one = entrySizeBytes('a', big('a'));
    const cache = new EntityCache({ maxEntries: 1_000, maxBytes: one * 3 + 10 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) cache.set(id, big(id));
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(one * 3 + 10);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('e')?.value.id).toBe('e');
  });

  it('refuses an entry larger than the whole budget without disturbing the others', () => {
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 2_000 });
    cache.set('small', entry('s'));
    cache.set('huge', entry('h', { id: 'h', blob: 'x'.repeat(5_000) }));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
    expect(cache.evictEntity('Client', { id: 'h' })).toBe(0);
  });

  it('counts multi-byte characters as the bytes they take', () => {
    const ascii = entrySizeBytes('k', entry('x', { name: 'aaaa' }));
    const emoji = entrySizeBytes('k', entry('x', { name: '😀😀' }));
    expect(emoji - ascii).toBe(4); // 8 UTF-8 bytes vs 4
  });

  it('evictEntity drops every copy of one entity across subgraphs, selections and scopes, and nothing else', () => {
    const cache = new EntityCache({ maxEntries: 100, maxBytes: 1_000_000 });
    const keyFor = (subgraph: string, operation: string, scope: string | null, id: string) =>
      entityCacheKey({ subgraph, operation, variables: {}, representation: { __typename: 'Client', id }, scope });
    const copies = [
      keyFor('topclients', '{ name }', null, 'c-1'),
      keyFor('topclients', '{ name website }', null, 'c-1'),
      keyFor('topclients', '{ name }', 's-1', 'c-1'),
      keyFor('other', '{ name }', null, 'c-1'),
    ];
    for (const key of copies) cache.set(key, entry('c-1'));
    cache.set(keyFor('topclients', '{ name }', null, 'c-2'), entry('c-2'));
    cache.set('brand', { ...entry('c-1'), tags: [entityIdentity('Brand', { id: 'c-1' })] });

    expect(cache.evictEntity('Client', { id: 'c-1' })).toBe(4);
    for (const key of copies) expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(2);
    expect(cache.evictEntity('Client', { id: 'c-1' })).toBe(0);
  });

  it('keeps the eviction index right when entries are overwritten or pushed out by the LRU', () => {
    const cache = new EntityCache({ maxEntries: 2, maxBytes: 1_000_000 });
    cache.set('k', entry('c-1'));
    cache.set('k', entry('c-2')); // same key, now another entity
    expect(cache.evictEntity('Client', { id: 'c-1' })).toBe(0);
    cache.set('x', entry('c-3'));
    cache.set('y', entry('c-4')); // pushes out k (c-2)
    expect(cache.evictEntity('Client', { id: 'c-2' })).toBe(0);
    expect(cache.evictEntity('Client', { id: 'c-3' })).toBe(1);
  });

  it('evictTags drops every entry carrying a tag, a root answer showing the entity included, and nothing else', () => {
    const cache = new EntityCache({ maxEntries: 100, maxBytes: 1_000_000 });
    const seller = entityIdentity('Seller', { id: 's1' });
    cache.set('gigs:__RootFetch:a', entry('g1', { gig: { id: 'g1', seller: { id: 's1' } } }, { tags: [entityIdentity('Gig', { id: 'g1' }), seller] }));
    cache.set('users:Seller:b', entry('s1', { id: 's1' }, { tags: [seller] }));
    cache.set('users:Seller:c', entry('s2', { id: 's2' }, { tags: [entityIdentity('Seller', { id: 's2' })] }));
    expect(cache.evictTags([seller])).toBe(2);
    expect([cache.get('gigs:__RootFetch:a'), cache.get('users:Seller:b')]).toEqual([undefined, undefined]);
    expect(cache.get('users:Seller:c')).toBeDefined();
  });

  it('refuses to store an answer fetched before one of its tags was evicted, and stores one fetched after', () => {
    let now = 1_000;
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 100_000, now: () => now });
    const fetchStartedAtMs = now;
    now = 1_500;
    cache.evictEntity('Client', { id: 'c-1' });
    now = 2_000;
    expect(cache.set('k', entry('c-1'), fetchStartedAtMs)).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.set('k', entry('c-1'), 1_600)).toBe(true);
  });

  it('evictType and evictSubgraph drop entries by the subgraph and type their keys name, and report each to listeners', () => {
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 100_000 });
    const dropped: string[] = [];
    cache.onEviction((key, reason) => dropped.push(`${reason} ${key}`));
    cache.set('topclients:Client:a', entry('c-1'));
    cache.set('topclients:Seller:b', entry('s-1'));
    cache.set('other:Client:c', entry('c-2'));
    expect(cache.evictType('Client', 'topclients')).toBe(1);
    expect(cache.evictSubgraph('topclients')).toBe(1);
    expect(cache.evictType('Client')).toBe(1);
    expect(dropped).toEqual(['type topclients:Client:a', 'subgraph topclients:Seller:b', 'type other:Client:c']);
    expect(cache.size).toBe(0);
  });

  it('renew restarts freshness at the injected clock, keeps or replaces the validator, and says whether it is evictable now', () => {
    let now = 5_000;
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 100_000, now: () => now });
    cache.set('k', entry('c-1', { id: 'c-1' }, { storedAtMs: 0, maxAgeSeconds: 1, evictable: false }));
    now = 9_000;
    cache.renew('k', 30, undefined, true);
    expect(cache.get('k')).toMatchObject({ storedAtMs: 9_000, maxAgeSeconds: 30, etag: '"v1-c-1"', value: { id: 'c-1' }, evictable: true });
    cache.renew('k', 10, '"v2"', false);
    expect(cache.get('k')).toMatchObject({ maxAgeSeconds: 10, etag: '"v2"', evictable: false });
    cache.renew('k', 10, null, true);
    expect(cache.get('k')?.etag).toBe('"v2"');
    cache.renew('absent', 10, '"v9"', true);
    expect(cache.get('absent')).toBeUndefined();
  });

  it('clear empties entries, bytes and the eviction index', () => {
    const cache = new EntityCache({ maxEntries: 10, maxBytes: 100_000 });
    cache.set('k', entry('c-1'));
    cache.clear();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
    expect(cache.evictEntity('Client', { id: 'c-1' })).toBe(0);
  });

  it('refuses nonsensical bounds with a message naming the option', () => {
    expect(() => new EntityCache({ maxEntries: 0, maxBytes: 10 })).toThrow(/maxEntries/);
    expect(() => new EntityCache({ maxEntries: 10, maxBytes: 1.5 })).toThrow(/maxBytes/);
  });
});
