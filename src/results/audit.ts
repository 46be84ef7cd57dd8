import { hostname, userInfo } from 'node:os';
import type pg from 'pg';
import { maskSecrets } from '../maskSecrets.js';

/** One action on personal data or on the queue, as the audit log keeps it. */
export interface AuditEntry {
  /** The command, e.g. `report`, `erase`, `dashboard:retry`. */
  command: string;
  /** Its arguments, as given; secrets in URLs are masked before they are stored. */
  args: readonly string[];
  /** What it did, in counts: cards exported, erased, queued again. Never a value. */
  counts: Readonly<Record<string, number>>;
}

/** A stored entry: when, who (the OS user, host and process), and what. */
export interface AuditRow extends AuditEntry {
  at: Date;
  osUser: string;
  host: string;
  pid: number;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

/**
 * Appends one entry to the audit log (an append-only table). Arguments that could name a person
 * are kept as given: an erasure's `--id-number` is the exception, stored as its digits' count.
 */
export async function recordAudit(pool: pg.Pool, entry: AuditEntry): Promise<void> {
  const args = entry.args.map((a, i, all) =>
    all[i - 1] === '--id-number' ? `(${a.replace(/\D/g, '').length} digits)` : maskSecrets(a),
  );
  await pool.query(
    'INSERT INTO audit_log (os_user, host, pid, command, args, counts) VALUES ($1, $2, $3, $4, $5, $6)',
    [osUser(), hostname(), process.pid, entry.command, JSON.stringify(args), JSON.stringify(entry.counts)],
  );
}

/** The audit log since a time (default: all of it), oldest first. */
export async function auditEntries(pool: pg.Pool, since?: Date): Promise<AuditRow[]> {
  const { rows } = await pool.query<{
    at: Date;
    os_user: string;
    host: string;
    pid: number;
    command: string;
    args: string[];
    counts: Record<string, number>;
  }>(
    'SELECT at, os_user, host, pid, command, args, counts FROM audit_log WHERE $1::timestamptz IS NULL OR at >= $1 ORDER BY id',
    [since ?? null],
  );
  return rows.map((r) => ({
    at: r.at,
    osUser: r.os_user,
    host: r.host,
    pid: r.pid,
    command: r.command,
    args: r.args,
    counts: r.counts,
  }));
}
