import { describe, expect, it } from 'vitest';
import { ConfigError, maskedConfig, parseConfig, requireCredentials } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults with an empty environment', () => {
    const c = parseConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.ocr).toMatchObject({
      endpoint: 'https://ocr.intl.tencentcloudapi.com',
      qps: 5,
      rateGuardMs: 30,
      imageMode: 'url',
    });
    expect(parseConfig({ OCR_RATE_GUARD_MS: '0' }).ocr.rateGuardMs).toBe(0);
    expect(c.ocr.quotaKey).toBeUndefined();
    expect(c.ocr.pricePer1000).toBeUndefined();
    expect(c.notify).toEqual({ url: undefined, secret: undefined });
    expect(c.logLevel).toBe('info');
  });

  it.each([
    [{ OCR_QPS: '-1' }, 'OCR_QPS must be a number > 0, got `-1`'],
    [{ OCR_QPS: 'fast' }, 'OCR_QPS must be a number > 0, got `fast`'],
    [{ OCR_RATE_GUARD_MS: '-5' }, 'OCR_RATE_GUARD_MS must be a number >= 0, got `-5`'],
    [{ OCR_IMAGE_MODE: 'inline' }, 'OCR_IMAGE_MODE must be url or base64, got `inline`'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must start with redis:// or rediss://'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL must start with postgres:// or postgresql://'],
    [{ S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE must be true or false, got `maybe`'],
    [{ OCR_ENDPOINT: 'ftp://x' }, 'OCR_ENDPOINT: OCR endpoint must use http or https'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of'],
    [{ OCR_PRICE_PER_1000: 'cheap' }, 'OCR_PRICE_PER_1000 must be a number >= 0, got `cheap`'],
    [
      { MACAO_OCR_NOTIFY_URL: 'ftp://hooks.example.com/x', MACAO_OCR_NOTIFY_SECRET: 's' },
      'MACAO_OCR_NOTIFY_URL must start with http:// or https://',
    ],
    [
      { MACAO_OCR_NOTIFY_URL: 'http://hooks.example.com/x', MACAO_OCR_NOTIFY_SECRET: 's' },
      'MACAO_OCR_NOTIFY_URL is cleartext http:// to hooks.example.com',
    ],
    [
      { MACAO_OCR_NOTIFY_URL: 'https://hooks.example.com/x' },
      'MACAO_OCR_NOTIFY_URL is set but MACAO_OCR_NOTIFY_SECRET is not',
    ],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it('asks for the missing credential by name', () => {
    expect(() => requireCredentials(parseConfig({ TENCENTCLOUD_SECRET_ID: 'AKIDx' }))).toThrow(
      /^TENCENTCLOUD_SECRET_KEY must be set/,
    );
  });

  it('masks secrets and URL passwords when printed', () => {
    const c = parseConfig({
      TENCENTCLOUD_SECRET_ID: 'AKIDexample1234',
      TENCENTCLOUD_SECRET_KEY: 'verysecretkey',
      DATABASE_URL: 'postgres://app:hunter2@db:5432/ocr',
      MACAO_OCR_NOTIFY_URL: 'https://hooks.example.com/ocr?token=tok3nvalue',
      MACAO_OCR_NOTIFY_SECRET: 'notifysecretvalue',
    });
    const printed = JSON.stringify(maskedConfig(c));
    expect(printed).not.toContain('tok3nvalue');
    expect(printed).not.toContain('notifysecretvalue');
    expect(printed).not.toContain('verysecretkey');
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain('AKIDexample1234');
    expect(printed).toContain('postgres://app:***@db:5432/ocr');
  });
});
