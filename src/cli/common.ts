import { loadDotEnv, parseConfig } from '../config.js';
import type { ResultsStore } from '../results/store.js';
import type { QueueServices, Services } from '../services.js';
import { UsageError } from './usageError.js';

/**
 * Opens the results store, Redis and the queue from the environment, runs `fn`, closes them
 * whatever happens. They load here, when a command needs them, not when the program starts:
 * `--help` and `config` never pay for them.
 */
export async function withQueueServices<T>(fn: (s: QueueServices) => Promise<T>): Promise<T> {
  loadDotEnv();
  const config = parseConfig();
  const { openQueueServices } = await import('../services.js');
  return closing(await openQueueServices(config), fn);
}

/** {@link withQueueServices}, with the object store too. */
export async function withServices<T>(fn: (s: Services) => Promise<T>): Promise<T> {
  loadDotEnv();
  const config = parseConfig();
  const { openServices } = await import('../services.js');
  return closing(await openServices(config), fn);
}

async function closing<S extends QueueServices, T>(services: S, fn: (s: S) => Promise<T>): Promise<T> {
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

/**
 * Records the command being run in the audit log: its arguments as typed (the store masks any
 * secret in them) and what it did, in counts.
 */
export function auditCommand(
  store: ResultsStore,
  command: string,
  counts: Record<string, number>,
): Promise<void> {
  // argv: node, the program, the command, then its arguments.
  return store.audit({ command, args: process.argv.slice(3), counts });
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

/**
 * Opens the results store alone (no Redis, no object store), runs `fn`, closes it. `migrate`:
 * apply pending migrations, which on PostgreSQL is the schema owner's job (`macao-ocr migrate`).
 */
export async function withStore<T>(
  fn: (store: ResultsStore) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  loadDotEnv();
  const config = parseConfig();
  const { ResultsStore } = await import('../results/store.js');
  const store = await ResultsStore.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    ...(opts.migrate ? { migrate: true } : {}),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
