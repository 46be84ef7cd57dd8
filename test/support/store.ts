import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ResultsStore } from '../../src/results/store.js';

export type Backend = 'pglite' | 'postgres';

/** A store of its own for one test file: a fresh PGlite directory, or a fresh schema on PostgreSQL. */
export async function openTestStore(
  backend: Backend,
  databaseUrl: string,
  /** Default: a fresh `t_...` schema. A test that owns its PostgreSQL server may use `public`. */
  schemaName?: string,
): Promise<{ store: ResultsStore; dataDir: string; schema: string; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-store-'));
  const schema = schemaName ?? `t_${randomBytes(6).toString('hex')}`;
  const store = await ResultsStore.open(
    backend === 'postgres' ? { databaseUrl, dataDir, schema, migrate: true } : { dataDir, schema },
  );
  return {
    store,
    dataDir,
    schema,
    async cleanup() {
      await store.close();
      if (backend === 'postgres') await dropSchema(databaseUrl, schema);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement on a connection of its own to `url`, and closes it; the rows. */
export async function pgQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Drops `schema` (and everything in it) from the PostgreSQL database at `databaseUrl`, if it exists. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  await pgQuery(databaseUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * A fresh database `${prefix}_<random>` on the PostgreSQL server of `serverUrl`, for processes
 * that use schema public (`macao-ocr work` does). `drop` removes it, closing whatever is still
 * connected to it.
 */
export async function createDatabase(
  serverUrl: string,
  prefix = 't',
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await pgQuery(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = async (): Promise<void> => {
    await pgQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  return { name, url: url.toString(), drop };
}
