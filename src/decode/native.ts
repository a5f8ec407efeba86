/**
 * The optional native addon (native/mixstream.c, built at install by scripts/build-native.mjs):
 * resizeBytes in C, the same bytes at about 4.5x the speed. Without it, the JavaScript runs.
 * MIXSTREAM_NATIVE=0 turns it off (to compare the two).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { resizeBytes } from '../core/image.js';

interface Addon {
  resize(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, out: Uint8Array): void;
}

function load(): { addon?: Addon; why: string } {
  if (process.env.MIXSTREAM_NATIVE === '0') return { why: 'MIXSTREAM_NATIVE=0' };
  const require = createRequire(import.meta.url);
  // From src/decode (run by tsx) or dist/src/decode (compiled).
  const paths = ['../../build/Release/mixstream.node', '../../../build/Release/mixstream.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  let why = 'not built (npm install builds it with node-gyp)';
  for (const path of paths) {
    try {
      return { addon: require(path) as Addon, why: path };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'MODULE_NOT_FOUND') why = `${path}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return { why };
}

const { addon, why } = load();

/** Which resize decodes use, and why: 'native' with the addon's path, or 'javascript' with the reason. */
export const resizer = { kind: addon ? 'native' : 'javascript', why } as const;

/** resizeBytes, by the addon where it is built. */
export function resizeImage(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Uint8Array {
  if (!addon || (outHeight === height && outWidth === width)) return resizeBytes(src, height, width, channels, outHeight, outWidth);
  const out = new Uint8Array(outHeight * outWidth * channels);
  addon.resize(src, height, width, channels, outHeight, outWidth, out);
  return out;
}
