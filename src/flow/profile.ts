import { Observable, tap, type OperatorFunction } from 'rxjs';
import { samplesIn } from '../core/types.js';

/** What one stage did over a run; times in milliseconds of wall clock. */
export interface StageStats {
  readonly name: string;
  /** Values in and out. */
  readonly received: number;
  readonly emitted: number;
  /** Output values per second of wall time between subscription and completion (or now). */
  readonly perSecond: number;
  /** Time with at least one value inside the stage (decoding, buffered in a window or batch). */
  readonly busyMs: number;
  /** Time with nothing inside: waiting for upstream. */
  readonly idleMs: number;
  /** Values inside now, and the most at once (input values not yet turned into output). */
  readonly inside: number;
  readonly peakInside: number;
}

interface Counter {
  name: string;
  order: number;
  received: number;
  emitted: number;
  inside: number;
  peakInside: number;
  busyMs: number;
  since: number;
  start: number;
  end?: number;
}

/**
 * Per-stage statistics, like tf.data's profiler: wrap any operator with `profiler.stage(name, op)`
 * and read `profiler.report()` (or print `profiler.table()`) during or after a run. Sink-side
 * waiting (the consumer waiting for data, data waiting for the consumer) is in the sink's stats.
 *
 * @example
 * const p = new Profiler();
 * files$.pipe(p.stage('decode', normalizeResize({ size: 224 })), p.stage('batch', batch(16)));
 */
export class Profiler {
  private readonly stages: Counter[] = [];

  private built = 0;

  stage<A, B>(name: string, operator: OperatorFunction<A, B>): OperatorFunction<A, B> {
    return (source) => {
      // Pipes are built upstream first: this order is the pipeline's order.
      const order = this.built++;
      return new Observable<B>((subscriber) => {
        const now = performance.now();
        const c: Counter = { name, order, received: 0, emitted: 0, inside: 0, peakInside: 0, busyMs: 0, since: now, start: now };
        // A stage that turns samples into batches uses up a batch's samples per output.
        let inputs: 'samples' | 'values' | undefined;
        this.stages.push(c);
        const tick = (): void => {
          const t = performance.now();
          if (c.inside > 0) c.busyMs += t - c.since;
          c.since = t;
        };
        // tap, not a hand-made subscriber: an early unsubscribe downstream reaches a synchronous source.
        const counted = source.pipe(
          tap((v) => {
            tick();
            inputs ??= samplesIn(v) === 1 ? 'samples' : 'values';
            c.received++;
            c.inside++;
            c.peakInside = Math.max(c.peakInside, c.inside);
          }),
        );
        return operator(counted).subscribe({
          next: (v) => {
            tick();
            c.emitted++;
            c.inside = Math.max(0, c.inside - (inputs === 'samples' ? samplesIn(v) : 1));
            subscriber.next(v);
          },
          error: (e: unknown) => {
            tick();
            c.end = performance.now();
            subscriber.error(e);
          },
          complete: () => {
            tick();
            c.end = performance.now();
            c.inside = 0;
            subscriber.complete();
          },
        });
      });
    };
  }

  /** One entry per stage subscription (so per epoch), in pipeline order, each stage's epochs in turn. */
  report(): StageStats[] {
    const now = performance.now();
    const sorted = [...this.stages].sort((a, b) => a.order - b.order || a.start - b.start);
    return sorted.map((c) => {
      const wall = (c.end ?? now) - c.start;
      const busyMs = c.busyMs + (c.end === undefined && c.inside > 0 ? now - c.since : 0);
      return {
        name: c.name,
        received: c.received,
        emitted: c.emitted,
        perSecond: wall > 0 ? (c.emitted * 1000) / wall : 0,
        busyMs,
        idleMs: Math.max(0, wall - busyMs),
        inside: c.inside,
        peakInside: c.peakInside,
      };
    });
  }

  /** The report as aligned text lines. */
  table(): string {
    const rows = this.report().map((s) =>
      [s.name, s.received, s.emitted, s.perSecond.toFixed(1), s.busyMs.toFixed(0), s.idleMs.toFixed(0), s.peakInside].map(String),
    );
    const head = ['stage', 'in', 'out', 'out/s', 'busy ms', 'idle ms', 'peak inside'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    return [head, ...rows].map((r) => r.map((v, i) => v.padStart(width[i] ?? 0)).join('  ')).join('\n');
  }
}
