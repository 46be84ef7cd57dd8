import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, parseConfig } from '../src/config.js';
import { maskSecrets } from '../src/maskSecrets.js';
import { freePort } from '../src/net.js';
import { createRedis } from '../src/queue.js';
import { versionId } from '../src/results/cardVersion.js';
import { ResultsStore } from '../src/results/store.js';
import { runCli } from './support/cli.js';

describe('maskSecrets', () => {
  it.each([
    ['redis://:s3cretpw@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['rediss://default:s3cretpw@cache.example:6380', 'rediss://default:***@cache.example:6380'],
    ['redis://cache:6379/0?password=s3cretpw', 'redis://cache:6379/0?password=***'],
    ['postgres://app:s3cretpw@db:5432/ocr', 'postgres://app:***@db:5432/ocr'],
    [
      'postgres://app@db:5432/ocr?sslmode=require&Password=s3cretpw&application_name=x',
      'postgres://app@db:5432/ocr?sslmode=require&Password=***&application_name=x',
    ],
    ['postgresql://app:p@ss:w0rd@db/ocr', 'postgresql://app:***@db/ocr'],
    ['http://proxyuser:s3cretpw@proxy.internal:3128', 'http://proxyuser:***@proxy.internal:3128'],
    ['http://:s3cretpw@proxy.internal:3128/', 'http://:***@proxy.internal:3128/'],
    [
      'https://b.s3.amazonaws.com/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-Security-Token=FQoGZXIvYXdz&X-Amz-Signature=abcdef0123&X-Amz-SignedHeaders=host',
      'https://b.s3.amazonaws.com/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-Security-Token=***&X-Amz-Signature=***&X-Amz-SignedHeaders=host',
    ],
    [
      'https://x.example/a?sig=AAA&signature=BBB&token=CCC&secret=DDD&pwd=EEE&pass=FFF&page=2',
      'https://x.example/a?sig=***&signature=***&token=***&secret=***&pwd=***&pass=***&page=2',
    ],
  ])('%s → %s', (raw, masked) => {
    expect(maskSecrets(raw)).toBe(masked);
  });

  it('keeps user names, other parameters and text without URLs as they are', () => {
    for (const s of [
      'redis://127.0.0.1:6379',
      'postgres://postgres@127.0.0.1:5432/postgres',
      'https://ocr.intl.tencentcloudapi.com',
      'https://x.example/a?passport=1&sigma=2&tokens=3',
      'connect ECONNREFUSED 127.0.0.1:6379',
    ])
      expect(maskSecrets(s)).toBe(s);
  });

  it('masks every URL inside a message', () => {
    const msg = maskSecrets('from redis://:pw1@a:1 to postgres://u:pw2@b/db?token=pw3 failed');
    expect(msg).toBe('from redis://:***@a:1 to postgres://u:***@b/db?token=*** failed');
  });
});

describe('configuration: presigned URL lifetime, cleartext endpoints, new settings', () => {
  it('S3_PRESIGN_TTL_S is 60 s by default, a whole number from 10 to 3600', () => {
    expect(parseConfig({}).s3.presignTtlSec).toBe(60);
    expect(parseConfig({ S3_PRESIGN_TTL_S: '10' }).s3.presignTtlSec).toBe(10);
    expect(parseConfig({ S3_PRESIGN_TTL_S: '3600' }).s3.presignTtlSec).toBe(3600);
    for (const bad of ['9', '3601', '1.5', '60s', '-60'])
      expect(() => parseConfig({ S3_PRESIGN_TTL_S: bad })).toThrow(
        new ConfigError(`S3_PRESIGN_TTL_S must be a whole number of seconds from 10 to 3600, got \`${bad}\``),
      );
  });

  it.each([
    'http://127.0.0.1:9000',
    'http://127.8.9.10:9000',
    'http://localhost:9000',
    'http://[::1]:9000',
    'https://ocr.example.com',
    'ocr.example.com',
  ])('OCR_ENDPOINT %s is accepted', (endpoint) => {
    expect(parseConfig({ OCR_ENDPOINT: endpoint }).ocr.endpoint).toBe(endpoint);
  });

  it.each([
    ['OCR_ENDPOINT', 'http://emulator:9000'],
    ['OCR_ENDPOINT', 'http://10.0.0.5:9000'],
    ['OCR_ENDPOINT', 'http://127.0.0.1.example.com'],
    ['OCR_ENDPOINT', 'http://localhost.example.com'],
    ['S3_PRESIGN_ENDPOINT', 'http://minio:9000'],
  ])('%s=%s (cleartext to another host) is refused unless MACAO_OCR_ALLOW_INSECURE=1', (name, value) => {
    const run = (): unknown => parseConfig({ [name]: value });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(new RegExp(`^${name} is cleartext http://`));
    expect(run).toThrow('Use https://, or set MACAO_OCR_ALLOW_INSECURE=1 if the network is trusted');
    const allowed = parseConfig({ [name]: value, MACAO_OCR_ALLOW_INSECURE: '1' });
    expect(allowed.allowInsecure).toBe(true);
  });

  it('S3_ENDPOINT may be cleartext to any host', () => {
    expect(parseConfig({ S3_ENDPOINT: 'http://minio:9000' }).s3.endpoint).toBe('http://minio:9000');
  });

  it('the dashboard login takes both variables or neither', () => {
    expect(parseConfig({}).dashboard).toEqual({});
    expect(
      parseConfig({ MACAO_OCR_DASHBOARD_USER: 'ops', MACAO_OCR_DASHBOARD_PASSWORD: 'dash-pw' }).dashboard,
    ).toEqual({ user: 'ops', password: 'dash-pw' });
    for (const env of [{ MACAO_OCR_DASHBOARD_USER: 'ops' }, { MACAO_OCR_DASHBOARD_PASSWORD: 'dash-pw' }]) {
      const run = (): unknown => parseConfig(env);
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(/MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD must be set together/);
      expect(run).not.toThrow(/dash-pw/);
    }
  });

  it('MACAO_OCR_MAX_PIXELS and MACAO_OCR_RETAIN_DAYS are positive whole numbers', () => {
    expect(parseConfig({}).maxPixels).toBe(50_000_000);
    expect(parseConfig({}).retainDays).toBeUndefined();
    const c = parseConfig({ MACAO_OCR_MAX_PIXELS: '1000000', MACAO_OCR_RETAIN_DAYS: '30' });
    expect([c.maxPixels, c.retainDays]).toEqual([1_000_000, 30]);
    expect(() => parseConfig({ MACAO_OCR_MAX_PIXELS: '0' })).toThrow(
      'MACAO_OCR_MAX_PIXELS must be a whole number of pixels >= 1, got `0`',
    );
    expect(() => parseConfig({ MACAO_OCR_RETAIN_DAYS: '7.5' })).toThrow(
      'MACAO_OCR_RETAIN_DAYS must be a whole number of days >= 1, got `7.5`',
    );
    for (const v of [
      'S3_PRESIGN_TTL_S',
      'MACAO_OCR_ALLOW_INSECURE',
      'MACAO_OCR_DASHBOARD_USER',
      'MACAO_OCR_DASHBOARD_PASSWORD',
      'MACAO_OCR_MAX_PIXELS',
      'MACAO_OCR_RETAIN_DAYS',
    ])
      expect(CONFIG_VARIABLES).toContain(v);
  });
});

describe('secrets stay out of what the commands print', () => {
  it('`macao-ocr config` prints neither a Redis password nor a PostgreSQL password parameter', async () => {
    const r = await runCli(['config'], {
      REDIS_URL: 'redis://:s3cretpw@host:6379/0',
      DATABASE_URL: 'postgres://u@h:5432/db?password=s3cretpw2',
      OCR_PROXY: 'http://proxyuser:s3cretpw3@proxy:3128',
      MACAO_OCR_DASHBOARD_USER: 'ops',
      MACAO_OCR_DASHBOARD_PASSWORD: 's3cretpw4',
    });
    expect(r.code).toBe(0);
    for (const secret of ['s3cretpw', 's3cretpw2', 's3cretpw3', 's3cretpw4'])
      expect(r.out + r.err).not.toContain(secret);
    const printed = JSON.parse(r.out);
    expect(printed.redisUrl).toBe('redis://:***@host:6379/0');
    expect(printed.databaseUrl).toBe('postgres://u@h:5432/db?password=***');
    expect(printed.ocr.proxy).toBe('http://proxyuser:***@proxy:3128');
    expect(printed.dashboard).toEqual({ user: 'ops', password: '***' });
    expect(printed.s3.presignTtlSec).toBe(60);
  });

  it('a cleartext OCR_ENDPOINT to another host exits 2 naming the variable and both fixes', async () => {
    const r = await runCli(['config'], { OCR_ENDPOINT: 'http://ocr.example.com' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('configuration error: OCR_ENDPOINT is cleartext http://');
    expect(r.err).toContain('Use https://, or set MACAO_OCR_ALLOW_INSECURE=1');
  });

  it('an unreachable PostgreSQL is named without its password', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'macao-ocr-cfgh-'));
    try {
      const err = await ResultsStore.open({
        databaseUrl: `postgres://u:s3cretpw@127.0.0.1:${port}/db?password=s3cretpw2`,
        dataDir,
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err?.message).not.toContain('s3cretpw');
      if (err?.message.includes('postgres://'))
        expect(err.message).toContain(`postgres://u:***@127.0.0.1:${port}/db?password=***`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an unreachable Redis is named without its password, exit code 1', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'macao-ocr-cfgh-'));
    try {
      const r = await runCli(['status', '--json'], {
        REDIS_URL: `redis://:s3cretpw@127.0.0.1:${port}/0`,
        MACAO_OCR_DATA_DIR: dataDir,
        MACAO_OCR_QUEUE: `cfgh-${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'silent',
      });
      expect(r.code).toBe(1);
      expect(r.err).toContain(`cannot reach Redis at redis://:***@127.0.0.1:${port}/0`);
      expect(r.out + r.err).not.toContain('s3cretpw');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('report --out FILE', () => {
  it('creates the file readable by its owner only, and leaves the mode of an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-cfgh-report-'));
    const dataDir = join(dir, 'store');
    const queueName = `cfgh-${randomBytes(4).toString('hex')}`;
    try {
      const store = await ResultsStore.open({ dataDir });
      const run = await store.createRun({ sources: ['s3://cards/in/'] });
      const card = { bucket: 'cards', frontKey: 'in/001_front.jpg', frontEtag: '"e1"' };
      await store.recordSeen(run.id, [{ ...card, versionId: versionId(card) }]);
      await store.close();
      const env = {
        REDIS_URL: inject('redisUrl'),
        MACAO_OCR_DATA_DIR: dataDir,
        MACAO_OCR_QUEUE: queueName,
        LOG_LEVEL: 'silent',
      };
      const fresh = join(dir, 'cards.csv');
      const r = await runCli(['report', run.id, '--format', 'csv', '--out', fresh], env);
      expect(r.code, r.err).toBe(0);
      expect(statSync(fresh).mode & 0o777).toBe(0o600);
      expect(readFileSync(fresh, 'utf8').trim().split('\r\n')).toHaveLength(2);

      const existing = join(dir, 'existing.jsonl');
      writeFileSync(existing, 'old\n');
      chmodSync(existing, 0o640);
      const again = await runCli(['report', run.id, '--format', 'jsonl', '--out', existing], env);
      expect(again.code, again.err).toBe(0);
      expect(statSync(existing).mode & 0o777).toBe(0o640);
      expect(readFileSync(existing, 'utf8')).toContain('in/001_front.jpg');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // Opening the queue leaves its meta key behind.
      const redis = createRedis(inject('redisUrl'));
      const keys = await redis.keys(`{macao-ocr}:${queueName}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
