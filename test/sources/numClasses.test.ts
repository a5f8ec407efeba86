import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMPTY, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromArrays } from '../../src/sources/fromArrays.js';
import { imageFolder } from '../../src/sources/imageFolder.js';
import { numClassesOf } from '../../src/sources/numClasses.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';

describe('numClassesOf', () => {
  it("is the source's class count, read from its first item: a 4-class folder, in-memory arrays; errors and empty sources reject", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-numclasses-'));
    try {
      await writeSyntheticFolder(dir, { classes: 4, perClass: 2, seed: 1, minSide: 8, maxSide: 8 });
      expect(await numClassesOf(imageFolder(dir))).toBe(4);
      expect(await numClassesOf(imageFolder(dir, { validationSplit: 0.5, subset: 'validation' }))).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await numClassesOf(fromArrays({ images: new Float32Array(3 * 3), shape: [3, 1, 1, 3], labels: [0, 6, 2] }))).toBe(7);
    await expect(numClassesOf(imageFolder('/nonexistent/mixstream'))).rejects.toThrow(/nonexistent/);
    await expect(numClassesOf(EMPTY)).rejects.toThrow(/no elements/);
    await expect(numClassesOf(throwError(() => new Error('boom')))).rejects.toThrow('boom');
  });
});
