import { loadDotEnv, parseConfig } from '../config.js';
import type { ResultsStore } from '../results/store.js';
import type { Services } from '../services.js';
import { UsageError } from './usageError.js';

/**
 * Opens the services from the environment, runs `fn`, closes them whatever happens. The services
 * (Redis, BullMQ, the S3 client, the results store) load here, when a command needs them, not
 * when the program starts: `--help` and `config` never pay for them.
 */
export async function withServices<T>(fn: (s: Services) => Promise<T>): Promise<T> {
  loadDotEnv();
  const config = parseConfig();
  const { openServices } = await import('../services.js');
  const services = await openServices(config);
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** The run named, or the newest one; a clear error when there is none. */
export async function resolveRun(store: ResultsStore, run: string | undefined): Promise<string> {
  if (run) {
    if (!(await store.getRun(run))) throw new UsageError(`no run \`${run}\` in the results store`);
    return run;
  }
  const latest = await store.latestRun();
  if (!latest)
    throw new UsageError(
      'the results store has no runs yet: start one with `macao-ocr enqueue` or `macao-ocr run`',
    );
  return latest.id;
}
