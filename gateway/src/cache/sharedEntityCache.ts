/**
 * The second cache level: entries shared by every gateway process and replica through Redis (REDIS_URL), under
 * the first level's keys. The in-process LRU (entityCache.ts) stays the first level: a miss there asks this one,
 * an answer is stored in both.
 *
 * An entry is stored whole, as JSON (value, validator, freshness, scope, tags, whatever fields the entry gains), for
 * as long as it can be of use: max-age plus the longest stale window (stale-if-error, stale-while-revalidate), and
 * at least `VALIDATOR_KEEP_SECONDS` when it has an ETag (a stale entry with a validator still saves a payload).
 * Each tag is a Redis set of the keys carrying it, expiring with its longest-lived entry, and pruned of expired
 * keys as it grows, so nothing grows without bound.
 *
 * Invalidation reaches every process: an eviction deletes the entries in Redis first, then is published on one
 * channel; every other process hears it (`onRemoteEviction`) and drops its first-level copies.
 *
 * Redis trouble never fails anything here (redisLink.ts): `get` answers `undefined`, `set` is dropped, an eviction
 * counts 0 in Redis. An eviction published while a process is cut off from Redis does not reach that process: its
 * subscription coming back is a gap (`evictionsHeard`), after which every answer it cached before is revalidated.
 * Known limit: the scripts touch keys they do not declare, so Redis must be a single node or a single shard (not
 * Redis Cluster).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { ChangeSource } from '../events/changeCoverage.js';
import type { RedisLink, RedisLinkState } from '../redis/redisLink.js';
import { entityIdentity, type CacheEntry, type EntityCache } from './entityCache.js';
import type { Invalidator } from './invalidationEndpoint.js';

/** What one process asks every other to drop from its first level (the same eviction it applied to its own). */
export type Eviction =
  | { kind: 'tags'; tags: readonly string[] }
  /** Every entity entry of a type, of one subgraph or of all (keys are `<subgraph>:<typename>:<digest>`). */
  | { kind: 'type'; typename: string; subgraph?: string }
  | { kind: 'subgraph'; subgraph: string };

export interface SharedEntityCacheOptions {
  /** Prepended to every Redis key and to the channel (REDIS_KEY_PREFIX), so several gateways can share one Redis. */
  prefix: string;
  clock: Clock;
  /**
   * Told when this process hears other processes' evictions and when it stops hearing them. An eviction published
   * while it did not is lost to it, so its first level then holds answers nothing will evict: a gap.
   */
  evictionsHeard?: ChangeSource;
}

/** How long an entry with an ETag stays in Redis past its freshness windows, for conditional requests. */
export const VALIDATOR_KEEP_SECONDS = 600;
/** A tag set larger than this is pruned of a few expired keys on every store. */
const PRUNE_ABOVE = 256;
/** Keys per SCAN step when evicting a type or a subgraph. */
const SCAN_COUNT = 500;

/**
 * Stores the entry and indexes it under each of its tags. KEYS[1]: the entry; KEYS[2..]: the tag sets.
 * ARGV: JSON, TTL ms, the entry's key (the set member), the prefix of entry keys (for pruning).
 */
const STORE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  if redis.call('SCARD', KEYS[i]) > ${PRUNE_ABOVE} then
    for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[i], 16)) do
      if redis.call('EXISTS', ARGV[4] .. member) == 0 then redis.call('SREM', KEYS[i], member) end
    end
  end
end
return 1`;

/** Deletes every entry of the tag sets KEYS, and the sets; ARGV[1]: the prefix of entry keys. Returns how many. */
const EVICT_TAGS_SCRIPT = `
local evicted = 0
for i = 1, #KEYS do
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    evicted = evicted + redis.call('DEL', ARGV[1] .. member)
  end
  redis.call('DEL', KEYS[i])
end
return evicted`;

type ScriptedRedis = Redis & {
  gatewayStoreEntry(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
  gatewayEvictTags(numKeys: number, ...keysThenArgs: string[]): Promise<number>;
};

interface EvictionMessage {
  origin: string;
  eviction: Eviction;
}

export class SharedEntityCache {
  /** Tells this process's own evictions from the others' on the channel. */
  private readonly origin = randomUUID();
  private readonly listeners = new Set<(eviction: Eviction) => void>();
  private readonly entryPrefix: string;
  private readonly tagPrefix: string;
  private readonly channel: string;

  constructor(private readonly link: RedisLink, private readonly options: SharedEntityCacheOptions) {
    this.entryPrefix = `${options.prefix}e:`;
    this.tagPrefix = `${options.prefix}t:`;
    this.channel = `${options.prefix}evictions`;
    // Sent as EVALSHA (the script body only when Redis does not know it yet).
    link.client.defineCommand('gatewayStoreEntry', { lua: STORE_SCRIPT });
    link.client.defineCommand('gatewayEvictTags', { lua: EVICT_TAGS_SCRIPT });
    const heard = options.evictionsHeard;
    let subscribedBefore = false;
    link.subscribe(this.channel, (message) => this.heard(message), heard && {
      subscribed() {
        heard.cut(`channel ${options.prefix}evictions`, subscribedBefore ? 'resubscribed' : 'start');
        subscribedBefore = true;
      },
      lost: (reason) => heard.lost(reason),
    });
  }

  /** Whether Redis is in use now (`down`: every call behaves as with the first level only). */
  get status(): RedisLinkState {
    return this.link.status;
  }

  /** The entry, fresh or stale (freshness is `freshness.ts`'s call); `undefined` when absent or Redis is in trouble. */
  async get(key: string): Promise<CacheEntry | undefined> {
    return (await this.getMany([key]))[0];
  }

  /** Several entries in one round trip (MGET), in the order of `keys`. Never rejects. */
  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    if (keys.length === 0) return [];
    const answer = await this.link.run(
      'entity_get',
      (redis) => redis.mget(keys.map((key) => this.entryPrefix + key)),
      (values) => (values.some((v) => v !== null) ? 'hit' : 'miss'),
    );
    if (!answer.ok) return keys.map(() => undefined);
    return answer.value.map((raw) => (raw === null ? undefined : parseEntry(raw)));
  }

  /** Stores the entry for every process (fire and forget); one already past all its windows is not sent. */
  set(key: string, entry: CacheEntry): void {
    const ttlMs = sharedEntryTtlMs(entry, this.options.clock.now());
    if (ttlMs <= 0) return;
    const tags = [...new Set((entry as { tags?: readonly string[] }).tags ?? [])];
    const keys = [this.entryPrefix + key, ...tags.map((tag) => this.tagPrefix + tag)];
    void this.link.run('entity_set', (redis) =>
      (redis as ScriptedRedis).gatewayStoreEntry(keys.length, ...keys, JSON.stringify(entry), Math.ceil(ttlMs), key, this.entryPrefix));
  }

  /** Drops every shared entry carrying one of the tags, and tells every process; returns how many in Redis. */
  evictTags(tags: readonly string[]): Promise<number> {
    return this.evict({ kind: 'tags', tags });
  }

  /**
   * Applies one eviction in Redis, then publishes it for the other processes (their first levels). The caller
   * applies it to its own first level. Never rejects: Redis trouble counts 0.
   */
  async evict(eviction: Eviction, { broadcast = true }: { broadcast?: boolean } = {}): Promise<number> {
    const evicted = await this.evictInRedis(eviction);
    if (!broadcast) return evicted;
    const message: EvictionMessage = { origin: this.origin, eviction };
    await this.link.run('publish', (redis) => redis.publish(this.channel, JSON.stringify(message)));
    return evicted;
  }

  /** Calls `listener` with every eviction another process applied; returns a function that stops it. */
  onRemoteEviction(listener: (eviction: Eviction) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops hearing evictions; the link (shared with APQ) is closed by its owner. */
  close(): void {
    this.listeners.clear();
  }

  private async evictInRedis(eviction: Eviction): Promise<number> {
    switch (eviction.kind) {
      case 'tags': {
        if (eviction.tags.length === 0) return 0;
        const sets = eviction.tags.map((tag) => this.tagPrefix + tag);
        const answer = await this.link.run('evict', (redis) => (redis as ScriptedRedis).gatewayEvictTags(sets.length, ...sets, this.entryPrefix));
        return answer.ok ? Number(answer.value) : 0;
      }
      case 'type':
        return this.evictMatching(`${eviction.subgraph === undefined ? '*' : globEscape(eviction.subgraph)}:${globEscape(eviction.typename)}:*`);
      case 'subgraph':
        return this.evictMatching(`${globEscape(eviction.subgraph)}:*`);
      default:
        throw new UnreachableEviction(eviction);
    }
  }

  /** Rare and administrative: walks the entry keys with SCAN (never blocking Redis), deleting those that match. */
  private async evictMatching(keyPattern: string): Promise<number> {
    let cursor = '0';
    let evicted = 0;
    do {
      const step = await this.link.run('evict', async (redis) => {
        const [next, keys] = await redis.scan(cursor, 'MATCH', this.entryPrefix + keyPattern, 'COUNT', SCAN_COUNT);
        return { next, deleted: keys.length > 0 ? await redis.unlink(...keys) : 0 };
      });
      if (!step.ok) return evicted;
      evicted += step.value.deleted;
      cursor = step.value.next;
    } while (cursor !== '0');
    return evicted;
  }

  private heard(raw: string): void {
    let message: EvictionMessage;
    try {
      message = JSON.parse(raw) as EvictionMessage;
    } catch {
      return;
    }
    if (message.origin === this.origin || !isEviction(message.eviction)) return;
    for (const listener of this.listeners) listener(message.eviction);
  }
}

/**
 * An invalidator (POST /invalidation, change events) that evicts from this process's first level at once (the
 * count it returns) and from Redis and every other process's first level in the background.
 * `broadcast: false` is for change events, which every process hears by itself: Redis is cleaned, nothing is sent.
 */
export function sharedInvalidator(local: Invalidator, shared: SharedEntityCache, { broadcast = true }: { broadcast?: boolean } = {}): Invalidator {
  const everywhere = (eviction: Eviction) => void shared.evict(eviction, { broadcast });
  return {
    invalidateTags(tags) {
      everywhere({ kind: 'tags', tags: [...tags] });
      return local.invalidateTags(tags);
    },
    invalidateEntity(typename, keyFields) {
      everywhere({ kind: 'tags', tags: [entityIdentity(typename, keyFields)] });
      return local.invalidateEntity(typename, keyFields);
    },
    invalidateType(typename, subgraph) {
      everywhere(subgraph === undefined ? { kind: 'type', typename } : { kind: 'type', typename, subgraph });
      return local.invalidateType(typename, subgraph);
    },
    invalidateSubgraph(subgraph) {
      everywhere({ kind: 'subgraph', subgraph });
      return local.invalidateSubgraph(subgraph);
    },
  };
}

/** Applies an eviction (heard from another process) to a first level. */
export function applyEviction(cache: EntityCache, eviction: Eviction): number {
  switch (eviction.kind) {
    case 'tags':
      return cache.evictTags(eviction.tags);
    case 'type':
      return cache.evictType(eviction.typename, eviction.subgraph);
    case 'subgraph':
      return cache.evictSubgraph(eviction.subgraph);
    default:
      throw new UnreachableEviction(eviction);
  }
}

/** How long Redis keeps an entry from now: until its last window closes (see the header); <= 0 = not worth sending. */
export function sharedEntryTtlMs(entry: CacheEntry, nowMs: number): number {
  const { maxAgeSeconds, staleIfErrorSeconds } = entry;
  const staleWhileRevalidateSeconds = (entry as { staleWhileRevalidateSeconds?: number }).staleWhileRevalidateSeconds ?? 0;
  let windowSeconds = maxAgeSeconds + Math.max(staleIfErrorSeconds, staleWhileRevalidateSeconds);
  if (entry.etag) windowSeconds = Math.max(windowSeconds, maxAgeSeconds + VALIDATOR_KEEP_SECONDS);
  return entry.storedAtMs + windowSeconds * 1_000 - nowMs;
}

/** An entry as stored, or `undefined` when what Redis holds is not one (another version, a stray key). */
function parseEntry(raw: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(raw) as Partial<CacheEntry>;
    const valid = entry !== null && typeof entry === 'object'
      && entry.value !== null && typeof entry.value === 'object'
      && typeof entry.storedAtMs === 'number' && typeof entry.maxAgeSeconds === 'number'
      && typeof entry.staleIfErrorSeconds === 'number'
      && (entry.scope === 'public' || entry.scope === 'private')
      && (entry.etag === null || typeof entry.etag === 'string');
    // Fields an older gateway did not write get their neutral value; one it could not vouch for is revalidated.
    return valid ? ({ tags: [], staleWhileRevalidateSeconds: 0, evictable: false, ...entry } as CacheEntry) : undefined;
  } catch {
    return undefined;
  }
}

function isEviction(value: unknown): value is Eviction {
  if (!value || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  switch (e.kind) {
    case 'tags':
      return Array.isArray(e.tags) && e.tags.every((t) => typeof t === 'string');
    case 'type':
      return typeof e.typename === 'string' && (e.subgraph === undefined || typeof e.subgraph === 'string');
    case 'subgraph':
      return typeof e.subgraph === 'string';
    default:
      return false;
  }
}

/** SCAN MATCH is a glob: a subgraph or type name is matched literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

class UnreachableEviction extends Error {
  constructor(eviction: never) {
    super(`unknown eviction ${JSON.stringify(eviction)}`);
  }
}
