import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SIGNATURE_HEADER } from '../src/notice.js';
import { runCli } from './support/cli.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { spawnWorker, until, type WorkerProcess } from './support/processes.js';

/** Schedules kept in Redis, fired by whichever `work` process takes the tick. */

const SECRET = 'schedule-notice-secret';

describe('schedules', () => {
  let p: Pipeline;
  const procs: WorkerProcess[] = [];
  const cli = (args: string[]) =>
    runCli(args, { ...pipelineEnv(p), LOG_LEVEL: 'silent', MACAO_OCR_NOTIFY_SECRET: SECRET });

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('sched/', { count: 3, seed: 51, backRatio: 0 });
  });
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    await cli(['schedule', 'remove', 'every2s']).catch(() => undefined);
    await p?.close();
  });

  it('two workers: each tick is exactly one run, announced exactly once with a signature that verifies', async () => {
    const got: { body: string; signature: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        got.push({ body, signature: String(req.headers[SIGNATURE_HEADER.toLowerCase()]) });
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/runs`;
    try {
      const env = { MACAO_OCR_NOTIFY_SECRET: SECRET, OCR_QPS: '20' };
      procs.push(spawnWorker(p, [], env), spawnWorker(p, [], env));
      await until(() => procs.every((w) => w.output().includes('worker started')), 30_000, 'two workers');
      const added = await cli([
        'schedule',
        'add',
        'every2s',
        '--cron',
        '*/2 * * * * *',
        '--tz',
        'UTC',
        '--priority',
        'high',
        '--notify',
        url,
        `s3://${p.bucket}/sched/`,
      ]);
      expect(added.err).toBe('');
      expect(added.code).toBe(0);
      expect(added.out).toContain('schedule every2s: */2 * * * * * (UTC), priority high');
      const listed = JSON.parse((await cli(['schedule', 'list', '--json'])).out);
      expect(listed).toMatchObject([
        {
          name: 'every2s',
          cron: '*/2 * * * * *',
          tz: 'UTC',
          priority: 'high',
          sources: [`s3://${p.bucket}/sched/`],
        },
      ]);
      const from = Date.now();
      await until(async () => got.length >= 4, 30_000, 'four runs announced');
      expect((await cli(['schedule', 'remove', 'every2s'])).code).toBe(0);
      const span = Date.now() - from;
      // Whatever was in flight at the removal settles.
      await new Promise((r) => setTimeout(r, 3000));

      const runs = JSON.parse((await cli(['runs', '--json', '--limit', '100'])).out) as {
        run: string;
        priority: string;
        state: string;
        counts: Record<string, number>;
      }[];
      // One run per tick, two seconds apart: never two runs for one tick, whatever took it.
      const ticks = runs.map((r) => r.run).sort();
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(ticks.length).toBeLessThanOrEqual(Math.ceil((span + 3000) / 2000) + 1);
      for (const r of runs) expect(r).toMatchObject({ priority: 'high', state: 'done' });
      // The first tick recognized the cards; the later ones found them done and paid nothing.
      expect(runs.reduce((n, r) => n + (r.counts.recognized ?? 0), 0)).toBe(3);
      expect(p.emulator.stats().calls).toBe(3);

      // Each run announced once, signed with the secret.
      await until(() => got.length >= runs.length, 10_000, 'every run announced');
      const announced = got.map((g) => JSON.parse(g.body).run as string).sort();
      expect(announced).toEqual(ticks);
      for (const g of got)
        expect(g.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(g.body).digest('hex')}`);
    } finally {
      await new Promise((r) => hook.close(r));
      for (const w of procs.splice(0)) {
        w.child.kill('SIGTERM');
        await w.exited;
      }
    }
  }, 90_000);

  it.each([
    [['--cron', '61 * * * *'], '--cron: `61 * * * *` is not a cron expression'],
    [['--cron', '* * *'], '--cron: `* * *` is not a cron expression'],
    [['--cron', '0 2 * * *', '--tz', 'Mars/Olympus'], '--tz: unknown time zone `Mars/Olympus`'],
    [['--cron', '0 2 * * *', '--priority', 'urgent'], '--priority must be high, normal, low, got `urgent`'],
    [
      ['--cron', '0 2 * * *', '--notify', 'mailto:ops@example.com'],
      '--notify must start with http:// or https://',
    ],
    [['--cron', '0 2 * * *', '--window', '0'], '--window must be a whole number >= 1, got `0`'],
  ])('schedule add %j: exit 2, one clear line, no schedule', async (flags, message) => {
    const r = await cli(['schedule', 'add', 'nightly', ...flags, `s3://${p.bucket}/sched/`]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(JSON.parse((await cli(['schedule', 'list', '--json'])).out)).toEqual([]);
  });

  it('a name already taken is refused and the schedule kept as it was; remove of an unknown name exits 2', async () => {
    expect(
      (await cli(['schedule', 'add', 'nightly', '--cron', '0 2 * * *', `s3://${p.bucket}/sched/`])).code,
    ).toBe(0);
    const again = await cli(['schedule', 'add', 'nightly', '--cron', '0 3 * * *', `s3://${p.bucket}/other/`]);
    expect(again.code).toBe(2);
    expect(again.err).toContain('a schedule named `nightly` exists already');
    const [kept] = JSON.parse((await cli(['schedule', 'list', '--json'])).out);
    expect(kept).toMatchObject({ name: 'nightly', cron: '0 2 * * *', tz: 'Asia/Macau', priority: 'normal' });
    expect((await cli(['schedule', 'remove', 'nightly'])).code).toBe(0);
    const unknown = await cli(['schedule', 'remove', 'nightly']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no schedule named `nightly`');
  });
});
