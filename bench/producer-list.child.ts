// Child of bench/producer.ts: the baseline, a bare ListObjectsV2 listing of s3://BUCKET/PREFIX
// page by page (what the producer's own listing does, and nothing else). Prints
// {objects, pages, ms, maxRssMb}.
import { listObjectPages } from '../src/storage/objects.js';
import { createS3Client } from '../src/storage/s3.js';
import { peakRssMb } from './lib.js';

const [endpoint, accessKeyId, secretAccessKey, bucket, prefix] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const s3 = createS3Client({ endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
try {
  const t0 = performance.now();
  let objects = 0;
  let pages = 0;
  for await (const page of listObjectPages(s3, bucket, prefix, { pageSize: 1000 })) {
    objects += page.length;
    pages++;
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ objects, pages, ms, maxRssMb: peakRssMb() }));
} finally {
  s3.destroy();
}
