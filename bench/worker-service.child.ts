// Child of bench/worker.ts: hosts one service out of the measured processes, so that its CPU and
// memory are not theirs (two cores: they still compete for the machine).
//   node --openssl-legacy-provider --import tsx bench/worker-service.child.ts s3 DIR BUCKET...
//   node --import tsx bench/worker-service.child.ts emulator '{"qps":50,...}'
// `s3`: s3rver in DIR with the buckets given; it must run with --openssl-legacy-provider, since
// s3rver makes continuation tokens with DES and a second listing page would answer 500 (STACK.md).
// Prints {endpoint, accessKeyId, secretAccessKey}. `emulator`: the OCR emulator with the options
// given (JSON, credentials included); prints {endpoint}; the parent reads and resets its counters
// and changes its options over its control endpoints. Either serves until stdin closes (the
// parent ended it, or died) or until SIGTERM.
import { startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import type { EmulatorOptions } from '../src/sandbox/emulator/options.js';
import { startLocalS3Server } from '../src/sandbox/localS3Server.js';

const [what, ...rest] = process.argv.slice(2);
let close: () => Promise<void>;
if (what === 's3') {
  const [directory, ...buckets] = rest;
  if (!directory || buckets.length === 0) {
    console.error('usage: worker-service.child.ts s3 DIR BUCKET...');
    process.exit(2);
  }
  if (!process.execArgv.includes('--openssl-legacy-provider')) {
    console.error('worker-service.child.ts s3 must run with --openssl-legacy-provider (s3rver paging)');
    process.exit(2);
  }
  const s3 = await startLocalS3Server({ directory, buckets });
  console.log(JSON.stringify({ endpoint: s3.endpoint, ...s3.credentials }));
  close = () => s3.close();
} else if (what === 'emulator') {
  const emulator = await startEmulator(JSON.parse(rest[0] ?? '{}') as EmulatorOptions);
  console.log(JSON.stringify({ endpoint: emulator.url }));
  close = () => emulator.close();
} else {
  console.error('usage: worker-service.child.ts s3 DIR BUCKET... | emulator JSON');
  process.exit(2);
}

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
