/**
 * The store, --jobs, --shard and checkpoints end to end, with real processes on a tiny data set
 * (3 classes x 8 images, size 8, batch 8): --jobs 2 equals --jobs 1 bit for bit; kill -9 at
 * several moments (the trainer, then a whole --jobs 2 process group) loses no finished epoch and
 * changes no number; two configs and two identical commands at once into one folder; a damaged
 * run file; shards merged by 'mixstream report'; Ctrl-C with workers.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultsFile, RunRecord } from '../../src/experiment/store/results.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { CLI, repo, runCli, type Spawned } from './helpers.js';

let root = '';
let data = '';
const base = (out: string, extra: string[] = []): string[] => [
  'ablate',
  '--data',
  data,
  '--arms',
  'baseline,cutmix',
  '--seeds',
  '2',
  '--epochs',
  '2',
  '--size',
  '8',
  '--batch',
  '8',
  '--backend',
  'wasm',
  '--no-report',
  '--out',
  out,
  ...extra,
];
const readResults = async (out: string): Promise<ResultsFile> =>
  JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
/** The numbers of a run (not its timings), to compare runs bit for bit. */
const numbers = (r: RunRecord): number[][] => r.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]);
const byRun = (rs: readonly RunRecord[], hash?: string): Record<string, number[][]> =>
  Object.fromEntries(rs.filter((r) => hash === undefined || r.configHash === hash).map((r) => [`${r.arm}/${r.seed}`, numbers(r)]));
/** Files in a config's run folder other than run files, config.json and looks.json (locks, checkpoints, temps). */
const leftovers = async (out: string, hash: string): Promise<string[]> =>
  (await readdir(path.join(out, 'runs', hash))).filter((n) => !/^[a-z]+-s\d+\.json$/.test(n) && n !== 'config.json' && n !== 'looks.json');

/**
 * Spawns the CLI in its own process group, frozen for good right after it prints a line matching
 * `holdAfter` (MIXSTREAM_TEST_HOLD_AFTER: nothing more is trained or written), and kills the whole
 * group with SIGKILL on seeing that line: the kill lands at that very point however loaded the machine.
 */
function killAfter(args: readonly string[], holdAfter: RegExp): Promise<Spawned & { killed: boolean }> {
  let killed = false;
  return spawnGroup(args, { MIXSTREAM_TEST_HOLD_AFTER: holdAfter.source }, (text, kill) => {
    if (!killed && holdAfter.test(text)) {
      killed = true;
      kill();
    }
  }).then((r) => ({ ...r, killed }));
}

/** Spawns the CLI in its own process group; `onStdout` may kill the whole group with SIGKILL. */
function spawnGroup(
  args: readonly string[],
  env: Record<string, string>,
  onStdout: (text: string, killGroup: () => void) => void,
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onStdout(stdout, () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      });
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let referenceOnce: Promise<{ readonly run: Spawned; readonly results: ResultsFile }> | undefined;
/** The --jobs 1, uninterrupted run in root/jobs1 that the others are compared with: made by whichever test first needs it, so each test runs alone too (vitest -t). */
const referenceRun = (): Promise<{ readonly run: Spawned; readonly results: ResultsFile }> =>
  (referenceOnce ??= (async () => {
    const out = path.join(root, 'jobs1');
    const run = await runCli(base(out, ['--jobs', '1']));
    expect(run.code, run.stderr).toBe(0);
    return { run, results: await readResults(out) };
  })());
const referenceResults = async (): Promise<ResultsFile> => (await referenceRun()).results;

let sharedOnce: Promise<Spawned[]> | undefined;
/** root/shared: two configs written at once, and two identical commands at once (made once, by whichever test first needs it). */
const sharedStore = (): Promise<Spawned[]> =>
  (sharedOnce ??= (async () => {
    const out = path.join(root, 'shared');
    const other = base(out, ['--jobs', '1', '--size', '12']);
    return Promise.all([runCli(base(out, ['--jobs', '1'])), runCli(base(out, ['--jobs', '1'])), runCli(other)]);
  })());

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mixstream-scale-'));
  data = path.join(root, 'data');
  await writeSyntheticFolder(data, { classes: 3, perClass: 8, seed: 9, minSide: 10, maxSide: 24, noise: 30 });
});

describe('mixstream ablate: store, --jobs, checkpoints', () => {
  it('refuses, before any training, an --out inside the data, an unwritable one (no hang on /proc), a foreign results.json', async () => {
    const foreign = path.join(root, 'foreign');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'results.json'), '{"someone": "else"}');
    const cases: Array<[string, RegExp]> = [
      [path.join(data, 'out'), /--out '.*' lies inside the data folder/],
      ['/proc/mixstream-out', /--out '\/proc\/mixstream-out' (cannot be created: |is under \/proc)/],
      [foreign, /results\.json' is not a mixstream results file \(format undefined.*move it away or choose another --out/],
    ];
    for (const [out, message] of cases) {
      const r = await runCli(base(out, ['--jobs', '1']));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).not.toMatch(/epoch 1\/2/);
    }
    expect(existsSync(path.join(data, 'out'))).toBe(false);
  }, 120_000);

  it('--jobs 2 gives the same numbers as --jobs 1, bit for bit, and shows every run in flight', async () => {
    const two = path.join(root, 'jobs2');
    const [{ run: a, results: reference }, b] = await Promise.all([referenceRun(), runCli(base(two, ['--jobs', '2']))]);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stdout).toMatch(/1 at once/);
    expect(b.stdout).toMatch(/2 at once/);
    const parallel = await readResults(two);
    expect(reference.complete && parallel.complete).toBe(true);
    expect(Object.keys(byRun(reference.runs))).toHaveLength(4);
    expect(byRun(parallel.runs)).toEqual(byRun(reference.runs));
    expect(await leftovers(two, parallel.configHash)).toEqual([]);
  }, 180_000);

  it('kill -9 at several moments, then a rerun: every finished epoch survives, nothing is duplicated, the numbers equal an uninterrupted run', async () => {
    const out = path.join(root, 'killed');
    const four = (extra: string[] = []): string[] =>
      base(out, ['--arms', 'cutmix', '--seeds', '1', '--epochs', '4', '--jobs', '1', ...extra]);
    const killAt = async (pattern: RegExp): Promise<Spawned> => {
      const r = await killAfter(four(), pattern);
      expect(r.killed, r.stdout + r.stderr).toBe(true);
      expect(r.signal).toBe('SIGKILL');
      return r;
    };
    await killAt(/\[1\/1\] cutmix seed 1/); // before any epoch: nothing to keep
    await killAt(/epoch 1\/4/); // just after epoch 1's checkpoint
    const second = await killAt(/epoch 3\/4/);
    expect(second.stdout).toMatch(/resuming from its checkpoint after epoch 1\/4/);
    const last = await runCli(four());
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(/resuming from its checkpoint after epoch 3\/4/);
    expect(last.stdout).not.toMatch(/epoch [123]\/4:/); // no epoch trained twice in the last attempt
    const results = await readResults(out);
    const whole = await runCli(base(path.join(root, 'whole'), ['--arms', 'cutmix', '--seeds', '1', '--epochs', '4', '--jobs', '1']));
    expect(whole.code, whole.stderr).toBe(0);
    const uninterrupted = await readResults(path.join(root, 'whole'));
    expect(results.runs).toHaveLength(1);
    expect(results.runs[0]!.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(numbers(results.runs[0]!)).toEqual(numbers(uninterrupted.runs[0]!));
    expect(await leftovers(out, results.configHash)).toEqual([]); // checkpoint and lock gone
  }, 240_000);

  it('kill -9 of a whole --jobs 2 process group (parent and workers) mid-run, then a rerun: same numbers as --jobs 1', async () => {
    const out = path.join(root, 'group');
    // baseline seed 1 is the plan's first run, so the parent's own (slot 0): frozen with it right after its epoch 1.
    const r = await killAfter(base(out, ['--jobs', '2']), /baseline seed 1 epoch 1\/2/);
    expect(r.killed, r.stdout + r.stderr).toBe(true);
    const again = await runCli(base(out, ['--jobs', '2']));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/resuming from its checkpoint after epoch 1\/2/);
    const results = await readResults(out);
    expect(results.complete).toBe(true);
    expect(byRun(results.runs)).toEqual(byRun((await referenceResults()).runs));
    expect(await leftovers(out, results.configHash)).toEqual([]);
  }, 180_000);

  it('two configs into one folder at once keep all their runs; two identical commands at once train each run once', async () => {
    const out = path.join(root, 'shared');
    const [a1, a2, b] = (await sharedStore()) as [Spawned, Spawned, Spawned];
    const reference = await referenceResults();
    for (const x of [a1, a2, b]) expect(x.code, x.stderr).toBe(0);
    const starts = (a1.stdout + a2.stdout).match(/\] (baseline|cutmix) seed \d/g) ?? [];
    expect(starts.sort()).toEqual(['] baseline seed 1', '] baseline seed 2', '] cutmix seed 1', '] cutmix seed 2']);
    const hashes = (await readdir(path.join(out, 'runs'))).sort();
    expect(hashes).toHaveLength(2);
    const results = await readResults(out); // the view of whichever wrote last lists every run of both configs
    for (const h of hashes) expect(results.runs.filter((x) => x.configHash === h)).toHaveLength(4);
    expect(byRun(results.runs, reference.configHash)).toEqual(byRun(reference.runs));
  }, 240_000);

  it('a damaged run file is moved aside and named, then trained again to the same numbers', async () => {
    const reference = await referenceResults();
    const out = path.join(root, 'jobs1');
    const file = path.join(out, 'runs', reference.configHash, 'cutmix-s2.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, 100));
    const r = await runCli(base(out, ['--jobs', '1']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/moved damaged run file .*cutmix-s2\.json aside to cutmix-s2\.json\.damaged-\S+: not JSON/);
    expect(r.stdout).toMatch(/3 already finished \(skipped\)/);
    const names = await readdir(path.join(out, 'runs', reference.configHash));
    expect(names.some((n) => n.startsWith('cutmix-s2.json.damaged-'))).toBe(true);
    expect(byRun((await readResults(out)).runs)).toEqual(byRun(reference.runs));
  }, 120_000);

  it('--shard i/3 into one folder, then mixstream report: the merged results equal a single run', async () => {
    const reference = await referenceResults();
    const out = path.join(root, 'sharded');
    const partial = await runCli(base(out, ['--jobs', '1', '--shard', '1/3', '--keep-checkpoints']));
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toMatch(/1 runs x 2 epochs \(shard 1\/3\)/);
    const early = await runCli(['report', out, '--no-pngs']);
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toMatch(/missing: /);
    const rest = await Promise.all([
      runCli(base(out, ['--jobs', '1', '--shard', '0/3'])),
      runCli(base(out, ['--jobs', '1', '--shard', '2/3'])),
    ]);
    for (const x of rest) expect(x.code, x.stderr).toBe(0);
    const report = await runCli(['report', out, '--no-pngs']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/4 of 4 planned run\(s\)/);
    expect(report.stdout).not.toMatch(/missing/);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    const merged = await readResults(out);
    expect(merged.complete).toBe(true);
    expect(byRun(merged.runs)).toEqual(byRun(reference.runs));
    expect(merged.summary).toEqual(reference.summary);

    // --keep-checkpoints kept shard 1's run's (plan index 1: baseline seed 2); planted into the
    // other config of the 'shared' folder, it is refused there (a message, a fresh start, same numbers).
    const kept = path.join(out, 'runs', reference.configHash, 'baseline-s2.checkpoint');
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(path.join(out, 'runs', reference.configHash, 'baseline-s1.checkpoint'))).toBe(false);
    const shared = path.join(root, 'shared');
    for (const x of await sharedStore()) expect(x.code, x.stderr).toBe(0);
    const otherHash = (await readdir(path.join(shared, 'runs'))).find((h) => h !== reference.configHash)!;
    const before = (await readResults(shared)).runs.find((x) => x.configHash === otherHash && x.arm === 'baseline' && x.seed === 2)!;
    await copyFile(kept, path.join(shared, 'runs', otherHash, 'baseline-s2.checkpoint'));
    await rm(path.join(shared, 'runs', otherHash, 'baseline-s2.json'));
    const other = await runCli(base(shared, ['--jobs', '1', '--size', '12']));
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/baseline seed 2: checkpoint .* is of another config or pipeline .*; starting afresh/);
    expect(other.stdout).not.toMatch(/resuming/);
    const after = (await readResults(shared)).runs.find((x) => x.configHash === otherHash && x.arm === 'baseline' && x.seed === 2)!;
    expect(numbers(after)).toEqual(numbers(before));
  }, 300_000);

  it('Ctrl-C with --jobs 2 stops every worker cleanly (exit 130, no stack), claims released, checkpoints kept', async () => {
    const out = path.join(root, 'sigint');
    let sent = false;
    const r = await runCli(base(out, ['--jobs', '2', '--epochs', '300', '--seeds', '1']), {
      onStdout: (text, kill) => {
        if (!sent && /epoch 2\/300/.test(text)) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(/stopped (baseline|cutmix) seed 1 \(checkpointed after epoch [1-9]\d*\/300: a rerun resumes there\)/);
    const hash = (await readdir(path.join(out, 'runs')))[0]!;
    const names = await readdir(path.join(out, 'runs', hash));
    expect(names.filter((n) => n.endsWith('.lock'))).toEqual([]); // claims released
    expect(names.filter((n) => n.endsWith('.checkpoint')).length).toBeGreaterThan(0);
  }, 180_000);
});
