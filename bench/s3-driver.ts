/**
 * Raw throughput of the S3 storage driver against a real S3 store (Ceph RGW from
 * scripts/services/ceph-rgw.sh): the baseline the scale-out registry figures are later read
 * against. Uses BERTH_TEST_S3_* when set, else starts (and stops) a Ceph RGW of its own.
 *
 *   node dist/bench/s3-driver.js [--size-mib 100] [--rounds 3] [--small 200] [--json FILE]
 *
 * Large objects are generated on the fly (never held whole); small operations are timed one by
 * one (latency percentiles) and then 8 at a time (throughput).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { s3Service } from '../test/support/services.js';
import { openS3Driver, type S3Driver } from '../src/storage/s3/index.js';
import type { PartInfo } from '../src/storage/driver.js';

const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    small: { type: 'string', default: '200' },
    json: { type: 'string' },
  },
});
const size = Number(values['size-mib']) * MiB;
const rounds = Number(values.rounds);
const smallCount = Number(values.small);

/** `bytes` of pseudo-random data in 1 MiB chunks, one reused block (so generation costs ~nothing). */
function generated(bytes: number): Readable {
  const block = randomBytes(MiB);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < bytes; sent += MiB) yield block.subarray(0, Math.min(MiB, bytes - sent));
    })(),
  );
}

const sink = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

interface Row {
  operation: string;
  figure: number;
  unit: string;
  note?: string;
}

async function large(d: S3Driver, rows: Row[]): Promise<void> {
  const mbps = (ms: number): number => size / MiB / (ms / 1000);
  const put: number[] = [];
  const get: number[] = [];
  const parts2: number[] = [];
  const parts2Complete: number[] = [];
  const chunked: number[] = [];
  const chunkedComplete: number[] = [];
  const copy: number[] = [];
  for (let round = 0; round < rounds; round++) {
    put.push(
      await timed(async () => {
        const w = await d.writer(`large/${round}`);
        await pipeline(generated(size), w.stream);
        await w.commit();
      }),
    );
    get.push(await timed(async () => pipeline(await d.reader(`large/${round}`), sink())));
    // A resumable upload as a client pushing in two halves, then the server-side assembly.
    const id = await d.startParts(`parts/${round}`);
    const written: PartInfo[] = [];
    parts2.push(
      await timed(async () => {
        written.push(await d.writePart(`parts/${round}`, id, 1, generated(size / 2)));
        written.push(await d.writePart(`parts/${round}`, id, 2, generated(size - size / 2)));
        parts2Complete.push(await timed(() => d.completeParts(`parts/${round}`, id, written)));
      }),
    );
    // The worst case: 1 MiB chunks, each below S3's 5 MiB minimum, re-assembled at completion.
    const small = await d.startParts(`chunked/${round}`);
    const smallParts: PartInfo[] = [];
    chunked.push(
      await timed(async () => {
        for (let n = 1; n * MiB <= size; n++)
          smallParts.push(await d.writePart(`chunked/${round}`, small, n, generated(MiB)));
        chunkedComplete.push(await timed(() => d.completeParts(`chunked/${round}`, small, smallParts)));
      }),
    );
    copy.push(await timed(() => d.move(`large/${round}`, `moved/${round}`)));
  }
  const mib = size / MiB;
  rows.push({ operation: `put ${mib} MiB (writer, multipart)`, figure: mbps(median(put)), unit: 'MiB/s' });
  rows.push({ operation: `get ${mib} MiB (reader)`, figure: mbps(median(get)), unit: 'MiB/s' });
  rows.push({
    operation: `parts: 2 × ${mib / 2} MiB + complete`,
    figure: mbps(median(parts2)),
    unit: 'MiB/s',
  });
  rows.push({
    operation: '  of which completeParts (server-side copy)',
    figure: median(parts2Complete),
    unit: 'ms',
  });
  rows.push({ operation: `parts: ${mib} × 1 MiB + complete`, figure: mbps(median(chunked)), unit: 'MiB/s' });
  rows.push({
    operation: '  of which completeParts (re-assembly)',
    figure: median(chunkedComplete),
    unit: 'ms',
  });
  rows.push({ operation: `move ${mib} MiB (copy + delete)`, figure: median(copy), unit: 'ms' });
}

async function smallOps(d: S3Driver, rows: Row[]): Promise<void> {
  const body = randomBytes(1024);
  const put: number[] = [];
  const head: number[] = [];
  const get: number[] = [];
  for (let i = 0; i < smallCount; i++) put.push(await timed(() => d.putContent(`small/${i}`, body)));
  for (let i = 0; i < smallCount; i++) head.push(await timed(() => d.stat(`small/${i}`)));
  for (let i = 0; i < smallCount; i++) get.push(await timed(() => d.getContent(`small/${i}`)));
  for (const [name, xs] of [
    ['put 1 KiB', put],
    ['head (stat)', head],
    ['get 1 KiB', get],
  ] as const) {
    rows.push({
      operation: `${name}, one at a time`,
      figure: median(xs),
      unit: 'ms p50',
      note: `p95 ${percentile(xs, 95).toFixed(1)} ms`,
    });
  }
  const concurrency = 8;
  let next = 0;
  const elapsed = await timed(() =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < smallCount) {
          const i = next++;
          await d.putContent(`small8/${i}`, body);
        }
      }),
    ),
  );
  rows.push({
    operation: `put 1 KiB, ${concurrency} at a time`,
    figure: smallCount / (elapsed / 1000),
    unit: 'ops/s',
  });
  next = 0;
  const headElapsed = await timed(() =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < smallCount) await d.stat(`small8/${next++}`);
      }),
    ),
  );
  rows.push({
    operation: `head, ${concurrency} at a time`,
    figure: smallCount / (headElapsed / 1000),
    unit: 'ops/s',
  });
}

async function main(): Promise<void> {
  const s3 = s3Service();
  if (!s3.service) throw new Error(s3.skip);
  const bucket = `berth-bench-${randomBytes(4).toString('hex')}`;
  const d = openS3Driver({
    region: s3.service.region,
    endpoint: s3.service.endpoint,
    forcePathStyle: true,
    accessKey: s3.service.accessKey,
    secretKey: s3.service.secretKey,
    bucket,
    rootDirectory: '',
  });
  await d.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const rows: Row[] = [];
  try {
    await large(d, rows);
    await smallOps(d, rows);
  } finally {
    await d.delete('');
    await d.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    d.client.destroy();
  }
  const width = Math.max(...rows.map((r) => r.operation.length));
  console.log(`S3 driver on ${s3.service.endpoint}, ${rounds} rounds, medians`);
  for (const r of rows) {
    console.log(
      `${r.operation.padEnd(width)}  ${r.figure.toFixed(1).padStart(8)} ${r.unit}${r.note ? `  (${r.note})` : ''}`,
    );
  }
  if (values.json)
    await writeFile(
      values.json,
      `${JSON.stringify({ endpoint: s3.service.endpoint, size, rounds, rows }, null, 2)}\n`,
    );
}

await main();
