import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type EnqueueOptions, enqueueRun } from '../src/producer/enqueueRun.js';
import { ManifestError } from '../src/producer/manifest.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import type { ResultsStore } from '../src/results/store.js';
import { type LocalS3Server, startLocalS3Server } from '../src/sandbox/localS3Server.js';
import { createS3Client, putObject } from '../src/storage/s3.js';
import type { StorageError } from '../src/storage/s3Errors.js';
import { openTestStore } from './support/store.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

describe('producer: from a bucket to one job per card', () => {
  const bucket = `prod-${randomBytes(4).toString('hex')}`;
  let server: LocalS3Server;
  let s3: ReturnType<typeof createS3Client>;
  let store: ResultsStore;
  let cleanupStore: () => Promise<void>;
  let redis: Redis;
  let queue: Queue<CardJobData>;
  let dir: string;

  const put = (key: string, body: Buffer = JPEG) =>
    putObject(s3, bucket, key, body, 'application/octet-stream');
  const base = (extra: Partial<EnqueueOptions> = {}): EnqueueOptions => ({
    s3,
    store,
    queue,
    redis,
    ...extra,
  });
  const jobs = async () =>
    (await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active'])).map((j) => j.data);
  const runsCount = async () =>
    (await store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n as number;

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: [bucket] });
    s3 = createS3Client({ endpoint: server.endpoint, forcePathStyle: true, credentials: server.credentials });
    ({ store, cleanup: cleanupStore } = await openTestStore('pglite', inject('databaseUrl')));
    redis = createRedis(inject('redisUrl'));
    queue = new Queue<CardJobData>(`test-${randomBytes(6).toString('hex')}`, {
      connection: redis,
      prefix: DEFAULT_QUEUE_PREFIX,
    });
    dir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-manifest-'));
    // a: pair; b: front-only (no side); c: back without front; d: gif; e: empty; f: text; g: pair, upper case
    await put('batch/a_back.jpg');
    await put('batch/a_front.jpg');
    await put('batch/b.png');
    await put('batch/c_back.jpg');
    await put('batch/d_front.gif');
    await put('batch/e_front.jpg', Buffer.alloc(0));
    await put('batch/f.txt', Buffer.from('hello'));
    await put('batch/g-BACK.JPEG');
    await put('batch/g-FRONT.JPG');
    await put('batch/h_front.jpg');
  });
  /** No job, no row: a card pending in an earlier run would stay there (`already-queued`). */
  const fresh = async (): Promise<void> => {
    await queue.obliterate({ force: true });
    await store.pool.query('TRUNCATE cards, api_calls, runs CASCADE');
  };
  beforeEach(fresh);
  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    redis?.disconnect();
    await cleanupStore?.();
    s3?.destroy();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([2, 1000])(
    'lists in pages of %i, pairs across page boundaries and names every skip reason',
    async (pageSize) => {
      const r = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`], pageSize }));
      expect(r.counts).toEqual({
        found: 10,
        cards: 4,
        paired: 2,
        enqueued: 4,
        skipped: { 'back-without-front': 1, 'unsupported-format': 2, empty: 1 },
      });
      const data = await jobs();
      expect(data.map((d) => [d.frontKey, d.backKey ?? null]).sort()).toEqual([
        ['batch/a_front.jpg', 'batch/a_back.jpg'],
        ['batch/b.png', null],
        ['batch/g-FRONT.JPG', 'batch/g-BACK.JPEG'],
        ['batch/h_front.jpg', null],
      ]);
      // identity only in the payload
      expect(Object.keys(data[0]!).sort()).toEqual(
        expect.arrayContaining(['bucket', 'frontEtag', 'frontKey', 'runId']),
      );
      const s = await store.runSummary(r.runId!);
      expect(s).toMatchObject({
        found: 10,
        enqueued: 4,
        state: 'running',
        counts: { pending: 4, skipped: 4 },
      });
    },
  );

  it('adds nothing when the same listing is enqueued again while its jobs are queued', async () => {
    const first = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`] }));
    const second = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`] }));
    expect(first.counts.enqueued).toBe(4);
    expect(second.counts.enqueued).toBe(0);
    expect(second.counts.skipped['already-queued']).toBe(4);
    expect(await queue.count()).toBe(4);
    // the cards still belong to the first run
    expect((await store.runSummary(first.runId!))?.counts.pending).toBe(4);
  });

  it('skips what the ledger says is done, and re-enqueues on --reprocess', async () => {
    const first = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`] }));
    const js = await queue.getJobs(['waiting', 'prioritized']);
    const [rec, rej, fail] = js.map((j) => j.data);
    const cardOf = (d: CardJobData, outcome: 'recognized' | 'rejected' | 'failed') => {
      const v = {
        bucket: d.bucket,
        frontKey: d.frontKey,
        frontEtag: d.frontEtag,
        backKey: d.backKey,
        backEtag: d.backEtag,
      };
      return {
        ...v,
        versionId: js.find((j) => j.data === d)!.id!,
        runId: first.runId!,
        outcome,
        attempts: 1,
      };
    };
    await store.recordOutcomes([
      cardOf(rec!, 'recognized'),
      cardOf(rej!, 'rejected'),
      cardOf(fail!, 'failed'),
    ]);
    // The three jobs are done and gone; only the ledger remembers. The fourth card's job is lost
    // (Redis flushed): the card stays pending in the first run, whose keeper queues it again.
    await queue.obliterate({ force: true });

    const again = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`] }));
    expect(again.counts.enqueued).toBe(0);
    expect(again.counts.skipped).toMatchObject({
      'already-recognized': 1,
      'already-rejected': 1,
      'already-failed': 1,
      'already-queued': 1,
    });
    const lost = await store.pool.query('SELECT run_id FROM cards WHERE pending AND queued_at IS NULL');
    expect(lost.rows).toEqual([{ run_id: first.runId }]);
    await queue.obliterate({ force: true });

    const failed = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`], reprocess: 'failed' }));
    expect(failed.counts.enqueued).toBe(1);
    expect((await jobs()).map((d) => d.frontKey)).toEqual([fail!.frontKey]);
    await queue.obliterate({ force: true });
    await store.pool.query('UPDATE cards SET pending = false, outcome = $1 WHERE pending', ['failed']);

    const all = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`], reprocess: 'all' }));
    expect(all.counts.enqueued).toBe(4);
    expect((await jobs()).every((d) => d.reprocess === true)).toBe(true);
    // Each run's history holds every card and skipped file it listed (4 cards; a back without
    // its front, a GIF, an empty file and a text file), with what became of each there, and its
    // skipped rows add up to its skip reasons.
    for (const r of [first, again, failed, all]) {
      const c = (await store.runSummary(r.runId!))!.counts;
      expect(c.recognized + c.rejected + c.failed + c.skipped + c.pending).toBe(8);
      expect(c.skipped).toBe(Object.values(r.counts.skipped).reduce((a, b) => a + b, 0));
    }
  });

  it('treats a replaced object (new ETag) as a new card version', async () => {
    const key = `etag-${randomBytes(3).toString('hex')}/x_front.jpg`;
    await put(key, Buffer.from('version one'));
    const one = await enqueueRun(base({ sources: [`s3://${bucket}/${key.split('/')[0]}/`] }));
    const [job1] = await queue.getJobs(['waiting', 'prioritized']);
    await store.recordOutcome({ ...job1!.data, versionId: job1!.id!, outcome: 'recognized', attempts: 1 });
    await queue.obliterate({ force: true });
    await put(key, Buffer.from('version two'));
    const two = await enqueueRun(base({ sources: [`s3://${bucket}/${key.split('/')[0]}/`] }));
    expect([one.counts.enqueued, two.counts.enqueued]).toEqual([1, 1]);
    const [job2] = await queue.getJobs(['waiting', 'prioritized']);
    expect(job2!.id).not.toBe(job1!.id);
    expect(job2!.data.frontEtag).not.toBe(job1!.data.frontEtag);
  });

  it('writes nothing on a dry run, and lists what would be enqueued', async () => {
    const would: string[] = [];
    const r = await enqueueRun(
      base({
        sources: [`s3://${bucket}/batch/`],
        dryRun: true,
        onWouldEnqueue: (c) => would.push(c.frontKey),
      }),
    );
    expect(r.runId).toBeUndefined();
    expect(r.counts.enqueued).toBe(4);
    expect(would.sort()).toEqual([
      'batch/a_front.jpg',
      'batch/b.png',
      'batch/g-FRONT.JPG',
      'batch/h_front.jpg',
    ]);
    expect(await queue.count()).toBe(0);
    expect(await runsCount()).toBe(0);
  });

  it('filters by LastModified with --since and --until', async () => {
    const future = new Date(Date.now() + 3600_000);
    const none = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`], since: future, dryRun: true }));
    expect(none.counts.found).toBe(0);
    const all = await enqueueRun(base({ sources: [`s3://${bucket}/batch/`], until: future, dryRun: true }));
    expect(all.counts.found).toBe(10);
  });

  it('reads manifests (plain, CSV, JSONL): duplicates once, missing objects counted', async () => {
    const plain = join(dir, 'list.txt');
    writeFileSync(
      plain,
      `# tonight\ns3://${bucket}/batch/a_front.jpg\ns3://${bucket}/batch/a_back.jpg\n\ns3://${bucket}/batch/a_front.jpg\ns3://${bucket}/batch/zz_front.jpg\n`,
    );
    const r = await enqueueRun(base({ manifest: plain }));
    expect(r.counts).toMatchObject({
      found: 2,
      cards: 1,
      paired: 1,
      enqueued: 1,
      skipped: { 'not-found': 1 },
    });
    await fresh();
    const csv = join(dir, 'list.csv');
    writeFileSync(csv, `id,uri\n1,s3://${bucket}/batch/b.png\n2,"s3://${bucket}/batch/h_front.jpg"\n`);
    expect((await enqueueRun(base({ manifest: csv }))).counts.enqueued).toBe(2);
    await fresh();
    const jsonl = join(dir, 'list.jsonl');
    writeFileSync(
      jsonl,
      `{"uri":"s3://${bucket}/batch/b.png"}\n{"uri":"s3://${bucket}/batch/d_front.gif"}\n`,
    );
    const j = await enqueueRun(base({ manifest: jsonl, dryRun: true }));
    expect(j.counts).toMatchObject({ enqueued: 1, skipped: { 'unsupported-format': 1 } });
  });

  it('refuses a manifest with bad lines, naming them, unless --skip-bad-lines', async () => {
    const file = join(dir, 'bad.txt');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(`s3://${bucket}/batch/b.png\nnot a uri\n`),
        Buffer.from([0xff, 0xfe, 0x0a]),
        Buffer.from(`s3://${bucket}/batch/\ns3://${bucket}/batch/h_front.jpg\n`),
      ]),
    );
    const err = await enqueueRun(base({ manifest: file })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as Error).message).toMatch(/has 3 bad lines; nothing was enqueued/);
    expect((err as Error).message).toContain('line 2: not an S3 URI');
    expect((err as Error).message).toContain('line 3: not valid UTF-8');
    expect((err as Error).message).toContain('line 4:');
    expect(await queue.count()).toBe(0);
    expect(await runsCount()).toBe(0);
    const ok = await enqueueRun(base({ manifest: file, skipBadLines: true }));
    expect(ok.counts).toMatchObject({ enqueued: 2, skipped: { 'bad-manifest-line': 3 } });
    expect(ok.badLines.map((b) => b.line)).toEqual([2, 3, 4]);
  });

  it.each<[string, () => Partial<EnqueueOptions>, RegExp]>([
    ['a malformed URI', () => ({ sources: ['s3:/cards'] }), /not an S3 URI/],
    ['a bad bucket name', () => ({ sources: ['s3://UP/x'] }), /bad bucket name/],
    ['a missing bucket', () => ({ sources: ['s3://no-such-bucket-zz/'] }), /bucket does not exist/],
    [
      'wrong storage credentials',
      () => ({
        sources: [`s3://${bucket}/batch/`],
        s3: createS3Client({
          endpoint: server.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: 'NOPE', secretAccessKey: 'x' },
        }),
      }),
      /refused (the credentials|access)/,
    ],
    [
      'an unreachable endpoint',
      () => ({
        sources: [`s3://${bucket}/batch/`],
        s3: createS3Client({
          endpoint: 'http://127.0.0.1:1',
          forcePathStyle: true,
          credentials: server.credentials,
          maxAttempts: 1,
        }),
      }),
      /cannot be reached/,
    ],
    [
      'a missing manifest',
      () => ({ manifest: '/nonexistent/list.txt' }),
      /manifest \/nonexistent\/list.txt does not exist/,
    ],
    [
      'a bad pairing pattern',
      () => ({ sources: [`s3://${bucket}/`], pairPattern: '(?<side>front)' }),
      /--pair-pattern must/,
    ],
    ['no source at all', () => ({}), /nothing to enqueue/],
  ])('rejects %s clearly and writes nothing', async (_what, extra, message) => {
    const err = await enqueueRun(base(extra())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect(await queue.count()).toBe(0);
    expect(await runsCount()).toBe(0);
  });

  it('says which storage error it was', async () => {
    const err = await enqueueRun(base({ sources: ['s3://no-such-bucket-zz/'] })).catch((e: unknown) => e);
    expect((err as StorageError).code).toBe('NoSuchBucket');
  });
});
