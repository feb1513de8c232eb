/**
 * A page subgraph's consumer of topclients' events: idempotent and versioned. Each delivered batch is applied in
 * ONE transaction together with the consumer's new position, so a consumer that dies resumes exactly after its
 * last commit. Seller ID lists are applied only when their version is newer than the stored one
 * (`applyClientIds`), so repeated and reordered events leave the right final state. A list that is applied also
 * writes this service's own `seller-client-ids-applied` event to its outbox in the same transaction (a repeat,
 * applying nothing, writes nothing), so caches in front of this service hear of the change exactly when it is
 * readable here, never before. An event that cannot be read
 * (bad payload, unknown schema version) is parked with its position, logged, and skipped: the stream goes on.
 */
import { applyClientIds } from './clientIdProjection.js';
import { inMessageSpan } from '../../gateway/src/telemetry/tracing.js';
import type { ConsumerTransport, DeliveredEvent } from './consumerTransport.js';
import type { EventLog } from './eventLog.js';
import { InvalidEventError, parseChangeEvent, sellerClientIdsApplied } from './events.js';
import { appendToOutbox, notifyOutbox } from './outbox.js';
import type { Database, Queryable } from './storage.js';

export interface ConsumerOptions {
  db: Database;
  /** The source's name, the key of this consumer's stored position ("topclients"). */
  source: string;
  transport: ConsumerTransport;
  log: EventLog;
}

export interface BatchResult {
  applied: number;
  /** Events read but older than (or as old as) what is stored: repeats and stragglers. */
  skipped: number;
  parked: number;
}

export interface RunningConsumer {
  readonly transport: ConsumerTransport['kind'];
  status(): Promise<ConsumerStatus>;
  stop(): Promise<void>;
}

export interface ConsumerStatus {
  source: string;
  transport: ConsumerTransport['kind'];
  position: number;
  /** Events at the source not yet consumed; null when the source cannot be asked. */
  lag: number | null;
  parked: number;
  applied: number;
}

export async function storedPosition(db: Queryable, source: string): Promise<number> {
  const [row] = await db.query<{ position: string }>('SELECT position::text AS position FROM event_positions WHERE source = $1', [source]);
  return row ? Number(row.position) : 0;
}

/** Applies one batch and stores the position, in one transaction. */
export async function consumeBatch(db: Database, source: string, events: readonly DeliveredEvent[], log: EventLog): Promise<BatchResult> {
  const result: BatchResult = { applied: 0, skipped: 0, parked: 0 };
  const parkedNow: { position: number; error: string }[] = [];
  await db.transaction(async (tx) => {
    result.applied = result.skipped = result.parked = 0;
    parkedNow.length = 0;
    let position = await storedPosition(tx, source);
    for (const delivered of events) {
      let event;
      try {
        event = parseChangeEvent(delivered.raw);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        await tx.query(
          'INSERT INTO parked_events (source, position, raw, error) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [source, delivered.position, delivered.raw, error.message],
        );
        parkedNow.push({ position: delivered.position, error: error.message });
        result.parked += 1;
        position = Math.max(position, delivered.position);
        continue;
      }
      if (event.type === 'seller-client-ids-changed') {
        const { sellerId, clientIds } = event.payload;
        const version = event.version;
        // In the trace of the edit, when the event carries one: the applied event written here carries it on.
        const applied = await inMessageSpan(`apply ${event.type}`, event.traceparent, { 'event.id': event.id, 'event.type': event.type, 'event.version': version, 'event.source': source }, async (span) => {
          const done = await applyClientIds(tx, sellerId, clientIds, version);
          span?.setAttribute('event.applied', done);
          if (done) await appendToOutbox(tx, sellerClientIdsApplied(sellerId, clientIds, version));
          return done;
        });
        if (applied) result.applied += 1;
        else result.skipped += 1;
      } else {
        // Client details live at topclients only; page subgraphs hold no copy to change (nor do they read
        // another page subgraph's applied events).
        result.skipped += 1;
      }
      position = Math.max(position, delivered.position);
    }
    await tx.query(
      `INSERT INTO event_positions (source, position) VALUES ($1, $2)
       ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
      [source, position],
    );
  });
  // Wakes this process's feed readers and relay at once (they poll too, for writes by other instances).
  if (result.applied > 0) notifyOutbox(db);
  // Logged after commit, so the log never names a parking that was rolled back.
  for (const parked of parkedNow) log('warn', 'parked an unreadable event', { source, position: parked.position, error: parked.error });
  return result;
}

export function startConsumer(options: ConsumerOptions): RunningConsumer {
  const { db, source, transport, log } = options;
  let applied = 0;
  const running = transport.start(async (events) => {
    const result = await consumeBatch(db, source, events, log);
    applied += result.applied;
  }, () => storedPosition(db, source));
  log('info', 'consuming events', { source, transport: transport.kind });
  return {
    transport: transport.kind,
    async status() {
      const position = await storedPosition(db, source);
      const [parked] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM parked_events WHERE source = $1', [source]);
      return { source, transport: transport.kind, position, lag: await transport.pending(position), parked: parked!.n, applied };
    },
    stop: () => running.stop(),
  };
}
