/**
 * Asks Dawn for the adapter in a child process, before this one loads Dawn: Dawn writes its
 * Vulkan warnings (no driver found, limits reduced) straight to the process's stderr, and a
 * process that has created a Dawn instance keeps its threads. So the automatic backend order can
 * look at the adapter, find lavapipe and move on to wasm without either, and `--backend webgpu`
 * with no adapter fails in one line of ours. Costs ~0.2 s (a Node start and Dawn's load).
 */
import { spawn } from 'node:child_process';
import { summarizeAdapter, type GpuAdapterRequest, type GpuAdapterSummary } from './adapter.js';

/** The adapter found, or why there is none (one line). */
export type ProbeResult = { readonly adapter: GpuAdapterSummary } | { readonly why: string };

// Runs as an ES module in the child: argv[1] Dawn's module URL, argv[2] create() flags (JSON),
// argv[3] the power preference. Prints one JSON line; opens a device too (a driver Dawn lists but
// cannot open, as Debian 12's Mesa 22 lavapipe, is no adapter).
const CHILD = `
const [url, flags, power] = process.argv.slice(1);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
try {
  const { create, globals } = await import(url);
  Object.assign(globalThis, globals);
  let gpu = create(JSON.parse(flags));
  const adapter = await gpu.requestAdapter(power ? { powerPreference: power } : undefined);
  if (adapter === null) out({ why: 'none' });
  else {
    const i = adapter.info;
    const info = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter === true || adapter.isFallbackAdapter === true };
    const device = await adapter.requestDevice();
    device.destroy();
    out({ info });
  }
  gpu = undefined;
} catch (e) {
  out({ error: String(e && e.message ? e.message : e) });
}
`;

/** Dawn's create() flags for a request: a named adapter is Dawn's `adapter=` option. */
export function dawnFlags(request: GpuAdapterRequest): string[] {
  return request.kind === 'name' ? [`adapter=${request.name}`] : [];
}

/** Dawn's multi-line errors ("no suitable backends found / Available adapters: * ...") in one line. */
export const oneLine = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');

/**
 * Probes the adapter `request` names through the Dawn module at `dawnUrl` (a file: URL), in a
 * child process that inherits this one's environment (VK_ICD_FILENAMES, XDG_RUNTIME_DIR...).
 */
export function probeAdapter(dawnUrl: string, request: GpuAdapterRequest, timeoutMs = 60_000): Promise<ProbeResult> {
  const power = request.kind === 'power' ? request.powerPreference : '';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dawnUrl, JSON.stringify(dawnFlags(request)), power], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ why: `the adapter probe could not start: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      let parsed: { info?: Parameters<typeof summarizeAdapter>[0]; why?: string; error?: string } | undefined;
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (parsed?.info !== undefined) return resolve({ adapter: summarizeAdapter(parsed.info) });
      if (parsed?.error !== undefined) return resolve({ why: `Dawn: ${oneLine(parsed.error)}` });
      if (parsed?.why === 'none') {
        const dawnSaid = /no drivers|INCOMPATIBLE_DRIVER/i.test(stderr) ? ' (Vulkan: no driver found)' : '';
        return resolve({ why: `Dawn found no WebGPU adapter${dawnSaid}` });
      }
      const last = oneLine(stderr).slice(-300);
      resolve({ why: `the adapter probe ${signal !== null ? `was killed (${signal})` : `exited ${code}`}${last ? `: ${last}` : ''}` });
    });
  });
}
