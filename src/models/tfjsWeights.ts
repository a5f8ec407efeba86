/**
 * Reads the weights of a tfjs Layers model.json (as model.save or tensorflowjs_converter writes
 * it) by layer name: the manifest's declared shapes and sizes are checked against the model and
 * against the shard files' sizes before any shard is read, shard paths must stay in the model's
 * folder, and only the shard groups that hold a needed weight are read.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  bytesText,
  elements,
  messageOf,
  regularFileSize,
  shapeText,
  WeightsError,
  type ExpectedLayer,
  type LayerValues,
} from './weightFiles.js';

interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype?: string;
  readonly quantization?: unknown;
}
interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly ManifestEntry[];
}

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
/** The largest model.json read: its manifest and topology, not its weights. */
const MAX_JSON_BYTES = 64 << 20;

interface Located {
  readonly entry: ManifestEntry;
  readonly group: number;
  readonly offset: number;
}

function manifestOf(file: string, text: string): ManifestGroup[] {
  let json: { weightsManifest?: unknown };
  try {
    json = JSON.parse(text) as { weightsManifest?: unknown };
  } catch {
    throw new WeightsError(file, 'is not JSON');
  }
  const m = json.weightsManifest;
  const ok =
    Array.isArray(m) &&
    m.every(
      (g: ManifestGroup) =>
        Array.isArray(g?.paths) &&
        g.paths.every((p) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w) =>
            typeof w?.name === 'string' &&
            Array.isArray(w.shape) &&
            w.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0),
        ),
    );
  if (!ok) throw new WeightsError(file, 'has no valid weightsManifest (expected a tfjs model.json as model.save writes it)');
  return m as ManifestGroup[];
}

/**
 * Values for each expected layer, as readKerasH5 gives them; `budget` bounds the bytes of shard
 * groups read (the model's own weights, plus room for layers it does not have).
 */
export async function readTfjsWeights(
  file: string,
  fileSize: number,
  expected: readonly ExpectedLayer[],
  optional: ReadonlySet<string>,
  budget: number,
): Promise<Map<string, LayerValues>> {
  if (fileSize > MAX_JSON_BYTES) throw new WeightsError(file, `is ${bytesText(fileSize)}: too large for a model.json`);
  const groups = manifestOf(file, await readFile(file, 'utf8'));
  const byLayer = new Map<string, Located[]>();
  const groupBytes = groups.map((g, gi) => {
    let offset = 0;
    for (const entry of g.weights) {
      const parts = entry.name.split('/');
      const layer = parts.length >= 2 ? (parts[parts.length - 2] as string) : entry.name;
      byLayer.set(layer, [...(byLayer.get(layer) ?? []), { entry, group: gi, offset }]);
      offset += elements(entry.shape) * (DTYPE_BYTES[entry.dtype ?? 'float32'] ?? Number.NaN);
    }
    return offset;
  });
  const plan = new Map<string, Located[]>();
  for (const layer of expected) {
    const found = byLayer.get(layer.name);
    if (!found && optional.has(layer.name)) continue;
    if (!found) throw new WeightsError(file, `layer '${layer.name}' (${layer.weights.length} weights) is not in the manifest`);
    const named = layer.weights.map((w) => found.find((l) => (l.entry.name.split('/').pop() ?? '').replace(/:\d+$/, '') === w.name));
    const order = named.every((l) => l !== undefined) && found.length === layer.weights.length ? (named as Located[]) : found;
    const countOk = order.length === layer.weights.length;
    const bad = countOk ? order.findIndex((l, i) => shapeText(l.entry.shape) !== shapeText(layer.weights[i]!.shape)) : 0;
    if (!countOk || bad !== -1) {
      if (optional.has(layer.name)) continue;
      if (!countOk)
        throw new WeightsError(
          file,
          `layer '${layer.name}' has ${order.length} weights in the manifest, the model's has ${layer.weights.length}`,
        );
      const l = order[bad]!;
      const declared = elements(l.entry.shape) * 4;
      throw new WeightsError(
        file,
        `'${l.entry.name}' is ${shapeText(l.entry.shape)} (${bytesText(declared)} declared), the model's weight is ${shapeText(layer.weights[bad]!.shape)}`,
      );
    }
    for (const l of order) {
      if ((l.entry.dtype ?? 'float32') !== 'float32' || l.entry.quantization !== undefined)
        throw new WeightsError(
          file,
          `'${l.entry.name}' is ${l.entry.quantization === undefined ? l.entry.dtype : 'quantized'}, not float32`,
        );
    }
    plan.set(layer.name, order);
  }
  const needed = [...new Set([...plan.values()].flat().map((l) => l.group))];
  const total = needed.reduce((a, g) => a + (groupBytes[g] ?? 0), 0);
  if (!(total <= budget))
    throw new WeightsError(
      file,
      `its manifest declares ${bytesText(total)} in the shards the model needs, more than the ${bytesText(budget)} it can hold`,
    );
  const dir = path.dirname(path.resolve(file));
  const data = new Map<number, Buffer>();
  for (const gi of needed) {
    const g = groups[gi]!;
    const shards = g.paths.map((p) => {
      const shard = path.resolve(dir, p);
      const rel = path.relative(dir, shard);
      if (rel.startsWith('..') || path.isAbsolute(rel)) throw new WeightsError(file, `shard path '${p}' leaves the model's folder`);
      return shard;
    });
    const sizes = await Promise.all(shards.map((s) => regularFileSize(s)));
    const held = sizes.reduce((a, b) => a + b, 0);
    if (held !== groupBytes[gi])
      throw new WeightsError(
        file,
        `its manifest declares ${bytesText(groupBytes[gi] ?? 0)} in [${g.paths.join(', ')}], the files hold ${bytesText(held)}`,
      );
    const parts = await Promise.all(
      shards.map((s) =>
        readFile(s).catch((e: unknown) => {
          throw new WeightsError(file, `cannot read shard '${s}': ${messageOf(e)}`);
        }),
      ),
    );
    data.set(gi, Buffer.concat(parts));
  }
  const values = new Map<string, LayerValues>();
  for (const [name, order] of plan) {
    values.set(
      name,
      order.map((l) => {
        const buf = data.get(l.group)!;
        const n = elements(l.entry.shape);
        const out = new Float32Array(n);
        Buffer.from(out.buffer).set(buf.subarray(l.offset, l.offset + 4 * n));
        return out;
      }),
    );
  }
  return values;
}
