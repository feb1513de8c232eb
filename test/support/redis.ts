/**
 * The real Redis server (127.0.0.1:6379 here), a unique key prefix per test so tests never see each other's keys,
 * and a TCP proxy in front of it that a test can cut, pause or restore without touching the machine's Redis. When
 * the server is missing, tests that need it fail loudly under CI=true and are skipped with a warning elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { requireServer } from './requiredServer.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probe(): Promise<string | null> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

/** False when the server is missing outside CI; inside CI a missing server has already failed the file. */
export const redisAvailable = requireServer({
  name: 'Redis', url: REDIS_URL, problem: await probe(), neededBy: 'the Redis tests', readmeSection: 'Scaled out',
});

/** A key prefix no other test uses; `deleteKeys` removes what was stored under it. */
export function uniqueKeyPrefix(name = 'test'): string {
  return `${name}-${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export interface RedisProxy {
  /** redis://127.0.0.1:<port> of the proxy. */
  url: string;
  /** Resets every connection through the proxy and refuses new ones until `restore`: Redis is gone. */
  cut(): void;
  /** Keeps connections open but forwards nothing until `restore`: Redis is slow (never answers). */
  pause(): void;
  /** Forwards again (accepting new connections; what a pause held is let through). */
  restore(): void;
  /** Connections accepted so far, over the proxy's life. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** A TCP proxy in front of the real Redis, so a test cuts the gateway's connection, not the machine's Redis. */
export async function startRedisProxy(target = REDIS_URL): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let state: 'open' | 'cut' | 'paused' = 'open';
  let connections = 0;
  const server = createServer((client) => {
    if (state === 'cut') {
      client.resetAndDestroy();
      return;
    }
    connections++;
    const upstream = connect(Number(port), hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
    if (state === 'paused') {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    get connections() {
      return connections;
    },
    cut() {
      state = 'cut';
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    pause() {
      state = 'paused';
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    restore() {
      const wasPaused = state === 'paused';
      state = 'open';
      if (!wasPaused) return;
      for (const { client, upstream } of pairs) {
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.resume();
      }
    },
    async stop() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
