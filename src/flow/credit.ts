import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Backpressure for push-based RxJS pipelines.
 *
 * RxJS pushes; training pulls. A sink (toAsyncIterable, toTfDataset) creates one `Credit` per
 * subscription and subscribes inside `withCredit`, so every operator and source can read it while
 * the subscription chain is built (downstream first, source last). Each stage that holds items
 * declares how many, in the units of its own output:
 *
 *   sink            1 batch (the one the consumer is using)
 *   prefetch(k)     + k
 *   batch(B)        units = units * B + (B - 1)      (from here on, units are samples)
 *   shuffleWindow(n)+ n
 *   normalizeResize + concurrency
 *
 * The source reads the total as its `limit` and emits a sample only while fewer than `limit`
 * samples are alive (emitted, not yet released). The sink releases a batch's samples when the
 * consumer asks for the next one; an operator that drops a sample (onError: 'skip') releases it
 * itself. So decoded images alive <= limit at every moment, and the limit is exactly what the
 * stages can hold, so the pipeline never stalls for lack of credit.
 *
 * A stage that drops samples without releasing them (RxJS `filter` before `batch`) leaks credit;
 * use the pipeline's own skip policies, or release explicitly with `creditOf()`.
 * Without a sink (a plain `subscribe`) there is no credit: the source runs at full speed.
 *
 * The credit also carries the batch memory the consumer gives back (`spare`/`reuse`): a fresh
 * 9.6 MB batch costs page faults and garbage collection, which dominate a warm epoch.
 */

/** How many given-back batch arrays a subscription keeps at most. */
const SPARES = 4;

export class Credit {
  private units = 1;
  private alive = 0;
  private peak = 0;
  private waiting: Array<() => void> = [];
  private readonly watchers = new Set<{ ready: () => boolean; resolve: () => void }>();
  private closed = false;

  /**
   * Adds `n` held items at the current level (prefetch, shuffleWindow, decode concurrency).
   * `stage` identifies the operator application: a stage subscribed again under the same sink
   * (inside `repeat`, say) holds the same items, so it is counted once.
   */
  hold(n: number, stage: object): void {
    if (this.once(stage)) this.units += n;
  }

  /** Everything counted so far is in batches of `size`; the batcher itself holds up to size - 1. */
  batchesOf(size: number, stage: object): void {
    if (this.once(stage)) this.units = this.units * size + (size - 1);
  }

  private readonly stages = new WeakSet<object>();

  private once(stage: object): boolean {
    if (this.stages.has(stage)) return false;
    this.stages.add(stage);
    return true;
  }

  /** The most samples alive at once: the bound the pipeline keeps. */
  get limit(): number {
    return this.units;
  }

  /** Samples emitted by the source and not yet released. */
  get inFlight(): number {
    return this.alive;
  }

  /** The highest `inFlight` seen. */
  get peakInFlight(): number {
    return this.peak;
  }

  /** Resolves when one more sample may be emitted (and counts it); resolves at once after close. */
  acquire(): Promise<void> | void {
    if (this.closed || this.alive < this.units) {
      this.take();
      return;
    }
    return new Promise<void>((resolve) => this.waiting.push(() => (this.take(), resolve())));
  }

  /** Gives back `n` samples: consumed by the sink or dropped by an operator. */
  release(n: number): void {
    this.alive = Math.max(0, this.alive - n);
    while (this.waiting.length > 0 && (this.closed || this.alive < this.units)) this.waiting.shift()?.();
    for (const w of [...this.watchers]) if (this.closed || w.ready()) this.watchers.delete(w), w.resolve();
  }

  /**
   * Resolves once `ready()` holds (checked now and after every release), or the subscription ends.
   * For a stage that emits what it holds (a shuffle window draining at the end of an epoch) only as
   * fast as the stages below it give samples back.
   */
  until(ready: () => boolean): Promise<void> | void {
    if (this.closed || ready()) return;
    return new Promise<void>((resolve) => this.watchers.add({ ready, resolve }));
  }

  /** Ends the subscription: waiters are let go (the source sees it was unsubscribed and stops). */
  close(): void {
    this.closed = true;
    this.release(0);
  }

  private readonly spares: Float32Array[] = [];

  /** Keeps `array` (a batch's images the consumer is done with) for a later batch to be written into. */
  reuse(array: Float32Array): void {
    if (this.spares.length < SPARES && !this.spares.includes(array)) this.spares.push(array);
  }

  /** A given-back array of exactly `length` values, if there is one (its old values are still in it). */
  spare(length: number): Float32Array | undefined {
    const i = this.spares.findIndex((a) => a.length === length);
    return i < 0 ? undefined : this.spares.splice(i, 1)[0];
  }

  private take(): void {
    this.alive++;
    if (this.alive > this.peak) this.peak = this.alive;
  }
}

const store = new AsyncLocalStorage<Credit>();

/** Runs `subscribe` with `credit` visible to every stage that subscribes inside it. */
export function withCredit<T>(credit: Credit, subscribe: () => T): T {
  return store.run(credit, subscribe);
}

/** The credit of the sink now subscribing, if any; read it synchronously in a subscribe function. */
export function creditOf(): Credit | undefined {
  return store.getStore();
}
