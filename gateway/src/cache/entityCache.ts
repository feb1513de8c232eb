/**
 * The first cache level: an LRU bounded both by entry count and by bytes (the JSON size of each value), so a few
 * huge entities cannot push memory past the budget and many tiny ones cannot exhaust the count.
 *
 * Every entry carries cache tags: the entities it contains (`Type:{"id":…}`, see entityTags.ts) and whatever
 * tags its subgraph sent. An index from tag to keys lets one event or one invalidation request drop every answer
 * that showed the changed data, root answers included, whatever subgraph, selection or caller scope.
 *
 * Evictions also close a race: an answer fetched before a tag was evicted but arriving after it would put the old
 * data back, so `set` refuses an entry whose fetch started no later than the newest eviction of one of its tags.
 * Time comes from the gateway's injected clock.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/*
 * Cache keys. A key names one subgraph's answer for one entity under one selection:
 * the same entity fetched with a different selection set, different variables or for a different private caller
 * is a different entry. Keys are hashed so a long operation text costs 43 bytes per entry, not kilobytes.
 */
export interface EntityCacheKeyInput {
  subgraph: string;
  /** The subgraph fetch's query text (it carries the selection set). */
  operation: string;
  /** The fetch's variables WITHOUT `representations`. */
  variables: Record<string, unknown>;
  /** `__typename`, the key fields and any `@requires` fields of this one entity. */
  representation: Record<string, unknown>;
  /** The caller's identity for private entries; null for public ones. */
  scope: string | null;
}

/** A stable key: object key order never matters, and public vs private (and one caller vs another) never collide. */
export function entityCacheKey(input: EntityCacheKeyInput): string {
  return entityKeyer(input.subgraph, input.operation, stableJson(input.variables))(input.representation, input.scope);
}

/**
 * The keys of one fetch's entities (`entityCacheKey` of each): the operation's digest and the variables' JSON are
 * the same for all of them and are computed once, leaving the representation's short JSON per entity.
 * `variablesJson` is `stableJson` of the fetch's variables, which its caller has already made for the fetch's group.
 */
export function entityKeyer(subgraph: string, operation: string, variablesJson: string): (representation: Record<string, unknown>, scope: string | null) => string {
  const perFetch = `${selectionDigest(subgraph, operation)}[${variablesJson},`;
  return (representation, scope) => {
    const typename = typeof representation.__typename === 'string' ? representation.__typename : '';
    const scoped = scope === null ? '["public"]' : JSON.stringify(['private', scope]);
    const digest = hash('sha256', `${perFetch}${stableJson(representation)},${scoped}]`, 'base64url');
    // The readable prefix helps when inspecting a cache; the digest alone decides identity.
    return `${subgraph}:${typename}:${digest}`;
  };
}

/** Per subgraph, the digest of each operation text it was asked: at most this many texts each. */
const SELECTIONS_PER_SUBGRAPH = 10_000;
const selectionDigests = new Map<string, Map<string, string>>();

/**
 * The digest of one subgraph operation, computed once per text: a fetch's query text is long and the same for
 * every request that plans it, while the per-entity part of a key is short.
 */
function selectionDigest(subgraph: string, operation: string): string {
  let digests = selectionDigests.get(subgraph);
  if (!digests) selectionDigests.set(subgraph, (digests = new Map()));
  let digest = digests.get(operation);
  if (digest === undefined) {
    // A burst of distinct texts (a schema that changes often) starts the memo afresh rather than growing it.
    if (digests.size >= SELECTIONS_PER_SUBGRAPH) digests.clear();
    digest = hash('sha256', stableJson([subgraph, operation]), 'base64url');
    digests.set(operation, digest);
  }
  return digest;
}

/**
 * Names an entity independently of subgraph, selection and scope, so an event ("Product p-1 changed") can evict
 * every cached copy of it. Pass the `@key` fields only, not `@requires` fields.
 */
export function entityIdentity(typename: string, keyFields: Record<string, unknown>): string {
  const { __typename: _ignored, ...fields } = keyFields;
  return `${typename}:${stableJson(fields)}`;
}

/** JSON with object keys sorted at every depth; arrays keep their order (it is meaningful). */
export function stableJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && isSortedFlat(value)) return JSON.stringify(value);
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

/**
 * Already stable: an object whose keys are in order and whose values are all scalars (an entity's representation,
 * most often) is its own sorted form, and needs no copy.
 */
function isSortedFlat(value: object): boolean {
  let previous = '';
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const field = (value as Record<string, unknown>)[key];
    if ((field !== null && typeof field === 'object') || key < previous) return false;
    previous = key;
  }
  return true;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

export interface CacheEntry {
  /** The subgraph's `_entities[i]` object (or, for root fetches, the whole response). */
  value: Record<string, unknown>;
  storedAtMs: number;
  maxAgeSeconds: number;
  staleIfErrorSeconds: number;
  /** How long past max-age the entry may be served while one refresh runs in the background (RFC 5861 §3). */
  staleWhileRevalidateSeconds: number;
  etag: string | null;
  scope: 'public' | 'private';
  /** What this answer shows: the entities in it and the subgraph's own tags. */
  tags: readonly string[];
  /**
   * Whether the process that stored (or last renewed) it heard every change of its sources then, so the change
   * that makes it wrong evicts it (events/changeCoverage.ts); one that did not is revalidated before it is served.
   */
  evictable: boolean;
}

export interface EntityCacheOptions {
  maxEntries: number;
  maxBytes: number;
  now?: () => number;
}

export type EvictionReason = 'tag' | 'type' | 'subgraph';

/** Bookkeeping bytes charged per entry on top of its JSON, so zero-sized values still count. */
const ENTRY_OVERHEAD_BYTES = 64;
/** Evictions remembered for the race guard; an older one has long outlived any fetch in flight. */
const REMEMBERED_EVICTIONS = 100_000;

export class EntityCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly byTag = new Map<string, Set<string>>();
  private readonly evictedAtMs = new LRUCache<string, number>({ max: REMEMBERED_EVICTIONS });
  private readonly now: () => number;
  private readonly evictionListeners: ((key: string, reason: EvictionReason) => void)[] = [];
  private readonly changeListeners: ((tags: readonly string[] | null) => void)[] = [];

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
      // Runs synchronously on eviction, delete, clear and overwrite, so the tag index never points at a key the
      // LRU no longer holds.
      dispose: (entry, key) => this.unindex(entry.tags, key),
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

  /**
   * Stores the entry, unless it is larger than the whole byte budget, or one of its tags was evicted at or after
   * `fetchStartedAtMs` (its data may predate the change). Returns whether it was stored.
   */
  set(key: string, entry: CacheEntry, fetchStartedAtMs = Number.POSITIVE_INFINITY): boolean {
    if (entrySizeBytes(key, entry) > this.lru.maxSize) return false;
    for (const tag of entry.tags) {
      const evictedAt = this.evictedAtMs.get(tag);
      if (evictedAt !== undefined && evictedAt >= fetchStartedAtMs) return false;
    }
    this.lru.set(key, entry);
    if (!this.lru.has(key)) return false;
    for (const tag of entry.tags) this.index(tag, key);
    return true;
  }

  /**
   * After a "not modified" answer: the stored value is current again, fresh for `maxAgeSeconds` from now, and as
   * evictable as the process that renews it. The validator is replaced only when the origin sent one (`undefined`
   * and `null` keep the old one).
   */
  renew(key: string, maxAgeSeconds: number, etag: string | null | undefined, evictable: boolean): void {
    const entry = this.lru.get(key);
    if (!entry) return;
    this.set(key, { ...entry, storedAtMs: this.now(), maxAgeSeconds, etag: etag ?? entry.etag, evictable });
  }

  /** Drops every entry carrying any of these tags; returns how many. */
  evictTags(tags: Iterable<string>): number {
    const at = this.now();
    let evicted = 0;
    const named: string[] = [];
    for (const tag of tags) {
      named.push(tag);
      this.evictedAtMs.set(tag, at);
      for (const key of [...(this.byTag.get(tag) ?? [])]) evicted += this.drop(key, 'tag');
    }
    this.changed(named);
    return evicted;
  }

  /** Drops every cached copy of one entity, whatever subgraph, selection or scope, and every answer showing it. */
  evictEntity(typename: string, keyFields: Record<string, unknown>): number {
    return this.evictTags([entityIdentity(typename, keyFields)]);
  }

  /** Drops every entity entry of a type (of one subgraph, or of all). */
  evictType(typename: string, subgraph?: string): number {
    const evicted = this.evictWhere((key) => {
      const [keySubgraph, keyType] = key.split(':', 2);
      return keyType === typename && (subgraph === undefined || keySubgraph === subgraph);
    }, 'type');
    this.changed(null);
    return evicted;
  }

  /** Drops every entry of one subgraph. */
  evictSubgraph(subgraph: string): number {
    const evicted = this.evictWhere((key) => key.startsWith(`${subgraph}:`), 'subgraph');
    this.changed(null);
    return evicted;
  }

  /**
   * Called when what an answer showed may have changed (live queries re-run on it): on every invalidation, whether
   * or not it dropped an entry here, with the tags it named, or null for one by type or subgraph (it names no tags);
   * and when an entity that a fetch failed to bring arrived late and was stored, with its tags (`arrived`).
   */
  onChange(listener: (tags: readonly string[] | null) => void): void {
    this.changeListeners.push(listener);
  }

  /** An entity a fetch gave up on came later and was stored: answers that lack it can be completed now. */
  arrived(tags: readonly string[]): void {
    this.changed(tags);
  }

  private changed(tags: readonly string[] | null): void {
    for (const listener of this.changeListeners) listener(tags);
  }

  /** Called for each entry an invalidation drops (not for LRU pressure), with the entry's key. */
  onEviction(listener: (key: string, reason: EvictionReason) => void): void {
    this.evictionListeners.push(listener);
  }

  clear(): void {
    this.lru.clear();
    this.byTag.clear();
  }

  private evictWhere(matches: (key: string) => boolean, reason: EvictionReason): number {
    let evicted = 0;
    for (const key of [...this.lru.keys()]) if (matches(key)) evicted += this.drop(key, reason);
    return evicted;
  }

  private drop(key: string, reason: EvictionReason): number {
    if (!this.lru.delete(key)) return 0;
    for (const listener of this.evictionListeners) listener(key, reason);
    return 1;
  }

  private index(tag: string, key: string): void {
    let keys = this.byTag.get(tag);
    if (!keys) this.byTag.set(tag, (keys = new Set()));
    keys.add(key);
  }

  private unindex(tags: readonly string[], key: string): void {
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.byTag.delete(tag);
    }
  }
}

/** What an entry costs: its value's JSON, key, validator and tags in UTF-8 bytes, plus fixed overhead. */
export function entrySizeBytes(key: string, entry: CacheEntry): number {
  let bytes = ENTRY_OVERHEAD_BYTES + Buffer.byteLength(key) + (entry.etag ? Buffer.byteLength(entry.etag) : 0);
  for (const tag of entry.tags) bytes += Buffer.byteLength(tag);
  return bytes + Buffer.byteLength(JSON.stringify(entry.value) ?? '');
}
