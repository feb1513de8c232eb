/**
 * Publishes topclients' outbox to a broker in id order. The relay stores how far it got in
 * `outbox_relay_positions` after each publish, so a relay that dies resumes after its last stored row; the row
 * published but not yet recorded goes out again, and the broker's de-duplication (message id = row id) or the
 * consumers' versions absorb it. Nothing is lost: an event leaves only from a committed row.
 */
import { nextBackoffMs, sleep, type EventLog } from './eventLog.js';
import type { ChangeEvent } from './events.js';
import { readOutbox, waitForOutbox } from './outbox.js';
import type { Database } from './storage.js';

export interface OutboxRelayOptions {
  db: Database;
  /** Names this relay's stored position ("jetstream"). */
  name: string;
  publish: (event: ChangeEvent) => Promise<unknown>;
  batchSize?: number;
  /** How often the outbox is re-read when no write in this process signals new rows. */
  pollIntervalMs?: number;
  log: EventLog;
}

export interface RunningRelay {
  stop(): Promise<void>;
}

export async function relayPosition(db: Database, name: string): Promise<number> {
  const [row] = await db.query<{ id: string }>('SELECT published_id::text AS id FROM outbox_relay_positions WHERE relay = $1', [name]);
  return row ? Number(row.id) : 0;
}

export function startOutboxRelay(options: OutboxRelayOptions): RunningRelay {
  const { db, name, log } = options;
  const batchSize = options.batchSize ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const controller = new AbortController();
  const loop = (async () => {
    let backoffMs = 0;
    while (!controller.signal.aborted) {
      try {
        const after = await relayPosition(db, name);
        const events = await readOutbox(db, after, batchSize);
        if (events.length === 0) {
          await waitForOutbox(db, pollIntervalMs, controller.signal);
          continue;
        }
        for (const event of events) {
          if (controller.signal.aborted) break;
          await options.publish(event);
          await db.query(
            `INSERT INTO outbox_relay_positions (relay, published_id) VALUES ($1, $2)
             ON CONFLICT (relay) DO UPDATE SET published_id = GREATEST(outbox_relay_positions.published_id, EXCLUDED.published_id)`,
            [name, Number(event.id)],
          );
        }
        if (backoffMs > 0) log('info', 'outbox relay publishing again', { relay: name });
        backoffMs = 0;
      } catch (error) {
        if (controller.signal.aborted) break;
        backoffMs = nextBackoffMs(backoffMs);
        log('warn', 'outbox relay failed; retrying', { relay: name, error: String((error as Error)?.message ?? error), retryInMs: backoffMs });
        await sleep(backoffMs, controller.signal);
      }
    }
  })();
  log('info', 'outbox relay started', { relay: name });
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
