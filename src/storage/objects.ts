import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describeS3Error } from './s3Errors.js';

/** One listed object, as the producer needs it. */
export interface ListedObject {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  lastModified: Date | undefined;
}

/** Options of {@link listObjects}. */
export interface ListOptions {
  /** Keys per page (ListObjectsV2 `MaxKeys`); default 1,000, the S3 maximum. */
  pageSize?: number;
  /**
   * Keys in the first page; default min(100, pageSize). The caller can start on the first cards
   * after a short first request instead of a full page: workers begin about a full page's listing
   * time sooner (s3rver lists ~1,000 keys a second; S3 takes 100-300 ms a page).
   */
  firstPageSize?: number;
  signal?: AbortSignal;
}

/**
 * Lists `s3://bucket/prefix` page by page (ListObjectsV2 with continuation tokens), yielding one
 * page at a time so that memory holds one page, never the whole listing. Keys come in S3's
 * lexicographic (UTF-8 binary) order.
 */
export async function* listObjectPages(
  s3: S3Client,
  bucket: string,
  prefix: string,
  opts: ListOptions = {},
): AsyncGenerator<ListedObject[]> {
  const pageSize = opts.pageSize ?? 1000;
  let maxKeys = opts.firstPageSize ?? Math.min(100, pageSize);
  let token: string | undefined;
  do {
    let out: ListObjectsV2CommandOutput;
    try {
      out = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          MaxKeys: maxKeys,
          ContinuationToken: token,
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
    } catch (e) {
      throw describeS3Error(e, `listing s3://${bucket}/${prefix}`);
    }
    const page: ListedObject[] = (out.Contents ?? []).map((o) => ({
      bucket,
      key: o.Key ?? '',
      etag: o.ETag ?? '',
      size: o.Size ?? 0,
      lastModified: o.LastModified,
    }));
    if (page.length > 0) yield page;
    maxKeys = pageSize;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
}

/** Fails with a clear error unless the bucket exists and we may use it. */
export async function checkBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (e) {
    throw describeS3Error(e, `opening bucket ${bucket}`);
  }
}

/**
 * What messages call an object: `opts.name` (the caller knows the card, e.g. "the front image of
 * card cv1-…"), else its bucket alone. Never the key: real buckets put customer numbers in keys,
 * and these messages reach logs, Redis (a failed job's reason) and the terminal.
 */
function objectName(bucket: string, name: string | undefined): string {
  return name ?? `an object in bucket ${bucket}`;
}

/** Options of the object reads: the abort signal and the object's name in messages. */
export interface ReadOptions {
  signal?: AbortSignal;
  /** What messages call the object; default "an object in bucket B". */
  name?: string;
}

/** Reads a whole object into memory (the worker's `base64` mode); `maxBytes` guards against a surprise. */
export async function readObject(
  s3: S3Client,
  bucket: string,
  key: string,
  opts: ReadOptions & { maxBytes?: number } = {},
): Promise<Buffer> {
  const name = objectName(bucket, opts.name);
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
      opts.signal ? { abortSignal: opts.signal } : {},
    );
    if (opts.maxBytes !== undefined && (out.ContentLength ?? 0) > opts.maxBytes) {
      out.Body?.transformToWebStream().cancel();
      throw new Error(`${name} is ${out.ContentLength} bytes, over the ${opts.maxBytes} bytes allowed`);
    }
    const bytes = await out.Body?.transformToByteArray();
    // A view on the SDK's bytes, not a copy: an inline image is held once less.
    return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0);
  } catch (e) {
    throw describeS3Error(e, `reading ${name}`, [key]);
  }
}

/** A byte range of an object, and the object's whole size when the store said it. */
export interface ObjectRange {
  bytes: Buffer;
  /** The object's size in bytes (from `Content-Range`); undefined when not given. */
  size: number | undefined;
}

/**
 * Reads bytes `start` to `end` (inclusive) of an object: a GetObject with `Range`. A range that
 * starts past the end (HTTP 416) reads as no bytes, not as an error: the object is that short.
 */
export async function readObjectRange(
  s3: S3Client,
  bucket: string,
  key: string,
  range: { start: number; end: number },
  opts: ReadOptions = {},
): Promise<ObjectRange> {
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${range.start}-${range.end}` }),
      opts.signal ? { abortSignal: opts.signal } : {},
    );
    const bytes = await out.Body?.transformToByteArray();
    const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
    return {
      bytes: bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0),
      size: total === undefined ? undefined : Number(total),
    };
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (err.name === 'InvalidRange' || err.$metadata?.httpStatusCode === 416)
      return { bytes: Buffer.alloc(0), size: undefined };
    throw describeS3Error(e, `reading the first bytes of ${objectName(bucket, opts.name)}`, [key]);
  }
}

/** A presigned GET URL valid for `expiresInSec` (default 600 s). It is a secret: never log it. */
export async function presignGet(
  s3: S3Client,
  bucket: string,
  key: string,
  expiresInSec = 600,
): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSec });
}

/** ETag, size and LastModified of one object (a manifest names keys, not versions). */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
  opts: Pick<ReadOptions, 'name'> = {},
): Promise<ListedObject> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      bucket,
      key,
      etag: out.ETag ?? '',
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified,
    };
  } catch (e) {
    throw describeS3Error(e, `reading the metadata of ${objectName(bucket, opts.name)}`, [key]);
  }
}
