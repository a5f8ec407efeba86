/**
 * Progress a person can follow: per arm, seed and epoch, with images/s and ETA. On a terminal, a
 * live status line plus one line per finished epoch; elsewhere (CI logs, pipes) plain lines per
 * epoch and run, no control characters; 'quiet' prints nothing.
 *
 * A seam for tests that kill a run at a chosen moment: MIXSTREAM_TEST_HOLD_AFTER=<regex> freezes
 * the process for good right after it prints a matching line (its event loop blocked, so no
 * further batch, epoch or file is written), and the test kills it there: triggered by the event,
 * whatever the load, where a kill sent on seeing the line raced the training that went on.
 */
import { nativeStatus } from '../core/native.js';
import type { ProgressEvent } from '../experiment/run/events.js';
import { describeAdapter } from '../backend/webgpu/adapter.js';

export type ProgressMode = 'tty' | 'lines' | 'quiet';

/** 75 -> '1m15s', 3700 -> '1h01m'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');

/** Blocks this thread for good once `stream` has passed on what it holds (see MIXSTREAM_TEST_HOLD_AFTER). */
function holdForever(stream: NodeJS.WriteStream): void {
  const block = (): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  if (stream.writableLength > 0) stream.once('drain', block);
  else block();
}

/** Writes progress events to a stream (stderr or stdout). */
export class ProgressPrinter {
  /** Lines of live status on screen (one per run in flight, with --jobs). */
  private statusLines = 0;
  private lastStatus = 0;
  private readonly inFlight = new Map<string, string>();

  constructor(
    private readonly write: (text: string) => void,
    readonly mode: ProgressMode,
  ) {}

  /** A printer for `stream`: 'tty' when it is a terminal, else 'lines'; `quiet` forces 'quiet'. */
  static for(stream: NodeJS.WriteStream, quiet = false): ProgressPrinter {
    const hold = process.env.MIXSTREAM_TEST_HOLD_AFTER;
    const holdAfter = hold === undefined || hold === '' ? undefined : new RegExp(hold);
    const write = (t: string): void => {
      stream.write(t);
      if (holdAfter?.test(t)) holdForever(stream);
    };
    return new ProgressPrinter(write, quiet ? 'quiet' : stream.isTTY ? 'tty' : 'lines');
  }

  /** A permanent line (clears the live status first on a terminal). */
  line(text: string): void {
    if (this.mode === 'quiet') return;
    this.clearStatus();
    this.write(`${text}\n`);
  }

  private clearStatus(): void {
    if (this.statusLines > 0) {
      this.write(`\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(this.statusLines - 1)}`);
      this.statusLines = 0;
    }
  }

  /** Redraws the live block: one line per run in flight. */
  private status(key: string, text: string): void {
    this.inFlight.set(key, text);
    const now = performance.now();
    if (now - this.lastStatus < 100) return;
    this.lastStatus = now;
    const width = Math.max(20, (process.stderr.columns || 120) - 1);
    this.clearStatus();
    const lines = [...this.inFlight.values()].map((t) => (t.length > width ? t.slice(0, width) : t));
    this.write(`\r\x1b[2K${lines.join('\n')}`);
    this.statusLines = lines.length;
  }

  /** Clears any live status (before the process prints its own last lines). */
  done(): void {
    this.clearStatus();
  }

  readonly onProgress = (e: ProgressEvent): void => {
    if (this.mode === 'quiet') return;
    switch (e.type) {
      case 'info':
        this.line(e.message);
        break;
      case 'plan':
        this.line(
          `backend ${e.backend.name}${e.backend.adapter ? ` on ${describeAdapter(e.backend.adapter)}` : ''} (${e.backend.reason}); ${e.trainCount} training / ${e.validationCount} validation images; ` +
            `test split: ${e.testSource ?? 'none'}; ` +
            `${e.total} runs x ${e.epochs} epochs${e.shard ? ` (shard ${e.shard.index}/${e.shard.count})` : ''}${e.skipped > 0 ? `, ${e.skipped} already finished (skipped)` : ''}; ` +
            `${e.jobs ?? 1} at once; ` +
            `native addon ${nativeStatus.kind === 'native' ? 'in use' : `not in use: ${nativeStatus.why}`}`,
        );
        break;
      case 'skip':
        this.line(`  ${e.arm} seed ${e.seed}: finished earlier, skipped (val acc ${pct(e.valAccuracy)})`);
        break;
      case 'run-start':
        this.line(`[${e.run}/${e.runs}] ${e.arm} seed ${e.seed}: ${e.pipeline}`);
        break;
      case 'batch':
        if (this.mode === 'tty') {
          const eta = e.etaSeconds === undefined ? '' : `  ETA ${formatDuration(e.etaSeconds)}`;
          this.status(
            `${e.arm}|${e.seed}`,
            `[${e.run}/${e.runs}] ${e.arm} seed ${e.seed}  epoch ${e.epoch}/${e.epochs}  batch ${e.batch}/${e.batches}  ${e.imagesPerSecond.toFixed(0)} img/s${eta}`,
          );
        }
        break;
      case 'epoch': {
        const r = e.record;
        const eta = e.etaSeconds === undefined ? '' : `  ETA ${formatDuration(e.etaSeconds)}`;
        this.line(
          `  ${e.arm} seed ${e.seed} epoch ${r.epoch}/${e.epochs}: loss ${r.loss.toFixed(3)} acc ${pct(r.accuracy)}  val loss ${r.valLoss.toFixed(3)} val acc ${pct(r.valAccuracy)}  ` +
            `${r.imagesPerSecond.toFixed(0)} img/s ${r.seconds.toFixed(1)}s${eta}`,
        );
        break;
      }
      case 'resume':
        this.line(`  ${e.arm} seed ${e.seed}: resuming from its checkpoint after epoch ${e.epoch}/${e.epochs}`);
        break;
      case 'run-end':
        this.inFlight.delete(`${e.arm}|${e.seed}`);
        this.line(`  saved ${e.arm} seed ${e.seed} (${e.record.seconds.toFixed(1)}s)`);
        break;
      case 'run-stopped':
        this.inFlight.delete(`${e.arm}|${e.seed}`);
        this.line(
          `  stopped ${e.arm} seed ${e.seed} (${e.checkpointed > 0 ? `checkpointed after epoch ${e.checkpointed}/${e.epochs}: a rerun resumes there` : 'no epoch finished: a rerun starts it afresh'})`,
        );
        break;
    }
  };
}
