/**
 * The per-entity cache: an LRU bounded both by entry count and by bytes (the JSON size of each value), so a few
 * huge entities cannot push memory past the budget and many tiny ones cannot exhaust the count. An index from
 * entity identity to keys lets one event evict every copy of an entity (all subgraphs, selections and scopes).
 * Time comes from an injected clock so tests move it by hand.
 */
import { LRUCache } from 'lru-cache';
import { entityIdentity } from './cacheKey.js';

export interface CacheEntry {
  /** The subgraph's `_entities[i]` object (or, for root fetches, the whole response). */
  value: Record<string, unknown>;
  storedAtMs: number;
  maxAgeSeconds: number;
  staleIfErrorSeconds: number;
  etag: string | null;
  scope: 'public' | 'private';
  /** `entityIdentity(typename, key fields)`, for `evictEntity`. */
  identity: string;
}

export interface EntityCacheOptions {
  maxEntries: number;
  maxBytes: number;
  now?: () => number;
}

/** Bookkeeping bytes charged per entry on top of its JSON, so zero-sized values still count. */
const ENTRY_OVERHEAD_BYTES = 64;

export class EntityCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly byIdentity = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(options: EntityCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`EntityCache maxEntries must be a positive integer, got ${String(options.maxEntries)}`);
    }
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`EntityCache maxBytes must be a positive integer, got ${String(options.maxBytes)}`);
    }
    this.now = options.now ?? Date.now;
    this.lru = new LRUCache<string, CacheEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => entrySizeBytes(key, entry),
      // Runs synchronously on eviction, delete, clear and overwrite, so the identity index never points at a
      // key the LRU no longer holds.
      dispose: (entry, key) => this.unindex(entry.identity, key),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** The entry, fresh or stale (freshness is `freshness.ts`'s call); marks it recently used. */
  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }

  /** Stores the entry; one larger than the whole byte budget is not stored (and replaces nothing). */
  set(key: string, entry: CacheEntry): void {
    if (entrySizeBytes(key, entry) > this.lru.maxSize) return;
    this.lru.set(key, entry);
    if (this.lru.has(key)) this.index(entry.identity, key);
  }

  /**
   * After a "not modified" answer: the stored value is current again, fresh for `maxAgeSeconds` from now. The
   * validator is replaced only when the origin sent one (`undefined` and `null` keep the old one).
   */
  renew(key: string, maxAgeSeconds: number, etag?: string | null): void {
    const entry = this.lru.get(key);
    if (!entry) return;
    this.set(key, { ...entry, storedAtMs: this.now(), maxAgeSeconds, etag: etag ?? entry.etag });
  }

  /** Drops every cached copy of one entity, whatever subgraph, selection or scope; returns how many. */
  evictEntity(typename: string, keyFields: Record<string, unknown>): number {
    const keys = this.byIdentity.get(entityIdentity(typename, keyFields));
    if (!keys) return 0;
    let evicted = 0;
    for (const key of [...keys]) if (this.lru.delete(key)) evicted++;
    return evicted;
  }

  clear(): void {
    this.lru.clear();
    this.byIdentity.clear();
  }

  private index(identity: string, key: string): void {
    let keys = this.byIdentity.get(identity);
    if (!keys) this.byIdentity.set(identity, (keys = new Set()));
    keys.add(key);
  }

  private unindex(identity: string, key: string): void {
    const keys = this.byIdentity.get(identity);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byIdentity.delete(identity);
  }
}

/** What an entry costs: its value's JSON, key, validator and identity in UTF-8 bytes, plus fixed overhead. */
export function entrySizeBytes(key: string, entry: CacheEntry): number {
  return (
    ENTRY_OVERHEAD_BYTES +
    Buffer.byteLength(key) +
    Buffer.byteLength(entry.identity) +
    (entry.etag ? Buffer.byteLength(entry.etag) : 0) +
    Buffer.byteLength(JSON.stringify(entry.value) ?? '')
  );
}
