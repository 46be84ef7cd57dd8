import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Dashboard,
  SHOWN_DATA_FIELDS,
  SHOWN_RESULT_FIELDS,
  startDashboard,
} from '../src/dashboard/index.js';
import type { SampleObject } from '../src/sandbox/specimen/index.js';
import { launchChromium } from './support/chromium.js';
import { type Pipeline, startPipeline } from './support/pipeline.js';

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

async function boardQueue(d: Dashboard, queueName: string, status: string): Promise<BoardQueue> {
  const res = await fetch(
    `${d.url}api/queues?activeQueue=${encodeURIComponent(queueName)}&status=${status}&page=1&jobsPerPage=50`,
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as { queues: BoardQueue[] };
  const q = body.queues.find((x) => x.name === queueName);
  if (!q) throw new Error(`queue ${queueName} not on the board: ${JSON.stringify(body).slice(0, 500)}`);
  return q;
}

describe('dashboard', () => {
  let p: Pipeline;
  let browser: Browser;
  let cards: SampleObject[];
  let waiting: number;
  const dashboards: Dashboard[] = [];
  const start = async (allowActions: boolean): Promise<Dashboard> => {
    const d = await startDashboard({ redisUrl: p.redisUrl, queueName: p.queueName, port: 0, allowActions });
    dashboards.push(d);
    return d;
  };

  beforeAll(async () => {
    browser = await launchChromium();
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    const objs = await p.upload('d/', { count: 6, faults: true, seed: 3 });
    cards = objs.filter((o) => o.kind === 'card');
    // A few through a real worker: a recognized card (its job leaves Redis) and a photo that is no
    // card (its job stays failed, with the API's code); the rest wait, as no worker runs.
    const w = await p.startWorker();
    await p.enqueue('d/card-000001');
    await p.enqueue('d/fault-not-a-card');
    await p.drained();
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
    waiting = await p.queue.getWaitingCount();
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
      const waitingTab = page.locator('a[href$="status=waiting"]', {
        hasText: new RegExp(`^\\s*waiting\\s*${waiting}\\s*$`, 'i'),
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
      await page.getByText('FailedOperation.ImageNoSpecifiedCard').first().waitFor({ state: 'visible' });
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
    expect(q.counts.waiting).toBe(waiting);
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
    expect(failed.jobs.map((j) => j.failedReason)).toEqual(['FailedOperation.ImageNoSpecifiedCard']);
    expect(String(failed.jobs[0]?.data.frontKey)).toMatch(/^d\/fault-not-a-card/);
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
    expect(await p.queue.getWaitingCount()).toBe(waiting);
    expect(await p.queue.getFailedCount()).toBe(1);
  });

  it('with --allow-actions, offers Retry all and retries the failed job', async () => {
    const d = await start(true);
    expect(d.readOnly).toBe(false);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`${d.queueUrl}?status=failed`);
      await page.getByText('FailedOperation.ImageNoSpecifiedCard').first().waitFor({ state: 'visible' });
      await page.getByRole('button', { name: /retry all/i }).waitFor({ state: 'visible' });
    } finally {
      await page.close();
    }
    const res = await fetch(`${d.url}api/queues/${p.queueName}/retry/failed`, { method: 'PUT' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ retried: 1, skipped: 0 });
    expect(await p.queue.getFailedCount()).toBe(0);
    expect(await p.queue.getWaitingCount()).toBe(waiting + 1);
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
