/**
 * `--weights` for a zoo model, made ready once per process: resolved (imagenet fetched into the
 * cache, a path checked), then read and checked against the model the runs will build, so a bad
 * file fails before the first run and each run only assigns the values (applyWeights).
 */
import { resolveWeights, type FetchWeightsOptions, type ResolvedWeights } from './imagenet.js';
import { createModel } from './index.js';
import type { ModelName } from './names.js';
import type { LayerValues } from './weightFiles.js';
import { readWeightsFor } from './weights.js';

/** Resolved weights and their values by layer name. */
export interface PreparedWeights extends ResolvedWeights {
  readonly values: ReadonlyMap<string, LayerValues>;
}

/** Resolves `spec` (PATH | 'imagenet') for `model` and reads its values; rejects with one line. */
export async function prepareWeights(
  spec: string,
  o: {
    readonly model: ModelName;
    readonly modelOptions: Readonly<Record<string, unknown>>;
    readonly size: number;
    readonly numClasses: number;
  } & FetchWeightsOptions,
): Promise<PreparedWeights> {
  const alpha = typeof o.modelOptions.alpha === 'number' ? o.modelOptions.alpha : undefined;
  const resolved = await resolveWeights(spec, {
    model: o.model,
    size: o.size,
    ...(alpha === undefined ? {} : { alpha }),
    ...(o.cacheDir === undefined ? {} : { cacheDir: o.cacheDir }),
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
  });
  const model = createModel(o.model, { ...o.modelOptions, inputSize: o.size, numClasses: o.numClasses, compile: false } as Parameters<
    typeof createModel
  >[1]);
  try {
    const { values } = await readWeightsFor(model, resolved.file);
    return { ...resolved, values };
  } finally {
    model.dispose();
  }
}
