import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The Lua script `./lua/NAME.lua`, as Redis runs it; read once, by the module that runs it. The
 * build copies these files next to the compiled modules (scripts/build.mjs). The comment block at
 * the top of each file documents its KEYS, ARGV and reply; it is left out of what Redis gets.
 */
export function luaScript(name: string): string {
  const text = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
  return text.replace(/^(?:--.*\n|[ \t]*\n)*/, '');
}

/** A Lua script of one key, run by its SHA-1. */
export interface RedisScript {
  run(redis: Redis, key: string, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * {@link luaScript} `name`, run with `EVALSHA`: the rate limiter's scripts run several times per
 * card, and only their 40-character digest travels. The whole text goes (`EVAL`, which also
 * caches it) only when Redis answers NOSCRIPT: the first use on a server, or after a restart or
 * `SCRIPT FLUSH`.
 */
export function redisScript(name: string): RedisScript {
  const text = luaScript(name);
  const sha = createHash('sha1').update(text).digest('hex');
  return {
    async run(redis, key, ...args) {
      try {
        return await redis.evalsha(sha, 1, key, ...args);
      } catch (e) {
        if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
        return redis.eval(text, 1, key, ...args);
      }
    },
  };
}
