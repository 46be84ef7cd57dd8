import type { Command } from 'commander';
import { loadDotEnv, parseConfig } from '../config.js';
import { maskSecrets } from '../maskSecrets.js';
import { withStore } from './common.js';
import { UsageError } from './usageError.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the results store’s schema migrations (on PostgreSQL, as the schema’s owner)')
    .action(async () => {
      await withStore(
        async (store) => {
          const { rows } = await store.pool.query<{ v: number }>(
            'SELECT max(version)::int AS v FROM schema_migrations',
          );
          console.log(`the results store's schema is at version ${rows[0]?.v ?? 0}`);
          await store.audit({ command: 'migrate', args: [], counts: { version: rows[0]?.v ?? 0 } });
        },
        { migrate: true },
      );
    });
}

export function registerRolesCommand(program: Command): void {
  program
    .command('roles')
    .description('print idempotent SQL for the group roles macao_worker, macao_reader and macao_reviewer')
    .requiredOption('--sql', 'print the SQL (run it as the schema’s owner, after `macao-ocr migrate`)')
    .option('--schema <NAME>', 'the schema the roles are granted on', 'public')
    .action(async (o: { schema: string }) => {
      const { rolesSql } = await import('../results/roles.js');
      try {
        process.stdout.write(rolesSql(o.schema));
      } catch (e) {
        throw new UsageError(`--schema: ${(e as Error).message}`);
      }
    });
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('who exported, retried, resumed, reprocessed, purged or erased what, and when')
    .option('--since <DATE>', 'entries at or after this date (2026-11-01 or an ISO time)')
    .option('--json', 'one JSON object per line')
    .action(async (o: { since?: string; json?: boolean }) => {
      const since = o.since === undefined ? undefined : new Date(o.since);
      if (since && Number.isNaN(since.getTime()))
        throw new UsageError(`--since must be a date like 2026-11-01, got \`${o.since}\``);
      const { auditEntries } = await import('../results/audit.js');
      await withStore(async (store) => {
        for (const e of await auditEntries(store.pool, since)) {
          if (o.json) console.log(JSON.stringify(e));
          else {
            const counts = Object.entries(e.counts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ');
            console.log(
              `${e.at.toISOString()}  ${e.osUser}@${e.host} pid ${e.pid}  ${e.command} ${e.args.join(' ')}${counts ? `  (${counts})` : ''}`,
            );
          }
        }
      });
    });
}

export function registerStoreCommand(program: Command): void {
  const store = program.command('store').description('the results store itself');
  store
    .command('copy')
    .description(
      'copy the results store (the embedded one by default) into an empty PostgreSQL database: runs, cards, the call ledger and the audit log, so nothing is paid for twice after the move',
    )
    .requiredOption('--to <URL>', 'postgres://user:password@host:5432/db, empty (migrated here if new)')
    .action(async (o: { to: string }) => {
      if (!/^postgres(ql)?:\/\//.test(o.to))
        throw new UsageError(`--to must be a postgres:// URL, got \`${maskSecrets(o.to)}\``);
      loadDotEnv();
      const config = parseConfig();
      if (config.databaseUrl === o.to)
        throw new UsageError('--to is the store in use (DATABASE_URL): nothing to copy');
      const [{ ResultsStore }, { copyStore, StoreNotEmptyError }] = await Promise.all([
        import('../results/store.js'),
        import('../results/copyStore.js'),
      ]);
      const from = await ResultsStore.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const to = await ResultsStore.open({ databaseUrl: o.to, dataDir: config.dataDir, migrate: true });
        try {
          const counts = await copyStore(from.pool, to.pool, {
            onTable: (table, n) => {
              if (process.stderr.isTTY) process.stderr.write(`  ${table}: ${n} rows\n`);
            },
          }).catch((e: unknown) => {
            throw e instanceof StoreNotEmptyError ? new UsageError(`--to: ${e.message}`) : e;
          });
          // Card data moved to another database: who did it is kept there. The URL is masked.
          await to.audit({ command: 'store copy', args: ['--to', maskSecrets(o.to)], counts });
          const where = config.databaseUrl
            ? maskSecrets(config.databaseUrl)
            : `the embedded store in ${config.dataDir}`;
          console.log(
            `copied ${where} to ${maskSecrets(o.to)}: ${counts.runs} runs, ${counts.cards} cards, ${counts.run_cards} run history rows, ${counts.api_calls} API calls, ${counts.audit_log} audit entries.\n` +
              `Use it from now on with DATABASE_URL=${maskSecrets(o.to)} (a card recognized before is not paid for again).`,
          );
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
    });
}
