/**
 * Your own ablation with the machinery `mixstream ablate` uses: take the reference arms, add one
 * whose pipeline differs by a single operator (CutMix with alpha 0.5 instead of 1), run both on the
 * built-in data set (or your image folder), and write the same results files and report.
 *
 *   node --import tsx examples/ablation.ts [image-folder]
 */
import { pathToFileURL } from 'node:url';
import { cutmix } from '../src/operators/index.js';
import {
  augmentedBatches,
  DEFAULT_CONFIG,
  defaultArmRegistry,
  ProgressPrinter,
  runAblation,
  type AblationConfig,
} from '../src/experiment/index.js';
import { writeReport } from '../src/report/index.js';

export async function main(overrides: Partial<AblationConfig> = {}, cacheDir?: string): Promise<string> {
  const registry = defaultArmRegistry().with({
    name: 'cutmix-half',
    summary: 'augment, then CutMix (alpha 0.5)',
    build: (seed, o) => [...augmentedBatches(seed, o), cutmix({ alpha: 0.5, seed })], // the one-line change
  });
  const config: AblationConfig = {
    ...DEFAULT_CONFIG,
    arms: ['baseline', 'cutmix', 'cutmix-half'],
    epochs: 4,
    out: 'ablation-cutmix-alpha',
    ...overrides,
  };
  const run = await runAblation(config, {
    registry,
    onProgress: ProgressPrinter.for(process.stdout).onProgress,
    ...(cacheDir ? { cacheDir } : {}),
  });
  const report = await writeReport(run);
  for (const s of run.results.summary)
    console.log(`${s.arm}: ${(100 * s.finalValAccuracy.mean).toFixed(1)}% ± ${(100 * s.finalValAccuracy.std).toFixed(1)}%`);
  return report.html;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const data = process.argv[2];
  console.log(`report: ${await main(data ? { data } : {})}`);
}
