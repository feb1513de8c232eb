import { describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/entityCache.js';
import { canServeStaleOnError, decide, remainingSeconds } from '../../src/cache/freshness.js';

const ordinary = { noCache: false };
const noCache = { noCache: true };

function entry(extra: Partial<CacheEntry> = {}): CacheEntry {
  return {
    value: { id: 'c-1' },
    storedAtMs: 10_000,
    maxAgeSeconds: 1,
    staleIfErrorSeconds: 0,
    staleWhileRevalidateSeconds: 0,
    etag: '"v1"',
    scope: 'public',
    tags: ['Client:{"id":"c-1"}'],
    evictable: true,
    ...extra,
  };
}

describe('decide', () => {
  it('misses when nothing is cached', () => {
    expect(decide(undefined, 0, ordinary)).toEqual({ kind: 'miss' });
    expect(decide(undefined, 0, noCache)).toEqual({ kind: 'miss' });
  });

  it('is fresh until the last millisecond of max-age and stale at exactly max-age', () => {
    const e = entry();
    expect(decide(e, 10_000, ordinary)).toEqual({ kind: 'fresh', remainingSeconds: 1 });
    expect(decide(e, 10_999, ordinary)).toEqual({ kind: 'fresh', remainingSeconds: 0 });
    expect(decide(e, 11_000, ordinary)).toEqual({ kind: 'revalidate', etag: '"v1"' });
  });

  it('a stale entry without a validator is a miss', () => {
    expect(decide(entry({ etag: null }), 10_999, ordinary).kind).toBe('fresh');
    expect(decide(entry({ etag: null }), 11_000, ordinary)).toEqual({ kind: 'miss' });
    expect(decide(entry({ etag: '' }), 11_000, ordinary)).toEqual({ kind: 'miss' });
  });

  it('max-age 0 entries are kept only to revalidate', () => {
    expect(decide(entry({ maxAgeSeconds: 0 }), 10_000, ordinary)).toEqual({ kind: 'revalidate', etag: '"v1"' });
  });

  it('no-cache revalidates even a fresh entry, and misses one without a validator', () => {
    expect(decide(entry(), 10_000, noCache)).toEqual({ kind: 'revalidate', etag: '"v1"' });
    expect(decide(entry({ etag: null }), 10_000, noCache)).toEqual({ kind: 'miss' });
  });

  it('a clock that stepped back does not make an entry older or newer than stored', () => {
    expect(decide(entry(), 9_000, ordinary)).toEqual({ kind: 'fresh', remainingSeconds: 1 });
  });
});

describe('remainingSeconds', () => {
  it('rounds down to whole seconds and never goes negative', () => {
    const e = entry({ maxAgeSeconds: 60 });
    expect(remainingSeconds(e, 10_000)).toBe(60);
    expect(remainingSeconds(e, 10_001)).toBe(59);
    expect(remainingSeconds(e, 69_999)).toBe(0);
    expect(remainingSeconds(e, 500_000)).toBe(0);
  });
});

describe('canServeStaleOnError', () => {
  it('allows serving within max-age + stale-if-error and not a millisecond after', () => {
    const e = entry({ maxAgeSeconds: 1, staleIfErrorSeconds: 10 });
    expect(canServeStaleOnError(e, 10_500, ordinary)).toBe(true);
    expect(canServeStaleOnError(e, 20_999, ordinary)).toBe(true);
    expect(canServeStaleOnError(e, 21_000, ordinary)).toBe(false);
  });

  it('without stale-if-error only a still-fresh copy may stand in', () => {
    const e = entry({ maxAgeSeconds: 1, staleIfErrorSeconds: 0 });
    expect(canServeStaleOnError(e, 10_999, ordinary)).toBe(true);
    expect(canServeStaleOnError(e, 11_000, ordinary)).toBe(false);
  });

  it('never under no-cache, and never without an entry', () => {
    expect(canServeStaleOnError(entry({ staleIfErrorSeconds: 100 }), 10_000, noCache)).toBe(false);
    expect(canServeStaleOnError(undefined, 10_000, ordinary)).toBe(false);
  });
});

describe('stale-while-revalidate', () => {
  it('serves an entry past max-age within the window (to refresh in the background), and revalidates after it', () => {
    const swr = entry({ maxAgeSeconds: 1, staleWhileRevalidateSeconds: 10 });
    expect(decide(swr, 10_999, { noCache: false }).kind).toBe('fresh');
    expect(decide(swr, 11_000, { noCache: false })).toEqual({ kind: 'staleWhileRevalidate', etag: '"v1"' });
    expect(decide(swr, 20_999, { noCache: false }).kind).toBe('staleWhileRevalidate');
    expect(decide(swr, 21_000, { noCache: false })).toEqual({ kind: 'revalidate', etag: '"v1"' });
  });

  it('never under no-cache', () => {
    expect(decide(entry({ maxAgeSeconds: 1, staleWhileRevalidateSeconds: 10 }), 11_000, { noCache: true })).toEqual({ kind: 'revalidate', etag: '"v1"' });
  });
});
