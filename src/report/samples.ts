/**
 * What each arm really fed the model: the first training batch of its pipeline (first seed, epoch
 * 0), as a PNG grid (previewPng) and the label mix of every tile.
 */
import { firstValueFrom, take } from 'rxjs';
import type { Batch } from '../core/types.js';
import { buildArm, type ArmOptions, type ArmRegistry } from '../experiment/plan/arms.js';
import type { AblationData } from '../experiment/data/data.js';
import { previewPng } from '../sinks/preview.js';

export interface ArmSample {
  readonly arm: string;
  readonly pipeline: string;
  readonly png: Buffer;
  /** Per tile, its label mix, heaviest first: [class index, weight]. */
  readonly tiles: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  readonly columns: number;
  readonly tileSize: number;
}

/** The first `n` images of a batch as a batch of its own. */
export function headOfBatch(b: Batch, n: number): Batch {
  const [count, h, w, c] = b.shape;
  const k = Math.min(n, count);
  const per = h * w * c;
  return {
    ...b,
    images: b.images.slice(0, k * per),
    shape: [k, h, w, c],
    labels: b.labels.slice(0, k),
    ...(b.targets ? { targets: b.targets.slice(0, k * b.numClasses) } : {}),
  };
}

/** Label weights of tile i, heaviest first, weights under 1% dropped. */
export function tileLabels(b: Batch, i: number): Array<[number, number]> {
  const k = b.numClasses;
  if (!b.targets) return [[b.labels[i] ?? 0, 1]];
  const out: Array<[number, number]> = [];
  for (let j = 0; j < k; j++) {
    const w = b.targets[i * k + j] ?? 0;
    if (w >= 0.01) out.push([j, w]);
  }
  return out.sort((a, b2) => b2[1] - a[1]);
}

/** One sample grid per arm, from the arm's actual training pipeline. */
export async function armSamples(
  data: AblationData,
  registry: ArmRegistry,
  arms: readonly string[],
  seed: number,
  options: ArmOptions,
  count = 16,
): Promise<ArmSample[]> {
  const out: ArmSample[] = [];
  for (const name of arms) {
    const pipeline = buildArm(registry.get(name), seed, options);
    const first = await firstValueFrom(data.train(seed).pipe(pipeline.operator, take(1)));
    const b = headOfBatch(first, count);
    const columns = Math.min(8, b.shape[0]);
    out.push({
      arm: name,
      pipeline: pipeline.describe(),
      png: await previewPng(b, { columns, gap: 2 }),
      tiles: Array.from({ length: b.shape[0] }, (_, i) => tileLabels(b, i)),
      columns,
      tileSize: b.shape[2],
    });
  }
  return out;
}
