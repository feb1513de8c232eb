/** SQL for topclients: client details and sellers' ordered lists. Every change bumps a version. */
import type { Queryable } from '../toolkit/storage.js';

export interface ClientRecord {
  id: string;
  name: string;
  logoUrl: string | null;
  industry: string | null;
  website: string | null;
  verified: boolean;
  version: number;
}

export interface ClientChanges {
  name?: string;
  logoUrl?: string | null;
  industry?: string | null;
  website?: string | null;
  verified?: boolean;
}

export interface SellerList {
  sellerId: string;
  version: number;
  clientIds: string[];
}

const CLIENT_COLUMNS = 'id, name, logo_url AS "logoUrl", industry, website, verified, version';

export async function clientsByIds(db: Queryable, ids: readonly string[]): Promise<Map<string, ClientRecord>> {
  const rows = await db.query<ClientRecord & Record<string, unknown>>(
    `SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Whether topclients knows this seller (table `sellers`): only a known seller may have a list. */
export async function isKnownSeller(db: Queryable, sellerId: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM sellers WHERE id = $1', [sellerId])).length > 0;
}

export async function sellerList(db: Queryable, sellerId: string, forUpdate = false): Promise<SellerList> {
  // Locking needs a row to lock: a seller's first change creates it at version 0 (= never had a list).
  if (forUpdate) await db.query('INSERT INTO seller_lists (seller_id, version) VALUES ($1, 0) ON CONFLICT DO NOTHING', [sellerId]);
  const head = await db.query<{ version: number }>(
    `SELECT version FROM seller_lists WHERE seller_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [sellerId],
  );
  const rows = await db.query<{ client_id: string }>(
    'SELECT client_id FROM top_clients WHERE seller_id = $1 ORDER BY position',
    [sellerId],
  );
  return { sellerId, version: head[0]?.version ?? 0, clientIds: rows.map((r) => r.client_id) };
}

/** Replaces the seller's list (locked by `sellerList(..., true)`) with `clientIds` in order; returns the new version. */
export async function writeSellerList(db: Queryable, sellerId: string, clientIds: readonly string[]): Promise<number> {
  const [row] = await db.query<{ version: number }>(
    'UPDATE seller_lists SET version = version + 1 WHERE seller_id = $1 RETURNING version',
    [sellerId],
  );
  await db.query('DELETE FROM top_clients WHERE seller_id = $1', [sellerId]);
  if (clientIds.length > 0) {
    await db.query(
      `INSERT INTO top_clients (seller_id, client_id, position)
       SELECT $1, id, ord FROM unnest($2::text[]) WITH ORDINALITY AS t(id, ord)`,
      [sellerId, clientIds],
    );
  }
  return row!.version;
}

export async function updateClientRow(db: Queryable, id: string, changes: ClientChanges): Promise<ClientRecord | null> {
  const [row] = await db.query<ClientRecord & Record<string, unknown>>(
    `UPDATE clients SET
       name = COALESCE($2, name),
       logo_url = CASE WHEN $3::boolean THEN $4 ELSE logo_url END,
       industry = CASE WHEN $5::boolean THEN $6 ELSE industry END,
       website = CASE WHEN $7::boolean THEN $8 ELSE website END,
       verified = COALESCE($9, verified),
       version = version + 1,
       updated_at = now()
     WHERE id = $1
     RETURNING ${CLIENT_COLUMNS}`,
    [
      id,
      changes.name ?? null,
      'logoUrl' in changes,
      changes.logoUrl ?? null,
      'industry' in changes,
      changes.industry ?? null,
      'website' in changes,
      changes.website ?? null,
      changes.verified ?? null,
    ],
  );
  return row ?? null;
}
