import type { S3Client } from '@aws-sdk/client-s3';
import pRetry from 'p-retry';
import type { CheckFinding } from '../card/fields.js';
import type { Logger } from '../log.js';
import { checkBucket } from '../storage/objects.js';
import { putObject } from '../storage/s3.js';
import { describeS3Error, StorageError } from '../storage/s3Errors.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import type { CardContext } from './cardContext.js';

/** Where portraits go, parsed from `s3://bucket/prefix`. */
export type PortraitsPlace = NonNullable<CardContext['portraits']>;

/**
 * Parses `--portraits` and checks its bucket now rather than after the first paid call: a
 * portraits bucket that is missing would otherwise flag every card recognized without its
 * portrait. HEAD needs s3:ListBucket, which a write-only policy on the prefix does not give: a
 * refusal is only a warning.
 */
export async function openPortraits(
  s3: S3Client,
  uri: string | undefined,
  log: Logger,
): Promise<PortraitsPlace | undefined> {
  const portraits = uri ? parseS3Uri(uri) : undefined;
  if (!portraits) return undefined;
  await checkBucket(s3, portraits.bucket).catch((e: unknown) => {
    const err = describeS3Error(e, `opening bucket ${portraits.bucket}`);
    if (err.code === 'AccessDenied') {
      log.warn(
        { code: `Storage.${err.code}` },
        'cannot check the portraits bucket (no s3:ListBucket?): portraits that cannot be written are flagged portrait-not-stored',
      );
      return;
    }
    throw new StorageError(err.code, `--portraits ${uri}: ${err.message}`, err.transient);
  });
  return portraits;
}

/**
 * Writes a recognized card's `RetImage` to the portraits bucket. The call is paid: a portrait
 * that cannot be written must not send the card again (a failed attempt would). A few tries, then
 * the card is recorded without it, with a finding for a reviewer. Not on the job's signal either:
 * a shutdown waits for these few seconds rather than pay twice.
 */
export async function storePortrait(
  s3: S3Client,
  place: PortraitsPlace,
  versionId: string,
  retImage: string,
  log: Logger,
): Promise<{ portraitKey: string } | { finding: CheckFinding }> {
  const key = `${place.prefix}${versionId}.jpg`;
  const { bucket } = place;
  try {
    // Each try gives up after 10 s: a store that stops answering must not hold the answer until
    // a shutdown kills the process and the next worker pays for the card again.
    const jpeg = Buffer.from(retImage, 'base64');
    const put = () => putObject(s3, bucket, key, jpeg, 'image/jpeg', { signal: AbortSignal.timeout(10_000) });
    await pRetry(put, { retries: 4, minTimeout: 250, maxTimeout: 2000 });
    // The whole location: purge and erasure delete the portrait wherever it was written.
    return { portraitKey: `s3://${bucket}/${key}` };
  } catch (e) {
    const err = describeS3Error(e, `writing the portrait to bucket ${bucket}`);
    log.warn(
      { code: `Storage.${err.code}`, err: { message: err.message } },
      'could not store the portrait: the card is recorded recognized without it (not sent again)',
    );
    return {
      finding: {
        code: 'portrait-not-stored',
        message: `The portrait could not be written to the portraits bucket (Storage.${err.code}); the card was not sent again for it.`,
      },
    };
  }
}
