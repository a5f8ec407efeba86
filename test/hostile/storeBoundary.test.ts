/**
 * The run store as a boundary (issue 23, faults 2, 3, 4 and 6): no path built from stored content
 * leaves --out (an old results.json naming '../../escape-target' and '../pwned'); --out inside
 * --data is seen through symlinks on either side; the store's files, and --model's model.json and
 * weights.bin, are read like data: a FIFO, a device or a link out of their folder is refused,
 * named, without a read or a hang.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../../src/models/userModel.js';
import { checkOutFolder } from '../../src/experiment/store/outFolder.js';
import { RESULTS_FORMAT } from '../../src/experiment/store/results.js';
import { readRunFile, readStore } from '../../src/experiment/store/runFiles.js';
import { migrateResultsFile, readConfigHeader } from '../../src/experiment/store/views.js';
import { rebuildReport } from '../../src/cli/report.js';
import { InputError } from '../../src/experiment/errors.js';
import { runCli } from '../cli/helpers.js';
import { valRun } from '../helpers.js';
import { fifoAt, scratchDir } from './corpus.js';
import { configHeader, escapingResultsFile, HOSTILE_STORE_FILES, hostileStoreFile, modelJsonFor, type HostileStoreFile } from './store.js';

let dir = '';
let remove = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-store'));
});
afterAll(() => remove());

describe('the run store as a boundary', () => {
  it('migrating an old results.json whose configHash and arm climb out of --out writes nothing outside it', async () => {
    const out = path.join(dir, 'a', 'b', 'out');
    await mkdir(out, { recursive: true });
    await escapingResultsFile(out, RESULTS_FORMAT, { ...valRun('x', 1, [0.5]) });
    const notes = await migrateResultsFile(out);
    expect(notes[0]).toMatch(/migrated 0 run\(s\)/);
    expect(notes[1]).toMatch(/run 1 not migrated: its configHash "..\/..\/escape-target" is not 8 hex digits/);
    expect(existsSync(path.join(dir, 'a', 'escape-target'))).toBe(false);
    expect(existsSync(path.join(dir, 'a', 'b', 'escape-target'))).toBe(false);
    expect((await readdir(path.join(dir, 'a'))).sort()).toEqual(['b']);
    expect((await readdir(path.join(dir, 'a', 'b'))).sort()).toEqual(['out']);
  });

  it('--out inside --data is refused through a symlink on either side', async () => {
    const data = path.join(dir, 'data');
    await mkdir(path.join(data, 'cats'), { recursive: true });
    await symlink(data, path.join(dir, 'data-link'));
    await symlink(path.join(data, 'cats'), path.join(dir, 'out-link'));
    const inside = /lies inside the data folder .*choose a folder outside it/;
    expect(await checkOutFolder(path.join(dir, 'data-link', 'report'), data)).toMatch(inside); // the out side linked
    expect(await checkOutFolder(path.join(data, 'report'), path.join(dir, 'data-link'))).toMatch(inside); // the data side linked
    expect(await checkOutFolder(path.join(dir, 'out-link', 'new', 'deeper'), data)).toMatch(inside); // a link in an existing parent
    expect(await checkOutFolder(path.join(dir, 'elsewhere'), path.join(dir, 'data-link'))).toBeUndefined();
  });

  it('a FIFO, a link to /dev/zero or to a file outside as a run file or config header is damaged, named, never read', async () => {
    const out = path.join(dir, 'fifo-store');
    const runs = path.join(out, 'runs', 'c0ffee00');
    await mkdir(runs, { recursive: true });
    fifoAt(path.join(runs, 'baseline-s1.json'));
    await symlink('/dev/zero', path.join(runs, 'baseline-s2.json'));
    await writeFile(path.join(dir, 'outside.json'), '{}');
    await symlink(path.join(dir, 'outside.json'), path.join(runs, 'baseline-s3.json'));
    fifoAt(path.join(runs, 'config.json'));
    const store = await readStore(out);
    expect(store.runs).toEqual([]);
    expect(store.damaged.map((d) => `${path.basename(d.file)}: ${d.reason}`)).toEqual([
      'baseline-s1.json: is a FIFO (named pipe), not a regular file',
      'baseline-s2.json: is a character device, not a regular file',
      expect.stringMatching(/^baseline-s3\.json: is a link to '.*outside\.json', outside its folder$/) as unknown,
    ]);
    await expect(readConfigHeader(out, 'c0ffee00')).rejects.toThrow(
      /^config header '.*config\.json' is a FIFO \(named pipe\), not a regular file; move it away/,
    );
    expect((await readRunFile(path.join(runs, 'baseline-s1.json'))).kind).toBe('damaged');
  });

  it('mixstream report over a store of FIFOs (run file and config header) ends with one line and exit 2, no hang', async () => {
    const out = path.join(dir, 'fifo-report');
    const runs = path.join(out, 'runs', 'c0ffee00');
    await mkdir(runs, { recursive: true });
    fifoAt(path.join(runs, 'baseline-s1.json'));
    fifoAt(path.join(runs, 'config.json'));
    const r = await runCli(['report', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^mixstream: config header '.*fifo-report\/runs\/c0ffee00\/config\.json' is a FIFO \(named pipe\), not a regular file; move it away/,
    );
  }, 30_000);

  it.each(HOSTILE_STORE_FILES)('mixstream report with %s as config.json refuses it in one line naming it', async (kind) => {
    const out = path.join(dir, `header-${kind.replace(' ', '-')}`);
    const runs = path.join(out, 'runs', 'c0ffee00');
    await mkdir(runs, { recursive: true });
    await hostileStoreFile(path.join(runs, 'config.json'), kind);
    const why: Record<HostileStoreFile, RegExp> = {
      fifo: /is a FIFO \(named pipe\), not a regular file/,
      socket: /is a socket or a FIFO with no writer, not a regular file/,
      'device link': /is a character device, not a regular file/,
      'outside link': /is a link to '.*outside-config\.json', outside its folder/,
      oversized: /is 33554432 bytes, over the limit of 1048576 bytes/,
      'not json': /is not JSON \(/,
      'foreign json': /is not a mixstream config header \(format "someone-else\/2", expected mixstream-config\/1/,
    };
    const error = await rebuildReport(out, { pngs: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(new RegExp(`^config header '${runs}/config\\.json' ${why[kind].source}.*; move it away`));
  });

  it('mixstream report with a FIFO as looks.json refuses it in one line naming it, not waited on', async () => {
    const out = path.join(dir, 'looks-fifo');
    const runs = path.join(out, 'runs', 'c0ffee00');
    await mkdir(runs, { recursive: true });
    await writeFile(path.join(runs, 'config.json'), JSON.stringify(configHeader('c0ffee00')));
    fifoAt(path.join(runs, 'looks.json'));
    await expect(rebuildReport(out, { pngs: false })).rejects.toThrow(
      /^looks file '.*looks-fifo\/runs\/c0ffee00\/looks\.json' is a FIFO \(named pipe\), not a regular file; move it away/,
    );
  });

  it('a FIFO as results.json is refused in one line, not waited on', async () => {
    const out = path.join(dir, 'fifo-results');
    await mkdir(out, { recursive: true });
    fifoAt(path.join(out, 'results.json'));
    await expect(migrateResultsFile(out)).rejects.toThrow(/results\.json' is a FIFO \(named pipe\), not a regular file; move it away/);
  });

  it.each<[string, (bin: string) => Promise<void>, RegExp]>([
    [
      'a link to /etc/passwd',
      (bin) => symlink('/etc/passwd', bin),
      /weight file '.*weights\.bin': .*is a link to '\/etc\/passwd', outside its folder/,
    ],
    ['a link to /dev/zero', (bin) => symlink('/dev/zero', bin), /weight file '.*weights\.bin': .*is a character device/],
    ['a FIFO', async (bin) => fifoAt(bin), /weight file '.*weights\.bin': .*is a FIFO/],
    [
      'larger than its manifest says',
      (bin) => writeFile(bin, Buffer.alloc(1 << 20)),
      /weight file '.*weights\.bin': .*over the limit of 16384 bytes/,
    ],
  ])('--model with weights.bin as %s is refused naming the file', async (_, make, reason) => {
    const model = path.join(dir, `model-${Math.random().toString(36).slice(2)}`);
    await mkdir(model);
    const file = await modelJsonFor(model);
    await make(path.join(model, 'weights.bin'));
    await expect(readModelFiles(file)).rejects.toThrow(reason);
  });

  it('--model with model.json as a FIFO is refused naming it', async () => {
    const model = path.join(dir, 'model-fifo');
    await mkdir(model);
    fifoAt(path.join(model, 'model.json'));
    await expect(readModelFiles(path.join(model, 'model.json'))).rejects.toThrow(/cannot read '.*model\.json': .*is a FIFO/);
  });
});
