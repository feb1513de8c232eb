import type { Queryable } from './storage.js';

/**
 * Multi-row INSERT in batches: one round trip per `batchSize` rows instead of one per row, which is what makes
 * seeding 50k gigs take seconds. Batches stay well under PostgreSQL's 65,535 bind parameters.
 */
export async function bulkInsert(
  db: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  batchSize = 1_000,
): Promise<void> {
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const placeholders = row.map((value) => {
        params.push(value);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}
