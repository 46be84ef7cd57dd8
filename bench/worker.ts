// Does the worker use the API quota, what does it cost per card, and how much memory does it hold?
// The three worker benchmarks in sequence, over one set of services:
//   npm run bench -- worker [--only quota,overhead,memory] [--quota-cards 2000]
//                           [--overhead-cards 20000] [--overhead-base64-cards 5000]
//                           [--memory-cards 200] [--dump-calls FILE] [--child-node-flags='--cpu-prof ...']
//                           [--database-url postgres://...] [--redis-url redis://...]
// Each also runs alone, and says what it measures and why: bench/worker-quota.ts (--quota-cards
// is its --cards), bench/worker-overhead.ts (--cards, --base64-cards) and bench/worker-memory.ts
// (--cards).
import { parseArgs } from 'node:util';
import { SERVICE_OPTIONS } from './lib/setup.js';
import { CHILD_OPTIONS, runWorkerBench, type WorkerBench } from './lib/workerBench.js';
import { memory } from './worker-memory.js';
import { overhead } from './worker-overhead.js';
import { quota } from './worker-quota.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'quota,overhead,memory' },
    'quota-cards': { type: 'string', default: '2000' },
    'overhead-cards': { type: 'string', default: '20000' },
    'overhead-base64-cards': { type: 'string', default: '5000' },
    'memory-cards': { type: 'string', default: '200' },
    'dump-calls': { type: 'string' },
    ...CHILD_OPTIONS,
    ...SERVICE_OPTIONS,
  },
});
const sections: [string, (ctx: WorkerBench) => Promise<void>][] = [
  ['quota', (ctx) => quota(ctx, { cards: Number(args['quota-cards']), dumpCalls: args['dump-calls'] })],
  [
    'overhead',
    (ctx) =>
      overhead(ctx, {
        cards: Number(args['overhead-cards']),
        base64Cards: Number(args['overhead-base64-cards']),
      }),
  ],
  ['memory', (ctx) => memory(ctx, { cards: Number(args['memory-cards']) })],
];
const only = new Set(args.only!.split(','));
await runWorkerBench(
  args,
  sections.filter(([name]) => only.has(name)),
);
