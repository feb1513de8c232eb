import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consumeBatch, storedPosition } from '../consumer.js';
import type { DeliveredEvent } from '../consumerTransport.js';
import type { EventLog } from '../eventLog.js';
import { sellerClientIdsChanged, clientUpdated, EVENT_SCHEMA_VERSION, type NewChangeEvent } from '../events.js';
import { migrate } from '../migrations.js';
import { readOutbox } from '../outbox.js';
import { rebuildProjection } from '../pageSubgraphEvents.js';
import { openDatabase, type Database } from '../storage.js';

let SOURCE = '';
let sources = 0;

function delivered(position: number, event: NewChangeEvent | Record<string, unknown>): DeliveredEvent {
  return { position, raw: JSON.stringify({ id: String(position), schemaVersion: EVENT_SCHEMA_VERSION, occurredAt: '2026-01-01T00:00:00.000Z', ...event }) };
}

describe('versioned, idempotent consumer (gigs database on PGlite)', () => {
  let db: Database;
  let logged: { level: string; msg: string; fields?: Record<string, unknown> }[];
  const log: EventLog = (level, msg, fields) => logged.push({ level, msg, fields });
  const idsOf = async (sellerId: string) =>
    (await db.query<{ client_ids: string[]; version: number }>('SELECT client_ids, version FROM seller_client_ids WHERE seller_id = $1', [sellerId]))[0];

  // One database for the file (PGlite starts slowly); each test has its own sellers and its own source position.
  beforeAll(async () => {
    db = await openDatabase({ kind: 'pglite' });
    await migrate(db, fileURLToPath(new URL('../../gigs/migrations', import.meta.url)));
  });
  afterAll(() => db.close());
  beforeEach(() => {
    logged = [];
    SOURCE = `topclients:test-${(sources += 1)}`;
  });

  it('duplicates and reordered events leave the newest version, whatever the delivery order', async () => {
    const v1 = sellerClientIdsChanged('s-1', ['c-1'], 1);
    const v2 = sellerClientIdsChanged('s-1', ['c-1', 'c-2'], 2);
    const v3 = sellerClientIdsChanged('s-1', ['c-2'], 3);
    const result = await consumeBatch(db, SOURCE, [delivered(3, v3), delivered(1, v1), delivered(3, v3), delivered(2, v2)], log);
    expect(result).toEqual({ applied: 1, skipped: 3, parked: 0 });
    expect(await idsOf('s-1')).toEqual({ client_ids: ['c-2'], version: 3 });
    // The same events again (a redelivery after a crash before the ack) change nothing.
    expect(await consumeBatch(db, SOURCE, [delivered(1, v1), delivered(2, v2), delivered(3, v3)], log)).toEqual({ applied: 0, skipped: 3, parked: 0 });
    expect(await idsOf('s-1')).toEqual({ client_ids: ['c-2'], version: 3 });
    expect(await storedPosition(db, SOURCE)).toBe(3);
  });

  it('a poison event is parked with its position and logged, and the events after it are applied', async () => {
    const poison = { type: 'seller-client-ids-changed', entity: { typename: 'Seller', keyFields: { id: 's-2' } }, version: 2, payload: { sellerId: 's-2' } };
    const result = await consumeBatch(db, SOURCE, [
      delivered(10, sellerClientIdsChanged('s-2', ['c-1'], 1)),
      delivered(11, poison),
      { position: 12, raw: '{not json' },
      delivered(13, { ...sellerClientIdsChanged('s-3', ['c-9'], 1), schemaVersion: 2 }),
      delivered(14, sellerClientIdsChanged('s-2', ['c-5', 'c-6'], 3)),
    ], log);
    expect(result).toEqual({ applied: 2, skipped: 0, parked: 3 });
    expect(await idsOf('s-2')).toEqual({ client_ids: ['c-5', 'c-6'], version: 3 });
    expect(await idsOf('s-3')).toBeUndefined();
    const parked = await db.query<{ position: string; error: string; raw: string }>('SELECT position::text, error, raw FROM parked_events ORDER BY position');
    expect(parked.map((p) => [Number(p.position), p.error])).toEqual([
      [11, 'payload.clientIds must be an array of client ids'],
      [12, 'event is not valid JSON'],
      [13, 'unknown schemaVersion 2 (this consumer reads 1)'],
    ]);
    expect(parked[1]!.raw).toBe('{not json');
    expect(logged.filter((l) => l.msg === 'parked an unreadable event').map((l) => l.fields?.position)).toEqual([11, 12, 13]);
    expect(await storedPosition(db, SOURCE)).toBe(14);
  });

  it('client events move the position but touch no IDs (client details live at topclients)', async () => {
    const before = await db.query('SELECT * FROM seller_client_ids ORDER BY seller_id');
    expect(await consumeBatch(db, SOURCE, [delivered(5, clientUpdated('c-1', 4))], log)).toEqual({ applied: 0, skipped: 1, parked: 0 });
    expect(await db.query('SELECT * FROM seller_client_ids ORDER BY seller_id')).toEqual(before);
    expect(await storedPosition(db, SOURCE)).toBe(5);
  });

  it('an applied list writes this service\'s own seller-client-ids-applied event in the same transaction; a repeat writes none', async () => {
    const from = Number((await db.query<{ id: string }>('SELECT COALESCE(MAX(id), 0)::text AS id FROM outbox'))[0]!.id);
    const v1 = sellerClientIdsChanged('s-6', ['c-1'], 1);
    const v2 = sellerClientIdsChanged('s-6', ['c-2', 'c-1'], 2);
    expect(await consumeBatch(db, SOURCE, [delivered(1, v1), delivered(2, v2), delivered(3, clientUpdated('c-1', 2))], log)).toMatchObject({ applied: 2 });
    expect(await consumeBatch(db, SOURCE, [delivered(2, v2), delivered(1, v1)], log)).toMatchObject({ applied: 0, skipped: 2 });
    const published = await readOutbox(db, from, 100);
    expect(published.map((e) => ({ type: e.type, entity: e.entity, version: e.version, payload: e.payload }))).toEqual([
      { type: 'seller-client-ids-applied', entity: { typename: 'Seller', keyFields: { id: 's-6' } }, version: 1, payload: { sellerId: 's-6', clientIds: ['c-1'] } },
      { type: 'seller-client-ids-applied', entity: { typename: 'Seller', keyFields: { id: 's-6' } }, version: 2, payload: { sellerId: 's-6', clientIds: ['c-2', 'c-1'] } },
    ]);
    expect(published.every((e) => e.schemaVersion === EVENT_SCHEMA_VERSION)).toBe(true);
  });

  it('a rebuild publishes each row it writes or removes as applied, and nothing for rows already in step', async () => {
    await consumeBatch(db, SOURCE, [delivered(1, sellerClientIdsChanged('s-7', ['c-1'], 1)), delivered(2, sellerClientIdsChanged('s-8', ['c-1'], 1))], log);
    const from = Number((await db.query<{ id: string }>('SELECT COALESCE(MAX(id), 0)::text AS id FROM outbox'))[0]!.id);
    const others = (await db.query<{ sellerId: string; version: number; clientIds: string[] }>(
      `SELECT seller_id AS "sellerId", version, client_ids AS "clientIds" FROM seller_client_ids WHERE seller_id NOT IN ('s-7', 's-8')`));
    const result = await rebuildProjection(db, { head: 0, lists: [...others, { sellerId: 's-7', version: 1, clientIds: ['c-1'] }, { sellerId: 's-9', version: 2, clientIds: ['c-3'] }] });
    expect(result).toEqual({ written: 1, removed: 1 });
    expect((await readOutbox(db, from, 100)).map((e) => [e.type, e.entity.keyFields.id, e.version, e.payload])).toEqual([
      ['seller-client-ids-applied', 's-9', 2, { sellerId: 's-9', clientIds: ['c-3'] }],
      ['seller-client-ids-applied', 's-8', 1, { sellerId: 's-8', clientIds: [] }],
    ]);
  });

  it('a batch whose write fails leaves neither its IDs nor its position behind, so it is consumed again', async () => {
    await db.query("ALTER TABLE seller_client_ids ADD CONSTRAINT at_most_three CHECK (cardinality(client_ids) <= 3)");
    await expect(consumeBatch(db, SOURCE, [
      delivered(1, sellerClientIdsChanged('s-4', ['c-1'], 1)),
      delivered(2, sellerClientIdsChanged('s-5', ['c-1', 'c-2', 'c-3', 'c-4'], 1)),
    ], log)).rejects.toThrow(/at_most_three/);
    expect(await idsOf('s-4')).toBeUndefined();
    expect(await storedPosition(db, SOURCE)).toBe(0);
    expect(logged).toEqual([]);
  });
});
