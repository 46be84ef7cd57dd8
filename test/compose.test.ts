import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseEnv } from 'node:util';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.js';

/**
 * docker-compose.yml, compose.sandbox.env, the Dockerfile and .dockerignore cannot run here (no
 * Docker engine): they are parsed, interpolated the way Compose does, and checked against the
 * program they deploy.
 */

/** The AWS SDK's credential chain and region variables: read by the SDK, not by src/config.ts. */
const AWS_SDK_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
];

const RUNTIME_IMAGE = 'macao-ocr:local';
const SANDBOX_IMAGE = 'macao-ocr-sandbox:local';

/** Started by a plain `docker compose up` (and `run`, behind its own profile). */
const PRODUCTION_SERVICES = ['redis', 'postgres', 'migrate', 'worker', 'dashboard', 'run'];
/** The `sandbox` profile: stand-ins for the cloud. */
const SANDBOX_SERVICES = ['minio', 'minio-init', 'emulator', 'samples'];
/** Our services that read and pay for cards. */
const WORKERS = ['worker', 'run'];

/** What production must set, and nothing else: Compose refuses to start without them. */
const REQUIRED = [
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'TENCENTCLOUD_SECRET_ID',
  'TENCENTCLOUD_SECRET_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'MACAO_OCR_DASHBOARD_USER',
  'MACAO_OCR_DASHBOARD_PASSWORD',
];

/**
 * Third-party images this file may use (their commands and variables are theirs), and the shape
 * of a release tag for each: one release, not a series that moves with every release.
 */
const THIRD_PARTY_IMAGES: [RegExp, RegExp][] = [
  [/^redis:7\./, /^\d+\.\d+\.\d+(-|$)/],
  // PostgreSQL numbers its releases major.minor: 15.10 is one release, 15 the series.
  [/^postgres:15\./, /^\d+\.\d+(-|$)/],
  [/^minio\/minio:/, /^RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/],
  [/^minio\/mc:/, /^RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/],
];

/** Variable names that hold a password or a key. */
const SECRET_NAME = /PASSWORD|SECRET|ACCESS_KEY|TOKEN|AUTH/;

type Env = Record<string, string>;

interface Service {
  image?: string;
  build?: string | { context?: string; target?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  ports?: string[];
  volumes?: string[];
}

const composeText = readFileSync('docker-compose.yml', 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const ours = Object.keys(services).filter((name) =>
  [RUNTIME_IMAGE, SANDBOX_IMAGE].includes(services[name]!.image ?? ''),
);

const SANDBOX_ENV = parseEnv(readFileSync('compose.sandbox.env', 'utf8')) as Env;
/** A production `.env`: the required variables and nothing else. */
const PRODUCTION_ENV: Env = Object.fromEntries(
  REQUIRED.map((v) => [v, `production-${v.toLowerCase().replaceAll('_', '-')}`]),
);

// --- Compose's variable interpolation ---

/**
 * Compose's interpolation of one string: `$$` (a literal `$`), `$VAR`, `${VAR}`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`,
 * `${VAR+alt}`. A missing required variable throws Compose's message.
 */
function interpolateString(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '$') {
      out += text[i++];
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      let depth = 1;
      let j = i + 2;
      while (j < text.length) {
        if (text.startsWith('$$', j)) j += 2;
        else if (text.startsWith('${', j)) {
          depth++;
          j += 2;
        } else if (text[j] === '}' && --depth === 0) break;
        else j++;
      }
      if (depth !== 0) throw new Error(`Invalid template: "${text}"`);
      out += substitute(text.slice(i + 2, j), env, text);
      i = j + 1;
    } else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
      if (name === undefined) throw new Error(`Invalid template: "${text}"`);
      out += env[name] ?? '';
      i += 1 + name.length;
    }
  }
  return out;
}

function substitute(body: string, env: Env, text: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(body);
  if (!m) throw new Error(`Invalid template: "${text}"`);
  const [, name, colon, op, arg = ''] = m as unknown as [string, string, string?, string?, string?];
  const value = env[name];
  const missing = value === undefined || (colon === ':' && value === '');
  switch (op) {
    case undefined:
      return value ?? '';
    case '-':
      return missing ? interpolateString(arg, env) : value!;
    case '+':
      return missing ? '' : interpolateString(arg, env);
    default:
      if (missing) throw new Error(`required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`);
      return value!;
  }
}

/** Interpolates every string in a parsed tree, as Compose does for the whole file. */
function interpolate<T>(value: T, env: Env, path: string): T {
  if (typeof value === 'string') {
    try {
      return interpolateString(value, env) as T;
    } catch (e) {
      throw new Error(`error while interpolating ${path}: ${(e as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, `${path}.${k}`)]),
    ) as T;
  return value;
}

/** The services as Compose sees them with this environment (every service, any profile). */
function resolved(env: Env): Record<string, Service> {
  return interpolate(services, env, 'services');
}

function pick(names: string[]): Record<string, Service> {
  return Object.fromEntries(names.map((n) => [n, services[n]!]));
}

/** Every string in a tree, with its path. */
function strings(value: unknown, path: string): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

/** `${VAR...}` references in a string (not `$${...}`, which is a literal for the container's shell). */
function references(text: string): { name: string; op: string }[] {
  return [...text.matchAll(/(\$*)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?/g)]
    .filter((m) => m[1]!.length % 2 === 0)
    .map((m) => ({ name: m[2]!, op: m[3] ?? '' }));
}

function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(s: Service): string[] {
  const d = s.depends_on ?? [];
  return Array.isArray(d) ? d : Object.keys(d);
}

function condition(s: Service, dep: string): string | undefined {
  return Array.isArray(s.depends_on) ? undefined : s.depends_on?.[dep]?.condition;
}

function command(s: Service): string[] {
  const c = s.command ?? [];
  return Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean);
}

/** The value of `flag` in a command line, or undefined. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

/** What a container's `/bin/sh -c` runs: the script of an entrypoint ["/bin/sh", "-c"] service. */
function shellScript(s: Service): string {
  const argv = [
    ...(Array.isArray(s.entrypoint) ? s.entrypoint : [s.entrypoint ?? '']),
    ...command(s).slice(0, 1),
  ];
  expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  expect(command(s)).toHaveLength(1);
  return argv[2]!;
}

/** Runs a container's shell script here, with fake programs first on the PATH. */
function runScript(
  script: string,
  fakes: Record<string, string>,
  env: Env,
): { status: number | null; stdout: string; stderr: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'compose-test-'));
  for (const [name, body] of Object.entries(fakes))
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const r = spawnSync('/bin/sh', ['-c', script.replaceAll('/tmp/', `${dir}/`)], {
    env: { PATH: `${dir}:${process.env.PATH}`, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, dir };
}

describe('docker-compose.yml: services, profiles and images', () => {
  it('production runs without a profile (run: its own); the sandbox profile holds exactly minio, minio-init, emulator, samples', () => {
    expect(Object.keys(services).sort()).toEqual([...PRODUCTION_SERVICES, ...SANDBOX_SERVICES].sort());
    for (const name of ['redis', 'postgres', 'migrate', 'worker', 'dashboard'])
      expect(services[name]!.profiles, `${name} starts with a plain \`up\``).toBeUndefined();
    expect(services.run!.profiles).toEqual(['run']);
    const sandbox = Object.keys(services).filter((n) => services[n]!.profiles?.includes('sandbox'));
    expect(sandbox.sort()).toEqual([...SANDBOX_SERVICES].sort());
    for (const name of SANDBOX_SERVICES) expect(services[name]!.profiles, name).toEqual(['sandbox']);
    expect(command(services.run!)).toEqual(['run', 's3://cards/incoming/']);
    expect(services.worker!.deploy?.replicas).toBeGreaterThanOrEqual(1);
  });

  it('depends_on names services that are enabled whenever the dependent is, and waits for them to be ready', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of dependsOn(s)) {
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
        // Compose refuses to start a service whose dependency's profile is not enabled.
        const depProfiles = services[dep]!.profiles;
        if (depProfiles !== undefined)
          expect(
            (s.profiles ?? []).length > 0 && s.profiles!.every((p) => depProfiles.includes(p)),
            `${name} depends on ${dep}, which only profile(s) ${depProfiles.join(', ')} enable`,
          ).toBe(true);
        if (condition(s, dep) === 'service_healthy')
          expect(services[dep]!.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    for (const name of PRODUCTION_SERVICES)
      expect(
        dependsOn(services[name]!).filter((d) => SANDBOX_SERVICES.includes(d)),
        `${name} depends on a sandbox service`,
      ).toEqual([]);
    for (const name of WORKERS) {
      for (const dep of ['redis', 'postgres'])
        expect(condition(services[name]!, dep)).toBe('service_healthy');
      // Only `migrate` runs DDL: the workers start once it is done.
      expect(condition(services[name]!, 'migrate')).toBe('service_completed_successfully');
    }
    expect(command(services.migrate!)).toEqual(['migrate']);
    expect(condition(services.migrate!, 'postgres')).toBe('service_healthy');
    expect(condition(services.dashboard!, 'redis')).toBe('service_healthy');
    expect(condition(services.samples!, 'minio-init')).toBe('service_completed_successfully');
    expect(condition(services['minio-init']!, 'minio')).toBe('service_healthy');
    // The bucket samples writes to and run reads is the one minio-init creates.
    expect(command(services['minio-init']!).join(' ')).toContain('mc mb --ignore-existing local/cards');
    expect(flag(command(services.samples!), '--out')).toBe('s3://cards/incoming/');
  });

  it('production runs the runtime image, the emulator and samples the sandbox image, both built here', () => {
    const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8')).stages.map((s) => s.name);
    for (const name of ['migrate', 'worker', 'dashboard', 'run']) {
      const s = services[name]!;
      expect(s.image, name).toBe(RUNTIME_IMAGE);
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build?.context, name).toBe('.');
      // No target: the Dockerfile's last stage, the runtime.
      expect(build?.target ?? stages.at(-1), name).toBe('runtime');
    }
    for (const name of ['emulator', 'samples']) {
      const s = services[name]!;
      expect(s.image, name).toBe(SANDBOX_IMAGE);
      expect(s.build, name).toEqual({ context: '.', target: 'sandbox' });
      expect(stages).toContain('sandbox');
    }
    for (const [name, s] of Object.entries(services)) {
      if (ours.includes(name)) continue;
      expect(
        THIRD_PARTY_IMAGES.some(([re]) => re.test(s.image ?? '')),
        `${name}: image ${s.image}`,
      ).toBe(true);
    }
  });

  it('every image is pinned to a version tag', () => {
    for (const [name, s] of Object.entries(services)) {
      const image = s.image ?? '';
      const tag = /:([^:/@]+)$/.exec(image)?.[1];
      expect(tag, `${name}: ${image} has no tag`).toBeDefined();
      expect(tag, `${name}: ${image}`).not.toBe('latest');
      // `7`, `15`, `7-alpine`: a floating tag that moves with every release.
      expect(tag, `${name}: ${image}`).not.toMatch(/^\d+(-|$)/);
      if (ours.includes(name)) expect(tag, name).toBe('local');
      else {
        const release = THIRD_PARTY_IMAGES.find(([re]) => re.test(image))?.[1];
        expect(release, `${name}: ${image}`).toBeDefined();
        // `7.4`, `7.4-bookworm`: a series, where one release is `7.4.2`.
        expect(tag, `${name}: ${image}`).toMatch(release!);
      }
    }
  });
});

describe('docker-compose.yml: required variables', () => {
  it('production starts with only its required variables set: no service, sandbox ones included, requires more', () => {
    // Compose interpolates every service, those of inactive profiles too.
    expect(() => resolved(PRODUCTION_ENV)).not.toThrow();
  });

  it.each(REQUIRED)('production refuses to start without %s, saying what to set', (name) => {
    const without = { ...PRODUCTION_ENV };
    delete without[name];
    const message = new RegExp(`required variable ${name} is missing a value: .*\\b${name}\\b`);
    expect(() => interpolate(pick(PRODUCTION_SERVICES), without, 'services')).toThrow(message);
    expect(() => interpolate(pick(PRODUCTION_SERVICES), { ...without, [name]: '' }, 'services')).toThrow(
      message,
    );
  });

  it('with an empty environment, production requires exactly these variables', () => {
    const missing = new Set<string>();
    for (const [path, value] of strings(pick(PRODUCTION_SERVICES), 'services')) {
      try {
        interpolateString(value, {});
      } catch (e) {
        const m = /^required variable (\w+) is missing a value: (.+)$/.exec((e as Error).message);
        expect(m, `${path}: ${(e as Error).message}`).not.toBeNull();
        expect(m![2], `${path}: the message says what to set`).toContain(m![1]);
        missing.add(m![1]!);
      }
    }
    expect([...missing].sort()).toEqual([...REQUIRED].sort());
  });

  it('no password or key has a default in production services', () => {
    for (const [path, value] of strings(pick(PRODUCTION_SERVICES), 'services'))
      for (const ref of references(value))
        if (SECRET_NAME.test(ref.name)) expect(ref.op, `${path}: \${${ref.name}${ref.op}...}`).toBe(':?');
    for (const name of PRODUCTION_SERVICES)
      for (const [key, value] of Object.entries(environment(services[name]!))) {
        // A secret is the required variable itself, never a literal.
        if (SECRET_NAME.test(key)) expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/);
        // A URL's password too.
        if (/^[a-z]+:\/\/[^/@]*@/.test(value))
          expect(value, `${name}.${key}`).toMatch(/^[a-z]+:\/\/[^:/@]*:\$\{[A-Z0-9_]+:\?[^}]+\}@/);
      }
  });
});

describe('docker-compose.yml: our services against the program', () => {
  it('CONFIG_VARIABLES lists exactly the variables src/config.ts reads', () => {
    const source = readFileSync('src/config.ts', 'utf8');
    const read = new Set([...source.matchAll(/\(\s*env,\s*'([A-Z0-9_]+)'/g)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(10);
    expect([...CONFIG_VARIABLES].sort()).toEqual([...read].sort());
  });

  it.each(ours)(
    '%s sets only variables our configuration or the AWS SDK reads, with valid values',
    (name) => {
      const allowed = new Set<string>([...CONFIG_VARIABLES, ...AWS_SDK_VARIABLES]);
      const unknown = Object.keys(environment(services[name]!)).filter((k) => !allowed.has(k));
      expect(unknown, `${name} sets variables nothing reads`).toEqual([]);
      for (const env of [SANDBOX_ENV, PRODUCTION_ENV]) {
        const values = environment(resolved(env)[name]!);
        expect(() => parseConfig(values)).not.toThrow();
      }
    },
  );

  it.each(ours)('%s runs a macao-ocr command that exists, with options it has', async (name) => {
    const { buildProgram } = await import('../src/cli/main.js');
    const s = services[name]!;
    expect(s.entrypoint, 'our image keeps its ENTRYPOINT (node bin/macao-ocr.js)').toBeUndefined();
    const [sub, ...args] = command(s);
    const program = buildProgram();
    expect(program.commands.map((c) => c.name())).toContain(sub);
    const cmd = program.commands.find((c) => c.name() === sub)!;
    const { unknown } = cmd.parseOptions(args);
    expect(unknown, `${name}: options \`${sub}\` does not have`).toEqual([]);
  });

  it('the workers get longer to stop than their grace period for in-flight cards', async () => {
    const { buildProgram } = await import('../src/cli/main.js');
    const work = buildProgram().commands.find((c) => c.name() === 'work')!;
    const args = command(services.worker!);
    const graceMs = Number(
      flag(args, '--grace-ms') ?? work.options.find((o) => o.long === '--grace-ms')!.defaultValue,
    );
    const m = /^(\d+)s$/.exec(services.worker!.stop_grace_period ?? '');
    expect(m, 'stop_grace_period in seconds').not.toBeNull();
    expect(Number(m![1]) * 1000).toBeGreaterThan(graceMs);
  });

  it('production workers default to Tencent Cloud and AWS S3', () => {
    const prod = resolved(PRODUCTION_ENV);
    for (const name of WORKERS) {
      const config = parseConfig(environment(prod[name]!));
      expect(config.ocr.endpoint).toBe('https://ocr.intl.tencentcloudapi.com');
      expect(config.s3.endpoint, 'an empty S3_ENDPOINT is AWS S3').toBeUndefined();
      expect(config.s3.forcePathStyle).toBe(false);
      expect(config.tencent.secretId).toBe(PRODUCTION_ENV.TENCENTCLOUD_SECRET_ID);
    }
  });
});

describe('docker-compose.yml with compose.sandbox.env', () => {
  // Resolved in each test: a variable compose.sandbox.env lacks fails the tests, not their collection.
  const sandbox = (): Record<string, Service> => resolved(SANDBOX_ENV);

  it('compose.sandbox.env sets the required variables, and only variables docker-compose.yml uses', () => {
    const used = new Set(references(composeText).map((r) => r.name));
    for (const key of Object.keys(SANDBOX_ENV)) expect(used, `${key} is used nowhere`).toContain(key);
    for (const key of [...REQUIRED, 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'EMULATOR_SECRET_ID'])
      expect(SANDBOX_ENV[key], key).toBeTruthy();
  });

  it('the workers and the dashboard use this Redis with its password', () => {
    const password = environment(sandbox().redis!).REDISCLI_AUTH;
    expect(password).toBe(SANDBOX_ENV.REDIS_PASSWORD);
    for (const name of [...WORKERS, 'dashboard']) {
      const u = new URL(environment(sandbox()[name]!).REDIS_URL!);
      expect([u.hostname, u.port], name).toEqual(['redis', '6379']);
      expect(decodeURIComponent(u.password), name).toBe(password);
    }
  });

  it('the workers use this PostgreSQL with its user, password and database', () => {
    const pg = environment(sandbox().postgres!);
    for (const name of WORKERS) {
      const u = new URL(environment(sandbox()[name]!).DATABASE_URL!);
      expect(u.hostname, name).toBe('postgres');
      expect(decodeURIComponent(u.username)).toBe(pg.POSTGRES_USER);
      expect(decodeURIComponent(u.password)).toBe(pg.POSTGRES_PASSWORD);
      expect(u.pathname).toBe(`/${pg.POSTGRES_DB}`);
    }
  });

  it("the workers and samples use the sandbox's MinIO with its root pair", () => {
    const minio = environment(sandbox().minio!);
    expect(minio.MINIO_ROOT_USER).toBeTruthy();
    expect(minio.MINIO_ROOT_PASSWORD?.length, 'MinIO wants 8 characters or more').toBeGreaterThanOrEqual(8);
    for (const name of [...WORKERS, 'samples']) {
      const env = environment(sandbox()[name]!);
      const config = parseConfig(env);
      expect(new URL(config.s3.endpoint!).host, name).toBe('minio:9000');
      expect(config.s3.forcePathStyle, name).toBe(true);
      expect([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY], name).toEqual([
        minio.MINIO_ROOT_USER,
        minio.MINIO_ROOT_PASSWORD,
      ]);
    }
  });

  it("the workers call the emulator with the emulator's key pair, within its rate", () => {
    const emulator = sandbox().emulator!;
    const [sub, ...args] = command(emulator);
    expect(sub).toBe('emulator');
    expect(flag(args, '--host')).toBe('0.0.0.0');
    const emulatorEnv = environment(emulator);
    expect(emulatorEnv.TENCENTCLOUD_SECRET_ID).toBeTruthy();
    expect(emulatorEnv.TENCENTCLOUD_SECRET_KEY).toBeTruthy();
    for (const name of WORKERS) {
      const config = parseConfig(environment(sandbox()[name]!));
      expect(config.ocr.endpoint, name).toBe(`http://emulator:${flag(args, '--port')}`);
      expect(config.tencent.secretId, name).toBe(emulatorEnv.TENCENTCLOUD_SECRET_ID);
      expect(config.tencent.secretKey, name).toBe(emulatorEnv.TENCENTCLOUD_SECRET_KEY);
      expect(config.ocr.qps, name).toBeLessThanOrEqual(Number(flag(args, '--qps')));
    }
  });
});

describe('docker-compose.yml: secrets stay where they belong', () => {
  it('no sandbox service receives the Tencent Cloud key', () => {
    for (const name of SANDBOX_SERVICES) {
      const refs = strings(services[name], name).flatMap(([, v]) => references(v));
      expect(
        refs.filter((r) => r.name.startsWith('TENCENTCLOUD_')),
        name,
      ).toEqual([]);
      const values = strings(resolved(PRODUCTION_ENV)[name], name).map(([, v]) => v);
      for (const v of values) expect(v, name).not.toContain(PRODUCTION_ENV.TENCENTCLOUD_SECRET_KEY);
    }
  });

  it('Redis requires its password, kept off every command line, and its healthcheck authenticates', () => {
    const raw = services.redis!;
    expect(environment(raw).REDISCLI_AUTH).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    expect(raw.volumes).toContain('redis-data:/data');
    const redis = resolved(SANDBOX_ENV).redis!;
    const password = SANDBOX_ENV.REDIS_PASSWORD!;
    const script = shellScript(redis);
    expect(script, 'the password is not on the command line').not.toContain(password);
    expect(script).not.toContain('--requirepass');

    // The start script, run here: a config file only its owner reads, then the image's entrypoint.
    const run = runScript(
      script,
      { 'docker-entrypoint.sh': 'printf "%s\\n" "$@"', chown: 'exit 0' },
      { REDISCLI_AUTH: password },
    );
    try {
      expect(run.status, run.stderr).toBe(0);
      const conf = join(run.dir, 'redis.conf');
      expect(run.stdout.trim().split('\n')).toEqual(['redis-server', conf, '--appendonly', 'yes']);
      expect(readFileSync(conf, 'utf8')).toBe(`requirepass "${password}"\n`);
      expect(statSync(conf).mode & 0o077, 'only the owner reads the config').toBe(0);
    } finally {
      rmSync(run.dir, { recursive: true, force: true });
    }

    const test = redis.healthcheck!.test as string[];
    const check = test.slice(1).join(' ');
    expect(check).toContain('redis-cli');
    // redis-cli reads REDISCLI_AUTH; `-a` would show the password to `ps`.
    expect(check).not.toMatch(/(^|\s)(-a|--pass|--user|--askpass)(\s|$)/);
    expect(check).not.toContain(password);
    // NOAUTH (a wrong password) or LOADING is an answer too: only PONG is healthy.
    expect(check).toContain('PONG');
  });

  it('MinIO refuses to start without its root pair, and starts the server with it', () => {
    const fakes = { minio: 'printf "%s\\n" "$@"' };
    const minio = resolved(SANDBOX_ENV).minio!;
    const script = shellScript(minio);
    for (const missing of ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']) {
      const run = runScript(script, fakes, { ...environment(minio), [missing]: '' });
      rmSync(run.dir, { recursive: true, force: true });
      expect(run.status, `without ${missing}`).not.toBe(0);
      expect(run.stderr).toContain(missing);
      expect(run.stdout, 'the server did not start').toBe('');
    }
    const run = runScript(script, fakes, environment(minio));
    rmSync(run.dir, { recursive: true, force: true });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(['server', '/data', '--console-address', ':9001']);
  });
});

describe('docker-compose.yml: healthchecks and ports', () => {
  it("healthchecks are lists of strings, and the emulator's `node -e` check is valid JavaScript", () => {
    for (const [name, s] of Object.entries(services)) {
      const test = s.healthcheck?.test;
      if (test === undefined) continue;
      expect(Array.isArray(test), name).toBe(true);
      for (const part of test as unknown[])
        expect(typeof part, `${name}: ${JSON.stringify(part)}`).toBe('string');
      expect(['CMD', 'CMD-SHELL'], name).toContain((test as string[])[0]);
    }
    const test = services.emulator!.healthcheck!.test as string[];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(() => new Script(test[3]!)).not.toThrow();
    expect(test[3]).toContain(`:${flag(command(services.emulator!), '--port')}/`);
  });

  it('publishes ports on loopback only', () => {
    for (const [name, s] of Object.entries(services))
      for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
  });
});

// --- The Dockerfile ---

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Stages of a Dockerfile: comments dropped, continuations joined, global ARGs expanded in FROM. */
function parseDockerfile(text: string): { stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'ARG' && stages.length === 0) {
      const [k = '', ...v] = rest.split('=');
      args[k] = v.join('=');
    } else if (upper === 'FROM') {
      const [, image = '', as] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      const base = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      stages.push({ name: as ?? String(stages.length), base, instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: upper, args: rest });
  }
  return { stages };
}

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const { stages } = parseDockerfile(dockerfile);
  const stage = (name: string): Stage | undefined => stages.find((s) => s.name === name);
  /** A stage and the stages it is built FROM. */
  const lineage = (name: string): Stage[] => {
    const s = stage(name);
    return s ? [s, ...lineage(s.base)] : [];
  };
  const runs = (name: string): string[] =>
    lineage(name).flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
  const last = (s: Stage, op: string): string | undefined =>
    s.instructions.filter((i) => i.op === op).at(-1)?.args;
  const copySources = stages.flatMap((s) =>
    s.instructions
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from'))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      ),
  );

  it('builds every stage on Node 24 LTS, pinned to a version', () => {
    const bases = stages.filter((s) => !stage(s.base)).map((s) => s.base);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
  });

  it('installs no system packages', () => {
    expect(dockerfile).not.toMatch(/\bapt(-get)?\b|\bapk\b/);
  });

  it('its last stage, the default target, is the pruned runtime: no sandbox, no dev dependencies, production mode, unprivileged', () => {
    const runtime = stages.at(-1)!;
    expect(runtime.name).toBe('runtime');
    expect(stage(runtime.base), 'the runtime starts from the node image, not from the build').toBeUndefined();
    const copies = runtime.instructions.filter((i) => i.op === 'COPY');
    expect(
      copies.filter((c) => !c.args.includes('--from')),
      'everything comes from the build',
    ).toEqual([]);
    const from = (path: string): string => {
      const c = copies.find((i) => i.args.split(/\s+/).includes(path));
      expect(c, `the runtime copies ${path}`).toBeDefined();
      return /--from=(\S+)/.exec(c!.args)![1]!;
    };
    expect(runs(from('/app/node_modules')).join('\n')).toMatch(/npm prune --omit=dev\b/);
    expect(runs(from('/app/dist')).join('\n')).toMatch(/rm -rf dist\/sandbox\b/);
    for (const path of ['/app/package.json', '/app/bin', '/app/data'])
      expect(runs(from(path)).join('\n'), path).toMatch(/npm ci\b/);
    // src/sandbox compiles to dist/sandbox (tsconfig.build.json's rootDir and outDir).
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(existsSync('src/sandbox')).toBe(true);
    expect(join(build.compilerOptions.outDir, relative(build.compilerOptions.rootDir, 'src/sandbox'))).toBe(
      'dist/sandbox',
    );
    expect(runtime.instructions).toContainEqual({ op: 'ENV', args: 'NODE_ENV=production' });
    expect(last(runtime, 'USER')).toBe('node');
    expect(last(runtime, 'ENTRYPOINT')).toBe('["node", "bin/macao-ocr.js"]');
    expect(runs('runtime').join('\n')).toMatch(
      /mkdir -p \/app\/\.macao-ocr && chown node:node \/app\/\.macao-ocr/,
    );
  });

  it('its sandbox stage is the full install, unprivileged', () => {
    const sandbox = stage('sandbox');
    expect(sandbox).toBeDefined();
    expect(runs('sandbox').join('\n')).toMatch(/npm ci\b/);
    expect(runs('sandbox').join('\n')).not.toMatch(/npm prune/);
    expect(last(sandbox!, 'USER')).toBe('node');
    expect(last(sandbox!, 'ENTRYPOINT')).toBe('["node", "bin/macao-ocr.js"]');
    expect(runs('sandbox').join('\n')).toMatch(
      /mkdir -p \/app\/\.macao-ocr && chown node:node \/app\/\.macao-ocr/,
    );
  });

  it('copies files that exist, and everything the build needs', () => {
    for (const src of copySources) expect(existsSync(src), `COPY ${src}`).toBe(true);
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      files: string[];
      scripts: { build: string };
    };
    // The scripts `npm run build` runs (`npm ci` builds through `prepare`).
    const buildScripts = [...pkg.scripts.build.matchAll(/\bnode (\S+\.m?js)\b/g)].map((m) => m[1]!);
    expect(buildScripts.length).toBeGreaterThan(0);
    for (const need of [
      ...buildScripts,
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      ...build.include,
      ...pkg.files.filter((f) => ['bin', 'data'].includes(f)),
    ])
      expect(copySources, need).toContain(need);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\/|^\*\*\//, '').replace(/\/$/, ''));

  it('keeps secrets, local data and build output out of the build context', () => {
    for (const p of ['.env', '.env.*', '.macao-ocr', 'node_modules', 'dist', '.git', '.cache'])
      expect(patterns).toContain(p);
  });

  it('keeps in what the Dockerfile copies', () => {
    const copied = [...readFileSync('Dockerfile', 'utf8').matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(
      (m) => m[1]!.split(/\s+/),
    );
    for (const src of copied) expect(patterns, src).not.toContain(src);
  });
});
