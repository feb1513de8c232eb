/**
 * Whether a cached entry may be served, must be revalidated, or is no use: small named predicates over an entry,
 * the current time and the client's request directives. Pure; the caller passes the clock reading.
 *
 * RFC 9111 §4.2: a response is fresh while its age is below its freshness lifetime (max-age). §4.3: a stale
 * response with a validator is revalidated with a conditional request. §5.2.1.4: a request `no-cache` forbids
 * serving any stored response without validating it. RFC 5861 §4: `stale-if-error` lets a stale response stand in
 * for a failing origin for that many seconds past its freshness lifetime; §3: `stale-while-revalidate` lets it be
 * served that long past its freshness lifetime while it is refreshed in the background.
 */
import type { CacheEntry } from './entityCache.js';
import type { RequestDirectives } from './cacheHints.js';

export type CacheDecision =
  | { kind: 'fresh'; remainingSeconds: number }
  /** RFC 5861 §3: serve it now, refresh it in the background. */
  | { kind: 'staleWhileRevalidate'; etag: string | null }
  | { kind: 'revalidate'; etag: string }
  | { kind: 'miss' };

/** One for every miss: a page decides hundreds of entities, most of them misses where nothing is cached. */
const MISS: CacheDecision = Object.freeze({ kind: 'miss' });

export function decide(entry: CacheEntry | undefined, nowMs: number, request: RequestDirectives): CacheDecision {
  if (!entry) return MISS;
  if (!request.noCache && isFresh(entry, nowMs)) return { kind: 'fresh', remainingSeconds: remainingSeconds(entry, nowMs) };
  if (!request.noCache && ageMs(entry, nowMs) < (entry.maxAgeSeconds + entry.staleWhileRevalidateSeconds) * 1000) {
    return { kind: 'staleWhileRevalidate', etag: hasValidator(entry) ? entry.etag : null };
  }
  if (hasValidator(entry)) return { kind: 'revalidate', etag: entry.etag };
  return MISS;
}

/** A stale (or fresh) entry may stand in for a failing subgraph within max-age + stale-if-error; never under no-cache. */
export function canServeStaleOnError(entry: CacheEntry | undefined, nowMs: number, request: RequestDirectives): boolean {
  if (!entry || request.noCache) return false;
  return ageMs(entry, nowMs) < (entry.maxAgeSeconds + entry.staleIfErrorSeconds) * 1000;
}

/**
 * Whole seconds of freshness left, rounded down (what a downstream `max-age` may promise); 0 once stale. An entry
 * 999 ms into a 1 s lifetime is still fresh but can promise 0 whole seconds.
 */
export function remainingSeconds(entry: CacheEntry, nowMs: number): number {
  return Math.max(0, Math.floor((entry.maxAgeSeconds * 1000 - ageMs(entry, nowMs)) / 1000));
}

/** §4.2: fresh while age < freshness lifetime. */
export function isFresh(entry: CacheEntry, nowMs: number): boolean {
  return ageMs(entry, nowMs) < entry.maxAgeSeconds * 1000;
}

export function hasValidator(entry: CacheEntry): entry is CacheEntry & { etag: string } {
  return typeof entry.etag === 'string' && entry.etag.length > 0;
}

/** Age in ms; a clock that stepped backwards gives age 0 rather than a negative age that would extend freshness. */
export function ageMs(entry: CacheEntry, nowMs: number): number {
  return Math.max(0, nowMs - entry.storedAtMs);
}
