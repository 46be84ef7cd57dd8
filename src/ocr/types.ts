import type { MacaoCardFields } from '../card/fields.js';

/** The action and version this project drives. */
export const OCR_ACTION = 'RecognizeMacaoIDCardOCR';
export const OCR_VERSION = '2018-11-19';

/** What the API can return besides the fields: `portrait` (the photo crop) or `preprocess` (the deskewed card). */
export type RetImageKind = 'portrait' | 'preprocess';

/** Our typed view of the `Config` parameter; the wire wants it as a JSON *string*. */
export interface RecognizeConfig {
  retImage?: RetImageKind;
}

/** The image of one side: a URL the provider downloads (7 MB, 3 s limit) or the bytes inline. */
export type ImageSource = { url: string } | { base64: string };

/** A typed request. The front is required, the back optional. */
export interface RecognizeRequest {
  front: ImageSource;
  back?: ImageSource;
  config?: RecognizeConfig;
}

/** The request exactly as it goes on the wire (API parameter names). */
export interface RecognizeMacaoIDCardOCRRequest {
  ImageUrl?: string;
  ImageBase64?: string;
  BackImageUrl?: string;
  BackImageBase64?: string;
  /** JSON string, e.g. `{"RetImage":"portrait"}`. */
  Config?: string;
}

/** The response as the API documents it. Every field may be absent on the wire; the client fills none in. */
export interface RecognizeMacaoIDCardOCRResponse extends Partial<MacaoCardFields> {
  /**
   * Rotation in degrees, as a string, in the provider's example; the official SDKs call it
   * deprecated and always null. Nothing here reads it: it is kept in the raw response only.
   */
  Angle?: string | null;
  /** Base64 JPEG of the portrait, when `Config.RetImage` asked for it; empty otherwise. */
  RetImage?: string;
  /** Warning codes, see `WARNING_NAMES`; -9109 is an account condition (`ACCOUNT_CONDITIONS`). */
  WarnCardInfos?: number[];
  /** Always present on answers from the service. */
  RequestId: string;
}

/** Builds the wire request from the typed one. */
export function toWireRequest(req: RecognizeRequest): RecognizeMacaoIDCardOCRRequest {
  const wire: RecognizeMacaoIDCardOCRRequest = {};
  if ('url' in req.front) wire.ImageUrl = req.front.url;
  else wire.ImageBase64 = req.front.base64;
  if (req.back) {
    if ('url' in req.back) wire.BackImageUrl = req.back.url;
    else wire.BackImageBase64 = req.back.base64;
  }
  if (req.config?.retImage) wire.Config = JSON.stringify({ RetImage: req.config.retImage });
  return wire;
}
