import v8 from 'node:v8';

/**
 * Keeps V8's heap small for a command that moves a large amount of data through in batches
 * (`report` exporting a run page by page, `enqueue` walking a listing, `retry` re-queuing a run's
 * failed cards), at a small cost in garbage-collection time. Process-wide, so only such
 * commands call it, before they open anything; `work` and `run` keep V8's defaults (they hold
 * images in flight, and the worker's CPU per card is a bar of its own).
 *
 * Two of V8's defaults suit a server, not a streaming batch command:
 * - The young generation doubles whenever as many bytes as its capacity have survived
 *   scavenges since it last grew, which in any long allocating run happens again and again
 *   until it reaches its maximum, two 16 MB semi-spaces on 64-bit: ~30 MB more resident memory
 *   for data that lives a page at a time. Growth off keeps it at its starting size.
 * - The old generation may grow to several times its live size before a full collection (the
 *   factor depends on how fast the program allocates; streaming allocates fast), so whatever a
 *   small young generation promotes piles up: the producer's heap reached ~100 MB for ~25 MB
 *   live. 1.2x its live size keeps it near what is really held.
 *
 * Measured (BENCHMARKS.md): an export of 103,000 cards peaks at ~125-133 MB instead of ~150 MB on
 * embedded PGlite and ~63 MB instead of ~91 MB on PostgreSQL, at the same rows/s within the
 * noise, and at ~130 / ~69 MB for 1,003,000 cards (`npm run bench -- results-store`); the
 * producer over 100,000 objects at ~185-190 MB instead of ~230-260 MB on PGlite and ~122-130 MB
 * instead of ~175 MB on PostgreSQL, with the same own time (`npm run bench -- producer`).
 * Either flag alone was not enough: with only the young generation held, exports in pages of
 * 500 rows or more peaked higher than before.
 */
export function keepHeapSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=20');
}
