/** What `mixstream ablate` prints when it is done: the comparisons, the per-arm table, where the files are. */
import path from 'node:path';
import { printable } from '../experiment/errors.js';
import type { AblationRun } from '../experiment/run/scheduler.js';
import type { ResultsFile } from '../experiment/store/results.js';
import { comparisonText } from '../report/comparison.js';
import { verdictsText } from '../report/verdicts.js';
import { partialText, percent } from '../report/html.js';
import type { ReportFiles } from '../report/index.js';
import type { Command } from './args.js';

/**
 * The comparisons (with their warnings) and the per-arm table of a results file, as `ablate` and
 * `mixstream report` both print them; a partial one says what is missing first.
 */
export function resultsText(results: ResultsFile, seeds: number, epochs: number, backend: string): string {
  const text: string[] = [];
  if (!results.complete) text.push(`\n${partialText(results)}\n`);
  if (results.headline) text.push(`\n${verdictsText(results.headline)}`);
  else if (results.comparisons) text.push(`\n${comparisonText(results.comparisons, results.warnings ?? [])}`);
  if (results.headline) for (const w of results.warnings ?? []) text.push(`warning: ${w.message}\n`);
  if (results.regime) text.push(`${results.regime.message}\n`);
  const hasTest = results.summary.some((s) => s.testAccuracy !== undefined);
  text.push(
    `\n${hasTest ? 'Test accuracy (headline), final validation and train accuracy' : 'Final validation accuracy'} (mean ± std over ${seeds} seed(s), ${epochs} epochs, ${backend}):\n`,
  );
  const width = Math.max(...results.summary.map((s) => s.arm.length), 3);
  const ms = (m: { mean: number; std: number } | undefined): string =>
    m ? `${percent(m.mean).padStart(6)} ± ${percent(m.std).padStart(5)}` : 'n/a';
  for (const s of results.summary) {
    text.push(
      `  ${s.arm.padEnd(width)}  ${hasTest ? `test ${ms(s.testAccuracy)}   val ` : ''}${ms(s.finalValAccuracy)}   train ${ms(s.finalAccuracy)}   (val loss ${s.finalValLoss.mean.toFixed(3)} ± ${s.finalValLoss.std.toFixed(3)})${s.diverged?.length ? `   ${s.diverged.length} diverged: not in the means` : ''}\n`,
    );
  }
  return text.join('');
}

/** The summary of a finished ablation, as printed lines (each ending in a newline). */
export function ablationSummary(run: AblationRun, report: ReportFiles | undefined, command: Extract<Command, { kind: 'ablate' }>): string {
  const { config } = command;
  const text: string[] = [resultsText(run.results, config.seeds.length, config.epochs, run.backend.name)];
  const rel = (f: string): string => {
    const r = path.relative(process.cwd(), f);
    return r === '' || r.startsWith('..') || path.isAbsolute(r) ? f : r;
  };
  text.push(`results: ${rel(run.resultsPath)}, ${rel(run.csvPath)}\n`);
  if (report) text.push(`report:  ${rel(report.html)}\ncharts:  ${report.pngs.map(rel).join(', ')}\n`);
  const skipped = run.results.skipped ?? [];
  if (skipped.length > 0) {
    text.push(
      `skipped ${skipped.length} file(s), listed in results.json: ${printable(
        skipped
          .slice(0, 3)
          .map((s) => `${s.path} (${s.reason})`)
          .join('; '),
      )}${skipped.length > 3 ? '; ...' : ''}\n`,
    );
  }
  if (run.skipped > 0)
    text.push(
      `(${run.skipped} run(s) finished earlier were reused; delete ${rel(path.join(path.dirname(run.resultsPath), 'runs', run.results.configHash))} to start over)\n`,
    );
  if (command.shard !== undefined) {
    const left =
      run.results.arms.length * config.seeds.length - run.results.runs.filter((r) => r.configHash === run.results.configHash).length;
    text.push(
      `shard ${command.shard.index}/${command.shard.count} done; ${left > 0 ? `${left} run(s) of other shards not in yet: ` : ''}'mixstream report ${rel(path.dirname(run.resultsPath))}' merges the store\n`,
    );
  }
  return text.join('');
}
