/**
 * The API emulator: a local, TC3-verifying stand-in for `RecognizeMacaoIDCardOCR` that recognizes
 * only the project's specimen cards. A test double, not OCR.
 */
export { type EmulatorHandle, startEmulator } from './emulatorServer.js';
export { ApiError, EMULATOR_ERROR_CODES, type EmulatorErrorCode, ERROR_MESSAGES } from './errors.js';
export {
  ACCOUNT_STATES,
  type AccountState,
  DEFAULT_REGIONS,
  EmulatorConfigError,
  type EmulatorCredential,
  type EmulatorOptions,
  FAULT_KINDS,
  type FaultKind,
  RUNTIME_OPTION_NAMES,
  type RuntimeOptions,
} from './options.js';
export { parseCredentials, parseFaults, parseLatency } from './parseFlags.js';
export type { EmulatorStats } from './stats.js';
export {
  canonicalRequest,
  deriveSigningKey,
  sign,
  signRequest,
  stringToSign,
} from './tc3.js';
export { type Tc3Request, type Tc3Result, type Tc3Secret, verifyTc3 } from './tc3Verify.js';
