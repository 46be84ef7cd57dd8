import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { dumpQueueKeys, findLeaks, IMAGE_DATA } from './support/leaks.js';
import { CREDENTIAL, type Pipeline, startPipeline } from './support/pipeline.js';
import { BIN, spawnWorker, TSX, until, type WorkerProcess } from './support/processes.js';
import { type CachedSample, fronts, sampleSet, uploadSamples } from './support/specimenCache.js';

const run = promisify(execFile);

/**
 * Leaks: after a run with transient faults, bad inputs and portraits, what Redis holds, what every
 * process logged (at trace level), and where files went. A card's data may go to the results
 * store, to the portrait prefix and to the export file the user named: nowhere else.
 */
describe('leaks', () => {
  let p: Pipeline;
  let samples: CachedSample[];
  let work: string;
  let tmp: string;
  const procs: WorkerProcess[] = [];

  beforeAll(async () => {
    p = await startPipeline({
      redisUrl: inject('redisUrl'),
      databaseUrl: inject('databaseUrl'),
      emulator: { latencyMs: [20, 80], faults: { 'FailedOperation.OcrFailed': 0.2, drop: 0.05 } },
    });
    samples = await sampleSet({ count: 40, seed: 4040, faults: true, backRatio: 0.5 });
    await uploadSamples(p.s3, p.bucket, 'in/', samples);
    work = mkdtempSync(join(tmpdir(), 'macao-ocr-leaks-cwd-'));
    tmp = mkdtempSync(join(tmpdir(), 'macao-ocr-leaks-tmp-'));
  }, 120_000);
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    await p?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('no card field, secret, URL signature or image data in Redis or any log; files only where configured', {
    timeout: 120_000,
  }, async () => {
    const runRes = await p.enqueue('in/');
    const env = { LOG_LEVEL: 'trace', TMPDIR: tmp };
    const w = spawnWorker(
      p,
      ['--qps', '50', '--concurrency', '8', '--portraits', `s3://${p.bucket}/portraits/`],
      env,
      { cwd: work },
    );
    procs.push(w);
    await p.drained(90_000);
    const redis = await dumpQueueKeys(p.redis, DEFAULT_QUEUE_PREFIX, p.queueName);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const exportFile = join(work, 'cards.jsonl');
    const report = await run(
      process.execPath,
      ['--import', TSX, BIN, 'report', runRes.runId!, '--format', 'jsonl', '--out', 'cards.jsonl'],
      {
        cwd: work,
        env: {
          ...process.env,
          ...env,
          REDIS_URL: p.redisUrl,
          MACAO_OCR_QUEUE: p.queueName,
          MACAO_OCR_DATA_DIR: p.dataDir,
        },
      },
    );

    const truths = samples.flatMap((o) => (o.truth && o.side === 'front' ? [o.truth.fields] : []));
    const sources = {
      secrets: [CREDENTIAL.secretKey, p.s3server.credentials.secretAccessKey],
      cards: truths,
    };
    const logs = `${w.output()}\n${report.stdout}\n${report.stderr}`;
    const recognized = await p.store.pool.query<{ version_id: string }>(
      `SELECT version_id FROM cards WHERE run_id = $1 AND outcome = 'recognized'`,
      [runRes.runId],
    );
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const page = await p.s3.send(new ListObjectsV2Command({ Bucket: p.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) objects.push(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    const portraits = objects.filter((k) => k.startsWith('portraits/')).sort();
    const exported = readFileSync(exportFile, 'utf8');
    const figures = {
      redisKeys: redis.keys,
      redisLeaks: findLeaks(redis.text, sources).length,
      logLines: logs.split('\n').length,
      logLeaks: findLeaks(logs, sources).length,
      portraits: portraits.length,
      recognized: recognized.rows.length,
      otherNewObjects: objects.filter((k) => !k.startsWith('in/') && !k.startsWith('portraits/')).length,
      filesInCwd: readdirSync(work, { recursive: true }).length,
      filesInTmp: ownTmpFiles(tmp).length,
      exportedLines: exported.trim().split('\n').length,
    };
    console.error(`LEAKS ${JSON.stringify(figures)}`);

    // Rejected cards complete their jobs, which leave Redis like every finished card's.
    expect(redis.text.includes('in/fault-')).toBe(false);
    expect(findLeaks(redis.text, sources)).toEqual([]);
    expect(IMAGE_DATA.test(redis.text)).toBe(false);
    expect(logs.includes('"msg":"card done"')).toBe(true);
    expect(findLeaks(logs, sources)).toEqual([]);
    expect(IMAGE_DATA.test(logs)).toBe(false);
    // Portraits: one per recognized card, under the configured prefix only.
    expect(portraits).toEqual(recognized.rows.map((r) => `portraits/${r.version_id}.jpg`).sort());
    expect(figures.otherNewObjects).toBe(0);
    expect(objects.filter((k) => k.startsWith('in/')).length).toBe(samples.length);
    // The export went to the named file only; nothing else in the working directory or TMPDIR.
    expect(readdirSync(work, { recursive: true })).toEqual(['cards.jsonl']);
    expect(ownTmpFiles(tmp)).toEqual([]);
    // The export holds the card data (that is its point), and names each recognized card's fields.
    expect(findLeaks(exported, { cards: truths }).length).toBeGreaterThan(0);
    expect(fronts(samples).length).toBeGreaterThan(0);
  });

  it('no S3 key of a card in Redis failure reasons or any log line, after storage, pre-flight and API failures', {
    timeout: 120_000,
  }, async () => {
    p.emulator.configure({ faults: {} });
    const keyed = await sampleSet({ count: 6, seed: 4141, faults: true, backRatio: 0.5 });
    await uploadSamples(p.s3, p.bucket, 'keyed/', keyed);
    // A long backoff: each card's first failure stays in Redis as its reason while it waits.
    const runRes = await p.enqueue('keyed/', {
      jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 600_000 } },
    });
    const queued = runRes.counts.enqueued;
    // One card's image goes away before any worker reads it (Storage.ObjectMissing).
    const goneKey = `keyed/${fronts(keyed)[0]!.key}`;
    await p.s3.send(new DeleteObjectCommand({ Bucket: p.bucket, Key: goneKey }));
    const cwd = mkdtempSync(join(tmpdir(), 'macao-ocr-leaks-keys-'));
    const env = { LOG_LEVEL: 'trace' };
    try {
      // First, a worker that cannot reach the object store: every card fails its pre-flight read.
      const down = spawnWorker(
        p,
        ['--concurrency', '8'],
        { ...env, S3_ENDPOINT: 'http://127.0.0.1:1' },
        { cwd },
      );
      procs.push(down);
      await until(async () => (await p.queue.getDelayedCount()) === queued, 60_000, 'every card delayed');
      // The delayed jobs hold their failure reasons now; finished jobs leave Redis with theirs.
      const redisDown = withoutJobPayloads(
        (await dumpQueueKeys(p.redis, DEFAULT_QUEUE_PREFIX, p.queueName)).text,
      );
      down.child.kill('SIGTERM');
      expect(await down.exited).toBe(0);
      // Then one that can: recognized, rejected by the pre-flight, by the API, or for a missing object.
      await p.queue.promoteJobs();
      const up = spawnWorker(p, ['--concurrency', '8'], env, { cwd });
      procs.push(up);
      await p.drained(90_000);
      const redis = `${redisDown}\n${withoutJobPayloads(
        (await dumpQueueKeys(p.redis, DEFAULT_QUEUE_PREFIX, p.queueName)).text,
      )}`;
      up.child.kill('SIGTERM');
      expect(await up.exited).toBe(0);

      const byOutcome = await p.store.pool.query<{ error_code: string | null; n: number }>(
        'SELECT error_code, count(*)::int AS n FROM cards WHERE run_id = $1 GROUP BY 1 ORDER BY 1',
        [runRes.runId],
      );
      const codes = Object.fromEntries(byOutcome.rows.map((r) => [r.error_code ?? 'none', r.n]));
      const logs = `${down.output()}\n${up.output()}`;
      const keys = keyed.map((o) => `keyed/${o.key}`);
      const named = (text: string) => keys.filter((k) => text.includes(k) || text.includes(k.slice(6)));
      console.error(`KEY-LEAKS ${JSON.stringify({ queued, codes, redis: named(redis), logs: named(logs) })}`);
      expect(codes).toMatchObject({ 'Storage.ObjectMissing': 1, 'Image.NotPngOrJpeg': 1 });
      expect(codes['FailedOperation.ImageDecodeFailed']).toBeGreaterThan(0);
      // The reasons are there, naming cards by their version ids...
      expect(redis).toContain('Storage.ECONNREFUSED');
      expect(redis).toMatch(/front image of card cv1-[0-9a-f]{40}/);
      expect(logs).toContain('"level":');
      // ...and no key of a card, nor its file name, anywhere but in the job payloads.
      expect(named(redis)).toEqual([]);
      expect(named(logs)).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

/**
 * Everything Redis holds for the queue but the job payloads (`data`): those name the objects to
 * read, keys included, and leave Redis when the job does. Failure reasons, stack traces, return
 * values, job names and the events stream must not.
 */
function withoutJobPayloads(dump: string): string {
  return dump
    .split('\n')
    .map((line) => {
      const at = line.indexOf(' ');
      const value = JSON.parse(line.slice(at + 1)) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value) && 'data' in value)
        delete (value as { data?: unknown }).data;
      return `${line.slice(0, at)} ${JSON.stringify(value)}`;
    })
    .join('\n');
}

/** What the processes left in their TMPDIR, apart from tsx's compile cache (the tests run the TypeScript sources; the installed program does not). */
function ownTmpFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => !f.startsWith('tsx-'));
}
