/**
 * Throwaway databases on the real PostgreSQL server (127.0.0.1:5432 here). When the server is missing, tests
 * that need it fail loudly under CI=true and are skipped with a warning elsewhere.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireServer } from './requiredServer.js';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** False when the server is missing outside CI; inside CI a missing server has already failed the file. */
export const postgresAvailable = requireServer({
  name: 'PostgreSQL', url: POSTGRES_ADMIN_URL, problem: await probe(), neededBy: 'the PostgreSQL tests', docSection: 'docs/SCALING.md, "Running against PostgreSQL"',
});

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
