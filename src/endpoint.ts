import { isIP } from 'node:net';
import { maskSecrets } from './maskSecrets.js';

/** Splits an endpoint URL into the SDK's protocol and host[:port] (the SDK wants them apart). */
export function parseEndpoint(endpoint: string): { protocol: 'http://' | 'https://'; host: string } {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  const shown = maskSecrets(endpoint);
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`OCR endpoint must be a URL like https://ocr.intl.tencentcloudapi.com, got \`${shown}\``);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`OCR endpoint must use http or https, got \`${shown}\``);
  }
  if (url.pathname !== '/' || url.search) {
    throw new Error(`OCR endpoint must have no path or query (API 3.0 posts to /), got \`${shown}\``);
  }
  return { protocol: url.protocol === 'http:' ? 'http://' : 'https://', host: url.host };
}

/**
 * Whether `hostname` (as `URL.hostname` spells it: IPv6 in brackets) names this machine:
 * `localhost`, 127.0.0.0/8 or ::1. Traffic to it never crosses a network.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
