/**
 * A run's finished epochs and their checkpoints (trainRun's bookkeeping). Each finished epoch is
 * recorded, then checkpointed behind the training (taken at once, written and synced while the
 * next epoch trains), and reported once its checkpoint is on disk, so a kill after the line
 * resumes after that epoch. At most one write is behind the training: an epoch that finishes
 * while the previous epoch's write is still going waits for it. Queued without bound, the writes
 * of a disk slower than an epoch fell further behind each epoch, and so did the lines waiting on
 * them: a Ctrl-C then printed every queued epoch after its 'stopping' line, and Ctrl-C looked
 * ignored (issue 23). A failed write is kept and thrown at the next epoch or at the end.
 */
import type { Checkpoint } from './checkpoint.js';
import { MixingObserver } from './mixstats.js';
import type { EpochRecord, RunRecord } from '../record.js';
import { writeFileAtomic } from '../store/atomic.js';

/** Where a run stands: what a checkpoint holds besides the model's and optimizer's tensors. */
export type CheckpointPosition = Omit<Checkpoint, 'weights' | 'optimizer' | 'extras'>;

export class EpochLog {
  readonly epochs: EpochRecord[] = [];
  mixing = new MixingObserver();
  /** Set when the loss became NaN or infinite: the run ends there, a result (record.ts). */
  diverged: RunRecord['diverged'];
  private readonly start = performance.now();
  private secondsBefore = 0;
  /** The one checkpoint write in flight (resolved when none), its epoch reported when it ends. */
  private writes = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly key: string,
    private readonly total: number,
    /** Where the run's checkpoint goes, and whether it is kept after the last epoch; no file: no checkpoints. */
    private readonly checkpoint: { readonly file?: string; readonly keep?: boolean },
    private readonly emit: (event: { readonly type: 'epoch'; readonly record: EpochRecord }) => void,
    private readonly write: (file: string, bytes: Uint8Array) => Promise<void> = writeFileAtomic,
  ) {}

  /** Continues a checkpointed run: its epochs, its seconds so far and its mixing counts. */
  resume(checkpoint: Checkpoint): void {
    this.epochs.push(...checkpoint.epochs);
    this.secondsBefore = checkpoint.seconds;
    this.mixing = new MixingObserver(checkpoint.mixing);
  }

  /** Training seconds of the run, those before a resume included. */
  seconds(): number {
    return this.secondsBefore + (performance.now() - this.start) / 1000;
  }

  /**
   * Records a finished epoch, checkpoints it (after the last only when kept: the run file is saved
   * next) and reports it. `snapshot` encodes the model's state now, with `position`: it is taken
   * once the previous write has ended, while the training waits for this call.
   */
  async finished(record: EpochRecord, snapshot: (position: CheckpointPosition) => Promise<Uint8Array>): Promise<void> {
    this.epochs.push(record);
    const position = { key: this.key, epochs: this.epochs, seconds: this.seconds(), mixing: this.mixing.stats() };
    // The bound: the previous epoch's write ends (and its line is out) before this epoch's begins.
    await this.writes;
    this.throwIfFailed();
    const file = this.checkpoint.file;
    if (file === undefined || (this.epochs.length === this.total && this.checkpoint.keep !== true)) {
      this.emit({ type: 'epoch', record });
      return;
    }
    const bytes = await snapshot(position);
    this.writes = this.write(file, bytes)
      .then(() => this.emit({ type: 'epoch', record }))
      .catch((error: unknown) => {
        this.failure ??= error;
      });
  }

  /** Waits for the write in flight: stopped or failed too, the last finished epoch's checkpoint is on disk. */
  settle(): Promise<void> {
    return this.writes;
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
