/**
 * The run store without training: atomic writes, claims (held, dead holder, stale heartbeat),
 * damaged files read without side effects, then set aside and named, the output folder checks, old results.json migration.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESULTS_FORMAT } from '../../src/experiment/store/results.js';
import { type RunRecord } from '../../src/experiment/record.js';
import { checkOutFolder } from '../../src/experiment/store/outFolder.js';
import { claimRun, processStartTime } from '../../src/experiment/store/locks.js';
import { cleanStaleTemps, writeFileAtomic } from '../../src/experiment/store/atomic.js';
import { readRunFile, readStore, tidyStore } from '../../src/experiment/store/runFiles.js';
import { runRecordProblem } from '../../src/experiment/record.js';
import { migrateResultsFile } from '../../src/experiment/store/views.js';
import { tempDir } from '../helpers.js';

const epoch = (n: number) => ({
  epoch: n,
  loss: 1,
  accuracy: 0.5,
  valLoss: 1.1,
  valAccuracy: 0.4,
  seconds: 1,
  trainSeconds: 0.9,
  imagesPerSecond: 100,
});
const run = (arm: string, seed: number, configHash = 'c0ffee00', epochs = 2): RunRecord => ({
  key: `${arm}|${seed}|${configHash}|p`,
  configHash,
  arm,
  seed,
  backend: 'wasm',
  pipeline: { train: 't', trainSteps: [], validation: 'v', validationSteps: [] },
  model: { name: 'simple-cnn', options: {}, parameters: 10 },
  epochs: Array.from({ length: epochs }, (_, i) => epoch(i + 1)),
  seconds: 2,
  finishedAt: '2026-01-01T00:00:00.000Z',
});

/** The pid of a process that has exited (so certainly dead on this host). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('run store', () => {
  it('writes atomically and leaves no temp file; cleans temps and set-aside locks of dead writers, keeps live ones', async () => {
    const dir = await tempDir();
    await writeFileAtomic(path.join(dir, 'a.json'), '{"x":1}\n');
    expect(await readdir(dir)).toEqual(['a.json']);
    const dead = `.a.json.tmp-${os.hostname()}-${deadPid()}-abc123`;
    const live = `.a.json.tmp-${os.hostname()}-${process.pid}-def456`;
    const old = `.results.json.tmp-${deadPid()}-1700000000000`; // the pre-store writer's name
    // A lock renamed aside to be removed (removeLockIf) by a process that died before removing it.
    const stolen = `cutmix-s1.lock.stolen-${os.hostname()}-${deadPid()}-a1b2c3`;
    const released = `cutmix-s2.lock.released-${os.hostname()}-${deadPid()}-d4e5f6`;
    const releasing = `cutmix-s3.lock.released-${os.hostname()}-${process.pid}-0a0b0c`;
    for (const f of [dead, live, old, stolen, released, releasing]) await writeFile(path.join(dir, f), 'partial');
    expect((await cleanStaleTemps(dir)).sort()).toEqual([dead, old, stolen, released].sort());
    expect((await readdir(dir)).sort()).toEqual([live, releasing, 'a.json'].sort());
  });

  it('a claim is exclusive; a lock of a dead process or with a stopped heartbeat is taken over; a live one on another host is not', async () => {
    const dir = await tempDir();
    const first = await claimRun(dir, 'cutmix', 1);
    expect(first).toBeDefined();
    expect(await claimRun(dir, 'cutmix', 1)).toBeUndefined();
    await first!.release();
    expect(existsSync(path.join(dir, 'cutmix-s1.lock'))).toBe(false);

    const lock = path.join(dir, 'mixup-s2.lock');
    await writeFile(lock, JSON.stringify({ pid: deadPid(), host: os.hostname(), startedAt: 'x' }));
    const steals: string[] = [];
    const taken = await claimRun(dir, 'mixup', 2, { onSteal: (why) => steals.push(why) });
    expect(taken).toBeDefined();
    expect(steals[0]).toMatch(/process \d+ is dead/);
    expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname() });
    await taken!.release();

    // A live holder on this host (pid and start time match) keeps its claim even when a long batch delays its heartbeat.
    const holder = spawn('sleep', ['1000'], { stdio: 'ignore' });
    await once(holder, 'spawn');
    const start = processStartTime(holder.pid!);
    await writeFile(lock, JSON.stringify({ pid: holder.pid, host: os.hostname(), start, startedAt: 'x' }));
    const longAgo = new Date(Date.now() - 300_000);
    await utimes(lock, longAgo, longAgo);
    expect(await claimRun(dir, 'mixup', 2)).toBeUndefined();
    holder.kill('SIGKILL');

    await writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'x' }));
    expect(await claimRun(dir, 'mixup', 2)).toBeUndefined(); // another host's, heartbeat fresh
    const past = new Date(Date.now() - 600_000);
    await utimes(lock, past, past);
    const stolen = await claimRun(dir, 'mixup', 2, { onSteal: (why) => steals.push(why) });
    expect(stolen).toBeDefined();
    expect(steals[1]).toMatch(/no heartbeat for \d+ s/);
    await stolen!.release();
  });

  it('release removes the lock only while it is ours: a lock taken over meanwhile is left to its new owner, byte for byte', async () => {
    const dir = await tempDir();
    const lock = path.join(dir, 'cutmix-s3.lock');
    const ours = await claimRun(dir, 'cutmix', 3);
    expect(ours).toBeDefined();
    await ours!.release(); // the normal case: our own lock is removed
    expect(await readdir(dir)).toEqual([]);

    const losses: string[] = [];
    const claim = await claimRun(dir, 'cutmix', 3, { onLost: () => losses.push('lost') });
    // Another host judged it abandoned and wrote its own lock in its place.
    const theirs = `${JSON.stringify({ pid: 4242, host: 'elsewhere', startedAt: '2026-01-01T00:00:00.000Z' })}\n`;
    await rm(lock);
    await writeFile(lock, theirs);
    await claim!.release();
    expect(await readFile(lock, 'utf8')).toBe(theirs);
    expect(await readdir(dir)).toEqual(['cutmix-s3.lock']); // no temp name left behind
    expect(claim!.lost).toBe(true);
    expect(losses).toEqual(['lost']);
  });

  it('the heartbeat refreshes our own lock, and stops (reporting the loss) at a lock that is not ours', async () => {
    const dir = await tempDir();
    const past = new Date(Date.now() - 600_000);
    // Waits for the heartbeat to touch the file (its mtime leaves `past` for now), however late a
    // loaded machine runs the timer: no fixed window.
    const touched = async (file: string): Promise<number> => {
      for (;;) {
        const { mtimeMs } = await stat(file);
        if (mtimeMs > past.getTime() + 1000) return mtimeMs;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    const ours = await claimRun(dir, 'mixup', 1, { heartbeatSeconds: 0.05 });
    await utimes(ours!.file, past, past);
    expect(await touched(ours!.file)).toBeGreaterThan(past.getTime() + 60_000); // touched now, not merely moved
    await ours!.release();

    const losses: string[] = [];
    let lostEvent = (): void => undefined;
    const lostSeen = new Promise<void>((resolve) => (lostEvent = resolve));
    const claim = await claimRun(dir, 'mixup', 2, {
      heartbeatSeconds: 0.05,
      onLost: () => {
        losses.push('lost');
        lostEvent();
      },
    });
    const theirs = `${JSON.stringify({ pid: 4242, host: 'elsewhere', startedAt: '2026-01-01T00:00:00.000Z' })}\n`;
    await rm(claim!.file);
    await writeFile(claim!.file, theirs);
    await utimes(claim!.file, past, past);
    await lostSeen; // the beat that found the lock not ours: it stops there
    expect((await stat(claim!.file)).mtimeMs).toBeLessThan(past.getTime() + 1000); // not touched: it is not ours
    expect(claim!.lost).toBe(true);
    expect(losses).toEqual(['lost']);
    await claim!.release();
    expect(await readFile(claim!.file, 'utf8')).toBe(theirs);
    expect(ours!.lost).toBe(false);
  });

  it('reads damaged or invalid run files without touching them; tidyStore sets them aside and names them', async () => {
    const out = await tempDir();
    const dir = path.join(out, 'runs', 'c0ffee00');
    await mkdir(dir, { recursive: true });
    const good = run('baseline', 1);
    const text = JSON.stringify(good);
    const bad: Record<string, string> = {
      'baseline-s2.json': text.slice(0, text.length / 2), // truncated
      'baseline-s3.json': `${text}x`, // a stray byte
      'baseline-s4.json': '', // empty
      'baseline-s5.json': JSON.stringify({ ...run('baseline', 5), epochs: [] }),
      'baseline-s6.json': JSON.stringify({ ...run('baseline', 6), epochs: [{ ...epoch(1), valAccuracy: '0.9' }] }),
      'baseline-s7.json': JSON.stringify(run('baseline', 1)), // holds another seed than its name
      'baseline-s8.json': JSON.stringify({ ...run('baseline', 8), test: { loss: 1, accuracy: '0.5', images: 10 } }),
      'baseline-s9.json': JSON.stringify({
        ...run('baseline', 9),
        mixing: { batches: 4, mixedBatches: 2, barelyMixedBatches: 0, histogram: 'x' },
      }),
    };
    await writeFile(path.join(dir, 'baseline-s1.json'), text);
    for (const [name, body] of Object.entries(bad)) await writeFile(path.join(dir, name), body);
    const store = await readStore(out);
    expect(store.runs.map((r) => `${r.arm}/${r.seed}`)).toEqual(['baseline/1']);
    expect(store.damaged.map((d) => path.basename(d.file)).sort()).toEqual(Object.keys(bad).sort());
    const reasons = Object.fromEntries(store.damaged.map((d) => [path.basename(d.file), d.reason]));
    expect(reasons['baseline-s2.json']).toMatch(/not JSON/);
    expect(reasons['baseline-s4.json']).toBe('empty file');
    expect(reasons['baseline-s5.json']).toBe(`'epochs' is empty`);
    expect(reasons['baseline-s6.json']).toBe(`epoch 1: 'valAccuracy' is not a number`);
    expect(reasons['baseline-s7.json']).toBe('holds seed 1, expected 7');
    expect(reasons['baseline-s8.json']).toBe(`test: 'accuracy' is not a number`);
    expect(reasons['baseline-s9.json']).toBe(`mixing: 'histogram' is not an array of numbers`);
    // Reading changed nothing: every file is where it was (mixstream report reads this way).
    expect((await readdir(dir)).sort()).toEqual(['baseline-s1.json', ...Object.keys(bad)].sort());
    const notes = await tidyStore(out, store.damaged);
    expect(notes).toHaveLength(Object.keys(bad).length);
    expect(notes[0]).toMatch(/^moved damaged run file .*baseline-s\d\.json aside to baseline-s\d\.json\.damaged-/);
    const names = await readdir(dir);
    for (const name of Object.keys(bad)) {
      expect(names).not.toContain(name);
      expect(names.some((n) => n.startsWith(`${name}.damaged-`))).toBe(true); // kept, never dropped
    }
    expect(await readRunFile(path.join(dir, 'baseline-s1.json'), { epochs: 3 })).toMatchObject({
      kind: 'damaged',
      reason: 'holds 2 epochs, expected 3',
    });
    expect(runRecordProblem(good)).toBeUndefined();
  });

  it('checks --out before any training: writable (no hang on /proc), not inside the data', async () => {
    const root = await tempDir();
    expect(await checkOutFolder(path.join(root, 'out'), path.join(root, 'data'))).toBeUndefined();
    expect(await checkOutFolder(path.join(root, 'data', 'out'), path.join(root, 'data'))).toMatch(/lies inside the data folder/);
    expect(await checkOutFolder('/proc/self/mixstream-out', undefined)).toMatch(/cannot be created|not writable/);
    expect(await checkOutFolder('/proc', undefined)).toMatch(/cannot be created|not writable/);
  });

  it('migrates an old-format results.json into the store, refuses a foreign one, moves a damaged view aside', async () => {
    const out = await tempDir();
    const old = {
      format: RESULTS_FORMAT,
      runs: [run('baseline', 1, 'aaaa0000'), run('cutmix', 1, 'bbbb0000'), { ...run('mixup', 1), epochs: [] }],
    };
    await writeFile(path.join(out, 'results.json'), JSON.stringify(old));
    const notes = await migrateResultsFile(out);
    expect(notes[0]).toMatch(/migrated 2 run\(s\) from an old-format results.json/);
    expect(notes[1]).toMatch(/run 3 not migrated: 'epochs' is empty/);
    expect((await readStore(out)).runs.map((r) => `${r.configHash}/${r.arm}`)).toEqual(['aaaa0000/baseline', 'bbbb0000/cutmix']);
    expect((await readdir(out)).some((n) => n.startsWith('results.json.pre-store-'))).toBe(true);

    await writeFile(path.join(out, 'results.json'), '{"trunc');
    expect((await migrateResultsFile(out))[0]).toMatch(/results.json was damaged .*moved aside/);

    const foreign = await tempDir();
    await writeFile(path.join(foreign, 'results.json'), JSON.stringify({ format: 'someone-else/3', rows: [] }));
    await expect(migrateResultsFile(foreign)).rejects.toThrow(
      /is not a mixstream results file \(format "someone-else\/3".*move it away or choose another --out/,
    );
  });
});
