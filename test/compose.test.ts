import { existsSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../src/cli/main.js';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.js';

/**
 * docker-compose.yml and the Dockerfile cannot run here (no Docker engine): they are parsed and
 * checked against the program they deploy instead.
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

const OUR_IMAGE = 'macao-ocr:local';

/** Third-party images this file may use, and so whose commands and variables are theirs. */
const THIRD_PARTY_IMAGES = [/^redis:7/, /^postgres:15/, /^minio\/minio(:|$)/, /^minio\/mc(:|$)/];

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number };
  ports?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => s.image === OUR_IMAGE || s.build !== undefined);

function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose interpolation with the file's own defaults: `${VAR:-default}` → `default`. */
function withDefaults(v: string): string {
  return v.replace(/\$\{[A-Z0-9_]+:?-([^}]*)\}/g, '$1');
}

function dependsOn(s: Service): string[] {
  const d = s.depends_on ?? [];
  return Array.isArray(d) ? d : Object.keys(d);
}

function command(s: Service): string[] {
  const c = s.command ?? [];
  return Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean);
}

describe('docker-compose.yml', () => {
  it('has the services of the deployment', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['redis', 'postgres', 'minio', 'minio-init', 'emulator', 'worker', 'run']),
    );
    expect(services.run?.profiles).toEqual(['run']);
    expect(command(services.run!)).toEqual(['run', 's3://cards/incoming/']);
    expect(services.worker?.deploy?.replicas).toBeGreaterThanOrEqual(1);
    expect(services.postgres?.healthcheck).toBeDefined();
  });

  it('CONFIG_VARIABLES lists exactly the variables src/config.ts reads', () => {
    const source = readFileSync('src/config.ts', 'utf8');
    const read = new Set([...source.matchAll(/\(\s*env,\s*'([A-Z0-9_]+)'/g)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(10);
    expect([...CONFIG_VARIABLES].sort()).toEqual([...read].sort());
  });

  it.each(ours.map(([name]) => name))(
    '%s sets only variables our configuration or the AWS SDK reads, with valid values',
    (name) => {
      const env = environment(services[name]!);
      const allowed = new Set<string>([...CONFIG_VARIABLES, ...AWS_SDK_VARIABLES]);
      const unknown = Object.keys(env).filter((k) => !allowed.has(k));
      expect(unknown, `${name} sets variables nothing reads`).toEqual([]);
      // The defaults this file falls back on parse as a configuration.
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, withDefaults(v)]));
      expect(() => parseConfig(resolved)).not.toThrow();
    },
  );

  it.each(ours.map(([name]) => name))(
    '%s runs a macao-ocr command that exists, with options it has',
    (name) => {
      const s = services[name]!;
      expect(s.entrypoint, 'our image keeps its ENTRYPOINT (node bin/macao-ocr.js)').toBeUndefined();
      const [sub, ...args] = command(s);
      const program = buildProgram();
      const names = program.commands.map((c) => c.name());
      expect(names).toContain(sub);
      const cmd = program.commands.find((c) => c.name() === sub)!;
      const { unknown } = cmd.parseOptions(args);
      expect(unknown, `${name}: options \`${sub}\` does not have`).toEqual([]);
    },
  );

  it('every other service runs a known third-party image', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ours.some(([n]) => n === name)) continue;
      expect(
        THIRD_PARTY_IMAGES.some((re) => re.test(s.image ?? '')),
        `${name}: image ${s.image}`,
      ).toBe(true);
    }
  });

  it('depends_on names services that exist, and waits for them to be ready', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of dependsOn(s)) {
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
        const condition = Array.isArray(s.depends_on) ? undefined : s.depends_on?.[dep]?.condition;
        if (condition === 'service_healthy')
          expect(services[dep]?.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    for (const name of ['worker', 'run'])
      expect(dependsOn(services[name]!)).toEqual(
        expect.arrayContaining(['redis', 'postgres', 'minio-init', 'emulator']),
      );
  });

  it('the workers reach the emulator by default, with its credentials, and OCR_ENDPOINT can point elsewhere', () => {
    const emulator = services.emulator!;
    const [sub, ...args] = command(emulator);
    expect(sub).toBe('emulator');
    const port = args[args.indexOf('--port') + 1];
    expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0');
    const emulatorEnv = environment(emulator);
    for (const name of ['worker', 'run']) {
      const env = environment(services[name]!);
      expect(env.OCR_ENDPOINT).toMatch(/^\$\{OCR_ENDPOINT:-[^}]+\}$/);
      expect(withDefaults(env.OCR_ENDPOINT!)).toBe(`http://emulator:${port}`);
      expect(env.TENCENTCLOUD_SECRET_ID).toBe(emulatorEnv.TENCENTCLOUD_SECRET_ID);
      expect(env.TENCENTCLOUD_SECRET_KEY).toBe(emulatorEnv.TENCENTCLOUD_SECRET_KEY);
    }
  });

  it('the workers use this PostgreSQL, this MinIO and this Redis, with their credentials', () => {
    const pg = environment(services.postgres!);
    const minio = environment(services.minio!);
    for (const [name, s] of ours) {
      const env = environment(s);
      if (env.DATABASE_URL) {
        const u = new URL(withDefaults(env.DATABASE_URL));
        expect(u.hostname, name).toBe('postgres');
        expect(decodeURIComponent(u.username)).toBe(pg.POSTGRES_USER);
        expect(decodeURIComponent(u.password)).toBe(withDefaults(pg.POSTGRES_PASSWORD!));
        expect(u.pathname).toBe(`/${pg.POSTGRES_DB}`);
      }
      if (env.S3_ENDPOINT) {
        expect(new URL(env.S3_ENDPOINT).hostname, name).toBe('minio');
        expect(env.S3_FORCE_PATH_STYLE).toBe('true');
        expect(env.AWS_ACCESS_KEY_ID).toBe(minio.MINIO_ROOT_USER);
        expect(env.AWS_SECRET_ACCESS_KEY).toBe(minio.MINIO_ROOT_PASSWORD);
      }
      if (env.REDIS_URL) expect(new URL(env.REDIS_URL).hostname, name).toBe('redis');
    }
    // The bucket the run reads is the one minio-init creates.
    expect(command(services['minio-init']!).join(' ')).toContain('mc mb --ignore-existing local/cards');
  });

  it("healthchecks are lists of strings, and the emulator's `node -e` check is valid JavaScript", () => {
    for (const [name, s] of Object.entries(services)) {
      const test = s.healthcheck?.test;
      if (test === undefined) continue;
      expect(Array.isArray(test), name).toBe(true);
      for (const part of test as unknown[])
        expect(typeof part, `${name}: ${JSON.stringify(part)}`).toBe('string');
    }
    const test = services.emulator!.healthcheck!.test as string[];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(() => new Script(test[3]!)).not.toThrow();
    expect(test[3]).toContain(
      `:${command(services.emulator!)[command(services.emulator!).indexOf('--port') + 1]}/`,
    );
  });

  it('publishes ports on loopback only', () => {
    for (const [name, s] of Object.entries(services))
      for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');

  it('builds on node:20-bookworm-slim with a CJK font and runs the macao-ocr command', () => {
    const from = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(from.length).toBeGreaterThan(0);
    for (const f of from) expect(f).toBe('node:20-bookworm-slim');
    expect(dockerfile).toMatch(/apt-get install[^\n]*fonts-wqy-microhei/);
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/macao-ocr\.js"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('copies files that exist, and everything the build needs', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/),
    );
    for (const src of sources) expect(existsSync(src), `COPY ${src}`).toBe(true);
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    for (const need of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      ...build.include,
      ...pkg.files.filter((f) => ['bin', 'data'].includes(f)),
    ])
      expect(sources, need).toContain(need);
  });
});
