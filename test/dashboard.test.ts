import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Dashboard,
  type DashboardAction,
  type DashboardAuth,
  type DashboardOptions,
  SHOWN_DATA_FIELDS,
  SHOWN_RESULT_FIELDS,
  startDashboard,
  UNSHOWN_REASON,
} from '../src/dashboard/index.js';
import { createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import type { SampleObject } from '../src/sandbox/specimen/index.js';
import { queuedCount } from './support/cardQueue.js';
import { launchChromium } from './support/chromium.js';
import { runCli } from './support/cli.js';
import { URL_SIGNATURE } from './support/leaks.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { BIN, TSX, until, watchProcess } from './support/processes.js';

const SCREENSHOT = join('test-output', 'dashboard.png');

/** What the board's API answers for one queue (the fields this test reads). */
interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  readOnlyMode: boolean;
  isPaused: boolean;
  jobs: {
    id: string;
    name: string;
    data: Record<string, unknown>;
    returnValue: unknown;
    failedReason?: string;
  }[];
}

/** The login of the tests that configure one. */
const LOGIN: DashboardAuth = { user: 'kyc-ops', password: `pw-${randomBytes(6).toString('hex')}` };

function basic(auth: DashboardAuth): string {
  return `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
}

async function boardQueue(
  d: Dashboard,
  queueName: string,
  status: string,
  headers: Record<string, string> = {},
): Promise<BoardQueue> {
  const res = await fetch(
    `${d.url}api/queues?activeQueue=${encodeURIComponent(queueName)}&status=${status}&page=1&jobsPerPage=50`,
    { headers },
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as { queues: BoardQueue[] };
  const q = body.queues.find((x) => x.name === queueName);
  if (!q) throw new Error(`queue ${queueName} not on the board: ${JSON.stringify(body).slice(0, 500)}`);
  return q;
}

/** A request with headers `fetch` refuses to set (`Host`), answered in full. */
function rawRequest(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard', () => {
  let p: Pipeline;
  let browser: Browser;
  let cards: SampleObject[];
  let waiting: number;
  const dashboards: Dashboard[] = [];
  const start = async (allowActions: boolean, extra: Partial<DashboardOptions> = {}): Promise<Dashboard> => {
    const d = await startDashboard({
      redisUrl: p.redisUrl,
      queueName: p.queueName,
      port: 0,
      allowActions,
      ...extra,
    });
    dashboards.push(d);
    return d;
  };

  beforeAll(async () => {
    browser = await launchChromium();
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    const objs = await p.upload('d/', { count: 6, faults: true, seed: 3 });
    cards = objs.filter((o) => o.kind === 'card');
    // A few through a real worker: a recognized card and a photo that is no card (rejected: both
    // jobs complete and leave Redis), and a card whose one attempt fails (its job stays failed,
    // with the API's code); the rest wait, as no worker runs.
    const w = await p.startWorker({ quickRetries: 0 });
    await p.enqueue('d/card-000001');
    await p.enqueue('d/fault-not-a-card');
    await p.drained();
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 1 } });
    await p.enqueue('d/card-000002', { jobOptions: { attempts: 1 } });
    await p.drained();
    p.emulator.configure({ faults: {} });
    await w.close();
    await p.enqueue('d/card-');
    // A job someone added by hand, carrying what a job must never carry: the board must not show it.
    await p.queue.add('card', {
      runId: 'by-hand',
      bucket: p.bucket,
      frontKey: 'd/by-hand_front.jpg',
      frontEtag: '"0123"',
      ID: '1234567(8)',
      fields: { CnLastName: '陳', EnLastName: 'CHAN' },
    } as never);
    waiting = await queuedCount(p.queue);
    expect(waiting).toBeGreaterThan(1);
    mkdirSync('test-output', { recursive: true });
  });
  afterAll(async () => {
    for (const d of dashboards) await d.close();
    await browser?.close();
    await p?.close();
  });

  it('shows the queue and its waiting count in a browser, jobs by identity only, read-only', async () => {
    const d = await start(false);
    expect(d.readOnly).toBe(true);
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const elsewhere: string[] = [];
    page.on('requestfinished', (r) => {
      if (!r.url().startsWith(d.url)) elsewhere.push(r.url());
    });
    try {
      await page.goto(d.queueUrl);
      const title = page.getByRole('heading', { level: 1, name: p.queueName });
      // Card jobs carry their run's priority: BullMQ keeps them as `prioritized`; the hand-made
      // job has none and waits as `waiting`.
      const prioritized = await p.queue.getPrioritizedCount();
      expect(prioritized).toBe(waiting - 1);
      const waitingTab = page.locator('a[href$="status=prioritized"]', {
        hasText: new RegExp(`^\\s*prioritized\\s*${prioritized}\\s*$`, 'i'),
      });
      await title.waitFor({ state: 'visible', timeout: 20_000 });
      await waitingTab.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await title.isVisible()).toBe(true);
      expect(await waitingTab.isVisible()).toBe(true);
      // Jobs are named by their front key; the hand-made job's card fields are nowhere on the page.
      await page.getByText('card d/by-hand_front.jpg').waitFor({ state: 'visible' });
      const text = (await page.locator('body').textContent()) ?? '';
      expect(text).toContain('frontEtag');
      expect(text).not.toContain('1234567(8)');
      expect(text).not.toContain('CHAN');
      await page.screenshot({ path: SCREENSHOT });
      // Keys in real buckets often carry Chinese names, and the board shows keys as they are:
      // in the page's own font, Chinese draws as distinct glyphs, not the boxes of a missing font.
      const glyphs = await page.evaluate(`(() => {
        const font = '48px ' + getComputedStyle(document.body).fontFamily;
        return new Set(['陳', '林', '黃'].map((ch) => {
          const c = document.createElement('canvas');
          c.width = 64;
          c.height = 64;
          const g = c.getContext('2d');
          g.font = font;
          g.fillText(ch, 4, 52);
          return c.toDataURL();
        })).size;
      })()`);
      expect(glyphs).toBe(3);

      // The failed tab: the API's code, and no Retry all / Clean all without --allow-actions.
      await page.goto(`${d.queueUrl}?status=failed`);
      await page.getByText('FailedOperation.OcrFailed').first().waitFor({ state: 'visible' });
      expect(await page.getByRole('button', { name: /retry all/i }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /clean all/i }).count()).toBe(0);
      // The page loads nothing from elsewhere (its Google Fonts link is refused by our CSP).
      expect(elsewhere).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('its API shows job data and results through the identity allow-lists, and refuses every action', async () => {
    const d = await start(false);
    const q = await boardQueue(d, p.queueName, 'latest');
    expect(q.readOnlyMode).toBe(true);
    expect((q.counts.waiting ?? 0) + (q.counts.prioritized ?? 0)).toBe(waiting);
    expect(q.counts.failed).toBe(1);
    for (const job of q.jobs) {
      for (const k of Object.keys(job.data)) expect(SHOWN_DATA_FIELDS).toContain(k);
      if (job.returnValue !== null)
        for (const k of Object.keys(job.returnValue as object)) expect(SHOWN_RESULT_FIELDS).toContain(k);
    }
    // A card enqueued by the producer: its identity in full, its name the front key.
    const fronts = cards.filter((c) => c.side === 'front').map((c) => `d/${c.key}`);
    const queued = q.jobs.find((j) => fronts.includes(String(j.data.frontKey)) && j.returnValue === null);
    expect(queued?.name).toBe(`card ${queued?.data.frontKey}`);
    expect(queued?.data).toEqual(
      expect.objectContaining({ runId: expect.any(String), bucket: p.bucket, frontEtag: expect.any(String) }),
    );
    const byHand = q.jobs.find((j) => j.data.runId === 'by-hand');
    expect(byHand?.data).toEqual({
      runId: 'by-hand',
      bucket: p.bucket,
      frontKey: 'd/by-hand_front.jpg',
      frontEtag: '"0123"',
    });
    const failed = await boardQueue(d, p.queueName, 'failed');
    // Only the failed card: the rejected one completed, as the report counts it.
    expect(failed.jobs.map((j) => j.failedReason)).toEqual(['FailedOperation.OcrFailed']);
    expect(String(failed.jobs[0]?.data.frontKey)).toMatch(/^d\/card-000002/);
    const body = JSON.stringify(q);
    expect(body).not.toContain('1234567(8)');
    expect(body).not.toContain('陳');

    for (const [method, path] of [
      ['PUT', `api/queues/${p.queueName}/retry/failed`],
      ['PUT', `api/queues/${p.queueName}/clean/failed`],
      ['PUT', `api/queues/${p.queueName}/pause`],
      ['PUT', 'api/queues/pause'],
      ['PUT', `api/queues/${p.queueName}/empty`],
      ['POST', `api/queues/${p.queueName}/add`],
    ] as const) {
      const res = await fetch(`${d.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify({ name: 'card', data: {} }) : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(405);
      await res.text();
    }
    expect(await p.queue.isPaused()).toBe(false);
    expect(await queuedCount(p.queue)).toBe(waiting);
    expect(await p.queue.getFailedCount()).toBe(1);
  });

  it('answers only to its own names: another Host gets 421 and no board', async () => {
    const d = await start(false, { allowedHosts: ['ops.example.test', 'tunnel.example.test:8443'] });
    const api = `${d.url}api/queues`;
    for (const host of [
      `localhost:${d.port}`,
      `127.0.0.1:${d.port}`,
      'ops.example.test',
      'tunnel.example.test:8443',
    ])
      expect((await rawRequest(d.queueUrl, { host })).status, host).toBe(200);
    // A name an attacker points at 127.0.0.1 (DNS rebinding), a loopback name on another port.
    for (const host of [
      `rebind.attacker.test:${d.port}`,
      'rebind.attacker.test',
      `localhost:${d.port + 1}`,
    ]) {
      for (const url of [d.queueUrl, api]) {
        const res = await rawRequest(url, { host });
        expect(res.status, `${host} ${url}`).toBe(421);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.body).toMatch(/^Misdirected Request: .*--allowed-host NAME/);
        expect(res.body).not.toContain(p.queueName);
        expect(res.body).not.toContain('rebind');
      }
    }
  });

  it('with a login: 401 without it or with a wrong one, the API and the page with it', async () => {
    const d = await start(false, { auth: LOGIN });
    const api = `${d.url}api/queues?activeQueue=${encodeURIComponent(p.queueName)}&status=latest&page=1&jobsPerPage=5`;
    const html = await fetch(d.queueUrl, { headers: { authorization: basic(LOGIN) } });
    expect(html.status).toBe(200);
    const asset = /<script[^>]+src="([^"]+)"/.exec(await html.text())?.[1];
    expect(asset).toBeDefined();
    const wrong = [
      undefined,
      basic({ ...LOGIN, password: `${LOGIN.password}x` }),
      basic({ ...LOGIN, user: 'root' }),
    ];
    for (const url of [d.queueUrl, api, new URL(asset ?? '', d.url).href]) {
      for (const authorization of wrong) {
        const res = await fetch(url, authorization ? { headers: { authorization } } : {});
        expect(res.status, `${url} ${authorization ? 'wrong login' : 'no login'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="macao-ocr"');
        expect(await res.text()).not.toContain(p.queueName);
      }
    }
    const q = await boardQueue(d, p.queueName, 'latest', { authorization: basic(LOGIN) });
    expect((q.counts.waiting ?? 0) + (q.counts.prioritized ?? 0)).toBe(await queuedCount(p.queue));

    const context = await browser.newContext({
      httpCredentials: { username: LOGIN.user, password: LOGIN.password },
      viewport: { width: 1400, height: 1000 },
    });
    try {
      const page = await context.newPage();
      await page.goto(d.queueUrl);
      const title = page.getByRole('heading', { level: 1, name: p.queueName });
      await title.waitFor({ state: 'visible', timeout: 20_000 });
      await page.getByText('card d/by-hand_front.jpg').waitFor({ state: 'visible' });
    } finally {
      await context.close();
    }
  });

  it('refuses a change sent from a page of another site, even with the login', async () => {
    const d = await start(true, { auth: LOGIN });
    const pause = `${d.url}api/queues/${encodeURIComponent(p.queueName)}/pause`;
    const res = await rawRequest(
      pause,
      { authorization: basic(LOGIN), origin: 'https://evil.example.test' },
      'PUT',
    );
    expect(res.status).toBe(403);
    expect(await p.queue.isPaused()).toBe(false);
  });

  it('macao-ocr dashboard on another interface starts with a login and asks every request for it', async () => {
    const child = spawn(
      process.execPath,
      ['--import', TSX, BIN, 'dashboard', '--port', '0', '--host', '0.0.0.0'],
      {
        env: {
          ...process.env,
          REDIS_URL: p.redisUrl,
          MACAO_OCR_QUEUE: p.queueName,
          MACAO_OCR_DASHBOARD_USER: LOGIN.user,
          MACAO_OCR_DASHBOARD_PASSWORD: LOGIN.password,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const d = watchProcess(child);
    try {
      await until(
        () => /dashboard: http:\/\/0\.0\.0\.0:\d+\//.test(d.output()),
        30_000,
        'the dashboard to listen',
      );
      const port = /dashboard: http:\/\/0\.0\.0\.0:(\d+)\//.exec(d.output())?.[1];
      const api = `http://127.0.0.1:${port}/api/queues`;
      expect((await fetch(api)).status).toBe(401);
      const res = await fetch(api, { headers: { authorization: basic(LOGIN) } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { queues: { name: string }[] };
      expect(body.queues.map((q) => q.name)).toEqual([p.queueName]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await d.exited).toBe(0);
    expect(d.output()).toContain('login required');
    expect(d.output()).not.toContain(LOGIN.password);
  });

  it('its /api/runs agrees with status --json and report on recognized, rejected and failed', async () => {
    const { runJsonOf, runsJson } = await import('../src/results/runLifecycle.js');
    const d = await start(false, {
      runs: { list: (limit) => runsJson(p.store, limit), get: (id) => runJsonOf(p.store, id) },
    });
    const env = { ...pipelineEnv(p), LOG_LEVEL: 'silent' };
    const listed = (await (await fetch(`${d.url}api/runs?limit=50`)).json()) as { run: string }[];
    expect(listed.length).toBeGreaterThanOrEqual(3);
    const totals = { recognized: 0, rejected: 0, failed: 0 };
    for (const { run } of listed) {
      const board = (await (await fetch(`${d.url}api/runs/${run}`)).json()) as {
        counts: Record<string, number>;
      };
      const status = JSON.parse((await runCli(['status', run, '--json'], env)).out) as {
        counts: Record<string, number>;
      };
      const report = (await runCli(['report', run, '--format', 'jsonl'], env)).out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).outcome as string);
      for (const word of ['recognized', 'rejected', 'failed'] as const) {
        const inReport = report.filter((o) => o === word).length;
        expect({ run, word, board: board.counts[word], status: status.counts[word] }).toEqual({
          run,
          word,
          board: inReport,
          status: inReport,
        });
        totals[word] += inReport;
      }
    }
    // Every word was there to agree on; and BullMQ's failed set holds the failed cards, no more.
    expect(totals.recognized).toBeGreaterThan(0);
    expect(totals.rejected).toBeGreaterThan(0);
    expect(totals.failed).toBe(await p.queue.getFailedCount());
    expect((await fetch(`${d.url}api/runs/r-none`)).status).toBe(404);
    expect((await fetch(`${d.url}api/runs?limit=0`)).status).toBe(400);
  });

  it('with --allow-actions, offers Retry all, retries the failed job, and reports the action for the audit log', async () => {
    const actions: DashboardAction[] = [];
    const d = await start(true, { onAction: (a) => void actions.push(a) });
    expect(d.readOnly).toBe(false);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`${d.queueUrl}?status=failed`);
      await page.getByText('FailedOperation.OcrFailed').first().waitFor({ state: 'visible' });
      await page.getByRole('button', { name: /retry all/i }).waitFor({ state: 'visible' });
    } finally {
      await page.close();
    }
    const res = await fetch(`${d.url}api/queues/${p.queueName}/retry/failed`, { method: 'PUT' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ retried: 1, skipped: 0 });
    expect(await p.queue.getFailedCount()).toBe(0);
    expect(await queuedCount(p.queue)).toBe(waiting + 1);
    await until(() => actions.length > 0, 5000, 'the action to be reported');
    expect(actions).toEqual([
      { method: 'PUT', path: `/api/queues/${p.queueName}/retry/failed`, status: 200, user: undefined },
    ]);
  });
});

describe('macao-ocr dashboard without a login', () => {
  // Set and empty: a login in the environment running the tests must not make these pass.
  const env = { MACAO_OCR_DASHBOARD_USER: '', MACAO_OCR_DASHBOARD_PASSWORD: '' };

  it('refuses to start with --allow-actions or on an interface other than loopback (exit 2)', async () => {
    for (const args of [
      ['--allow-actions'],
      ['--host', '0.0.0.0'],
      ['--host', '::'],
      ['--host', '192.0.2.10'],
    ]) {
      const r = await runCli(['dashboard', '--port', '0', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/needs a login: .*Set MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD/);
      expect(r.out).toBe('');
    }
  });

  it('refuses an --allowed-host that is not a host name (exit 2)', async () => {
    const r = await runCli(['dashboard', '--port', '0', '--allowed-host', 'https://ops.example.test/'], env);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--allowed-host `https://ops.example.test/` is not a host name');
  });
});

describe('failures on the board', () => {
  const queueName = `dash-fail-${randomBytes(6).toString('hex')}`;
  const redisUrl = (): string => inject('redisUrl');
  const key = 'd/陳大文_CHAN_TAI_MAN_1234567_front.jpg';
  const presigned =
    `https://scans.s3.ap-east-1.amazonaws.com/${encodeURI(key)}?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
    '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fap-east-1%2Fs3%2Faws4_request&X-Amz-Signature=9f3c0d5e7a1b';
  const frames = `    at download (/srv/macao-ocr/dist/worker/presentImage.js:42:7)\n    at ${presigned}\n    at processCard (/srv/macao-ocr/dist/worker/processCard.js:88:3)`;
  /** What the jobs throw: with a code of ours, without one, and a bare word from a card. */
  const messages = [
    `FailedOperation.DownLoadError: could not read ${key} from ${presigned}`,
    `GET ${presigned} failed for ${key}`,
    'CHAN',
  ];
  let queue: Queue;
  let d: Dashboard | undefined;

  beforeAll(async () => {
    queue = new Queue(queueName, { connection: createRedis(redisUrl()), prefix: DEFAULT_QUEUE_PREFIX });
    const worker = new Worker(
      queueName,
      async (job) => {
        await job.log(`reading ${key}`);
        const err = new Error(messages[Number(job.data.i)]);
        err.stack = `Error: ${err.message}\n${frames}`;
        throw err;
      },
      { connection: createRedis(redisUrl()), prefix: DEFAULT_QUEUE_PREFIX },
    );
    await queue.addBulk(messages.map((_, i) => ({ name: 'card', data: { i }, opts: { attempts: 1 } })));
    await until(async () => (await queue.getFailedCount()) === messages.length, 20_000, 'the jobs to fail');
    await worker.close();
    // Redis holds all of it: what the board leaves out is really there to leave out.
    const raw = JSON.stringify(await queue.getJobs(['failed']));
    expect(raw).toMatch(URL_SIGNATURE);
    expect(raw).toContain('presentImage.js');
  });
  afterAll(async () => {
    await d?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
  });

  it('shows the error code alone: no message, stack frame, S3 key, URL or job log', async () => {
    d = await startDashboard({ redisUrl: redisUrl(), queueName, port: 0 });
    const q = await boardQueue(d, queueName, 'failed');
    expect(q.jobs.map((j) => j.failedReason).sort()).toEqual(
      ['FailedOperation.DownLoadError', UNSHOWN_REASON, UNSHOWN_REASON].sort(),
    );
    const id = q.jobs[0]?.id ?? '';
    const one = await fetch(`${d.url}api/queues/${queueName}/${id}`);
    const logs = await fetch(`${d.url}api/queues/${queueName}/${id}/logs`);
    expect(one.status).toBe(200);
    expect(logs.status).toBe(200);
    const single = (await one.json()) as { job: { stacktrace: unknown[] } };
    expect(single.job.stacktrace).toEqual([]);
    const body = `${JSON.stringify(q)}\n${JSON.stringify(single)}\n${await logs.text()}`;
    for (const leak of [key, '陳大文', 'CHAN', 'amazonaws', 'https://', 'presentImage.js', '    at '])
      expect(body, leak).not.toContain(leak);
    expect(body).not.toMatch(URL_SIGNATURE);
    for (const job of q.jobs) expect((job as { stacktrace?: unknown[] }).stacktrace).toEqual([]);
  });
});

describe('the browser for these tests', () => {
  it('a Chromium that cannot start says why, and the two ways to provide one', async () => {
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = 'package.json';
    try {
      const err = await launchChromium().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/^Chromium at package\.json \(from CHROMIUM_PATH\) could not start: \S/);
      expect(err?.message).toContain('`npm ci` installs one');
      expect(err?.message).toContain('set CHROMIUM_PATH to a Chromium binary');
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
  });
});
