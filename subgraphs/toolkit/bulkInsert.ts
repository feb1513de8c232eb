import type { Queryable } from './storage.js';

/**
 * Loads many rows into one table in batches, the fast way for each back end (what makes seeding the demo data take
 * seconds, not tens of them):
 * - PGlite: `COPY ... FROM '/dev/blob'` with the batch in COPY's text format, parsed inside the database without
 *   a bind parameter or a JSON value per row (measured on 50k gigs: about 3x faster than multi-row INSERTs);
 * - PostgreSQL (`pg`): one `INSERT ... SELECT FROM jsonb_populate_recordset(NULL::<table>, $1)` per batch: one
 *   parameter, typed by the table's own row type, so arrays, dates and numerics need no per-column casts.
 * `onRows` is told after each batch how many rows it wrote (seeding progress).
 */
export interface BulkInsertOptions {
  batchRows?: number;
  onRows?: (count: number) => void;
}

export async function bulkInsert(
  db: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  options: BulkInsertOptions = {},
): Promise<void> {
  const batchRows = options.batchRows ?? 5_000;
  for (let start = 0; start < rows.length; start += batchRows) {
    const batch = rows.slice(start, start + batchRows);
    if (db.copyFrom) {
      await db.copyFrom(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, copyText(batch));
    } else {
      const records = batch.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i] ?? null])));
      await db.query(
        `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`,
        [JSON.stringify(records)],
      );
    }
    options.onRows?.(batch.length);
  }
}

/** Rows in COPY's text format: tab-separated, one row a line, `\N` for null, backslash escapes (PostgreSQL docs, COPY, "Text Format"). */
export function copyText(rows: readonly unknown[][]): string {
  let text = '';
  for (const row of rows) text += `${row.map(copyField).join('\t')}\n`;
  return text;
}

function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return escapeCopy(literal(value));
}

/** The value as PostgreSQL reads it from text: arrays as array literals, booleans as t/f, objects as JSON. */
function literal(value: unknown): string {
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function arrayLiteral(items: readonly unknown[]): string {
  const elements = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayLiteral(item);
    return `"${literal(item).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  });
  return `{${elements.join(',')}}`;
}

function escapeCopy(text: string): string {
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
