import { loadDotEnv, parseConfig } from '../config.js';
import type { ResultsStore } from '../results/store.js';
import { openServices, type Services } from '../services.js';
import { UsageError } from './usageError.js';

/** Opens the services from the environment, runs `fn`, closes them whatever happens. */
export async function withServices<T>(fn: (s: Services) => Promise<T>): Promise<T> {
  loadDotEnv();
  const services = await openServices(parseConfig());
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

/** Collects a repeatable or comma-separated option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}
