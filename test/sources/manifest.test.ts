import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/core/csv.js';
import { manifest, readManifest, resolveInside } from '../../src/sources/manifest.js';

const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const put = async (name: string, text: string): Promise<string> => {
  const f = path.join(dir, name);
  await writeFile(f, text);
  return f;
};

describe('csv parser', () => {
  it('reads quoted fields, doubled quotes, line breaks in quotes, CRLF, BOM, blank lines', () => {
    const recs = parseCsv('\uFEFFpath,label\r\n"a,b.jpg",cat\r\n\r\n"say ""hi"".png","multi\nline"\nplain.jpg,3');
    expect(recs).toEqual([
      { fields: ['path', 'label'], line: 1 },
      { fields: ['a,b.jpg', 'cat'], line: 2 },
      { fields: ['say "hi".png', 'multi\nline'], line: 4 },
      { fields: ['plain.jpg', '3'], line: 6 },
    ]);
    expect(() => parseCsv('"open,1')).toThrow(/unclosed quote/);
    expect(() => parseCsv('"a"b,1')).toThrow(/after a closing quote/);
  });

  it('gives the same records whatever the chunking', async () => {
    const { CsvParser } = await import('../../src/core/csv.js');
    const text = 'p,l\r\n"x,""y""\r\nz",1\r\nq,2\n';
    const whole = parseCsv(text).map((r) => r.fields);
    for (let size = 1; size < 6; size++) {
      const p = new CsvParser();
      const out = [];
      for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
      out.push(...p.end());
      expect(out.map((r) => r.fields)).toEqual(whole);
    }
  });
});

describe('manifest', () => {
  it('CSV with a header and class names: names map to sorted indices, paths resolve under the root', async () => {
    const f = await put('train.csv', 'id,label,path\n1,dog,img/a.jpg\n2,cat,"img/b,1.jpg"\n3,emu,img/sub/../c.jpg\n4,cat,d.jpg\n');
    const out = await all(manifest(f, { shuffle: false }));
    expect(out.map((s) => [path.relative(dir, s.input as string), s.label, s.numClasses, s.index])).toEqual([
      [path.join('img', 'a.jpg'), 1, 3, 0],
      [path.join('img', 'b,1.jpg'), 0, 3, 1],
      [path.join('img', 'c.jpg'), 2, 3, 2],
      ['d.jpg', 0, 3, 3],
    ]);
    expect(out.every((s) => s.origin === s.input)).toBe(true);
    expect((await readManifest(f)).classes).toEqual(['cat', 'dog', 'emu']);
  });

  it('CSV without a header, integer labels, another root; explicit classes', async () => {
    const f = await put('plain.csv', 'x/1.png,2\nx/2.png,0\n');
    const root = path.join(dir, 'elsewhere');
    const out = await all(manifest(f, { root, shuffle: false }));
    expect(out.map((s) => [s.input, s.label, s.numClasses])).toEqual([
      [path.join(root, 'x', '1.png'), 2, 3],
      [path.join(root, 'x', '2.png'), 0, 3],
    ]);
    const named = await put('named.csv', 'a.png,b\nc.png,a\n');
    expect((await all(manifest(named, { shuffle: false, classes: ['b', 'a', 'z'] }))).map((s) => [s.label, s.numClasses])).toEqual([
      [0, 3],
      [1, 3],
    ]);
  });

  it('JSON lines, shuffled per epoch with a seed', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ path: `i/${i}.jpg`, label: i % 4 }));
    const f = await put('train.jsonl', lines.join('\n') + '\n\n');
    const source = manifest(f, { seed: 2 });
    const [a, b] = [await all(source), await all(source)];
    expect(a.map((s) => s.input).sort()).toEqual(b.map((s) => s.input).sort());
    expect(a.map((s) => s.input)).not.toEqual(b.map((s) => s.input));
    expect((await all(manifest(f, { seed: 2 }))).map((s) => s.input)).toEqual(a.map((s) => s.input));
    for (const s of a) expect(s.label).toBe(Number(path.basename(s.input as string, '.jpg')) % 4);
  });

  it('refuses paths that leave the root, naming the line', async () => {
    expect(resolveInside('/r', 'a/../b')).toBe(path.resolve('/r/b'));
    expect(resolveInside('/r', '../r2/x')).toBeUndefined();
    expect(resolveInside('/r', '/etc/passwd')).toBeUndefined();
    expect(resolveInside('/r', 'a/../..')).toBeUndefined();
    expect(resolveInside('/r', 'C:\\x')).toBeUndefined();
    const up = await put('up.csv', 'path,label\nok.jpg,a\n../../etc/passwd,b\n');
    await expect(all(manifest(up))).rejects.toThrow(`manifest: ${up}:3: path '../../etc/passwd' is absolute or leaves the root`);
    const abs = await put('abs.jsonl', '{"path":"ok.jpg","label":1}\n\n{"path":"/etc/passwd","label":0}\n');
    await expect(all(manifest(abs))).rejects.toThrow(`${abs}:3: path '/etc/passwd'`);
  });

  it('other bad rows name the line', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['short.csv', 'a.jpg,1\nb.jpg\n', /short.csv:2: has 1 field, expected a path and a label/],
      ['nolabel.csv', 'path,label\na.jpg,\n', /nolabel.csv:2: has no label/],
      ['badjson.jsonl', '{"path":"a","label":1}\n{oops\n', /badjson.jsonl:2: not JSON/],
      ['frac.jsonl', '{"path":"a","label":1.5}\n', /frac.jsonl:1: label 1.5 is not an integer/],
      ['quote.csv', 'a.jpg,1\n"b.jpg,2\n', /quote.csv:2: unclosed quote/],
      ['empty.csv', '\n\n', /empty.csv: holds no rows/],
      ['range.csv', 'a.jpg,0\nb.jpg,5\n', /range.csv:2: label 5 is outside \[0, 2\)/],
    ];
    for (const [name, text, error] of cases) {
      const f = await put(name, text);
      await expect(all(manifest(f, name === 'range.csv' ? { classes: ['x', 'y'] } : {})), name).rejects.toThrow(error);
    }
    const named = await put('unknown.csv', 'a.jpg,cat\nb.jpg,dog\n');
    await expect(all(manifest(named, { classes: ['cat'] }))).rejects.toThrow(/unknown.csv:2: class 'dog' is not among options.classes/);
    expect(() => manifest('m.csv', { format: 'xml' as never })).toThrow(/option 'format'/);
  });
});
