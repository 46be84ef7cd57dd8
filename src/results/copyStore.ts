import type pg from 'pg';

/**
 * The tables of the results store in the order they are copied (a row's references first), each
 * with the key its rows are paged by. Everything the pipeline remembers is in them: the runs and
 * their history, the cards (the ledger that keeps a scan from being paid for twice, and their
 * fields), the call ledger, and the audit log.
 */
const TABLES: readonly { name: string; key: readonly string[] }[] = [
  { name: 'runs', key: ['id'] },
  { name: 'cards', key: ['version_id'] },
  { name: 'run_cards', key: ['run_id', 'version_id'] },
  { name: 'api_calls', key: ['id'] },
  { name: 'audit_log', key: ['id'] },
];

/** Tables whose ids come from a sequence, set past the copied ids so the next insert does not collide. */
const SEQUENCED = ['api_calls', 'audit_log'];

/** Rows copied, by table. */
export type CopyCounts = Record<string, number>;

/** The target already holds data: a copy goes into an empty store only. */
export class StoreNotEmptyError extends Error {
  override readonly name = 'StoreNotEmptyError';
}

/**
 * Copies every row of the results store behind `from` into the one behind `to` (migrated to the
 * same version, and empty: a merge could pair one store's runs with another's cards). Rows go in
 * keyset pages of `pageSize`, as JSON, so every column type (arrays, JSONB, dates, timestamps)
 * comes across as it is and memory holds one page. Returns the rows copied by table.
 */
export async function copyStore(
  from: pg.Pool,
  to: pg.Pool,
  opts: { pageSize?: number; onTable?: (table: string, rows: number) => void } = {},
): Promise<CopyCounts> {
  const held = await to.query<{ runs: number; cards: number }>(
    'SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM cards)::int AS cards',
  );
  const { runs, cards } = held.rows[0] ?? { runs: 0, cards: 0 };
  if (runs > 0 || cards > 0)
    throw new StoreNotEmptyError(
      `the target store already holds ${runs} runs and ${cards} cards: copy into an empty database (a new one, or a new schema)`,
    );
  const pageSize = opts.pageSize ?? 500;
  const counts: CopyCounts = {};
  // One transaction on the target: a copy that stops part way leaves it empty, to try again.
  const target = await to.connect();
  try {
    await target.query('BEGIN');
    for (const { name, key } of TABLES) {
      counts[name] = await copyTable(from, target, name, key, pageSize);
      opts.onTable?.(name, counts[name]);
    }
    for (const name of SEQUENCED)
      await target.query(
        `SELECT setval(pg_get_serial_sequence('${name}', 'id'), coalesce((SELECT max(id) FROM ${name}), 0) + 1, false)`,
      );
    await target.query('COMMIT');
  } catch (e) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    target.release();
  }
  return counts;
}

async function copyTable(
  from: pg.Pool,
  to: pg.PoolClient,
  table: string,
  key: readonly string[],
  pageSize: number,
): Promise<number> {
  const keyList = key.join(', ');
  const params = key.map((_, i) => `$${i + 1}`).join(', ');
  let after: unknown[] | undefined;
  let n = 0;
  for (;;) {
    // The page as one JSON text: the database writes every value, and the target reads it back
    // by column name into its own types (json_populate_recordset).
    const where = after ? `WHERE (${keyList}) > (${params})` : '';
    const page = await from.query<{ rows: string | null; last: unknown[] | null; n: number }>(
      `SELECT json_agg(t)::text AS rows, count(*)::int AS n,
              (array_agg(json_build_array(${key.map((k) => `t.${k}`).join(', ')}) ORDER BY ${key.map((k) => `t.${k}`).join(', ')} DESC))[1] AS last
         FROM (SELECT * FROM ${table} ${where} ORDER BY ${keyList} LIMIT ${pageSize}) t`,
      after ?? [],
    );
    const row = page.rows[0];
    if (!row?.rows || row.n === 0) return n;
    await to.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [
      row.rows,
    ]);
    n += row.n;
    if (row.n < pageSize) return n;
    after = row.last ?? undefined;
  }
}
