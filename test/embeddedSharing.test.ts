import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDatabaseBusyError, openEmbedded } from '../src/results/embedded.js';
import { ResultsStore } from '../src/results/store.js';

const run = promisify(execFile);
const child = (dir: string, schema: string) =>
  run(process.execPath, ['--import', 'tsx', 'test/support/storeChild.ts', dir, schema], {
    timeout: 60_000,
  }).then(
    (r) => JSON.parse(r.stdout.trim()),
    (e: { stdout: string }) => JSON.parse(e.stdout.trim()),
  );

describe('embedded PGlite shared between processes', () => {
  const dirs: string[] = [];
  const sleepers: ChildProcess[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'macao-ocr-test-share-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const s of sleepers) s.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('serves the directory to a second process, which reads and writes the same data', async () => {
    const dir = tmp();
    const store = await ResultsStore.open({ dataDir: dir, schema: 'share' });
    try {
      expect(store.db.role).toBe('owner');
      const out = await child(dir, 'share');
      expect(out.role).toBe('client');
      const seen = await store.getRun(out.run);
      expect(seen?.sources).toEqual(['from-child']);
    } finally {
      await store.close();
    }
    // Closed cleanly: the next process becomes the owner.
    const again = await child(dir, 'share');
    expect(again.role).toBe('owner');
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, socketDir: dir }));
    const db = await openEmbedded(dir);
    try {
      expect(db.role).toBe('owner');
    } finally {
      await db.close();
    }
  });

  it('names the directory and the fix when a live holder does not serve it', async () => {
    const dir = tmp();
    const sleeper = spawn('sleep', ['60']);
    sleepers.push(sleeper);
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ pid: sleeper.pid, socketDir: dir }));
    const err = await openEmbedded(dir, { connectWaitMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedDatabaseBusyError);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain(`process ${sleeper.pid}`);
    expect((err as Error).message).toContain('DATABASE_URL');
  });
});
