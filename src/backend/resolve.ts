/**
 * Picks the fastest TensorFlow.js backend this machine can actually load, and says why the
 * faster ones were passed over: libtensorflow bindings (tfjs-node-gpu, tfjs-node) are optional
 * peers that often cannot install, WebGPU (./webgpu, through Dawn) needs a GPU with a Vulkan
 * driver (a software one such as lavapipe is slower than wasm, so only used when asked for), and
 * wasm trains CNNs ~100x faster than cpu once the kernels in ./kernels are registered.
 */
import tf from '#tfjs';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { setKernelThreads } from './threads.js';
import { describeAdapter, GPU_ADAPTER_ENV, parseGpuAdapter, type GpuAdapterRequest, type GpuAdapterSummary } from './webgpu/adapter.js';
import type { ProbeResult } from './webgpu/probe.js';
import { probeWebGpu, releaseWebGpu, setupWebGpu, webGpuAdapter, WEBGPU_PACKAGES, type WebGpuPackages } from './webgpu/setup.js';

import { BACKEND_CHOICES, type BackendChoice } from './choices.js';
import { errorMessage } from '../core/idioms.js';

export { BACKEND_CHOICES, type BackendChoice };
/** A concrete backend resolveBackend can return. */
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** The outcome, kept so logs and reports can say what ran and why. */
export interface ResolvedBackend {
  /** Our name for it (the choice that won). */
  readonly name: BackendName;
  /** The name tfjs knows it by (tf.getBackend()): 'tensorflow' for both libtensorflow packages. */
  readonly tfBackend: string;
  /** Why this one: asked for explicitly, or the first in the auto order that loaded. */
  readonly reason: string;
  /** Backends tried before it and why each failed, in the order tried. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly why: string }>;
  /** On webgpu: the adapter it runs on. */
  readonly adapter?: GpuAdapterSummary;
}

/** Seams for tests and embedders: where the environment and optional packages come from. */
export interface ResolveOptions {
  /** Environment to read MIXSTREAM_BACKEND from; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Dynamic import; defaults to `(name) => import(name)`. */
  readonly importModule?: (specifier: string) => Promise<unknown>;
  /** Threads of the native kernels on wasm (setKernelThreads). Default: every core, for one run alone; an ablation's runs take 1 each. */
  readonly threads?: number;
  /** The WebGPU adapter to open (parseGpuAdapter's input, or parsed); default MIXSTREAM_GPU_ADAPTER, else high-performance. */
  readonly gpuAdapter?: string | GpuAdapterRequest;
  /** Where the optional WebGPU packages are looked up (tests: a name that is not installed). */
  readonly webgpuPackages?: WebGpuPackages;
  /**
   * What probeWebGpu found for this request, where a parent process looked already (its --jobs
   * workers take it instead of each starting its own ~0.2 s probe).
   */
  readonly webgpuProbe?: ProbeResult;
}

/** The order 'auto' tries, fastest first. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
/** The environment variable read when no choice is passed. */
export const BACKEND_ENV = 'MIXSTREAM_BACKEND';

const NODE_PACKAGES: Readonly<Record<'tensorflow-gpu' | 'tensorflow', string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Narrows a string (env value, CLI flag) to a choice, with an error listing the valid ones. */
export function parseBackendChoice(value: string, source = 'backend choice'): BackendChoice {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`${source}: unknown backend '${value}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
}

const message = (e: unknown): string => errorMessage(e).split('\n')[0] ?? String(e);

function isNotInstalled(e: unknown, specifier: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message(e).includes(specifier);
}

/** setBackend logs its own failures; a failing candidate is expected here, so keep stderr quiet. */
async function quietSetBackend(name: string): Promise<boolean> {
  const warn = console.warn;
  const error = console.error;
  console.warn = () => undefined;
  console.error = () => undefined;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

/** Like quietSetBackend, but keeps what the factory threw (tfjs logs it and returns false). */
async function setBackendSaying(name: string): Promise<string | null> {
  const warn = console.warn;
  const error = console.error;
  let said = '';
  const keep = (...args: unknown[]) => {
    said = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  };
  console.warn = keep;
  console.error = keep;
  try {
    return (await tf.setBackend(name)) ? null : said;
  } catch (e) {
    return message(e);
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

interface TryOptions {
  readonly auto: boolean;
  readonly gpuAdapter: GpuAdapterRequest;
  readonly webgpuPackages: WebGpuPackages;
  readonly probe: ProbeResult | undefined;
}

/**
 * WebGPU: looks at the adapter in a child process first (probe.ts), so that a machine with none,
 * or with only a software one when choosing automatically, never loads Dawn into this process.
 */
async function tryWebGpu(o: TryOptions): Promise<string | null> {
  const probe = o.probe ?? (await probeWebGpu(o.gpuAdapter, o.webgpuPackages));
  if ('why' in probe) return probe.why;
  if (o.auto && probe.adapter.fallback)
    return `only a software adapter, ${describeAdapter(probe.adapter)}: wasm trains faster (ask for it with --backend webgpu)`;
  try {
    await setupWebGpu(o.gpuAdapter, o.webgpuPackages);
  } catch (e) {
    return message(e);
  }
  const why = await setBackendSaying('webgpu');
  if (why === null) return null;
  releaseWebGpu();
  return `the webgpu backend failed to initialise${why ? `: ${why.split('\n')[0]}` : ''}`;
}

/** Tries one backend; returns null when it is now active, else why not. */
async function tryBackend(name: BackendName, importModule: (s: string) => Promise<unknown>, o: TryOptions): Promise<string | null> {
  if (name === 'webgpu') return tryWebGpu(o);
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    const specifier = NODE_PACKAGES[name];
    try {
      await importModule(specifier);
    } catch (e) {
      return isNotInstalled(e, specifier) ? `${specifier} is not installed` : `${specifier} failed to load: ${message(e)}`;
    }
    if (tf.findBackendFactory('tensorflow') === null) return `${specifier} loaded but registered no 'tensorflow' backend`;
    return (await quietSetBackend('tensorflow')) ? null : `${specifier} loaded but its 'tensorflow' backend failed to initialise`;
  }
  if (name === 'wasm') {
    try {
      await importModule('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      return `@tensorflow/tfjs-backend-wasm failed to load: ${message(e)}`;
    }
    registerWasmTrainingKernels();
    return (await quietSetBackend('wasm'))
      ? null
      : `the wasm backend failed to initialise (WebAssembly binary not found or not instantiable)`;
  }
  return (await quietSetBackend('cpu')) ? null : `the cpu backend failed to initialise`;
}

/**
 * Activates a backend and reports the decision. With no choice, reads MIXSTREAM_BACKEND, then
 * falls back to 'auto'. An explicit choice that cannot load throws, naming it and why, rather
 * than silently training 100x slower on something else.
 */
export async function resolveBackend(choice?: BackendChoice, options: ResolveOptions = {}): Promise<ResolvedBackend> {
  const env = options.env ?? process.env;
  const importModule = options.importModule ?? ((s: string) => import(s));
  const fromEnv = choice === undefined ? env[BACKEND_ENV] : undefined;
  const wanted: BackendChoice =
    choice ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? parseBackendChoice(fromEnv, BACKEND_ENV) : 'auto');
  if (!BACKEND_CHOICES.includes(wanted))
    throw new Error(`resolveBackend: unknown backend '${String(wanted)}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
  const source = choice !== undefined ? 'asked for' : `set by ${BACKEND_ENV}`;
  const tryOptions: TryOptions = {
    auto: wanted === 'auto',
    gpuAdapter: typeof options.gpuAdapter === 'object' ? options.gpuAdapter : parseGpuAdapter(options.gpuAdapter ?? env[GPU_ADAPTER_ENV]),
    webgpuPackages: options.webgpuPackages ?? WEBGPU_PACKAGES,
    probe: options.webgpuProbe,
  };
  const adapterOf = (name: BackendName) => {
    const adapter = name === 'webgpu' ? webGpuAdapter() : undefined;
    return adapter === undefined ? {} : { adapter };
  };

  if (wanted !== 'auto') {
    const why = await tryBackend(wanted, importModule, tryOptions);
    if (why !== null) throw new Error(`backend '${wanted}' (${source}) cannot be used: ${why}`);
    await tf.ready();
    if (wanted === 'wasm') setKernelThreads(options.threads);
    return { name: wanted, tfBackend: tf.getBackend(), reason: `${source}`, skipped: [], ...adapterOf(wanted) };
  }

  const skipped: Array<{ name: BackendName; why: string }> = [];
  for (const name of AUTO_ORDER) {
    const why = await tryBackend(name, importModule, tryOptions);
    if (why !== null) {
      skipped.push({ name, why });
      continue;
    }
    await tf.ready();
    if (name === 'wasm') setKernelThreads(options.threads);
    const reason =
      skipped.length === 0 ? 'auto: fastest available' : `auto: first that loaded after ${skipped.map((s) => s.name).join(', ')}`;
    return { name, tfBackend: tf.getBackend(), reason, skipped, ...adapterOf(name) };
  }
  throw new Error(`no backend could be used: ${skipped.map((s) => `${s.name} (${s.why})`).join('; ')}`);
}
