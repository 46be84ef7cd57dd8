import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { generateSamples, type SampleObject } from '../src/sandbox/specimen/index.js';
import { cardFieldLeaks, findLeaks } from './support/leaks.js';

const run = promisify(execFile);
const SECRET = { id: 'AKIDdemoLeakTest00001', key: 'demo-leak-test-secret-key-value-8f3a' };
// Over 100 objects with the backs and bad inputs: the listing takes a second page (the first asks
// for 100 keys), which s3rver can only serve with OpenSSL's legacy provider (its page tokens use DES).
const COUNT = 72;

/** The specimens the demo renders (same seed, same count): what its report must add up to, and what must never be logged. */
async function demoSamples(): Promise<SampleObject[]> {
  const out: SampleObject[] = [];
  for await (const o of generateSamples({ count: COUNT, faults: true, seed: 2026 }))
    out.push({ ...o, body: Buffer.alloc(0) });
  return out;
}

describe('macao-ocr demo, end to end', () => {
  it('reports what the specimens contain, and logs no secret, URL signature or card field even at debug level', async () => {
    const samples = await demoSamples();
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'demo', '--count', String(COUNT), '--qps', '40', '--keep'],
      {
        env: {
          ...process.env,
          REDIS_URL: inject('redisUrl'),
          LOG_LEVEL: 'debug',
          TENCENTCLOUD_SECRET_ID: SECRET.id,
          TENCENTCLOUD_SECRET_KEY: SECRET.key,
          // As `npm run demo` starts it: without the legacy provider (the test runner has it).
          NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replace('--openssl-legacy-provider', ''),
        },
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const fronts = samples.filter((o) => o.kind === 'card' && o.side === 'front').length;
    const count = (label: string): number =>
      Number(new RegExp(`^\\s+${label}\\s+(\\d+)$`, 'm').exec(stdout)?.[1]);
    // Good cards and the oversize scan (sent again downscaled) are recognized; the truncated JPEG
    // and the photo that is no card are rejected by the API, the text named .jpg by the worker's
    // pre-flight (no call); the GIF and the empty file never leave the producer.
    expect(Number(/found\s+(\d+) objects/.exec(stdout)?.[1])).toBeGreaterThan(100);
    expect(count('recognized')).toBe(fronts + 1);
    expect(count('rejected')).toBe(3);
    expect(count('failed')).toBe(0);
    expect(count('skipped')).toBe(2);
    expect(stdout).toMatch(/FailedOperation\.ImageDecodeFailed\s+rejected\s+1/);
    expect(stdout).toMatch(/Image\.NotPngOrJpeg\s+rejected\s+1/);
    expect(stdout).toMatch(/FailedOperation\.ImageNoSpecifiedCard\s+rejected\s+1/);
    expect(stdout).toMatch(/unsupported-format\s+1/);
    expect(stdout).toMatch(/empty\s+1/);
    expect(stdout).toContain('Where to look next');
    // The numbers add up the same way everywhere: what it sends, what it lists, what became of them.
    const toSend = Number(/found\s+\d+ objects: (\d+) cards to send/.exec(stdout)?.[1]);
    const listed = Number(/listed\s+(\d+) cards and files/.exec(stdout)?.[1]);
    expect(toSend).toBe(fronts + 1 + 3);
    expect(listed).toBe(toSend + 2);
    expect(count('recognized') + count('rejected') + count('failed') + count('skipped')).toBe(listed);
    // --keep: the bucket and the store stay, with the commands that reuse them.
    const kept = /what --keep kept, in (\S+):/.exec(stdout)?.[1];
    expect(kept).toBeTruthy();
    try {
      expect(stdout).toContain(`NODE_OPTIONS=--openssl-legacy-provider npx s3rver -d ${kept}/s3 --port 4568`);
      expect(stdout).toContain(`MACAO_OCR_DATA_DIR=${kept}/results`);
      expect(readdirSync(join(kept!, 's3')).length).toBeGreaterThan(0);
      expect(existsSync(join(kept!, 'results', 'pgdata'))).toBe(true);
    } finally {
      rmSync(kept!, { recursive: true, force: true });
    }

    const all = `${stdout}\n${stderr}`;
    expect(stderr).toContain('"level":'); // the logs are really there, at debug level
    const truths = samples.flatMap((o) => (o.truth && o.side === 'front' ? [o.truth.fields] : []));
    expect(truths.length).toBe(fronts + 1);
    expect(findLeaks(all, { secrets: [SECRET.key], cards: truths })).toEqual([]);
    // The scanner itself finds what it looks for.
    expect(cardFieldLeaks(JSON.stringify(truths[0]), truths)).not.toEqual([]);
  });
});
