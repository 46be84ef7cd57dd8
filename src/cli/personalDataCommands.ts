import type { Command } from 'commander';
import type { PersonalDataCounts } from '../personalData/purge.js';
import type { ErasureTarget } from '../results/personalData.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { auditCommand, withServices } from './common.js';
import { UsageError } from './usageError.js';

/** `30d` → 30. Days only: retention is a matter of days. */
export function parseDays(raw: string): number {
  const m = /^(\d{1,5})d$/.exec(raw.trim());
  if (!m) throw new UsageError(`--older-than must be a number of days like 30d, got \`${raw}\``);
  return Number(m[1]);
}

function countsLine(c: PersonalDataCounts, dryRun: boolean): string {
  const verb = dryRun ? 'would purge' : 'purged';
  return `${verb} ${c.cards} cards, ${c.portraits} portraits, ${c.scans} scans${c.kept ? `; ${c.kept} cards kept: the object store refused to delete one of their objects (run it again)` : ''}`;
}

export function registerPurgeCommand(program: Command): void {
  program
    .command('purge')
    .description(
      'delete the personal data of cards finished more than N days ago; each row stays as a tombstone',
    )
    .requiredOption(
      '--older-than <Nd>',
      'cards finished more than this many days ago, e.g. 30d (0d: every finished card)',
    )
    .option('--run <RUN>', 'only this run’s cards')
    .option('--dry-run', 'count what would be purged; change nothing')
    .option('--delete-scans', 'delete the source scans too')
    .action(async (o: { olderThan: string; run?: string; dryRun?: boolean; deleteScans?: boolean }) => {
      const olderThanDays = parseDays(o.olderThan);
      const { purgeCards } = await import('../personalData/purge.js');
      await withServices(async (s) => {
        const tty = process.stderr.isTTY;
        const counts = await purgeCards({
          store: s.store,
          s3: s.s3,
          olderThanDays,
          runId: o.run,
          dryRun: o.dryRun ?? false,
          deleteScans: o.deleteScans ?? false,
          ...(tty
            ? { onProgress: (c) => process.stderr.write(`\r  ${countsLine(c, o.dryRun ?? false)}\u001b[K`) }
            : {}),
        });
        if (tty) process.stderr.write('\n');
        console.log(countsLine(counts, o.dryRun ?? false));
        if (!o.dryRun) await auditCommand(s.store, 'purge', { ...counts });
      });
    });
}

function erasureTarget(o: { idNumber?: string; version?: string; key?: string }): ErasureTarget {
  const given = [o.idNumber, o.version, o.key].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --id-number, --version or --key');
  if (o.idNumber !== undefined) {
    if (!/^\d{7,8}$/.test(o.idNumber.replace(/\D/g, ''))) {
      throw new UsageError('--id-number must be a Macao ID number like 1234567(8) or 1/234567/8');
    }
    return { idNumber: o.idNumber };
  }
  if (o.version !== undefined) return { versionId: o.version };
  const { bucket, prefix } = parseS3Uri(o.key!);
  if (!prefix) throw new UsageError('--key must name an object: s3://bucket/key');
  return { bucket, key: prefix };
}

export function registerEraseCommand(program: Command): void {
  program
    .command('erase')
    .description(
      'erase one person’s data everywhere (every version of their cards); tombstones keep the scans from being paid for again',
    )
    .option('--id-number <ID>', 'the person’s ID number, e.g. 1234567(8)')
    .option('--version <VERSION_ID>', 'one card version')
    .option('--key <s3://bucket/key>', 'every version of one scan')
    .option('--delete-scans', 'delete the source scans too')
    .option('--dry-run', 'count what would be erased; change nothing')
    .action(
      async (o: {
        idNumber?: string;
        version?: string;
        key?: string;
        deleteScans?: boolean;
        dryRun?: boolean;
      }) => {
        const target = erasureTarget(o);
        const { eraseCards } = await import('../personalData/erase.js');
        await withServices(async (s) => {
          const c = await eraseCards({
            store: s.store,
            s3: s.s3,
            queue: s.queue,
            target,
            dryRun: o.dryRun ?? false,
            deleteScans: o.deleteScans ?? false,
          });
          const verb = o.dryRun ? 'would erase' : 'erased';
          console.log(
            `${c.found} card versions found; ${verb} ${c.cards}, ${c.portraits} portraits, ${c.scans} scans, ${c.jobs} queued jobs` +
              (c.kept
                ? `; ${c.kept} kept: the object store refused to delete one of their objects (run it again)`
                : ''),
          );
          if (!o.dryRun) await auditCommand(s.store, 'erase', { ...c });
        });
      },
    );
}
