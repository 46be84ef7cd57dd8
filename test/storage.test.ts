import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3Server, startLocalS3Server } from '../src/sandbox/localS3Server.js';
import { checkBucket, listObjectPages, presignGet, readObject } from '../src/storage/objects.js';
import { createS3Client, putObject } from '../src/storage/s3.js';
import { StorageError } from '../src/storage/s3Errors.js';
import { parseS3Uri } from '../src/storage/s3Uri.js';

describe('object storage on s3rver', () => {
  const bucket = `test-${randomBytes(4).toString('hex')}`;
  let server: LocalS3Server;
  let s3: ReturnType<typeof createS3Client>;

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: [bucket] });
    s3 = createS3Client({ endpoint: server.endpoint, forcePathStyle: true, credentials: server.credentials });
    for (let i = 0; i < 7; i++)
      await putObject(s3, bucket, `p/${i}.jpg`, Buffer.from(`image ${i}`), 'image/jpeg');
    await putObject(s3, bucket, 'other/x.jpg', Buffer.from('x'), 'image/jpeg');
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
  });

  it('lists a prefix page by page, keys in order, with ETags matching the bytes', async () => {
    const pages: string[][] = [];
    for await (const page of listObjectPages(s3, bucket, 'p/', { pageSize: 2 }))
      pages.push(page.map((o) => o.key));
    expect(pages).toEqual([
      ['p/0.jpg', 'p/1.jpg'],
      ['p/2.jpg', 'p/3.jpg'],
      ['p/4.jpg', 'p/5.jpg'],
      ['p/6.jpg'],
    ]);
    // A short first page, then full ones: the caller starts on the first keys sooner.
    const paged: string[][] = [];
    for await (const page of listObjectPages(s3, bucket, 'p/', { pageSize: 3, firstPageSize: 1 }))
      paged.push(page.map((o) => o.key));
    expect(paged).toEqual([
      ['p/0.jpg'],
      ['p/1.jpg', 'p/2.jpg', 'p/3.jpg'],
      ['p/4.jpg', 'p/5.jpg', 'p/6.jpg'],
    ]);
    const [first] = await listObjectPages(s3, bucket, 'p/0')
      .next()
      .then((r) => r.value ?? []);
    // The ETag of a simple PUT is the MD5 of the bytes: a wrong checksum setting would store chunk framing instead.
    const { createHash } = await import('node:crypto');
    expect(first?.etag).toBe(`"${createHash('md5').update('image 0').digest('hex')}"`);
    expect(first?.size).toBe(7);
  });

  it('reads objects and presigns URLs that a plain HTTP client can fetch', async () => {
    expect((await readObject(s3, bucket, 'p/3.jpg')).toString()).toBe('image 3');
    const url = await presignGet(s3, bucket, 'p/4.jpg', 60);
    expect(url).toContain('X-Amz-Signature=');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('image 4');
    await expect(readObject(s3, bucket, 'p/3.jpg', { maxBytes: 3 })).rejects.toThrow(
      /over the 3 bytes allowed/,
    );
  });

  it.each([
    [
      'a missing bucket',
      async () => checkBucket(s3, 'no-such-bucket-here'),
      'NoSuchBucket',
      /bucket does not exist/,
    ],
    [
      'a missing key',
      async () => readObject(s3, bucket, 'p/missing.jpg'),
      'NoSuchKey',
      /object does not exist/,
    ],
    [
      'listing a missing bucket',
      async () => listObjectPages(s3, 'no-such-bucket-here', '').next(),
      'NoSuchBucket',
      /bucket does not exist/,
    ],
    [
      'wrong credentials',
      async () =>
        listObjectPages(
          createS3Client({
            endpoint: server.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: 'WRONG', secretAccessKey: 'x' },
          }),
          bucket,
          '',
        ).next(),
      'InvalidAccessKeyId',
      /refused the credentials/,
    ],
    [
      'an unreachable endpoint',
      async () =>
        listObjectPages(
          createS3Client({
            endpoint: 'http://127.0.0.1:1',
            forcePathStyle: true,
            credentials: server.credentials,
            maxAttempts: 1,
          }),
          bucket,
          '',
        ).next(),
      'ECONNREFUSED',
      /cannot be reached.*S3_ENDPOINT/,
    ],
  ])('explains %s', async (_what, act, code, message) => {
    const err = await act().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe(code);
    expect((err as Error).message).toMatch(message);
  });

  it('parses S3 URIs and says what is wrong with a bad one', () => {
    expect(parseS3Uri('s3://cards/2026/11/')).toEqual({ bucket: 'cards', prefix: '2026/11/' });
    expect(parseS3Uri('s3://cards')).toEqual({ bucket: 'cards', prefix: '' });
    expect(() => parseS3Uri('cards/2026')).toThrow(
      'not an S3 URI: `cards/2026`; write it as s3://bucket/prefix',
    );
    expect(() => parseS3Uri('s3://Cards_X/')).toThrow(/bad bucket name `Cards_X`/);
    expect(() => parseS3Uri('s3:///prefix')).toThrow(/bad bucket name ``/);
  });
});
