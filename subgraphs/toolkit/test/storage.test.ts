import { once } from 'node:events';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_ADMIN_URL, createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { STORAGE_KINDS } from '../../../test/support/subgraphUnderTest.js';
import { migrate } from '../migrations.js';
import { openDatabase, type Database } from '../storage.js';

const dropLater: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(dropLater.map((d) => d.drop()));
});

async function open(kind: 'pglite' | 'postgres'): Promise<Database> {
  if (kind === 'pglite') return openDatabase({ kind: 'pglite' });
  const database = await createTestDatabase('t_storage');
  dropLater.push(database);
  return openDatabase({ kind: 'postgres', url: database.url, poolSize: 2 });
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  await mkdir(dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

describe.each(STORAGE_KINDS)('storage and migrations (%s)', (kind) => {
  it('applies each migration once, in name order, and records it', async () => {
    const db = await open(kind);
    try {
      const dir = await migrationsDir({
        '002_more.sql': 'ALTER TABLE things ADD COLUMN size integer;\n',
        '001_init.sql': '-- first\nCREATE TABLE things (id text PRIMARY KEY);\nCREATE INDEX things_id ON things (id);\n',
        'notes.txt': 'not a migration',
      });
      expect(await migrate(db, dir)).toEqual(['001_init.sql', '002_more.sql']);
      expect(await migrate(db, dir)).toEqual([]);
      await db.query('INSERT INTO things (id, size) VALUES ($1, $2)', ['a', 3]);
      expect(await db.query('SELECT id, size FROM things')).toEqual([{ id: 'a', size: 3 }]);
    } finally {
      await db.close();
    }
  });

  it('a failing migration leaves no trace and is tried again next time', async () => {
    const db = await open(kind);
    try {
      const dir = await migrationsDir({ '001_bad.sql': 'CREATE TABLE half (id text);\nSELECT * FROM missing_table;\n' });
      await expect(migrate(db, dir)).rejects.toThrow(/missing_table/);
      expect(await db.query(`SELECT to_regclass('half') AS t`)).toEqual([{ t: null }]);
      expect(await db.query('SELECT name FROM schema_migrations')).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('a transaction commits when its work resolves and rolls back when it throws', async () => {
    const db = await open(kind);
    try {
      await db.query('CREATE TABLE t (n integer)');
      await db.transaction(async (tx) => tx.query('INSERT INTO t VALUES (1)'));
      await expect(db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2)');
        throw new Error('changed my mind');
      })).rejects.toThrow('changed my mind');
      expect(await db.query('SELECT n FROM t')).toEqual([{ n: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('embedded storage on disk', () => {
  it('keeps its data across a close and a reopen of the same folder', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pglite-'));
    try {
      const first = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'svc') });
      await first.query('CREATE TABLE kept (v text)');
      await first.query(`INSERT INTO kept VALUES ('still here')`);
      await first.close();
      const second = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'svc') });
      expect(await second.query('SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe.runIf(STORAGE_KINDS.includes('postgres'))('a PostgreSQL connection the server ends while it is idle', () => {
  it('is reported as a warning, not a crash, and the next query opens another connection', async () => {
    const database = await createTestDatabase('t_storage_idle');
    dropLater.push(database);
    const db = await openDatabase({ kind: 'postgres', url: database.url, poolSize: 2 });
    try {
      await db.query('SELECT 1');
      const warned = once(process, 'warning');
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [new URL(database.url).pathname.slice(1)]);
      } finally {
        await admin.end();
      }
      const [warning] = await warned;
      expect((warning as Error).message).toMatch(/PostgreSQL ended an idle connection: terminating connection/);
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
