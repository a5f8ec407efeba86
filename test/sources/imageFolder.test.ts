import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageFolder, listImageFolder } from '../../src/sources/imageFolder.js';
import { collect, tempDir } from '../helpers.js';

async function layout(files: Record<string, string>): Promise<string> {
  const root = await tempDir();
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), body);
  }
  return root;
}

describe('imageFolder', () => {
  it('labels by sorted class folder, matches extensions case-insensitively, ignores hidden and other files', async () => {
    const root = await layout({
      'b_dog/1.JPG': 'x',
      'b_dog/2.jpeg': 'x',
      'b_dog/.hidden.jpg': 'x',
      'b_dog/notes.txt': 'x',
      'a_cat/1.png': 'x',
      'a_cat/2.WebP': 'x',
      'c_fox/1.tiff': 'x',
      '.git/x.jpg': 'x',
    });
    const listing = await listImageFolder(root);
    expect(listing.classes).toEqual(['a_cat', 'b_dog', 'c_fox']);
    expect(listing.files.map((f) => [path.relative(root, f.path), f.label])).toEqual([
      ['a_cat/1.png', 0],
      ['a_cat/2.WebP', 0],
      ['b_dog/1.JPG', 1],
      ['b_dog/2.jpeg', 1],
      ['c_fox/1.tiff', 2],
    ]);
    const samples = await collect(imageFolder(root, { shuffle: false }));
    expect(samples.map((s) => [s.label, s.numClasses, s.index, s.epoch])).toEqual([
      [0, 3, 0, 0],
      [0, 3, 1, 0],
      [1, 3, 2, 0],
      [1, 3, 3, 0],
      [2, 3, 4, 0],
    ]);
  });

  it('is lazy and cold: nothing is read before subscription, each subscription is a new epoch with its own order', async () => {
    const missing = imageFolder('/definitely/not/here');
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`c${i % 4}/${i}.jpg`] = 'x';
    const root = await layout(files);
    const ds = imageFolder(root, { seed: 5 });
    const e0 = await collect(ds);
    const e1 = await collect(ds);
    expect(e0.map((s) => s.epoch)).toEqual(Array(40).fill(0));
    expect(e1.map((s) => s.epoch)).toEqual(Array(40).fill(1));
    expect(e0.map((s) => s.origin)).not.toEqual(e1.map((s) => s.origin));
    expect([...e0.map((s) => s.origin)].sort()).toEqual([...e1.map((s) => s.origin)].sort());
    // The same seed replays the same epochs in a new observable.
    expect((await collect(imageFolder(root, { seed: 5 }))).map((s) => s.origin)).toEqual(e0.map((s) => s.origin));
    await expect(collect(missing)).rejects.toThrow("root '/definitely/not/here' does not exist");
  });

  it('splits each class exactly and stably by a seed', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`c${i % 2}/${i}.jpg`] = 'x';
    const root = await layout(files);
    const opts = { seed: 2, validationSplit: 0.2, shuffle: false } as const;
    const train = (await collect(imageFolder(root, opts))).map((s) => s.origin);
    const val = (await collect(imageFolder(root, { ...opts, subset: 'validation' }))).map((s) => s.origin);
    expect(val).toHaveLength(10);
    expect(train).toHaveLength(40);
    expect(new Set([...train, ...val]).size).toBe(50);
    expect((await collect(imageFolder(root, { ...opts, subset: 'validation' }))).map((s) => s.origin)).toEqual(val);
    const other = (await collect(imageFolder(root, { ...opts, seed: 3, subset: 'validation' }))).map((s) => s.origin);
    expect(other).not.toEqual(val);
    // Adding a file moves at most one other file across the split (the hash order is per file).
    await writeFile(path.join(root, 'c0', 'new.jpg'), 'x');
    const valAfter = (await collect(imageFolder(root, { ...opts, subset: 'validation' }))).map((s) => s.origin);
    const moved = [...val.filter((f) => !valAfter.includes(f)), ...valAfter.filter((f) => !val.includes(f) && !f.endsWith('new.jpg'))];
    expect(moved.length).toBeLessThanOrEqual(1);
  });

  it('fails at subscription with a clear error for a missing root, a file root, no class folders, an empty class', async () => {
    const file = await layout({ 'f.txt': 'x' });
    await expect(collect(imageFolder(path.join(file, 'f.txt')))).rejects.toThrow('is not a folder');
    await expect(collect(imageFolder(await layout({ 'loose.jpg': 'x' })))).rejects.toThrow('holds no class folders');
    const empty = await layout({ 'a/1.jpg': 'x', 'b/readme.txt': 'x' });
    await expect(collect(imageFolder(empty))).rejects.toThrow(`class folder '${path.join(empty, 'b')}' holds no images`);
    expect(() => imageFolder('x', { validationSplit: 1 })).toThrow(/validationSplit/);
    expect(() => imageFolder('')).toThrow(/root/);
  });
});
