/** `mixstream ablate` flags: parsing and validation by hand (node:util parseArgs), help text. */
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, type BackendChoice } from '../backend/index.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, type AblationConfig } from '../experiment/config.js';
import { MODEL_NAMES, type ModelName } from '../models/index.js';
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
  | { readonly kind: 'ablate'; readonly config: AblationConfig; readonly quiet: boolean; readonly report: boolean; readonly cacheDir?: string };

const D = DEFAULT_CONFIG;

export const ABLATE_HELP = `Usage: mixstream ablate [flags]

Runs the CutMix / Mixup ablation: trains one model per (arm, seed), validates every epoch, and
writes results.json, results.csv, report.html and PNG charts to --out. Finished runs are saved as
they finish; rerunning the same command skips them (resume after Ctrl-C or a crash).

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
                         at the end and never used for choosing, in [0, 1) [${D.testSplit ?? 0}]
  --shuffle-window <n>   shuffle-window size of the augmented arms [${D.shuffleWindow}]
  --out <folder>         output folder [${D.out}]
  --cache-dir <folder>   where the built-in data set is cached [$MIXSTREAM_CACHE, else
                         $XDG_CACHE_HOME/mixstream, else ~/.cache/mixstream]
  --no-report            write results only (no report.html, no PNG charts)
  --quiet                no progress output (the summary is still printed)
  -h, --help             this help

Exit codes: 0 done, 1 unexpected failure, 2 bad input (flag, folder, arm, model), 130 interrupted.
The same command with the same seeds gives the same numbers on the same backend.
`;

export const MAIN_HELP = `Usage: mixstream <command> [flags]

Commands:
  ablate     run the reference CutMix / Mixup ablation and write a report (default for npm start)
  arms       list the arms 'ablate' knows and their pipelines
  help       this help ('mixstream ablate --help' for the ablation's flags)
`;

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${flag} must be a positive integer, got '${value}'`);
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
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
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
  if (first !== 'ablate') throw new UsageError(`unknown command '${first}' (commands: ablate, arms, help)`);
  return parseAblate(rest);
}

export function parseAblate(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
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
        optimizer: { type: 'string' },
        momentum: { type: 'string' },
        schedule: { type: 'string' },
        warmup: { type: 'string' },
        'weight-decay': { type: 'string' },
        out: { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-report': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs' messages are one line already; drop its hint about '--' for positionals.
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'bad arguments';
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ''));
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help', text: ABLATE_HELP };

  const arms = v.arms === undefined ? D.arms : v.arms.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (arms.length === 0) throw new UsageError(`--arms must list at least one arm, got '${v.arms ?? ''}'`);
  if (new Set(arms).size !== arms.length) throw new UsageError(`--arms lists an arm twice: '${v.arms ?? ''}'`);

  let model: ModelName = D.model;
  const modelFile = v.model !== undefined && /\.json$/i.test(v.model.trim()) ? v.model.trim() : undefined;
  if (v.model !== undefined && modelFile === undefined) {
    if (!(MODEL_NAMES as readonly string[]).includes(v.model)) throw new UsageError(`unknown model '${v.model}'; known models: ${MODEL_NAMES.join(', ')}`);
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
    if (!parsedOptions || typeof parsedOptions !== 'object' || Array.isArray(parsedOptions)) throw new UsageError(`--model-options must be a JSON object, got '${v['model-options']}'`);
    modelOptions = parsedOptions as Record<string, unknown>;
  }

  let backend: BackendChoice = D.backend;
  if (v.backend !== undefined) {
    const b = v.backend.trim().toLowerCase();
    if (!(BACKEND_CHOICES as readonly string[]).includes(b)) throw new UsageError(`unknown backend '${v.backend}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
    backend = b as BackendChoice;
  }
  if (v.data !== undefined && v.data.trim() === '') throw new UsageError('--data must name a folder');
  if (v.out !== undefined && v.out.trim() === '') throw new UsageError('--out must name a folder');

  let recipe: Recipe | undefined;
  if ([v.optimizer, v.momentum, v.schedule, v.warmup, v['weight-decay']].some((x) => x !== undefined)) {
    const num = (flag: string, x: string | undefined, d: number): number => (x === undefined ? d : x.trim() === '0' ? 0 : fraction(flag, x, 0, 1e6));
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
  if (v.baseline !== undefined && !arms.includes(v.baseline)) throw new UsageError(`--baseline '${v.baseline}' is not one of the arms: ${arms.join(', ')}`);
  const config: AblationConfig = {
    ...(v.data === undefined ? {} : { data: v.data }),
    ...(v.baseline === undefined ? {} : { baseline: v.baseline }),
    ...(modelFile === undefined ? {} : { modelFile }),
    ...(recipe === undefined ? (D.recipe === undefined ? {} : { recipe: D.recipe }) : { recipe }),
    ...(v['test-split'] === undefined ? (D.testSplit === undefined ? {} : { testSplit: D.testSplit }) : { testSplit: v['test-split'].trim() === '0' ? 0 : fraction('test-split', v['test-split'], 0, 1) }),
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
  };
  return { kind: 'ablate', config, quiet: v.quiet ?? false, report: !(v['no-report'] ?? false), ...(v['cache-dir'] === undefined ? {} : { cacheDir: v['cache-dir'] }) };
}
