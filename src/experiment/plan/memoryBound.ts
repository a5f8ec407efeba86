/**
 * The memory an ablation process holds at most while it trains at a given size, as a sum of four
 * parts (README: "Memory at 224"): the runtime, the decoded-image memo, the pipeline's samples and
 * batches in flight, and the training step. And which holds the decoded images: the memo, when all
 * of them fit it, or else the memo for the first ones and a disk cache of resized bytes for the rest.
 */
import type { ModelName } from '../../models/names.js';
import { trainingBytes } from './limits.js';

/** What one process keeps of decoded images in memory (DecodedImages' maxBytes): 256 MiB. */
export const DECODED_MEMO_BYTES = 256 * 2 ** 20;

/**
 * Node, tfjs with its wasm module and the native kernels, sharp/libvips and the decode worker
 * threads, before any image or model: measured at 96-114 MiB compiled on x86-64 Linux (bench
 * seed-scale's runtimeRssMiB; 717 MiB under tsx, which compiles in the process); 320 MiB is the bound used.
 */
export const RUNTIME_BYTES = 320 * 2 ** 20;

/**
 * The wasm heap's share over trainingBytes' count: the allocator's fragmentation and the heap's
 * growth steps (it never shrinks). Measured +8.5% at MobileNetV2-224 batch 16 (bench seed-scale,
 * 2026-12-07: 4,204 MiB peak against 3,676 MiB counted plus the rest); 1.15 is the bound used.
 */
export const HEAP_FACTOR = 1.15;

/** Images normalizeResize decodes at once (its default concurrency). */
export const DECODE_CONCURRENCY = 16;

export interface MemoryBoundInput {
  readonly model: ModelName;
  readonly modelOptions?: Readonly<Record<string, unknown>>;
  readonly size: number;
  readonly batchSize: number;
  readonly shuffleWindow: number;
  /** prefetch(n)'s n. */
  readonly prefetch: number;
  /** Images decoded in the process's life: training, validation and test. */
  readonly images: number;
  readonly memoBytes?: number;
}

export interface MemoryBound {
  /** Bytes of every image decoded at the size (H x W x 3 each). */
  readonly decodedBytes: number;
  /** 'memo': they all fit the memo; 'disk': they do not, and the rest go to the disk cache. */
  readonly decoded: 'memo' | 'disk';
  readonly runtime: number;
  /** min(decodedBytes, memo's cap). */
  readonly memo: number;
  /** Samples being decoded, the shuffle window's, and (prefetch + 2) batches as bytes and as float32. */
  readonly pipeline: number;
  /** HEAP_FACTOR x limits.ts' trainingBytes: weights, gradients, Adam's moments, activations, the input batch. */
  readonly model: number;
  readonly total: number;
}

/** The bound, part by part (bytes); see the README's formula. */
export function memoryBound(o: MemoryBoundInput): MemoryBound {
  const memoCap = o.memoBytes ?? DECODED_MEMO_BYTES;
  const image = o.size * o.size * 3;
  const decodedBytes = o.images * image;
  const memo = Math.min(decodedBytes, memoCap);
  const batches = o.prefetch + 2; // prefetch's, the one being filled, the one the model trains on
  const pipeline = (DECODE_CONCURRENCY + o.shuffleWindow + batches * o.batchSize) * image + batches * o.batchSize * image * 4;
  const model = Math.round(HEAP_FACTOR * trainingBytes(o.model, o.modelOptions ?? {}, o.size, o.batchSize));
  return {
    decodedBytes,
    decoded: decodedBytes <= memoCap ? 'memo' : 'disk',
    runtime: RUNTIME_BYTES,
    memo,
    pipeline,
    model,
    total: RUNTIME_BYTES + memo + pipeline + model,
  };
}

export const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;

/** One line: the bound and its parts. */
export function describeBound(b: MemoryBound): string {
  return `memory bound ${mib(b.total)} = runtime ${mib(b.runtime)} + memo ${mib(b.memo)} + pipeline ${mib(b.pipeline)} + model ${mib(b.model)}`;
}
