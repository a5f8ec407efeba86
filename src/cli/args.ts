/** `mixstream ablate` flags: parsing and validation by hand (node:util parseArgs), help text. */
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, type BackendChoice } from '../backend/choices.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, type AblationConfig } from '../experiment/config.js';
import { InputError } from '../experiment/errors.js';
import { checkTrainingShape, DEFAULT_MAX_PIXELS, TRAINING_MEMORY_BUDGET } from '../experiment/limits.js';
import { MODEL_NAMES, type ModelName } from '../models/names.js';
import { checkRecipe, DEFAULT_RECIPE, type Recipe } from '../experiment/recipe.js';

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Command =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'arms' }
  | { readonly kind: 'report'; readonly out: string; readonly config?: string; readonly pngs: boolean; readonly cacheDir?: string }
  | {
      readonly kind: 'ablate';
      readonly config: AblationConfig;
      readonly quiet: boolean;
      readonly report: boolean;
      readonly cacheDir?: string;
      /** Runs at once, each in its own process; 'auto': one per core. */
      readonly jobs: number | 'auto';
      readonly threads: number;
      readonly shard?: { readonly index: number; readonly count: number };
      readonly keepCheckpoints: boolean;
    };

const D = DEFAULT_CONFIG;

export const ABLATE_HELP = `Usage: mixstream ablate [flags]

Runs the CutMix / Mixup ablation: trains one model per (arm, seed), validates every epoch, and
writes results.json, results.csv, report.html and PNG charts to --out. Finished runs are saved as
they finish (OUT/runs/<config>/<arm>-s<seed>.json), and each run checkpoints every epoch:
rerunning the same command skips finished runs and resumes the others at their last epoch.

Flags (default in brackets):
  --data <path>          image folder, one sub-folder per class (Stanford Dogs layout), or
                         TFRecord shards, CIFAR-10/100 binary, MNIST IDX, a CSV/JSONL manifest
                         [built-in: a generated 10-class, 1200-image set, cached in
                         $MIXSTREAM_CACHE or ~/.cache/mixstream]
  --arms <list>          comma-separated arms [${D.arms.join(',')}]
                         (see 'mixstream arms' for what each one does)
  --baseline <arm>       reference arm of the paired comparisons [the first arm]
  --effect <points>      effect of interest for 'seeds needed', in accuracy points [1]
  --epochs <n>           epochs per run [${D.epochs}]
  --seeds <n | list>     a count (3 = seeds 1,2,3) or a comma list (0,7,42) [${D.seeds.length}]
  --size <px>            square image side after normalizeResize [${D.size}]
  --batch <n>            batch size [${D.batchSize}]
  --model <name | file>  model from the zoo: ${MODEL_NAMES.join(', ')} [${D.model}], or a
                         tfjs Layers model.json (as model.save writes it): its weights start
                         every run; a new head when its output is not the data's classes
  --model-options <json> extra model options as JSON
                         [simple-cnn: ${JSON.stringify(DEFAULT_MODEL_OPTIONS['simple-cnn'])}; others: {}]
  --backend <name>       ${BACKEND_CHOICES.join(' | ')} [${D.backend}: fastest that loads]
  --lr <x>               Adam learning rate [${D.learningRate}]
  --optimizer <name>     adam | sgd (with --momentum [${DEFAULT_RECIPE.momentum}]) [${DEFAULT_RECIPE.optimizer}]
  --schedule <name>      learning-rate schedule: constant | cosine | step (x0.1 every 10
                         epochs), with --warmup <epochs> of linear warm-up [${DEFAULT_RECIPE.schedule}]
  --weight-decay <x>     decoupled weight decay per step, times the learning rate [0]
  --val-split <x>        fraction of each class held out for validation, in (0, 1) [${D.validationSplit}]
  --test-split <x>       fraction of each class held out as a test split, scored once per run
                         at the end and never used for choosing, in [0, 1) [${D.testSplit ?? 0}];
                         both splits are fractions of the whole (their sum below 1). Data with
                         test files of its own (t10k-*, test_batch.bin, test.bin, *-test
                         shards, test.csv or a 'split' column) tests on those instead
  --test <path>          a test set of its own: any data --data takes, with the same classes
  --shuffle-window <n>   shuffle-window size of the augmented arms [${D.shuffleWindow}]
  --out <folder>         output folder [${D.out}]
  --max-pixels <n>       largest image a decoder accepts, as its header declares it (width x
                         height); larger ones are bad data [${DEFAULT_MAX_PIXELS}]
  --on-error <fail|skip> a file that cannot be read or decoded: stop (exit 2), or skip it,
                         count it and list it in results.json [fail]
  --cache-dir <folder>   where the built-in data set is cached [$MIXSTREAM_CACHE, else
                         $XDG_CACHE_HOME/mixstream, else ~/.cache/mixstream]
  --jobs <n | auto>      runs trained at once, each in its own process [auto: one per core,
                         divided by --threads]
  --threads <n>          threads of each run's native kernels, 1 to 64; the numbers are the
                         same whatever the count [1: the runs fill the cores]
  --shard <i>/<n>        train only share i of n (0 <= i < n) of the runs, into a shared --out
                         (Slurm arrays, Kubernetes indexed jobs); 'mixstream report OUT' merges
  --keep-checkpoints     keep each run's checkpoint (weights and optimizer state after its last
                         epoch) in OUT/runs/<config>/<arm>-s<seed>.checkpoint
  --no-report            write results only (no report.html, no PNG charts)
  --quiet                no progress output (the summary is still printed)
  -h, --help             this help

--size, --batch and the model options are checked together before anything is built: a run
whose training step would need more than ${TRAINING_MEMORY_BUDGET / 2 ** 30} GiB is refused.

Exit codes: 0 done, 1 unexpected failure, 2 bad input (flag, option, data), 130 interrupted
(a second Ctrl-C ends the process at once, by SIGINT).
The same command with the same seeds gives the same numbers on the same backend.
`;

export const MAIN_HELP = `Usage: mixstream <command> [flags]

Commands:
  ablate     run the reference CutMix / Mixup ablation and write a report (default for npm start)
  arms       list the arms 'ablate' knows and their pipelines
  report     'mixstream report OUT': rebuild results.json, results.csv and report.html from
             OUT's run store (after sharded runs), saying which runs are missing
  help       this help ('mixstream ablate --help' for the ablation's flags)
`;

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`--${flag} must be a positive integer, got '${value}'`);
  return Number(value);
}

function fraction(flag: string, value: string, low: number, high: number): number {
  const v = value.trim();
  if (!/^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) throw new UsageError(`--${flag} must be a number, got '${value}'`);
  const n = Number(v);
  if (!(n > low && n < high)) throw new UsageError(`--${flag} must be in (${low}, ${high}), got ${value}`);
  return n;
}

/** '3' -> [1, 2, 3]; '0,7,42' -> [0, 7, 42]; '7,' -> [7]. */
export function parseSeeds(value: string): number[] {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = positiveInt('seeds', v);
    if (n > 1000) throw new UsageError(`--seeds count must be at most 1000, got ${n}`);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0 || !parts.every((s) => /^\d+$/.test(s) && Number.isSafeInteger(Number(s)))) {
    throw new UsageError(`--seeds must be a count or a comma list of integers >= 0, got '${value}'`);
  }
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds lists a seed twice: '${value}'`);
  return seeds;
}

/** Parses `argv` (without node and the script). */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    if (first === 'help' && rest[0] === 'ablate') return { kind: 'help', text: ABLATE_HELP };
    return { kind: 'help', text: MAIN_HELP };
  }
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first === 'arms') return { kind: 'arms' };
  if (first === 'report') return parseReport(rest);
  if (first !== 'ablate') throw new UsageError(`unknown command '${first}' (commands: ablate, arms, report, help)`);
  return parseAblate(rest);
}

/** The flags that take a value: a value that starts with '-' (say '--epochs -1') is still theirs. */
const ABLATE_OPTIONS = {
  data: { type: 'string' },
  arms: { type: 'string' },
  baseline: { type: 'string' },
  effect: { type: 'string' },
  epochs: { type: 'string' },
  seeds: { type: 'string' },
  size: { type: 'string' },
  batch: { type: 'string' },
  model: { type: 'string' },
  'model-options': { type: 'string' },
  backend: { type: 'string' },
  lr: { type: 'string' },
  'val-split': { type: 'string' },
  'shuffle-window': { type: 'string' },
  'test-split': { type: 'string' },
  test: { type: 'string' },
  optimizer: { type: 'string' },
  momentum: { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  'weight-decay': { type: 'string' },
  out: { type: 'string' },
  'cache-dir': { type: 'string' },
  'max-pixels': { type: 'string' },
  'on-error': { type: 'string' },
  jobs: { type: 'string' },
  shard: { type: 'string' },
  'keep-checkpoints': { type: 'boolean' },
  threads: { type: 'string' },
  'no-report': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `--flag value` as `--flag=value` for every flag that takes a value, so parseArgs never reads a
 * negative number as an option ('argument is ambiguous'); the value is then checked like any other.
 */
function joinValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && (ABLATE_OPTIONS as Record<string, { type: string }>)[name]?.type === 'string' && next !== undefined) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' errors in our words: one line naming the flag, never its raw text or codes. */
function usageOf(error: unknown, argv: readonly string[]): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^' ]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`Unknown option '${flag ?? '?'}'`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new UsageError(`unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? '?'}' (every value follows its flag)`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const missing = argv.length > 0 && flag !== undefined && argv[argv.length - 1] === flag.split(' ')[0];
    return new UsageError(
      missing ? `${flag?.split(' ')[0] ?? 'a flag'} needs a value` : `${flag?.split(' ')[0] ?? 'a flag'} takes no value`,
    );
  }
  return new UsageError(`bad arguments: ${message.split('\n')[0] ?? ''}`);
}

export const REPORT_HELP = `Usage: mixstream report OUT [--config HASH] [--no-pngs]

Rebuilds OUT/results.json, results.csv and report.html from the run store OUT/runs (what
'mixstream ablate --shard' tasks write into), and lists the planned runs that are missing.
With several configs in OUT, the newest one, or --config HASH.
`;

function parseReport(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'no-pngs': { type: 'boolean' },
        'cache-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(
      ((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'bad arguments').replace(
        /\. To specify a positional argument.*$/,
        '',
      ),
    );
  }
  if (parsed.values.help) return { kind: 'help', text: REPORT_HELP };
  if (parsed.positionals.length !== 1 || (parsed.positionals[0] ?? '').trim() === '')
    throw new UsageError(
      `report takes one output folder, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => `'${p}'`).join(' ')}`,
    );
  const v = parsed.values;
  return {
    kind: 'report',
    out: parsed.positionals[0] as string,
    pngs: !(v['no-pngs'] ?? false),
    ...(v.config === undefined ? {} : { config: v.config }),
    ...(v['cache-dir'] === undefined ? {} : { cacheDir: v['cache-dir'] }),
  };
}

/** '2/4' -> { index: 2, count: 4 }: 0 <= index < count. */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new UsageError(`--shard must be INDEX/COUNT (e.g. 0/4), got '${value}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--shard COUNT must be at least 1, got '${value}'`);
  if (!Number.isSafeInteger(index) || index >= count) throw new UsageError(`--shard INDEX must be in 0..${count - 1}, got '${value}'`);
  return { index, count };
}

export function parseAblate(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: joinValues(argv), strict: true, allowPositionals: false, options: ABLATE_OPTIONS });
  } catch (error) {
    throw usageOf(error, argv);
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help', text: ABLATE_HELP };

  const arms =
    v.arms === undefined
      ? D.arms
      : v.arms
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  if (arms.length === 0) throw new UsageError(`--arms must list at least one arm, got '${v.arms ?? ''}'`);
  if (new Set(arms).size !== arms.length) throw new UsageError(`--arms lists an arm twice: '${v.arms ?? ''}'`);

  let model: ModelName = D.model;
  const modelFile = v.model !== undefined && /\.json$/i.test(v.model.trim()) ? v.model.trim() : undefined;
  if (v.model !== undefined && modelFile === undefined) {
    if (!(MODEL_NAMES as readonly string[]).includes(v.model))
      throw new UsageError(`unknown model '${v.model}'; known models: ${MODEL_NAMES.join(', ')}`);
    model = v.model as ModelName;
  }
  let modelOptions: Record<string, unknown> = { ...DEFAULT_MODEL_OPTIONS[model] };
  if (v['model-options'] !== undefined) {
    let parsedOptions: unknown;
    try {
      parsedOptions = JSON.parse(v['model-options']);
    } catch {
      throw new UsageError(`--model-options must be a JSON object, got '${v['model-options']}'`);
    }
    if (!parsedOptions || typeof parsedOptions !== 'object' || Array.isArray(parsedOptions))
      throw new UsageError(`--model-options must be a JSON object, got '${v['model-options']}'`);
    modelOptions = parsedOptions as Record<string, unknown>;
  }
  const maxPixels = v['max-pixels'] === undefined ? undefined : positiveInt('max-pixels', v['max-pixels']);
  const onError = v['on-error']?.trim();
  if (onError !== undefined && onError !== 'fail' && onError !== 'skip')
    throw new UsageError(`--on-error must be 'fail' or 'skip', got '${v['on-error'] ?? ''}'`);

  let backend: BackendChoice = D.backend;
  if (v.backend !== undefined) {
    const b = v.backend.trim().toLowerCase();
    if (!(BACKEND_CHOICES as readonly string[]).includes(b))
      throw new UsageError(`unknown backend '${v.backend}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
    backend = b as BackendChoice;
  }
  if (v.data !== undefined && v.data.trim() === '') throw new UsageError('--data must name a folder');
  if (v.out !== undefined && v.out.trim() === '') throw new UsageError('--out must name a folder');

  let recipe: Recipe | undefined;
  if ([v.optimizer, v.momentum, v.schedule, v.warmup, v['weight-decay']].some((x) => x !== undefined)) {
    const num = (flag: string, x: string | undefined, d: number): number =>
      x === undefined ? d : x.trim() === '0' ? 0 : fraction(flag, x, 0, 1e6);
    try {
      recipe = checkRecipe({
        ...DEFAULT_RECIPE,
        ...(v.optimizer === undefined ? {} : { optimizer: v.optimizer.trim() as Recipe['optimizer'] }),
        ...(v.schedule === undefined ? {} : { schedule: v.schedule.trim() as Recipe['schedule'] }),
        momentum: num('momentum', v.momentum, DEFAULT_RECIPE.momentum),
        warmupEpochs: num('warmup', v.warmup, DEFAULT_RECIPE.warmupEpochs),
        weightDecay: num('weight-decay', v['weight-decay'], DEFAULT_RECIPE.weightDecay),
      });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  if (v.baseline !== undefined && !arms.includes(v.baseline))
    throw new UsageError(`--baseline '${v.baseline}' is not one of the arms: ${arms.join(', ')}`);
  const config: AblationConfig = {
    ...(v.data === undefined ? {} : { data: v.data }),
    ...(v.test === undefined ? {} : { test: v.test }),
    ...(v.baseline === undefined ? {} : { baseline: v.baseline }),
    ...(modelFile === undefined ? {} : { modelFile }),
    ...(recipe === undefined ? (D.recipe === undefined ? {} : { recipe: D.recipe }) : { recipe }),
    ...(v['test-split'] === undefined
      ? D.testSplit === undefined
        ? {}
        : { testSplit: D.testSplit }
      : { testSplit: v['test-split'].trim() === '0' ? 0 : fraction('test-split', v['test-split'], 0, 1) }),
    ...(v.effect === undefined ? {} : { effect: fraction('effect', v.effect, 0, 100) }),
    arms,
    seeds: v.seeds === undefined ? D.seeds : parseSeeds(v.seeds),
    epochs: v.epochs === undefined ? D.epochs : positiveInt('epochs', v.epochs),
    size: v.size === undefined ? D.size : positiveInt('size', v.size),
    batchSize: v.batch === undefined ? D.batchSize : positiveInt('batch', v.batch),
    model,
    modelOptions,
    backend,
    learningRate: v.lr === undefined ? D.learningRate : fraction('lr', v.lr, 0, 10),
    validationSplit: v['val-split'] === undefined ? D.validationSplit : fraction('val-split', v['val-split'], 0, 1),
    shuffleWindow: v['shuffle-window'] === undefined ? D.shuffleWindow : positiveInt('shuffle-window', v['shuffle-window']),
    out: v.out ?? D.out,
    ...(maxPixels === undefined ? {} : { maxPixels }),
    ...(onError === undefined ? {} : { onError }),
  };
  try {
    checkTrainingShape(config);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message);
    throw error;
  }
  const jobs = v.jobs === undefined || v.jobs.trim() === 'auto' ? 'auto' : positiveInt('jobs', v.jobs);
  const threads = v.threads === undefined ? 1 : positiveInt('threads', v.threads);
  if (threads > 64) throw new UsageError(`--threads must be from 1 to 64, got ${threads}`);
  return {
    kind: 'ablate',
    config,
    quiet: v.quiet ?? false,
    report: !(v['no-report'] ?? false),
    ...(v['cache-dir'] === undefined ? {} : { cacheDir: v['cache-dir'] }),
    jobs,
    threads,
    ...(v.shard === undefined ? {} : { shard: parseShard(v.shard) }),
    keepCheckpoints: v['keep-checkpoints'] ?? false,
  };
}
