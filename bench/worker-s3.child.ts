// Child of the worker benchmarks (bench/lib/workerBench.ts): hosts s3rver out of the measured
// processes, so that its CPU and memory are not theirs (they still share the machine's cores).
//   node --openssl-legacy-provider --import tsx bench/worker-s3.child.ts DIR BUCKET...
// s3rver keeps its objects in DIR and creates the buckets given. It must run with
// --openssl-legacy-provider: s3rver makes listing continuation tokens with DES, which OpenSSL 3
// refuses without it, so a second listing page would answer 500. Prints
// {endpoint, accessKeyId, secretAccessKey}, then serves until stdin closes (the parent ended it,
// or died) or until SIGTERM.
import { startLocalS3Server } from '../src/sandbox/localS3Server.js';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory || buckets.length === 0) {
  console.error('usage: worker-s3.child.ts DIR BUCKET...');
  process.exit(2);
}
if (!process.execArgv.includes('--openssl-legacy-provider')) {
  console.error('worker-s3.child.ts must run with --openssl-legacy-provider (s3rver paging)');
  process.exit(2);
}
const s3 = await startLocalS3Server({ directory, buckets });
console.log(JSON.stringify({ endpoint: s3.endpoint, ...s3.credentials }));

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void s3.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
