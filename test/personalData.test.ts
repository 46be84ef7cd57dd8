import { execFileSync } from 'node:child_process';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from './support/cli.js';
import { outcomes, type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { createDatabase } from './support/store.js';

/**
 * Personal data under control, on PostgreSQL: erasure of one person and purge by age leave no
 * card value in a data-only dump and no portrait, while the rows stay as tombstones that keep the
 * scans from being paid for again and keep every card in the reports.
 */

const CARDS = 12;

interface CardValues {
  version_id: string;
  id_number: string;
  cn_last_name: string;
  en_first_name: string;
  birthday_raw: string;
  portrait_key: string;
}

describe('personal data: erase and purge', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let p: Pipeline;
  let env: Record<string, string>;
  let runId: string;
  let cards: CardValues[];

  const dump = (): string =>
    execFileSync('pg_dump', ['--data-only', '--no-owner', `--dbname=${db.url}`], { encoding: 'utf8' });
  const portraitExists = async (uri: string): Promise<boolean> => {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
    return p.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
  };

  beforeAll(async () => {
    db = await createDatabase(inject('databaseUrl'), 'pd');
    p = await startPipeline({
      redisUrl: inject('redisUrl'),
      databaseUrl: db.url,
      backend: 'postgres',
      schema: 'public',
    });
    env = { ...pipelineEnv(p), DATABASE_URL: db.url };
    await p.upload('pd/', { count: CARDS, seed: 61, backRatio: 0.3 });
    const run = await p.enqueue('pd/');
    runId = run.runId!;
    const worker = await p.startWorker({ portraits: `s3://${p.bucket}/portraits/` });
    await p.drained();
    await worker.close();
    expect(await outcomes(p.store, runId)).toEqual({ recognized: CARDS });
    cards = (
      await p.store.pool.query<CardValues>(
        'SELECT version_id, id_number, cn_last_name, en_first_name, birthday_raw, portrait_key FROM cards ORDER BY version_id',
      )
    ).rows;
  }, 120_000);

  afterAll(async () => {
    await p?.close();
    await db?.drop();
  });

  it('erase --id-number leaves none of that card’s values in a dump, and the others’ all there', async () => {
    const [gone, ...kept] = cards;
    expect(await portraitExists(gone!.portrait_key)).toBe(true);
    const r = await runCli(['erase', '--id-number', gone!.id_number], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^1 card versions found; erased 1, 1 portraits, 0 scans/);
    expect(r.out + r.err).not.toContain(gone!.id_number);
    const text = dump();
    for (const v of [gone!.id_number, gone!.en_first_name, gone!.birthday_raw]) expect(text).not.toContain(v);
    for (const c of kept) {
      expect(text).toContain(c.id_number);
      expect(text).toContain(c.en_first_name);
    }
    expect(await portraitExists(gone!.portrait_key)).toBe(false);
    expect(await portraitExists(kept[0]!.portrait_key)).toBe(true);
    // The audit log has it, without the number.
    const audit = (await runCli(['audit', '--json'], env)).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const entry = audit.find((e) => e.command === 'erase');
    expect(entry.counts).toMatchObject({ cards: 1, portraits: 1 });
    expect(JSON.stringify(entry)).not.toContain(gone!.id_number.replace(/\D/g, ''));
  });

  it('purge --older-than 0d leaves no card value in a dump and no portrait', async () => {
    const r = await runCli(['purge', '--older-than', '0d'], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^purged ${CARDS - 1} cards, ${CARDS - 1} portraits, 0 scans`));
    const text = dump();
    for (const c of cards) {
      for (const v of [c.id_number, c.cn_last_name, c.en_first_name, c.birthday_raw])
        expect(text).not.toContain(v);
    }
    const left = await p.s3.send(new ListObjectsV2Command({ Bucket: p.bucket, Prefix: 'portraits/' }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('the same bucket again costs no call, and the report still lists every card', async () => {
    const calls = p.emulator.stats().calls;
    const again = await p.enqueue('pd/');
    expect(again.counts.enqueued).toBe(0);
    expect(again.counts.skipped['already-recognized']).toBe(CARDS);
    const worker = await p.startWorker();
    await p.drained();
    await worker.close();
    expect(p.emulator.stats().calls).toBe(calls);
    const report = await runCli(['report', runId, '--format', 'jsonl'], env);
    const lines = report.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(CARDS);
    for (const l of lines) {
      expect(l.outcome).toBe('recognized');
      expect(l.fields).toBeNull();
      expect(l.purgedAt).not.toBeNull();
    }
    // Tombstones keep identity and the call ledger.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const ledger = await c.query('SELECT count(*)::int AS n FROM api_calls WHERE run_id = $1', [runId]);
      expect(ledger.rows[0].n).toBeGreaterThanOrEqual(CARDS);
    } finally {
      await c.end();
    }
  });
});
