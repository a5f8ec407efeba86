/**
 * Claims on runs. No two writers write one run: a run is claimed first with a lock file created
 * O_EXCL (`<arm>-s<seed>.lock`, named by plan/identity.ts, holding pid, host and start time). Its
 * holder touches it every few seconds (a heartbeat, so a lock on NFS from another host can be
 * judged by its mtime); a lock whose process is dead on this host, or whose heartbeat stopped, is
 * stolen. The heartbeat and the release touch the lock only while it still holds its holder's own
 * body: a holder whose lock was stolen learns of it (Claim.lost) and leaves the new owner's lock alone.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { lockFile } from '../plan/identity.js';
import { pidAlive } from './atomic.js';

/** Seconds without a heartbeat after which a lock is taken to be abandoned (any host). */
export const LOCK_STALE_SECONDS = 60;
/** How often a lock's holder touches it. */
export const HEARTBEAT_SECONDS = 10;

const HOST = os.hostname();

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
  const file = lockFile(dir, arm, seed);
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
