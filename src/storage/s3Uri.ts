/** A parsed `s3://bucket/prefix` URI. */
export interface S3Location {
  bucket: string;
  /** Key prefix, without a leading slash; may be empty. */
  prefix: string;
}

/**
 * Parses `s3://bucket/prefix`. Bucket names follow S3's rules (3-63 characters of lowercase
 * letters, digits, dots and hyphens); the message says what was wrong and shows a valid form.
 */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: \`${uri}\`; write it as s3://bucket/prefix`);
  const bucket = m[1] ?? '';
  const prefix = m[2] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(
      `bad bucket name \`${bucket}\` in \`${uri}\`: 3-63 lowercase letters, digits, dots or hyphens; write it as s3://bucket/prefix`,
    );
  }
  return { bucket, prefix };
}
