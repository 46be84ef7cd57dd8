import { ApiError, toError } from './errors.js';

/** Limits of one download, from the emulator's options. */
export interface DownloadLimits {
  /** Whole download, body included, in milliseconds (the API page's 3 s). */
  timeoutMs: number;
  /** Largest body in bytes (the API page's 7 MB); the download is abandoned as soon as it passes this. */
  maxBytes: number;
  /** Aborts the download when the emulator closes. */
  signal?: AbortSignal;
}

/**
 * Downloads an image the way the service does for `ImageUrl`: over real HTTP, within a time
 * limit, counting bytes as they stream so an oversized body is refused without being held.
 * Network errors, non-2xx answers and timeouts are `FailedOperation.DownLoadError`; a body over
 * the cap is `LimitExceeded.TooLargeFileError`. The URL is never put in a message: presigned URLs
 * carry signatures.
 */
export async function fetchImage(url: string, limits: DownloadLimits): Promise<Buffer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  const onOuterAbort = () => controller.abort();
  limits.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (thrown) {
      // The cause's code (ECONNREFUSED, ENOTFOUND...) says enough; messages may quote the URL.
      const cause = (toError(thrown).cause as { code?: unknown } | undefined)?.code;
      throw new ApiError(
        'FailedOperation.DownLoadError',
        controller.signal.aborted
          ? 'Downloading the image timed out.'
          : `Failed to download the image${typeof cause === 'string' ? ` (${cause})` : ''}.`,
      );
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => undefined);
      throw new ApiError(
        'FailedOperation.DownLoadError',
        `Failed to download the image: HTTP ${response.status}.`,
      );
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new ApiError('LimitExceeded.TooLargeFileError', `The image exceeds ${limits.maxBytes} bytes.`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          if (total > limits.maxBytes) {
            await reader.cancel().catch(() => undefined);
            throw new ApiError(
              'LimitExceeded.TooLargeFileError',
              `The image exceeds ${limits.maxBytes} bytes.`,
            );
          }
          chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
      } catch (thrown) {
        if (thrown instanceof ApiError) throw thrown;
        throw new ApiError(
          'FailedOperation.DownLoadError',
          controller.signal.aborted
            ? 'Downloading the image timed out.'
            : 'The image download was interrupted.',
        );
      }
    }
    return Buffer.concat(chunks, total);
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', onOuterAbort);
  }
}
