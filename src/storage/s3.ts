import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { DEFAULTS } from '../defaults.js';

/** Options of {@link createS3Client}; see `Config.s3`. */
export interface S3Options {
  /** COS, MinIO or s3rver URL; unset for AWS S3. */
  endpoint?: string | undefined;
  /** Path-style addressing (`http://host/bucket/key`), needed by MinIO and s3rver. */
  forcePathStyle?: boolean;
  /** Region; COS wants its own (e.g. `ap-guangzhou`). Default `us-east-1`. */
  region?: string;
  /** Static credentials; unset: the AWS SDK's usual chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Connection attempts of the SDK per request; default 3. */
  maxAttempts?: number;
}

/**
 * An S3 client for AWS S3, Tencent COS, MinIO and s3rver. With a custom endpoint the checksums
 * are only computed when an operation requires them: the SDK's default sends streamed bodies
 * `aws-chunked`, which s3rver (and some S3-compatible servers) store with the chunk framing in
 * the object: wrong bytes, wrong ETag, and no error.
 */
export function createS3Client(opts: S3Options = {}): S3Client {
  // The SDK warns on Node 20 that *future* releases will need Node 22; this project pins a
  // release that supports Node 20, so the warning only adds noise to every command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config: S3ClientConfig = {
    region: opts.region ?? DEFAULTS.awsRegion,
    forcePathStyle: opts.forcePathStyle ?? false,
    maxAttempts: opts.maxAttempts ?? 3,
  };
  if (opts.endpoint) {
    config.endpoint = opts.endpoint;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (opts.credentials) config.credentials = opts.credentials;
  return new S3Client(config);
}

/** Puts one object. */
export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  contentType: string,
  opts: { signal?: AbortSignal } = {},
): Promise<{ etag: string | undefined }> {
  const out = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    opts.signal ? { abortSignal: opts.signal } : {},
  );
  return { etag: out.ETag };
}
