import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadDotEnv } from '../config.js';
import {
  registerAuditCommand,
  registerMigrateCommand,
  registerRolesCommand,
  registerStoreCommand,
} from './adminCommands.js';
import { registerConfigCommand } from './configCommand.js';
import { registerDashboardCommand } from './dashboardCommand.js';
import { registerDemoCommand } from './demoCommand.js';
import { registerEmulatorCommand } from './emulatorCommand.js';
import { registerEnqueueCommand } from './enqueueCommand.js';
import { registerEraseCommand, registerPurgeCommand } from './personalDataCommands.js';
import { registerReportCommand } from './reportCommand.js';
import { registerRetryCommands } from './retryCommand.js';
import { registerRunCommand } from './runCommand.js';
import { registerRunsCommand } from './runsCommand.js';
import { registerSamplesCommand } from './samplesCommand.js';
import { registerScheduleCommand } from './scheduleCommand.js';
import { registerStatusCommand } from './statusCommand.js';
import { UsageError } from './usageError.js';
import { registerWorkCommand } from './workCommand.js';

/** The version of the installed package (package.json sits two folders up from src/cli and dist/cli). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * `macao-ocr`: parsing only. Each command calls a library function, which it loads only when it
 * runs. Exit codes: 0 done; 1 runtime error; 2 usage or configuration error; 3 (`run`) finished
 * with failed cards.
 */
export function buildProgram(): Command {
  const program = new Command('macao-ocr')
    .description('Read Macao resident identity cards in bulk from object storage with Tencent Cloud OCR')
    .version(packageVersion())
    // The program's own options (--version) only before a command: `erase --version VID` is the
    // command's option, not a request for the program's version.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerEnqueueCommand(program);
  registerWorkCommand(program);
  registerRunCommand(program);
  registerStatusCommand(program);
  registerRunsCommand(program);
  registerScheduleCommand(program);
  registerReportCommand(program);
  registerRetryCommands(program);
  registerDashboardCommand(program);
  registerEmulatorCommand(program);
  registerSamplesCommand(program);
  registerPurgeCommand(program);
  registerEraseCommand(program);
  registerAuditCommand(program);
  registerMigrateCommand(program);
  registerRolesCommand(program);
  registerStoreCommand(program);
  registerConfigCommand(program);
  registerDemoCommand(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Storage errors that exit 2, as configuration errors do. */
const CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  'NoCredentials',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
]);

export async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed the usage error or the help already.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0
        ? 0
        : 2;
    }
    if (e instanceof UsageError || (e instanceof Error && e.name === 'ManifestError')) {
      console.error(`macao-ocr: ${e.message}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error(`macao-ocr: configuration error: ${e.message}`);
      return 2;
    }
    // Storage credentials missing or refused: the configuration, not the run, is at fault.
    if (
      e instanceof Error &&
      e.name === 'StorageError' &&
      CREDENTIAL_CODES.has(String((e as { code?: unknown }).code))
    ) {
      console.error(`macao-ocr: ${e.message}`);
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    console.error(`macao-ocr: ${err.message}`);
    return 1;
  }
}
