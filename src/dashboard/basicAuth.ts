import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

/** The dashboard's user name and password (`MACAO_OCR_DASHBOARD_USER`, `MACAO_OCR_DASHBOARD_PASSWORD`). */
export interface DashboardAuth {
  /** The user name; must not contain `:` (HTTP Basic ends the user name at the first one). */
  user: string;
  /** The password; any characters, sent by browsers in UTF-8. */
  password: string;
}

/** The realm browsers show in their sign-in prompt. */
export const AUTH_REALM = 'macao-ocr';

const UNAUTHORIZED = 'Unauthorized: this dashboard needs its user name and password.\n';

/**
 * HTTP Basic authentication for every request (pages, static files, the API). Only SHA-256 digests
 * of the credentials are kept, and a request's are compared with `timingSafeEqual` on digests of
 * equal length, so neither how long nor how right a guess is shows in the time to answer.
 */
export function basicAuth(auth: DashboardAuth): RequestHandler {
  if (auth.user === '' || auth.password === '')
    throw new Error('the dashboard user name and password must not be empty');
  if (auth.user.includes(':')) throw new Error('the dashboard user name must not contain `:`');
  const user = digest(auth.user);
  const password = digest(auth.password);
  return (req, res, next) => {
    const given = parseBasic(req.headers.authorization);
    // Both digests are compared whatever the first says, so a right user name takes no longer.
    const userOk = timingSafeEqual(digest(given?.user ?? ''), user);
    const passwordOk = timingSafeEqual(digest(given?.password ?? ''), password);
    if (given && userOk && passwordOk) {
      // The checked login, for what records who acted (the audit of actions).
      res.locals.user = auth.user;
      next();
      return;
    }
    res
      .status(401)
      .set('www-authenticate', `Basic realm="${AUTH_REALM}"`)
      .set('cache-control', 'no-store')
      .type('text/plain')
      .send(UNAUTHORIZED);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The user name and password of an `Authorization: Basic ...` header, or undefined. */
function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
