import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createWorkerMetrics, type MetricsServer, serveMetrics } from '../src/metrics/index.js';
import { freePort } from '../src/net.js';
import { enqueueRun } from '../src/producer/enqueueRun.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import type { CardWorker } from '../src/worker/startWorker.js';
import { outcomes, type Pipeline, startPipeline } from './support/pipeline.js';
import { spawnWorker, until } from './support/processes.js';
import { startThrowawayRedis } from './support/services.js';

/** One sample of the Prometheus text format: `name{a="x",b="y"} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with that name and those labels; undefined if absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseProm(await res.text());
}

describe('worker metrics', () => {
  let p: Pipeline;
  let fronts: number;

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    const objs = await p.upload('m/', { count: 10, faults: true, seed: 5 });
    fronts = objs.filter((o) => o.kind === 'card' && o.side === 'front').length;
  });
  afterAll(async () => p?.close());
  beforeEach(() => p.reset());

  it('counts outcomes, calls by code and latency as the store and the emulator do; gauges read the live queue', async () => {
    p.emulator.configure({ latencyMs: [20, 60] });
    const metrics = createWorkerMetrics();
    let server: MetricsServer | undefined;
    let w: CardWorker | undefined;
    try {
      server = await serveMetrics(metrics.registry, { port: 0 });
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      w = await p.startWorker({ onCall: metrics.onCall, onOutcome: metrics.onOutcome });
      metrics.attach(w);
      const run = await p.enqueue('m/');
      await p.drained();

      const byOutcome = await outcomes(p.store, run.runId!);
      const stats = p.emulator.stats();
      // The oversize specimen is recognized after a downscale; the truncated JPEG, the photo that
      // is no card and the text named .jpg are rejected (worker.test.ts has the details).
      expect(byOutcome.recognized).toBe(fronts + 1);
      expect(byOutcome.rejected).toBe(3);

      let s = await scrape(server.url);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'recognized' })).toBe(fronts + 1);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'rejected' })).toBe(3);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'failed' })).toBe(0);
      for (const event of ['throttled', 'paused', 'deferred'])
        expect(value(s, 'macao_ocr_card_events_total', { event })).toBe(0);

      // Every call the emulator answered, by code; OK is what it billed.
      expect(value(s, 'macao_ocr_api_calls_total', { code: 'OK' })).toBe(stats.billed);
      const byCode = Object.fromEntries(
        s.filter((x) => x.name === 'macao_ocr_api_calls_total').map((x) => [x.labels.code, x.value]),
      );
      expect(byCode).toEqual(stats.byCode);
      expect(value(s, 'macao_ocr_api_call_duration_seconds_count')).toBe(stats.calls);
      const sum = value(s, 'macao_ocr_api_call_duration_seconds_sum')!;
      expect(sum).toBeGreaterThanOrEqual(stats.calls * 0.02);
      expect(value(s, 'macao_ocr_api_call_duration_seconds_bucket', { le: '10' })).toBe(stats.calls);
      expect(value(s, 'macao_ocr_api_call_duration_seconds_bucket', { le: '+Inf' })).toBe(stats.calls);

      // Gauges, read on scrape.
      expect(value(s, 'macao_ocr_redis_up')).toBe(1);
      // The shared rate (50/s here), less what the rate limiter has taken off and not yet given back.
      expect(value(s, 'macao_ocr_effective_qps')).toBeGreaterThan(0);
      expect(value(s, 'macao_ocr_effective_qps')).toBeLessThanOrEqual(50);
      expect(value(s, 'macao_ocr_in_flight_cards')).toBe(0);
      expect(value(s, 'macao_ocr_concurrency')).toBe(w.concurrency);
      for (const state of ['waiting', 'active', 'delayed'])
        expect(value(s, 'macao_ocr_queue_jobs', { state })).toBe(0);
      // Rejected cards complete their jobs: BullMQ's failed set holds only failed cards, none here.
      expect(value(s, 'macao_ocr_queue_jobs', { state: 'failed' })).toBe(0);
      // prom-client's default process metrics, under their usual names.
      expect(value(s, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value(s, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

      await p.queue.add(
        'card',
        { runId: 'x', bucket: p.bucket, frontKey: 'k', frontEtag: 'e' },
        { delay: 60_000 },
      );
      s = await scrape(server.url);
      expect(value(s, 'macao_ocr_queue_jobs', { state: 'delayed' })).toBe(1);

      const other = await fetch(server.url.replace('/metrics', '/'));
      expect(other.status).toBe(404);
      await other.text();
    } finally {
      await w?.close();
      await server?.close();
    }
  });

  it('counts a card failed after its attempts, and every call it made', async () => {
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 1 } });
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const server = await serveMetrics(metrics.registry, { port: 0 });
    let w: CardWorker | undefined;
    try {
      w = await p.startWorker({
        quickRetries: 1,
        onCall: metrics.onCall,
        onOutcome: metrics.onOutcome,
      });
      metrics.attach(w);
      await p.enqueue('m/card-000001', {
        jobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 100 } },
      });
      await p.drained();
      const s = await scrape(server.url);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'failed' })).toBe(1);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'recognized' })).toBe(0);
      // 2 attempts × (1 call + 1 quick retry)
      expect(value(s, 'macao_ocr_api_calls_total', { code: 'FailedOperation.OcrFailed' })).toBe(4);
      expect(value(s, 'macao_ocr_api_calls_total', { code: 'OK' })).toBe(0);
      expect(value(s, 'macao_ocr_api_call_duration_seconds_count')).toBe(4);
      expect(value(s, 'process_cpu_user_seconds_total')).toBeUndefined();
    } finally {
      await w?.close();
      await server.close();
    }
  });

  it('`macao-ocr work --metrics-port N` serves them while it works and stops serving on SIGTERM', async () => {
    const port = await freePort();
    const run = await p.enqueue('m/card-00000');
    const w = spawnWorker(p, ['--concurrency', '2', '--metrics-port', String(port)]);
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      await p.drained(60_000);
      let s: Sample[] = [];
      await until(
        async () => {
          s = await scrape(url).catch(() => []);
          return value(s, 'macao_ocr_cards_finished_total', { outcome: 'recognized' }) !== undefined;
        },
        30_000,
        'the worker to serve its metrics',
      );
      const recognized = (await outcomes(p.store, run.runId!)).recognized;
      expect(recognized).toBeGreaterThan(0);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'recognized' })).toBe(recognized);
      expect(value(s, 'macao_ocr_api_calls_total', { code: 'OK' })).toBe(p.emulator.stats().billed);
      expect(w.output()).toContain(`"metrics":"${url}"`);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      w.child.kill('SIGKILL');
    }
  });

  it('when Redis does not answer, a scrape still answers: Redis gauges unknown, counters kept', async () => {
    // A Redis of its own, to stop and start again under the worker.
    const own = await startThrowawayRedis();
    const metrics = createWorkerMetrics({ defaultMetrics: false, redisTimeoutMs: 300 });
    const server = await serveMetrics(metrics.registry, { port: 0 });
    let w: CardWorker | undefined;
    try {
      w = await p.startWorker({
        redisUrl: own.url,
        onCall: metrics.onCall,
        onOutcome: metrics.onOutcome,
      });
      metrics.attach(w);
      let s = await scrape(server.url);
      expect(value(s, 'macao_ocr_redis_up')).toBe(1);
      expect(value(s, 'macao_ocr_queue_jobs', { state: 'waiting' })).toBe(0);

      own.stop();
      const t0 = Date.now();
      s = await scrape(server.url);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(value(s, 'macao_ocr_redis_up')).toBe(0);
      expect(value(s, 'macao_ocr_effective_qps')).toBeNaN();
      expect(s.filter((x) => x.name === 'macao_ocr_queue_jobs')).toEqual([]);
      expect(value(s, 'macao_ocr_cards_finished_total', { outcome: 'recognized' })).toBe(0);
      expect(value(s, 'macao_ocr_in_flight_cards')).toBe(0);

      own.start();
      await until(
        async () => value(await scrape(server.url), 'macao_ocr_redis_up') === 1,
        20_000,
        'the worker to reconnect',
      );
      s = await scrape(server.url);
      expect(value(s, 'macao_ocr_queue_jobs', { state: 'waiting' })).toBe(0);
      // And the worker works again, counted. (This also waits until BullMQ's worker is past its
      // reconnection: closing it in the moment after one hangs, a BullMQ 6.7 quirk of its own.)
      const redis = createRedis(own.url);
      const queue = new Queue<CardJobData>(p.queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX });
      try {
        await enqueueRun({
          sources: [`s3://${p.bucket}/m/card-000002`],
          s3: p.s3,
          store: p.store,
          queue,
          redis,
        });
        await until(
          async () =>
            value(await scrape(server.url), 'macao_ocr_cards_finished_total', { outcome: 'recognized' }) ===
            1,
          20_000,
          'a card recognized after the outage',
        );
      } finally {
        await queue.close();
        redis.disconnect();
      }
    } finally {
      await w?.close(1000);
      await server.close();
      own.destroy();
    }
  });
});
