/**
 * The values that flow through a pipeline. Everything stays on typed arrays up to the sink; only
 * the sink makes tensors.
 */

/** Where a sample sits in its epoch: the keys of its random streams. */
export interface Position {
  /** Epoch number of the source subscription that produced it, from 0. */
  readonly epoch: number;
  /** Position in the source's order for this epoch, from 0; stable whatever the decode timing. */
  readonly index: number;
  /**
   * The pipeline's seed, stamped by the source (its `seed` option): random operators without a
   * seed of their own draw from it. Absent: 0.
   */
  readonly seed?: number;
  /** Random operators this item has passed: the place in the chain of the next one. Absent: 0. */
  readonly stream?: number;
  /**
   * Which of the sources under one sink produced it (0 for the first subscribed, absent: 0): keys
   * the random streams, so two sources merged with the same seed draw independently.
   */
  readonly source?: number;
}

/** A labelled image not yet decoded: a file path or encoded bytes (JPEG, PNG, WebP, GIF, TIFF). */
export interface EncodedSample extends Position {
  readonly input: string | Uint8Array;
  /** What to name in an error about this sample: the file path, or shard and byte offset. */
  readonly origin: string;
  readonly label: number;
  readonly numClasses: number;
}

/**
 * A decoded image, HWC. Its values are either `image` itself (float32), or, for a byte image,
 * `image[i] / 255 + delta`, clipped to [0, 1] when `clip`, mirrored when flipped: decoders emit
 * bytes (a quarter of the memory and bandwidth of float32) and augment's flips and brightness are
 * carried until `batch` writes the float32 values, in the same pass. `valuesOf(sample)` gives the
 * float32 values either way. Read-only, like everything a stage emits.
 */
export interface ImageSample extends Position {
  readonly image: Float32Array | Uint8Array;
  /** Byte images only: added to every value. Default 0. */
  readonly delta?: number;
  /** Byte images only: clip to [0, 1] after the delta. Default false. */
  readonly clip?: boolean;
  /** Byte images only: mirrored left-right (top-bottom) when the values are written. Default false. */
  readonly flipH?: boolean;
  readonly flipV?: boolean;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly label: number;
  readonly numClasses: number;
  readonly origin: string;
}

/** A batch: images as one contiguous [B, H, W, C] array and labels; `targets` once labels are soft. */
export interface Batch {
  readonly images: Float32Array;
  readonly shape: readonly [batch: number, height: number, width: number, channels: number];
  /** Hard class indices, [B]. */
  readonly labels: Int32Array;
  /** Label distributions, [B, numClasses], once oneHot, cutmix or mixup has run. */
  readonly targets?: Float32Array;
  readonly numClasses: number;
  /** Epoch of the samples in it. */
  readonly epoch: number;
  /** Batch number within the epoch, from 0. */
  readonly index: number;
  /** The pipeline's seed, from its samples (see Position). */
  readonly seed?: number;
  /** Random operators its samples and it have passed (see Position). */
  readonly stream?: number;
  /** The source of its first sample (see Position). */
  readonly source?: number;
}

/** A data error: a sample that could not be read, with what it was and why. */
export interface DataError {
  readonly _tag: 'DataError';
  readonly origin: string;
  readonly reason: string;
}

export const dataError = (origin: string, reason: string): DataError => ({ _tag: 'DataError', origin, reason });

/** Throws a RangeError naming the option when `ok` is false: programmer mistakes fail at creation. */
export function check(ok: boolean, where: string, option: string, message: string): void {
  if (!ok) throw new RangeError(`${where}: option '${option}' ${message}`);
}

/** Collects the samples a skip policy dropped: pass `log.add` as `onSkip`, read `count` and `errors`. */
export class SkipLog {
  readonly errors: DataError[] = [];
  readonly add = (error: DataError): void => {
    this.errors.push(error);
  };
  get count(): number {
    return this.errors.length;
  }
}

/** How many source samples a value stands for: a batch's size, else 1. */
export function samplesIn(value: unknown): number {
  if (value !== null && typeof value === 'object' && 'shape' in value && Array.isArray((value as Batch).shape))
    return (value as Batch).shape[0];
  return 1;
}
