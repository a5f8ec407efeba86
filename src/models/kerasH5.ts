/**
 * Reads a Keras HDF5 weights file with h5wasm (HDF5's own C library compiled to WebAssembly; on
 * Node it reads the file in place, so only the datasets asked for are read). Three layouts, as
 * Keras writes them: keras.applications' downloads and Keras 2's save_weights (a group per layer
 * with a weight_names attribute), Keras 2's model.save (the same under /model_weights) and Keras
 * 3's .weights.h5 (layers/<name>/vars/<i>). Every dataset's type, shape and declared size are
 * checked against what the model expects before a byte of it is read, so a hostile header cannot
 * make us allocate more than the model's own weights. While HDF5 reads, it may open the weights
 * file and nothing else: a dataset whose bytes HDF5 would fetch from another file (external
 * storage, e.g. /dev/zero or /etc/shadow) is refused.
 */
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import h5wasm, { Module, type Attribute, type Dataset, type Entity, type Group } from 'h5wasm/node';
import { bytesText, elements, messageOf, shapeText, WeightsError, type ExpectedLayer, type LayerValues } from './weightFiles.js';

/** Which Keras layout a file is in. */
export type KerasLayout = 'applications' | 'model' | 'keras3';

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Whether `file` starts with the HDF5 signature (at 0 or a power-of-two user-block offset, as the format allows). */
export async function isHdf5(file: string, size: number): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
      await handle.read(buf, 0, 8, at);
      if (buf.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

/** The largest string-list attribute read (weight_names, layer_names): a header cannot declare more. */
const MAX_ATTRIBUTE_BYTES = 16 << 20;

/** An attribute's strings, its declared size checked first; Keras splits long lists over name0, name1, ... */
function stringList(file: string, where: string, owner: Group, name: string): string[] | undefined {
  const attrs = owner.attrs;
  const parts: Attribute[] = [];
  if (attrs[name]) parts.push(attrs[name]);
  else for (let i = 0; attrs[`${name}${i}`]; i++) parts.push(attrs[`${name}${i}`] as Attribute);
  if (parts.length === 0) return undefined;
  const out: string[] = [];
  for (const a of parts) {
    const n = elements(a.shape ?? []);
    if (n * Math.max(1, a.metadata.size) > MAX_ATTRIBUTE_BYTES)
      throw new WeightsError(
        file,
        `${where} attribute '${a.name}' declares ${n} entries of ${a.metadata.size} bytes: too large to be a Keras name list`,
      );
    if (n === 0) continue; // Keras writes an empty float array for a layer without weights
    const v = a.value;
    const list = Array.isArray(v) ? v : [v];
    for (const s of list) {
      if (typeof s !== 'string') throw new WeightsError(file, `${where} attribute '${a.name}' holds ${typeof s} values, not names`);
      out.push(s);
    }
  }
  return out;
}

function describeEntity(e: Entity | null): string {
  if (e === null) return 'missing';
  if ('filename' in e) return `an external link to '${e.filename}:${e.obj_path}' (refused: a weights file must hold its own data)`;
  if ('target' in e) return `a broken link to '${e.target}'`;
  return `a ${e.constructor.name}`;
}

/**
 * Runs `read` (synchronous: no other code runs meanwhile) with Node's fs.openSync, which h5wasm's
 * file system calls, refusing every path but `file`; `refused` collects what HDF5 tried to open.
 */
function confined<T>(file: string, refused: string[], read: () => T): T {
  const own = path.resolve(file);
  const openSync = fs.openSync;
  const writeSync = fs.writeSync;
  // HDF5's error stack (printed to stderr on a failed call) is held back: the WeightsError says it in one line.
  fs.writeSync = ((fd: number, buffer: unknown, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, buffer, ...rest);
    const length = rest[1];
    return typeof length === 'number' ? length : ArrayBuffer.isView(buffer) ? buffer.byteLength : String(buffer).length;
  }) as typeof fs.writeSync;
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    if (path.resolve(String(p)) !== own) {
      refused.push(String(p));
      throw Object.assign(new Error(`EACCES: mixstream refuses to open '${String(p)}'`), { code: 'EACCES' });
    }
    return (openSync as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof fs.openSync;
  try {
    return read();
  } finally {
    fs.openSync = openSync;
    fs.writeSync = writeSync;
  }
}

const isGroup = (e: Entity | null): e is Group => e instanceof h5wasm.Group;
const isDataset = (e: Entity | null): e is Dataset => e instanceof h5wasm.Dataset;

/** One dataset's values, after checking its type, shape and declared size against the expected shape. */
function readDataset(
  file: string,
  fileSize: number,
  where: string,
  e: Entity | null,
  shape: readonly number[],
  refused: string[],
): Float32Array {
  if (!isDataset(e)) throw new WeightsError(file, `'${where}' is ${describeEntity(e)}, not a dataset`);
  const m = e.metadata;
  const declared = m.shape ?? [];
  const bytes = elements(declared) * m.size;
  if (declared.length !== shape.length || declared.some((d, i) => d !== shape[i]))
    throw new WeightsError(
      file,
      `'${where}' is ${shapeText(declared)} (${bytesText(bytes)} declared), the model's weight is ${shapeText(shape)}`,
    );
  if (m.type !== 1 || (m.size !== 4 && m.size !== 8))
    throw new WeightsError(file, `'${where}' is not float32 or float64 (HDF5 type class ${m.type}, ${m.size} bytes)`);
  if (!m.littleEndian) throw new WeightsError(file, `'${where}' holds big-endian floats, which this reader does not take`);
  // Uncompressed data larger than the whole file lives elsewhere (external storage) or is cut off.
  if (e.filters.length === 0 && bytes > fileSize)
    throw new WeightsError(file, `'${where}' declares ${bytesText(bytes)} uncompressed, more than the file's ${bytesText(fileSize)}`);
  // h5wasm's Dataset.value ignores H5Dread's status (a failed read returns whatever the buffer
  // held), so the read is done here, where the status is checked.
  const ptr = Module._malloc(bytes);
  if (!ptr) throw new WeightsError(file, `cannot allocate ${bytesText(bytes)} to read '${where}'`);
  try {
    const status = Module.get_dataset_data(e.file_id, e.path, null, null, null, BigInt(ptr));
    if (refused.length > 0)
      throw new WeightsError(file, `'${where}' keeps its data in '${refused[0]}', outside this file (HDF5 external storage): refused`);
    if (status < 0) throw new WeightsError(file, `HDF5 cannot read '${where}' (status ${status}): damaged or truncated`);
    const raw = Module.HEAPU8.slice(ptr, ptr + bytes);
    return m.size === 4 ? new Float32Array(raw.buffer) : Float32Array.from(new Float64Array(raw.buffer));
  } finally {
    Module._free(ptr);
  }
}

/** The short name Keras gives a weight: 'block_1_expand/kernel:0' -> 'kernel'. */
const shortName = (n: string): string => (n.split('/').pop() ?? n).replace(/:\d+$/, '');

/**
 * Values for each expected layer found in `file` (by layer name), in the expected weights' order:
 * by weight name where the file names them all as the model does, else by position. A layer in
 * `optional` (the new head) may be absent or of another shape; any other layer must be there with
 * every weight of the right shape. Layers of the file the model does not have are never read.
 */
export async function readKerasH5(
  file: string,
  fileSize: number,
  expected: readonly ExpectedLayer[],
  optional: ReadonlySet<string>,
): Promise<{ layout: KerasLayout; values: Map<string, LayerValues> }> {
  if (!(await isHdf5(file, fileSize))) throw new WeightsError(file, 'is not an HDF5 file (no HDF5 signature)');
  await h5wasm.ready;
  const refused: string[] = [];
  try {
    return confined(file, refused, () => readConfined(file, fileSize, expected, optional, refused));
  } catch (e) {
    // h5wasm throws plain strings and Errors from deep in a damaged file's structure.
    if (e instanceof WeightsError) throw e;
    throw new WeightsError(file, `HDF5 cannot read it (damaged or truncated?): ${messageOf(e)}`);
  }
}

function readConfined(
  file: string,
  fileSize: number,
  expected: readonly ExpectedLayer[],
  optional: ReadonlySet<string>,
  refused: string[],
): { layout: KerasLayout; values: Map<string, LayerValues> } {
  let f;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (e) {
    throw new WeightsError(file, `HDF5 cannot open it: ${messageOf(e)}`);
  }
  try {
    const modelWeights = f.get('model_weights');
    let layout: KerasLayout;
    let root: Group = f;
    if (isGroup(modelWeights) && stringList(file, '/model_weights', modelWeights, 'layer_names') !== undefined) {
      layout = 'model';
      root = modelWeights;
    } else if (stringList(file, 'root', f, 'layer_names') !== undefined) layout = 'applications';
    else if (isGroup(f.get('layers'))) layout = 'keras3';
    else throw new WeightsError(file, "has neither Keras's layer_names attribute nor a layers group: not a Keras weights file");
    const values = new Map<string, LayerValues>();
    for (const layer of expected) {
      const where = layout === 'keras3' ? `layers/${layer.name}/vars` : layer.name;
      const g = root.get(where);
      if (g === null && optional.has(layer.name)) continue;
      if (!isGroup(g))
        throw new WeightsError(
          file,
          `layer '${layer.name}' (${layer.weights.length} weights) is ${g === null ? 'not in the file' : describeEntity(g)}`,
        );
      let names: string[];
      if (layout === 'keras3') names = g.keys().sort((a, b) => Number(a) - Number(b));
      else names = stringList(file, `layer '${layer.name}'`, g, 'weight_names') ?? [];
      if (names.length !== layer.weights.length) {
        if (optional.has(layer.name)) continue;
        throw new WeightsError(
          file,
          `layer '${layer.name}' has ${names.length} weights in the file, the model's has ${layer.weights.length}`,
        );
      }
      const byName = layer.weights.map((w) => names.find((n) => shortName(n) === w.name));
      const order = byName.every((n) => n !== undefined) && new Set(byName).size === names.length ? (byName as string[]) : names;
      const shapesMatch = order.every((n, i) => {
        const e = g.get(n);
        return isDataset(e) && shapeText(e.shape ?? []) === shapeText(layer.weights[i]!.shape);
      });
      if (!shapesMatch && optional.has(layer.name)) continue; // a head for another number of classes: the model keeps its new one
      values.set(
        layer.name,
        order.map((n, i) => readDataset(file, fileSize, `${g.path}/${n}`.replace(/^\/+/, '/'), g.get(n), layer.weights[i]!.shape, refused)),
      );
    }
    return { layout, values };
  } finally {
    f.close();
  }
}
