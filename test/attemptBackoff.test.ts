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
    await p.startWorker({ attemptBackoff: BACKOFF, quickRetries: 0 });

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
  });
});
