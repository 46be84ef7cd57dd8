// Child of bench/producer.ts: hosts s3rver and fills its buckets. In its own process so that its
// CPU and memory are not the measured processes', and so that it runs with
// `--openssl-legacy-provider` (s3rver makes continuation tokens with DES, which OpenSSL 3 refuses
// without it: a second listing page answers 500). Progress goes to stderr; then it prints
// {endpoint, accessKeyId, secretAccessKey} and serves until SIGTERM or until stdin closes.
//   node --openssl-legacy-provider bench/producer-s3.child.ts DIR files|http BUCKET=N...
// Objects: groups of 4 = one front/back pair and two front-only cards, so N objects make 0.75 N
// cards, 0.25 N of them paired: `cards/0000000_front.jpg`, `cards/0000000_back.jpg`,
// `cards/0000001_front.jpg`, `cards/0000002_front.jpg`, ...
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../src/mapLimit.js';
import { startLocalS3Server } from '../src/sandbox/localS3Server.js';
import { readObject } from '../src/storage/objects.js';
import { createS3Client, putObject } from '../src/storage/s3.js';

const [directory, how, ...specs] = process.argv.slice(2);
const buckets = specs.map((s) => {
  const [name, n] = s.split('=');
  return { name: name ?? '', n: Number(n) };
});
if (!directory || (how !== 'files' && how !== 'http') || buckets.some((b) => !(b.n > 0))) {
  console.error('usage: producer-s3.child.ts DIR files|http BUCKET=N...');
  process.exit(2);
}
if (
  !process.execArgv.includes('--openssl-legacy-provider') &&
  !process.env.NODE_OPTIONS?.includes('legacy')
) {
  console.error('producer-s3.child.ts must run with --openssl-legacy-provider (s3rver paging)');
  process.exit(2);
}

/** The i-th object's key. */
function objectKey(i: number): string {
  const group = Math.floor(i / 4);
  const [card, side] = (
    [
      [0, 'front'],
      [0, 'back'],
      [1, 'front'],
      [2, 'front'],
    ] as const
  )[i % 4]!;
  return `cards/${String(group * 3 + card).padStart(7, '0')}_${side}.jpg`;
}

/** A few hundred bytes that start and end like a JPEG, different for every key. */
function jpegLike(key: string): Buffer {
  const seed = createHash('sha256').update(key).digest();
  const jfif = Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex');
  return Buffer.concat([jfif, ...Array.from({ length: 8 }, () => seed), Buffer.from('ffd9', 'hex')]);
}

/**
 * `http`: every object through PutObject. `files`: the first object through PutObject, whose
 * on-disk files (`<name>._S3rver_object`, `._S3rver_object.md5`, `._S3rver_metadata.json`) are
 * the template for writing the others straight into s3rver's directory (lib/stores/filesystem.js
 * keeps nothing in memory); the last one is then read back over HTTP to check its bytes.
 */
async function populate(s3: S3Client, bucket: string, n: number): Promise<void> {
  const t0 = performance.now();
  let done = 0;
  const progress = (): void => {
    done++;
    if (done % Math.max(Math.floor(n / 5), 1) === 0 || done === n) {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.error(
        `  ${bucket}: ${done.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} objects, ${s} s`,
      );
    }
  };
  const put = async (i: number): Promise<void> => {
    const key = objectKey(i);
    await putObject(s3, bucket, key, jpegLike(key), 'image/jpeg');
    progress();
  };
  await put(0);
  /** The indices of every object but the first. */
  const rest = Array.from({ length: n - 1 }, (_, i) => i + 1);
  if (how === 'http') return mapLimit(rest, 48, put);

  const cardsDir = join(directory!, bucket, 'cards');
  const name = objectKey(0).slice('cards/'.length);
  const suffixes = ['_metadata.json', '_object', '_object.md5'];
  const files = readdirSync(cardsDir).sort();
  if (files.join() !== suffixes.map((s) => `${name}._S3rver${s}`).join())
    throw new Error(
      `s3rver's store format is not the one expected (${files.join(', ')}): use --populate http`,
    );
  const metadata = readFileSync(join(cardsDir, `${name}._S3rver_metadata.json`));
  await mapLimit(rest, 64, async (i) => {
    const key = objectKey(i);
    const base = join(cardsDir, `${key.slice('cards/'.length)}._S3rver`);
    const body = jpegLike(key);
    await writeFile(`${base}_object`, body);
    await writeFile(`${base}_object.md5`, createHash('md5').update(body).digest('hex'));
    await writeFile(`${base}_metadata.json`, metadata);
    progress();
  });
  const probe = objectKey(n - 1);
  if (!(await readObject(s3, bucket, probe)).equals(jpegLike(probe)))
    throw new Error(`s3://${bucket}/${probe} reads back different bytes`);
}

const server = await startLocalS3Server({ directory, buckets: buckets.map((b) => b.name) });
let closing = false;
const stop = async (code = 0): Promise<void> => {
  if (closing) return;
  closing = true;
  await server.close().catch(() => undefined);
  process.exit(code);
};
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
// The parent holds our stdin open; if it dies without a signal, we go too.
process.stdin.on('end', () => stop());
process.stdin.resume();

const s3 = createS3Client({
  endpoint: server.endpoint,
  forcePathStyle: true,
  credentials: server.credentials,
});
try {
  for (const b of buckets) {
    console.error(
      `populating ${b.name} with ${b.n.toLocaleString('en-US')} objects (${how === 'files' ? "written straight into s3rver's directory" : 'PutObject over HTTP'})`,
    );
    await populate(s3, b.name, b.n);
  }
} catch (e) {
  console.error(e);
  await stop(1);
} finally {
  s3.destroy();
}
console.log(JSON.stringify({ endpoint: server.endpoint, ...server.credentials }));
