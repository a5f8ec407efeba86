/**
 * The command line: which command, and its flags. `mixstream ablate`'s flags, help and parsing come
 * from one table (flags.ts); what a value may be is checked by plan/validate.ts.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../experiment/errors.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, type AblationConfig } from '../experiment/plan/config.js';
import { TRAINING_MEMORY_BUDGET } from '../experiment/plan/limits.js';
import { checkRecipe, type Recipe } from '../experiment/plan/recipe.js';
import { validateShard } from '../experiment/plan/validate.js';
import { ABLATE_FLAGS, flagHelp, RUN_RECIPE, type AblateDraft } from './flags.js';
import { UsageError } from './values.js';
import { defined, errorMessage } from '../core/idioms.js';

export { parseSeeds, parseShard, UsageError } from './values.js';

export type Command =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'arms'; readonly armsModule?: string }
  | {
      readonly kind: 'report';
      readonly out: string;
      readonly config?: string;
      readonly pngs: boolean;
      readonly cacheDir?: string;
      readonly armsModule?: string;
    }
  | {
      readonly kind: 'ablate';
      readonly config: AblationConfig;
      readonly quiet: boolean;
      readonly report: boolean;
      readonly cacheDir?: string;
      /** A module exporting user arms (plan/armsModule.ts). */
      readonly armsModule?: string;
      /** Runs at once, each in its own process; 'auto': one per core. */
      readonly jobs: number | 'auto';
      readonly threads: number;
      readonly shard?: { readonly index: number; readonly count: number };
      readonly keepCheckpoints: boolean;
      /** --gpu-adapter: webgpu's adapter, for this process and its workers (MIXSTREAM_GPU_ADAPTER). */
      readonly gpuAdapter?: string;
    };

const D = DEFAULT_CONFIG;

export const ABLATE_HELP = `Usage: mixstream ablate [flags]

Runs the CutMix / Mixup ablation: trains one model per (arm, seed), validates every epoch, and
writes results.json, results.csv, report.html and PNG charts to --out. Finished runs are saved as
they finish (OUT/runs/<config>/<arm>-s<seed>.json), and each run checkpoints every epoch:
rerunning the same command skips finished runs and resumes the others at their last epoch.

Flags (default in brackets):
${flagHelp(ABLATE_FLAGS)}

--size, --batch and the model options are checked together before anything is built: a run
whose training step would need more than ${TRAINING_MEMORY_BUDGET / 2 ** 30} GiB is refused.

Exit codes: 0 done, 1 unexpected failure, 2 bad input (flag, option, data), 130 interrupted
(a second Ctrl-C ends the process at once, by SIGINT).
The same command with the same seeds gives the same numbers on the same backend.
`;

export const MAIN_HELP = `Usage: mixstream <command> [flags]

Commands:
  ablate     run the reference CutMix / Mixup ablation and write a report (default for npm start)
  arms       list the arms 'ablate' knows and their pipelines (--arms-module FILE: yours too)
  report     'mixstream report OUT': rebuild results.json, results.csv and report.html from
             OUT's run store (after sharded runs), saying which runs are missing
  help       this help ('mixstream ablate --help' for the ablation's flags)
`;

/** Parses `argv` (without node and the script). */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    if (first === 'help' && rest[0] === 'ablate') return { kind: 'help', text: ABLATE_HELP };
    return { kind: 'help', text: MAIN_HELP };
  }
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first === 'arms') return parseArms(rest);
  if (first === 'report') return parseReport(rest);
  if (first !== 'ablate') throw new UsageError(`unknown command '${first}' (commands: ablate, arms, report, help)`);
  return parseAblate(rest);
}

/** node:util parseArgs' options, from the table. Every value is a string: a value that starts with '-' (say '--epochs -1') is still its flag's. */
const ABLATE_OPTIONS = Object.fromEntries(
  ABLATE_FLAGS.map((f) => [f.name, { type: f.arg === undefined ? 'boolean' : 'string', ...defined({ short: f.short }) }]),
) as Record<string, { type: 'string' | 'boolean'; short?: string }>;

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
    if (name !== undefined && ABLATE_OPTIONS[name]?.type === 'string' && next !== undefined) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' errors in our words: one line naming the flag, never its raw text or codes. */
function usageOf(error: unknown, argv: readonly string[]): UsageError {
  const code = (error as { code?: string }).code;
  const message = errorMessage(error);
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

export const REPORT_HELP = `Usage: mixstream report OUT [--config HASH] [--no-pngs] [--arms-module FILE]

Rebuilds OUT/results.json, results.csv and report.html from the run store OUT/runs (what
'mixstream ablate --shard' tasks write into), and lists the planned runs that are missing.
With several configs in OUT, the newest one, or --config HASH. --arms-module: the module the
ablation's own arms came from, for their sample grids.
`;

function parseArms(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: { 'arms-module': { type: 'string' } } });
  } catch (error) {
    throw new UsageError(errorMessage(error).split('\n')[0] ?? 'bad arguments');
  }
  return { kind: 'arms', ...defined({ armsModule: parsed.values['arms-module'] }) };
}

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
        'arms-module': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((errorMessage(error).split('\n')[0] ?? 'bad arguments').replace(/\. To specify a positional argument.*$/, ''));
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
    ...defined({ config: v.config }),
    ...defined({ cacheDir: v['cache-dir'] }),
    ...defined({ armsModule: v['arms-module'] }),
  };
}

/** An ablate command's config keys, in the order results.json lists them. */
const CONFIG_KEYS: ReadonlyArray<keyof AblationConfig> = [
  'data',
  'baseline',
  'modelFile',
  'recipe',
  'testSplit',
  'effect',
  'arms',
  'seeds',
  'epochs',
  'size',
  'batchSize',
  'model',
  'modelOptions',
  'weights',
  'fineTune',
  'backend',
  'learningRate',
  'validationSplit',
  'shuffleWindow',
  'out',
  'maxPixels',
  'onError',
];

/** The draft's recipe flags over the run's default recipe (DEFAULT_CONFIG.recipe), or none given. */
function recipeOf(draft: AblateDraft): Recipe | undefined {
  if (Object.keys(draft.recipe).length === 0) return undefined;
  try {
    return checkRecipe({ ...RUN_RECIPE, ...draft.recipe });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

export function parseAblate(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: joinValues(argv), strict: true, allowPositionals: false, options: ABLATE_OPTIONS });
  } catch (error) {
    throw usageOf(error, argv);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { kind: 'help', text: ABLATE_HELP };
  const draft: AblateDraft = { config: {}, recipe: {}, run: {} };
  for (const flag of ABLATE_FLAGS) {
    const value = values[flag.name];
    if (value !== undefined && value !== false) flag.parse(value === true ? '' : value, draft);
  }
  if (draft.run.shard !== undefined) {
    try {
      validateShard(draft.run.shard);
    } catch (error) {
      throw error instanceof InputError ? new UsageError(error.message) : error;
    }
  }
  const model = draft.config.model ?? D.model;
  const recipe = recipeOf(draft);
  const merged: Record<string, unknown> = {
    ...D,
    ...draft.config,
    modelOptions: draft.config.modelOptions ?? { ...DEFAULT_MODEL_OPTIONS[model] },
    ...defined({ recipe }),
  };
  // In the order results.json's config has always listed them; absent ones left out.
  const config = Object.fromEntries(
    CONFIG_KEYS.filter((k) => merged[k] !== undefined).map((k) => [k, merged[k]]),
  ) as unknown as AblationConfig;
  const { run } = draft;
  return {
    kind: 'ablate',
    config,
    quiet: run.quiet ?? false,
    report: run.report ?? true,
    ...defined({ cacheDir: run.cacheDir }),
    ...defined({ armsModule: run.armsModule }),
    jobs: run.jobs ?? 'auto',
    threads: run.threads ?? 1,
    ...defined({ shard: run.shard }),
    keepCheckpoints: run.keepCheckpoints ?? false,
    ...(run.gpuAdapter === undefined ? {} : { gpuAdapter: run.gpuAdapter }),
  };
}
