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
    backend === 'postgres' ? { databaseUrl, dataDir, schema } : { dataDir, schema },
  );
  return {
    store,
    dataDir,
    schema,
    async cleanup() {
      await store.close();
      if (backend === 'postgres') {
        const c = new pg.Client({ connectionString: databaseUrl });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
