/** Opening an ablation's data from its config: a data set openDataset recognises, or the built-in one. */
import type { SkipLog } from '../../core/types.js';
import { builtinSplits, ensureBuiltinDataset } from './builtin.js';
import type { AblationData } from './data.js';
import { openDetectedData } from './detected.js';
import { defined } from '../../core/idioms.js';

/** A line for the progress display (the run's ProgressEvent of type 'info'). */
export interface InfoEvent {
  readonly type: 'info';
  readonly message: string;
}

/** What of an ablation's config (plan/config.ts: AblationConfig) says which data and how it is split. */
export interface DataConfig {
  /** A data set's path; undefined: the built-in data set. */
  readonly data?: string;
  readonly validationSplit: number;
  readonly testSplit?: number;
  /** A test set of its own (--test PATH). */
  readonly test?: string;
  readonly seeds: readonly number[];
  readonly onError?: 'fail' | 'skip';
}

/** Opens the config's data: any data set openDataset recognises, or the built-in one (generated on first use). */
export async function openConfigData(
  config: DataConfig,
  options: { readonly cacheDir?: string; readonly onProgress?: (event: InfoEvent) => void; readonly skipLog?: SkipLog } = {},
): Promise<AblationData> {
  const testSplit = config.testSplit ?? 0;
  if (config.data !== undefined || config.test !== undefined)
    return openDetectedData(
      config.data ?? builtinSplits(await ensureBuiltinDataset(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })).train,
      {
        ...defined({ test: config.test }),
        validationSplit: config.validationSplit,
        seeds: config.seeds,
        testSplit,
        ...defined({ onError: config.onError }),
        ...(options.skipLog === undefined ? {} : { onSkip: options.skipLog.add }),
      },
    );
  const root = await ensureBuiltinDataset({
    ...defined({ cacheDir: options.cacheDir }),
    onGenerate: (folder) => options.onProgress?.({ type: 'info', message: `generating the built-in data set in ${folder} (once)` }),
  });
  // Its own test images (2,000, drawn apart from the training ones): the test split, whatever --test-split says.
  const data = await openDetectedData(builtinSplits(root).train, {
    test: builtinSplits(root).test,
    validationSplit: config.validationSplit,
    seeds: config.seeds,
    testSplit,
  });
  return {
    ...data,
    testSource: `${data.testCount ?? 0} images: the built-in data set's own test images (drawn apart from the training ones)`,
  };
}
