import { describe, expect, it } from 'vitest';
import {
  actionFor,
  ERROR_ACTIONS,
  type ErrorAction,
  ruleFor,
  UNKNOWN_CODE_RULE,
} from '../src/ocr/errorActions.js';
import { OcrError, safeMessage } from '../src/ocr/OcrError.js';

/** The codes of RecognizeMacaoIDCardOCR's own page, with the action each gets. */
const ACTION_PAGE: Record<string, ErrorAction> = {
  'FailedOperation.DownLoadError': 'retry',
  'FailedOperation.EmptyImageError': 'reject',
  'FailedOperation.ImageDecodeFailed': 'reject',
  'FailedOperation.ImageNoSpecifiedCard': 'reject',
  'FailedOperation.OcrFailed': 'retry',
  'FailedOperation.UnKnowError': 'retry',
  'FailedOperation.UnOpenError': 'fatal',
  'FailedOperation.WarningServiceFailed': 'retry',
  'InvalidParameter.ConfigFormatError': 'fatal',
  'InvalidParameterValue.InvalidParameterValueLimit': 'fatal',
  'LimitExceeded.TooLargeFileError': 'reject',
};

/** The common codes of every Tencent Cloud API 3.0 action, billing codes included. */
const COMMON: Record<string, ErrorAction> = {
  ActionOffline: 'fatal',
  'AuthFailure.InvalidAuthorization': 'fatal',
  'AuthFailure.InvalidSecretId': 'fatal',
  'AuthFailure.MFAFailure': 'fatal',
  'AuthFailure.SecretIdNotFound': 'fatal',
  'AuthFailure.SignatureExpire': 'fatal',
  'AuthFailure.SignatureFailure': 'fatal',
  'AuthFailure.TokenFailure': 'fatal',
  'AuthFailure.UnauthorizedOperation': 'fatal',
  DryRunOperation: 'fatal',
  FailedOperation: 'retry',
  InternalError: 'retry',
  InvalidAction: 'fatal',
  InvalidParameter: 'fatal',
  InvalidParameterValue: 'fatal',
  InvalidRequest: 'fatal',
  IpInBlacklist: 'fatal',
  IpNotInWhitelist: 'fatal',
  LimitExceeded: 'fatal',
  MissingParameter: 'fatal',
  NoSuchProduct: 'fatal',
  NoSuchVersion: 'fatal',
  RequestLimitExceeded: 'throttle',
  'RequestLimitExceeded.GlobalRegionUinLimitExceeded': 'throttle',
  'RequestLimitExceeded.IPLimitExceeded': 'throttle',
  'RequestLimitExceeded.UinLimitExceeded': 'throttle',
  RequestSizeLimitExceeded: 'reject',
  ResourceInUse: 'retry',
  ResourceInsufficient: 'retry',
  ResourceNotFound: 'fatal',
  ResourceUnavailable: 'retry',
  'ResourceUnavailable.InArrears': 'fatal',
  'ResourceUnavailable.ResourcePackageRunOut': 'fatal',
  'ResourcesSoldOut.ChargeStatusException': 'fatal',
  ResponseSizeLimitExceeded: 'reject',
  ServiceUnavailable: 'retry',
  UnauthorizedOperation: 'fatal',
  UnknownParameter: 'fatal',
  UnsupportedOperation: 'fatal',
  UnsupportedProtocol: 'fatal',
  UnsupportedRegion: 'fatal',
};

/** The international Go SDK's OCR error list (ocr/v20181119/errors.go), every action's. */
const OCR_SDK: Record<string, ErrorAction> = {
  'FailedOperation.CardSideError': 'reject',
  'FailedOperation.DownLoadError': 'retry',
  'FailedOperation.EmptyImageError': 'reject',
  'FailedOperation.EngineRecognizeTimeout': 'retry',
  'FailedOperation.FieldException': 'reject',
  'FailedOperation.IdCardInfoIllegal': 'reject',
  'FailedOperation.IdCardTooSmall': 'reject',
  'FailedOperation.ImageBlur': 'reject',
  'FailedOperation.ImageDecodeFailed': 'reject',
  'FailedOperation.ImageNoIdCard': 'reject',
  'FailedOperation.ImageNoSpecifiedCard': 'reject',
  'FailedOperation.ImageNoText': 'reject',
  'FailedOperation.ImageSizeTooLarge': 'reject',
  'FailedOperation.InconsistencyBetweenMRZAndVRZ': 'reject',
  'FailedOperation.InvalidPostalCodeLength': 'reject',
  'FailedOperation.LLMServiceFailed': 'retry',
  'FailedOperation.LanguageNotSupport': 'fatal',
  'FailedOperation.MultiCardError': 'reject',
  'FailedOperation.NoHKIDCard': 'reject',
  'FailedOperation.NoMASIDCard': 'reject',
  'FailedOperation.NoPassport': 'reject',
  'FailedOperation.OcrFailed': 'retry',
  'FailedOperation.UnKnowError': 'retry',
  'FailedOperation.UnKnowFileTypeError': 'reject',
  'FailedOperation.UnOpenError': 'fatal',
  'FailedOperation.WarningServiceFailed': 'retry',
  'InvalidParameter.ConfigFormatError': 'fatal',
  'InvalidParameter.EngineImageDecodeFailed': 'reject',
  'InvalidParameterValue.InvalidFileContentSize': 'reject',
  'InvalidParameterValue.InvalidParameterValueLimit': 'fatal',
  'LimitExceeded.TooLargeFileError': 'reject',
  'ResourceUnavailable.ImageDownloadError': 'retry',
  'ResourceUnavailable.InArrears': 'fatal',
  'ResourceUnavailable.ResourcePackageRunOut': 'fatal',
  'ResourcesSoldOut.ChargeStatusException': 'fatal',
  UnknownParameter: 'fatal',
};

describe('the error-action table', () => {
  it.each([...Object.entries(ACTION_PAGE), ...Object.entries(COMMON), ...Object.entries(OCR_SDK)])(
    'lists %s as %s, with its meaning, a hint and its billing',
    (code, action) => {
      const rule = ERROR_ACTIONS[code];
      expect(rule?.action).toBe(action);
      expect(rule?.meaning.length).toBeGreaterThan(10);
      expect(rule?.hint.length).toBeGreaterThan(10);
      expect(['billed', 'not-billed', 'unknown']).toContain(rule?.billing);
    },
  );

  it('lists nothing of the provider’s that is not in one of those lists', () => {
    const listed = new Set([...Object.keys(ACTION_PAGE), ...Object.keys(COMMON), ...Object.keys(OCR_SDK)]);
    const providers = Object.entries(ERROR_ACTIONS)
      .filter(([, r]) => r.source !== 'client' && r.source !== 'ours')
      .map(([c]) => c);
    expect(providers.filter((c) => !listed.has(c))).toEqual(['AuthFailure', 'ResourcesSoldOut']);
  });

  it('never rejects a card for a code that answers every card alike', () => {
    for (const code of [
      'InvalidParameter.ConfigFormatError',
      'InvalidParameterValue.InvalidParameterValueLimit',
      'MissingParameter',
      'UnknownParameter',
      'ActionOffline',
      'UnauthorizedOperation',
      'IpInBlacklist',
      'IpNotInWhitelist',
      'NoSuchProduct',
      'UnsupportedProtocol',
    ])
      expect(actionFor(code), code).toBe('fatal');
  });

  it('gives the image fallbacks to the codes that call for them', () => {
    const fallbacks = Object.fromEntries(
      Object.entries(ERROR_ACTIONS)
        .filter(([, r]) => r.fallback)
        .map(([c, r]) => [c, r.fallback]),
    );
    expect(fallbacks).toEqual({
      'FailedOperation.DownLoadError': 'inline',
      'ResourceUnavailable.ImageDownloadError': 'inline',
      'LimitExceeded.TooLargeFileError': 'downscale',
      RequestSizeLimitExceeded: 'downscale',
      'FailedOperation.ImageSizeTooLarge': 'downscale',
      'InvalidParameterValue.InvalidFileContentSize': 'downscale',
    });
  });

  it('signs afresh once on SignatureExpire only', () => {
    const resign = Object.entries(ERROR_ACTIONS)
      .filter(([, r]) => r.resignOnce)
      .map(([c]) => c);
    expect(resign).toEqual(['AuthFailure.SignatureExpire']);
  });

  it('bills what the provider says it bills, and counts what it does not say as billed', () => {
    expect(ruleFor('FailedOperation.UnKnowError').maxTries).toBe(2);
    expect(ruleFor('FailedOperation.EmptyImageError').billing).toBe('billed');
    expect(ruleFor('FailedOperation.OcrFailed').billing).toBe('unknown');
    expect(ruleFor('ClientError.Network').billing).toBe('not-billed');
    expect(ruleFor('Worker.Error').billing).toBe('not-billed');
  });

  it('classifies a family by its bare code and its new sub-codes, and the unknown as a bounded retry', () => {
    expect(actionFor('AuthFailure')).toBe('fatal');
    expect(actionFor('AuthFailure.SomethingNew')).toBe('fatal');
    expect(actionFor('RequestLimitExceeded.NewKind')).toBe('throttle');
    expect(actionFor('ResourcesSoldOut')).toBe('fatal');
    expect(actionFor('ResourcesSoldOut.Whatever')).toBe('fatal');
    expect(actionFor('InvalidParameterValue.Other')).toBe('fatal');
    expect(actionFor('AuthFailureLookalike')).toBe('retry');
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
