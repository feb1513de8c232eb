/**
 * Where Apollo Server keeps automatic persisted queries (APQ) when REDIS_URL is set: in Redis, so a hash
 * registered through one gateway process or replica runs by hash on every other. It is Apollo's `KeyValueCache`
 * (`@apollo/utils.keyvaluecache`: get / set / delete, `ttl` in seconds), which Apollo prefixes with `apq:`.
 *
 * Every registration is also kept in a bounded in-memory LRU, which answers whenever Redis does not (down, slow, cut:
 * see redisLink.ts): a client then registers again through the normal APQ round trip at worst, and a hash this
 * process registered itself keeps working. Redis trouble is never a failed request.
 */
import { LRUCache } from 'lru-cache';
import type { RedisLink } from '../redis/redisLink.js';

/** The shape of `@apollo/utils.keyvaluecache`'s KeyValueCache<string>, which Apollo Server's `persistedQueries.cache` takes. */
export interface ApqKeyValueCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

export interface SharedApqStoreOptions {
  /** Prepended to every Redis key (REDIS_KEY_PREFIX). */
  prefix: string;
  /** Bytes of query text the in-memory fallback keeps. */
  fallbackMaxBytes?: number;
}

export class SharedApqStore implements ApqKeyValueCache {
  private readonly local: LRUCache<string, string>;
  private readonly prefix: string;

  constructor(private readonly link: RedisLink, options: SharedApqStoreOptions) {
    this.prefix = options.prefix;
    this.local = new LRUCache<string, string>({
      maxSize: options.fallbackMaxBytes ?? 16 * 1_048_576,
      sizeCalculation: (value, key) => value.length + key.length,
    });
  }

  async get(key: string): Promise<string | undefined> {
    const answer = await this.link.run('apq_get', (redis) => redis.get(this.prefix + key), (value) => (value === null ? 'miss' : 'hit'));
    return (answer.ok ? answer.value ?? undefined : undefined) ?? this.local.get(key);
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttlSeconds = options?.ttl ?? null;
    this.local.set(key, value, ttlSeconds ? { ttl: ttlSeconds * 1_000 } : {});
    await this.link.run('apq_set', (redis) =>
      ttlSeconds ? redis.set(this.prefix + key, value, 'EX', ttlSeconds) : redis.set(this.prefix + key, value));
  }

  async delete(key: string): Promise<boolean> {
    const hadLocal = this.local.delete(key);
    const answer = await this.link.run('apq_delete', (redis) => redis.del(this.prefix + key));
    return hadLocal || (answer.ok && answer.value > 0);
  }
}
