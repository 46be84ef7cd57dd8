// docs/api-errors.md from the error table (src/ocr/errorTable.ts): every code, what it means, our
// action, whether the provider bills it, and what the operator does. test/apiErrorsDoc.test.ts
// keeps the file equal to what this prints.
//   npm run docs:errors            # rewrites docs/api-errors.md
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CodeSource,
  ERROR_ACTIONS,
  type ErrorRule,
  FAMILY_RULES,
  UNKNOWN_CODE_RULE,
} from '../src/ocr/errorActions.js';

const INTRO = `# API error codes and what the workers do with them

Generated from the error table (\`src/ocr/errorTable.ts\`) by \`npm run docs:errors\`; a test keeps the two equal. Every code the OCR call can end with has exactly one **action**:

| action | meaning | what the worker does (\`src/worker/decide.ts\`, \`src/worker/settleFailure.ts\`) |
|---|---|---|
| \`retry\` | the same request may succeed later | quick retries inside the attempt (up to 3, the first after 100-200 ms, doubling to at most 5 s, each taking its turn in the shared rate), then BullMQ tries the card again after a backoff (between half and the whole of 10 s, 20 s, 40 s, ... capped at 10 minutes; 8 attempts, 10-20 minutes in all). When the attempts are spent the card is \`failed\`, and \`macao-ocr retry\` can queue it again |
| \`throttle\` | the account's request rate is exceeded | the shared rate is cut for every worker and the card goes back to the queue **without spending an attempt**; the rate climbs back while calls succeed |
| \`reject\` | this image can never succeed | the card is \`rejected\` and never retried (unless \`enqueue --reprocess rejected\`) |
| \`fatal\` | nothing will succeed until a person acts: our request's shape, the account, the endpoint | every worker stops within a few calls, the code and its hint are recorded (\`status\` shows them), every card waits and none is rejected or failed. Fix the cause, then \`macao-ocr resume\` |

- **A code that answers every card alike is \`fatal\`**, never \`reject\`: a reject would reject a whole bucket one paid call at a time, and the next run would skip those cards as \`already-rejected\`.
- **Image fallbacks** come before the action, once per card: *inline* sends the card again with the image in the request (the provider could not download our URL; the process sends inline for the next 60 s); *downscale* sends it again inline and downscaled (too large). A card still too large once downscaled is \`rejected\`.
- **Bounded retries** (\`max tries\`): not retried quickly; each try spends an attempt, and after that many the card is \`failed\`.
- **Billing**: the provider bills successful recognitions and says it bills \`FailedOperation.EmptyImageError\`; of other errors it says nothing. Those are *unknown* here and counted as billed in the call ledger, so that \`report\`'s figure is never below the bill. Calls that never reached it are *not billed*.
- The emulator (\`macao-ocr emulator --faults CODE=RATE\`) can answer any code below that is the provider's.
`;

const SECTIONS: [CodeSource, string][] = [
  ['action', "## Codes of RecognizeMacaoIDCardOCR\n\nThe action's own page lists these."],
  ['common', '## Common codes\n\nEvery Tencent Cloud API 3.0 action may answer these.'],
  [
    'ocr-sdk',
    "## Other OCR codes\n\nThe international SDK's OCR error list: other actions' codes, handled in case this action answers them too.",
  ],
  ['client', "## Our client's codes\n\nThe call never reached the service, or came back without an answer."],
  [
    'ours',
    '## Our own codes\n\nFailures on our side, before or after the call, counted and retried like the others (`report --code`, `retry --code`).',
  ],
];

const BILLING: Record<ErrorRule['billing'], string> = {
  billed: 'billed',
  'not-billed': 'not billed',
  unknown: 'unknown',
};

function notes(r: ErrorRule): string {
  return [
    r.fallback ? `first ${r.fallback}` : '',
    r.maxTries ? `max tries ${r.maxTries}` : '',
    r.resignOnce ? 'signed afresh once first' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function table(rows: [string, ErrorRule][]): string {
  return [
    '| code | what it means | action | billed | notes | what to do |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      ([code, r]) =>
        `| \`${code}\` | ${cell(r.meaning)} | \`${r.action}\` | ${BILLING[r.billing]} | ${notes(r)} | ${cell(r.hint)} |`,
    ),
  ].join('\n');
}

/** The whole page. */
export function renderApiErrors(): string {
  const parts = [INTRO];
  for (const [source, heading] of SECTIONS) {
    const rows = Object.entries(ERROR_ACTIONS)
      .filter(([, r]) => r.source === source)
      .sort(([a], [b]) => a.localeCompare(b));
    parts.push(`${heading}\n\n${table(rows)}\n`);
  }
  parts.push(
    `## Codes the table does not list\n\nThe provider adds codes over time. A code is looked up exactly, then by **family** (a family matches its bare code and every sub-code), in this order:\n\n${table(
      FAMILY_RULES.map(([family, r]) => [`${family}`, r]),
    )}\n\nAny other code: \`${UNKNOWN_CODE_RULE.action}\`, max tries ${UNKNOWN_CODE_RULE.maxTries}, billing ${BILLING[UNKNOWN_CODE_RULE.billing]}: ${UNKNOWN_CODE_RULE.hint}\n`,
  );
  return parts.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL('../docs/api-errors.md', import.meta.url);
  writeFileSync(out, renderApiErrors());
  console.log(`wrote ${fileURLToPath(out)}`);
}
