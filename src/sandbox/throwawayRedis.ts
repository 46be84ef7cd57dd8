import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../net.js';
import { createRedis } from '../queue.js';

/** A throwaway `redis-server` from PATH on a free loopback port, keeping nothing on disk. */
export async function startThrowawayRedis(dir: string): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? 'the demo needs Redis: install redis-server (apt-get install -y redis-server) or set REDIS_URL'
            : `redis-server did not start: ${e.message}`,
        ),
      ),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      const r = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      // A refused connection while redis-server starts is expected: connect() rejects with it, and
      // without a listener ioredis would also print it as an unhandled error event.
      r.on('error', () => undefined);
      try {
        await r.connect();
        await r.ping();
        return;
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      } finally {
        r.disconnect();
      }
    }
    throw new Error('redis-server did not answer within 5 s');
  })();
  await Promise.race([ready, failed]);
  return { url, stop: () => child.kill('SIGTERM') };
}
