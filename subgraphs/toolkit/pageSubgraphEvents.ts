/**
 * A page subgraph's (gigs, users) side of ID propagation: the consumer on the configured transport, the change
 * feed of what this service applied (`GET /events`, `/events/head`, as topclients'; on NATS also relayed to this
 * service's own stream), the subscription field for it (`appliedListSubscription`), and the routes operators
 * use — `GET /events/status` (position, lag, parked), `GET /projection` (every seller's IDs and version, for
 * `ops check`) and `POST /projection/rebuild` (re-project from topclients' snapshot; every row it changes is
 * published as applied, like an event would be).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from './consumer.js';
import type { EventLog } from './eventLog.js';
import { sellerClientIdsApplied, type SellerClientIdsApplied } from './events.js';
import type { EventsConfig } from './eventsConfig.js';
import { appendAllToOutbox, notifyOutbox } from './outbox.js';
import { startOutboxRelay, type RunningRelay } from './outboxRelay.js';
import type { OutboxSubscriptions } from './outboxSubscriptions.js';
import type { ServiceEvents } from './service.js';
import type { Database, Queryable } from './storage.js';
import { sendJson, type RouteHandler } from './subgraphServer.js';
import { changeFeedRoutes, changeFeedTransport } from './transports/changeFeed.js';
import { connectNats, ensureStream, jetStreamPublisher, jetStreamTransport } from './transports/jetstream.js';

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
 * the source has no list for is removed. Every row written or removed is published as applied (this service's
 * outbox, same transaction), so caches in front of this service drop what the rebuild changed. Returns what changed.
 */
export async function rebuildProjection(db: Database, snapshot: ProjectionSnapshot): Promise<{ written: number; removed: number }> {
  const result = await db.transaction(async (tx) => {
    const changed: SellerIds[] = [];
    for (let start = 0; start < snapshot.lists.length; start += 1_000) {
      const batch = snapshot.lists.slice(start, start + 1_000);
      const rows = await tx.query(
        `INSERT INTO seller_client_ids (seller_id, client_ids, version)
         SELECT s.seller_id, ARRAY(SELECT jsonb_array_elements_text(s.client_ids)), s.version
         FROM jsonb_to_recordset($1::jsonb) AS s(seller_id text, client_ids jsonb, version integer)
         ON CONFLICT (seller_id) DO UPDATE SET client_ids = EXCLUDED.client_ids, version = EXCLUDED.version
         WHERE seller_client_ids.version <= EXCLUDED.version
           AND (seller_client_ids.client_ids <> EXCLUDED.client_ids OR seller_client_ids.version <> EXCLUDED.version)
         RETURNING seller_id AS "sellerId", client_ids AS "clientIds", version`,
        [JSON.stringify(batch.map((l) => ({ seller_id: l.sellerId, client_ids: l.clientIds, version: l.version })))],
      );
      changed.push(...(rows as unknown as SellerIds[]));
    }
    const removed = await tx.query<{ sellerId: string; version: number }>(
      'DELETE FROM seller_client_ids WHERE NOT (seller_id = ANY($1::text[])) RETURNING seller_id AS "sellerId", version',
      [snapshot.lists.map((l) => l.sellerId)],
    );
    await appendAllToOutbox(tx, [
      ...changed.map((l) => sellerClientIdsApplied(l.sellerId, l.clientIds, l.version)),
      ...removed.map((l) => sellerClientIdsApplied(l.sellerId, [], l.version)),
    ]);
    return { written: changed.length, removed: removed.length };
  });
  if (result.written + result.removed > 0) notifyOutbox(db);
  return result;
}

/**
 * The page subgraph's subscription field (gigs' `gigPagesUpdated`, users' `userPageUpdated`): every list of the
 * seller's IDs this service applied, heard off its own outbox once committed, so when its pages show it. `seller`
 * is the bare reference, resolved by the service's own Seller resolvers (its IDs as applied).
 */
export const appliedListSubscription = {
  subscribe: (_: unknown, args: { sellerId: string }, ctx: { outbox: OutboxSubscriptions }) =>
    ctx.outbox.subscribe((event) => event.type === 'seller-client-ids-applied' && event.payload.sellerId === args.sellerId),
  resolve: (event: SellerClientIdsApplied) => ({ version: event.version, appliedAt: event.occurredAt, seller: { id: event.payload.sellerId } }),
};

export async function fetchSnapshot(feedUrl: string): Promise<ProjectionSnapshot> {
  const url = `${feedUrl.replace(/\/$/, '')}/snapshot`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return (await response.json()) as ProjectionSnapshot;
}

/**
 * Read-only, served whether or not events are on: what `ops check` compares with the source, and this service's
 * change feed of applied lists (`/events`, `/events/head`), which the gateway's cache listens to.
 */
export function projectionRoutes(db: Database): Record<string, RouteHandler> {
  return {
    ...changeFeedRoutes(db),
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
  // On NATS, what this service applied also goes to its own stream (`<own prefix>.seller.<id>`), for the gateways.
  let relay: RunningRelay | undefined;
  if (config.transport === 'nats') {
    const own = config.ownStream ?? { stream: service.toUpperCase(), subjectPrefix: service };
    try {
      await ensureStream(nc!, own);
    } catch (error) {
      await nc!.close();
      throw error;
    }
    relay = startOutboxRelay({ db, name: `jetstream:${own.stream}`, publish: jetStreamPublisher(nc!, own), log });
  }
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
      await relay?.stop();
      await nc?.drain().catch(() => undefined);
    },
  };
}
