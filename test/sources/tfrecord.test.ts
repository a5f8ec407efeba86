import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { firstValueFrom, lastValueFrom, take, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, maskCrc32c, unmaskCrc32c } from '../../src/core/crc32c.js';
import { encodeExample, parseExample, ProtobufError } from '../../src/core/protobuf.js';
import { encodeTfrecord } from '../../src/core/tfrecordFrame.js';
import type { DataError, EncodedSample } from '../../src/core/types.js';
import { Credit, withCredit } from '../../src/flow/credit.js';
import { ChunkReader } from '../../src/sources/files.js';
import { readTfrecord, tfrecord, tfrecordRecords } from '../../src/sources/tfrecord.js';

const flip = (b: Uint8Array, i: number, mask: number): void => {
  b[i] = (b[i] as number) ^ mask;
};
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));

describe('crc32c', () => {
  it('matches the known check values', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 B.4 test vectors.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('continues across pieces and over sub-ranges, at every alignment', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
    const whole = crc32c(bytes);
    for (const cut of [0, 1, 3, 7, 8, 9, 500, 999, 1000]) expect(crc32c(bytes, cut, bytes.length, crc32c(bytes, 0, cut))).toBe(whole);
    expect(crc32c(bytes, 5, 100)).toBe(crc32c(bytes.slice(5, 100)));
  });

  it('masks as TensorFlow does, and unmasks', () => {
    const c = crc32c(ascii('123456789'));
    expect(maskCrc32c(c)).toBe((((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
    for (const v of [0, 1, 0xffffffff, 0x80000000, c]) expect(unmaskCrc32c(maskCrc32c(v))).toBe(v);
  });
});

describe('protobuf Example', () => {
  it('encodes byte for byte as protobuf does', () => {
    // Example{features{feature{key:"a" value{int64_list{value:[1]}}}}}, packed.
    expect([...encodeExample({ a: { int64: [1] } })]).toEqual([
      0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 0x61, 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x01,
    ]);
    // Unpacked int64: field 1 wire type 0.
    expect([...encodeExample({ a: { int64: [1] } }, { packed: false })]).toEqual([
      0x0a, 0x0b, 0x0a, 0x09, 0x0a, 0x01, 0x61, 0x12, 0x04, 0x1a, 0x02, 0x08, 0x01,
    ]);
  });

  it('reads every kind, packed and unpacked, negative and large int64s', () => {
    for (const packed of [true, false]) {
      const f = parseExample(
        encodeExample(
          {
            image: { bytes: [Uint8Array.of(1, 2, 3), new Uint8Array(0)] },
            f: { float: [0.5, -2, 3.25] },
            i: { int64: [0, 1, -1, 300, 2 ** 40 + 5, -(2 ** 33), 2 ** 53 - 1] },
          },
          { packed },
        ),
      );
      const image = f.get('image');
      expect(image?.kind).toBe('bytes');
      expect(image?.values.map((v) => [...(v as Uint8Array)])).toEqual([[1, 2, 3], []]);
      expect(f.get('f')).toEqual({ kind: 'float', values: [0.5, -2, 3.25] });
      expect(f.get('i')).toEqual({ kind: 'int64', values: [0, 1, -1, 300, 2 ** 40 + 5, -(2 ** 33), 2 ** 53 - 1] });
    }
  });

  it('skips unknown fields and refuses malformed bytes', () => {
    const known = encodeExample({ label: { int64: [4] } });
    // An unknown varint field 5 and fixed32 field 6 before the features.
    const withUnknown = Uint8Array.of(0x28, 0x96, 0x01, 0x35, 1, 2, 3, 4, ...known);
    expect(parseExample(withUnknown).get('label')).toEqual({ kind: 'int64', values: [4] });
    expect(() => parseExample(known.subarray(0, known.length - 1))).toThrow(ProtobufError);
    expect(() => parseExample(Uint8Array.of(0x0b))).toThrow(/wire type 3/);
    expect(() => parseExample(Uint8Array.of(0x28, 0xff, 0xff))).toThrow(/truncated varint/);
  });
});

// ---------------------------------------------------------------------------------------------

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-tfrecord-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Image bytes that say which shard and record they are, of varying length. */
const imageOf = (shard: number, record: number): Uint8Array =>
  Uint8Array.from({ length: 10 + ((shard * 7 + record * 13) % 50) }, (_, i) => (shard * 31 + record * 17 + i) & 0xff);
const labelOf = (shard: number, record: number): number => (shard * 3 + record) % 10;

async function writeShard(
  name: string,
  shard: number,
  records: number,
  extra: (bytes: Uint8Array[]) => void = () => {},
): Promise<{ file: string; offsets: number[] }> {
  const framed: Uint8Array[] = [];
  for (let r = 0; r < records; r++)
    framed.push(
      encodeTfrecord(
        encodeExample({
          image: { bytes: [imageOf(shard, r)] },
          label: { int64: [labelOf(shard, r)] },
          'image/filename': { bytes: [ascii(`s${shard}r${r}.jpg`)] },
        }),
      ),
    );
  extra(framed);
  const offsets: number[] = [];
  let at = 0;
  for (const f of framed) {
    offsets.push(at);
    at += f.length;
  }
  const file = path.join(dir, name);
  await writeFile(file, Buffer.concat(framed));
  return { file, offsets };
}

const key = (s: EncodedSample): string => `${[...(s.input as Uint8Array)].join(',')}|${s.label}`;

describe('tfrecord source', () => {
  it('reads a shard back exactly: bytes, labels, origins with byte offsets', async () => {
    const { file, offsets } = await writeShard('one.tfrecord', 0, 25);
    const out = await all(tfrecord(file, { numClasses: 10 }));
    expect(out).toHaveLength(25);
    out.forEach((s, i) => {
      expect([...(s.input as Uint8Array)]).toEqual([...imageOf(0, i)]);
      expect(s.label).toBe(labelOf(0, i));
      expect(s.numClasses).toBe(10);
      expect(s.origin).toBe(`${file}@${offsets[i]}`);
      expect(s.index).toBe(i);
      expect(s.epoch).toBe(0);
    });
    // The low-level reader agrees with the framing.
    const records: number[] = [];
    for await (const r of tfrecordRecords(file, 64)) records.push(r.offset);
    expect(records).toEqual(offsets);
  });

  it('reads records larger than the read size', async () => {
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const file = path.join(dir, 'big.tfrecord');
    await writeFile(
      file,
      Buffer.concat([
        encodeTfrecord(encodeExample({ image: { bytes: [big] }, label: { int64: [2] } })),
        encodeTfrecord(encodeExample({ image: { bytes: [Uint8Array.of(9)] }, label: { int64: [3] } })),
      ]),
    );
    const out = await all(tfrecord(file, { numClasses: 5, readSize: 1000 }));
    expect(out.map((s) => s.label)).toEqual([2, 3]);
    expect(Buffer.compare(Buffer.from(out[0]?.input as Uint8Array), Buffer.from(big))).toBe(0);
  });

  it('streams: the read buffer stays at readSize whatever the shard size (and grows only for a larger record)', async () => {
    const { file } = await writeShard('stream.tfrecord', 5, 3000); // ~250 KB
    const reader = await ChunkReader.open(file, 4096);
    let n = 0;
    let peak = 0;
    try {
      for (let r = await readTfrecord(reader); r; r = await readTfrecord(reader)) {
        expect(r.ok).toBe(true);
        peak = Math.max(peak, reader.bytes.length);
        n++;
      }
    } finally {
      await reader.close();
    }
    expect(n).toBe(3000);
    expect(reader.size).toBeGreaterThan(200_000);
    expect(peak).toBe(4096);
  });

  it('interleaves shards round-robin, in a seeded per-epoch shard order', async () => {
    const shardDir = path.join(dir, 'shards');
    await import('node:fs/promises').then((fs) => fs.mkdir(shardDir));
    const sizes = [4, 2, 3, 5];
    const files: string[] = [];
    for (const [s, n] of sizes.entries()) {
      const name = `ds-train.tfrecord-0000${s}-of-00004`;
      await writeShard(path.join('shards', name), s, n);
      files.push(path.join(shardDir, name));
    }
    await writeFile(path.join(shardDir, 'dataset_info.json'), '{}'); // not a shard
    const expectedSet = sizes
      .flatMap((n, s) => Array.from({ length: n }, (_, r) => `${[...imageOf(s, r)].join(',')}|${labelOf(s, r)}`))
      .sort();

    // In order, cycle 2: shards 0 and 1 alternate; when 1 ends, 2 takes its slot; then 3.
    const ordered = await all(tfrecord(shardDir, { numClasses: 10, shuffle: false, cycleLength: 2 }));
    const who = ordered.map((s) => /tfrecord-(\d{5})/.exec(s.origin)?.[1]);
    expect(who.join(' ')).toBe('00000 00001 00000 00001 00000 00002 00000 00002 00003 00002 00003 00003 00003 00003');
    expect(ordered.map(key).sort()).toEqual(expectedSet);
    expect(ordered.map((s) => s.index)).toEqual(ordered.map((_, i) => i));

    // Shuffled: every epoch is the whole set; same seed, same epochs; epochs differ in shard order.
    const source = tfrecord(files, { numClasses: 10, seed: 7, cycleLength: 2 });
    const epochs = [await all(source), await all(source), await all(source)];
    for (const e of epochs) expect(e.map(key).sort()).toEqual(expectedSet);
    expect(epochs.map((e) => e[0]?.epoch)).toEqual([0, 1, 2]);
    const again = tfrecord(files, { numClasses: 10, seed: 7, cycleLength: 2 });
    const replay = [await all(again), await all(again), await all(again)];
    expect(replay.map((e) => e.map((s) => s.origin))).toEqual(epochs.map((e) => e.map((s) => s.origin)));
    expect(new Set(epochs.map((e) => e.map((s) => s.origin).join())).size).toBeGreaterThan(1);
  });

  it('is lazy: nothing is read before subscription, and options fail at creation', async () => {
    const missing = tfrecord(path.join(dir, 'nope.tfrecord'), { numClasses: 2 });
    await expect(all(missing)).rejects.toThrow(/nope\.tfrecord/);
    expect(() => tfrecord('x.tfrecord', {} as never)).toThrow(/option 'numClasses'/);
    expect(() => tfrecord('x.tfrecord', { numClasses: 2, cycleLength: 0 })).toThrow(/option 'cycleLength'/);
    expect(() => tfrecord([], { numClasses: 2 })).toThrow(/option 'shards'/);
  });

  it('stops reading when unsubscribed', async () => {
    const { file } = await writeShard('take.tfrecord', 1, 50);
    const two = await all(tfrecord(file, { numClasses: 10 }).pipe(take(2)));
    expect(two.map((s) => s.label)).toEqual([labelOf(1, 0), labelOf(1, 1)]);
  });
});

describe('tfrecord corruption', () => {
  async function corrupt(
    name: string,
    records: number,
    edit: (bytes: Buffer, offsets: number[]) => Buffer | void,
  ): Promise<{ file: string; offsets: number[] }> {
    const { file, offsets } = await writeShard(name, 2, records);
    const bytes = await readFile(file);
    const edited = edit(bytes, offsets) ?? bytes;
    await writeFile(file, edited);
    return { file, offsets };
  }
  const skipping = async (file: string | string[], extra: object = {}): Promise<{ out: EncodedSample[]; skipped: DataError[] }> => {
    const skipped: DataError[] = [];
    const out = await all(tfrecord(file, { numClasses: 10, shuffle: false, onError: 'skip', onSkip: (e) => skipped.push(e), ...extra }));
    return { out, skipped };
  };

  it('a data CRC mismatch names shard and offset; skip drops only that record', async () => {
    const { file, offsets } = await corrupt('datacrc.tfrecord', 6, (b, o) => {
      flip(b, (o[3] as number) + 14, 0x40); // inside record 3's data
    });
    await expect(all(tfrecord(file, { numClasses: 10 }))).rejects.toThrow(`${file}@${offsets[3]}: data CRC mismatch`);
    const { out, skipped } = await skipping(file);
    expect(out.map((s) => s.label)).toEqual([0, 1, 2, 4, 5].map((r) => labelOf(2, r)));
    expect(out.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    expect(skipped).toEqual([{ _tag: 'DataError', origin: `${file}@${offsets[3]}`, reason: expect.stringMatching(/data CRC mismatch/) }]);
  });

  it('a data CRC flip in the stored checksum itself is caught too', async () => {
    const { file, offsets } = await corrupt('footer.tfrecord', 3, (b, o) => {
      flip(b, (o[2] as number) - 1, 1); // last byte of record 1's footer
    });
    await expect(all(tfrecord(file, { numClasses: 10 }))).rejects.toThrow(`${file}@${offsets[1]}: data CRC mismatch`);
  });

  it('a length CRC mismatch loses the framing: error, or the rest of the shard skipped once', async () => {
    const { file, offsets } = await corrupt('lencrc.tfrecord', 6, (b, o) => {
      flip(b, (o[2] as number) + 1, 0x01); // record 2's length
    });
    await expect(all(tfrecord(file, { numClasses: 10 }))).rejects.toThrow(`${file}@${offsets[2]}: length CRC mismatch`);
    const other = await writeShard('clean.tfrecord', 3, 3);
    const { out, skipped } = await skipping([file, other.file], { cycleLength: 2 });
    expect(out.map(key)).toEqual([
      `${imageOf(2, 0).join(',')}|${labelOf(2, 0)}`,
      `${imageOf(3, 0).join(',')}|${labelOf(3, 0)}`,
      `${imageOf(2, 1).join(',')}|${labelOf(2, 1)}`,
      `${imageOf(3, 1).join(',')}|${labelOf(3, 1)}`,
      `${imageOf(3, 2).join(',')}|${labelOf(3, 2)}`,
    ]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.origin).toBe(`${file}@${offsets[2]}`);
    expect(skipped[0]?.reason).toMatch(/length CRC mismatch.*rest of the shard/);
  });

  it('a truncated file (mid-record, mid-header) names shard and offset, never a hang', async () => {
    for (const cutInto of [1, 5, 11, 12, 20, -1]) {
      const { file, offsets } = await writeShard(`trunc${cutInto}.tfrecord`, 4, 4);
      const size = (await readFile(file)).length;
      const cut = cutInto < 0 ? size - 1 : (offsets[3] as number) + cutInto;
      await truncate(file, cut);
      await expect(all(tfrecord(file, { numClasses: 10 }))).rejects.toThrow(
        new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@${offsets[3]}: truncated file`),
      );
      const { out, skipped } = await skipping(file);
      expect(out.map((s) => s.label)).toEqual([0, 1, 2].map((r) => labelOf(4, r)));
      expect(skipped).toHaveLength(1);
    }
  });

  it('bad payloads: not an Example, missing features, label out of range, wrong kinds', async () => {
    const payloads = [
      Uint8Array.of(0x0a, 0x50, 1, 2), // features length runs past the end
      encodeExample({ img: { bytes: [Uint8Array.of(1)] }, label: { int64: [1] } }),
      encodeExample({ image: { bytes: [Uint8Array.of(1)] } }),
      encodeExample({ image: { bytes: [Uint8Array.of(1)] }, label: { int64: [10] } }),
      encodeExample({ image: { bytes: [Uint8Array.of(1)] }, label: { int64: [-1] } }),
      encodeExample({ image: { bytes: [Uint8Array.of(1)] }, label: { float: [1] } }),
      encodeExample({ image: { int64: [1] }, label: { int64: [1] } }),
    ];
    const reasons = [
      /not a tf.train.Example/,
      /no feature 'image' \(imageKey\); features: img, label/,
      /no feature 'label'/,
      /label 10 is outside \[0, 10\)/,
      /label -1 is outside/,
      /'label' is float/,
      /'image' is int64/,
    ];
    const file = path.join(dir, 'payloads.tfrecord');
    const good = encodeTfrecord(encodeExample({ image: { bytes: [Uint8Array.of(7)] }, label: { int64: [7] } }));
    await writeFile(file, Buffer.concat([good, ...payloads.map(encodeTfrecord), good]));
    let at = good.length;
    for (const [i, p] of payloads.entries()) {
      const single = path.join(dir, `payload${i}.tfrecord`);
      await writeFile(single, encodeTfrecord(p));
      await expect(all(tfrecord(single, { numClasses: 10 }))).rejects.toThrow(reasons[i] as RegExp);
      at += p.length + 16;
    }
    const { out, skipped } = await skipping(file);
    expect(out.map((s) => s.label)).toEqual([7, 7]);
    expect(out.map((s) => s.index)).toEqual([0, 1]);
    expect(skipped.map((e) => e.reason)).toHaveLength(payloads.length);
    skipped.forEach((e, i) => expect(e.reason).toMatch(reasons[i] as RegExp));
    expect(at + good.length).toBe((await readFile(file)).length);
  });

  it('custom image and label keys', async () => {
    const file = path.join(dir, 'keys.tfrecord');
    await writeFile(
      file,
      encodeTfrecord(encodeExample({ 'image/encoded': { bytes: [Uint8Array.of(5, 6)] }, 'image/class/label': { int64: [999] } })),
    );
    const [s] = await all(tfrecord(file, { numClasses: 1000, imageKey: 'image/encoded', labelKey: 'image/class/label' }));
    expect(s?.label).toBe(999);
    expect([...(s?.input as Uint8Array)]).toEqual([5, 6]);
  });

  it('skipped records take no credit', async () => {
    const { file } = await corrupt('credit.tfrecord', 8, (b, o) => {
      for (const r of [1, 2, 5]) flip(b, (o[r] as number) + 14, 0x40);
    });
    const credit = new Credit(); // limit 1: one sample alive at a time
    const got: EncodedSample[] = [];
    let skipped = 0;
    await new Promise<void>((resolve, reject) =>
      withCredit(credit, () =>
        tfrecord(file, { numClasses: 10, shuffle: false, onError: 'skip', onSkip: () => skipped++ }).subscribe({
          next: (s) => {
            got.push(s);
            expect(credit.inFlight).toBe(1);
            setTimeout(() => credit.release(1), 1);
          },
          error: reject,
          complete: resolve,
        }),
      ),
    );
    expect(got).toHaveLength(5);
    expect(skipped).toBe(3);
    expect(credit.peakInFlight).toBe(1);
    expect(await firstValueFrom(tfrecord(file, { numClasses: 10, shuffle: false, onError: 'skip' }))).toMatchObject({
      label: labelOf(2, 0),
    });
  });
});
