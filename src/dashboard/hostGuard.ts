import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { RequestHandler } from 'express';

/**
 * The names the dashboard answers to. A DNS rebinding attack points a name the attacker owns at
 * 127.0.0.1, so the victim's browser talks to the dashboard under the attacker's name: refusing
 * every `Host` (and every cross-site `Origin` on a write) that is not one of ours stops it.
 */

/** Loopback names a local browser may use. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Addresses that mean every interface: the machine's own addresses stand for them. */
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

/** Text of the refusal: what to do about it, never the refused name (it is the caller's input). */
const MISDIRECTED =
  'Misdirected Request: this dashboard does not answer to that host name. ' +
  'Start it with --allowed-host NAME to add the name you reach it by.\n';
const NOT_A_HOST = 'is not a host name or IP address, with an optional :port (no scheme, path or wildcard)';
const CROSS_SITE = 'Forbidden: a change from another site is refused.\n';

/**
 * Why `name` cannot be an `--allowed-host` value, or undefined when it can. A name is a host
 * name or IP address, with an optional `:port`; no scheme, path, user or wildcard.
 */
export function allowedHostError(name: string): string | undefined {
  const value = name.trim().toLowerCase();
  if (!value) return 'is empty';
  if (/[/@*\s]/.test(value)) return NOT_A_HOST;
  const { host, port } = splitHostPort(value);
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535))
    return 'has a port that is not a number from 0 to 65535';
  if (isIP(bare(host)) !== 0) return undefined;
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(host)
    ? undefined
    : NOT_A_HOST;
}

/** Matches a request's `Host` (or an `Origin`'s host) against the names the dashboard answers to. */
export type HostMatcher = (hostHeader: string | undefined) => boolean;

/**
 * The names the dashboard answers to once it listens on `port`: the listening address, the
 * machine's addresses when that is a wildcard, the loopback names, all with that port; and each
 * of `allowedHosts`, with any port unless it names one.
 */
export function hostMatcher(listenHost: string, port: number, allowedHosts: readonly string[]): HostMatcher {
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  const listen = bracket(listenHost.toLowerCase());
  const own = WILDCARD_ADDRESSES.has(listen) ? [listen, ...interfaceAddresses()] : [listen];
  for (const name of [...own, ...LOOPBACK_NAMES]) exact.add(`${name}:${port}`);
  for (const raw of allowedHosts) {
    const { host, port: p } = splitHostPort(raw.trim().toLowerCase());
    const name = bracket(host.replace(/\.$/, ''));
    if (p === undefined) anyPort.add(name);
    else exact.add(`${name}:${Number(p)}`);
  }
  return (hostHeader) => {
    if (!hostHeader) return false;
    const { host, port: p } = splitHostPort(hostHeader.trim().toLowerCase());
    const name = bracket(host.replace(/\.$/, ''));
    // A browser leaves out the port its scheme implies: a name behind a proxy on 80 or 443.
    if (anyPort.has(name)) return true;
    return p !== undefined && exact.has(`${name}:${Number(p)}`);
  };
}

/**
 * Refuses, with 421 and a short text, a request whose `Host` is not one of `matches`, and with 403
 * a change (any method but GET, HEAD, OPTIONS) sent from a page of another origin: a browser sends
 * a site's stored Basic credentials with such a request too.
 */
export function hostGuard(matches: HostMatcher): RequestHandler {
  return (req, res, next) => {
    if (!matches(req.headers.host)) {
      res.status(421).type('text/plain').send(MISDIRECTED);
      return;
    }
    if (!SAFE_METHODS.has(req.method) && !sameSiteOrigin(req.headers.origin, matches)) {
      res.status(403).type('text/plain').send(CROSS_SITE);
      return;
    }
    next();
  };
}

/** Methods that read only: every other one asks the board to change something. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** No `Origin` (not a browser, or a same-origin GET) passes; otherwise its host must be ours. */
function sameSiteOrigin(origin: string | undefined, matches: HostMatcher): boolean {
  if (origin === undefined) return true;
  try {
    const u = new URL(origin);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return matches(`${u.hostname}:${port}`) || matches(u.hostname);
  } catch {
    // `Origin: null` (a sandboxed frame, a file) and anything unparsable are another site.
    return false;
  }
}

/** The machine's interface addresses, as a `Host` names them. */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => bracket(i.address.toLowerCase().replace(/%.*$/, '')));
}

/** `host[:port]`, `[v6][:port]` or a bare IPv6 address, split. */
function splitHostPort(value: string): { host: string; port: string | undefined } {
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return { host: value, port: undefined };
    const rest = value.slice(end + 1);
    return { host: value.slice(0, end + 1), port: rest.startsWith(':') ? rest.slice(1) : undefined };
  }
  if (isIP(value) === 6) return { host: value, port: undefined };
  const colon = value.lastIndexOf(':');
  return colon < 0
    ? { host: value, port: undefined }
    : { host: value.slice(0, colon), port: value.slice(colon + 1) };
}

/** An IPv6 address in brackets, as in a URL or a `Host` header; anything else as it is. */
function bracket(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
