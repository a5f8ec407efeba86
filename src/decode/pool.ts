import { Worker } from 'node:worker_threads';
import type * as E from 'fp-ts/lib/Either.js';
import type { DataError } from '../core/types.js';
import { defined } from '../core/idioms.js';

export interface DecodeRequest {
  readonly id: number;
  readonly input: string | Uint8Array;
  readonly origin: string;
  readonly height: number;
  readonly width: number;
  /** The decoder's pixel limit (see decodeImage). */
  readonly maxPixels?: number;
}

export interface DecodeResponse {
  readonly id: number;
  readonly result: E.Either<DataError, Uint8Array>;
}

type Pending = { resolve: (r: E.Either<DataError, Uint8Array>) => void; reject: (e: Error) => void };

/**
 * Worker threads that decode and resize, so the main thread (which also batches, mixes and, on
 * wasm, trains) only moves finished byte images, transferred without a copy. Each request goes
 * to the worker with the fewest in flight. Workers hold the process open only while they have work.
 */
export class DecodePool {
  private readonly workers: Array<{ worker: Worker; pending: Map<number, Pending> }> = [];
  private nextId = 0;
  private died: Error | undefined;

  constructor(size: number) {
    const here = import.meta.url;
    // Under tsx (sources, tests) the worker is TypeScript: register tsx inside the worker first.
    const entry = new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here).href;
    const code = here.endsWith('.ts')
      ? `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`
      : `import(${JSON.stringify(entry)})`;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(code, { eval: true });
      const slot = { worker, pending: new Map<number, Pending>() };
      worker.on('message', (response: DecodeResponse) => {
        const p = slot.pending.get(response.id);
        slot.pending.delete(response.id);
        if (slot.pending.size === 0) worker.unref();
        p?.resolve(response.result);
      });
      const fail = (error: Error): void => {
        // A dead worker leaves the pool (its work fails, naming why); later work goes to the others.
        const at = this.workers.indexOf(slot);
        if (at >= 0) this.workers.splice(at, 1);
        this.died ??= error;
        for (const p of slot.pending.values()) p.reject(new Error(`decode worker ${i} failed: ${error.message}`));
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
      worker.unref();
      this.workers.push(slot);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  decode(
    input: string | Uint8Array,
    origin: string,
    height: number,
    width: number,
    maxPixels?: number,
  ): Promise<E.Either<DataError, Uint8Array>> {
    if (this.workers.length === 0) return Promise.reject(new Error(`decode workers all stopped (${this.died?.message ?? 'closed'})`));
    const slot = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      const request: DecodeRequest = { id, input, origin, height, width, ...defined({ maxPixels }) };
      slot.worker.postMessage(request);
    });
  }

  /** Stops the workers; pending decodes reject. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

const shared = new Map<number, DecodePool>();

/** The process-wide pool of `size` workers, started on first use (and again if all of them died). */
export function decodePool(size: number): DecodePool {
  let pool = shared.get(size);
  if (!pool || pool.size === 0) {
    pool = new DecodePool(size);
    shared.set(size, pool);
  }
  return pool;
}
