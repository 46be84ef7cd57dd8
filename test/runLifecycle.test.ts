import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SIGNATURE_HEADER } from '../src/notice.js';
import { DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { dropCardQueue, queuedCount } from './support/cardQueue.js';
import { runCli } from './support/cli.js';
import { outcomes, type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { until } from './support/processes.js';

/**
 * A run's life beside others on one quota: priorities, the window of its jobs in Redis, `done`
 * whichever process finishes it, `runs`, and the signed notice at its end.
 */

const SECRET = 'notice-secret-for-tests';

/** A receiver of notices: answers `status()` for each POST, keeps what came. */
async function receiver(status: () => number = () => 204): Promise<{
  url: string;
  got: { body: string; signature: string | undefined }[];
  close: () => Promise<void>;
}> {
  const got: { body: string; signature: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      got.push({ body, signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=receiver-token`,
    got,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const cli = (p: Pipeline, args: string[], env: Record<string, string> = {}) =>
  runCli(args, { ...pipelineEnv(p), LOG_LEVEL: 'silent', ...env });

describe('runs on one quota', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('low/', { count: 12, seed: 41, backRatio: 0 });
    await p.upload('high/', { count: 4, seed: 42, backRatio: 0 });
  });
  afterAll(async () => p?.close());
  beforeEach(() => p.reset());

  it('sends a high run’s cards before a low run queued earlier', async () => {
    const low = await p.enqueue('low/', { priority: 'low' });
    const high = await p.enqueue('high/', { priority: 'high' });
    const w = await p.startWorker({ concurrency: 1 });
    await p.drained();
    await w.close();
    const { rows } = await p.store.pool.query<{ run_id: string; first: Date; last: Date }>(
      'SELECT run_id, min(finished_at) AS first, max(finished_at) AS last FROM cards WHERE NOT pending GROUP BY run_id',
    );
    const by = new Map(rows.map((r) => [r.run_id, r]));
    expect(await outcomes(p.store, high.runId!)).toEqual({ recognized: high.counts.enqueued });
    expect(await outcomes(p.store, low.runId!)).toEqual({ recognized: low.counts.enqueued });
    // One card at a time: every high card is done before the first low one.
    expect(by.get(high.runId!)!.last.getTime()).toBeLessThanOrEqual(by.get(low.runId!)!.first.getTime());
  });

  it('keeps at most a window of a run’s jobs in Redis; the rest wait in the store and follow; the run ends done', async () => {
    const run = await p.enqueue('low/', { window: 3 });
    expect(run.counts.enqueued).toBe(12);
    expect(await queuedCount(p.queue)).toBe(3);
    const st = JSON.parse((await cli(p, ['status', run.runId!, '--json'])).out);
    expect(st).toMatchObject({ priority: 'normal', pending: 12, inStore: 9 });
    // The enqueue is over; a worker alone refills from the store (no listing), and marks the
    // run done when its last card is finished.
    p.emulator.configure({ latencyMs: [50, 50] });
    let most = 0;
    const w = await p.startWorker({ concurrency: 2, keeperEveryMs: 100 });
    const sampler = setInterval(() => {
      void p.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed').then((c) => {
        most = Math.max(
          most,
          Object.values(c).reduce((a, b) => a + b, 0),
        );
      });
    }, 20);
    try {
      await until(async () => (await p.store.getRun(run.runId!))?.state === 'done', 60_000, 'the run done');
    } finally {
      clearInterval(sampler);
    }
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: 12 });
    expect(most).toBeLessThanOrEqual(3);
    expect(p.emulator.stats().calls).toBe(12);
    await w.close();
  });

  it('runs --json lists the runs newest first with their priority, state and counts', async () => {
    const a = await p.enqueue('high/', { priority: 'high' });
    const b = await p.enqueue('low/', { priority: 'low' });
    const r = await cli(p, ['runs', '--json']);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.out);
    expect(runs.map((x: { run: string }) => x.run)).toEqual([b.runId, a.runId]);
    expect(runs[1]).toMatchObject({
      run: a.runId,
      sources: [`s3://${p.bucket}/high/`],
      priority: 'high',
      state: 'running',
      finishedAt: null,
      counts: { pending: 4, recognized: 0 },
    });
    expect(typeof runs[1].startedAt).toBe('string');
    expect((await cli(p, ['runs', '--limit', '1', '--json'])).out).toContain(b.runId);
    expect((await cli(p, ['runs', '--limit', '1', '--json'])).out).not.toContain(a.runId);
    const table = await cli(p, ['runs']);
    expect(table.out).toMatch(new RegExp(`${a.runId}\\s+running\\s+high`));
  });

  it('announces the end of a run once, signed, without card data, trying again after a failed delivery', async () => {
    let answers = 0;
    // The first delivery fails with 503; the second is taken.
    const hook = await receiver(() => (answers++ === 0 ? 503 : 204));
    try {
      const run = await p.enqueue('high/', { notifyUrl: hook.url });
      const notices = { secret: SECRET, retryBaseMs: 200 };
      const workers = [
        await p.startWorker({ keeperEveryMs: 100, notices }),
        await p.startWorker({ keeperEveryMs: 100, notices }),
      ];
      await until(async () => (await p.store.getRun(run.runId!))?.notifiedAt != null, 30_000, 'the notice');
      await new Promise((r) => setTimeout(r, 500));
      for (const w of workers) await w.close();
      expect(hook.got).toHaveLength(2);
      const { body, signature } = hook.got[1]!;
      expect(body).toBe(hook.got[0]!.body);
      expect(signature).toBe(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
      const notice = JSON.parse(body);
      expect(notice).toMatchObject({
        run: run.runId,
        state: 'done',
        priority: 'normal',
        counts: { recognized: 4, pending: 0 },
        calls: 4,
        billedCalls: 4,
        errorCodes: {},
      });
      expect(notice.finishedAt).not.toBeNull();
      // The body names the run and its source; no object key, no field of a card.
      expect(body).not.toMatch(/high\/\w/);
      expect(body).not.toMatch(/CHAN|\(\d\)|"ID"/);
    } finally {
      await hook.close();
    }
  });

  it.each([
    [['enqueue', '--priority', 'urgent', 's3://b/x/'], '--priority must be high, normal, low, got `urgent`'],
    [['enqueue', '--window', '0', 's3://b/x/'], '--window must be a whole number >= 1, got `0`'],
    [
      ['enqueue', '--notify', 'ftp://hooks.example.com/x', 's3://b/x/'],
      '--notify must start with http:// or https://',
    ],
    [['run', '--priority', 'top', 's3://b/x/'], '--priority must be high, normal, low, got `top`'],
    [['retry', '--priority', 'asap'], '--priority must be high, normal, low, got `asap`'],
    [['runs', '--limit', '0'], '--limit must be a whole number >= 1, got `0`'],
  ])('%j: exit 2, one clear line, nothing written', async (args, message) => {
    const r = await cli(p, args, { MACAO_OCR_NOTIFY_SECRET: SECRET });
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect((await p.store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(0);
  });

  it('a notify URL without MACAO_OCR_NOTIFY_SECRET is refused before anything is written', async () => {
    const r = await cli(p, ['enqueue', '--notify', 'https://hooks.example.com/x', `s3://${p.bucket}/high/`]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--notify needs MACAO_OCR_NOTIFY_SECRET');
    expect((await p.store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(0);
  });
});

describe('enqueue --dry-run estimates', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('backlog/', { count: 12, seed: 43, backRatio: 0 });
    await p.upload('tonight/', { count: 4, seed: 44, backRatio: 0 });
  });
  afterAll(async () => p?.close());

  it('prints the cards, the calls and the hours behind the work of equal or higher priority, and the cost', async () => {
    await p.enqueue('backlog/', { priority: 'low' });
    const env = { OCR_QPS: '0.01', OCR_PRICE_PER_1000: '1.5' };
    const low = await cli(p, ['enqueue', '--dry-run', '--priority', 'low', `s3://${p.bucket}/tonight/`], env);
    expect(low.code).toBe(0);
    expect(low.out).toContain('estimate: 4 cards, 4 calls');
    expect(low.out).toContain('ahead of it: 12 pending cards of runs of priority low or higher');
    // 16 cards at 0.01/s: 1,600 s.
    expect(low.out).toContain('done in about 0.4 h at OCR_QPS 0.01/s');
    expect(low.out).toContain('cost about 0.01 at OCR_PRICE_PER_1000');
    const high = await cli(
      p,
      ['enqueue', '--dry-run', '--priority', 'high', `s3://${p.bucket}/tonight/`],
      env,
    );
    expect(high.out).toContain('ahead of it: 0 pending cards of runs of priority high or higher');
    expect(high.out).toContain('done in about 0.1 h');
    // A dry run writes nothing.
    expect((await p.store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(1);
  });
});

describe('erasure and the window', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('w/', { count: 4, seed: 45, backRatio: 0 });
  });
  afterAll(async () => p?.close());

  it('a card erased while it waits in the store is never sent, and its run still ends done', async () => {
    const run = await p.enqueue('w/', { window: 1 });
    const { rows } = await p.store.pool.query<{ version_id: string }>(
      'SELECT version_id FROM cards WHERE run_id = $1 AND pending AND queued_at IS NULL ORDER BY version_id LIMIT 1',
      [run.runId],
    );
    const erased = rows[0]!.version_id;
    const r = await cli(p, ['erase', '--version', erased]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('1 card versions found; erased 1,');
    const w = await p.startWorker({ keeperEveryMs: 100 });
    await until(async () => (await p.store.getRun(run.runId!))?.state === 'done', 30_000, 'the run done');
    await w.close();
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: 3, skipped: 1 });
    expect(p.emulator.stats().calls).toBe(3);
    const row = await p.store.pool.query('SELECT outcome, reason, pending FROM cards WHERE version_id = $1', [
      erased,
    ]);
    expect(row.rows[0]).toEqual({ outcome: 'skipped', reason: 'erased', pending: false });
  });
});

describe('windows of two queues on one store', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('q/', { count: 8, seed: 46, backRatio: 0 });
  });
  afterAll(async () => p?.close());

  it('a worker of another queue refills none of this queue’s runs: no card goes twice, none is paid twice', async () => {
    const run = await p.enqueue('q/', { window: 2 });
    // A worker of queue OTHER on the same store and Redis: this run's cards are not its to send.
    const other = await p.startWorker({ queueName: `${p.queueName}-other`, keeperEveryMs: 100 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.emulator.stats().calls).toBe(0);
    expect(await queuedCount(p.queue)).toBe(2);
    expect(await queuedCount(other.queue)).toBe(0);
    await other.close();
    await dropCardQueue(
      new Queue(other.queue.name, { connection: p.redis, prefix: DEFAULT_QUEUE_PREFIX }),
      p.redis,
    );
    const own = await p.startWorker({ keeperEveryMs: 100 });
    await until(async () => (await p.store.getRun(run.runId!))?.state === 'done', 30_000, 'the run done');
    await own.close();
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: 8 });
    expect(p.emulator.stats().calls).toBe(8);
  });
});
