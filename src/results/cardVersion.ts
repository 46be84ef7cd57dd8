import { createHash } from 'node:crypto';

/**
 * One card version: the front image's bucket, key and ETag, plus the back's when paired. A new
 * ETag (the object was replaced) is a new version. This identity is used everywhere: the BullMQ
 * job id, the results row, the ledger.
 */
export interface CardVersion {
  bucket: string;
  frontKey: string;
  frontEtag: string;
  backKey?: string | null | undefined;
  backEtag?: string | null | undefined;
}

/** S3 ETags come quoted (`"abc"`); COS and MinIO agree. Compare and hash them unquoted. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/**
 * The version id: a hash of the identity (fixed length whatever the key length, safe as a
 * Redis key part and a BullMQ job id, which must not contain `:`).
 */
export function versionId(v: CardVersion): string {
  const parts = [
    v.bucket,
    v.frontKey,
    normalizeEtag(v.frontEtag),
    v.backKey ?? '',
    v.backEtag ? normalizeEtag(v.backEtag) : '',
  ];
  return `cv1-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40)}`;
}
