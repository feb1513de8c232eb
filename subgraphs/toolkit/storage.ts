/**
 * One SQL interface over two back ends: PGlite (embedded PostgreSQL compiled to WASM, data in a local folder) and
 * a real PostgreSQL server through `pg`. The SQL, the migrations and the tests are the same for both.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { defaultTemplateDir, prepareFromTemplate, templateArchive } from './pgliteTemplate.js';
import pg from 'pg';
import { inClientSpan } from '../../gateway/src/telemetry/tracing.js';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * PGlite only: `COPY <table> (<columns>) FROM '/dev/blob'` with `text` (COPY text format) as its input, the
   * fastest way to load rows into the embedded database (toolkit/bulkInsert.ts). `pg` has no COPY without an extra
   * package, so a PostgreSQL handle leaves it out and bulk loads go through one INSERT ... SELECT per batch.
   */
  copyFrom?(sql: string, text: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type StorageConfig =
  /**
   * `templateDir`: where a pristine, empty PGlite cluster is kept; a new `dataDir` starts as a copy of it, which
   * takes a fraction of a second where initdb takes several (toolkit/pgliteTemplate.ts). Without a `dataDir` the
   * database is in memory, loaded from the template's archive (beside the installed PGlite unless `templateDir` says).
   */
  | { kind: 'pglite'; dataDir?: string; templateDir?: string }
  | { kind: 'postgres'; url: string; poolSize?: number };

export async function openDatabase(config: StorageConfig): Promise<Database> {
  return traced(config.kind === 'postgres' ? await openPostgres(config.url, config.poolSize ?? 10) : await openPglite(config.dataDir, config.templateDir));
}

/** Each query a client span when it runs inside a trace (a request's, an event's apply): tracing on only. */
function traced(db: Database): Database {
  const spanned = (queryable: Queryable): Queryable['query'] => (sql, params) =>
    inClientSpan(`db ${/^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'QUERY'}`, { 'db.system.name': 'postgresql', 'db.query.text': sql.trim().slice(0, 500) }, () => queryable.query(sql, params));
  return {
    ...db,
    query: spanned(db),
    transaction: (work) => db.transaction((tx) => work({ ...tx, query: spanned(tx) })),
  };
}

async function openPglite(dataDir: string | undefined, templateDir: string | undefined): Promise<Database> {
  let db: PGlite;
  if (dataDir) {
    if (templateDir) await prepareFromTemplate(dataDir, templateDir);
    else await mkdir(dataDir, { recursive: true });
    db = await PGlite.create(dataDir);
  } else {
    // In memory, which is what tests use: loaded from the empty cluster's archive rather than made by initdb.
    db = await PGlite.create({ loadDataDir: await templateArchive(templateDir ?? defaultTemplateDir()) });
  }
  const query = async <T extends Row>(sql: string, params?: unknown[]) =>
    (await db.query<T>(sql, params as unknown[] | undefined)).rows;
  const copyFrom = async (sql: string, text: string) => {
    await db.query(sql, [], { blob: new Blob([text]) });
  };
  return {
    kind: 'pglite',
    query,
    copyFrom,
    transaction: (work) =>
      db.transaction((tx) => work({
        query: async <T extends Row>(sql: string, params?: unknown[]) => (await tx.query<T>(sql, params)).rows,
        copyFrom: async (sql: string, text: string) => {
          await tx.query(sql, [], { blob: new Blob([text]) });
        },
      })),
    close: () => db.close(),
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // The server may end an idle connection (a restart, a failover, a dropped database): pg drops that client and the
  // next query opens another. Unheard, the pool's 'error' event would crash the process.
  pool.on('error', (error) => process.emitWarning(`PostgreSQL ended an idle connection: ${error.message}`));
  // Fail at start-up, with the server's own message, rather than on the first request.
  const probe = await pool.connect();
  probe.release();
  const query = async <T extends Row>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as T[];
  return {
    kind: 'postgres',
    query,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({ query: async <T extends Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[] });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
