import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** A local S3 server (s3rver) for tests and the demo. Not for production data. */
export interface LocalS3Server {
  /** `http://127.0.0.1:PORT`, for `S3_ENDPOINT` (with path-style addressing). */
  endpoint: string;
  /** The one key pair s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/**
 * Starts s3rver on a free loopback port with a fresh directory (its default is a shared /tmp
 * folder) and the buckets given (names of 3 characters or more: s3rver refuses shorter ones).
 * Listing more than one page needs the hosting process to run with
 * `--openssl-legacy-provider`: s3rver makes continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
 */
export async function startLocalS3Server(
  opts: { buckets?: string[]; directory?: string } = {},
): Promise<LocalS3Server> {
  const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 'macao-ocr-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  const addr = await server.run();
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async close() {
      await server.close();
      if (!opts.directory) rmSync(directory, { recursive: true, force: true });
    },
  };
}
