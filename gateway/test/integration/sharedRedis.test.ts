/**
 * Issue 14: gateways sharing one real Redis (REDIS_URL). Two in-process gateways on port 0 over the same
 * subgraphs, each with its own first cache level, share the second level, evictions and APQ registrations; a TCP
 * proxy in front of Redis is cut or paused mid-load (the machine's Redis is never stopped) and every page still
 * succeeds, then Redis is used again.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { CacheEntry } from '../../src/cache/entityCache.js';
import { SharedEntityCache, type Eviction } from '../../src/cache/sharedEntityCache.js';
import { jsonLogger, type Logger } from '../../src/logger.js';
import { GatewayMetrics } from '../../src/metrics/registry.js';
import { RedisLink } from '../../src/redis/redisLink.js';
import type { RunningGateway } from '../../src/server.js';
import { deleteKeys, REDIS_URL, redisAvailable, startRedisProxy, uniqueKeyPrefix, type RedisProxy } from '../../../test/support/redis.js';
import { PAGE, ids, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';

const INVALIDATION_SECRET = 'a-secret-of-sixteen-chars';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function post(gateway: RunningGateway, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

/** A logger that keeps what was said, to count "Redis unavailable" lines. */
function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function entry(value: Record<string, unknown>, tags: string[], nowMs = systemClock.now()): CacheEntry {
  return { value, storedAtMs: nowMs, maxAgeSeconds: 60, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0, etag: null, scope: 'public', tags, evictable: true };
}

describe.skipIf(!redisAvailable)('shared Redis level', () => {
  const prefixes: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    for (const prefix of prefixes.splice(0)) await deleteKeys(prefix);
  });

  async function link(url = REDIS_URL, logger: Logger = jsonLogger('silent')): Promise<RedisLink> {
    const made = new RedisLink({ url, timeoutMs: 200, clock: systemClock, logger, metrics: new GatewayMetrics() });
    cleanups.push(() => made.close());
    await made.whenStatus('up');
    return made;
  }

  describe('SharedEntityCache on its own', () => {
    it('an entry stored by one process is read whole by another, for max-age plus its longest stale window', async () => {
      const prefix = uniqueKeyPrefix('shared');
      prefixes.push(prefix);
      const shared = await link();
      const writer = new SharedEntityCache(shared, { prefix, clock: systemClock });
      const reader = new SharedEntityCache(shared, { prefix, clock: systemClock });
      const stored = { ...entry({ id: 'b1', name: 'One' }, ['Brand:{"id":"b1"}']), staleIfErrorSeconds: 300, etag: '"v1"', extra: 'kept' };
      writer.set('brands:Brand:abc', stored);
      // Same connection: the read is answered after the write.
      expect(await reader.get('brands:Brand:abc')).toEqual(stored);
      const redis = new Redis(REDIS_URL);
      cleanups.push(() => void redis.disconnect());
      const ttlMs = await redis.pttl(`${prefix}e:brands:Brand:abc`);
      // max-age 60 + stale-if-error 300 < max-age + 600 for a validator: the validator window wins.
      expect(ttlMs).toBeGreaterThan(655_000);
      expect(ttlMs).toBeLessThanOrEqual(660_000);
      expect(await redis.pttl(`${prefix}t:Brand:{"id":"b1"}`)).toBeGreaterThanOrEqual(ttlMs - 1_000);
      expect(await reader.getMany(['brands:Brand:abc', 'brands:Brand:none'])).toEqual([stored, undefined]);
    });

    it('an eviction by tag, type or subgraph empties Redis and reaches every other process, not the one that sent it', async () => {
      const prefix = uniqueKeyPrefix('evict');
      prefixes.push(prefix);
      const [linkA, linkB] = [await link(), await link()];
      const a = new SharedEntityCache(linkA, { prefix, clock: systemClock });
      const b = new SharedEntityCache(linkB, { prefix, clock: systemClock });
      await Promise.all([linkA.subscribed(), linkB.subscribed()]);
      const heardByA: Eviction[] = [];
      a.onRemoteEviction((e) => heardByA.push(e));
      a.set('brands:Brand:1', entry({ id: 'b1' }, ['Brand:{"id":"b1"}', 'brand-list']));
      a.set('brands:Brand:2', entry({ id: 'b2' }, ['Brand:{"id":"b2"}', 'brand-list']));
      a.set('shop:Product:3', entry({ id: 'p3' }, ['Product:{"id":"p3"}']));
      a.set('shop:Note:4', entry({ id: 'n4' }, []));
      expect((await a.getMany(['brands:Brand:1', 'brands:Brand:2', 'shop:Product:3', 'shop:Note:4'])).every(Boolean)).toBe(true);

      let heard = new Promise<Eviction>((resolve) => b.onRemoteEviction(resolve));
      expect(await a.evictTags(['brand-list'])).toBe(2);
      expect(await heard).toEqual({ kind: 'tags', tags: ['brand-list'] });
      expect(await b.getMany(['brands:Brand:1', 'brands:Brand:2', 'shop:Product:3'])).toEqual([undefined, undefined, expect.anything()]);

      heard = new Promise<Eviction>((resolve) => b.onRemoteEviction(resolve));
      expect(await a.evict({ kind: 'type', typename: 'Product', subgraph: 'shop' })).toBe(1);
      expect(await heard).toEqual({ kind: 'type', typename: 'Product', subgraph: 'shop' });
      heard = new Promise<Eviction>((resolve) => b.onRemoteEviction(resolve));
      expect(await a.evict({ kind: 'subgraph', subgraph: 'shop' })).toBe(1);
      await heard;
      expect(await b.get('shop:Note:4')).toBeUndefined();
      expect(heardByA).toEqual([]);
    });

    it('with Redis gone every call answers at once as a miss, and nothing rejects', async () => {
      const proxy = await startRedisProxy();
      cleanups.push(() => proxy.stop());
      const prefix = uniqueKeyPrefix('gone');
      prefixes.push(prefix);
      const logger = recordingLogger();
      const shared = await link(proxy.url, logger);
      const cache = new SharedEntityCache(shared, { prefix, clock: systemClock });
      proxy.cut();
      await shared.whenStatus('down');
      cache.set('k', entry({ id: 1 }, ['t']));
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.evictTags(['t'])).toBe(0);
      proxy.restore();
      await shared.whenStatus('up');
      expect(logger.lines.filter((l) => l.msg.startsWith('Redis unavailable'))).toHaveLength(1);
      expect(logger.lines.filter((l) => l.msg.startsWith('Redis available again'))).toHaveLength(1);
    });
  });

  describe('two gateways', () => {
    let fixture: ReadPathFixture;
    let prefix: string;
    beforeAll(async () => {
      prefix = uniqueKeyPrefix('gateways');
      fixture = await startReadPathFixture({ env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, INVALIDATION_SECRET } });
      await fixture.gateway.redis!.whenStatus('up');
      // Hears the other gateway's evictions: what it stores from now on, the other trusts.
      await fixture.gateway.coverage.whenCovered();
    });
    afterAll(async () => {
      await fixture?.stop();
      await deleteKeys(prefix);
    });

    async function second(env: Record<string, string> = {}): Promise<RunningGateway> {
      const gateway = await fixture.startGateway(env);
      cleanups.push(() => gateway.stop());
      if (gateway.redis) await gateway.redis.whenStatus('up');
      await gateway.coverage.whenCovered();
      return gateway;
    }

    const brandsAsked = () => fixture.brands.entityCalls().flatMap((c) => c.representations.map((r: { id: string }) => r.id));

    it('an entity fetched through one gateway is served from Redis by the other (counted at the subgraph)', async () => {
      const other = await second();
      fixture.brands.reset();
      const first = await fixture.query(PAGE, { ids: ids(100, 105) });
      expect(first.body.errors).toBeUndefined();
      const fetched = brandsAsked().length;
      expect(fetched).toBeGreaterThan(0);
      const viaOther = await post(other, { query: PAGE, variables: { ids: ids(100, 105) } });
      expect(viaOther.body).toEqual(first.body);
      expect(brandsAsked()).toHaveLength(fetched);
    });

    it('an invalidation sent to one gateway evicts on both', async () => {
      const other = await second();
      await other.redis!.subscribed();
      const page = { query: PAGE, variables: { ids: ids(0, 5) } };
      expect((await fixture.query(page.query, page.variables)).body.errors).toBeUndefined();
      expect((await post(other, page)).body.errors).toBeUndefined();
      fixture.brands.reset();
      // Both first levels hold the brands now.
      await fixture.query(page.query, page.variables);
      await post(other, page);
      expect(brandsAsked()).toEqual([]);

      const heard = new Promise<Eviction>((resolve) => other.sharedCache!.onRemoteEviction(resolve));
      const invalidation = await fetch(fixture.gateway.url.replace('/graphql', '/invalidation'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: INVALIDATION_SECRET },
        body: JSON.stringify({ kind: 'entity', type: 'Brand', key: { id: 'b1' } }),
      });
      expect(invalidation.status).toBe(200);
      await heard;
      const setsBefore = await fixture.metric('gateway_redis_operations_total{operation="entity_set",outcome="ok"}');
      await fixture.query(page.query, page.variables);
      // The first gateway asked for b1 again (and for nothing else), and stored it in Redis too.
      expect(brandsAsked()).toEqual(['b1']);
      await vi.waitFor(async () =>
        expect(await fixture.metric('gateway_redis_operations_total{operation="entity_set",outcome="ok"}')).toBeGreaterThan(setsBefore || 0));
      await post(other, page);
      // The other one dropped its own copy: it took the new b1 from Redis, asking the subgraph for nothing.
      expect(brandsAsked()).toEqual(['b1']);
    });

    it('a persisted query registered through one gateway runs by hash on the other', async () => {
      const other = await second();
      const query = `query ApqShared($ids: [ID!]!) { products(ids: $ids) { id brand { name } } }`;
      const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
      const before = await post(other, { variables: { ids: ['p1'] }, extensions });
      expect(before.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      const registered = await post(fixture.gateway, { query, variables: { ids: ['p1'] }, extensions });
      expect(registered.body.errors).toBeUndefined();
      const byHash = await post(other, { variables: { ids: ['p1'] }, extensions });
      expect(byHash.body).toEqual(registered.body);
    });
  });

  describe('Redis in trouble mid-load', () => {
    let fixture: ReadPathFixture;
    let proxy: RedisProxy;
    let prefix: string;
    const logger = recordingLogger();
    beforeAll(async () => {
      proxy = await startRedisProxy();
      prefix = uniqueKeyPrefix('trouble');
      fixture = await startReadPathFixture({ logger, env: { REDIS_URL: proxy.url, REDIS_KEY_PREFIX: prefix, REDIS_TIMEOUT_MS: '100' } });
      await fixture.gateway.redis!.whenStatus('up');
    });
    afterAll(async () => {
      await fixture?.stop();
      await proxy?.stop();
      await deleteKeys(prefix);
    });

    let pageSeq = 0;

    /** One page the APQ way (hash alone, then hash + text), which reads and writes Redis; its final answer. */
    async function apqPage(n: number) {
      const query = `query Load${n}($ids: [ID!]!) { products(ids: $ids) { id title brand { id name } } }`;
      const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
      const variables = { ids: ids(n, n + 3) };
      const first = await post(fixture.gateway, { variables, extensions });
      if (first.body.errors?.[0]?.extensions?.code !== 'PERSISTED_QUERY_NOT_FOUND') return first;
      return post(fixture.gateway, { query, variables, extensions });
    }

    /** `pages` pages, `concurrency` at a time; `trouble` runs once `after` pages have been answered. */
    async function load(pages: number, after: number, trouble: () => void) {
      const answers: { status: number; body: any }[] = [];
      let next = 0;
      const worker = async () => {
        while (next < pages) {
          next++;
          answers.push(await apqPage(++pageSeq));
          if (answers.length === after) trouble();
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      return answers;
    }

    async function storedInRedis(query: string): Promise<boolean> {
      const redis = new Redis(REDIS_URL);
      try {
        return (await redis.exists(`${prefix}apq:${sha256(query)}`)) === 1;
      } finally {
        redis.disconnect();
      }
    }

    it.each([
      ['cut (connections reset, new ones refused)', () => proxy.cut()],
      ['slow (connected, never answering)', () => proxy.pause()],
    ])('Redis %s: every page still succeeds, it is said once, and Redis is used again when it is back', async (_, trouble) => {
      const linesBefore = logger.lines.length;
      const answers = await load(40, 10, trouble);
      expect(answers).toHaveLength(40);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect(answer.body.data.products).toHaveLength(3);
      }
      await fixture.gateway.redis!.whenStatus('down');
      expect(await fixture.metric('gateway_redis_up')).toBe(0);
      const ready = await (await fetch(fixture.gateway.url.replace('/graphql', '/ready'))).json();
      expect(ready).toEqual({ status: 'ready', redis: { configured: true, reachable: false } });

      proxy.restore();
      await fixture.gateway.redis!.whenStatus('up');
      const n = ++pageSeq;
      const query = `query Load${n}($ids: [ID!]!) { products(ids: $ids) { id title brand { id name } } }`;
      expect((await apqPage(n)).body.errors).toBeUndefined();
      expect(await storedInRedis(query)).toBe(true);
      expect(await fixture.metric('gateway_redis_up')).toBe(1);
      const said = logger.lines.slice(linesBefore).map((l) => l.msg);
      expect(said.filter((m) => m.startsWith('Redis unavailable'))).toHaveLength(1);
      expect(said.filter((m) => m.startsWith('Redis available again'))).toHaveLength(1);
    });
  });
});
