/**
 * The transactional outbox: a mutation calls `appendToOutbox` with its own transaction, so the change and its
 * event commit or vanish together. Readers (the change feed, the JetStream relay) read rows by id.
 *
 * Row ids come from a sequence, and two transactions could commit their ids out of order: a reader that had moved
 * past id 8 would never see 7 committing late. `appendToOutbox` therefore takes a transaction-scoped advisory
 * lock first, so outbox writers commit one after the other and ids become visible in increasing order. The lock
 * is taken at the end of a mutation's work, and held only until its commit.
 *
 * Every service that publishes has this table (`outbox`, `outbox_relay_positions`, same shape in each service's
 * migrations): topclients for the source's changes, gigs and users for the changes they applied.
 */
import { EventEmitter } from 'node:events';
import { EVENT_SCHEMA_VERSION, type ChangeEvent, type NewChangeEvent } from './events.js';
import type { Database, Queryable } from './storage.js';
import { activeTraceparent } from '../../gateway/src/telemetry/tracing.js';

/** Arbitrary constant naming "the outbox writer lock" among advisory locks. */
const OUTBOX_LOCK = 7_310_001;

export async function appendToOutbox(tx: Queryable, event: NewChangeEvent): Promise<number> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [OUTBOX_LOCK]);
  const [row] = await tx.query<{ id: string }>(
    `INSERT INTO outbox (event_type, entity_typename, entity_key, version, payload, traceparent)
     VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6) RETURNING id::text AS id`,
    [event.type, event.entity.typename, JSON.stringify(event.entity.keyFields), event.version, JSON.stringify(event.payload), activeTraceparent() ?? null],
  );
  return Number(row!.id);
}

/** Appends several events in one statement (a rebuild may change thousands of rows), in the given order. */
export async function appendAllToOutbox(tx: Queryable, events: readonly NewChangeEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  await tx.query('SELECT pg_advisory_xact_lock($1)', [OUTBOX_LOCK]);
  const traceparent = activeTraceparent() ?? null;
  let written = 0;
  for (let start = 0; start < events.length; start += 1_000) {
    const batch = events.slice(start, start + 1_000).map((event, i) => ({
      ord: i,
      event_type: event.type,
      entity_typename: event.entity.typename,
      entity_key: event.entity.keyFields,
      version: event.version,
      payload: event.payload,
      traceparent,
    }));
    const rows = await tx.query(
      `INSERT INTO outbox (event_type, entity_typename, entity_key, version, payload, traceparent)
       SELECT e.event_type, e.entity_typename, e.entity_key, e.version, e.payload, e.traceparent
       FROM jsonb_to_recordset($1::jsonb) AS e(ord integer, event_type text, entity_typename text, entity_key jsonb, version integer, payload jsonb, traceparent text)
       ORDER BY e.ord
       RETURNING id`,
      [JSON.stringify(batch)],
    );
    written += rows.length;
  }
  return written;
}

interface OutboxRow extends Record<string, unknown> {
  id: string;
  event_type: string;
  entity_typename: string;
  entity_key: Record<string, string>;
  version: number;
  payload: Record<string, unknown>;
  occurred_at: string;
  traceparent: string | null;
}

/** Up to `limit` events after outbox id `afterId`, in id order. */
export async function readOutbox(db: Queryable, afterId: number, limit: number): Promise<ChangeEvent[]> {
  const rows = await db.query<OutboxRow>(
    `SELECT id::text AS id, event_type, entity_typename, entity_key, version, payload, traceparent,
            to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at
     FROM outbox WHERE id > $1 ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map(toEvent);
}

export function toEvent(row: OutboxRow): ChangeEvent {
  return {
    id: row.id,
    schemaVersion: EVENT_SCHEMA_VERSION,
    type: row.event_type,
    entity: { typename: row.entity_typename, keyFields: row.entity_key },
    version: row.version,
    occurredAt: row.occurred_at,
    payload: row.payload,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  } as ChangeEvent;
}

/** The id of the newest outbox row (0 when empty). */
export async function outboxHead(db: Queryable): Promise<number> {
  return (await outboxEnd(db)).head;
}

/** Where the outbox ends, and which outbox it is (`outbox_log`: a new database has another id). */
export async function outboxEnd(db: Queryable): Promise<{ head: number; log: string }> {
  const [row] = await db.query<{ head: string; log: string }>(
    'SELECT COALESCE(MAX(id), 0)::text AS head, (SELECT id FROM outbox_log LIMIT 1) AS log FROM outbox',
  );
  return { head: Number(row!.head), log: row!.log };
}

/**
 * In-process wake-up for readers in the writer's process: a mutation calls `notifyOutbox` after commit and a
 * waiting long-poll answers at once instead of at its next poll. Readers still poll, because another instance of
 * topclients sharing the database writes rows this process never hears about.
 */
const signals = new WeakMap<Database, EventEmitter>();

export function outboxSignal(db: Database): EventEmitter {
  let signal = signals.get(db);
  if (!signal) {
    signal = new EventEmitter();
    signal.setMaxListeners(0);
    signals.set(db, signal);
  }
  return signal;
}

export function notifyOutbox(db: Database): void {
  outboxSignal(db).emit('written');
}

/** Resolves when the outbox is written in this process, after `timeoutMs`, or when `signal` aborts. */
export function waitForOutbox(db: Database, timeoutMs: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const emitter = outboxSignal(db);
    const done = () => {
      clearTimeout(timer);
      emitter.off('written', done);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    emitter.once('written', done);
    abort?.addEventListener('abort', done, { once: true });
  });
}
