/**
 * The CLI on hostile input: every bad flag, option or data file exits 2 with one line naming the
 * input and the reason, control characters escaped; --on-error skip finishes and lists what it
 * skipped; a second Ctrl-C ends the process even with a thread stuck in a read.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { cli } from '../../src/cli/main.js';
import { defaultArmRegistry } from '../../src/experiment/plan/arms.js';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import { InputError } from '../../src/experiment/errors.js';
import { validateConfig } from '../../src/experiment/plan/validate.js';
import type { ResultsFile } from '../../src/experiment/store/results.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { repo, runCli, TINY_RUN } from '../cli/helpers.js';
import { runCliPeak } from './peak.js';
import { encodeExample } from '../../src/core/protobuf.js';
import { encodeTfrecord } from '../../src/core/tfrecordFrame.js';
import { CONTROL_NAME, fifoAt, jpegPixelBomb, jpegScanBomb, manifestWithHole, realImage, scratchDir, svgBomb } from './corpus.js';

let dir = '';
let remove = async (): Promise<void> => {};
let clean = '';
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-cli'));
  clean = path.join(dir, 'clean');
  await writeSyntheticFolder(clean, { classes: 2, perClass: 6, seed: 1, minSide: 16, maxSide: 24 });
});
afterAll(() => remove());

/** A copy of the clean folder with `file` (relative) written as `bytes`, or made by `make`. */
async function dataWith(name: string, file: string, bytes: Uint8Array | undefined, make?: (full: string) => void): Promise<string> {
  const root = path.join(dir, name);
  await writeSyntheticFolder(root, { classes: 2, perClass: 6, seed: 1, minSide: 16, maxSide: 24 });
  const full = path.join(root, file);
  if (bytes) await writeFile(full, bytes);
  make?.(full);
  return root;
}

function expectOneLine(r: { code: number | null; stderr: string }, what: string, message: RegExp): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, what).toHaveLength(1);
  expect(lines[0]).toMatch(/^mixstream: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr, what).not.toMatch(/argument is ambiguous|Invalid typed array|ERR_PARSE_ARGS|\n\s+at |\u001b/); // eslint-disable-line no-control-regex
}

describe('bad flags and options exit 2 before anything is built', () => {
  it('negative numbers, an oversized --size, model options out of range or unknown, --out under /proc', async () => {
    const out = path.join(dir, 'out-flags');
    const cases: Array<[string[], RegExp]> = [
      [['--epochs', '-1'], /--epochs must be a positive integer, got '-1'/],
      [['--batch', '-8'], /--batch must be a positive integer, got '-8'/],
      [['--max-pixels', '-5'], /--max-pixels must be a positive integer, got '-5'/],
      [['--on-error', 'ignore'], /--on-error must be 'fail' or 'skip', got 'ignore'/],
      [['--size', '4000'], /simple-cnn at --size 4000 with --batch 32 .*needs about [\d.]+ GiB to train, over the 8\.0 GiB budget/],
      [['--model-options', '{"hidden":2000000}'], /model option 'hidden' of simple-cnn must be an integer in \[1, 65536\], got 2000000/],
      [['--model-options', '{"hiden":64}'], /model option 'hiden' is not one simple-cnn takes \(it takes: filters, hidden\)/],
      [['--model', 'resnet', '--model-options', '{"widths":[16,"x"]}'], /model option 'widths' of resnet must be a list/],
      [['--out', '/proc/x'], /--out '\/proc\/x' is under \/proc \(a system folder\)/],
      [['--out', path.join(clean, 'class_00', '0000.jpg', 'sub')], /--out '.*0000\.jpg\/sub': '.*0000\.jpg' is a file/],
    ];
    // In process (cli() is what the binary runs): these fail before any data, model or folder is touched.
    for (const [args, message] of cases) {
      let stderr = '';
      const sink = (write: (s: string) => void) =>
        ({ write: (s: string) => (write(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
      const code = await cli(['ablate', '--data', clean, '--out', out, ...args], {
        stdout: sink(() => {}),
        stderr: sink((s) => (stderr += s)),
      });
      expectOneLine({ code, stderr }, args.join(' '), message);
    }
    // Without --data the built-in set is cached: a cache folder under /sys is refused the same way.
    let stderr = '';
    const sink = (write: (s: string) => void) =>
      ({ write: (s: string) => (write(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
    const code = await cli(['ablate', '--cache-dir', '/sys/x', '--out', out], {
      stdout: sink(() => {}),
      stderr: sink((s) => (stderr += s)),
    });
    expectOneLine({ code, stderr }, '--cache-dir /sys/x', /--cache-dir '\/sys\/x' is under \/sys/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
    // The library checks the same before building anything (runAblation calls validateConfig).
    expect(() => validateConfig({ ...DEFAULT_CONFIG, modelOptions: { hidden: 2_000_000 } }, defaultArmRegistry())).toThrow(InputError);
    expect(() => validateConfig({ ...DEFAULT_CONFIG, size: 4000 }, defaultArmRegistry())).toThrow(/needs about [\d.]+ GiB to train/);
    const help = parseCommand(['ablate', '--help']);
    expect(help.kind === 'help' && help.text).toMatch(/--max-pixels <n>[\s\S]*\[40000000\][\s\S]*--on-error <fail\|skip>/);
  });
});

describe('bad data exits 2 with one line naming the file and the reason', () => {
  it('a pixel bomb, a FIFO listed by a manifest, a corrupt file whose name holds a newline and an escape', async () => {
    const bomb = await dataWith('bomb', 'class_00/bomb.jpg', jpegPixelBomb(26000, 26000));
    const m = path.join(dir, 'manifest');
    await writeSyntheticFolder(m, { classes: 2, perClass: 6, seed: 1, minSide: 16, maxSide: 24 });
    fifoAt(path.join(m, 'class_00', 'pipe.jpg'));
    const rows = ['path,label', 'class_00/pipe.jpg,class_00'];
    for (const c of ['class_00', 'class_01']) for (let i = 0; i < 6; i++) rows.push(`${c}/${String(i).padStart(4, '0')}.jpg,${c}`);
    const { readdir } = await import('node:fs/promises');
    const names = await readdir(path.join(m, 'class_00'));
    expect(names).toContain('0000.jpg'); // the rows above name real files
    await writeFile(path.join(m, 'list.csv'), `${rows.join('\n')}\n`);
    const control = await dataWith('control', `class_01/${CONTROL_NAME}.jpg`, new TextEncoder().encode('not a jpeg'));
    const [r1, r2, r3] = await Promise.all([
      runCli(['ablate', '--data', bomb, '--out', path.join(dir, 'o1'), ...TINY_RUN]),
      runCli(['ablate', '--data', path.join(m, 'list.csv'), '--out', path.join(dir, 'o2'), ...TINY_RUN]),
      runCli(['ablate', '--data', control, '--out', path.join(dir, 'o3'), ...TINY_RUN]),
    ]);
    expectOneLine(r1!, 'bomb', /bomb\.jpg': declares an image of 26000x26000 = 676000000 pixels, over the limit of 40000000/);
    expectOneLine(r2!, 'fifo', /pipe\.jpg': is a FIFO \(named pipe\), not a regular file/);
    expectOneLine(r3!, 'control', /bad\\nname\\e\[31m\.jpg': /);
  }, 300_000);

  it('--on-error skip: the run finishes, the skipped file is counted in the summary and listed in results.json', async () => {
    const bomb = await dataWith('skip', 'class_00/bomb.jpg', jpegPixelBomb(26000, 26000));
    await dataWith('skip', 'class_01/broken.jpg', new TextEncoder().encode('not a jpeg'));
    // And a link out of the root: skipped when listing (with or without --on-error), counted the same way.
    const { symlink } = await import('node:fs/promises');
    await symlink(path.join(clean, 'class_00', '0000.jpg'), path.join(bomb, 'class_01', 'escape.jpg'));
    const out = path.join(dir, 'o-skip');
    const r = await runCli(['ablate', '--data', bomb, '--out', out, '--on-error', 'skip', ...TINY_RUN]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped 3 file\(s\), listed in results\.json/);
    const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
    expect((results.skipped ?? []).map((s) => [path.basename(s.path), s.reason.slice(0, 40)]).sort()).toEqual([
      ['bomb.jpg', 'declares an image of 26000x26000 = 67600'],
      ['broken.jpg', expect.any(String)],
      ['escape.jpg', 'symbolic link leading outside the root ('],
    ]);
    await rm(out, { recursive: true, force: true });
  }, 300_000);
});

describe('decode-time bombs in an image folder (issue 23, fault 7)', () => {
  it('an SVG saved as .png and a 50,000-scan progressive JPEG: exit 2, one line naming the file, under 1 GB', async () => {
    const svg = await dataWith('svg', 'class_00/blur.png', svgBomb());
    const scans = await dataWith('scans', 'class_01/scans.jpg', await jpegScanBomb(50_000, 256));
    const [r1, r2] = await Promise.all([
      runCliPeak(['ablate', '--data', svg, '--out', path.join(dir, 'o-svg'), ...TINY_RUN]),
      runCliPeak(['ablate', '--data', scans, '--out', path.join(dir, 'o-scans'), ...TINY_RUN]),
    ]);
    expectOneLine(r1, 'svg', /blur\.png': is not a JPEG, PNG, WebP, GIF or TIFF image \(its content is SVG\); not decoded/);
    expectOneLine(r2, 'scans', /scans\.jpg': holds more than 500 scans/);
    for (const r of [r1, r2]) if (r.peakBytes !== undefined) expect(r.peakBytes).toBeLessThan(2 ** 30);
  }, 120_000);
});

describe('manifest bombs (issue 23, fault 8)', () => {
  it('a label of 2,000,000,000 and an unclosed quote followed by 400 MB: exit 2, one line naming the line, under 1 GB', async () => {
    const root = await dataWith('mf-bombs', 'class_00/extra.txt', new Uint8Array(0));
    const label = path.join(root, 'label.csv');
    await writeFile(label, 'path,label\nclass_00/0000.jpg,0\nclass_01/0000.jpg,2000000000\n');
    const quote = path.join(root, 'quote.csv');
    await manifestWithHole(quote, 'path,label\nclass_00/0000.jpg,0\n"class_01/0000.jpg', 400 * 2 ** 20);
    const [r1, r2] = await Promise.all([
      runCliPeak(['ablate', '--data', label, '--out', path.join(dir, 'o-label'), ...TINY_RUN]),
      runCliPeak(['ablate', '--data', quote, '--out', path.join(dir, 'o-quote'), ...TINY_RUN]),
    ]);
    expectOneLine(r1, 'label', /label\.csv:3: label 2000000000 is over the limit of 100000 classes \(maxClasses\)/);
    expectOneLine(r2, 'quote', /quote\.csv:3: a field runs past 65536 characters inside quotes \(an unclosed quote\?\)/);
    for (const r of [r1, r2]) if (r.peakBytes !== undefined) expect(r.peakBytes).toBeLessThan(2 ** 30);
  }, 120_000);
});

describe('bad records of a TFRecord data set', () => {
  it('exit 2 naming shard and offset; with --on-error skip the record is skipped and listed', async () => {
    const shards = path.join(dir, 'tfr');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(shards);
    await writeFile(path.join(shards, 'label.labels.txt'), 'a\nb\n');
    const image = await realImage(16, 12);
    const records = Array.from({ length: 24 }, (_, i) =>
      encodeTfrecord(encodeExample({ image: { bytes: [image] }, label: { int64: [i % 2] } })),
    );
    const bad = records[5]!;
    bad[20] = (bad[20] as number) ^ 0xff; // inside the data: its CRC no longer matches, the framing holds
    const offset = records.slice(0, 5).reduce((n, r) => n + r.length, 0);
    await writeFile(path.join(shards, 'data.tfrecord-00000-of-00001'), Buffer.concat(records));
    const [fail, skip] = await Promise.all([
      runCli(['ablate', '--data', shards, '--out', path.join(dir, 'o-tfr-fail'), ...TINY_RUN]),
      runCli(['ablate', '--data', shards, '--out', path.join(dir, 'o-tfr-skip'), '--on-error', 'skip', ...TINY_RUN]),
    ]);
    expectOneLine(fail, 'tfrecord', new RegExp(`data\\.tfrecord-00000-of-00001@${offset}: data CRC mismatch`));
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/skipped 1 file\(s\), listed in results\.json/);
    const results = JSON.parse(await readFile(path.join(dir, 'o-tfr-skip', 'results.json'), 'utf8')) as ResultsFile;
    expect(results.skipped?.map((s) => [path.basename(s.path), s.reason.replace(/ \(.*/, '')])).toEqual([
      [`data.tfrecord-00000-of-00001@${offset}`, 'data CRC mismatch'],
    ]);
  }, 300_000);
});

describe('a second Ctrl-C always ends the process', () => {
  it('even while a worker thread is blocked reading a FIFO (process.exit would wait for it for ever)', async () => {
    const fifo = path.join(dir, 'stuck');
    fifoAt(fifo);
    const script = path.join(dir, 'stuck.mts');
    await writeFile(
      script,
      `import { Worker } from 'node:worker_threads';
import { hardInterrupt } from ${JSON.stringify(path.join(repo, 'src/cli/interrupt.ts'))};
const worker = new Worker(${JSON.stringify(`require('node:worker_threads').parentPort.postMessage('blocking'); require('node:fs').readFileSync(${JSON.stringify(fifo)});`)}, { eval: true });
let n = 0;
process.on('SIGINT', () => { n++; if (n === 1) console.log('first'); else hardInterrupt(); });
worker.once('message', () => console.log('ready'));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      if (d.includes('ready')) child.kill('SIGINT');
      if (d.includes('first')) child.kill('SIGINT');
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect(seen).toContain('first');
    expect(signal ?? code).toBe(code === 130 ? 130 : 'SIGINT');
  });
});
