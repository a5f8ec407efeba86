/**
 * Runs an ablation: starts the --jobs workers (one process per GPU on webgpu), fetches --weights
 * imagenet once, prepares the config and hands it to the Scheduler (scheduler.ts), which plans,
 * claims, trains and keeps the runs.
 */
import path from 'node:path';
import { jobsOn } from '../../backend/choices.js';
import { GPU_ADAPTER_ENV, parseGpuAdapter } from '../../backend/webgpu/adapter.js';
import { probeWebGpu } from '../../backend/webgpu/setup.js';
import { defined, errorMessage } from '../../core/idioms.js';
import { resolveWeights } from '../../models/imagenet.js';
import { ensureBuiltinDataset } from '../data/builtin.js';
import { InputError } from '../errors.js';
import type { AblationConfig } from '../plan/config.js';
import { jobsForPlan } from '../plan/planRuns.js';
import { validateShard } from '../plan/validate.js';
import { prepareAblation } from '../train/prepare.js';
import { WorkerPool } from './pool.js';
import { Scheduler, type AblationRun, type RunAblationOptions } from './scheduler.js';

/** Resolves --weights imagenet (downloads it once into the cache); a failure is bad input, in one line. */
async function fetchImagenetOnce(config: AblationConfig): Promise<void> {
  const alpha = config.modelOptions.alpha;
  try {
    await resolveWeights('imagenet', {
      model: config.model,
      size: config.size,
      ...defined({ alpha: typeof alpha === 'number' ? alpha : undefined }),
    });
  } catch (error) {
    throw new InputError(errorMessage(error));
  }
}

/** Runs the ablation described by `config`; see RunAblationOptions. */
export async function runAblation(config: AblationConfig, options: RunAblationOptions = {}): Promise<AblationRun> {
  const started = performance.now();
  const emit = options.onProgress ?? ((): void => undefined);
  if (options.shard) validateShard(options.shard);
  // No more processes than runs planned: each would fork and load tfjs for nothing.
  const { jobs } = jobsForPlan(options.jobs ?? 1, config.arms.length, config.seeds.length, options.shard);
  if (jobs > 1 && (options.registry !== undefined || options.data !== undefined))
    throw new InputError(
      "jobs > 1 trains in worker processes, which cannot be sent a registry or data object: pass your arms as a module (armsModule: './my-arms.js', which every worker imports) and the data as config.data, or pass jobs 1",
    );
  // This process trains one run at a time too; the other jobs - 1 are worker processes. They start
  // now, so that their start-up (Node, tfjs, the data, the backend) runs while this process
  // prepares; the built-in data set first, so only one process ever generates it.
  if (jobs > 1 && config.data === undefined)
    await ensureBuiltinDataset({
      ...defined({ cacheDir: options.cacheDir }),
      onGenerate: (folder) => emit({ type: 'info', message: `generating the built-in data set in ${folder} (once)` }),
    });
  // --weights imagenet: fetched here first, so the workers find it in the cache.
  if (jobs > 1 && config.weights === 'imagenet') await fetchImagenetOnce(config);
  // On webgpu, no workers (one process per GPU: jobsOn); the note comes once the backend is up.
  const withWorkers = jobsOn(config.backend, jobs).jobs > 1;
  // 'auto' looks at the WebGPU adapter (a ~0.2 s child process): once here, for every worker too.
  const webgpuProbe =
    withWorkers && config.backend === 'auto' ? await probeWebGpu(parseGpuAdapter(process.env[GPU_ADAPTER_ENV])) : undefined;
  let pool = withWorkers
    ? new WorkerPool(jobs - 1, {
        config,
        ...defined({ cacheDir: options.cacheDir }),
        ...defined({ armsModule: options.armsModule === undefined ? undefined : path.resolve(options.armsModule) }),
        prefetch: options.prefetch ?? 2,
        threads: options.threads ?? 1,
        keepCheckpoints: options.keepCheckpoints ?? false,
        ...defined({ webgpuProbe }),
      })
    : undefined;
  pool?.startAll();
  try {
    const prepared = await prepareAblation(config, { ...options, ...defined({ webgpuProbe }) });
    // On webgpu, one process per GPU (jobsOn): the workers 'auto' started before it found the GPU go.
    const onGpu = jobsOn(prepared.ctx.backend.name, jobs);
    if (onGpu.note !== undefined) emit({ type: 'info', message: onGpu.note });
    if (pool !== undefined && onGpu.jobs === 1) {
      await pool.close();
      pool = undefined;
    }
    pool?.expect(prepared.ctx.configHash);
    return await new Scheduler(prepared, options, pool).run(started);
  } finally {
    await pool?.close();
  }
}
