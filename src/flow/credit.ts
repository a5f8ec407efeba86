import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Backpressure for push-based RxJS pipelines.
 *
 * RxJS pushes; training pulls. A sink (toAsyncIterable, toTfDataset) creates one `Credit` per
 * subscription and subscribes inside `withCredit`, so every operator and source can read it while
 * the subscription chain is built (downstream first, source last).
 *
 * The limit. Each stage that holds items declares how many, in the units of its own output:
 *
 *   sink            1 batch (the one the consumer is using)
 *   prefetch(k)     + k
 *   batch(B)        units = units * B + (B - 1)      (from here on, units are samples)
 *   shuffleWindow(n)+ n
 *   normalizeResize + concurrency
 *
 * The source emits a sample only while fewer than `limit` samples are alive.
 *
 * What is alive: credit travels with the samples. Whoever holds samples (a source item being
 * emitted, parallelMap's calls, a shuffle window, batch's buffer, the sink's queue) holds their
 * credit, and passes it on with `handoff`: the value is emitted inside a frame, and the stage of
 * mixstream that takes it into its keeping (`receive`) takes the credit. What no stage took by the
 * time the emission returns was dropped on the way, by any synchronous RxJS operator (filter,
 * skip, take, distinct, first, elementAt, throttle...), and its credit comes back at once. A stage
 * unsubscribed (take, an error) gives back what it held. So `alive` counts exactly the samples
 * held by mixstream's stages and the consumer, whatever the user put between them: no
 * declaration of drops, no leak.
 *
 * What it cannot see: a user's operator that keeps values and emits them later (delay,
 * concatMap over promises, bufferTime) holds them outside the count; they are counted again when
 * they reach a stage (`late`). The bound then holds for mixstream's stages, plus what that
 * operator keeps. For parallel async work, use parallelMap, which the credit follows.
 *
 * If the sink still starves while the source waits for credit (a stage whose hold the limit does
 * not cover), the sink's watchdog names the holders and errors the pipeline (StallError, sinks/toAsyncIterable.ts).
 *
 * Without a sink (a plain `subscribe`) there is no credit: the source runs at full speed.
 *
 * The credit also carries the batch memory the consumer gives back (`spare`/`reuse`): a fresh
 * 9.6 MB batch costs page faults and garbage collection, which dominate a warm epoch.
 */

/** How many given-back batch arrays a subscription keeps at most. */
const SPARES = 4;

/**
 * Batch memory a tensor may still be reading (a cpu tensor made over the batch's own array):
 * `inUse()` says whether it is; the array is reused only once it says no.
 */
export const sharedMemory = new WeakMap<Float32Array, () => boolean>();

export class Credit {
  private units = 1;
  private alive = 0;
  private peak = 0;
  private waiting: Array<() => void> = [];
  private readonly watchers = new Set<{ ready: () => boolean; resolve: () => void }>();
  private closed = false;
  /** Open handoffs: samples emitted and not yet taken by a stage, innermost last. */
  private readonly frames: number[] = [];
  /** What each named stage holds now, for the stall report. */
  private readonly holders = new Map<object, { name: string; held: () => number }>();
  /** Counts every acquire, release and receive: the watchdog's sign of progress. */
  events = 0;
  /** Samples dropped on the way (taken by no stage) so far. */
  dropped = 0;
  /** Samples that reached a stage outside any handoff (kept and re-emitted by a foreign operator). */
  late = 0;
  /** The sink's seed (its `seed` option): the pipeline seed of items whose source gave none. */
  seed: number | undefined = undefined;
  /** Async calls of mixstream's stages in progress (decodes): while any runs, the pipeline is not stalled. */
  busy = 0;
  /** The sources subscribed under this sink, numbered in the order they first subscribed. */
  private sources = new Map<object, number>();

  /**
   * The number of the source `key` under this sink: 0 for the first to subscribe, 1 for the next...
   * (merge and mergeWith subscribe their inputs in order, concat one after the other, so the
   * numbers are the same every run); the same source subscribed again (a later epoch, repeat)
   * keeps its number. Random streams are keyed by it (core/seeds.ts).
   */
  sourceNumber(key: object): number {
    let n = this.sources.get(key);
    if (n === undefined) {
      n = this.sources.size;
      this.sources.set(key, n);
    }
    return n;
  }

  /**
   * A credit of its own for the inputs of a stage that takes from several (interleave), so that one
   * input waiting for its turn cannot hold the others' credit; it shares the sink's seed and
   * source numbers.
   */
  child(): Credit {
    const c = new Credit();
    c.sources = this.sources;
    c.seed = this.seed;
    return c;
  }

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

  /** Whether a source (or a draining window) waits for credit now. */
  get blocked(): boolean {
    return !this.closed && (this.waiting.length > 0 || this.watchers.size > 0);
  }

  /** Resolves when one more sample may be emitted (and counts it); resolves at once after close. */
  acquire(): Promise<void> | void {
    this.events++;
    if (this.closed || this.alive < this.units) {
      this.take(1);
      return;
    }
    return new Promise<void>((resolve) => this.waiting.push(() => (this.take(1), resolve())));
  }

  /** Gives back `n` samples: consumed by the sink, dropped, or held by a stage that was unsubscribed. */
  release(n: number): void {
    this.events++;
    this.alive = Math.max(0, this.alive - n);
    while (this.waiting.length > 0 && (this.closed || this.alive < this.units)) this.waiting.shift()?.();
    for (const w of [...this.watchers]) {
      if (!this.closed && !w.ready()) continue;
      this.watchers.delete(w);
      w.resolve();
    }
  }

  /**
   * Emits a value standing for `n` samples whose credit the caller holds: `emit` runs inside a
   * frame; the stages that `receive` during it take the credit, and what none took comes back.
   */
  handoff(n: number, emit: () => void): void {
    this.frames.push(n);
    try {
      emit();
    } finally {
      const left = this.frames.pop() ?? 0;
      if (left > 0) {
        this.dropped += left;
        this.release(left);
      }
    }
  }

  /** A stage takes a value of `n` samples into its keeping (it will hand it off or release it). */
  receive(n: number): void {
    this.events++;
    const top = this.frames.length - 1;
    if (top < 0) {
      // Kept and re-emitted later by an operator the credit does not follow: counted again now.
      this.late += n;
      this.take(n);
      return;
    }
    const open = this.frames[top] as number;
    const covered = Math.min(open, n);
    this.frames[top] = open - covered;
    if (n > covered) this.take(n - covered); // a foreign operator made more than it was given
  }

  /** Names a stage for the stall report; returns the function that removes it. */
  register(stage: object, name: string, held: () => number): () => void {
    this.holders.set(stage, { name, held });
    return () => this.holders.delete(stage);
  }

  /** What each named stage holds now, e.g. `shuffleWindow(256): 256, batch(32): 31`. */
  holdings(): string {
    const parts = [...this.holders.values()].map((h) => `${h.name}: ${h.held()}`);
    return parts.length > 0 ? parts.join(', ') : 'no stage of mixstream holds any';
  }

  /** The samples the named stages hold now, together. */
  heldByStages(): number {
    let n = 0;
    for (const h of this.holders.values()) n += h.held();
    return n;
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

  /**
   * A given-back array of exactly `length` values, if there is one (its old values are still in
   * it); never one a tensor still reads (cpu tensors share the batch's memory).
   */
  spare(length: number): Float32Array | undefined {
    const i = this.spares.findIndex((a) => a.length === length && !(sharedMemory.get(a)?.() ?? false));
    return i < 0 ? undefined : this.spares.splice(i, 1)[0];
  }

  private take(n: number): void {
    this.alive += n;
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
