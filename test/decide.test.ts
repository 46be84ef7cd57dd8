import { describe, expect, it } from 'vitest';
import { ruleFor } from '../src/ocr/errorActions.js';
import { OcrError } from '../src/ocr/OcrError.js';
import { StorageError } from '../src/storage/s3Errors.js';
import {
  countsTowardsStorm,
  type Decision,
  decide,
  type FailureFacts,
  failureCode,
} from '../src/worker/decide.js';

/** A call's failure on the first of 8 attempts, inline, after p-retry gave up: each row changes some of it. */
const BASE: Omit<FailureFacts, 'code' | 'rule'> = {
  fromCall: true,
  mode: 'base64',
  quickRetryLeft: false,
  attempt: 1,
  maxAttempts: 8,
  lockLost: false,
  shuttingDown: false,
};

type Row = [code: string, context: Partial<FailureFacts>, expected: Decision];

// One row per case: the code (its rule from the action table) × the attempt × the context.
const ROWS: Row[] = [
  // retry: quickly while p-retry has tries left, then later with backoff, then failed.
  ['FailedOperation.OcrFailed', { quickRetryLeft: true }, 'retryNow'],
  ['FailedOperation.OcrFailed', {}, 'retryLater'],
  ['FailedOperation.OcrFailed', { attempt: 7 }, 'retryLater'],
  ['FailedOperation.OcrFailed', { attempt: 8 }, 'fail'],
  ['FailedOperation.OcrFailed', { attempt: 1, maxAttempts: 1 }, 'fail'],
  ['FailedOperation.OcrFailed', { attempt: 8, quickRetryLeft: true }, 'retryNow'],
  ['ClientError.Timeout', { quickRetryLeft: true, mode: 'url' }, 'retryNow'],
  ['ClientError.Network', { attempt: 3 }, 'retryLater'],
  ['ClientError.HttpStatus.502', { quickRetryLeft: true }, 'retryNow'],
  ['InternalError', { attempt: 8 }, 'fail'],
  // retry with its own maxTries: never quickly, each try spends an attempt.
  ['FailedOperation.UnKnowError', { quickRetryLeft: true }, 'retryLater'],
  ['FailedOperation.UnKnowError', { attempt: 1 }, 'retryLater'],
  ['FailedOperation.UnKnowError', { attempt: 2 }, 'fail'],
  ['Some.CodeNobodyKnows', { quickRetryLeft: true }, 'retryLater'],
  ['Some.CodeNobodyKnows', { attempt: 2 }, 'retryLater'],
  ['Some.CodeNobodyKnows', { attempt: 3 }, 'fail'],
  // Before the call (reading the image, our side): no quick retry, attempts only.
  ['Storage.ServiceUnavailable', { fromCall: false, quickRetryLeft: true }, 'retryLater'],
  ['Storage.ServiceUnavailable', { fromCall: false, attempt: 8 }, 'fail'],
  ['Worker.Error', { fromCall: false, quickRetryLeft: true }, 'retryLater'],
  ['Storage.ObjectMissing', { fromCall: false }, 'reject'],
  ['Storage.NoSuchBucket', { fromCall: false }, 'reject'],
  ['Storage.InvalidAccessKeyId', { fromCall: false }, 'pause'],
  // Image fallbacks: inline after a failed download of our URL, downscaled after too large; once each.
  ['FailedOperation.DownLoadError', { mode: 'url' }, 'inline'],
  ['FailedOperation.DownLoadError', { mode: 'url', quickRetryLeft: true }, 'inline'],
  ['FailedOperation.DownLoadError', { mode: 'url', attempt: 8 }, 'inline'],
  ['FailedOperation.DownLoadError', { mode: 'base64', quickRetryLeft: true }, 'retryNow'],
  ['FailedOperation.DownLoadError', { mode: 'base64' }, 'retryLater'],
  ['FailedOperation.DownLoadError', { mode: 'url', fromCall: false }, 'retryLater'],
  ['LimitExceeded.TooLargeFileError', { mode: 'url' }, 'downscale'],
  ['LimitExceeded.TooLargeFileError', { mode: 'base64', quickRetryLeft: true }, 'downscale'],
  ['LimitExceeded.TooLargeFileError', { mode: 'downscaled' }, 'reject'],
  ['RequestSizeLimitExceeded', { mode: 'base64' }, 'downscale'],
  ['RequestSizeLimitExceeded', { mode: 'downscaled', quickRetryLeft: true }, 'reject'],
  ['FailedOperation.ImageSizeTooLarge', { mode: 'url' }, 'downscale'],
  ['FailedOperation.ImageSizeTooLarge', { mode: 'downscaled' }, 'reject'],
  ['ResourceUnavailable.ImageDownloadError', { mode: 'url' }, 'inline'],
  ['ResourceUnavailable.ImageDownloadError', { mode: 'base64' }, 'retryLater'],
  // throttle: no attempt spent, whatever the attempt.
  ['RequestLimitExceeded', {}, 'throttle'],
  ['RequestLimitExceeded', { quickRetryLeft: true, attempt: 8 }, 'throttle'],
  ['RequestLimitExceeded.UinLimitExceeded', {}, 'throttle'],
  ['RequestLimitExceeded.SomeNewLimit', {}, 'throttle'],
  // fatal: every worker pauses.
  ['ResourceUnavailable.InArrears', {}, 'pause'],
  ['AuthFailure.SignatureFailure', { quickRetryLeft: true }, 'pause'],
  ['AuthFailure.SomethingNew', { attempt: 8 }, 'pause'],
  ['FailedOperation.UnOpenError', {}, 'pause'],
  // Codes about our request, our account or the endpoint answer every card alike: pause, never reject.
  ['InvalidParameter.ConfigFormatError', {}, 'pause'],
  ['InvalidParameterValue.InvalidParameterValueLimit', { quickRetryLeft: true }, 'pause'],
  ['MissingParameter', {}, 'pause'],
  ['UnknownParameter', {}, 'pause'],
  ['ActionOffline', {}, 'pause'],
  ['UnauthorizedOperation', { attempt: 8 }, 'pause'],
  ['IpNotInWhitelist', {}, 'pause'],
  ['AuthFailure', {}, 'pause'],
  ['ResourcesSoldOut', {}, 'pause'],
  ['InvalidParameter.SomethingNew', {}, 'pause'],
  // reject: never again, even on the first attempt.
  ['FailedOperation.ImageNoSpecifiedCard', { quickRetryLeft: true }, 'reject'],
  ['FailedOperation.EmptyImageError', {}, 'reject'],
  ['FailedOperation.ImageDecodeFailed', { mode: 'url' }, 'reject'],
  // Shutdown: back to the queue, before the code's own action; a quick retry comes first (p-retry
  // then stops on the aborted signal).
  ['ClientError.Aborted', {}, 'defer'],
  ['ClientError.Aborted', { quickRetryLeft: true }, 'defer'],
  ['ClientError.Aborted', { attempt: 8 }, 'defer'],
  ['ClientError.Network', { shuttingDown: true }, 'defer'],
  ['ClientError.Network', { shuttingDown: true, quickRetryLeft: true }, 'retryNow'],
  ['RequestLimitExceeded', { shuttingDown: true }, 'defer'],
  ['ResourceUnavailable.InArrears', { shuttingDown: true }, 'defer'],
  ['FailedOperation.ImageNoSpecifiedCard', { shuttingDown: true }, 'defer'],
  ['Worker.Error', { fromCall: false, shuttingDown: true }, 'defer'],
  // A lost lock before anything: never pay for a card another worker holds.
  ['ClientError.Aborted', { lockLost: true }, 'leave'],
  ['ClientError.Aborted', { lockLost: true, quickRetryLeft: true }, 'leave'],
  ['ClientError.Aborted', { lockLost: true, shuttingDown: true }, 'leave'],
  ['FailedOperation.DownLoadError', { lockLost: true, mode: 'url' }, 'leave'],
];

describe('decide: what becomes of a failed card', () => {
  it.each(ROWS)('%s %j → %s', (code, context, expected) => {
    expect(decide({ ...BASE, code, rule: ruleFor(code), ...context })).toBe(expected);
  });

  it('takes the rule it is given, not the table’s, for the action', () => {
    const facts = { ...BASE, code: 'FailedOperation.OcrFailed' };
    const rule = { meaning: '', hint: '', billing: 'unknown', source: 'action' } as const;
    expect(decide({ ...facts, rule: { ...rule, action: 'reject' } })).toBe('reject');
    expect(decide({ ...facts, rule: { ...rule, action: 'retry', maxTries: 3 }, attempt: 3 })).toBe('fail');
    expect(decide({ ...facts, rule: { ...rule, action: 'fatal' }, quickRetryLeft: true })).toBe('pause');
  });

  it('ends the attempt of a card still too large once downscaled rejected, whatever the rule says', () => {
    const tooLarge = {
      ...BASE,
      code: 'RequestSizeLimitExceeded',
      rule: {
        action: 'retry',
        fallback: 'downscale',
        meaning: '',
        hint: '',
        billing: 'unknown',
        source: 'common',
      },
    } as const;
    expect(decide({ ...tooLarge, mode: 'downscaled' })).toBe('reject');
    expect(decide({ ...tooLarge, mode: 'downscaled', attempt: 8 })).toBe('reject');
    // Quick retries follow the rule alone.
    expect(decide({ ...tooLarge, mode: 'downscaled', quickRetryLeft: true })).toBe('retryNow');
    expect(decide({ ...tooLarge, mode: 'downscaled', fromCall: false })).toBe('retryLater');
  });
});

describe('countsTowardsStorm', () => {
  it.each([
    ['OK', false],
    ['FailedOperation.OcrFailed', true],
    ['ClientError.Timeout', true],
    ['ClientError.Aborted', true],
    ['FailedOperation.DownLoadError', false],
    ['RequestLimitExceeded', false],
    ['FailedOperation.ImageDecodeFailed', false],
    ['AuthFailure.SignatureFailure', false],
    ['Some.CodeNobodyKnows', true],
  ] as const)('%s → %s', (code, expected) => {
    expect(countsTowardsStorm(code)).toBe(expected);
  });
});

describe('failureCode', () => {
  it.each([
    [new OcrError('FailedOperation.OcrFailed', 'x'), 'FailedOperation.OcrFailed'],
    [new StorageError('NoSuchKey', 'gone', false), 'Storage.ObjectMissing'],
    [new StorageError('NotFound', 'gone', false), 'Storage.ObjectMissing'],
    [new StorageError('AccessDenied', 'no', false), 'Storage.AccessDenied'],
    [new StorageError('ECONNREFUSED', 'down', true), 'Storage.ECONNREFUSED'],
    [Object.assign(new Error('x'), { name: 'StorageError' }), 'Worker.Error'],
    [new Error('anything else'), 'Worker.Error'],
  ])('%s → %s', (err, expected) => {
    expect(failureCode(err)).toBe(expected);
  });
});
