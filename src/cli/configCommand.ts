import type { Command } from 'commander';
import { maskedConfig, parseConfig } from '../config.js';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (environment and .env), secrets masked')
    .action(() => {
      console.log(JSON.stringify(maskedConfig(parseConfig()), null, 2));
    });
}
