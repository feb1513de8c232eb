import { describe, expect, it } from 'vitest';
import { parseCacheControl, parseRequestDirectives } from '../../src/cache/cacheHints.js';

describe('parseCacheControl', () => {
  it('reads what Apollo Server subgraphs send', () => {
    expect(parseCacheControl('max-age=60, public')).toEqual({ maxAgeSeconds: 60, scope: 'public', noStore: false, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0 });
    expect(parseCacheControl('max-age=30, private')).toEqual({ maxAgeSeconds: 30, scope: 'private', noStore: false, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0 });
    expect(parseCacheControl('no-store')).toEqual({ maxAgeSeconds: 0, scope: 'public', noStore: true, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0 });
  });

  it('treats no header, an empty header and a header without max-age as uncacheable (like Apollo)', () => {
    for (const header of [undefined, null, '', '   ', 'public', 'private']) {
      expect(parseCacheControl(header).maxAgeSeconds).toBe(0);
    }
    expect(parseCacheControl('private').scope).toBe('private');
  });

  it('is case-insensitive and tolerant of spacing', () => {
    expect(parseCacheControl('  Max-Age = 15 ,PUBLIC')).toMatchObject({ maxAgeSeconds: 15, scope: 'public' });
  });

  it('lets s-maxage win for public data (the gateway is a shared cache) but not for private data', () => {
    expect(parseCacheControl('max-age=60, s-maxage=10').maxAgeSeconds).toBe(10);
    expect(parseCacheControl('s-maxage=10').maxAgeSeconds).toBe(10);
    expect(parseCacheControl('private, max-age=60, s-maxage=10').maxAgeSeconds).toBe(60);
  });

  it('no-store and no-cache keep nothing fresh; no-store forbids stale-if-error too', () => {
    expect(parseCacheControl('max-age=60, no-store, stale-if-error=300')).toEqual({ maxAgeSeconds: 0, scope: 'public', noStore: true, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0 });
    expect(parseCacheControl('max-age=60, no-cache')).toMatchObject({ maxAgeSeconds: 0, noStore: false });
    expect(parseCacheControl('no-cache="set-cookie", max-age=60').maxAgeSeconds).toBe(0);
  });

  it('reads stale-if-error, which must-revalidate and proxy-revalidate cancel', () => {
    expect(parseCacheControl('max-age=60, stale-if-error=300').staleIfErrorSeconds).toBe(300);
    expect(parseCacheControl('max-age=60, stale-if-error=300, must-revalidate').staleIfErrorSeconds).toBe(0);
    expect(parseCacheControl('max-age=60, stale-if-error=300, proxy-revalidate').staleIfErrorSeconds).toBe(0);
    expect(parseCacheControl('max-age=60, stale-if-error=soon').staleIfErrorSeconds).toBe(0);
  });

  it('accepts a quoted delta-seconds, and a quoted string with commas does not split directives', () => {
    expect(parseCacheControl('max-age="45"').maxAgeSeconds).toBe(45);
    expect(parseCacheControl('private="set-cookie, x-a", max-age=20')).toMatchObject({ maxAgeSeconds: 20, scope: 'private' });
  });

  it('treats invalid or conflicting freshness as stale (RFC 9111 §4.2.1)', () => {
    for (const header of ['max-age=abc', 'max-age=-5', 'max-age=1.5', 'max-age=', 'max-age', 'max-age=60, max-age=10', 'max-age="6"0']) {
      expect(parseCacheControl(header).maxAgeSeconds, header).toBe(0);
    }
    expect(parseCacheControl('max-age=60, max-age=60').maxAgeSeconds).toBe(60);
  });

  it('caps an absurdly large max-age at 2^31 seconds', () => {
    expect(parseCacheControl('max-age=99999999999999999999').maxAgeSeconds).toBe(2_147_483_648);
  });

  it('ignores unknown directives and garbage without throwing', () => {
    expect(parseCacheControl('immutable, foo=bar, max-age=5, ,,=,"')).toMatchObject({ maxAgeSeconds: 5, scope: 'public' });
    expect(parseCacheControl('max-age="unterminated').maxAgeSeconds).toBe(0);
  });
});

describe('parseRequestDirectives', () => {
  it('no-cache and max-age=0 ask for revalidation of everything', () => {
    expect(parseRequestDirectives('no-cache')).toEqual({ noCache: true });
    expect(parseRequestDirectives('max-age=0')).toEqual({ noCache: true });
    expect(parseRequestDirectives('No-Cache, max-age=100')).toEqual({ noCache: true });
  });

  it('an ordinary request, or max-age above 0, may be served from cache', () => {
    expect(parseRequestDirectives(undefined)).toEqual({ noCache: false });
    expect(parseRequestDirectives(null, null)).toEqual({ noCache: false });
    expect(parseRequestDirectives('max-age=10')).toEqual({ noCache: false });
    expect(parseRequestDirectives('no-store')).toEqual({ noCache: false });
  });

  it('honours Pragma: no-cache only when there is no Cache-Control', () => {
    expect(parseRequestDirectives(undefined, 'no-cache')).toEqual({ noCache: true });
    expect(parseRequestDirectives('', 'no-cache')).toEqual({ noCache: true });
    expect(parseRequestDirectives('max-age=60', 'no-cache')).toEqual({ noCache: false });
    expect(parseRequestDirectives(undefined, 'x-other')).toEqual({ noCache: false });
  });
});
