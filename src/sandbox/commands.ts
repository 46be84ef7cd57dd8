/**
 * The sandbox's command entry points, loaded by `src/cli/sandbox.ts` when `demo`, `emulator` or
 * `samples` runs. Everything under `src/sandbox/` stands in for the outside world (the OCR API,
 * object storage, Redis) so that the tool can be tried and tested on one machine; no production
 * module imports it.
 */
export { demoCommand } from './demoCommand.js';
export { type EmulatorCommandOptions, emulatorCommand } from './emulatorCommand.js';
export { type SamplesCommandOptions, samplesCommand } from './samplesCommand.js';
