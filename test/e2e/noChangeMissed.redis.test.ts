/**
 * No change missed between replicas, with real processes (issue 23): two gateway processes share Redis, and an
 * eviction sent to one (`POST /invalidation`) reaches the other over Redis pub/sub. Replica A reaches Redis through a
 * TCP proxy the test cuts; a client is renamed and evicted through replica B meanwhile, so A misses the broadcast.
 * When A's subscription comes back that is a gap it cannot replay: A revalidates everything it cached before, and
 * the page it serves shows the rename, asked at once and again.
 *
 * Every wait is on a gateway's own log line; the time from Redis coming back to A's page showing the rename is
 * printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processSystem, type ProcessSystem, type RunningGatewayProcess } from '../support/processSystem.js';
import { deleteKeys, REDIS_URL, redisAvailable, startRedisProxy, uniqueKeyPrefix, type RedisProxy } from '../support/redis.js';

const ASKED_AGAIN = 20;
const INVALIDATION_SECRET = 'test-invalidation-secret-0123456789';
const SUBSCRIBED = 'following change events; answers cached before are revalidated';

describe.runIf(redisAvailable)('no change missed: a replica cut from Redis while an eviction was broadcast', () => {
  let system: ProcessSystem;
  let proxy: RedisProxy;
  let prefix: string;
  let a: RunningGatewayProcess;
  let b: RunningGatewayProcess;

  beforeAll(async () => {
    system = await processSystem();
    proxy = await startRedisProxy();
    prefix = uniqueKeyPrefix('gap');
    await Promise.all([system.subgraphs.topclients.start(), system.subgraphs.gigs.start(), system.subgraphs.users.start()]);
    const shared = { REDIS_KEY_PREFIX: prefix, INVALIDATION_SECRET };
    [a, b] = await Promise.all([system.startGateway({ ...shared, REDIS_URL: proxy.url, REDIS_TIMEOUT_MS: '1' }), system.startGateway({ ...shared, REDIS_URL })]);
    // Each hears the other's evictions from here on.
    await Promise.all([a.line(SUBSCRIBED), b.line(SUBSCRIBED)]);
  }, 180_000);
  afterAll(async () => {
    await system?.stop();
    await proxy?.stop();
    if (prefix) await deleteKeys(prefix);
  });

  it('replica A, cut from Redis while B evicted a renamed client, revalidates what it cached once it hears Redis again', async () => {
    system.printLogsIfFailed();
    const { sellerId, gigId, clientIds: [clientId] } = system.gigWithClients(1);
    const before = await a.topClientNames(gigId);
    expect(await a.topClientNames(gigId)).toEqual(before);
    expect(await b.topClientNames(gigId)).toEqual(before);

    const cut = a.mark;
    proxy.cut();
    // A's subscription is what must miss the broadcast; whether its command connection was already out of use is
    // beside the point (a busy machine can take it out before the cut, and then the cut logs nothing about it).
    await a.lineAfter(cut, (line) => String(line.msg).startsWith('stopped hearing change events') && line.source === 'redis evictions');
    const renamed = `Renamed while A was cut from Redis ${Date.now()}`;
    expect((await b.run('UpdateClient', { id: clientId, input: { name: renamed } }, sellerId)).body.data.updateClient.name).toBe(renamed);
    const invalidation = await fetch(b.url.replace('/graphql', '/invalidation'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: INVALIDATION_SECRET },
      body: JSON.stringify({ kind: 'entity', type: 'Client', key: { id: clientId } }),
    });
    expect(invalidation.status).toBe(200);
    expect((await b.topClientNames(gigId))[0]).toBe(renamed);
    // The gap is real: A did not hear the eviction, and its own copy is fresh by max-age.
    expect((await a.topClientNames(gigId))[0]).toBe(before[0]);

    const mark = a.mark;
    const restored = performance.now();
    proxy.restore();
    const gap = await a.lineAfter(mark, (line) => line.msg === 'missed change events that cannot be replayed; every answer cached before is revalidated');
    expect(gap).toMatchObject({ source: 'redis evictions', reason: 'resubscribed' });
    const first = await a.topClientNames(gigId);
    console.log(`[no change missed] Redis back for replica A: its page shows the rename ${(performance.now() - restored).toFixed(0)} ms after the cut ended`);
    expect(first[0]).toBe(renamed);
    for (let i = 0; i < ASKED_AGAIN; i++) expect((await a.topClientNames(gigId))[0]).toBe(renamed);
  }, 120_000);
});
