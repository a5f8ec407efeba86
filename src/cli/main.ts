/**
 * The `mixstream` command line. `mixstream ablate` runs the reference CutMix / Mixup ablation and
 * writes its report; see ABLATE_HELP. Bad input prints one line on stderr and exits 2; Ctrl-C
 * finishes the write in progress and exits 130; finished runs are kept and skipped on rerun.
 *
 *   node --import tsx src/cli/main.ts ablate --epochs 4 --seeds 3
 */
import { realpathSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
// Only modules that do not load tfjs are imported here: the flags are checked, and the --jobs
// workers forked (prestartWorkers), before this process loads tfjs, the backend and the data (the
// dynamic imports below), so that the workers load theirs meanwhile.
import { jobsOn } from '../backend/choices.js';
import { applyGpuAdapterFlag } from '../backend/webgpu/adapter.js';
import { DEFAULT_CONFIG } from '../experiment/plan/config.js';
import { InputError, isInputProblem, printable } from '../experiment/errors.js';
import { autoJobs, prestartWorkers, releaseSpareWorkers } from '../experiment/run/pool.js';
import { jobsForPlan } from '../experiment/plan/planRuns.js';
import { ProgressPrinter } from './progress.js';
import { systemRoot } from '../sources/files.js';
import { parseCommand, UsageError, type Command } from './args.js';
import { ablationSummary, resultsText } from './summary.js';
import { hardInterrupt } from './interrupt.js';
import { defined, errorMessage } from '../core/idioms.js';

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

// The whole message on one line: a newline inside a file name must not cut off the reason.
const oneLine = (error: unknown): string => printable(errorMessage(error).trim());

/**
 * Refuses a folder to write (`--out`, `--cache-dir`) under /proc, /sys or /dev, or below a file,
 * before anything is made: a recursive mkdir there can fail in ways Node retries for ever
 * (`--out /proc/x` hung). Runs before the data is opened; the run store's checkOutFolder then checks
 * that `--out` lies outside the data and is writable.
 */
async function refuseSystemFolder(out: string, flag = '--out'): Promise<void> {
  let existing = path.resolve(out);
  for (;;) {
    const info = await lstat(existing).catch(() => undefined);
    if (info) break;
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const real = await realpath(existing).catch(() => existing);
  const system = systemRoot(real);
  if (system) throw new InputError(`${flag} '${out}' is under ${system} (a system folder): choose another folder`);
  const info = await lstat(real).catch(() => undefined);
  if (info && !info.isDirectory()) throw new InputError(`${flag} '${out}': '${existing}' is ${info.isFile() ? 'a file' : 'not a folder'}`);
}

/** Runs the CLI; resolves to the exit code (the caller exits). */
export async function cli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`mixstream: ${printable(message)}\n`);
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
  if (command.kind === 'arms') return armsCommand(command.armsModule, io, fail);
  if (command.kind === 'report') return reportCommand(command, io, fail);
  return ablateCommand(command, io, fail);
}

/** `mixstream arms`: each built-in arm (and each of `armsModule`), its summary and pipeline. */
async function armsCommand(armsModule: string | undefined, io: CliIo, fail: (code: number, message: string) => number): Promise<number> {
  const { buildArm, plainPipeline } = await import('../experiment/plan/arms.js');
  const { builtinArms } = await import('../experiment/plan/builtinArms.js');
  const { withArmsModule } = await import('../experiment/plan/armsModule.js');
  let registry;
  try {
    registry = await withArmsModule(builtinArms(), armsModule);
  } catch (error) {
    if (isInputProblem(error)) return fail(2, oneLine(error));
    throw error;
  }
  const o = { size: DEFAULT_CONFIG.size, batchSize: DEFAULT_CONFIG.batchSize, shuffleWindow: DEFAULT_CONFIG.shuffleWindow };
  for (const name of registry.names()) {
    const arm = registry.get(name);
    io.stdout.write(`${name}: ${arm.summary}\n    ${buildArm(arm, 1, o).describe()}\n`);
  }
  io.stdout.write(`validation (every arm): ${plainPipeline(o).describe()}\n`);
  return 0;
}

/** `mixstream report OUT`: rebuilds the views and the report from the store, and says what is missing. */
async function reportCommand(
  command: Extract<Command, { kind: 'report' }>,
  io: CliIo,
  fail: (code: number, message: string) => number,
): Promise<number> {
  try {
    const { rebuildReport } = await import('./report.js');
    const r = await rebuildReport(command.out, {
      pngs: command.pngs,
      ...defined({ configHash: command.config }),
      ...defined({ cacheDir: command.cacheDir }),
      ...defined({ armsModule: command.armsModule }),
    });
    for (const name of r.removedTemps) io.stdout.write(`removed a stale temp file ${name}\n`);
    for (const d of r.views.damaged)
      io.stderr.write(
        `mixstream: damaged run file ${d.file}: ${d.reason} (left in place; the next ablate sets it aside and trains it again)\n`,
      );
    const found = r.views.results.runs.filter((x) => x.configHash === r.header.configHash).length;
    io.stdout.write(
      `config ${r.header.configHash}: ${found} of ${r.header.arms.length * r.header.seeds.length} planned run(s) in the store\n`,
    );
    if (r.views.missing.length > 0) io.stdout.write(`missing: ${r.views.missing.map((m) => `${m.arm} seed ${m.seed}`).join(', ')}\n`);
    if (found > 0) io.stdout.write(resultsText(r.views.results, r.header.seeds.length, r.header.epochs, r.views.results.backend.name));
    if (r.others.length > 0) io.stdout.write(`other configs in the store: ${r.others.join(', ')} (--config HASH to report one)\n`);
    if (r.noSamples !== undefined) io.stdout.write(`(no sample images: ${r.noSamples})\n`);
    io.stdout.write(`results: ${r.views.resultsPath}, ${r.views.csvPath}\nreport:  ${r.report.html}\n`);
    return 0;
  } catch (error) {
    if (isInputProblem(error)) return fail(2, oneLine(error));
    return fail(1, `error: ${oneLine(error)}`);
  }
}

/** `mixstream ablate`: runs the ablation (Ctrl-C: stop after the current batch), writes its report and prints its summary. */
async function ablateCommand(
  command: Extract<Command, { kind: 'ablate' }>,
  io: CliIo,
  fail: (code: number, message: string) => number,
): Promise<number> {
  const { config } = command;
  const progress = ProgressPrinter.for(io.stdout, command.quiet);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) {
      io.stderr.write('\nmixstream: interrupted twice, exiting now\n');
      hardInterrupt();
    }
    progress.done();
    io.stderr.write('\nmixstream: interrupted; stopping after the current batch (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // Before any worker forks: they inherit the pin through the environment.
  if (command.gpuAdapter !== undefined) applyGpuAdapterFlag(command.gpuAdapter);
  // auto is one per core, a number is taken as given; either up to the runs planned (jobsForPlan,
  // which runAblation applies too): the workers prestarted here are the ones it will use.
  const asked = command.jobs === 'auto' ? autoJobs(command.threads) : command.jobs;
  const { jobs, planned } = jobsForPlan(asked, config.arms.length, config.seeds.length, command.shard);
  if (command.jobs !== 'auto' && jobs < command.jobs)
    io.stdout.write(`--jobs ${command.jobs}: ${planned} run(s) planned, so ${jobs} process(es)\n`);
  if (jobsOn(config.backend, jobs).jobs > 1) prestartWorkers(jobs - 1);
  try {
    const { builtinArms } = await import('../experiment/plan/builtinArms.js');
    const { withArmsModule } = await import('../experiment/plan/armsModule.js');
    const { runAblation } = await import('../experiment/run/runAblation.js');
    const { validateConfig } = await import('../experiment/plan/validate.js');
    const { writeReport } = await import('../report/index.js');
    // Checked here, in this order, before anything is built: flags, then the output folder (the
    // runner checks it again against the data), then the data.
    validateConfig(config, await withArmsModule(builtinArms(), command.armsModule));
    await refuseSystemFolder(config.out);
    if (command.cacheDir !== undefined && config.data === undefined) await refuseSystemFolder(command.cacheDir, '--cache-dir');
    const run = await runAblation(config, {
      signal: controller.signal,
      jobs: asked,
      threads: command.threads,
      ...defined({ shard: command.shard }),
      keepCheckpoints: command.keepCheckpoints,
      onProgress: progress.onProgress,
      ...defined({ cacheDir: command.cacheDir }),
      ...defined({ armsModule: command.armsModule }),
    });
    progress.done();
    if (run.interrupted) {
      io.stderr.write(
        `mixstream: interrupted after ${run.trained} new run(s); ${run.results.runs.filter((r) => r.configHash === run.results.configHash).length} finished run(s) saved in ${path.join(path.dirname(run.resultsPath), 'runs')}. ` +
          `Run the same command again to resume (runs in progress resume at their last finished epoch).\n`,
      );
      return 130;
    }
    let report: Awaited<ReturnType<typeof writeReport>> | undefined;
    if (command.report) report = await writeReport(run);
    const out = io.stdout;
    out.write(ablationSummary(run, report, command));
    out.write(`total ${process.uptime().toFixed(1)} s\n`);
    return controller.signal.aborted ? 130 : 0;
  } catch (error) {
    progress.done();
    if (isInputProblem(error) || error instanceof UsageError) return fail(2, oneLine(error));
    if (process.env.MIXSTREAM_DEBUG) io.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return fail(1, `error: ${oneLine(error)}${process.env.MIXSTREAM_DEBUG ? '' : ' (set MIXSTREAM_DEBUG=1 for the stack)'}`);
  } finally {
    void releaseSpareWorkers();
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
