/** Splits an endpoint URL into the SDK's protocol and host[:port] (the SDK wants them apart). */
export function parseEndpoint(endpoint: string): { protocol: 'http://' | 'https://'; host: string } {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(
      `OCR endpoint must be a URL like https://ocr.intl.tencentcloudapi.com, got \`${endpoint}\``,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`OCR endpoint must use http or https, got \`${endpoint}\``);
  }
  if (url.pathname !== '/' || url.search) {
    throw new Error(`OCR endpoint must have no path or query (API 3.0 posts to /), got \`${endpoint}\``);
  }
  return { protocol: url.protocol === 'http:' ? 'http://' : 'https://', host: url.host };
}
