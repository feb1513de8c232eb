/**
 * The page subgraphs' copy of each seller's top-client IDs (IDs only; details stay at topclients). Table
 * `seller_client_ids` lives in each page subgraph's own database; a change is applied only when its version is
 * newer than the stored one, so repeated and reordered events leave the right final state.
 */
import DataLoader from 'dataloader';
import type { Queryable } from './storage.js';

export async function clientIdsBySeller(db: Queryable, sellerIds: readonly string[]): Promise<Map<string, string[]>> {
  const rows = await db.query<{ seller_id: string; client_ids: string[] }>(
    'SELECT seller_id, client_ids FROM seller_client_ids WHERE seller_id = ANY($1::text[])',
    [sellerIds],
  );
  return new Map(rows.map((r) => [r.seller_id, r.client_ids]));
}

/** Stores `clientIds` for the seller if `version` is newer than what is held; returns whether it was applied. */
export async function applyClientIds(db: Queryable, sellerId: string, clientIds: readonly string[], version: number): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO seller_client_ids (seller_id, client_ids, version) VALUES ($1, $2::text[], $3)
     ON CONFLICT (seller_id) DO UPDATE SET client_ids = EXCLUDED.client_ids, version = EXCLUDED.version
     WHERE seller_client_ids.version < EXCLUDED.version
     RETURNING seller_id`,
    [sellerId, clientIds, version],
  );
  return rows.length > 0;
}

/** Per-request loader: all the sellers of one query plan fetch read their IDs in one query. */
export function clientIdLoader(db: Queryable): DataLoader<string, { id: string }[]> {
  return new DataLoader(async (sellerIds) => {
    const found = await clientIdsBySeller(db, sellerIds);
    return sellerIds.map((id) => (found.get(id) ?? []).map((clientId) => ({ id: clientId })));
  });
}
