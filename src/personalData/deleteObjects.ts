import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../mapLimit.js';
import { parseS3Uri } from '../storage/s3Uri.js';

/** An object to delete: its bucket and key. */
export interface ObjectRef {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` → its bucket and key; undefined for anything else. */
export function objectOf(uri: string | null): ObjectRef | undefined {
  if (!uri?.startsWith('s3://')) return undefined;
  try {
    const { bucket, prefix } = parseS3Uri(uri);
    return prefix ? { bucket, key: prefix } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Deletes objects, 1,000 a request per bucket (S3's DeleteObjects limit), 4 requests at once.
 * A key that is already gone counts as deleted (S3 answers so). Returns the objects the store
 * refused (`bucket/key`), which the caller must keep track of but never print: keys may carry
 * customer numbers.
 */
export async function deleteObjects(s3: S3Client, objects: readonly ObjectRef[]): Promise<Set<string>> {
  const byBucket = new Map<string, string[]>();
  for (const o of objects) {
    const keys = byBucket.get(o.bucket);
    if (keys) keys.push(o.key);
    else byBucket.set(o.bucket, [o.key]);
  }
  const batches: { bucket: string; keys: string[] }[] = [];
  for (const [bucket, keys] of byBucket)
    for (let i = 0; i < keys.length; i += 1000) batches.push({ bucket, keys: keys.slice(i, i + 1000) });
  const refused = new Set<string>();
  await mapLimit(batches, 4, async ({ bucket, keys }) => {
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    for (const e of out.Errors ?? []) if (e.Key) refused.add(`${bucket}/${e.Key}`);
  });
  return refused;
}
