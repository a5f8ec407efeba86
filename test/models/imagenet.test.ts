import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchWeights, imagenetWeights, KERAS_WEIGHTS_URLS, resolveWeights, type PublishedWeights } from '../../src/models/imagenet.js';
import { tempDir } from '../helpers.js';

/** What the local server saw: each request's Range header and the body bytes it sent. */
interface Served {
  ranges: Array<string | undefined>;
  sent: number;
}

/**
 * Serves `body` at /w.h5 on 127.0.0.1 with Range support, like the bucket Keras downloads from.
 * `cutAfter`: the first response sends that many body bytes, then drops the connection.
 */
async function serve(body: Buffer, cutAfter?: number): Promise<{ base: string; served: Served; close: () => Promise<void> }> {
  const served: Served = { ranges: [], sent: 0 };
  let cut = cutAfter;
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    served.ranges.push(range);
    if (req.url !== '/w.h5') return res.writeHead(404).end();
    const from = range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? Number.NaN);
    if (!(from < body.length)) return res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    const rest = body.subarray(from);
    res.writeHead(range === undefined ? 200 : 206, {
      'Content-Length': rest.length,
      ...(range === undefined ? {} : { 'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}` }),
    });
    if (cut !== undefined) {
      const n = cut;
      cut = undefined;
      served.sent += n;
      // A FIN after n bytes (not a reset, which may discard bytes in flight): the body ends short of its length.
      res.write(rest.subarray(0, n), () => res.socket?.end());
      return;
    }
    served.sent += rest.length;
    res.end(rest);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** 300 kB standing in for a weights file, different in every byte position. */
const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function setup(cutAfter?: number): Promise<{ w: PublishedWeights; served: Served; dir: string; dest: string }> {
  const s = await serve(BODY, cutAfter);
  closers.push(s.close);
  const dir = await tempDir();
  return { w: { fileName: 'w.h5', url: `${s.base}w.h5`, md5: md5(BODY) }, served: s.served, dir, dest: path.join(dir, 'w.h5') };
}

describe("--weights imagenet: Keras's published files", () => {
  it("names the URL and hash keras.applications uses; a base URL replaces Keras's folder", () => {
    expect(imagenetWeights('resnet50')).toEqual({
      fileName: 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
      url: 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
      md5: '4d473c1dd8becc155b73f8504c6f6626',
    });
    expect(imagenetWeights('mobilenet-v2', { alpha: 1, size: 224 }).url).toBe(
      `${KERAS_WEIGHTS_URLS['mobilenet-v2']}mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5`,
    );
    expect(imagenetWeights('mobilenet-v2', { alpha: 0.35, size: 96 }).fileName).toBe(
      'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5',
    );
    expect(imagenetWeights('mobilenet-v2', { alpha: 0.5, size: 100 }).fileName).toBe(
      'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5',
    );
    expect(imagenetWeights('mobilenet-v2', { alpha: 1.3, baseUrl: 'http://mirror/x' }).url).toBe(
      'http://mirror/x/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.3_224_no_top.h5',
    );
    expect(() => imagenetWeights('mobilenet-v2', { alpha: 0.6 })).toThrow(/alpha 0.35, 0.5, 0.75, 1, 1.3, 1.4, not 0.6/);
  });

  it('downloads into the cache, checks the MD5, then reuses the verified file without a request', async () => {
    const { w, served, dir, dest } = await setup();
    const progress: number[] = [];
    const got = await fetchWeights(w, { cacheDir: dir, onProgress: (b) => progress.push(b) });
    expect(got).toEqual({ file: dest, sha256: sha256(BODY), how: 'download', resumedFrom: 0 });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(progress[progress.length - 1]).toBe(BODY.length);
    expect(served.ranges).toEqual([undefined]);
    expect(await fetchWeights(w, { cacheDir: dir })).toMatchObject({ file: dest, how: 'cache' });
    expect(served.ranges).toHaveLength(1);
  });

  it('resumes a partial download with a Range request: only the missing bytes travel', async () => {
    const { w, served, dir, dest } = await setup();
    await writeFile(`${dest}.part`, BODY.subarray(0, 120_000));
    const got = await fetchWeights(w, { cacheDir: dir });
    expect(got).toMatchObject({ how: 'resume', resumedFrom: 120_000, sha256: sha256(BODY) });
    expect(served.ranges).toEqual(['bytes=120000-']);
    expect(served.sent).toBe(BODY.length - 120_000);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
  });

  it('a dropped connection keeps the part and says so in one line; the next call resumes from it', async () => {
    const { w, served, dir, dest } = await setup(100_000);
    const err = await fetchWeights(w, { cacheDir: dir }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/the download of '.*w\.h5' stopped at \d+ bytes .*; run again to resume it$/);
    expect((err as Error).message).not.toContain('\n');
    expect(existsSync(dest)).toBe(false);
    const partial = (await readFile(`${dest}.part`)).length;
    expect(partial).toBe(100_000); // every byte that arrived is kept
    const got = await fetchWeights(w, { cacheDir: dir });
    expect(got).toMatchObject({ how: 'resume', resumedFrom: partial });
    expect(served.ranges).toEqual([undefined, `bytes=${partial}-`]);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
  });

  it('refuses a file whose MD5 is not the published one, and sets it aside; a damaged cached file too', async () => {
    const { w, dir, dest } = await setup();
    const wrong = { ...w, md5: '0'.repeat(32) };
    await expect(fetchWeights(wrong, { cacheDir: dir })).rejects.toThrow(
      new RegExp(`fails its check \\(its MD5 is ${md5(BODY)}, Keras publishes 0{32}\\); set aside as '.*w\\.h5\\.rejected', not used`),
    );
    expect(existsSync(dest)).toBe(false);
    expect((await readFile(`${dest}.rejected`)).equals(BODY)).toBe(true);
    // A cached file damaged since: refused on reuse, set aside; the next call downloads afresh.
    await fetchWeights(w, { cacheDir: dir });
    await writeFile(dest, Buffer.from('damaged'));
    await expect(fetchWeights(w, { cacheDir: dir })).rejects.toThrow(/fails its check/);
    expect(await fetchWeights(w, { cacheDir: dir })).toMatchObject({ how: 'download', sha256: sha256(BODY) });
  });

  it('with no published hash, the SHA-256 recorded at download guards every reuse', async () => {
    const { w, dir, dest } = await setup();
    const unpinned = { fileName: w.fileName, url: w.url };
    await fetchWeights(unpinned, { cacheDir: dir });
    expect((await readFile(`${dest}.sha256`, 'utf8')).trim()).toBe(sha256(BODY));
    await writeFile(dest, Buffer.from('swapped'));
    await expect(fetchWeights(unpinned, { cacheDir: dir })).rejects.toThrow(/its SHA-256 is .*, .* when it was downloaded/);
  });

  it('offline: one line naming the URL and where to put the file', async () => {
    const { w, dir, dest } = await setup();
    await closers.splice(0)[0]!(); // the server is gone: connection refused
    const err = (await fetchWeights(w, { cacheDir: dir }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      `--weights imagenet: cannot download '${w.url}' (${/\(([^)]*)\)/.exec(err.message)?.[1]}); offline, put the file at '${dest}' and run again`,
    );
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it("resolveWeights: 'imagenet' through the cache for a backbone (MIXSTREAM_WEIGHTS_URL), a path as it is, else one line", async () => {
    const s = await serve(BODY);
    closers.push(s.close);
    const dir = await tempDir();
    await writeFile(path.join(dir, 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'), BODY); // damaged: not Keras's file
    await expect(resolveWeights('imagenet', { model: 'resnet50', cacheDir: dir, baseUrl: s.base })).rejects.toThrow(
      /its MD5 is .*, Keras publishes 4d473c1dd8becc155b73f8504c6f6626/,
    );
    await expect(resolveWeights('imagenet', { model: 'simple-cnn', cacheDir: dir })).rejects.toThrow(
      /Keras publishes ImageNet weights for mobilenet-v2 and resnet50, not 'simple-cnn'/,
    );
    const own = path.join(dir, 'mine.h5');
    await writeFile(own, BODY);
    expect(await resolveWeights(own, { model: 'simple-cnn' })).toEqual({ file: own, sha256: sha256(BODY), source: 'file' });
    await expect(resolveWeights(path.join(dir, 'nope.h5'), { model: 'resnet50' })).rejects.toThrow(
      /weights '.*nope\.h5': cannot open: ENOENT/,
    );
    expect(s.served.ranges).toEqual([]); // the cached (damaged) file was checked; nothing downloaded
  });
});
