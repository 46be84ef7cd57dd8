import { PRIORITIES, type Priority } from '../results/types.js';
import { UsageError } from './usageError.js';

/** Parses `--priority`: high, normal or low. */
export function priorityOption(raw: string): Priority {
  if (!(PRIORITIES as readonly string[]).includes(raw))
    throw new UsageError(`--priority must be ${PRIORITIES.join(', ')}, got \`${raw}\``);
  return raw as Priority;
}

/** Parses an integer option; the message names the option and the value. */
export function intOption(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${name} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` >= ${min}`}, got \`${raw}\``,
    );
  }
  return n;
}

/** Parses a number option. */
export function numberOption(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(`${name} must be a number >= ${min}, got \`${raw}\``);
  return n;
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
