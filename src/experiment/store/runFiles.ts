/**
 * Reading the run store: each finished (arm, seed) run of a config is its own file,
 * `OUT/runs/<configHash>/<arm>-s<seed>.json` (names: plan/identity.ts), validated against the run
 * record's schema (record.ts). Reading has no side effects: a file that does not parse, or parses
 * but is not a run of the right shape, is reported as damaged and left where it is; setting it
 * aside (`<name>.damaged-<time>`, named in a message) is a separate, explicit step,
 * setAsideDamaged, that the ablation takes before it trains and `mixstream report` does not.
 */
import { readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { readContained } from '../../sources/files.js';
import { parseRunFileName } from '../plan/identity.js';
import { cleanStaleTemps } from './atomic.js';
import { runRecordProblem, type RunExpectation, type RunRecord } from '../record.js';

/** Renames a bad file aside (`name.<tag>-<time>`), returning the new path. */
export async function moveAside(file: string, tag = 'damaged'): Promise<string> {
  const to = `${file}.${tag}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, to);
  return to;
}

/** A run file that is not a valid run: where, and why. */
export interface DamagedRun {
  readonly file: string;
  readonly reason: string;
}

/** What reading one run file gave. */
export type RunRead =
  { readonly kind: 'ok'; readonly record: RunRecord } | { readonly kind: 'missing' } | ({ readonly kind: 'damaged' } & DamagedRun);

/** A run file larger than this is not one (a run of 10,000 epochs takes about 2 MB). */
export const RUN_FILE_MAX_BYTES = 16 << 20;

/**
 * Reads `file` of the store as data (sources/files.ts: readContained): undefined when missing; a
 * FIFO, socket, device, a link out of its folder or a file over `maxBytes` gives why, never a hang.
 */
export async function readStoreText(file: string, maxBytes: number): Promise<{ text: string } | { problem: string } | undefined> {
  try {
    return { text: (await readContained('store', file, maxBytes)).toString('utf8') };
  } catch (error) {
    const message = (error as Error).message;
    if (/: does not exist$/.test(message)) return undefined;
    return { problem: message.slice(message.indexOf(file) + file.length).replace(/^: /, '') };
  }
}

/** Reads and validates a run file; touches nothing (see RunRead). */
export async function readRunFile(file: string, expected?: RunExpectation): Promise<RunRead> {
  const read = await readStoreText(file, RUN_FILE_MAX_BYTES);
  if (read === undefined) return { kind: 'missing' };
  if ('problem' in read) return { kind: 'damaged', file, reason: read.problem };
  const { text } = read;
  let reason: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    reason = runRecordProblem(parsed, expected);
  } catch (error) {
    reason = text.length === 0 ? 'empty file' : `not JSON (${(error as Error).message.split('\n')[0]})`;
  }
  return reason === undefined ? { kind: 'ok', record: parsed as RunRecord } : { kind: 'damaged', file, reason };
}

/**
 * Sets a damaged run file aside (`name.damaged-<time>`, kept for a person to look at) so that the
 * run trains again; returns the line that says so, or undefined when another process set it aside first.
 */
export async function setAsideDamaged(damaged: DamagedRun): Promise<string | undefined> {
  try {
    const to = await moveAside(damaged.file);
    return `moved damaged run file ${damaged.file} aside to ${path.basename(to)}: ${damaged.reason}`;
  } catch (error) {
    // Another process moved it first: it is aside already, nothing lost.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The config folders of the store (their names are config hashes), sorted. */
export async function storeConfigs(out: string): Promise<string[]> {
  try {
    return (await readdir(path.join(path.resolve(out), 'runs'), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** Every run in the store (all configs), and the damaged run files found; touches nothing. */
export async function readStore(
  out: string,
): Promise<{ readonly runs: RunRecord[]; readonly damaged: DamagedRun[]; readonly configs: string[] }> {
  const hashes = await storeConfigs(out);
  const runs: RunRecord[] = [];
  const damaged: DamagedRun[] = [];
  for (const hash of hashes) {
    const dir = path.join(path.resolve(out), 'runs', hash);
    const names = (await readdir(dir)).filter((n) => parseRunFileName(n) !== undefined).sort();
    for (const name of names) {
      const { arm, seed } = parseRunFileName(name)!;
      const r = await readRunFile(path.join(dir, name), { arm, seed, configHash: hash });
      if (r.kind === 'ok') runs.push(r.record);
      else if (r.kind === 'damaged') damaged.push(r);
    }
  }
  return { runs, damaged, configs: hashes };
}

/**
 * The explicit clean-up of a store, which the ablation does and `mixstream report` does not: temp
 * files their dead writers left in any config folder are removed (see cleanStaleTemps), and
 * `damaged` run files are set aside. Returns one line per file set aside.
 */
export async function tidyStore(out: string, damaged: readonly DamagedRun[]): Promise<string[]> {
  for (const hash of await storeConfigs(out)) await cleanStaleTemps(path.join(path.resolve(out), 'runs', hash));
  const notes: string[] = [];
  for (const d of damaged) {
    const note = await setAsideDamaged(d);
    if (note !== undefined) notes.push(note);
  }
  return notes;
}
