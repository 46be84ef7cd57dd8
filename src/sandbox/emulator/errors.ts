import { randomUUID } from 'node:crypto';
import { ruleFor } from '../../ocr/errorActions.js';

/**
 * The error codes the emulator answers, each with a short English message in the manner of the
 * real service's. Codes are the provider's (docs/api-errors.md); messages are ours.
 */
export const ERROR_MESSAGES = {
  'AuthFailure.InvalidAuthorization': 'The Authorization header is invalid.',
  'AuthFailure.SecretIdNotFound': 'The SecretId is not found, please ensure that your SecretId is correct.',
  'AuthFailure.SignatureExpire':
    'Signature expired. The timestamp is more than 5 minutes from the server time.',
  'AuthFailure.SignatureFailure':
    'The provided credentials could not be validated. Please check your signature is correct.',
  'AuthFailure.TokenFailure': 'Token verification failed.',
  RequestSizeLimitExceeded: 'The request body exceeds the 10 MB limit.',
  InvalidAction: 'The requested action does not exist.',
  NoSuchVersion: 'The requested version does not exist for this service.',
  UnsupportedRegion: 'The service does not support the requested region.',
  UnsupportedOperation: 'The operation is not supported.',
  'FailedOperation.UnOpenError': 'The service has not been activated.',
  'ResourceUnavailable.InArrears': 'The account is in arrears.',
  'ResourceUnavailable.ResourcePackageRunOut': 'The resource package of the account has run out.',
  RequestLimitExceeded: 'The request rate exceeds the frequency limit. Please reduce the frequency of calls.',
  InternalError:
    'An internal error has occurred. Retry your request, but if the problem persists, contact us.',
  InvalidParameter: 'A parameter is invalid.',
  UnknownParameter: 'A parameter is not recognized.',
  MissingParameter: 'The request is missing a required parameter: ImageUrl or ImageBase64.',
  'InvalidParameter.ConfigFormatError': 'Config is not in valid JSON format.',
  'InvalidParameterValue.InvalidParameterValueLimit': 'Incorrect parameter value.',
  'LimitExceeded.TooLargeFileError': 'The file size exceeds the limit.',
  'FailedOperation.DownLoadError': 'Failed to download the file.',
  'FailedOperation.EmptyImageError': 'The image is empty.',
  'FailedOperation.ImageDecodeFailed': 'Failed to decode the image.',
  'FailedOperation.ImageNoSpecifiedCard': 'The card in the image is not of the specified type.',
  'FailedOperation.OcrFailed': 'OCR recognition failed.',
  'FailedOperation.UnKnowError': 'Unknown error.',
  'FailedOperation.WarningServiceFailed': 'The general warning service encountered an exception.',
} as const;

/** An error code the emulator answers by itself (faults may inject any provider code besides). */
export type EmulatorErrorCode = keyof typeof ERROR_MESSAGES;

/** The error codes the emulator answers by itself, for tests and docs that walk them. */
export const EMULATOR_ERROR_CODES = Object.keys(ERROR_MESSAGES) as EmulatorErrorCode[];

/**
 * The message the emulator answers a code with: its own for the codes it answers by itself, the
 * code's meaning from the error table for a code only faults inject.
 */
function messageFor(code: string): string {
  return (ERROR_MESSAGES as Record<string, string>)[code] ?? ruleFor(code).meaning;
}

/** An answer the emulator gives as an error envelope; thrown inside the request pipeline. */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: EmulatorErrorCode, message?: string);
  constructor(code: string, message?: string);
  constructor(code: string, message?: string) {
    super(message ?? messageFor(code));
    this.name = 'ApiError';
    this.code = code;
  }
}

/** Turns whatever was thrown into an Error. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** A fresh RequestId. The real service's are UUID-shaped too. */
export function newRequestId(): string {
  return randomUUID();
}

/** The error answer, exactly as the service shapes it (HTTP 200). */
export function errorEnvelope(
  code: string,
  message: string,
  requestId: string,
): { Response: { Error: { Code: string; Message: string }; RequestId: string } } {
  return { Response: { Error: { Code: code, Message: message }, RequestId: requestId } };
}

/** What a gateway in front of the service answers when the service behind it fails (fault `http502`). */
export const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
