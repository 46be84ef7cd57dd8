import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workerOptionsFrom } from '../src/cli/workCommand.js';
import { parseConfig } from '../src/config.js';
import { outcomes, type Pipeline, startPipeline } from './support/pipeline.js';

/**
 * The presign endpoint as the provider sees it: forwards every request to s3rver unchanged (the
 * Host header too, which the URL's signature covers) and keeps each request's lifetime.
 */
async function startPresignRecorder(s3Endpoint: string): Promise<{
  url: string;
  expires: string[];
  close: () => Promise<void>;
}> {
  const target = new URL(s3Endpoint);
  const expires: string[] = [];
  const server: Server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    expires.push(q.get('X-Amz-Expires') ?? 'none');
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    expires,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('presigned URL lifetime (S3_PRESIGN_TTL_S)', () => {
  let p: Pipeline;
  let recorder: Awaited<ReturnType<typeof startPresignRecorder>>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    recorder = await startPresignRecorder(p.s3server.endpoint);
    // The presign client of `work` signs with the AWS SDK's credential chain: s3rver's pair.
    process.env.AWS_ACCESS_KEY_ID = p.s3server.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = p.s3server.credentials.secretAccessKey;
  });
  afterAll(async () => {
    process.env = savedEnv;
    await recorder?.close();
    await p?.close();
  });

  /** One card through a worker with `work`'s options from this environment; the lifetimes the provider saw. */
  async function oneCard(prefix: string, env: Record<string, string>): Promise<string[]> {
    await p.reset();
    recorder.expires.length = 0;
    await p.upload(prefix, { count: 1, backRatio: 0, seed: 41 });
    const config = parseConfig({
      S3_PRESIGN_ENDPOINT: recorder.url,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      ...env,
    });
    const worker = await p.startWorker(await workerOptionsFrom(config, {}));
    try {
      const run = await p.enqueue(prefix);
      await p.drained();
      expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: 1 });
      // One call, answered: the provider downloaded the URL (no inline fallback after a failed download).
      expect(p.emulator.stats().byCode).toEqual({ OK: 1 });
    } finally {
      await worker.close(1000);
    }
    return [...recorder.expires];
  }

  it('is 60 s by default: the provider downloads the card through a URL valid that long', async () => {
    expect(await oneCard('default/', {})).toEqual(['60']);
  });

  it('follows S3_PRESIGN_TTL_S', async () => {
    expect(await oneCard('custom/', { S3_PRESIGN_TTL_S: '45' })).toEqual(['45']);
  });
});
