import { parseGpuAdapter } from '../../src/backend/webgpu/adapter.js';
import { probeWebGpu } from '../../src/backend/webgpu/setup.js';
import { systemPackage } from '../system.js';

/** Mesa's lavapipe ICD: present on this machine's kind and in CI (.ci/run installs Mesa 25 from bookworm-backports). */
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
const INSTALL = 'apt-get install -t bookworm-backports mesa-vulkan-drivers (Debian 12: add bookworm-backports first, see .ci/run)';

/**
 * Whether a WebGPU adapter is here for the tests that train on one. Without one they are skipped
 * and say why; with MIXSTREAM_REQUIRE_SYSTEM=1 (.ci/run) the absence fails them, as for the other
 * system packages. Checks Dawn really opens a device (Debian 12's own Mesa 22 lavapipe has the
 * ICD file but Dawn refuses it).
 */
export async function webGpuAdapterHere(): Promise<boolean> {
  const found = await probeWebGpu(parseGpuAdapter(process.env.MIXSTREAM_GPU_ADAPTER));
  if ('adapter' in found) return true;
  // None: the usual reason is the missing package (said, or failed under MIXSTREAM_REQUIRE_SYSTEM).
  if (!systemPackage('mesa-vulkan-drivers', LAVAPIPE_ICD, INSTALL)) return false;
  const need = `needs a WebGPU adapter: ${found.why}`;
  if (process.env.MIXSTREAM_REQUIRE_SYSTEM === '1') throw new Error(`MIXSTREAM_REQUIRE_SYSTEM=1 and this test ${need}`);
  console.warn(`SKIPPED (part of) a test: it ${need}`);
  return false;
}
