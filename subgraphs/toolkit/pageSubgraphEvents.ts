/**
 * A page subgraph's (gigs, users) side of ID propagation: the consumer on the configured transport, and the
 * routes operators use — `GET /events/status` (position, lag, parked), `GET /projection` (every seller's IDs
 * and version, for `ops check`) and `POST /projection/rebuild` (re-project from topclients' snapshot).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from './consumer.js';
import type { EventLog } from './eventLog.js';
import type { EventsConfig } from './eventsConfig.js';
import type { ServiceEvents } from './service.js';
import type { Database, Queryable } from './storage.js';
import { sendJson, type RouteHandler } from './subgraphServer.js';
import { changeFeedTransport } from './transports/changeFeed.js';
import { connectNats, jetStreamTransport } from './transports/jetstream.js';

export const EVENT_SOURCE = 'topclients';

export interface SellerIds {
  sellerId: string;
  version: number;
  clientIds: string[];
}

export interface ProjectionSnapshot {
  /** The newest outbox id the snapshot reflects. */
  head: number;
  lists: SellerIds[];
}

export async function readProjection(db: Queryable): Promise<SellerIds[]> {
  return db.query<SellerIds & Record<string, unknown>>(
    'SELECT seller_id AS "sellerId", version, client_ids AS "clientIds" FROM seller_client_ids ORDER BY seller_id',
  );
}

/**
 * Re-projects every seller's IDs from topclients' snapshot in one transaction. A stored row is replaced when its
 * version is not newer than the snapshot's (an event applied after the snapshot was read is kept), and a seller
 * the source has no list for is removed. Returns what changed.
 */
export async function rebuildProjection(db: Database, snapshot: ProjectionSnapshot): Promise<{ written: number; removed: number }> {
  return db.transaction(async (tx) => {
    let written = 0;
    for (let start = 0; start < snapshot.lists.length; start += 1_000) {
      const batch = snapshot.lists.slice(start, start + 1_000);
      const rows = await tx.query(
        `INSERT INTO seller_client_ids (seller_id, client_ids, version)
         SELECT s.seller_id, ARRAY(SELECT jsonb_array_elements_text(s.client_ids)), s.version
         FROM jsonb_to_recordset($1::jsonb) AS s(seller_id text, client_ids jsonb, version integer)
         ON CONFLICT (seller_id) DO UPDATE SET client_ids = EXCLUDED.client_ids, version = EXCLUDED.version
         WHERE seller_client_ids.version <= EXCLUDED.version
           AND (seller_client_ids.client_ids <> EXCLUDED.client_ids OR seller_client_ids.version <> EXCLUDED.version)
         RETURNING seller_id`,
        [JSON.stringify(batch.map((l) => ({ seller_id: l.sellerId, client_ids: l.clientIds, version: l.version })))],
      );
      written += rows.length;
    }
    const removed = await tx.query(
      'DELETE FROM seller_client_ids WHERE NOT (seller_id = ANY($1::text[])) RETURNING seller_id',
      [snapshot.lists.map((l) => l.sellerId)],
    );
    return { written, removed: removed.length };
  });
}

export async function fetchSnapshot(feedUrl: string): Promise<ProjectionSnapshot> {
  const url = `${feedUrl.replace(/\/$/, '')}/snapshot`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return (await response.json()) as ProjectionSnapshot;
}

/** Read-only: what `ops check` compares with the source. Served whether or not events are on. */
export function projectionRoutes(db: Database): Record<string, RouteHandler> {
  return {
    '/projection': async (req, res) => {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      sendJson(res, 200, { lists: await readProjection(db) });
    },
  };
}

export async function startPageSubgraphEvents(service: string, db: Database, config: EventsConfig, log: EventLog): Promise<ServiceEvents> {
  let nc: NatsConnection | undefined;
  const transport = config.transport === 'nats'
    ? jetStreamTransport({
      nc: (nc = await connectNats(config.nats.servers, service, log)),
      stream: config.nats.stream,
      subjectPrefix: config.nats.subjectPrefix,
      durable: service,
      filterSubject: `${config.nats.subjectPrefix}.seller.>`,
      log,
    })
    : changeFeedTransport({ url: config.feedUrl, log });
  // The position's meaning depends on the transport (outbox id, stream sequence), so each has its own.
  const source = config.transport === 'nats' ? `${EVENT_SOURCE}:nats:${config.nats.stream}` : `${EVENT_SOURCE}:feed`;
  const consumer: RunningConsumer = startConsumer({ db, source, transport, log });
  return {
    routes: {
      '/events/status': async (req, res) => {
        if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
        sendJson(res, 200, { service, ...(await consumer.status()) });
      },
      '/projection/rebuild': async (req, res) => {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
        const snapshot = await fetchSnapshot(config.feedUrl);
        const result = await rebuildProjection(db, snapshot);
        log('info', 'rebuilt seller client ids from the source', { sellers: snapshot.lists.length, ...result });
        sendJson(res, 200, { service, sellers: snapshot.lists.length, ...result });
      },
    },
    async stop() {
      await consumer.stop();
      await nc?.drain().catch(() => undefined);
    },
  };
}
