/**
 * `--weights imagenet`: the no-top weight file keras.applications itself downloads for a backbone,
 * fetched from Keras's published URL into mixstream's cache (MIXSTREAM_CACHE, else
 * ~/.cache/mixstream), checked against the MD5 Keras publishes (ResNet-50; Keras publishes none for
 * MobileNetV2, so its SHA-256 is recorded at download and checked on every reuse), resumed with an
 * HTTP Range request after an interrupted download, reused once verified. A file that fails its
 * hash is set aside, never used. Offline, the error names the URL and where to put the file.
 */
import { mkdir, open, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MOBILENET_V2_ALPHAS } from './architectures.js';
import { fileSha256, messageOf, regularFileSize } from './weightFiles.js';

/** A weight file as Keras publishes it. */
export interface PublishedWeights {
  readonly fileName: string;
  readonly url: string;
  /** The MD5 Keras's source pins for the file (its get_file file_hash); undefined where it pins none. */
  readonly md5?: string;
}

/** keras.applications' BASE_WEIGHT(S)_PATH of each backbone. */
export const KERAS_WEIGHTS_URLS = {
  'mobilenet-v2': 'https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/',
  resnet50: 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/',
} as const;

/** WEIGHTS_HASHES['resnet50'][1] in keras/src/applications/resnet.py: the no-top file's MD5. */
const RESNET50_NOTOP_MD5 = '4d473c1dd8becc155b73f8504c6f6626';

/** Python's str(float(x)): 1 -> '1.0', 0.35 -> '0.35'. */
const pyFloat = (x: number): string => (Number.isInteger(x) ? x.toFixed(1) : String(x));

/**
 * The no-top imagenet file Keras loads for `model` (MobileNetV2: per alpha and input size, 224
 * where Keras has no file for the size, as Keras falls back). `baseUrl` replaces Keras's folder
 * URL (a mirror, or a test's local server); default MIXSTREAM_WEIGHTS_URL, else Keras's.
 */
export function imagenetWeights(
  model: 'mobilenet-v2' | 'resnet50',
  o: { readonly alpha?: number; readonly size?: number; readonly baseUrl?: string } = {},
): PublishedWeights {
  const base = o.baseUrl ?? process.env.MIXSTREAM_WEIGHTS_URL ?? KERAS_WEIGHTS_URLS[model];
  const join = (f: string): string => `${base.endsWith('/') ? base : `${base}/`}${f}`;
  if (model === 'resnet50') {
    const fileName = 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5';
    return { fileName, url: join(fileName), md5: RESNET50_NOTOP_MD5 };
  }
  const alpha = o.alpha ?? 1.0;
  if (!(MOBILENET_V2_ALPHAS as readonly number[]).includes(alpha))
    throw new RangeError(
      `--weights imagenet: Keras publishes MobileNetV2 weights for alpha ${MOBILENET_V2_ALPHAS.join(', ')}, not ${alpha}`,
    );
  const rows = [96, 128, 160, 192, 224].includes(o.size ?? 224) ? (o.size ?? 224) : 224;
  const fileName = `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${pyFloat(alpha)}_${rows}_no_top.h5`;
  return { fileName, url: join(fileName) };
}

/** Where downloaded weights live: MIXSTREAM_CACHE/weights, else ~/.cache/mixstream/weights. */
export function weightsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.MIXSTREAM_CACHE ?? path.join(os.homedir(), '.cache', 'mixstream'), 'weights');
}

/** A download or verification that failed: one line naming the URL, the reason and what to do. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'DownloadError';
  }
}

/** What fetchWeights did, for the run's record. */
export interface FetchedWeights {
  readonly file: string;
  readonly sha256: string;
  /** 'cache': a verified file was reused; 'download': fetched whole; 'resume': fetched from byte `resumedFrom`. */
  readonly how: 'cache' | 'download' | 'resume';
  readonly resumedFrom: number;
}

export interface FetchWeightsOptions {
  /** Default weightsCacheDir(). */
  readonly cacheDir?: string;
  /** Called as bytes arrive: bytes on disk so far and the total when the server says it. */
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * Checks a complete file against the published MD5, or the SHA-256 recorded when it was
 * downloaded; a file that fails is renamed aside (`.rejected`) and the error says so.
 */
async function verify(w: PublishedWeights, file: string): Promise<string> {
  const sha256 = await fileSha256(file);
  const recorded = await readFile(`${file}.sha256`, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  const md5 = w.md5 === undefined ? undefined : await fileSha256(file, 'md5');
  const bad =
    md5 !== undefined && md5 !== w.md5
      ? `its MD5 is ${md5}, Keras publishes ${w.md5}`
      : recorded !== undefined && recorded !== sha256
        ? `its SHA-256 is ${sha256}, ${recorded} when it was downloaded`
        : undefined;
  if (bad !== undefined) {
    const aside = `${file}.rejected`;
    await rename(file, aside);
    throw new DownloadError(`--weights imagenet: '${w.url}' gave a file that fails its check (${bad}); set aside as '${aside}', not used`);
  }
  return sha256;
}

/** Appends the rest of `w.url` to `part` (from its current size, by Range); returns the byte it resumed from. */
async function download(w: PublishedWeights, part: string, dest: string, onProgress: FetchWeightsOptions['onProgress']): Promise<number> {
  const have = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  let res: Response;
  try {
    res = await fetch(w.url, have > 0 ? { headers: { Range: `bytes=${have}-` } } : {});
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw new DownloadError(
      `--weights imagenet: cannot download '${w.url}' (${messageOf(cause ?? e)}); offline, put the file at '${dest}' and run again`,
    );
  }
  let from = 0;
  if (res.status === 206 && new RegExp(`^bytes ${have}-`).test(res.headers.get('content-range') ?? '')) from = have;
  else if (res.status === 416 && have > 0) {
    // The part is already whole (or longer than the file): start again.
    await unlink(part);
    await res.body?.cancel();
    return download(w, part, dest, onProgress);
  } else if (res.status !== 200) {
    await res.body?.cancel();
    throw new DownloadError(`--weights imagenet: '${w.url}' answered HTTP ${res.status}; put the file at '${dest}' and run again`);
  } else if (have > 0) await truncate(part, 0); // no range support: the whole file again
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? from + length : undefined;
  let bytes = from;
  // Each chunk is on disk before the next is read, so an interrupted download leaves every byte
  // it received for the next attempt to resume from.
  const out = await open(part, from > 0 ? 'a' : 'w');
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await out.write(chunk);
      bytes += chunk.length;
      onProgress?.(bytes, total);
    }
  } catch (e) {
    throw new DownloadError(
      `--weights imagenet: the download of '${w.url}' stopped at ${bytes} bytes (${messageOf(e)}); run again to resume it`,
    );
  } finally {
    await out.close();
  }
  if (total !== undefined && bytes !== total)
    throw new DownloadError(`--weights imagenet: '${w.url}' ended at ${bytes} of ${total} bytes; run again to resume it`);
  return from;
}

/**
 * The verified local path of `w`: the cached file when it passes its check, else downloaded (or
 * resumed) into the cache, checked, and only then moved into place.
 *
 * @example
 * const { file } = await fetchWeights(imagenetWeights('resnet50'));
 */
export async function fetchWeights(w: PublishedWeights, o: FetchWeightsOptions = {}): Promise<FetchedWeights> {
  const dir = o.cacheDir ?? weightsCacheDir();
  const dest = path.join(dir, w.fileName);
  if (await exists(dest)) {
    const sha256 = await verify(w, dest);
    if (!(await exists(`${dest}.sha256`))) await writeFile(`${dest}.sha256`, `${sha256}\n`);
    return { file: dest, sha256, how: 'cache', resumedFrom: 0 };
  }
  await mkdir(dir, { recursive: true });
  const part = `${dest}.part`;
  const resumedFrom = await download(w, part, dest, o.onProgress);
  await rename(part, dest);
  await unlink(`${dest}.sha256`).catch(() => undefined);
  const sha256 = await verify(w, dest);
  await writeFile(`${dest}.sha256`, `${sha256}\n`);
  return { file: dest, sha256, how: resumedFrom > 0 ? 'resume' : 'download', resumedFrom };
}

/** A `--weights` value made concrete: the local file, its SHA-256, and where it came from. */
export interface ResolvedWeights {
  readonly file: string;
  readonly sha256: string;
  /** 'imagenet': Keras's published file (`url`); 'file': a path the user gave. */
  readonly source: 'imagenet' | 'file';
  readonly url?: string;
}

/**
 * `--weights PATH | imagenet` for `model`: 'imagenet' is fetched (fetchWeights) for the two
 * backbones Keras publishes no-top files for; a path must be a regular file. Rejects with one line.
 */
export async function resolveWeights(
  spec: string,
  o: { readonly model: string; readonly alpha?: number; readonly size?: number; readonly baseUrl?: string } & FetchWeightsOptions,
): Promise<ResolvedWeights> {
  if (spec === 'imagenet') {
    if (o.model !== 'mobilenet-v2' && o.model !== 'resnet50')
      throw new DownloadError(`--weights imagenet: Keras publishes ImageNet weights for mobilenet-v2 and resnet50, not '${o.model}'`);
    const w = imagenetWeights(o.model, o);
    const got = await fetchWeights(w, o);
    return { file: got.file, sha256: got.sha256, source: 'imagenet', url: w.url };
  }
  await regularFileSize(spec);
  return { file: spec, sha256: await fileSha256(spec), source: 'file' };
}
