/**
 * TFRecord read throughput: writes a ~64 MiB TFRecord shard of tf.train.Examples (16 KiB images)
 * to a temporary folder, then reads it through the `tfrecord` source (framing, both CRC-32Cs,
 * Example parsing, a copy of each image) and, in the same run, with a plain fs stream of the same
 * bytes. Reports records/s and MB/s, each against the plain read. Best of 3 alternating runs, page
 * cache warm for both. Run alone: `node --import tsx bench/tfrecord.ts`.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastValueFrom, reduce } from 'rxjs';
import { encodeExample } from '../src/core/protobuf.js';
import { rng } from '../src/core/random.js';
import { encodeTfrecord } from '../src/core/tfrecordFrame.js';
import { tfrecord } from '../src/sources/tfrecord.js';
import { emit, type Figure } from './report.js';
import { sized } from './size.js';

export const BENCH_TFRECORD = sized({ records: 4096, imageBytes: 16 * 1024, rounds: 3 }, { records: 64, imageBytes: 1024, rounds: 1 });

async function writeShard(file: string): Promise<number> {
  const r = rng(0, 'bench', 'tfrecord');
  const base = Uint8Array.from({ length: BENCH_TFRECORD.imageBytes + 512 }, () => r.int(256));
  const handle = await open(file, 'w');
  let bytes = 0;
  try {
    for (let i = 0; i < BENCH_TFRECORD.records; i++) {
      const image = base.subarray(i % 512, (i % 512) + BENCH_TFRECORD.imageBytes - (i % 257));
      const framed = encodeTfrecord(
        encodeExample({
          image: { bytes: [image] },
          label: { int64: [i % 10] },
          'image/filename': { bytes: [new TextEncoder().encode(`img_${i}.jpg`)] },
        }),
      );
      await handle.write(framed);
      bytes += framed.length;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

async function plainRead(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) n += (chunk as Buffer).length;
  return n;
}

async function sourceRead(file: string): Promise<{ records: number; imageBytes: number }> {
  return lastValueFrom(
    tfrecord(file, { numClasses: 10, shuffle: false }).pipe(
      reduce((acc, s) => ({ records: acc.records + 1, imageBytes: acc.imageBytes + (s.input as Uint8Array).length }), {
        records: 0,
        imageBytes: 0,
      }),
    ),
  );
}

export async function benchTfrecord(out: (f: Figure) => void = emit): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-bench-tfrecord-'));
  try {
    const file = path.join(dir, 'bench.tfrecord');
    const bytes = await writeShard(file);
    const MB = bytes / 1e6;
    let plainBest = Infinity;
    let sourceBest = Infinity;
    let records = 0;
    for (let round = 0; round < BENCH_TFRECORD.rounds; round++) {
      let t = performance.now();
      const n = await plainRead(file);
      plainBest = Math.min(plainBest, (performance.now() - t) / 1000);
      if (n !== bytes) throw new Error(`plain read got ${n} of ${bytes} bytes`);
      t = performance.now();
      const got = await sourceRead(file);
      sourceBest = Math.min(sourceBest, (performance.now() - t) / 1000);
      records = got.records;
      if (records !== BENCH_TFRECORD.records) throw new Error(`source read ${records} of ${BENCH_TFRECORD.records} records`);
    }
    const common = { bytes, records, recordBytes: Math.round(bytes / records) };
    out({
      name: 'tfrecord.source.MBps',
      value: MB / sourceBest,
      unit: 'MB/s',
      against: { name: 'fs.createReadStream (same file, same run)', value: MB / plainBest, unit: 'MB/s' },
      ratio: plainBest / sourceBest,
      ...common,
    });
    out({
      name: 'tfrecord.source.records_per_s',
      value: records / sourceBest,
      unit: 'records/s',
      against: { name: 'fs.createReadStream bytes / record size', value: records / plainBest, unit: 'records/s' },
      ratio: plainBest / sourceBest,
      ...common,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchTfrecord();
}
