import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cardQueueKeys } from '../src/redisKeys.js';
import { queuedCount, queuedJobs } from './support/cardQueue.js';
import { runCli } from './support/cli.js';
import { CREDENTIAL, outcomes, type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { until } from './support/processes.js';

/** Runs the CLI in-process against the pipeline's services. */
function cli(p: Pipeline, args: string[]): ReturnType<typeof runCli> {
  return runCli(args, { ...pipelineEnv(p), LOG_LEVEL: 'silent' });
}

describe('operator commands: status, report, retry, resume', () => {
  let p: Pipeline;
  let runId: string;
  let fronts: number;

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    const objs = await p.upload('ops/', { count: 6, faults: true, seed: 31 });
    fronts = objs.filter((o) => o.kind === 'card' && o.side === 'front').length;
    // One card is made to fail: its every call gets OcrFailed until we lift the fault.
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 1 } });
    const w = await p.startWorker({ quickRetries: 0 });
    const run = await p.enqueue('ops/card-000000', { jobOptions: { attempts: 1 } });
    await p.drained();
    p.emulator.configure({ faults: {} });
    runId = run.runId!;
    await p.enqueue('ops/', { runId }).catch(() => undefined);
    await p.drained();
    await w.close();
  });
  afterAll(async () => p?.close());

  it('status --json answers the documented shape', async () => {
    const r = await cli(p, ['status', runId, '--json']);
    expect(r.code).toBe(0);
    const st = JSON.parse(r.out);
    expect(Object.keys(st)).toEqual(
      expect.arrayContaining(['run', 'state', 'counts', 'effectiveQps', 'paused', 'pausedReason']),
    );
    expect(st.run).toBe(runId);
    expect(st.counts).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      recognized: fronts,
      rejected: 3,
      failed: 1,
      skipped: 2,
    });
    expect(st.paused).toBe(false);
    expect(st.effectiveQps).toBeGreaterThan(0);
  });

  it('status --check exits 3 on a run with failed cards; plain status exits 0', async () => {
    const checked = await cli(p, ['status', runId, '--check']);
    expect(checked.code).toBe(3);
    expect(checked.out).toMatch(/failed 1/);
    expect((await cli(p, ['status', runId])).code).toBe(0);
    expect(JSON.parse((await cli(p, ['status', runId, '--json'])).out).health).toBe('failed');
  });

  it('report --format jsonl gives one record per card in the contract shape, --outcome filters', async () => {
    const r = await cli(p, ['report', runId, '--format', 'jsonl']);
    const recs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs).toHaveLength(fronts + 1 + 3 + 2);
    for (const rec of recs) {
      expect(Object.keys(rec)).toEqual(
        expect.arrayContaining([
          'run',
          'bucket',
          'frontKey',
          'backKey',
          'etag',
          'outcome',
          'reason',
          'errorCode',
          'attempts',
          'apiCalls',
          'warnings',
          'checks',
          'fields',
        ]),
      );
      expect(rec.fields === null).toBe(rec.outcome !== 'recognized');
    }
    const failed = await cli(p, ['report', runId, '--format', 'jsonl', '--outcome', 'failed']);
    const f = failed.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(f).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        errorCode: 'FailedOperation.OcrFailed',
        frontKey: 'ops/card-000000_front.jpg',
      }),
    ]);
  });

  it('report --format csv --out FILE writes a file, and the table shows the summary', async () => {
    const file = join(tmpdir(), `macao-ocr-report-${process.pid}.csv`);
    try {
      const r = await cli(p, ['report', runId, '--format', 'csv', '--out', file]);
      expect(r.code).toBe(0);
      const lines = readFileSync(file, 'utf8').trim().split('\r\n');
      expect(lines[0]).toMatch(/^run,versionId,bucket,frontKey/);
      expect(lines).toHaveLength(fronts + 1 + 3 + 2 + 1);
    } finally {
      rmSync(file, { force: true });
    }
    const t = await cli(p, ['report', runId]);
    expect(t.out).toMatch(/recognized\s+\d+/);
    expect(t.out).toContain('FailedOperation.OcrFailed');
    // One line per card, sorted by key, each saying why: skip reasons, error codes, flags.
    const cardLines = t.out
      .split('\n\n')
      .at(-1)!
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(cardLines).toHaveLength(fronts + 1 + 3 + 2);
    const keys = cardLines.map((l) => /^ {2}\S+ +[! ] (\S+)/.exec(l)![1]!);
    expect(keys).toEqual([...keys].sort());
    const skipped = cardLines.filter((l) => l.trimStart().startsWith('skipped'));
    expect(skipped).toHaveLength(2);
    for (const l of skipped) expect(l).toMatch(/ {2}(empty|unsupported-format)$/);
    for (const l of cardLines.filter((x) => x.includes(' ! ')))
      expect(l).toMatch(/ {2}([a-z-]+ \(-91\d\d\)|[A-Za-z]+\.[A-Za-z.]+)/);
  });

  it('retry puts the failed card back; a worker then recognizes it', async () => {
    const r = await cli(p, ['retry', runId, '--code', 'FailedOperation.OcrFailed']);
    expect(r.out).toContain('1 failed cards queued again');
    expect(await queuedCount(p.queue)).toBe(1);
    // The job carries the card's size as listed (the worker's byte budget reserves by it), and
    // the row keeps it.
    const [job] = await queuedJobs(p.queue);
    const { rows } = await p.store.pool.query('SELECT size_bytes FROM cards WHERE version_id = $1', [
      job!.id,
    ]);
    expect(Number(rows[0].size_bytes)).toBeGreaterThan(1000);
    expect(job!.data.sizeBytes).toBe(Number(rows[0].size_bytes));
    const w = await p.startWorker();
    await p.drained();
    await w.close();
    expect((await outcomes(p.store, runId)).failed).toBeUndefined();
    const again = await cli(p, ['retry', runId]);
    expect(again.out).toContain('has no failed cards');
  });

  it('resume clears a pause', async () => {
    await p.queue.pause();
    await p.redis.set(
      cardQueueKeys(p.queue).pausedReason,
      JSON.stringify({ code: 'AuthFailure.SecretIdNotFound', hint: 'x', runId, at: '' }),
    );
    const st = JSON.parse((await cli(p, ['status', runId, '--json'])).out);
    expect(st.paused).toBe(true);
    expect(st.pausedReason).toContain('AuthFailure.SecretIdNotFound');
    expect((await cli(p, ['status', runId, '--check'])).code).toBe(1);
    const r = await cli(p, ['resume']);
    expect(r.out).toContain('resumed (it was paused for AuthFailure.SecretIdNotFound)');
    expect(await p.queue.isPaused()).toBe(false);
    // Every card finished (the failed one recognized by retry): healthy.
    expect((await cli(p, ['status', runId, '--check'])).code).toBe(0);
  });

  it('an empty source gets a warning naming it, and status without RUN still shows the run with cards', async () => {
    const typo = `s3://${p.bucket}/opz/`;
    const r = await cli(p, ['enqueue', typo]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: ${typo} lists no object: check the bucket and prefix`);
    expect(r.out).toMatch(/found 0,/);
    const st = JSON.parse((await cli(p, ['status', '--json'])).out);
    expect(st.run).toBe(runId);
    const report = await cli(p, ['report', '--format', 'jsonl']);
    expect(report.out.trim().split('\n')).toHaveLength(fronts + 1 + 3 + 2);
  });

  it("a second enqueue of the same prefix leaves the first run's report as it was, and lists its own cards", async () => {
    const lines = async (run: string) =>
      (await cli(p, ['report', run, '--format', 'jsonl'])).out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { frontKey: string; outcome: string; reason: string | null })
        .map((r) => `${r.frontKey} ${r.outcome} ${r.reason}`)
        .sort();
    const before = await lines(runId);
    const second = await cli(p, ['enqueue', `s3://${p.bucket}/ops/`]);
    expect(second.code).toBe(0);
    const secondRun = /run (\S+):/.exec(second.out)![1]!;
    expect(await lines(runId)).toEqual(before);
    // The second run holds every card and file it listed, each with its reason.
    const mine = await lines(secondRun);
    expect(mine).toHaveLength(before.length);
    expect(mine.filter((l) => l.endsWith(' skipped already-recognized'))).toHaveLength(fronts + 1);
    expect(mine.filter((l) => l.endsWith(' skipped already-rejected'))).toHaveLength(3);
    const st = JSON.parse((await cli(p, ['status', secondRun, '--json'])).out);
    const c = st.counts;
    expect(c.recognized + c.rejected + c.failed + c.skipped + st.pending).toBe(before.length);
    expect(c.skipped).toBe(before.length);
  });

  it('a rejected card re-listed is already-rejected at once; --reprocess rejected sends it at once', async () => {
    const calls = () => p.emulator.stats().calls;
    const before = calls();
    const again = await cli(p, ['enqueue', `s3://${p.bucket}/ops/fault-not-a-card`]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already-rejected 1/);
    expect(await queuedCount(p.queue)).toBe(0);
    const w = await p.startWorker();
    try {
      const re = await cli(p, [
        'enqueue',
        `s3://${p.bucket}/ops/fault-not-a-card`,
        '--reprocess',
        'rejected',
      ]);
      expect(re.code).toBe(0);
      expect(re.out).toMatch(/enqueued 1,/);
      await p.drained();
    } finally {
      await w.close();
    }
    // Exactly one more call, made at once: no kept job stood in its way.
    expect(calls()).toBe(before + 1);
  });

  it('status --check exits 4 when cards are pending and the queue holds none of them', async () => {
    await p.upload('lost/', { count: 1, seed: 5 });
    const run = await p.enqueue('lost/');
    expect(run.counts.enqueued).toBe(1);
    expect((await cli(p, ['status', run.runId!, '--check'])).code).toBe(0);
    // The jobs are lost (Redis flushed without persistence): the store still says pending.
    await p.queue.obliterate({ force: true });
    const r = await cli(p, ['status', run.runId!, '--check']);
    expect(r.code).toBe(4);
    expect(r.out).toContain('1 cards pending and nothing in the queue');
    // Enqueueing the source again leaves the card in its run, waiting in the store again; a
    // worker's keeper queues it and the run finishes.
    const again = await p.enqueue('lost/');
    expect(again.counts.skipped).toEqual({ 'already-queued': 1 });
    const w = await p.startWorker();
    await p.drained();
    await w.close();
    expect((await cli(p, ['status', run.runId!, '--check'])).code).toBe(0);
    expect((await p.store.runSummary(run.runId!))?.counts).toMatchObject({ pending: 0, recognized: 1 });
  });

  it('resume waits for the workers that hold the refused SecretId (named, masked), or goes on with --force', async () => {
    await p.upload('auth/', { count: 2, seed: 9 });
    p.emulator.configure({ faults: { 'AuthFailure.SecretIdNotFound': 1 } });
    const w = await p.startWorker({ concurrency: 1 });
    try {
      const run = await p.enqueue('auth/');
      await until(() => p.queue.isPaused(), 20_000, 'the queue to pause');
      const st = JSON.parse((await cli(p, ['status', run.runId!, '--json'])).out);
      expect(st.pausedReason).toMatch(/^AuthFailure\.SecretIdNotFound \(SecretId AKID…0001\): /);
      expect(st.pausedReason).not.toContain(CREDENTIAL.secretId);
      const refused = await cli(p, ['resume']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('still sign with the refused SecretId AKID…0001');
      expect(refused.err).toContain(`:${process.pid}`);
      expect(refused.err).toContain('--force');
      expect(await p.queue.isPaused()).toBe(true);
      // The account fixed (in life: a new key, and the workers restarted with it).
      p.emulator.configure({ faults: {} });
      const forced = await cli(p, ['resume', '--force']);
      expect(forced.code).toBe(0);
      expect(forced.out).toContain('resumed (it was paused for AuthFailure.SecretIdNotFound)');
      await p.drained();
      expect((await p.store.runSummary(run.runId!))?.counts).toMatchObject({ recognized: 2, pending: 0 });
    } finally {
      await w.close();
    }
    // A stopped worker's heartbeat is gone at once.
    expect(await p.redis.zcard(cardQueueKeys(p.queue).workers)).toBe(0);
  });

  it('names an unknown run clearly', async () => {
    const r = await cli(p, ['status', 'r-nope', '--json']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no run `r-nope` in the results store');
  });
});
