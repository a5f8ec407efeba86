/**
 * The store's one atomic writer: each file (a run, a view, a header) is written to a temp file in
 * the same folder, fsynced, renamed over its name, and the folder fsynced, so a crash at any moment
 * leaves the whole old file or the whole new one. Temp files a dead writer left are cleaned here.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Temp files older than this are removed whoever wrote them (a writer takes milliseconds). */
const TEMP_STALE_SECONDS = 3600;

const HOST = os.hostname();

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
    throw namingFile(error, file);
  }
  await syncDir(path.dirname(file));
}

/**
 * A write's error that names the file being written: a failed write() (ENOSPC, EDQUOT, EIO)
 * carries no path, and "no space left on device" alone does not say which store filled up.
 */
export function namingFile(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.path === 'string') return error;
  const why = e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EDQUOT' ? 'over the disk quota' : e.message;
  return Object.assign(new Error(`cannot write '${file}': ${why} (${e.code})`, { cause: error }), { code: e.code, path: file });
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
 * (a lock renamed aside by removeLockIf, left when its process died before removing it) and
 * `<lock>.new-…` (a lock being put in place whole).
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
      /^.+\.lock\.(?:stolen|released|new)-(.+)-(\d+)-[0-9a-f]+$/.exec(name) ??
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
