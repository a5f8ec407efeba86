/**
 * A run's epoch checkpoint: the model's weights, the optimizer's state and the run's position,
 * taken after every epoch (train.ts writes it atomically, behind the next epoch) and read back to
 * resume a killed run where it stopped, bit for bit.
 *
 * Binary, so that taking one costs a copy of the tensors and little more: the JSON of base64 it
 * replaced cost ~5 ms an epoch on the training thread for simple-cnn's 0.8 MB, and its
 * multi-megabyte strings drove the old-generation GCs.
 *
 * Layout of `<arm>-s<seed>.checkpoint`: the 4 bytes `MXCK`; the header's byte length (uint32,
 * little-endian); the header, UTF-8 JSON (format, byte order, run key, finished epochs, seconds,
 * mixing counts, and each tensor's name, shape and dtype); zeros up to a multiple of 8; then each
 * tensor's elements in the header's order, 4 bytes each in the writer's byte order. The header
 * holds the CRC-32C of those tensor bytes.
 *
 * A checkpoint is data from disk like any other: read only as a regular file inside its folder,
 * at most the size the model's state can take, its checksum checked, and its contents verified
 * against the model and the optimizer that will train (shapes, dtypes, finite values, a valid
 * position) before anything is restored; one that fails is named and never loaded.
 */
import { access, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import tf from '#tfjs';
import { crc32c } from '../../core/crc32c.js';
import { readContained } from '../../sources/files.js';
import { positionProblem, type MixingStats } from '../record.js';
import type { EpochRecord } from '../store/results.js';
import { defined } from '../../core/idioms.js';

const FORMAT = 'mixstream-checkpoint/3';
const MAGIC = 'MXCK';

export interface SavedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly values: Float32Array | Int32Array;
}

export interface Checkpoint {
  /** The run's key (runKey): a checkpoint of another config or pipeline is never loaded. */
  readonly key: string;
  readonly epochs: readonly EpochRecord[];
  /** Training seconds so far. */
  readonly seconds: number;
  readonly weights: readonly SavedTensor[];
  readonly optimizer: readonly SavedTensor[];
  /** Optimizer variables its getWeights leaves out (Adam's beta powers), see OPTIMIZER_EXTRAS. */
  readonly extras: readonly SavedTensor[];
  /** What the mixing operators did in the finished epochs. */
  readonly mixing?: MixingStats;
}

type Entry = Omit<SavedTensor, 'values'>;

interface Header extends Omit<Checkpoint, 'weights' | 'optimizer' | 'extras'> {
  readonly format: typeof FORMAT;
  readonly endian: 'LE' | 'BE';
  readonly weights: readonly Entry[];
  readonly optimizer: readonly Entry[];
  readonly extras: readonly Entry[];
  /** CRC-32C of the tensor bytes. */
  readonly crc32c: number;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** The file's bytes. */
export function encodeCheckpoint(c: Checkpoint): Buffer {
  const entry = ({ name, shape, dtype }: SavedTensor): Entry => ({ name, shape: [...shape], dtype });
  const tensors = [...c.weights, ...c.optimizer, ...c.extras];
  let crc = 0;
  for (const { values } of tensors)
    crc = crc32c(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 0, values.byteLength, crc);
  const header: Header = {
    format: FORMAT,
    endian: endianness(),
    key: c.key,
    epochs: c.epochs,
    seconds: c.seconds,
    ...defined({ mixing: c.mixing }),
    weights: c.weights.map(entry),
    optimizer: c.optimizer.map(entry),
    extras: c.extras.map(entry),
    crc32c: crc,
  };
  const json = Buffer.from(JSON.stringify(header));
  const start = align8(8 + json.length);
  const out = Buffer.alloc(start + tensors.reduce((n, t) => n + t.values.byteLength, 0));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  let at = start;
  for (const { values } of tensors) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  return out;
}

const isEntry = (e: unknown): e is Entry => {
  const x = e as Partial<Entry> | null;
  return (
    typeof x?.name === 'string' &&
    Array.isArray(x.shape) &&
    x.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
    (x.dtype === 'float32' || x.dtype === 'int32')
  );
};

/** The checkpoint in `bytes`, or why they are not one (a phrase: "truncated ..."). */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint | string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC) return 'not a mixstream checkpoint';
  const length = buf.readUInt32LE(4);
  if (8 + length > buf.length) return `truncated (a ${length}-byte header in ${buf.length} bytes)`;
  let h: Partial<Header>;
  try {
    h = JSON.parse(buf.toString('utf8', 8, 8 + length)) as Partial<Header>;
  } catch (error) {
    return `damaged (its header: ${(error as Error).message})`;
  }
  if (h.format !== FORMAT) return `of another format (${String(h.format)})`;
  if (h.endian !== endianness()) return `of another byte order (${String(h.endian)})`;
  if (typeof h.key !== 'string' || !Array.isArray(h.epochs) || typeof h.seconds !== 'number') return 'damaged (no key, epochs or seconds)';
  let at = align8(8 + length);
  const group = (entries: unknown): SavedTensor[] | string => {
    if (!Array.isArray(entries)) return 'damaged (a tensor list is missing)';
    const out: SavedTensor[] = [];
    for (const e of entries) {
      if (!isEntry(e)) return `damaged (a tensor entry reads ${JSON.stringify(e)})`;
      const end = at + 4 * e.shape.reduce((a, b) => a * b, 1);
      if (end > buf.length) return `truncated (tensor ${e.name} ends at byte ${end} of ${buf.length})`;
      const copy = new Uint8Array(buf.subarray(at, end)); // aligned, owned
      out.push({ ...e, values: e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer) });
      at = end;
    }
    return out;
  };
  const weights = group(h.weights);
  if (typeof weights === 'string') return weights;
  const optimizer = group(h.optimizer);
  if (typeof optimizer === 'string') return optimizer;
  const extras = group(h.extras);
  if (typeof extras === 'string') return extras;
  if (at !== buf.length) return `damaged (${buf.length - at} bytes past its last tensor)`;
  const payload = align8(8 + length);
  if (h.crc32c !== crc32c(buf, payload, buf.length)) return `damaged (its tensors' checksum does not match its header)`;
  return {
    key: h.key,
    epochs: h.epochs,
    seconds: h.seconds,
    weights,
    optimizer,
    extras,
    ...defined({ mixing: h.mixing }),
  };
}

/** Where mixstream before format 2 kept it (JSON of base64): never loaded, said and removed with the run's. */
const formerFile = (file: string): string => `${file}.json`;

/** What the run that reads a checkpoint expects of it. */
export interface CheckpointExpectation {
  /** The run's key (runKey). */
  readonly key: string;
  /** The epochs the run trains: a checkpoint holds fewer or all of them, never more. */
  readonly epochs: number;
  /** The optimizer that will train: Adam keeps two moments a weight, SGD with momentum one. */
  readonly optimizer: 'adam' | 'sgd';
}

const finite = (t: SavedTensor): boolean => t.values.every((v) => Number.isFinite(v));

/**
 * Why `c` cannot be restored into `model` to train with `expected.optimizer`, or undefined: the
 * weights' shapes and dtypes (float32), the optimizer's iteration count (an int32 scalar, >= 0)
 * and its slots (float32, one per trainable weight per slot, each of that weight's shape, in
 * order), Adam's scalar beta powers, every value finite, and a valid position.
 */
export function checkpointProblem(c: Checkpoint, model: tf.LayersModel, expected: CheckpointExpectation): string | undefined {
  if (c.key !== expected.key) return `of another config or pipeline (${c.key}), not ${expected.key}`;
  const position = positionProblem(c.epochs, c.mixing);
  if (position !== undefined) return `damaged (${position})`;
  if (c.epochs.length === 0) return 'holding no finished epoch';
  if (c.epochs.length > expected.epochs) return `holding ${c.epochs.length} epochs, more than the run's ${expected.epochs}`;
  if (!Number.isFinite(c.seconds) || c.seconds < 0) return `damaged (seconds ${c.seconds})`;
  const weights = model.getWeights();
  if (c.weights.length !== weights.length) return `not of this model (${c.weights.length} weights, the model has ${weights.length})`;
  for (const [i, w] of c.weights.entries()) {
    const want = weights[i]!;
    if (w.shape.join('x') !== want.shape.join('x'))
      return `not of this model (weight ${i} is ${w.shape.join('x')}, not ${want.shape.join('x')})`;
    if (w.dtype !== want.dtype) return `damaged (weight ${i} is ${w.dtype}, not ${want.dtype})`;
  }
  const [iter, ...slots] = c.optimizer;
  if (iter?.name !== 'iter' || iter.dtype !== 'int32' || iter.shape.length !== 0 || iter.values[0]! < 0)
    return `damaged (the optimizer's first tensor is not its iteration count)`;
  const trainable = model.trainableWeights.map((w) => w.shape.join('x'));
  const perWeight = expected.optimizer === 'adam' ? 2 : 1;
  if (slots.length !== perWeight * trainable.length)
    return `not of this optimizer (${slots.length} optimizer tensors, ${expected.optimizer} keeps ${perWeight * trainable.length})`;
  for (const [j, t] of slots.entries()) {
    const shape = trainable[j % trainable.length]!;
    if (t.dtype !== 'float32') return `damaged (optimizer tensor ${t.name} is ${t.dtype}, not float32)`;
    if (t.shape.join('x') !== shape) return `damaged (optimizer tensor ${t.name} is ${t.shape.join('x')}, its weight ${shape})`;
  }
  for (const t of c.extras) {
    if (!(OPTIMIZER_EXTRAS as readonly string[]).includes(t.name) || t.dtype !== 'float32' || t.shape.length !== 0)
      return `damaged (an optimizer extra reads ${t.name} ${t.dtype} ${t.shape.join('x')})`;
  }
  for (const t of [...c.weights, ...slots, ...c.extras]) if (!finite(t)) return `damaged (tensor ${t.name} holds NaN or infinite values)`;
  return undefined;
}

/**
 * The run's checkpoint when `file` holds one of this run that fits `model` (checkpointProblem);
 * else nothing (no file) or the reason it is not loaded (a phrase naming the file).
 */
export async function readCheckpoint(
  file: string,
  expected: CheckpointExpectation,
  model: tf.LayersModel,
): Promise<{ checkpoint?: Checkpoint; ignored?: string }> {
  // The model's weights, two moments each and a header: a larger file is not this run's.
  const maxBytes = 4 * 4 * model.countParams() + (1 << 20);
  let bytes: Buffer;
  try {
    bytes = await readContained('checkpoint', file, maxBytes);
  } catch (error) {
    if (!/does not exist/.test((error as Error).message))
      return { ignored: (error as Error).message.replace(/^checkpoint: /, 'checkpoint ') };
    const former = await access(formerFile(file)).then(
      () => true,
      () => false,
    );
    return former ? { ignored: `checkpoint ${formerFile(file)} is of an older format (mixstream-checkpoint/1)` } : {};
  }
  const c = decodeCheckpoint(bytes);
  if (typeof c === 'string') return { ignored: `checkpoint ${file} is ${c}` };
  const problem = checkpointProblem(c, model, expected);
  if (problem !== undefined) return { ignored: `checkpoint ${file} is ${problem}` };
  return { checkpoint: c };
}

/** Removes a run's checkpoint (and one of the former format). */
export async function removeCheckpoint(file: string): Promise<void> {
  await Promise.all([rm(file, { force: true }), rm(formerFile(file), { force: true })]);
}

// Adam's setWeights recomputes beta1^t with pow(), while training multiplies step by step: the two
// differ in the last bits, and a resumed run would drift. So the running products are saved too.
const OPTIMIZER_EXTRAS = ['accBeta1', 'accBeta2'] as const;

// Read with data(), never dataSync(): a synchronous read throws on webgpu.
const save = async (name: string, t: tf.Tensor): Promise<SavedTensor> => {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`checkpoint: tensor ${name} is ${t.dtype}, not float32 or int32`);
  return { name, shape: [...t.shape], dtype: t.dtype, values: await t.data<'float32' | 'int32'>() };
};

const load = (s: SavedTensor): tf.Tensor => tf.tensor(s.values, [...s.shape], s.dtype);

/** The model's and its optimizer's state now, with the run's position. */
export async function takeCheckpoint(
  model: tf.LayersModel,
  position: Omit<Checkpoint, 'weights' | 'optimizer' | 'extras'>,
): Promise<Checkpoint> {
  const weights = await Promise.all(model.getWeights().map((w, i) => save(String(i), w)));
  const optimizer = model.optimizer;
  const named = await optimizer.getWeights();
  const extras: SavedTensor[] = [];
  for (const name of OPTIMIZER_EXTRAS) {
    const v = (optimizer as unknown as Record<string, unknown>)[name];
    if (v instanceof tf.Variable) extras.push(await save(name, v));
  }
  const saved = await Promise.all(named.map((n) => save(n.name, n.tensor)));
  // getWeights makes a fresh scalar for the iteration count; the rest are the optimizer's own variables.
  for (const n of named) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  return { ...position, epochs: [...position.epochs], weights, optimizer: saved, extras };
}

/** Puts the checkpoint's weights and optimizer state into `model` (compiled with the optimizer that trains). */
export async function restoreCheckpoint(model: tf.LayersModel, c: Checkpoint): Promise<void> {
  const weights = c.weights.map(load);
  model.setWeights(weights);
  tf.dispose(weights);
  const optimizer = model.optimizer;
  // Not disposed: Adam's setWeights turns these very tensors into its variables.
  await optimizer.setWeights(c.optimizer.map((s) => ({ name: s.name, tensor: load(s) })));
  for (const extra of c.extras) {
    const v = (optimizer as unknown as Record<string, unknown>)[extra.name];
    if (v instanceof tf.Variable) {
      const t = load(extra);
      v.assign(t);
      t.dispose();
    }
  }
}
