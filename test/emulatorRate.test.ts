import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { codeOf, SECRET_ID, SECRET_KEY, signedCall, specimenImage, truth } from './support/emulatorKit.js';

/** The per-SecretId rate limit under a burst, and the stats a rate test of the workers relies on. */

let emulator: EmulatorHandle;
let body: { ImageBase64: string };

beforeAll(async () => {
  emulator = await startEmulator({
    credentials: [
      { secretId: SECRET_ID, secretKey: SECRET_KEY },
      { secretId: 'AKIDsecondaccount', secretKey: 'second-key' },
    ],
    qps: 20,
  });
  // A small image keeps each successful call cheap, so the burst really is faster than 20/s.
  body = { ImageBase64: (await specimenImage(truth({ width: 160, height: 100 }))).toString('base64') };
});
afterAll(() => emulator.close());

/** Sends `n` calls, `concurrency` at a time, as fast as they are answered. */
async function burst(
  n: number,
  concurrency: number,
  secret = { secretId: SECRET_ID, secretKey: SECRET_KEY },
) {
  const codes: string[] = [];
  let lastOkAt = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const code = codeOf(await signedCall(emulator.url, body, secret));
        codes.push(code);
        if (code === 'OK') lastOkAt = performance.now();
      }
    }),
  );
  return Object.assign(codes, { lastOkAt });
}

const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

describe('rate limit', () => {
  it('200 calls as fast as possible at qps 20: 20 succeed per second, the rest are RequestLimitExceeded', async () => {
    emulator.reset();
    const t0 = performance.now();
    const first = await burst(150, 16);
    const firstMs = performance.now() - t0;
    // Let the window slide past every admission of the first burst (each came before its answer),
    // then burst again: the next second admits 20 more.
    await new Promise((r) => setTimeout(r, Math.max(0, first.lastOkAt + 1050 - performance.now())));
    const t1 = performance.now();
    const second = await burst(50, 16);
    const secondMs = performance.now() - t1;
    const codes = [...first, ...second];

    // A burst shorter than a second gets exactly 20 through; a longer one (slow machine) 20 per started second.
    const allowed = (ms: number) => 20 * (Math.floor(ms / 1000) + 1);
    expect(count(first, 'OK')).toBeGreaterThanOrEqual(20);
    expect(count(first, 'OK')).toBeLessThanOrEqual(allowed(firstMs));
    expect(count(second, 'OK')).toBeGreaterThanOrEqual(20);
    expect(count(second, 'OK')).toBeLessThanOrEqual(allowed(secondMs));
    expect(count(codes, 'OK') + count(codes, 'RequestLimitExceeded')).toBe(200);

    const stats = emulator.stats();
    expect(stats.calls).toBe(200);
    expect(stats.byCode).toEqual({
      OK: count(codes, 'OK'),
      RequestLimitExceeded: count(codes, 'RequestLimitExceeded'),
    });
    expect(stats.billed).toBe(count(codes, 'OK'));
    expect(stats.peakOkPerSecond).toBe(20);
    expect(stats.peakPerSecond).toBeGreaterThan(20);
  });

  it('the limit is per SecretId', async () => {
    emulator.reset();
    const [a, b] = await Promise.all([
      burst(30, 8),
      burst(30, 8, { secretId: 'AKIDsecondaccount', secretKey: 'second-key' }),
    ]);
    expect(count(a, 'OK')).toBe(20);
    expect(count(b, 'OK')).toBe(20);
    expect(emulator.stats().peakOkPerSecond).toBe(40);
  });
});
