import type { Redis } from 'ioredis';
import type { MacaoCardFields } from '../../src/card/fields.js';

/**
 * What must never appear in logs, Redis or any output: secrets, presigned-URL signatures and
 * card fields. One scanner for the demo test, the chaos runs and the leak checks.
 */
export interface LeakSources {
  /** Secret values (keys, tokens) that must not appear anywhere. */
  secrets?: readonly string[];
  /** The card fields of the specimens processed (their ground truth). */
  cards?: readonly MacaoCardFields[];
  /** Also report long Base64 runs (image data). */
  imageData?: boolean;
}

/** Base64 runs this long are image data (a portrait, a scan), never anything a log or a job needs. */
export const IMAGE_DATA = /[A-Za-z0-9+/]{200,}/;

/** Query parameters of a presigned S3 URL, or of a TC3 signature. */
export const URL_SIGNATURE = /X-Amz-Signature|X-Amz-Credential|Signature=/i;

/**
 * Card-field values of `cards` found in `text`. A full Chinese name is 2-3 characters; the Latin
 * strings are long enough not to match by chance; shorter values are not looked for.
 */
export function cardFieldLeaks(text: string, cards: readonly MacaoCardFields[]): string[] {
  return cards.flatMap((f) =>
    (
      [
        [f.ID, 4],
        [f.Birthday, 4],
        [`${f.CnLastName}${f.CnFirstName}`, 2],
        [`${f.EnLastName}, ${f.EnFirstName}`, 6],
        [f.EnFirstName, 6],
      ] as const
    )
      .filter(([v, min]) => v.trim().length >= min && text.includes(v))
      .map(([v]) => v),
  );
}

/** Every leak found in `text`, described (empty when clean). */
export function findLeaks(text: string, sources: LeakSources): string[] {
  const found: string[] = [];
  for (const s of sources.secrets ?? []) if (s && text.includes(s)) found.push(`secret ${s.slice(0, 4)}…`);
  const sig = URL_SIGNATURE.exec(text);
  if (sig) found.push(`URL signature: …${text.slice(Math.max(0, sig.index - 40), sig.index + 40)}…`);
  for (const v of cardFieldLeaks(text, sources.cards ?? [])) found.push(`card field ${JSON.stringify(v)}`);
  if (sources.imageData && IMAGE_DATA.test(text)) found.push('image data (a long Base64 run)');
  return found;
}

/**
 * Everything Redis holds for a queue (`PREFIX:NAME:*`: job hashes, lists, sets, the events
 * stream, our own keys), as one text to scan. The key names are included.
 */
export async function dumpQueueKeys(
  redis: Redis,
  prefix: string,
  queueName: string,
): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:${queueName}:*`, 'COUNT', '1000');
    cursor = next;
    for (const key of batch) {
      keys++;
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return { keys, text: parts.join('\n') };
}
