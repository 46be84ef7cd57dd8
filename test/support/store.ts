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

/** Drops `schema` (and everything in it) from the PostgreSQL database at `databaseUrl`, if it exists. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
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
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
