/**
 * The real Redis server (127.0.0.1:6379 here), a unique key prefix per test so tests never see each other's keys,
 * and a TCP proxy in front of it (tcpProxy.ts) that a test can cut, pause or restore without touching the
 * machine's Redis. When the server is missing, tests that need it fail loudly under CI=true and are skipped with a
 * warning elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireServer } from './requiredServer.js';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';

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
  name: 'Redis', url: REDIS_URL, problem: await probe(), neededBy: 'the Redis tests', docSection: 'docs/SCALING.md, "Scaled out on this machine"',
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

/** A TCP proxy in front of the real Redis, so a test cuts the gateway's connection, not the machine's Redis. */
export type RedisProxy = TcpProxy & { /** redis://127.0.0.1:<port> of the proxy. */ url: string };

export async function startRedisProxy(target = REDIS_URL): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const proxy = await startTcpProxy(hostname, Number(port));
  return Object.assign(proxy, { url: `redis://127.0.0.1:${proxy.port}` });
}
