import tf from '#tfjs';
import type { Observable } from 'rxjs';
import { oneHotLabels } from '../core/mix.js';
import type { Batch } from '../core/types.js';
import { sharedMemory } from '../flow/credit.js';
import { ownsItsBatches } from '../operators/batch.js';
import { backendCopies, toAsyncIterable, type SinkOptions, type SinkStats } from './toAsyncIterable.js';
import { defined } from '../core/idioms.js';

/** A batch's tensors: xs [B, H, W, C] and ys [B, K] (targets, or one-hot labels). The caller owns them. */
export function batchTensors(b: Batch): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const [n] = b.shape;
  const tensors = tf.tidy(() => ({
    xs: tf.tensor4d(b.images, [...b.shape]),
    ys: tf.tensor2d(b.targets ?? oneHotLabels(b.labels, b.numClasses), [n, b.numClasses]),
  }));
  // The cpu backend (and webgl until upload) keeps the batch's own array as the tensor's values:
  // a released batch's memory is then written again only once xs is disposed (flow/credit.ts).
  if (!backendCopies()) {
    const { xs } = tensors;
    sharedMemory.set(b.images, () => !xs.isDisposed);
  }
  return tensors;
}

/**
 * The event loop turns at least this often (ms) while a model reads batches, see next(). A turn
 * costs ~4 us. At 10 ms a --jobs worker still idled ~0.15 s between runs (the parent's hand-off
 * takes about 8 turns of its loop, each behind a training batch); at 2 ms, ~0.05 s.
 */
const LOOP_TURN_MS = 2;

/**
 * What `model.fitDataset` takes: a tf.data.Dataset of {xs, ys}. Every `iterator()` call (fitDataset
 * makes one per epoch, and one per validation pass) subscribes afresh, so each is a new epoch with
 * its own order. One xs and one ys tensor per batch, handed to fitDataset, which disposes them.
 * On the wasm backend each batch's memory is reused for a later batch once its tensor is made,
 * when the batches come straight from mixstream's batch operators (not through a stage of yours).
 *
 * @example
 * await model.fitDataset(toTfDataset(train$), { epochs: 10, validationData: toTfDataset(val$) });
 */
export function toTfDataset(batches: Observable<Batch>, options: TfDatasetOptions = {}): tf.data.Dataset<tf.TensorContainerObject> {
  const iterable = toAsyncIterable(batches, {
    ...defined({ stallMs: options.stallMs }),
    ...defined({ seed: options.seed }),
  });
  // Only batches nothing else can hold (straight from batch, cutmix, mixup, prefetch...): a stage
  // of the user's in between (a tap keeping the last batch) could still read them.
  const owned = ownsItsBatches.has(batches);
  return tf.data.generator(() => {
    // Subscribed on the first next(), not here: fitDataset makes one iterator before its epoch
    // loop that it never reads (without batchesPerEpoch), and an eager one would start (and
    // waste) the pipeline's epoch 0, so fitDataset's epoch e would be the pipeline's e + 1.
    let started: ReturnType<(typeof iterable)[typeof Symbol.asyncIterator]> | undefined;
    let lastTurn = performance.now();
    const read = async (): Promise<IteratorResult<tf.TensorContainerObject>> => {
      // With the batches already in memory a whole epoch runs in microtasks, so the caller's I/O
      // callbacks, timers, signals and IPC waited for its end (an ablation's p90 event-loop delay
      // was 132 ms, and a --jobs worker waited ~1.2 s for its next run): a turn every LOOP_TURN_MS.
      if (performance.now() - lastTurn > LOOP_TURN_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastTurn = performance.now();
      }
      const it = (started ??= iterable[Symbol.asyncIterator]());
      const r = await it.next();
      if (r.done) {
        options.onEpochEnd?.(it.stats);
        return { done: true, value: undefined };
      }
      const tensors = batchTensors(r.value);
      // wasm copies the values into its own memory as the tensor is made (cpu, webgl and
      // tfjs-node keep or upload them later): then the batch's memory can take the next batch.
      if (owned && backendCopies()) it.release(r.value);
      return { done: false, value: tensors };
    };
    // tf.data's prefetch calls next() again before earlier calls resolve. Each call reads after
    // the one before it: a call made while another waits for its turn would otherwise read first,
    // and batches came out of order (or one after the end, lost).
    let previous: Promise<unknown> = Promise.resolve();
    return {
      next(): Promise<IteratorResult<tf.TensorContainerObject>> {
        const result = previous.then(read);
        previous = result.catch(() => undefined);
        return result;
      },
    } as unknown as Iterator<tf.TensorContainerObject>;
  });
}

export interface TfDatasetOptions extends SinkOptions {
  /** Called when an iterator (an epoch) ends, with the time the model waited for data and the time it trained. */
  readonly onEpochEnd?: (stats: SinkStats) => void;
}
