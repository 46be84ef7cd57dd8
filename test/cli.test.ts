import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { runCli } from './support/cli.js';

const cli = runCli;

const COMMANDS = [
  'enqueue',
  'work',
  'run',
  'status',
  'report',
  'retry',
  'resume',
  'emulator',
  'samples',
  'config',
  'demo',
];

describe('macao-ocr command line', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('has every command of the design', () => {
    expect(
      buildProgram()
        .commands.map((c) => c.name())
        .sort(),
    ).toEqual(expect.arrayContaining(COMMANDS.sort()));
  });

  it.each(COMMANDS)('%s --help explains itself and exits 0', async (cmd) => {
    const r = await cli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: macao-ocr ${cmd}`);
    expect(r.out.length).toBeGreaterThan(80);
  });

  it('--version prints the version of the package', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });

  it.each([
    [['enqueue', 's3:/bucket'], 'not an S3 URI'],
    [['enqueue'], 'give at least one s3://bucket/prefix, or --manifest FILE'],
    [['enqueue', 's3://cards/x', '--reprocess', 'some'], '--reprocess must be failed, rejected or all'],
    [['enqueue', 's3://cards/x', '--since', 'yesterday'], '--since must be a date like 2026-11-01'],
    [['enqueue', 's3://cards/x', '--pair-pattern', 'foo'], '--pair-pattern must have the named groups'],
    [['samples', '--out', '/tmp/x', '--count', 'many'], '--count must be a whole number'],
    [['samples', '--out', '/tmp/x', '--format', 'gif'], '--format must be jpeg or png'],
    [['report', '--format', 'xml'], '--format must be table, csv or jsonl'],
    [['emulator', '--faults', 'Bogus=0.5'], ''],
    [['nonsense'], "unknown command 'nonsense'"],
    [['enqueue', 's3://cards/x', '--no-such-flag'], "unknown option '--no-such-flag'"],
  ])('refuses %o with exit code 2 and says why', async (args, message) => {
    const r = await cli(args, { TENCENTCLOUD_SECRET_ID: 'AKIDx', TENCENTCLOUD_SECRET_KEY: 'y' });
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it.each([
    [{ OCR_QPS: '0' }, 'OCR_QPS must be a number > 0, got `0`'],
    [{ OCR_IMAGE_MODE: 'fax' }, 'OCR_IMAGE_MODE must be url or base64, got `fax`'],
    [{ REDIS_URL: 'localhost' }, 'REDIS_URL must be a URL like redis://127.0.0.1:6379'],
    [{ DATABASE_URL: 'mysql://a@b/c' }, 'DATABASE_URL must start with postgres:// or postgresql://'],
    [{ S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT must start with http:// or https://'],
    [{ S3_FORCE_PATH_STYLE: 'perhaps' }, 'S3_FORCE_PATH_STYLE must be true or false'],
    [{ OCR_ENDPOINT: 'ftp://ocr' }, 'OCR_ENDPOINT'],
    [{ OCR_TIMEOUT_MS: '-5' }, 'OCR_TIMEOUT_MS must be a number > 0'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL must be one of'],
    [{ MACAO_OCR_QUEUE: 'a:b' }, 'MACAO_OCR_QUEUE must be'],
  ])('a configuration error %o exits 2 naming the variable', async (env, message) => {
    const r = await cli(['config'], env);
    expect(r.code).toBe(2);
    expect(r.err).toContain('configuration error');
    expect(r.err).toContain(message);
  });

  it('work without credentials exits 2 naming the variables to set', async () => {
    const r = await cli(['work'], { TENCENTCLOUD_SECRET_ID: '', TENCENTCLOUD_SECRET_KEY: '' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY must be set');
  });

  it('config prints the effective configuration with the secret masked', async () => {
    const r = await cli(['config'], {
      TENCENTCLOUD_SECRET_ID: 'AKIDvisible1234',
      TENCENTCLOUD_SECRET_KEY: 'hidden-secret-key',
    });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out);
    expect(printed.ocr.qps).toBe(5);
    expect(r.out).not.toContain('hidden-secret-key');
    expect(printed.tencent.secretKey).toBe('***');
  });
});

describe('macao-ocr when a service is missing: one plain line, the right exit code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-missing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Redis down: exit 1, one line naming REDIS_URL and why, no stack', async () => {
    const r = await cli(['status'], { REDIS_URL: 'redis://127.0.0.1:1', MACAO_OCR_DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toEqual([
      'macao-ocr: cannot reach Redis at redis://127.0.0.1:1 (ECONNREFUSED): is it running, and is REDIS_URL right?',
    ]);
  });

  it('no storage credentials anywhere: exit 2, one line naming the variables', async () => {
    const r = await cli(['enqueue', 's3://cards/in/'], {
      REDIS_URL: inject('redisUrl'),
      MACAO_OCR_DATA_DIR: dir,
      S3_ENDPOINT: 'http://127.0.0.1:1',
      // Nothing for the SDK's credential chain to find: no variables, profile, files or role.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([
      'macao-ocr: opening bucket cards: no storage credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run with an instance or task role).',
    ]);
  });
});
