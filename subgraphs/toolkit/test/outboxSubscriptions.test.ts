import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sellerClientIdsApplied } from '../events.js';
import { migrate } from '../migrations.js';
import { appendToOutbox, notifyOutbox } from '../outbox.js';
import { OutboxSubscriptions, SlowSubscriber } from '../outboxSubscriptions.js';
import { openDatabase, type Database } from '../storage.js';
import { until } from './subscriptionClient.js';

describe('the outbox tailer behind subscriptions (gigs database on PGlite)', () => {
  let db: Database;
  const logged: string[] = [];
  const write = async (sellerId: string, version: number) => {
    await db.transaction((tx) => appendToOutbox(tx, sellerClientIdsApplied(sellerId, [`c-${version}`], version)));
    notifyOutbox(db);
  };

  beforeAll(async () => {
    db = await openDatabase({ kind: 'pglite' });
    await migrate(db, fileURLToPath(new URL('../../gigs/migrations', import.meta.url)));
  });
  afterAll(() => db.close());

  it('a subscriber that does not keep up is ended with an error; the others carry on', async () => {
    const tailer = new OutboxSubscriptions(db, { log: (_level, msg) => logged.push(msg), maxQueued: 3 });
    const slow = await tailer.subscribe(() => true);
    const keeping = await tailer.subscribe(() => true);
    for (let version = 1; version <= 5; version++) {
      await write('s-slow', version);
      expect((await keeping.next()).value.version).toBe(version);
    }
    await expect(slow.next()).rejects.toThrow(SlowSubscriber);
    expect(await slow.next()).toEqual({ done: true, value: undefined });
    expect(tailer.subscriberCount).toBe(1);
    await tailer.stop();
  });

  it('stop() ends every subscriber, a next() waiting included, and refuses new ones', async () => {
    const tailer = new OutboxSubscriptions(db, { log: (_level, msg) => logged.push(msg) });
    const waiting = await tailer.subscribe(() => true);
    const pending = waiting.next();
    await until(tailer, () => tailer.tailing);
    await tailer.stop();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(tailer.tailing).toBe(false);
    await expect(tailer.subscribe(() => true)).rejects.toThrow('the service is stopping');
    expect(logged).toEqual([]);
  });
});
