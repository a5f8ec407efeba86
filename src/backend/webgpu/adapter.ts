/**
 * The WebGPU adapter as mixstream names it (no tfjs, no Dawn here: the CLI checks flags and the
 * plan line prints it before either loads): which adapter a user asked for, what one found is, and
 * whether it is a software rasteriser that the automatic backend order must never pick.
 */

/** The environment variable that pins the adapter (the `--gpu-adapter` flag sets the same). */
export const GPU_ADAPTER_ENV = 'MIXSTREAM_GPU_ADAPTER';

/**
 * Which adapter to open: one of WebGPU's power preferences, or the name of one adapter as Dawn
 * lists it (a substring such as 'NVIDIA' or 'llvmpipe'; Dawn's `adapter=` option).
 */
export type GpuAdapterRequest =
  { readonly kind: 'power'; readonly powerPreference: 'high-performance' | 'low-power' } | { readonly kind: 'name'; readonly name: string };

/** The default: the discrete GPU where a machine has two. */
export const DEFAULT_GPU_ADAPTER: GpuAdapterRequest = { kind: 'power', powerPreference: 'high-performance' };

/** What results.json, the plan line and the report record of the adapter a run used. */
export interface GpuAdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A software or fallback adapter (lavapipe, SwiftShader): never picked automatically. */
  readonly fallback: boolean;
}

/** Parses `--gpu-adapter` / MIXSTREAM_GPU_ADAPTER: 'high-performance' (default when empty), 'low-power', or an adapter name. */
export function parseGpuAdapter(value: string | undefined): GpuAdapterRequest {
  const v = (value ?? '').trim();
  if (v === '' || v.toLowerCase() === 'high-performance') return DEFAULT_GPU_ADAPTER;
  if (v.toLowerCase() === 'low-power') return { kind: 'power', powerPreference: 'low-power' };
  return { kind: 'name', name: v };
}

/**
 * What the `--gpu-adapter <name>` flag does: checks the value and sets MIXSTREAM_GPU_ADAPTER, so
 * this process's resolveBackend and every --jobs worker it forks (they inherit the environment)
 * open the same adapter. Call it before resolving the backend or forking. Throws on an empty value.
 */
export function applyGpuAdapterFlag(value: string, env: NodeJS.ProcessEnv = process.env): GpuAdapterRequest {
  if (value.trim() === '') throw new Error(`--gpu-adapter needs a value: high-performance, low-power or an adapter's name`);
  env[GPU_ADAPTER_ENV] = value.trim();
  return parseGpuAdapter(value);
}

/** The request in words, for errors and the plan line. */
export function describeRequest(r: GpuAdapterRequest): string {
  return r.kind === 'power' ? `${r.powerPreference} adapter` : `adapter named '${r.name}'`;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/**
 * Whether an adapter renders on the CPU. WebGPU says so with isFallbackAdapter, but a driver may
 * not (Mesa's lavapipe is an ordinary Vulkan device to Dawn on some versions), so its names are
 * read too.
 */
export function isSoftwareAdapter(info: Omit<GpuAdapterSummary, 'fallback'> & { readonly fallback?: boolean }): boolean {
  if (info.fallback === true || info.architecture.toLowerCase() === 'software') return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => SOFTWARE.test(s));
}

/** Normalises what Dawn's GPUAdapterInfo holds (getters on its prototype: copy them out). */
export function summarizeAdapter(info: {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}): GpuAdapterSummary {
  const base = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  return { ...base, fallback: isSoftwareAdapter({ ...base, fallback: info.isFallbackAdapter === true }) };
}

/** One phrase: "mesa software (llvmpipe: Mesa 25.0.7 ...), software/fallback". */
export function describeAdapter(a: GpuAdapterSummary): string {
  const who = [a.vendor, a.architecture].filter((s) => s !== '').join(' ') || 'unknown vendor';
  const what = a.description !== '' ? a.description : a.device;
  return `${who}${what !== '' ? ` (${what})` : ''}, ${a.fallback ? 'software/fallback adapter' : 'hardware adapter'}`;
}
