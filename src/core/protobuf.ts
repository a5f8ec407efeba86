/**
 * A minimal protocol-buffers reader and writer, enough for `tf.train.Example`:
 *
 *   Example  { Features features = 1; }
 *   Features { map<string, Feature> feature = 1; }
 *   Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 *   BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
 *   Int64List { repeated int64 value = 1 [packed]; }
 *
 * Wire types read: varint (0), fixed64 (1), length-delimited (2), fixed32 (5); unknown fields are
 * skipped, groups (3, 4) are refused. Both packed and unpacked repeated floats and int64s are read.
 * Pure functions over bytes; a malformed message throws a `ProtobufError` saying what and where.
 */

/** A malformed message: `offset` is the byte offset in the buffer handed to the parser. */
export class ProtobufError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtobufError';
  }
}

/** One feature's values. Bytes values are views into the parsed buffer (copy them to keep them). */
export type Feature =
  | { readonly kind: 'bytes'; readonly values: readonly Uint8Array[] }
  | { readonly kind: 'float'; readonly values: readonly number[] }
  | { readonly kind: 'int64'; readonly values: readonly number[] };

/** A cursor over a protobuf message in `bytes[pos, end)`. */
export class ProtoReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
    readonly end = bytes.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint up to 2^53 (exact); larger values are refused. */
  uint(): number {
    const { lo, hi } = this.varint64();
    if (hi > 0x1fffff) throw new ProtobufError('varint larger than 2^53', this.pos);
    return hi * 4294967296 + lo;
  }

  /** A varint read as two's-complement int64, as a number (exact within +-2^53). */
  int64(): number {
    const { lo, hi } = this.varint64();
    return (hi | 0) * 4294967296 + lo;
  }

  private varint64(): { lo: number; hi: number } {
    const b = this.bytes;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint', start);
      const byte = b[this.pos++] as number;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
      shift += 7;
    }
    throw new ProtobufError('varint longer than 10 bytes', start);
  }

  /** A field key: field number and wire type. */
  key(): { field: number; wire: number } {
    const k = this.uint();
    return { field: Math.floor(k / 8), wire: k % 8 };
  }

  /** A length-delimited payload as [start, end) within `bytes`. */
  span(): [number, number] {
    const at = this.pos;
    const len = this.uint();
    const start = this.pos;
    if (len > this.end - start)
      throw new ProtobufError(`length ${len} runs past the end of the message (${this.end - start} bytes left)`, at);
    this.pos = start + len;
    return [start, start + len];
  }

  float32(): number {
    if (this.end - this.pos < 4) throw new ProtobufError('truncated fixed32', this.pos);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** Skips a field of wire type `wire`. */
  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${wire}`, at);
    }
    if (this.pos > this.end) throw new ProtobufError(`truncated fixed field (wire type ${wire})`, at);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function expectWire(r: ProtoReader, wire: number, want: number, what: string): void {
  if (wire !== want) throw new ProtobufError(`${what} has wire type ${wire}, expected ${want}`, r.pos);
}

function parseFeature(bytes: Uint8Array, start: number, end: number): Feature | undefined {
  const r = new ProtoReader(bytes, start, end);
  let feature: Feature | undefined;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field < 1 || field > 3) {
      r.skip(wire);
      continue;
    }
    expectWire(r, wire, 2, `Feature field ${field}`);
    const [s, e] = r.span();
    const list = new ProtoReader(bytes, s, e);
    if (field === 1) {
      const values: Uint8Array[] = [];
      while (!list.done) {
        const k = list.key();
        if (k.field !== 1) list.skip(k.wire);
        else {
          expectWire(list, k.wire, 2, 'BytesList value');
          const [vs, ve] = list.span();
          values.push(bytes.subarray(vs, ve));
        }
      }
      feature = { kind: 'bytes', values };
    } else if (field === 2) {
      const values: number[] = [];
      while (!list.done) {
        const k = list.key();
        if (k.field !== 1) list.skip(k.wire);
        else if (k.wire === 5) values.push(list.float32());
        else {
          expectWire(list, k.wire, 2, 'FloatList value');
          const [vs, ve] = list.span();
          if ((ve - vs) % 4 !== 0) throw new ProtobufError(`packed floats of ${ve - vs} bytes (not a multiple of 4)`, vs);
          const packed = new ProtoReader(bytes, vs, ve);
          while (!packed.done) values.push(packed.float32());
        }
      }
      feature = { kind: 'float', values };
    } else {
      const values: number[] = [];
      while (!list.done) {
        const k = list.key();
        if (k.field !== 1) list.skip(k.wire);
        else if (k.wire === 0) values.push(list.int64());
        else {
          expectWire(list, k.wire, 2, 'Int64List value');
          const [vs, ve] = list.span();
          const packed = new ProtoReader(bytes, vs, ve);
          while (!packed.done) values.push(packed.int64());
        }
      }
      feature = { kind: 'int64', values };
    }
  }
  return feature;
}

/**
 * Parses a serialized `tf.train.Example` into its features by name. A feature with no kind set
 * (an empty `Feature`) is absent from the map. Throws `ProtobufError` on malformed bytes.
 */
export function parseExample(bytes: Uint8Array): Map<string, Feature> {
  const out = new Map<string, Feature>();
  const r = new ProtoReader(bytes);
  while (!r.done) {
    const { field, wire } = r.key();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    expectWire(r, wire, 2, 'Example.features');
    const [fs, fe] = r.span();
    const features = new ProtoReader(bytes, fs, fe);
    while (!features.done) {
      const k = features.key();
      if (k.field !== 1) {
        features.skip(k.wire);
        continue;
      }
      expectWire(features, k.wire, 2, 'Features.feature');
      const [es, ee] = features.span();
      const entry = new ProtoReader(bytes, es, ee);
      let name = '';
      let value: Feature | undefined;
      while (!entry.done) {
        const e = entry.key();
        if (e.field === 1) {
          expectWire(entry, e.wire, 2, 'feature map key');
          const [ks, ke] = entry.span();
          name = utf8.decode(bytes.subarray(ks, ke));
        } else if (e.field === 2) {
          expectWire(entry, e.wire, 2, 'feature map value');
          const [vs, ve] = entry.span();
          value = parseFeature(bytes, vs, ve);
        } else entry.skip(e.wire);
      }
      if (value) out.set(name, value);
      else out.delete(name);
    }
  }
  return out;
}

/** A feature to write: `{ bytes: [...] }`, `{ float: [...] }` or `{ int64: [...] }`. */
export type FeatureInput =
  { readonly bytes: readonly Uint8Array[] } | { readonly float: readonly number[] } | { readonly int64: readonly number[] };

/** A growable byte buffer with protobuf field writers. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A varint of a non-negative integer below 2^53, or a negative one as 10-byte two's complement. */
  varint(v: number): void {
    this.room(10);
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = v >>> 0;
      hi = Math.floor(v / 4294967296) >>> 0;
    } else {
      const a = -v;
      lo = (~(a >>> 0) + 1) >>> 0;
      hi = (~Math.floor(a / 4294967296) + (lo === 0 ? 1 : 0)) >>> 0;
    }
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi = hi >>> 7;
    }
    this.buf[this.len++] = lo;
  }

  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.key(field, 2);
    this.varint(data.length);
    this.room(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  float32(v: number): void {
    this.room(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const utf8Encode = new TextEncoder();

function encodeFeature(f: FeatureInput, packed: boolean): Uint8Array {
  const list = new ProtoWriter();
  let field: number;
  if ('bytes' in f) {
    field = 1;
    for (const v of f.bytes) list.bytes(1, v);
  } else if ('float' in f) {
    field = 2;
    if (packed) {
      const p = new ProtoWriter();
      for (const v of f.float) p.float32(v);
      if (f.float.length > 0) list.bytes(1, p.finish());
    } else
      for (const v of f.float) {
        list.key(1, 5);
        list.float32(v);
      }
  } else {
    field = 3;
    if (packed) {
      const p = new ProtoWriter();
      for (const v of f.int64) p.varint(v);
      if (f.int64.length > 0) list.bytes(1, p.finish());
    } else
      for (const v of f.int64) {
        list.key(1, 0);
        list.varint(v);
      }
  }
  const feature = new ProtoWriter();
  feature.bytes(field, list.finish());
  return feature.finish();
}

/**
 * Serializes a `tf.train.Example` from features by name, as TensorFlow writes it (packed floats
 * and int64s unless `packed` is false). For tests, benchmarks and writing your own shards.
 */
export function encodeExample(features: Readonly<Record<string, FeatureInput>>, options: { readonly packed?: boolean } = {}): Uint8Array {
  const packed = options.packed ?? true;
  const all = new ProtoWriter();
  for (const [name, f] of Object.entries(features)) {
    const entry = new ProtoWriter();
    entry.bytes(1, utf8Encode.encode(name));
    entry.bytes(2, encodeFeature(f, packed));
    all.bytes(1, entry.finish());
  }
  const example = new ProtoWriter();
  example.bytes(1, all.finish());
  return example.finish();
}
