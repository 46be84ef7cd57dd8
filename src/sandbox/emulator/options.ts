import { CARD_FIELD_NAMES } from '../../card/fields.js';
import type { Logger } from '../../log.js';
import { ERROR_ACTIONS } from '../../ocr/errorActions.js';
import { API_LIMITS } from '../../ocr/limits.js';

/**
 * Faults the emulator can inject, each at a rate: any error code the provider answers (every code
 * of the error table that is not our own: the action's, the common ones, the OCR SDK's), a
 * gateway 502, or a dropped connection.
 */
export const FAULT_KINDS: readonly string[] = [
  ...Object.entries(ERROR_ACTIONS)
    .filter(([, rule]) => rule.source !== 'client' && rule.source !== 'ours')
    .map(([code]) => code),
  'http502',
  'drop',
];

/** A provider error code of {@link FAULT_KINDS}, `http502` or `drop`. */
export type FaultKind = string;

/** Whether `kind` is one the emulator can inject. */
export function isFaultKind(kind: string): boolean {
  return FAULT_KINDS.includes(kind);
}

/** The state of an account (by SecretId): `ok`, or the error every call of that account gets. */
export const ACCOUNT_STATES = [
  'ok',
  'FailedOperation.UnOpenError',
  'ResourceUnavailable.InArrears',
  'ResourceUnavailable.ResourcePackageRunOut',
] as const;

export type AccountState = (typeof ACCOUNT_STATES)[number];

/**
 * Regions that Tencent Cloud's international OCR endpoint takes in `X-TC-Region`. An absent region
 * is fine: the API page calls it optional for this action.
 */
export const DEFAULT_REGIONS: readonly string[] = [
  'ap-bangkok',
  'ap-beijing',
  'ap-chengdu',
  'ap-chongqing',
  'ap-guangzhou',
  'ap-hongkong',
  'ap-jakarta',
  'ap-mumbai',
  'ap-nanjing',
  'ap-seoul',
  'ap-shanghai',
  'ap-singapore',
  'ap-tokyo',
  'eu-frankfurt',
  'na-ashburn',
  'na-siliconvalley',
  'na-toronto',
  'sa-saopaulo',
];

/** One credential pair the emulator accepts. */
export interface EmulatorCredential {
  /** `TENCENTCLOUD_SECRET_ID`. */
  secretId: string;
  /** `TENCENTCLOUD_SECRET_KEY`. */
  secretKey: string;
  /** Set for temporary credentials: then every call must carry exactly this in `X-TC-Token`, and no other call may carry one. */
  token?: string;
}

/** Options of `startEmulator`. Each may also be changed while running, except `host`, `port`, `seed` and `logger`. */
export interface EmulatorOptions {
  /** Interface to listen on; default `127.0.0.1` (the control endpoints are unauthenticated: keep it on loopback). */
  host?: string;
  /** TCP port; default `0`, a free port (read it from the handle). */
  port?: number;
  /** Accepted credentials; default none, so every call is `AuthFailure.SecretIdNotFound`. */
  credentials?: EmulatorCredential[];
  /** Requests per second allowed per SecretId (an integer), over a sliding 1-second window; default `0`, unlimited. */
  qps?: number;
  /** Delay added before every API answer, in milliseconds, uniform in `[min, max]`; default `[0, 0]`. */
  latencyMs?: readonly [number, number];
  /** Rate (0..1, summing to at most 1) at which each fault replaces a call's answer; default none. */
  faults?: Partial<Record<FaultKind, number>>;
  /** Account state by SecretId; default `ok` for every SecretId. */
  accounts?: Record<string, AccountState>;
  /** Accepted `X-TC-Region` values; default {@link DEFAULT_REGIONS}. An absent region is always accepted. */
  regions?: readonly string[];
  /** Time limit for downloading `ImageUrl`/`BackImageUrl`, whole body included, in milliseconds; default the API's ({@link API_LIMITS}). */
  downloadTimeoutMs?: number;
  /** Largest image, in bytes: the Base64 text's length, and the bytes of a download; default the API's 7 MB. */
  maxImageBytes?: number;
  /** Largest request body, in bytes; default the API's 10 MB. */
  maxBodyBytes?: number;
  /**
   * Fields left out of successful answers, as the provider's own example answer leaves out
   * `ResidentType`; default none.
   */
  omitFields?: readonly string[];
  /**
   * Whether the account has the card-warning service; default true. Without it every answer's
   * `WarnCardInfos` is `[-9109]`, as the provider answers such an account.
   */
  warningService?: boolean;
  /** Fields added to every successful answer, as the provider may add new ones; default none. */
  extraFields?: Readonly<Record<string, string>>;
  /** Seed of the fault and latency draws, so a run can be replayed; default `1`. */
  seed?: number;
  /** pino logger; default silent. Image data, URLs and card fields are never logged. */
  logger?: Logger;
}

/** The options that `configure` and `POST /_emulator/config` may change. */
export const RUNTIME_OPTION_NAMES = [
  'credentials',
  'qps',
  'latencyMs',
  'faults',
  'accounts',
  'regions',
  'downloadTimeoutMs',
  'maxImageBytes',
  'maxBodyBytes',
  'omitFields',
  'warningService',
  'extraFields',
] as const;

export type RuntimeOptions = Pick<EmulatorOptions, (typeof RUNTIME_OPTION_NAMES)[number]>;

/** Options after defaults, validated. */
export interface ResolvedOptions {
  host: string;
  port: number;
  credentials: EmulatorCredential[];
  qps: number;
  latencyMs: readonly [number, number];
  faults: Partial<Record<FaultKind, number>>;
  accounts: Record<string, AccountState>;
  regions: readonly string[];
  downloadTimeoutMs: number;
  maxImageBytes: number;
  maxBodyBytes: number;
  omitFields: readonly string[];
  warningService: boolean;
  extraFields: Readonly<Record<string, string>>;
  seed: number;
}

/** A configuration mistake; the message names the option, the rule and the value received. */
export class EmulatorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorConfigError';
  }
}

function show(value: unknown): string {
  try {
    return `\`${JSON.stringify(value) ?? String(value)}\``;
  } catch {
    return `\`${String(value)}\``;
  }
}

function fail(message: string): never {
  throw new EmulatorConfigError(message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkNumber(name: string, value: unknown, rule: string, ok: (n: number) => boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    fail(`\`${name}\` must be ${rule}, got ${show(value)}`);
  }
  return value;
}

function checkCredentials(value: unknown): EmulatorCredential[] {
  if (!Array.isArray(value)) fail(`\`credentials\` must be an array of {secretId, secretKey, token?}`);
  const seen = new Set<string>();
  return value.map((c: unknown, i) => {
    // Never echo a key or token in a message: these land in terminals and CI logs.
    if (!isPlainObject(c)) fail(`\`credentials[${i}]\` must be an object {secretId, secretKey, token?}`);
    const unknown = Object.keys(c).filter((k) => !['secretId', 'secretKey', 'token'].includes(k));
    if (unknown.length) fail(`\`credentials[${i}]\` has unknown field(s) ${show(unknown)}`);
    if (typeof c.secretId !== 'string' || !/^[^\s/,:;]+$/.test(c.secretId)) {
      fail(`\`credentials[${i}].secretId\` must be a non-empty string without spaces, '/', ',', ':' or ';'`);
    }
    if (typeof c.secretKey !== 'string' || c.secretKey === '') {
      fail(`\`credentials[${i}].secretKey\` must be a non-empty string`);
    }
    if (c.token !== undefined && (typeof c.token !== 'string' || c.token === '')) {
      fail(`\`credentials[${i}].token\` must be a non-empty string when given`);
    }
    if (seen.has(c.secretId)) fail(`\`credentials[${i}].secretId\` repeats an earlier entry`);
    seen.add(c.secretId);
    return { secretId: c.secretId, secretKey: c.secretKey, ...(c.token ? { token: c.token } : {}) };
  });
}

function checkFaults(value: unknown): Partial<Record<FaultKind, number>> {
  if (!isPlainObject(value)) fail(`\`faults\` must be an object {kind: rate}, got ${show(value)}`);
  const out: Partial<Record<FaultKind, number>> = {};
  let sum = 0;
  for (const [kind, rate] of Object.entries(value)) {
    if (!isFaultKind(kind)) {
      fail(
        `\`faults\` has unknown kind ${show(kind)}: give a provider error code (docs/api-errors.md), http502 or drop`,
      );
    }
    sum += checkNumber(`faults.${kind}`, rate, 'a rate between 0 and 1', (n) => n >= 0 && n <= 1);
    out[kind as FaultKind] = rate as number;
  }
  // One draw picks at most one fault per call, so the rates share the unit interval.
  if (sum > 1 + 1e-9) fail(`\`faults\` rates must sum to at most 1, got ${show(sum)}`);
  return out;
}

function checkAccounts(value: unknown): Record<string, AccountState> {
  if (!isPlainObject(value)) fail(`\`accounts\` must be an object {secretId: state}, got ${show(value)}`);
  const out: Record<string, AccountState> = {};
  for (const [id, state] of Object.entries(value)) {
    if (!(ACCOUNT_STATES as readonly unknown[]).includes(state)) {
      fail(`\`accounts.${id}\` must be one of ${ACCOUNT_STATES.join(', ')}, got ${show(state)}`);
    }
    out[id] = state as AccountState;
  }
  return out;
}

function checkLatency(value: unknown): readonly [number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !value.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) ||
    value[0] > value[1]
  ) {
    fail(`\`latencyMs\` must be [min, max] with 0 <= min <= max, got ${show(value)}`);
  }
  return [value[0], value[1]];
}

function checkRegions(value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string' && r !== '')) {
    fail(`\`regions\` must be an array of non-empty strings, got ${show(value)}`);
  }
  return [...value];
}

const positiveInt = (n: number) => Number.isInteger(n) && n > 0;

function checkOmitFields(value: unknown): readonly string[] {
  if (
    !Array.isArray(value) ||
    !value.every((f) => typeof f === 'string' && CARD_FIELD_NAMES.includes(f as never))
  ) {
    fail(
      `\`omitFields\` must be an array of card field names (${CARD_FIELD_NAMES.join(', ')}), got ${show(value)}`,
    );
  }
  return [...value];
}

/** Validates the runtime-changeable options present in `partial`, returning them normalized. */
export function checkRuntimeOptions(partial: Record<string, unknown>): Partial<ResolvedOptions> {
  const out: Partial<ResolvedOptions> = {};
  if (partial.credentials !== undefined) out.credentials = checkCredentials(partial.credentials);
  if (partial.qps !== undefined)
    out.qps = checkNumber('qps', partial.qps, 'an integer >= 0', (n) => Number.isInteger(n) && n >= 0);
  if (partial.latencyMs !== undefined) out.latencyMs = checkLatency(partial.latencyMs);
  if (partial.faults !== undefined) out.faults = checkFaults(partial.faults);
  if (partial.accounts !== undefined) out.accounts = checkAccounts(partial.accounts);
  if (partial.regions !== undefined) out.regions = checkRegions(partial.regions);
  if (partial.downloadTimeoutMs !== undefined) {
    out.downloadTimeoutMs = checkNumber(
      'downloadTimeoutMs',
      partial.downloadTimeoutMs,
      'a number > 0',
      (n) => n > 0,
    );
  }
  if (partial.maxImageBytes !== undefined) {
    out.maxImageBytes = checkNumber('maxImageBytes', partial.maxImageBytes, 'an integer > 0', positiveInt);
  }
  if (partial.maxBodyBytes !== undefined) {
    out.maxBodyBytes = checkNumber('maxBodyBytes', partial.maxBodyBytes, 'an integer > 0', positiveInt);
  }
  if (partial.omitFields !== undefined) out.omitFields = checkOmitFields(partial.omitFields);
  if (partial.warningService !== undefined) {
    if (typeof partial.warningService !== 'boolean')
      fail(`\`warningService\` must be true or false, got ${show(partial.warningService)}`);
    out.warningService = partial.warningService;
  }
  if (partial.extraFields !== undefined) {
    const v = partial.extraFields;
    if (!isPlainObject(v) || !Object.values(v).every((x) => typeof x === 'string'))
      fail(`\`extraFields\` must be an object of strings, got ${show(v)}`);
    out.extraFields = { ...(v as Record<string, string>) };
  }
  return out;
}

/**
 * Parses a `POST /_emulator/config` body (or a `configure` argument): an object of runtime options
 * only. Each option given replaces the current value whole (`faults: {}` clears every fault).
 */
export function parseRuntimeConfig(body: unknown): Partial<ResolvedOptions> {
  if (!isPlainObject(body)) fail(`the emulator config must be a JSON object, got ${show(body)}`);
  const unknown = Object.keys(body).filter((k) => !(RUNTIME_OPTION_NAMES as readonly string[]).includes(k));
  if (unknown.length) {
    fail(`unknown or fixed option(s) ${show(unknown)}; changeable: ${RUNTIME_OPTION_NAMES.join(', ')}`);
  }
  return checkRuntimeOptions(body);
}

/**
 * The defaults of the runtime options that set how the emulator answers: no rate limit, no
 * latency, no fault, every account in order, every field, the warning service on. (Credentials,
 * regions and the API's limits are runtime options too, with defaults of their own.)
 */
export const RUNTIME_DEFAULTS: Readonly<
  Pick<
    ResolvedOptions,
    'qps' | 'latencyMs' | 'faults' | 'accounts' | 'omitFields' | 'warningService' | 'extraFields'
  >
> = {
  qps: 0,
  latencyMs: [0, 0],
  faults: {},
  accounts: {},
  omitFields: [],
  warningService: true,
  extraFields: {},
};

/** Defaults first, then every option checked in one place. */
export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const { host, port, seed, logger: _logger, ...runtime } = options;
  const resolved: ResolvedOptions = {
    host: '127.0.0.1',
    port: 0,
    credentials: [],
    ...RUNTIME_DEFAULTS,
    regions: DEFAULT_REGIONS,
    ...API_LIMITS,
    seed: 1,
    ...checkRuntimeOptions(runtime),
  };
  if (host !== undefined) {
    if (typeof host !== 'string' || host === '')
      fail(`\`host\` must be a non-empty string, got ${show(host)}`);
    resolved.host = host;
  }
  if (port !== undefined) {
    resolved.port = checkNumber(
      'port',
      port,
      'an integer from 0 to 65535',
      (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
    );
  }
  if (seed !== undefined) resolved.seed = checkNumber('seed', seed, 'an integer', Number.isInteger);
  return resolved;
}
