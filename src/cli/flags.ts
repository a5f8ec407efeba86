/**
 * The one table of `mixstream ablate`'s flags: each row is a flag's name, its value's name, its
 * help line with the default (read off DEFAULT_CONFIG, so help cannot drift from what runs), and
 * its parser. --help, node:util's parseArgs options and the parsing are generated from it (args.ts).
 * Parsers check only that a value parses; what a value may be (arms known, baseline among them,
 * size x batch within the memory budget, a shard in range) is plan/validate.ts's, for CLI and API alike.
 */
import { BACKEND_CHOICES, type BackendChoice } from '../backend/choices.js';
import { GPU_ADAPTER_ENV, parseGpuAdapter } from '../backend/webgpu/adapter.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, type AblationConfig } from '../experiment/plan/config.js';
import { DEFAULT_MAX_PIXELS } from '../experiment/plan/limits.js';
import type { Shard } from '../experiment/plan/planRuns.js';
import { DEFAULT_RECIPE, type Recipe } from '../experiment/plan/recipe.js';
import type { FineTunePolicy } from '../models/fineTunePolicy.js';
import { BACKBONE_NAMES, MODEL_NAMES, type ModelName } from '../models/names.js';
import { folder, fraction, parseSeeds, parseShard, positiveInt, recipeNumber, UsageError } from './values.js';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** What the flags fill in; args.ts completes it with the defaults. */
export interface AblateDraft {
  readonly config: Mutable<AblationConfig>;
  /** Recipe flags given: each starts from the run's default recipe (DEFAULT_CONFIG.recipe). */
  readonly recipe: Mutable<Recipe>;
  readonly run: {
    quiet?: boolean;
    report?: boolean;
    cacheDir?: string;
    armsModule?: string;
    jobs?: number | 'auto';
    threads?: number;
    shard?: Shard;
    keepCheckpoints?: boolean;
    gpuAdapter?: string;
  };
}

export interface Flag {
  readonly name: string;
  readonly short?: string;
  /** The value's name in --help ('<n>'); absent: a switch, taking no value. */
  readonly arg?: string;
  /** Help text; `\n` starts a continuation line. The default follows it in brackets when `shown` is given (on a line of its own when `shown` starts with `\n`). */
  readonly help: string;
  readonly shown?: string;
  /** Parses the value (a switch gets '') into the draft; throws UsageError naming the flag. */
  readonly parse: (value: string, draft: AblateDraft) => void;
}

const D = DEFAULT_CONFIG;
/** The recipe a run gets with no recipe flag, and the one every recipe flag starts from. */
export const RUN_RECIPE: Recipe = D.recipe ?? DEFAULT_RECIPE;

function parseModel(value: string, draft: AblateDraft): void {
  const v = value.trim();
  if (/\.json$/i.test(v)) {
    draft.config.modelFile = v;
    return;
  }
  if (!(MODEL_NAMES as readonly string[]).includes(value))
    throw new UsageError(`unknown model '${value}'; known models: ${MODEL_NAMES.join(', ')}`);
  draft.config.model = value as ModelName;
}

function parseModelOptions(value: string, draft: AblateDraft): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`--model-options must be a JSON object, got '${value}'`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--model-options must be a JSON object, got '${value}'`);
  draft.config.modelOptions = parsed as Record<string, unknown>;
}

function parseBackend(value: string, draft: AblateDraft): void {
  const b = value.trim().toLowerCase();
  if (!(BACKEND_CHOICES as readonly string[]).includes(b))
    throw new UsageError(`unknown backend '${value}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
  draft.config.backend = b as BackendChoice;
}

/** A --freeze / --unfreeze-at / --backbone-lr-mult value into the draft's fine-tuning policy (checked by validate.ts). */
function fineTune(d: AblateDraft, part: Partial<FineTunePolicy>): void {
  d.config.fineTune = { freeze: 'none', ...d.config.fineTune, ...part };
}

/** The flags, in --help order. */
export const ABLATE_FLAGS: readonly Flag[] = [
  {
    name: 'data',
    arg: '<path>',
    help: 'image folder, one sub-folder per class (Stanford Dogs layout), or\nTFRecord shards, CIFAR-10/100 binary, MNIST IDX, a CSV/JSONL manifest',
    shown: '\nbuilt-in: a generated 10-class set, 600 training and 2,000 test images, cached in\n$MIXSTREAM_CACHE or ~/.cache/mixstream',
    parse: (v, d) => void (d.config.data = folder('data', v)),
  },
  {
    name: 'arms',
    arg: '<list>',
    help: `comma-separated arms [${D.arms.join(',')}]\n(see 'mixstream arms' for what each one does)`,
    parse: (v, d) =>
      void (d.config.arms = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')),
  },
  {
    name: 'arms-module',
    arg: '<file>',
    help: 'a .js or .ts module exporting your own arms, named in --arms like the\nbuilt-in ones; every --jobs worker and --shard task imports it too',
    parse: (v, d) => void (d.run.armsModule = v),
  },
  {
    name: 'baseline',
    arg: '<arm>',
    help: 'reference arm of the paired comparisons',
    shown: 'the first arm',
    parse: (v, d) => void (d.config.baseline = v),
  },
  {
    name: 'effect',
    arg: '<points>',
    help: "effect of interest D, in accuracy points: 'equivalent within D', and\nthe seeds needed to detect D",
    shown: '1',
    parse: (v, d) => void (d.config.effect = fraction('effect', v, 0, 100)),
  },
  {
    name: 'contrasts',
    arg: '<list>',
    help: "the contrasts that carry verdicts, Holm over all of them, e.g.\n'cutmix:augment,augment:baseline' (add ':secondary' to mark one)",
    shown: '\neach arm against its parent (cutmix, mixup: augment; augment:\nbaseline), and against the baseline',
    parse: (v, d) => void (d.config.contrasts = v.trim()),
  },
  {
    name: 'epochs',
    arg: '<n>',
    help: 'epochs per run',
    shown: `${D.epochs}`,
    parse: (v, d) => void (d.config.epochs = positiveInt('epochs', v)),
  },
  {
    name: 'seeds',
    arg: '<n | list>',
    help: 'a count (3 = seeds 1,2,3) or a comma list (0,7,42)',
    shown: `${D.seeds.length}`,
    parse: (v, d) => void (d.config.seeds = parseSeeds(v)),
  },
  {
    name: 'size',
    arg: '<px>',
    help: 'square image side after normalizeResize',
    shown: `${D.size}`,
    parse: (v, d) => void (d.config.size = positiveInt('size', v)),
  },
  {
    name: 'batch',
    arg: '<n>',
    help: 'batch size',
    shown: `${D.batchSize}`,
    parse: (v, d) => void (d.config.batchSize = positiveInt('batch', v)),
  },
  {
    name: 'model',
    arg: '<name | file>',
    help: `model from the zoo: ${MODEL_NAMES.join(', ')} [${D.model}], or a\ntfjs Layers model.json (as model.save writes it): its weights start\nevery run; a new head when its output is not the data's classes`,
    parse: parseModel,
  },
  {
    name: 'model-options',
    arg: '<json>',
    help: 'extra model options as JSON',
    shown: `\nsimple-cnn: ${JSON.stringify(DEFAULT_MODEL_OPTIONS['simple-cnn'])}; others: {}`,
    parse: parseModelOptions,
  },
  {
    name: 'weights',
    arg: '<file | imagenet>',
    help: `start every run's backbone from a Keras .h5 or a tfjs model.json\n(by layer name), or 'imagenet': the file Keras publishes for\n${BACKBONE_NAMES.join(' / ')}, downloaded once into the cache`,
    shown: 'none',
    parse: (v, d) => {
      if (v.trim() === '') throw new UsageError("--weights must name a file or 'imagenet'");
      d.config.weights = v.trim();
    },
  },
  {
    name: 'freeze',
    arg: 'backbone',
    help: 'train the head only (frozen batch norm in inference mode)',
    shown: 'none',
    parse: (v, d) => fineTune(d, { freeze: v.trim() as FineTunePolicy['freeze'] }),
  },
  {
    name: 'unfreeze-at',
    arg: '<epoch>',
    help: 'with --freeze backbone: the backbone trains too from this epoch (from 1)',
    parse: (v, d) => fineTune(d, { unfreezeAt: positiveInt('unfreeze-at', v) }),
  },
  {
    name: 'backbone-lr-mult',
    arg: '<x>',
    help: "the backbone's learning rate, times --lr",
    shown: '1',
    parse: (v, d) => {
      if (!/^(\d+\.?\d*|\.\d+)$/.test(v.trim())) throw new UsageError(`--backbone-lr-mult must be a number >= 0, got '${v}'`);
      fineTune(d, { backboneLrMult: Number(v.trim()) });
    },
  },
  { name: 'backend', arg: '<name>', help: BACKEND_CHOICES.join(' | '), shown: `${D.backend}: fastest that loads`, parse: parseBackend },
  {
    name: 'gpu-adapter',
    arg: '<which>',
    help: `webgpu's adapter: high-performance | low-power | a name Dawn lists\n(or ${GPU_ADAPTER_ENV})`,
    shown: 'high-performance',
    parse: (v, d) => {
      if (v.trim() === '') throw new UsageError("--gpu-adapter needs a value: high-performance, low-power or an adapter's name");
      try {
        parseGpuAdapter(v);
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      d.run.gpuAdapter = v.trim();
    },
  },
  {
    name: 'lr',
    arg: '<x>',
    help: "learning rate of the optimizer, adam or sgd (the schedule's peak)",
    shown: `${D.learningRate}`,
    parse: (v, d) => void (d.config.learningRate = fraction('lr', v, 0, 10)),
  },
  {
    name: 'optimizer',
    arg: '<name>',
    help: 'adam | sgd',
    shown: RUN_RECIPE.optimizer,
    parse: (v, d) => void (d.recipe.optimizer = v.trim() as Recipe['optimizer']),
  },
  {
    name: 'momentum',
    arg: '<x>',
    help: "sgd's momentum",
    shown: `${RUN_RECIPE.momentum}`,
    parse: (v, d) => void (d.recipe.momentum = recipeNumber('momentum', v)),
  },
  {
    name: 'schedule',
    arg: '<name>',
    help: 'learning-rate schedule: constant | cosine | step (x0.1 every 10\nepochs)',
    shown: RUN_RECIPE.schedule,
    parse: (v, d) => void (d.recipe.schedule = v.trim() as Recipe['schedule']),
  },
  {
    name: 'warmup',
    arg: '<epochs>',
    help: 'epochs of linear learning-rate warm-up',
    shown: `${RUN_RECIPE.warmupEpochs}`,
    parse: (v, d) => void (d.recipe.warmupEpochs = recipeNumber('warmup', v)),
  },
  {
    name: 'weight-decay',
    arg: '<x>',
    help: 'decoupled weight decay per step, times the learning rate',
    shown: `${RUN_RECIPE.weightDecay}`,
    parse: (v, d) => void (d.recipe.weightDecay = recipeNumber('weight-decay', v)),
  },
  {
    name: 'val-split',
    arg: '<x>',
    help: 'fraction of each class held out for validation, in (0, 1)',
    shown: `${D.validationSplit}`,
    parse: (v, d) => void (d.config.validationSplit = fraction('val-split', v, 0, 1)),
  },
  {
    name: 'test-split',
    arg: '<x>',
    help: 'fraction of each class held out as a test split, scored once per run\nat the end and never used for choosing, in [0, 1)',
    shown: `${D.testSplit ?? 0}`,
    parse: (v, d) => void (d.config.testSplit = v.trim() === '0' ? 0 : fraction('test-split', v, 0, 1)),
  },
  {
    name: 'test',
    arg: '<path>',
    help: "a test set of its own: any data --data takes, with the same classes.\n--val-split and --test-split are fractions of the whole (their sum\nbelow 1); data with test files of its own (t10k-*, test_batch.bin,\ntest.bin, *-test shards, test.csv or a 'split' column) tests on those",
    parse: (v, d) => void (d.config.test = folder('test', v)),
  },
  {
    name: 'shuffle-window',
    arg: '<n>',
    help: 'shuffle-window size of the augmented arms',
    shown: `${D.shuffleWindow}`,
    parse: (v, d) => void (d.config.shuffleWindow = positiveInt('shuffle-window', v)),
  },
  { name: 'out', arg: '<folder>', help: 'output folder', shown: D.out, parse: (v, d) => void (d.config.out = folder('out', v)) },
  {
    name: 'max-pixels',
    arg: '<n>',
    help: 'largest image a decoder accepts, as its header declares it (width x\nheight); larger ones are bad data',
    shown: `${DEFAULT_MAX_PIXELS}`,
    parse: (v, d) => void (d.config.maxPixels = positiveInt('max-pixels', v)),
  },
  {
    name: 'on-error',
    arg: '<fail|skip>',
    help: 'a file that cannot be read or decoded: stop (exit 2), or skip it,\ncount it and list it in results.json',
    shown: 'fail',
    parse: (v, d) => {
      const e = v.trim();
      if (e !== 'fail' && e !== 'skip') throw new UsageError(`--on-error must be 'fail' or 'skip', got '${v}'`);
      d.config.onError = e;
    },
  },
  {
    name: 'cache-dir',
    arg: '<folder>',
    help: 'where the built-in data set is cached',
    shown: '$MIXSTREAM_CACHE, else\n$XDG_CACHE_HOME/mixstream, else ~/.cache/mixstream',
    parse: (v, d) => void (d.run.cacheDir = v),
  },
  {
    name: 'jobs',
    arg: '<n | auto>',
    help: 'runs trained at once, each in its own process; never more than\nthe runs planned. auto stays within the cores; a number is taken\nas given (more than the cores share them)',
    shown: 'auto: one per core,\ndivided by --threads',
    parse: (v, d) => void (d.run.jobs = v.trim() === 'auto' ? 'auto' : positiveInt('jobs', v)),
  },
  {
    name: 'threads',
    arg: '<n>',
    help: "threads of each run's native kernels, 1 to 64; the numbers are the\nsame whatever the count",
    shown: '1: the runs fill the cores',
    parse: (v, d) => {
      const threads = positiveInt('threads', v);
      if (threads > 64) throw new UsageError(`--threads must be from 1 to 64, got ${threads}`);
      d.run.threads = threads;
    },
  },
  {
    name: 'shard',
    arg: '<i>/<n>',
    help: "train only share i of n (0 <= i < n) of the runs, into a shared --out\n(Slurm arrays, Kubernetes indexed jobs); 'mixstream report OUT' merges",
    parse: (v, d) => void (d.run.shard = parseShard(v)),
  },
  {
    name: 'keep-checkpoints',
    help: "keep each run's checkpoint (weights and optimizer state after its last\nepoch) in OUT/runs/<config>/<arm>-s<seed>.checkpoint",
    parse: (_, d) => void (d.run.keepCheckpoints = true),
  },
  { name: 'no-report', help: 'write results only (no report.html, no PNG charts)', parse: (_, d) => void (d.run.report = false) },
  { name: 'quiet', help: 'no progress output (the summary is still printed)', parse: (_, d) => void (d.run.quiet = true) },
  { name: 'help', short: 'h', help: 'this help', parse: () => undefined },
];

/** The flags' lines of --help: name and value at 2, text at 25, continuation lines under it. */
export function flagHelp(flags: readonly Flag[]): string {
  const lines: string[] = [];
  for (const f of flags) {
    const head = `${f.short === undefined ? '' : `-${f.short}, `}--${f.name}${f.arg === undefined ? '' : ` ${f.arg}`}`;
    const shown = f.shown === undefined ? '' : f.shown.startsWith('\n') ? `\n[${f.shown.slice(1)}]` : ` [${f.shown}]`;
    const text = `${f.help}${shown}`.split('\n');
    lines.push(`  ${head.padEnd(22)} ${text[0] ?? ''}`, ...text.slice(1).map((t) => `${' '.repeat(25)}${t}`));
  }
  return lines.join('\n');
}
