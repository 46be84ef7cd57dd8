import type pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations.js';

const newestOf = (migrations: readonly Migration[]): number =>
  Math.max(0, ...migrations.map((m) => m.version));

const aheadMessage = (current: number, newest: number): string =>
  `the results store has schema version ${current}, newer than this program knows (${newest}): upgrade macao-ocr before using this database`;

/** The store's schema version against this program's newest, and whether it has every migration: one read, no lock and no DDL. */
async function schemaState(
  pool: pg.Pool,
  migrations: readonly Migration[],
): Promise<{ upToDate: boolean; current: number; newest: number }> {
  const applied = await appliedVersions(pool);
  const done = new Set(applied);
  const newest = newestOf(migrations);
  const current = Math.max(0, ...applied);
  return { upToDate: current <= newest && migrations.every((m) => done.has(m.version)), current, newest };
}

/**
 * The versions applied; none when the store has no schema yet (`undefined_table`). Any other
 * failure (the server unreachable, a refused login) is the caller's to report as it is.
 */
async function appliedVersions(pool: pg.Pool): Promise<number[]> {
  try {
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_migrations');
    return rows.map((r) => r.version);
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return [];
    throw e;
  }
}

/** Raised by {@link assertUpToDate}: the schema is behind this program (or ahead of it). */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/**
 * Checks, without any DDL, that the store has every migration this program knows and none it
 * does not. On PostgreSQL only `macao-ocr migrate`, run by the schema's owner, changes the
 * schema; every other command checks and says what to run.
 */
export async function assertUpToDate(
  pool: pg.Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  const { upToDate, current, newest } = await schemaState(pool, migrations);
  if (upToDate) return;
  if (current > newest) throw new SchemaVersionError(aheadMessage(current, newest));
  throw new SchemaVersionError(
    `the results store's schema is at version ${current}; this version of macao-ocr needs ${newest}: run \`macao-ocr migrate\` as the schema's owner`,
  );
}

/**
 * Applies the pending migrations. Several workers may start at once: a session-level advisory
 * lock (keyed by schema) lets one migrate while the others wait, then find nothing to do. A
 * store that has them all (every start but the first) costs one read: short commands such as
 * `status` start that much sooner.
 */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  if ((await schemaState(pool, migrations)).upToDate) return [];
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('macao-ocr:migrate:' || current_schema()))`);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      const newest = newestOf(migrations);
      const current = Math.max(0, ...done);
      if (current > newest) throw new Error(aheadMessage(current, newest));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`);
        }
        applied.push(m.version);
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('macao-ocr:migrate:' || current_schema()))`);
    }
  } finally {
    client.release();
  }
  return applied;
}
