/**
 * TensorFlow.js's WebGPU backend in Node, through Dawn (npm `webgpu`): our own setup, since Node is
 * not a target tfjs-backend-webgpu supports. It gives Node a navigator.gpu before the backend's
 * module loads, registers a 'webgpu' factory that opens the adapter the user pinned (not whatever
 * tfjs's own factory would ask for), turns a lost device into one clear error on the next read,
 * and lets go of Dawn so the process exits.
 *
 * Both packages are optional dependencies: everything here loads them at run time.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import tf from '#tfjs';
import { describeRequest, summarizeAdapter, type GpuAdapterRequest, type GpuAdapterSummary } from './adapter.js';
import { dawnFlags, oneLine, probeAdapter, type ProbeResult } from './probe.js';

/** The two optional packages, by the names a resolver looks them up under. */
export interface WebGpuPackages {
  /** Dawn's Node bindings. */
  readonly dawn: string;
  /** tfjs's WebGPU backend. */
  readonly backend: string;
}

export const WEBGPU_PACKAGES: WebGpuPackages = { dawn: 'webgpu', backend: '@tensorflow/tfjs-backend-webgpu' };

/** The install command a missing package's error names. */
export const WEBGPU_INSTALL = 'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

/** What a machine with no adapter needs, in one phrase. */
export const VULKAN_HINT =
  'install a Vulkan driver (NVIDIA: its driver, in a container with NVIDIA_DRIVER_CAPABILITIES including graphics; ' +
  'software, for tests only: apt-get install -t bookworm-backports mesa-vulkan-drivers)';

const require = createRequire(import.meta.url);

/** A package's entry file, or undefined when it is not installed. */
function resolvePackage(specifier: string): string | undefined {
  try {
    return require.resolve(specifier);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/** Which of the packages is missing, as one line with the install command; null when both are here. */
export function missingWebGpuPackages(packages: WebGpuPackages = WEBGPU_PACKAGES): string | null {
  const missing = [packages.dawn, packages.backend].filter((p) => resolvePackage(p) === undefined);
  if (missing.length === 0) return null;
  return `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed (optional dependencies: ${WEBGPU_INSTALL})`;
}

/** Dawn and Mesa want a runtime folder; a container or a cron job often has none. */
export function ensureRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const existing = env.XDG_RUNTIME_DIR;
  if (existing !== undefined && existing !== '') return existing;
  const dir = path.join(os.tmpdir(), `mixstream-runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  env.XDG_RUNTIME_DIR = dir;
  return dir;
}

/** Looks at the adapter without loading Dawn here (see probe.ts). */
export async function probeWebGpu(request: GpuAdapterRequest, packages: WebGpuPackages = WEBGPU_PACKAGES): Promise<ProbeResult> {
  const missing = missingWebGpuPackages(packages);
  if (missing !== null) return { why: missing };
  ensureRuntimeDir();
  const dawn = resolvePackage(packages.dawn) as string;
  const found = await probeAdapter(pathToFileURL(dawn).href, request);
  if ('adapter' in found) return found;
  // Dawn listed the adapters it has (a name that matched none): they are the answer, not a driver.
  return { why: `no WebGPU ${describeRequest(request)}: ${found.why}${/Available adapters/.test(found.why) ? '' : `; ${VULKAN_HINT}`}` };
}

/** A device lost for a reason other than our own release: what the next read throws. */
export class GpuDeviceLostError extends Error {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`the GPU device was lost (${reason}${detail ? `: ${oneLine(detail)}` : ''}); the run cannot go on on webgpu`);
    this.name = 'GpuDeviceLostError';
  }
}

// The little of WebGPU's types used here, so that this compiles without the optional packages.
interface GpuInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}
interface GpuDevice {
  readonly lost: Promise<{ readonly reason: string; readonly message: string }>;
  destroy(): void;
}
interface GpuAdapter {
  readonly info: GpuInfo;
  readonly limits: {
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeWorkgroupsPerDimension: number;
    readonly maxStorageBufferBindingSize: number;
    readonly maxBufferSize: number;
    readonly maxComputeWorkgroupSizeX: number;
    readonly maxComputeInvocationsPerWorkgroup: number;
  };
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<GpuDevice>;
}
interface GPU {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}
type WebGpuBackendClass = new (device: GpuDevice, info?: GpuInfo) => tf.KernelBackend;
interface DawnModule {
  readonly create: (flags: string[]) => GPU;
  readonly globals: object;
}

interface Active {
  gpu: GPU | undefined;
  device: GpuDevice | undefined;
  adapter: GpuAdapterSummary | undefined;
  releasing: boolean;
  lost: GpuDeviceLostError | undefined;
}

let active: Active | undefined;

/** The device the registered 'webgpu' backend runs on (tests: to stand in for a driver that loses it). */
export function webGpuDevice(): GpuDevice | undefined {
  return active?.device;
}

/** Why the device was lost, once it has been (undefined: not lost, or released by us). */
export function webGpuDeviceLost(): GpuDeviceLostError | undefined {
  return active?.lost;
}

/**
 * Loads Dawn and tfjs-backend-webgpu, and registers tfjs's 'webgpu' backend on the adapter
 * `request` names (it does not switch to it: tf.setBackend('webgpu') does, and only then is the
 * device opened). Throws one line when a package is missing. Idempotent per request.
 */
export async function setupWebGpu(request: GpuAdapterRequest, packages: WebGpuPackages = WEBGPU_PACKAGES): Promise<void> {
  const missing = missingWebGpuPackages(packages);
  if (missing !== null) throw new Error(missing);
  if (active !== undefined) releaseWebGpu();
  ensureRuntimeDir();
  const dawn = (await import(pathToFileURL(resolvePackage(packages.dawn) as string).href)) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  const state: Active = { gpu: dawn.create(dawnFlags(request)), device: undefined, adapter: undefined, releasing: false, lost: undefined };
  active = state;
  // tfjs-backend-webgpu registers itself only when navigator.gpu exists as it loads (Node 20 has no
  // navigator at all, Node 21+ one without gpu).
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator as object, 'gpu', { value: state.gpu, configurable: true, writable: true });
  const backendModule = require(packages.backend) as { WebGPUBackend: WebGpuBackendClass };
  // Its own factory asks for tfjs's power preference and knows nothing of a pinned adapter: ours replaces it.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => openBackend(state, request, backendModule.WebGPUBackend), 3);
}

async function openBackend(state: Active, request: GpuAdapterRequest, WebGPUBackend: WebGpuBackendClass): Promise<tf.KernelBackend> {
  if (state.gpu === undefined) throw new Error('webgpu: Dawn was released');
  let adapter: GpuAdapter | null;
  try {
    adapter = await state.gpu.requestAdapter(request.kind === 'power' ? { powerPreference: request.powerPreference } : undefined);
  } catch (e) {
    throw new Error(`no WebGPU ${describeRequest(request)}: Dawn: ${oneLine(e instanceof Error ? e.message : String(e))}`, {
      cause: e,
    });
  }
  if (adapter === null) throw new Error(`no WebGPU ${describeRequest(request)}; ${VULKAN_HINT}`);
  const limits = adapter.limits;
  // The limits and features tfjs-backend-webgpu's own factory asks for (timestamp queries only profile).
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  state.device = device;
  state.adapter = summarizeAdapter({ ...copyInfo(adapter.info), isFallbackAdapter: adapter.info.isFallbackAdapter === true });
  void device.lost.then((info) => {
    if (state.releasing) return;
    state.lost = new GpuDeviceLostError(info.reason, info.message);
  });
  const backend = new WebGPUBackend(device, adapter.info);
  // Every value the training loop looks at comes through read (await t.data()): after a loss it
  // names the loss instead of failing on a buffer that can no longer map, or waiting for it.
  const read = backend.read.bind(backend);
  backend.read = async (dataId: object) => {
    if (state.lost !== undefined) throw state.lost;
    try {
      return await read(dataId);
    } catch (e) {
      throw state.lost ?? e;
    }
  };
  return backend;
}

const copyInfo = (i: GpuInfo) => ({ vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description });

/** The adapter the active 'webgpu' backend opened (after tf.setBackend('webgpu')). */
export function webGpuAdapter(): GpuAdapterSummary | undefined {
  return active?.adapter;
}

/**
 * Lets go of the device and of Dawn (tfjs's backend instance, navigator.gpu): Dawn's instance
 * keeps threads and handles alive, and a process holding it may not exit by itself.
 */
export function releaseWebGpu(): void {
  const state = active;
  if (state === undefined) return;
  state.releasing = true;
  // (findBackend would initialise it: ask for the factory.)
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  state.device?.destroy();
  state.device = undefined;
  state.gpu = undefined;
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator !== undefined) delete g.navigator.gpu;
  active = undefined;
}
