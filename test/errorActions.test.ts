import { describe, expect, it } from 'vitest';
import { actionFor, ERROR_ACTIONS, ruleFor, UNKNOWN_CODE_RULE } from '../src/ocr/errorActions.js';
import { OcrError, safeMessage } from '../src/ocr/OcrError.js';

/** Every code on the API page and among the provider's common codes, with the action docs/error-codes.md gives. */
const DOCUMENTED: Record<string, string> = {
  'FailedOperation.DownLoadError': 'retry',
  'FailedOperation.EmptyImageError': 'reject',
  'FailedOperation.ImageDecodeFailed': 'reject',
  'FailedOperation.ImageNoSpecifiedCard': 'reject',
  'FailedOperation.OcrFailed': 'retry',
  'FailedOperation.UnKnowError': 'retry',
  'FailedOperation.UnOpenError': 'fatal',
  'FailedOperation.WarningServiceFailed': 'retry',
  'InvalidParameter.ConfigFormatError': 'reject',
  'InvalidParameterValue.InvalidParameterValueLimit': 'reject',
  'LimitExceeded.TooLargeFileError': 'reject',
  'AuthFailure.SignatureExpire': 'fatal',
  'AuthFailure.SignatureFailure': 'fatal',
  'AuthFailure.SecretIdNotFound': 'fatal',
  'AuthFailure.TokenFailure': 'fatal',
  'AuthFailure.InvalidSecretId': 'fatal',
  'AuthFailure.InvalidAuthorization': 'fatal',
  'AuthFailure.UnauthorizedOperation': 'fatal',
  'AuthFailure.MFAFailure': 'fatal',
  InternalError: 'retry',
  InvalidParameter: 'reject',
  InvalidParameterValue: 'reject',
  MissingParameter: 'reject',
  UnknownParameter: 'reject',
  UnsupportedOperation: 'fatal',
  ResourceUnavailable: 'retry',
  LimitExceeded: 'retry',
  RequestLimitExceeded: 'throttle',
  'RequestLimitExceeded.UinLimitExceeded': 'throttle',
  'RequestLimitExceeded.IPLimitExceeded': 'throttle',
  'RequestLimitExceeded.GlobalRegionUinLimitExceeded': 'throttle',
  RequestSizeLimitExceeded: 'reject',
  ServiceUnavailable: 'retry',
  InvalidAction: 'fatal',
  NoSuchVersion: 'fatal',
  UnsupportedRegion: 'fatal',
  'ResourceUnavailable.InArrears': 'fatal',
  'ResourceUnavailable.ResourcePackageRunOut': 'fatal',
  'ResourcesSoldOut.ChargeStatusException': 'fatal',
};

describe('the error-action table', () => {
  it.each(Object.entries(DOCUMENTED))('lists %s as %s, with a hint', (code, action) => {
    expect(ERROR_ACTIONS[code]?.action).toBe(action);
    expect(ERROR_ACTIONS[code]?.hint.length).toBeGreaterThan(10);
  });

  it('signs afresh once on SignatureExpire only', () => {
    const resign = Object.entries(ERROR_ACTIONS)
      .filter(([, r]) => r.resignOnce)
      .map(([c]) => c);
    expect(resign).toEqual(['AuthFailure.SignatureExpire']);
  });

  it('bounds the retries of UnKnowError and marks EmptyImageError as billed', () => {
    expect(ruleFor('FailedOperation.UnKnowError').maxTries).toBe(2);
    expect(ruleFor('FailedOperation.EmptyImageError').billed).toBe(true);
  });

  it('classifies new sub-codes by family and the unknown as a bounded retry', () => {
    expect(actionFor('AuthFailure.SomethingNew')).toBe('fatal');
    expect(actionFor('RequestLimitExceeded.NewKind')).toBe('throttle');
    expect(actionFor('ResourcesSoldOut.Whatever')).toBe('fatal');
    expect(actionFor('InvalidParameterValue.Other')).toBe('reject');
    expect(actionFor('ClientError.HttpStatus.502')).toBe('retry');
    expect(actionFor('ClientError.Network')).toBe('retry');
    expect(actionFor('ClientError.Timeout')).toBe('retry');
    expect(ruleFor('Totally.Unknown')).toBe(UNKNOWN_CODE_RULE);
    expect(UNKNOWN_CODE_RULE.action).toBe('retry');
    expect(UNKNOWN_CODE_RULE.maxTries).toBeGreaterThan(0);
  });
});

describe('OcrError', () => {
  it('carries code, action and requestId, and is recognised by name', () => {
    const e = new OcrError('FailedOperation.OcrFailed', 'OCR recognition failed.', { requestId: 'r-1' });
    expect(e).toMatchObject({
      name: 'OcrError',
      code: 'FailedOperation.OcrFailed',
      action: 'retry',
      requestId: 'r-1',
    });
    expect(e.message).toBe('FailedOperation.OcrFailed: OCR recognition failed.');
  });

  it('keeps URLs, signatures and image data out of the message', () => {
    const url =
      'https://bucket.s3.amazonaws.com/card.jpg?X-Amz-Signature=abcdef0123456789&X-Amz-Credential=AKIA';
    const b64 = 'A'.repeat(500);
    const m = safeMessage(`download of ${url} failed; body ${b64}; Signature=deadbeef`);
    expect(m).not.toContain('X-Amz-Signature');
    expect(m).not.toContain('AKIA');
    expect(m).not.toContain('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(m).not.toContain('deadbeef');
    expect(m).toContain('[url]');
    expect(m.length).toBeLessThanOrEqual(200);
  });
});
