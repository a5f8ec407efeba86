/** The output folder's check before any training: writable, and not inside the data. */
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const HOST = os.hostname();

/**
 * Checks that `out` can be written, before any training: creates it and writes and removes a
 * probe file (a plain write, so pseudo file systems like /proc fail at once instead of hanging),
 * and refuses an `out` inside the data folder (the charts would become training images).
 * Returns a one-line reason, or undefined when fine.
 */
export async function checkOutFolder(out: string, dataFolder: string | undefined): Promise<string | undefined> {
  const abs = path.resolve(out);
  if (dataFolder !== undefined) {
    // Compared as the file system resolves them: a symlink on either side must not hide that one is in the other.
    const [data, real] = await Promise.all([resolveExisting(dataFolder), resolveExisting(out)]);
    const rel = path.relative(data, real);
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

/** `p` with its longest existing ancestor resolved by realpath (symlinks followed), the rest appended. */
export async function resolveExisting(p: string): Promise<string> {
  const rest: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(await realpath(at), ...rest.reverse());
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.resolve(p);
      rest.push(path.basename(at));
      at = up;
    }
  }
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
