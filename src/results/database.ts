import pg from 'pg';
import { maskSecrets } from '../maskSecrets.js';
import { type EmbeddedOptions, openEmbedded } from './embedded.js';
import { assertUpToDate, migrate, SchemaVersionError } from './migrate.js';

// `date` columns come back as the text PostgreSQL wrote (YYYY-MM-DD), not as a JS Date in the
// local time zone, which would shift a birthday by a day west of UTC.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);
// bigint counts fit easily in a JS number here (row counts, byte sizes).
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/** Options of {@link openDatabase}. */
export interface DatabaseOptions {
  /** `postgres://...`; unset: embedded PGlite in {@link dataDir}. */
  databaseUrl?: string | undefined;
  /** The embedded database's directory (default config: `./.macao-ocr`). */
  dataDir: string;
  /** Schema to use (created when missing); default `public`. Tests use one each. */
  schema?: string;
  /** Connections of this process; default 8. */
  poolSize?: number;
  /** Embedded-only options. */
  embedded?: EmbeddedOptions;
  /**
   * Apply pending migrations (DDL). Embedded PGlite always does; on PostgreSQL only the schema's
   * owner should (`macao-ocr migrate`), so by default the store checks its version and refuses to
   * run behind it. Default false.
   */
  migrate?: boolean;
}

export interface Database {
  pool: pg.Pool;
  kind: 'postgres' | 'pglite';
  /**
   * For PGlite: whether this process serves the directory or connects to the one that does (a
   * client becomes the owner when it takes over from one that stopped). `server` on PostgreSQL.
   */
  readonly role: 'server' | 'owner' | 'client';
  schema: string;
  close(): Promise<void>;
}

/** A schema name, checked and quoted for SQL. */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`schema must be lowercase letters, digits and _ (at most 63), got \`${name}\``);
  }
  return `"${name}"`;
}

/** Opens the results database, creates the schema if needed and applies migrations. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const schema = opts.schema ?? 'public';
  const ident = quoteIdent(schema);
  let pool: pg.Pool;
  let kind: Database['kind'];
  let role: () => Database['role'];
  let closeBackend: () => Promise<void>;
  if (opts.databaseUrl) {
    pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 8,
      ...(schema === 'public' ? {} : { options: `-c search_path=${ident}` }),
    });
    kind = 'postgres';
    role = () => 'server';
    closeBackend = () => pool.end();
  } else {
    const embedded = await openEmbedded(opts.dataDir, {
      ...opts.embedded,
      poolSize: opts.poolSize ?? 8,
      // A process that takes over serving starts a fresh PGlite session: the schema is set again.
      ...(schema === 'public'
        ? {}
        : { onTakeOver: async (p: pg.Pool) => void (await p.query(`SET search_path TO ${ident}`)) }),
    });
    pool = embedded.pool;
    kind = 'pglite';
    role = () => embedded.role;
    closeBackend = () => embedded.close();
  }
  // An idle client whose server went away emits 'error' on the pool; without a listener that
  // kills the process. The next query gets a fresh connection, or a clear error.
  pool.on('error', () => undefined);
  try {
    // DDL only where it is this process's to run: the embedded store, or the schema's owner.
    const ddl = kind === 'pglite' || opts.migrate === true;
    if (ddl && schema !== 'public') await pool.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
    // PGlite ignores startup options, but it is one session multiplexed over every connection:
    // a SET there holds for all of them (and for other processes sharing the directory).
    if (kind === 'pglite' && schema !== 'public') await pool.query(`SET search_path TO ${ident}`);
    if (ddl) await migrate(pool);
    else await assertUpToDate(pool);
  } catch (e) {
    await closeBackend().catch(() => undefined);
    if (e instanceof SchemaVersionError) throw e;
    throw describeConnectError(e, opts);
  }
  return {
    pool,
    kind,
    get role() {
      return role();
    },
    schema,
    close: closeBackend,
  };
}

function describeConnectError(e: unknown, opts: DatabaseOptions): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  if (!opts.databaseUrl) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const where = maskSecrets(opts.databaseUrl);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return new Error(
      `cannot reach PostgreSQL at ${where} (${code}): is the server running, and DATABASE_URL right?`,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new Error(`PostgreSQL refused the credentials of DATABASE_URL (${where}): ${err.message}`);
  }
  if (code === '3D000')
    return new Error(`the database of DATABASE_URL does not exist (${where}): create it first`);
  return new Error(`results store at ${where}: ${err.message}`);
}
