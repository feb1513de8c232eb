import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { STORAGE_KINDS } from '../../../test/support/subgraphUnderTest.js';
import { bulkInsert, copyText } from '../bulkInsert.js';
import { openDatabase, type Database } from '../storage.js';

const dropLater: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(dropLater.map((d) => d.drop()));
});

async function open(kind: 'pglite' | 'postgres'): Promise<Database> {
  if (kind === 'pglite') return openDatabase({ kind: 'pglite' });
  const database = await createTestDatabase('t_bulk');
  dropLater.push(database);
  return openDatabase({ kind: 'postgres', url: database.url, poolSize: 2 });
}

// Every character COPY's text format and array literals treat specially, and the types the seeds write.
const AWKWARD = ['tab\there', 'line\nbreak', 'carriage\rreturn', 'back\\slash', '"quoted"', 'comma, brace {x}', '\\N', 'NULL', '', 'Müller – ✓'];

describe.each(STORAGE_KINDS)('bulkInsert (%s)', (kind) => {
  it('writes every row exactly as given: awkward text, nulls, arrays, booleans, numerics and dates', async () => {
    const db = await open(kind);
    try {
      await db.query(`CREATE TABLE things (id integer PRIMARY KEY, label text, tags text[] NOT NULL, ok boolean,
        price numeric(10, 2), rating numeric(2, 1), day date)`);
      const rows = AWKWARD.map((label, i) => [i, label, [label, `x${i}`, 'NULL'], i % 2 === 0, 5 * i + 0.25, i === 3 ? null : 4.5, '2020-02-29']);
      rows.push([100, null, [], null, 0, null, null]);
      await db.transaction((tx) => bulkInsert(tx, 'things', ['id', 'label', 'tags', 'ok', 'price', 'rating', 'day'], rows, { batchRows: 4 }));
      const stored = await db.query<Record<string, unknown>>(
        `SELECT id, label, tags, ok, price::text AS price, rating::text AS rating, day::text AS day FROM things ORDER BY id`,
      );
      expect(stored).toEqual(rows.map(([id, label, tags, ok, price, rating, day]) => ({
        id, label, tags, ok,
        price: (price as number).toFixed(2),
        rating: rating === null ? null : (rating as number).toFixed(1),
        day,
      })));
    } finally {
      await db.close();
    }
  });

  it('reports the rows of each batch as it lands, and writes nothing for no rows', async () => {
    const db = await open(kind);
    try {
      await db.query('CREATE TABLE numbers (n integer PRIMARY KEY)');
      const counts: number[] = [];
      await bulkInsert(db, 'numbers', ['n'], Array.from({ length: 12 }, (_, i) => [i]), { batchRows: 5, onRows: (n) => counts.push(n) });
      await bulkInsert(db, 'numbers', ['n'], [], { onRows: (n) => counts.push(n) });
      expect(counts).toEqual([5, 5, 2]);
      expect(await db.query('SELECT count(*)::int AS n FROM numbers')).toEqual([{ n: 12 }]);
    } finally {
      await db.close();
    }
  });

  it('a failing batch rolls back the whole transaction', async () => {
    const db = await open(kind);
    try {
      await db.query('CREATE TABLE unique_things (id text PRIMARY KEY)');
      await expect(db.transaction((tx) => bulkInsert(tx, 'unique_things', ['id'], [['a'], ['b'], ['a']], { batchRows: 2 })))
        .rejects.toThrow(/duplicate key/);
      expect(await db.query('SELECT id FROM unique_things')).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('copyText', () => {
  it('escapes COPY text format and writes arrays as quoted array literals', () => {
    expect(copyText([['a\tb', null, ['x"y', 'z\\w', null], true, { k: 1 }]])).toBe('a\\tb\t\\N\t{"x\\\\"y","z\\\\\\\\w",NULL}\tt\t{"k":1}\n');
  });
});
