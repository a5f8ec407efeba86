/**
 * The run store: the only place an ablation's numbers live. Each finished (arm, seed) run of a
 * config is its own file, `OUT/runs/<configHash>/<arm>-s<seed>.json`, written atomically (temp
 * file, fsync, rename, fsync of the folder), so a crash at any moment leaves either the whole file
 * or none. results.json, results.csv and report.html are views rebuilt from these files.
 *
 * No two writers write one run: a run is claimed first with a lock file created O_EXCL
 * (`<arm>-s<seed>.lock`, holding pid, host and start time). Its holder touches it every few
 * seconds (a heartbeat, so a lock on NFS from another host can be judged by its mtime); a lock
 * whose process is dead on this host, or whose heartbeat stopped, is stolen. The heartbeat and
 * the release touch the lock only while it still holds its holder's own body: a holder whose lock
 * was stolen learns of it (Claim.lost) and leaves the new owner's lock alone.
 *
 * Nothing is dropped silently: a file that does not parse, or parses but is not a run of the
 * right shape, is renamed `<name>.damaged-<time>` and named in a message.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EpochRecord, RunRecord } from './results.js';

/** Seconds without a heartbeat after which a lock is taken to be abandoned (any host). */
export const LOCK_STALE_SECONDS = 60;
/** How often a lock's holder touches it. */
export const HEARTBEAT_SECONDS = 10;
/** Temp files older than this are removed whoever wrote them (a writer takes milliseconds). */
const TEMP_STALE_SECONDS = 3600;

const HOST = os.hostname();

/** The file name of a run, safe because arm names are letters, digits, _ . - only. */
export const runFileName = (arm: string, seed: number): string => `${arm}-s${seed}.json`;

/** True when `pid` is a live process on this host (EPERM: alive, someone else's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const tempName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.tmp-${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`);

/**
 * Writes `data` to `file` so that readers and crashes see the old file or the new one, never a
 * part: a temp file in the same folder, fsync, rename, then fsync of the folder (the rename itself
 * must reach the disk before we say the run is saved).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = tempName(file);
  try {
    const handle = await open(temp, 'wx');
    try {
      // One buffer, one write: FileHandle.writeFile of a string takes about three times as long
      // (measured for a 1 MB checkpoint: 10.3 ms against 3.8 ms, fsync included).
      await handle.writeFile(typeof data === 'string' ? Buffer.from(data) : data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(path.dirname(file));
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic there.
  }
}

/**
 * Removes temp files of ours that their writer left behind: written on this host by a dead
 * process, or older than an hour whoever wrote them. Returns the names removed. Temp files are
 * `.<name>.tmp-<host>-<pid>-<hex>` (writeFileAtomic) and `<lock>.stolen-…` / `<lock>.released-…`
 * (a lock renamed aside by removeLockIf, left when its process died before removing it).
 */
export async function cleanStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    const m =
      /^\..+\.tmp-(.+)-(\d+)-[a-z0-9]+$/.exec(name) ??
      /^.+\.lock\.(?:stolen|released)-(.+)-(\d+)-[0-9a-f]+$/.exec(name) ??
      /^\..+\.tmp-(\d+)-\d+$/.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const host = m.length === 3 ? m[1] : HOST;
    const pid = Number(m.length === 3 ? m[2] : m[1]);
    let stale = host === HOST && !pidAlive(pid);
    if (!stale) {
      try {
        stale = now - (await stat(file)).mtimeMs > TEMP_STALE_SECONDS * 1000;
      } catch {
        continue;
      }
    }
    if (stale) {
      await rm(file, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/**
 * Checks that `out` can be written, before any training: creates it and writes and removes a
 * probe file (a plain write, so pseudo file systems like /proc fail at once instead of hanging),
 * and refuses an `out` inside the data folder (the charts would become training images).
 * Returns a one-line reason, or undefined when fine.
 */
export async function checkOutFolder(out: string, dataFolder: string | undefined): Promise<string | undefined> {
  const abs = path.resolve(out);
  if (dataFolder !== undefined) {
    const data = path.resolve(dataFolder);
    const rel = path.relative(data, abs);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
      return `--out '${out}' lies inside the data folder '${dataFolder}': its files would be read as training data; choose a folder outside it`;
  }
  try {
    await mkdirStepwise(path.join(abs, 'runs'));
  } catch (error) {
    return `--out '${out}' cannot be created: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  const probe = path.join(abs, `.write-probe-${HOST}-${process.pid}`);
  try {
    const fd = openSync(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    try {
      writeSync(fd, 'probe\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return `--out '${out}' is not writable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  return undefined;
}

/**
 * mkdir -p one level at a time: Node's recursive mkdir loops forever under /proc (ENOENT on a
 * folder that stat says exists), so the output check must not use it.
 */
async function mkdirStepwise(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    try {
      if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(at);
      const up = path.dirname(at);
      if (up === at) break;
      at = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number';

/**
 * Why `value` is not a run record of `epochs` epochs (undefined when it is one): what a summary
 * trusts (the epochs array, each metric a number) is checked, so an edited file cannot make a
 * summary say "over 2 seeds" while computing from 1.
 */
export function runRecordProblem(
  value: unknown,
  expected?: { readonly epochs?: number; readonly arm?: string; readonly seed?: number; readonly configHash?: string },
): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  for (const k of ['key', 'configHash', 'arm', 'backend', 'finishedAt'] as const)
    if (typeof r[k] !== 'string') return `'${k}' is not a string`;
  if (!Number.isSafeInteger(r.seed)) return `'seed' is not an integer`;
  if (!isNum(r.seconds)) return `'seconds' is not a number`;
  if (!r.pipeline || typeof r.pipeline !== 'object') return `'pipeline' is missing`;
  if (!r.model || typeof r.model !== 'object') return `'model' is missing`;
  if (!Array.isArray(r.epochs)) return `'epochs' is not an array`;
  if (r.epochs.length === 0) return `'epochs' is empty`;
  if (expected?.epochs !== undefined && r.epochs.length !== expected.epochs)
    return `holds ${r.epochs.length} epochs, expected ${expected.epochs}`;
  for (const [i, e] of r.epochs.entries()) {
    if (!e || typeof e !== 'object') return `epoch ${i + 1} is not an object`;
    const ep = e as Record<string, unknown>;
    if (ep.epoch !== i + 1) return `epoch ${i + 1} is numbered ${String(ep.epoch)}`;
    for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'seconds', 'trainSeconds', 'imagesPerSecond'] as const)
      if (!isNum(ep[k])) return `epoch ${i + 1}: '${k}' is not a number`;
  }
  if (expected?.arm !== undefined && r.arm !== expected.arm) return `holds arm '${String(r.arm)}', expected '${expected.arm}'`;
  if (expected?.seed !== undefined && r.seed !== expected.seed) return `holds seed ${String(r.seed)}, expected ${expected.seed}`;
  if (expected?.configHash !== undefined && r.configHash !== expected.configHash)
    return `holds config ${String(r.configHash)}, expected ${expected.configHash}`;
  return undefined;
}

/** Renames a bad file aside (`name.damaged-<time>`), returning the new path. */
export async function moveAside(file: string, tag = 'damaged'): Promise<string> {
  const to = `${file}.${tag}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, to);
  return to;
}

/** What reading one run file gave. */
export type RunRead =
  | { readonly kind: 'ok'; readonly record: RunRecord }
  | { readonly kind: 'missing' }
  | { readonly kind: 'damaged'; readonly file: string; readonly movedTo: string; readonly reason: string };

/** Reads a run file; a damaged one is moved aside (see RunRead). */
export async function readRunFile(file: string, expected?: Parameters<typeof runRecordProblem>[1]): Promise<RunRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new Error(`cannot read run file '${file}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  let reason: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    reason = runRecordProblem(parsed, expected);
  } catch (error) {
    reason = text.length === 0 ? 'empty file' : `not JSON (${(error as Error).message.split('\n')[0]})`;
  }
  if (reason === undefined) return { kind: 'ok', record: parsed as RunRecord };
  try {
    return { kind: 'damaged', file, movedTo: await moveAside(file), reason };
  } catch (error) {
    // Another reader moved it first: it is aside already, nothing lost.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
}

/** The folder of one config's runs. */
export const configDir = (out: string, configHash: string): string => path.join(path.resolve(out), 'runs', configHash);

/** Every run in the store (all configs), and the damaged files moved aside on the way. */
export async function readStore(
  out: string,
): Promise<{ readonly runs: RunRecord[]; readonly damaged: Array<Extract<RunRead, { kind: 'damaged' }>>; readonly configs: string[] }> {
  const root = path.join(path.resolve(out), 'runs');
  let hashes: string[];
  try {
    hashes = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return { runs: [], damaged: [], configs: [] };
  }
  const runs: RunRecord[] = [];
  const damaged: Array<Extract<RunRead, { kind: 'damaged' }>> = [];
  for (const hash of hashes) {
    const dir = path.join(root, hash);
    await cleanStaleTemps(dir);
    const names = (await readdir(dir)).filter((n) => /^[A-Za-z0-9][A-Za-z0-9_.-]*-s\d+\.json$/.test(n)).sort();
    for (const name of names) {
      const m = /^(.+)-s(\d+)\.json$/.exec(name)!;
      const r = await readRunFile(path.join(dir, name), { arm: m[1]!, seed: Number(m[2]), configHash: hash });
      if (r.kind === 'ok') runs.push(r.record);
      else if (r.kind === 'damaged') damaged.push(r);
    }
  }
  return { runs, damaged, configs: hashes };
}

/**
 * A held claim on one run: keep it alive with the heartbeat, release it when done. `lost` turns
 * true when the lock was found to hold another owner's body (taken over after our heartbeat
 * stopped): from then on neither the heartbeat nor release() touches it.
 */
export interface Claim {
  readonly file: string;
  readonly lost: boolean;
  release(): Promise<void>;
}

interface LockBody {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

const lockBody = (): LockBody => ({ pid: process.pid, host: HOST, startedAt: new Date().toISOString() });

/** Why the lock at `file` is abandoned (to steal it), or undefined when someone may still hold it. */
async function abandoned(file: string, staleSeconds: number): Promise<{ reason: string; text: string } | undefined> {
  let text: string;
  let mtime: number;
  try {
    [text, mtime] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return undefined; // gone meanwhile: the caller retries the create
  }
  const age = (Date.now() - mtime) / 1000;
  let body: Partial<LockBody> | undefined;
  try {
    body = JSON.parse(text) as Partial<LockBody>;
  } catch {
    body = undefined; // being written right now (created, not yet filled), or garbage
  }
  // On this host the process table is the truth: a live holder keeps its claim however long a
  // batch keeps it from its heartbeat; a dead one loses it at once.
  if (body?.host === HOST && typeof body.pid === 'number')
    return pidAlive(body.pid) ? undefined : { reason: `its process ${body.pid} is dead`, text };
  // Another host (NFS): only the heartbeat tells.
  if (age > staleSeconds) return { reason: `no heartbeat for ${Math.round(age)} s`, text };
  return undefined;
}

/**
 * Claims `<dir>/<arm>-s<seed>.lock`: resolves to the claim, or undefined when a live process holds
 * it. An abandoned lock is stolen by renaming it to a unique name and checking that what was
 * renamed is the lock judged abandoned (two stealers at once: the loser finds a fresh lock in its
 * hands, puts it back with link(), which fails rather than overwrite, and gives way).
 */
export async function claimRun(
  dir: string,
  arm: string,
  seed: number,
  options: {
    readonly staleSeconds?: number;
    readonly heartbeatSeconds?: number;
    readonly onSteal?: (why: string) => void;
    /** Called once when the held lock is found to be another owner's (see Claim.lost). */
    readonly onLost?: () => void;
  } = {},
): Promise<Claim | undefined> {
  const file = path.join(dir, `${arm}-s${seed}.lock`);
  const staleSeconds = options.staleSeconds ?? LOCK_STALE_SECONDS;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      const body = `${JSON.stringify(lockBody())}\n`;
      try {
        writeSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return heldClaim(file, body, options.heartbeatSeconds ?? HEARTBEAT_SECONDS, options.onLost);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(`cannot create lock '${file}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
    const stale = await abandoned(file, staleSeconds);
    if (stale === undefined) {
      try {
        await stat(file);
        return undefined; // held by someone alive
      } catch {
        continue; // released meanwhile: try again
      }
    }
    const removed = await removeLockIf(file, stale.text, 'stolen');
    if (removed === 'missing') continue; // someone else stole it first
    if (removed === 'not-ours') return undefined; // a fresh lock of its new owner: give way
    options.onSteal?.(stale.reason);
  }
  return undefined;
}

/**
 * Removes the lock `file` only if it holds exactly `text`: renames it to a unique name (so no
 * one else's lock can be removed by mistake), reads what was renamed, and when it is another
 * owner's lock puts it back with link(), which fails rather than overwrite a lock created
 * meanwhile. 'missing' when there was no lock to rename.
 */
async function removeLockIf(file: string, text: string, tag: string): Promise<'removed' | 'missing' | 'not-ours'> {
  const taken = `${file}.${tag}-${HOST}-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await rename(file, taken);
  } catch {
    return 'missing';
  }
  const found = await readFile(taken, 'utf8').catch(() => undefined);
  if (found !== text) await link(taken, file).catch(() => undefined);
  await rm(taken, { force: true });
  return found === text ? 'removed' : 'not-ours';
}

function heldClaim(file: string, body: string, heartbeatSeconds: number, onLost?: () => void): Claim {
  let released = false;
  let lost = false;
  let beating = false;
  const lose = (): void => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    onLost?.();
  };
  // Reads and touches one open file, so a lock that replaces ours between the read and the touch
  // is never touched. A missing lock is skipped, not lost: a stealer that judged an older lock
  // abandoned may hold ours renamed aside for a moment before it puts it back.
  const beat = async (): Promise<void> => {
    const handle = await open(file, 'r');
    try {
      if ((await handle.readFile('utf8')) !== body) {
        if (!released) lose();
        return;
      }
      const now = new Date();
      await handle.utimes(now, now);
    } finally {
      await handle.close();
    }
  };
  const timer = setInterval(() => {
    if (beating) return; // the last one still hangs (NFS): no pile of open files
    beating = true;
    beat()
      .catch(() => undefined)
      .finally(() => {
        beating = false;
      });
  }, heartbeatSeconds * 1000);
  timer.unref();
  return {
    file,
    get lost() {
      return lost;
    },
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (lost) return;
      if ((await removeLockIf(file, body, 'released')) === 'not-ours') lose();
    },
  };
}

/** The last epoch of a run, for progress lines. */
export const lastEpoch = (r: RunRecord): EpochRecord | undefined => r.epochs[r.epochs.length - 1];
