/**
 * Generators of hostile run-store contents: locks that name a process other than their writer
 * (a reused pid, this very pid after a container restart, a live unrelated process), garbage
 * locks, checkpoints with poisoned tensors, and an old-format results.json whose names climb out
 * of --out, and files of every wrong kind where a store file should be. Each is built inside the
 * caller's own folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { open, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_FORMAT, type ConfigHeader } from '../../src/experiment/store/views.js';
import type { Checkpoint } from '../../src/experiment/train/checkpoint.js';
import { fifoAt, socketAt } from './corpus.js';

const bootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/**
 * A lock as this version writes it, for `pid` on this host, with the given start time (clock
 * ticks, /proc/<pid>/stat field 22) and boot id: give another start time or boot id than the
 * process really has to stand for a lock left by a process before a restart.
 */
export async function lockNaming(file: string, pid: number, start: string, boot = bootId()): Promise<string> {
  const text = `${JSON.stringify({ pid, host: os.hostname(), boot, start, startedAt: '2026-01-01T00:00:00.000Z' })}\n`;
  await writeFile(file, text);
  return text;
}

/** A live process unrelated to any lock (a `sleep`), started and seen running; kill it when done. */
export async function liveUnrelatedProcess(): Promise<{ child: ChildProcess; pid: number; stop: () => void }> {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  await once(child, 'spawn');
  return { child, pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

/** A lock file of bytes that are no lock at all, freshly written (mtime now). */
export const garbageLock = (file: string): Promise<void> => writeFile(file, 'x\u0000garbage{not json');

/** Ways to poison a checkpoint while keeping it well-formed (its checksum recomputed). */
export type CheckpointPoison = 'nan-weights' | 'inf-moment' | 'swapped-moments' | 'int32-weight' | 'too-many-epochs' | 'misnumbered-epochs';

/** `c` with one poison: each a checkpoint that decodes, but must never be resumed from. */
export function poisonCheckpoint(c: Checkpoint, poison: CheckpointPoison): Checkpoint {
  const weights = [...c.weights];
  const optimizer = [...c.optimizer];
  const epochs = [...c.epochs];
  const w0 = weights[0]!;
  switch (poison) {
    case 'nan-weights':
      weights[0] = { ...w0, values: Float32Array.from(w0.values, (v, i) => (i === 0 ? Number.NaN : v)) };
      break;
    case 'inf-moment': {
      const m = optimizer[1]!;
      optimizer[1] = { ...m, values: Float32Array.from(m.values, () => Number.POSITIVE_INFINITY) };
      break;
    }
    case 'swapped-moments': {
      // Adam's first moments of two weights of different shapes, each under the other's place.
      const [a, b] = [optimizer[1]!, optimizer[2]!];
      optimizer[1] = { ...b, name: a.name };
      optimizer[2] = { ...a, name: b.name };
      break;
    }
    case 'int32-weight':
      weights[0] = { ...w0, dtype: 'int32', values: Int32Array.from(w0.values, () => 7) };
      break;
    case 'too-many-epochs':
      epochs.push(...Array.from({ length: 5 }, (_, i) => ({ ...epochs[0]!, epoch: epochs.length + i + 1 })));
      break;
    case 'misnumbered-epochs':
      epochs[0] = { ...epochs[0]!, epoch: 2 };
      break;
  }
  return { ...c, weights, optimizer, epochs };
}

/**
 * An old-format results.json (before the run store) at `out` whose one run's configHash and arm
 * climb out of --out: migrating it once created `pwned-s1.json` and `escape-target/` two levels up.
 */
export async function escapingResultsFile(out: string, format: string, run: Record<string, unknown>): Promise<void> {
  await writeFile(
    `${out}/results.json`,
    JSON.stringify({ format, runs: [{ ...run, configHash: '../../escape-target', arm: '../pwned', key: '../pwned|1|x|p' }] }),
  );
}

/** A --model folder: model.json naming one weight file `weights.bin` of `floats` float32 values (the caller puts the file). */
export async function modelJsonFor(dir: string, floats = 4096): Promise<string> {
  const file = `${dir}/model.json`;
  await writeFile(
    file,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { layers: [] } },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [floats], dtype: 'float32' }] }],
    }),
  );
  return file;
}

/** Kinds of file a store may find where one of its own files should be, none of them that file. */
export const HOSTILE_STORE_FILES = ['fifo', 'socket', 'device link', 'outside link', 'oversized', 'not json', 'foreign json'] as const;
export type HostileStoreFile = (typeof HOSTILE_STORE_FILES)[number];

/**
 * Puts a `kind` of hostile file at `file` (its folder must exist): a FIFO with no writer (a plain
 * read waits for ever), a socket, a link to /dev/zero (endless) or to a file outside the folder, a
 * sparse file of `bytes` (no disk used), text that is not JSON, or JSON of another format.
 */
export async function hostileStoreFile(file: string, kind: HostileStoreFile, bytes = 32 << 20): Promise<void> {
  switch (kind) {
    case 'fifo':
      return fifoAt(file);
    case 'socket':
      return socketAt(file);
    case 'device link':
      return symlink('/dev/zero', file);
    case 'outside link': {
      const outside = path.join(path.dirname(path.dirname(file)), `outside-${path.basename(file)}`);
      await writeFile(outside, '{}');
      return symlink(outside, file);
    }
    case 'oversized': {
      const handle = await open(file, 'w');
      await handle.truncate(bytes);
      return handle.close();
    }
    case 'not json':
      return writeFile(file, '{"format": "mixstream-config/1", "arms": [');
    case 'foreign json':
      return writeFile(file, JSON.stringify({ format: 'someone-else/2', arms: [], seeds: [] }));
  }
}

/** A well-formed config header (config.json) of `configHash` with no arms or seeds: a store's smallest. */
export const configHeader = (configHash: string): ConfigHeader => ({
  format: CONFIG_FORMAT,
  configHash,
  config: { size: 8, batchSize: 4, shuffleWindow: 8 },
  data: { kind: 'folder', location: '/nonexistent', classes: ['a', 'b'], trainCount: 8, validationCount: 4, fingerprint: 'f' },
  backend: { name: 'cpu', tfBackend: 'cpu', reason: 'test', skipped: [] },
  arms: [],
  seeds: [],
  epochs: 1,
});
