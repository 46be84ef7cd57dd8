/**
 * The provider's limits on one `RecognizeMacaoIDCardOCR` call, as its API page states them. The
 * worker keeps under them and the emulator enforces them: both read them here.
 */
export const API_LIMITS = {
  /** One image: the Base64 text of `ImageBase64`, or the bytes downloaded from `ImageUrl`. */
  maxImageBytes: 7 * 1024 * 1024,
  /** The whole request body (TC3-signed POST), both images and the JSON around them. */
  maxBodyBytes: 10 * 1024 * 1024,
  /** Time the provider allows itself to download an `ImageUrl`, whole body included. */
  downloadTimeoutMs: 3000,
} as const;
