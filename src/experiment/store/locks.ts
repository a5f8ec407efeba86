/**
 * Claims on runs. No two writers write one run: a run is claimed first with a lock file
 * (`<arm>-s<seed>.lock`, named by plan/identity.ts) put in place whole with link(), which fails
 * rather than overwrite, holding pid, host, the machine's boot id and the process's start time
 * (/proc/<pid>/stat field 22), so a lock names one process, not a pid that may be reused. Its
 * holder touches it every few seconds (a heartbeat). A lock is taken over when its process is
 * not the one that wrote it (dead, the pid reused, the machine rebooted, this very pid after a
 * container restart or in another PID namespace), when its heartbeat stopped, or when it is not a
 * lock at all (garbage). The heartbeat and the release touch the lock only while it still holds
 * its holder's own body: a holder whose lock was stolen learns of it (Claim.lost) and leaves the
 * new owner's lock alone. Lock files are read like data (no FIFO, device or outside link, capped).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { link, lstat, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import { fileKind, openContained } from '../../sources/files.js';
import { InputError } from '../errors.js';
import { lockFile } from '../plan/identity.js';
import { pidAlive } from './atomic.js';

/** Seconds without a heartbeat after which a lock is taken to be abandoned (any host). */
export const LOCK_STALE_SECONDS = 60;
/**
 * Seconds without a heartbeat after which even a holder known alive on this host (its pid, start
 * time and boot id all match) loses its claim: its event loop has been stuck that long.
 */
export const LIVE_LOCK_STALE_SECONDS = 10 * LOCK_STALE_SECONDS;
/** How often a lock's holder touches it. */
export const HEARTBEAT_SECONDS = 10;
/** A lock file larger than this is not one of ours. */
const LOCK_MAX_BYTES = 4096;
/** An empty lock younger than this may be a former version's, created and not yet filled. */
const EMPTY_GRACE_SECONDS = 5;

const HOST = os.hostname();

/** A /proc file's text, or undefined (not Linux, no such process). */
const procText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** This machine's boot id: changes at every boot, so a lock from before a reboot is known dead. */
const BOOT_ID = procText('/proc/sys/kernel/random/boot_id');

/** When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or undefined. */
export function processStartTime(pid: number): string | undefined {
  const stat = procText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Field 2, the command, is in parentheses and may hold spaces: count from after its ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

const OWN_START = processStartTime(process.pid);

/** The lock files this process holds now: a lock naming our pid and not among them is not ours. */
const held = new Set<string>();

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
  /** /proc/sys/kernel/random/boot_id, where there is one. */
  readonly boot?: string;
  /** The process's start time (see processStartTime), where there is one. */
  readonly start?: string;
  readonly startedAt: string;
}

const lockBody = (): LockBody => ({
  pid: process.pid,
  host: HOST,
  ...(BOOT_ID === undefined ? {} : { boot: BOOT_ID }),
  ...(OWN_START === undefined ? {} : { start: OWN_START }),
  startedAt: new Date().toISOString(),
});

/** What reading a lock file gave: its text and age, or nothing (gone meanwhile). */
async function readLock(file: string): Promise<{ text: string; age: number } | undefined> {
  const info = await lstat(file).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile()) throw new InputError(`lock '${file}' is ${fileKind(info)}, not a lock file: remove it (rm '${file}') and run again`);
  let opened;
  try {
    opened = await openContained('lock', file, LOCK_MAX_BYTES);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT' || /does not exist/.test(String(error))) return undefined;
    throw new InputError(`${(error as Error).message}: remove it (rm '${file}') and run again`);
  }
  try {
    const s = await opened.handle.stat();
    return { text: await opened.handle.readFile('utf8'), age: (Date.now() - s.mtimeMs) / 1000 };
  } finally {
    await opened.handle.close();
  }
}

/** A verdict on a lock found in place: taken over (why), or held (by whom, for the waiting line). */
type Verdict = { readonly abandoned: string; readonly text: string } | { readonly holder: string; readonly limit: number };

/** Whether the lock at `file` is abandoned (to take over) or held, or undefined when it is gone. */
async function judge(file: string, staleSeconds: number): Promise<Verdict | undefined> {
  const found = await readLock(file);
  if (!found) return undefined;
  const { text, age } = found;
  const ago = `${Math.round(age)} s`;
  let body: Partial<LockBody> | undefined;
  try {
    body = JSON.parse(text) as Partial<LockBody>;
  } catch {
    body = undefined;
  }
  if (typeof body?.pid !== 'number' || typeof body.host !== 'string') {
    // Ours are put in place whole; an empty one may be a former version's being filled.
    if (text.length === 0 && age < EMPTY_GRACE_SECONDS)
      return { holder: `an empty lock written ${ago} ago (being filled?)`, limit: EMPTY_GRACE_SECONDS };
    return { abandoned: `it is not a lock (${text.length === 0 ? 'empty' : 'unreadable'})`, text };
  }
  const who = `process ${body.pid} on ${body.host}${body.startedAt === undefined ? '' : ` (since ${String(body.startedAt)})`}`;
  let limit = staleSeconds;
  if (body.host === HOST) {
    if (body.boot !== undefined && BOOT_ID !== undefined && body.boot !== BOOT_ID)
      return { abandoned: `it was written before this machine restarted (boot id ${String(body.boot)})`, text };
    if (body.pid === process.pid) {
      if (held.has(file)) return { holder: `this process (another of its runs)`, limit: staleSeconds };
      return {
        abandoned: `it names this process's pid ${body.pid} but this process did not write it (a restarted container or another PID namespace)`,
        text,
      };
    }
    if (!pidAlive(body.pid)) return { abandoned: `its process ${body.pid} is dead`, text };
    const start = processStartTime(body.pid);
    if (body.start !== undefined && start !== undefined) {
      if (start !== body.start)
        return { abandoned: `pid ${body.pid} is now another process (started at tick ${start}, not ${String(body.start)})`, text };
      limit = Math.max(staleSeconds, LIVE_LOCK_STALE_SECONDS); // known alive: only a long-stuck one loses it
    }
  }
  if (age > limit) return { abandoned: `no heartbeat for ${Math.round(age)} s`, text };
  return { holder: `${who}, heartbeat ${ago} ago`, limit };
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
    /** Called each time the run is found held by a live claim: what it waits for, and how to clear it. */
    readonly onBusy?: (what: string) => void;
    /** Called once when the held lock is found to be another owner's (see Claim.lost). */
    readonly onLost?: () => void;
  } = {},
): Promise<Claim | undefined> {
  const file = lockFile(dir, arm, seed);
  const staleSeconds = options.staleSeconds ?? LOCK_STALE_SECONDS;
  for (let attempt = 0; attempt < 5; attempt++) {
    const body = `${JSON.stringify(lockBody())}\n`;
    if (await createWhole(file, body)) {
      held.add(file);
      return heldClaim(file, body, options.heartbeatSeconds ?? HEARTBEAT_SECONDS, options.onLost);
    }
    const verdict = await judge(file, staleSeconds);
    if (verdict === undefined) continue; // released meanwhile: try again
    if ('holder' in verdict) {
      options.onBusy?.(
        `lock ${file} is held by ${verdict.holder}; it is taken over once that process is gone or its heartbeat stops for ${verdict.limit} s (if no run is under way, remove the file)`,
      );
      return undefined;
    }
    const removed = await removeLockIf(file, verdict.text, 'stolen');
    if (removed === 'missing') continue; // someone else stole it first
    if (removed === 'not-ours') return undefined; // a fresh lock of its new owner: give way
    options.onSteal?.(verdict.abandoned);
  }
  return undefined;
}

/**
 * Puts `body` at `file` whole: written and fsynced under a unique name, then link()ed, which
 * fails with EEXIST rather than overwrite, so no one ever reads a half-written lock of ours.
 * False when a lock is there.
 */
async function createWhole(file: string, body: string): Promise<boolean> {
  const temp = `${file}.new-${HOST}-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    const fd = openSync(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new InputError(`cannot create lock '${file}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(`cannot create lock '${file}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  } finally {
    await rm(temp, { force: true });
  }
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
  const found = await readLock(taken)
    .then((r) => r?.text)
    .catch(() => undefined);
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
    held.delete(file);
    clearInterval(timer);
    onLost?.();
  };
  // Reads and touches one open file, so a lock that replaces ours between the read and the touch
  // is never touched. A missing lock is skipped, not lost: a stealer that judged an older lock
  // abandoned may hold ours renamed aside for a moment before it puts it back.
  const beat = async (): Promise<void> => {
    const { handle } = await openContained('lock', file, LOCK_MAX_BYTES);
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
      held.delete(file);
      clearInterval(timer);
      if (lost) return;
      if ((await removeLockIf(file, body, 'released')) === 'not-ours') lose();
    },
  };
}
