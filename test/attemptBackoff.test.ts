import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from './support/cli.js';
import { outcomes, type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';

/**
 * The backoff BullMQ really applies between a card's attempts: the delay it stores on the job
 * each time it moves the job to `delayed` (its `delay` field), read while cards fail every call.
 */

// Long enough that polling every 10 ms sees each delay on a busy machine, where a `status` in this
// process holds the event loop for a while.
const BACKOFF = { baseMs: 400, capMs: 1600 };
const ATTEMPTS = 6;
const CARDS = 3;

describe('backoff between attempts', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('grows, differs from card to card, stops at its cap, and shows the card delayed meanwhile', async () => {
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 1 } });
    await p.upload('b/', { count: CARDS, seed: 31, backRatio: 0 });
    const run = await p.enqueue('b/', { jobOptions: { attempts: ATTEMPTS } });
    const ids = (await p.queue.getJobs(['waiting', 'prioritized'])).map((j) => j.id!);
    expect(ids).toHaveLength(CARDS);
    const worker = await p.startWorker({ attemptBackoff: BACKOFF, quickRetries: 0 });

    // Delay applied before each retry, by card: retry n (1-based) at index n - 1.
    const delays = new Map<string, number[]>(ids.map((id) => [id, []]));
    let statusWhileDelayed: { counts: { delayed: number } } | undefined;
    let asking: Promise<void> | undefined;
    const deadline = Date.now() + 30_000;
    while ((await outcomes(p.store, run.runId!)).failed !== CARDS) {
      if (Date.now() > deadline) throw new Error(`cards not failed in time: ${JSON.stringify([...delays])}`);
      for (const id of ids) {
        const job = await p.queue.getJob(id);
        if (!job || (await job.getState()) !== 'delayed') continue;
        const seen = delays.get(id)!;
        if (seen.length < job.attemptsMade) seen[job.attemptsMade - 1] = job.delay;
        // `status` takes a while; on a busy machine the card it saw delayed may be back in the
        // queue by the time it counts. Asked again until it sees one, beside the polling (which
        // must not miss a delay meanwhile).
        if (!statusWhileDelayed?.counts.delayed && !asking) {
          asking = runCli(['status', run.runId!, '--json'], pipelineEnv(p)).then((r) => {
            statusWhileDelayed = JSON.parse(r.out);
            asking = undefined;
          });
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }

    await asking;
    expect(statusWhileDelayed?.counts.delayed).toBeGreaterThanOrEqual(1);
    for (const [id, d] of delays) {
      // Every retry was seen: ATTEMPTS - 1 delays, each between half and the whole of its step.
      expect(
        d.filter((x) => x !== undefined),
        id,
      ).toHaveLength(ATTEMPTS - 1);
      const steps = d.map((_, i) => Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** i));
      d.forEach((x, i) => {
        expect(x, `${id} retry ${i + 1}`).toBeGreaterThanOrEqual(steps[i]! / 2);
        expect(x, `${id} retry ${i + 1}`).toBeLessThanOrEqual(steps[i]!);
      });
      // It grows: each step at least doubles the lower bound of the one before, until the cap.
      expect(d[2]!).toBeGreaterThan(d[0]!);
      expect(Math.max(...d)).toBeLessThanOrEqual(BACKOFF.capMs);
    }
    // Cards failed by one outage do not come back together: their delays differ.
    const third = [...delays.values()].map((d) => d[2]);
    expect(new Set(third).size).toBeGreaterThan(1);
    await worker.close();
  });

  it('--max-retry-minutes fails a card that keeps failing past its deadline, whatever its attempts left', async () => {
    await p.reset();
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 1 } });
    await p.upload('d/', { count: 1, seed: 7, backRatio: 0 });
    // A deadline of 1.5 s since the first failure, with 30 attempts that would take minutes.
    const run = await p.enqueue('d/', { jobOptions: { attempts: 30 }, maxRetryMs: 1500 });
    const w = await p.startWorker({ attemptBackoff: { baseMs: 200, capMs: 400 }, quickRetries: 0 });
    const started = Date.now();
    try {
      await p.drained(20_000);
    } finally {
      await w.close();
    }
    const { rows } = await p.store.pool.query<{ outcome: string; error_code: string; attempts: number }>(
      'SELECT outcome, error_code, attempts FROM cards WHERE run_id = $1',
      [run.runId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'failed', error_code: 'FailedOperation.OcrFailed' });
    expect(rows[0]!.attempts).toBeGreaterThanOrEqual(3);
    expect(rows[0]!.attempts).toBeLessThan(30);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The failed job is BullMQ's failed job: the report's failed and the queue's agree.
    expect(await p.queue.getFailedCount()).toBe(1);
    // Listed again, it is already-failed (its kept job notwithstanding); --reprocess failed
    // queues it at once, in place of the kept job.
    const again = await p.enqueue('d/');
    expect(again.counts.skipped).toEqual({ 'already-failed': 1 });
    const reprocess = await p.enqueue('d/', { reprocess: 'failed' });
    expect(reprocess.counts.enqueued).toBe(1);
    expect(await p.queue.getFailedCount()).toBe(0);
    expect((await p.queue.getJobs(['waiting', 'prioritized'])).map((j) => j.data.runId)).toEqual([
      reprocess.runId,
    ]);
  });

  it('--attempts and --max-retry-minutes reach the jobs; bad values exit 2 naming the option', async () => {
    await p.reset();
    await p.upload('o/', { count: 1, seed: 8, backRatio: 0 });
    const env = pipelineEnv(p);
    const r = await runCli(
      ['enqueue', `s3://${p.bucket}/o/`, '--attempts', '3', '--max-retry-minutes', '45'],
      env,
    );
    expect(r.out).toMatch(/enqueued 1,/);
    const [job] = await p.queue.getJobs(['waiting', 'prioritized']);
    expect(job?.opts.attempts).toBe(3);
    expect(job?.data.maxRetryMs).toBe(45 * 60_000);
    for (const [flag, value] of [
      ['--attempts', '0'],
      ['--attempts', 'many'],
      ['--max-retry-minutes', '-1'],
    ] as const) {
      const bad = await runCli(['enqueue', `s3://${p.bucket}/o/`, flag, value], env);
      expect(bad.code, `${flag} ${value}`).toBe(2);
      expect(bad.err).toContain(flag);
    }
  });
});
