/**
 * The `mixstream` command line. `mixstream ablate` runs the reference CutMix / Mixup ablation and
 * writes its report; see ABLATE_HELP. Bad input prints one line on stderr and exits 2; Ctrl-C
 * finishes the write in progress and exits 130; finished runs are kept and skipped on rerun.
 *
 *   node --import tsx src/cli/main.ts ablate --epochs 4 --seeds 3
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../experiment/errors.js';
import { ProgressPrinter } from '../experiment/progress.js';
import { defaultArmRegistry, plainPipeline } from '../experiment/arms.js';
import { DEFAULT_CONFIG } from '../experiment/config.js';
import { withRecipeArms } from '../experiment/recipeArms.js';
import { runAblation } from '../experiment/runner.js';
import { percent } from '../report/html.js';
import { comparisonText } from '../report/comparison.js';
import { writeReport } from '../report/index.js';
import { parseCommand, UsageError } from './args.js';

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

const firstLine = (error: unknown): string => ((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '').trim();

/** Runs the CLI; resolves to the exit code (the caller exits). */
export async function cli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`mixstream: ${message}\n`);
    return code;
  };
  let command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) return fail(2, `${error.message} (see 'mixstream ablate --help')`);
    throw error;
  }
  if (command.kind === 'help') {
    io.stdout.write(command.text);
    return 0;
  }
  if (command.kind === 'version') {
    io.stdout.write('mixstream 0.1.0\n');
    return 0;
  }
  if (command.kind === 'arms') {
    const registry = withRecipeArms(defaultArmRegistry());
    const o = { size: DEFAULT_CONFIG.size, batchSize: DEFAULT_CONFIG.batchSize, shuffleWindow: DEFAULT_CONFIG.shuffleWindow };
    for (const name of registry.names()) {
      const arm = registry.get(name);
      io.stdout.write(`${name}: ${arm.summary}\n    ${arm.build(1, o).describe()}\n`);
    }
    io.stdout.write(`validation (every arm): ${plainPipeline(o).describe()}\n`);
    return 0;
  }

  const { config } = command;
  const progress = ProgressPrinter.for(io.stdout, command.quiet);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) {
      io.stderr.write('\nmixstream: interrupted twice, exiting now\n');
      process.exit(130);
    }
    progress.done();
    io.stderr.write('\nmixstream: interrupted; stopping after the current batch (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const run = await runAblation(config, {
      signal: controller.signal,
      onProgress: progress.onProgress,
      ...(command.cacheDir === undefined ? {} : { cacheDir: command.cacheDir }),
    });
    progress.done();
    if (run.interrupted) {
      io.stderr.write(
        `mixstream: interrupted after ${run.trained} new run(s); ${run.results.runs.filter((r) => r.configHash === run.results.configHash).length} finished run(s) saved in ${run.resultsPath}. ` +
          `Run the same command again to resume.\n`,
      );
      return 130;
    }
    let report: Awaited<ReturnType<typeof writeReport>> | undefined;
    if (command.report) report = await writeReport(run);
    const out = io.stdout;
    if (run.results.comparisons) out.write(`\n${comparisonText(run.results.comparisons, run.results.warnings ?? [])}`);
    out.write(`\nFinal validation accuracy (mean ± std over ${config.seeds.length} seed(s), ${config.epochs} epochs, ${run.backend.name}):\n`);
    const width = Math.max(...run.results.summary.map((s) => s.arm.length), 3);
    for (const s of run.results.summary) {
      out.write(`  ${s.arm.padEnd(width)}  ${percent(s.finalValAccuracy.mean).padStart(6)} ± ${percent(s.finalValAccuracy.std).padStart(5)}   (val loss ${s.finalValLoss.mean.toFixed(3)} ± ${s.finalValLoss.std.toFixed(3)})\n`);
    }
    const rel = (f: string): string => {
      const r = path.relative(process.cwd(), f);
      return r === '' || r.startsWith('..') || path.isAbsolute(r) ? f : r;
    };
    out.write(`results: ${rel(run.resultsPath)}, ${rel(run.csvPath)}\n`);
    if (report) out.write(`report:  ${rel(report.html)}\ncharts:  ${report.pngs.map(rel).join(', ')}\n`);
    if (run.skipped > 0) out.write(`(${run.skipped} run(s) finished earlier were reused; delete ${rel(run.resultsPath)} to start over)\n`);
    out.write(`total ${process.uptime().toFixed(1)} s\n`);
    return controller.signal.aborted ? 130 : 0;
  } catch (error) {
    progress.done();
    if (error instanceof InputError || error instanceof UsageError) return fail(2, firstLine(error));
    if (process.env.MIXSTREAM_DEBUG) io.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return fail(1, `error: ${firstLine(error)}${process.env.MIXSTREAM_DEBUG ? '' : ' (set MIXSTREAM_DEBUG=1 for the stack)'}`);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Runs the CLI with process.argv and exits with its code (stdout flushed first). */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const code = await cli(argv);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

const isEntry = (): boolean => {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
};

if (isEntry()) await runCli();
