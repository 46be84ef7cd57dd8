import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { runCli } from './support/cli.js';
import { outcomes, type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';

/** What the tool says about a card is true of the card: no finding or warning the answer does not bear out. */

const CARDS = 6;

describe('findings that are true of the card', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('f/', { count: CARDS, seed: 51, backRatio: 0 });
  });
  beforeEach(async () => {
    await p.reset();
  });
  afterAll(async () => {
    await p?.close();
  });

  /** Enqueues the bucket, works it off with a worker whose warnings are kept, and checks every card was recognized. */
  async function recognizeAll(): Promise<{ run: { runId?: string }; logged: string }> {
    let logged = '';
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk, _enc, done) {
          logged += String(chunk);
          done();
        },
      }),
    });
    const run = await p.enqueue('f/');
    const worker = await p.startWorker({ logger });
    await p.drained();
    await worker.close();
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: CARDS });
    return { run, logged };
  }

  async function recognizedCards(
    runId: string,
  ): Promise<{ warnings: unknown[]; checks: { code: string }[] }[]> {
    const r = await runCli(['report', runId, '--format', 'jsonl'], pipelineEnv(p));
    return r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((c: { outcome: string }) => c.outcome === 'recognized');
  }

  it('answers without ResidentType, as the provider’s own example is, carry no finding for it', async () => {
    p.emulator.configure({ omitFields: ['ResidentType'] });
    const { run } = await recognizeAll();
    const cards = await recognizedCards(run.runId!);
    expect(cards).toHaveLength(CARDS);
    for (const c of cards) expect(c.checks).toEqual([]);
  });

  it('-9109 is an account condition: noted once per run in the log, status and the report, never a card warning', async () => {
    p.emulator.configure({ warningService: false });
    const { run, logged } = await recognizeAll();
    for (const c of await recognizedCards(run.runId!)) expect(c.warnings).toEqual([]);
    expect(logged.match(/card-warning service is not enabled/g)).toHaveLength(1);
    const status = JSON.parse((await runCli(['status', run.runId!, '--json'], pipelineEnv(p))).out);
    expect(status.accountConditions).toEqual([
      expect.stringMatching(/^-9109: the card-warning service is not enabled/),
    ]);
    const report = (await runCli(['report', run.runId!], pipelineEnv(p))).out;
    expect(report).toMatch(/account {3}-9109: the card-warning service is not enabled/);
    expect(report).not.toContain('warning-service-not-enabled');
  });

  it('a field the provider adds later is logged by name, once, and stored nowhere', async () => {
    p.emulator.configure({ extraFields: { PlaceOfBirth: 'Taipa-value-9f3e' } });
    const { logged } = await recognizeAll();
    expect(logged.match(/"field":"PlaceOfBirth"/g)).toHaveLength(1);
    expect(logged).not.toContain('Taipa-value-9f3e');
    const { rows } = await p.store.pool.query(
      `SELECT count(*)::int AS n FROM cards WHERE cards::text LIKE '%Taipa-value-9f3e%'`,
    );
    expect(rows[0].n).toBe(0);
  });
});
