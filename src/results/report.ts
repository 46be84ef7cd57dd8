import { ACCOUNT_CONDITIONS } from '../card/fields.js';
import { ruleFor } from '../ocr/errorActions.js';
import type { CardRecord } from './exportCards.js';
import type { ResultsStore } from './store.js';
import type { RunSummary } from './types.js';

/** Everything the summary of a run shows, gathered in a few queries. */
export interface RunReport {
  summary: RunSummary;
  skipReasons: { reason: string; count: number }[];
  errorCodes: { code: string; outcome: string; count: number }[];
  apiCallCodes: { code: string; count: number }[];
  warnings: { code: number; name: string; count: number }[];
  checks: { code: string; count: number }[];
}

/** Gathers the {@link RunReport} of a run; undefined when there is no such run. */
export async function loadRunReport(store: ResultsStore, runId: string): Promise<RunReport | undefined> {
  const summary = await store.runSummary(runId);
  if (!summary) return undefined;
  const [skipReasons, errorCodes, apiCallCodes, warnings, checks] = await Promise.all([
    store.skipReasonCounts(runId),
    store.errorCodeCounts(runId),
    store.apiCallCodeCounts(runId),
    store.warningCounts(runId),
    store.checkCounts(runId),
  ]);
  return { summary, skipReasons, errorCodes, apiCallCodes, warnings, checks };
}

const pad = (s: string | number, n: number): string => String(s).padEnd(n);

/**
 * The summary lines a person reads first: where every card ended, why cards failed or were
 * rejected, what the API warned about, what our checks flagged, and what it cost. No card data.
 */
export function formatRunReport(r: RunReport): string {
  const s = r.summary;
  const c = s.counts;
  const total = c.recognized + c.rejected + c.failed + c.skipped + c.pending;
  const lines: string[] = [];
  const elapsed = s.finishedAt
    ? ` in ${((s.finishedAt.getTime() - s.startedAt.getTime()) / 1000).toFixed(1)} s`
    : '';
  lines.push(`run ${s.id}  ${s.state}${s.pausedReason ? ` (paused: ${s.pausedReason})` : ''}${elapsed}`);
  lines.push(`  sources   ${s.sources.join(' ')}`);
  lines.push(
    `  found     ${s.found} objects: ${s.enqueued} cards to send (${s.paired} with a back image)${manifestLines(s.skipped)}`,
  );
  lines.push('');
  lines.push(`  listed    ${total} cards and files, each with its outcome in this run`);
  for (const [k, v] of [
    ['recognized', c.recognized],
    ['rejected', c.rejected],
    ['failed', c.failed],
    ['skipped', c.skipped],
    ['pending', c.pending],
  ] as const) {
    if (v > 0 || k !== 'pending') lines.push(`    ${pad(k, 11)} ${v}`);
  }
  if (r.skipReasons.length > 0) {
    lines.push('  skipped by reason');
    for (const { reason, count } of r.skipReasons) lines.push(`    ${pad(reason, 22)} ${count}`);
  }
  if (r.errorCodes.length > 0) {
    lines.push('  rejected and failed by error code');
    for (const e of r.errorCodes.slice(0, 10))
      lines.push(`    ${pad(e.code, 48)} ${pad(e.outcome, 9)} ${e.count}`);
  }
  if (r.warnings.length > 0) {
    lines.push('  API warnings on recognized cards');
    for (const w of r.warnings) lines.push(`    ${pad(`${w.code} ${w.name}`, 36)} ${w.count}`);
  }
  if (r.checks.length > 0) {
    lines.push('  our checks flagged');
    for (const ch of r.checks.slice(0, 10)) lines.push(`    ${pad(ch.code, 36)} ${ch.count}`);
  }
  for (const code of s.accountConditions)
    lines.push(`  account   ${code}: ${ACCOUNT_CONDITIONS[code] ?? ''}`);
  const perCall = s.apiCalls > 0 ? (c.recognized + c.rejected + c.failed) / s.apiCalls : 0;
  // Errors whose billing the provider does not state are counted as billed: say how many.
  const unstated = r.apiCallCodes
    .filter((a) => a.code !== 'OK' && ruleFor(a.code).billing === 'unknown')
    .reduce((n, a) => n + a.count, 0);
  lines.push(
    `  API calls ${s.apiCalls} (${s.billedCalls} counted as billed${unstated > 0 ? `, ${unstated} of them errors whose billing the provider does not state` : ''}), ${perCall.toFixed(2)} finished cards per call` +
      (r.apiCallCodes.length > 1
        ? `; by answer: ${r.apiCallCodes.map((a) => `${a.code} ${a.count}`).join(', ')}`
        : ''),
  );
  return lines.join('\n');
}

/** Manifest lines that named no card (a bad line, a missing object): counted, with no row. */
function manifestLines(skipped: Record<string, number>): string {
  const bad = skipped['bad-manifest-line'] ?? 0;
  const missing = skipped['not-found'] ?? 0;
  const parts = [
    ...(bad > 0 ? [`${bad} bad manifest lines`] : []),
    ...(missing > 0 ? [`${missing} manifest objects not found`] : []),
  ];
  return parts.length > 0 ? `; ${parts.join(', ')}` : '';
}

/** The fields of an exported card that its line in `report`'s table shows. */
export type CardLineFields = Pick<
  CardRecord,
  'frontKey' | 'outcome' | 'reason' | 'errorCode' | 'warnings' | 'checks'
>;

/**
 * One card's line in `report`'s table: its outcome, a `!` when a reviewer should look (an API
 * warning or a finding of our checks), its front key, then why: the skip reason, the error code,
 * the API's warnings by name and code, our checks' findings by code.
 */
export function formatCardLine(r: CardLineFields): string {
  const flagged = r.warnings.length > 0 || r.checks.length > 0;
  const notes = [
    r.outcome === 'skipped' ? r.reason : null,
    r.errorCode,
    ...r.warnings.map((w) => `${w.name} (${w.code})`),
    ...r.checks.map((c) => c.code),
  ]
    .filter(Boolean)
    .join(', ');
  return `  ${r.outcome.padEnd(11)} ${flagged ? '!' : ' '} ${r.frontKey}${notes ? `  ${notes}` : ''}`;
}
