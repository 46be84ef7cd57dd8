import { ApiError } from './errors.js';

/** Where one side's image comes from, after validation. */
export type ImageInput = { kind: 'url'; url: string } | { kind: 'base64'; bytes: Buffer };

/** A request body that passed every parameter check. */
export interface ValidRequest {
  front: ImageInput;
  back?: ImageInput;
  /** `Config.RetImage`; empty: return no image. */
  retImage: '' | 'portrait' | 'preprocess';
}

const PARAMETERS = ['ImageUrl', 'ImageBase64', 'BackImageUrl', 'BackImageBase64', 'Config'] as const;
const CONFIG_KEYS = ['RetImage'];
const RET_IMAGE_VALUES = ['', 'portrait', 'preprocess'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Standard Base64 (RFC 4648 §4) with padding; line breaks, as some encoders wrap at 76, are tolerated. */
function decodeBase64(name: string, text: string): Buffer {
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new ApiError('FailedOperation.ImageDecodeFailed', `${name} is not valid Base64.`);
  }
  return Buffer.from(compact, 'base64');
}

function checkUrl(name: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError('InvalidParameterValue.InvalidParameterValueLimit', `${name} is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError(
      'InvalidParameterValue.InvalidParameterValueLimit',
      `${name} must be an http or https URL.`,
    );
  }
  return url.href;
}

/**
 * Checks the parameters in the order the service plausibly does: body shape, names, types,
 * presence, Config, URL form, Base64 size, Base64 form. An empty URL or Config counts as absent;
 * an empty Base64 is an image that was sent and is empty (`EmptyImageError`, as an empty download
 * is), since that is what an empty file read and encoded looks like. When both
 * a URL and Base64 are given for one side, the URL wins and the Base64 is not looked at, as the
 * API page says ("If both are provided, only ImageUrl will be used").
 */
export function validateRequest(rawBody: Buffer, maxImageBytes: number): ValidRequest {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ApiError('InvalidParameter', 'The request body is not valid JSON.');
  }
  if (!isPlainObject(body)) throw new ApiError('InvalidParameter', 'The request body must be a JSON object.');
  for (const name of Object.keys(body)) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      throw new ApiError('UnknownParameter', `The parameter \`${name.slice(0, 64)}\` is not recognized.`);
    }
  }
  const params: Partial<Record<(typeof PARAMETERS)[number], string>> = {};
  for (const name of PARAMETERS) {
    const value = body[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new ApiError('InvalidParameter', `The value type of parameter \`${name}\` must be String.`);
    }
    if (value !== '' || name === 'ImageBase64' || name === 'BackImageBase64') params[name] = value;
  }
  if (params.ImageUrl === undefined && params.ImageBase64 === undefined) {
    throw new ApiError('MissingParameter');
  }

  let retImage: ValidRequest['retImage'] = '';
  if (params.Config !== undefined) {
    let config: unknown;
    try {
      config = JSON.parse(params.Config);
    } catch {
      throw new ApiError('InvalidParameter.ConfigFormatError');
    }
    if (!isPlainObject(config)) throw new ApiError('InvalidParameter.ConfigFormatError');
    for (const key of Object.keys(config)) {
      if (!CONFIG_KEYS.includes(key)) {
        throw new ApiError(
          'InvalidParameterValue.InvalidParameterValueLimit',
          `Config key \`${key.slice(0, 64)}\` is not supported.`,
        );
      }
    }
    const value = config.RetImage ?? '';
    if (typeof value !== 'string' || !RET_IMAGE_VALUES.includes(value)) {
      throw new ApiError(
        'InvalidParameterValue.InvalidParameterValueLimit',
        'Config.RetImage must be "", "portrait" or "preprocess".',
      );
    }
    retImage = value as ValidRequest['retImage'];
  }

  type Pending = ImageInput | { kind: 'pending'; name: string; text: string } | undefined;
  const side = (
    urlName: 'ImageUrl' | 'BackImageUrl',
    b64Name: 'ImageBase64' | 'BackImageBase64',
  ): Pending => {
    const url = params[urlName];
    if (url !== undefined) return { kind: 'url', url: checkUrl(urlName, url) };
    const text = params[b64Name];
    if (text === undefined) return undefined;
    if (text.length > maxImageBytes) {
      throw new ApiError('LimitExceeded.TooLargeFileError', `${b64Name} exceeds ${maxImageBytes} bytes.`);
    }
    return { kind: 'pending', name: b64Name, text };
  };
  // Form and size of both sides first, then the (costlier) Base64 decoding.
  const front = side('ImageUrl', 'ImageBase64');
  const back = side('BackImageUrl', 'BackImageBase64');
  const finish = (s: Pending): ImageInput | undefined =>
    s?.kind === 'pending' ? { kind: 'base64', bytes: decodeBase64(s.name, s.text) } : s;
  const frontInput = finish(front);
  if (!frontInput) throw new ApiError('MissingParameter');
  const backInput = finish(back);
  return { front: frontInput, ...(backInput ? { back: backInput } : {}), retImage };
}
