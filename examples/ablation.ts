/**
 * Your own ablation with the machinery `mixstream ablate` uses: the reference arms and one of your
 * own whose pipeline differs by a single operator (examples/arms.ts: CutMix with alpha 0.5 instead
 * of 1), on the built-in data set (or your image folder), on two processes, writing the same
 * results files and report. Your arms come as a module, which each --jobs worker imports too.
 *
 *   node --import tsx examples/ablation.ts [image-folder]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_CONFIG, runAblation, type AblationConfig, type ProgressEvent } from '../src/experiment/index.js';
import { writeReport } from '../src/report/index.js';

/** One line a finished run: what a script needs; `mixstream ablate` prints more. */
function progress(event: ProgressEvent): void {
  if (event.type === 'run-end') {
    const last = event.record.epochs.at(-1);
    console.log(`${event.arm} seed ${event.seed}: ${(100 * (last?.valAccuracy ?? Number.NaN)).toFixed(1)}% val accuracy`);
  } else if (event.type === 'info') console.log(event.message);
}

export async function main(
  overrides: Partial<AblationConfig> = {},
  options: { readonly cacheDir?: string; readonly pngs?: boolean } = {},
): Promise<string> {
  const config: AblationConfig = {
    ...DEFAULT_CONFIG,
    arms: ['baseline', 'cutmix', 'cutmix-half'],
    epochs: 4,
    out: 'ablation-cutmix-alpha',
    ...overrides,
  };
  const run = await runAblation(config, {
    armsModule: fileURLToPath(new URL('arms.ts', import.meta.url)),
    jobs: 2,
    onProgress: progress,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  });
  const report = await writeReport(run, { pngs: options.pngs ?? true });
  for (const s of run.results.summary)
    console.log(`${s.arm}: ${(100 * s.finalValAccuracy.mean).toFixed(1)}% ± ${(100 * s.finalValAccuracy.std).toFixed(1)}%`);
  return report.html;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const data = process.argv[2];
  console.log(`report: ${await main(data ? { data } : {})}`);
}
