/**
 * topclients' side of ID propagation: the change feed and the snapshot (always served: consumers, the gateway's
 * cache listener and `ops rebuild/check` read them), and, on the NATS transport, the relay to JetStream.
 */
import { EVENT_SCHEMA_VERSION } from '../toolkit/events.js';
import type { EventLog } from '../toolkit/eventLog.js';
import type { EventsConfig } from '../toolkit/eventsConfig.js';
import { outboxHead } from '../toolkit/outbox.js';
import { startOutboxRelay } from '../toolkit/outboxRelay.js';
import type { ProjectionSnapshot } from '../toolkit/pageSubgraphEvents.js';
import type { ServiceEvents } from '../toolkit/service.js';
import type { Database } from '../toolkit/storage.js';
import { sendJson, type RouteHandler } from '../toolkit/subgraphServer.js';
import { changeFeedRoutes } from '../toolkit/transports/changeFeed.js';
import { connectNats, ensureStream, jetStreamPublisher } from '../toolkit/transports/jetstream.js';

/** Every seller's list and version, and the outbox head they reflect, read in one consistent snapshot. */
export async function readSnapshot(db: Database): Promise<ProjectionSnapshot> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const head = await outboxHead(tx);
    const lists = await tx.query<{ sellerId: string; version: number; clientIds: string[] }>(
      `SELECT l.seller_id AS "sellerId", l.version,
              COALESCE(array_agg(t.client_id ORDER BY t.position) FILTER (WHERE t.client_id IS NOT NULL), '{}') AS "clientIds"
       FROM seller_lists l LEFT JOIN top_clients t ON t.seller_id = l.seller_id
       WHERE l.version > 0
       GROUP BY l.seller_id, l.version ORDER BY l.seller_id`,
    );
    return { head, lists };
  });
}

export function topClientsRoutes(db: Database): Record<string, RouteHandler> {
  return {
    ...changeFeedRoutes(db),
    '/events/snapshot': async (req, res) => {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      sendJson(res, 200, { schemaVersion: EVENT_SCHEMA_VERSION, ...(await readSnapshot(db)) });
    },
  };
}

export async function startTopClientsEvents(db: Database, config: EventsConfig, log: EventLog): Promise<ServiceEvents> {
  if (config.transport !== 'nats') return { stop: async () => undefined };
  const nc = await connectNats(config.nats.servers, 'topclients-relay', log);
  try {
    await ensureStream(nc, config.nats);
  } catch (error) {
    await nc.close();
    throw error;
  }
  const relay = startOutboxRelay({ db, name: `jetstream:${config.nats.stream}`, publish: jetStreamPublisher(nc, config.nats), log });
  return {
    async stop() {
      await relay.stop();
      await nc.drain().catch(() => undefined);
    },
  };
}
