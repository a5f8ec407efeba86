import { map, type Observable, type OperatorFunction } from 'rxjs';
import { expectKind } from '../core/kinds.js';
import { PREPROCESS_MODES, preprocessValues, type PreprocessMode } from '../core/preprocess.js';
import { check, type Batch } from '../core/types.js';
import { described } from '../flow/describe.js';
import { ownsItsBatches, passOwnership } from './batch.js';

/** Options for preprocessInput. */
export interface PreprocessInputOptions {
  /** 'tf': [-1, 1] (MobileNetV2); 'caffe': BGR, 0-255, minus ImageNet means (ResNet-50); 'torch': ImageNet mean/std. */
  readonly mode: PreprocessMode;
}

/**
 * Scales each batch's images the way a pretrained backbone's weights expect (keras.applications'
 * preprocess_input, from the pipeline's [0, 1] values). Emits one batch per batch and completes
 * with the source. Put it after cutmix / mixup (the scalings are affine, so they commute with a
 * blend; it belongs last so mixing sees [0, 1] images). When the source owns its batches (batch,
 * cutmix, mixup, prefetch) it scales in place; otherwise into a new array.
 *
 * @example
 * samples$.pipe(batch(16), cutmix({ alpha: 1 }), preprocessInput({ mode: 'tf' }))
 */
export function preprocessInput(options: PreprocessInputOptions): OperatorFunction<Batch, Batch> {
  const { mode } = options;
  check(PREPROCESS_MODES.includes(mode), 'preprocessInput', 'mode', `must be one of ${PREPROCESS_MODES.join(', ')}, got '${String(mode)}'`);
  return described('preprocessInput', { mode }, (source: Observable<Batch>) => {
    const inPlace = ownsItsBatches.has(source);
    const scale = map((b: Batch): Batch => {
      expectKind('preprocessInput', 'batch', b);
      const images = preprocessValues(b.images, b.shape[3], mode, inPlace ? b.images : undefined);
      return inPlace ? b : { ...b, images };
    });
    return passOwnership(source, source.pipe(scale));
  });
}
