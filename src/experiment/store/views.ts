/**
 * results.json and results.csv as views of the run store: rebuilt from the run files whenever a
 * run finishes, by `mixstream report OUT`, or on a rerun. Each config's header (data, backend,
 * arms, seeds: what the views print besides the runs) is kept beside its runs as
 * `runs/<configHash>/config.json`, so a view can be rebuilt without the data or the command line.
 */
import { lstat, mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { dataError } from '../../core/types.js';
import { analyzeRuns } from '../stats/analysis.js';
import { PAIRED_DESIGN } from '../stats/design.js';
import { resultsCsv, RESULTS_FORMAT, skippedFiles, summarize, type ResultsFile, type RunRecord } from './results.js';
import { configDir, storedRunPath } from '../plan/identity.js';
import { runRecordProblem } from '../record.js';
import { writeFileAtomic } from './atomic.js';
import { readLooks, recordLook, type RecordedLook } from './looks.js';
import { moveAside, readStore, readStoreText, type DamagedRun } from './runFiles.js';
import { defined } from '../../core/idioms.js';

export const CONFIG_FORMAT = 'mixstream-config/1';

/** What a view prints besides the runs; one per config hash. */
export interface ConfigHeader {
  readonly format: typeof CONFIG_FORMAT;
  readonly configHash: string;
  readonly config: ResultsFile['config'];
  readonly data: ResultsFile['data'];
  readonly backend: ResultsFile['backend'];
  readonly arms: ResultsFile['arms'];
  readonly seeds: readonly number[];
  readonly epochs: number;
}

/** Writes the header, merged with one already there (union of arms and seeds: shards of one plan agree, other commands add). */
export async function writeConfigHeader(out: string, header: ConfigHeader): Promise<ConfigHeader> {
  const file = path.join(configDir(out, header.configHash), 'config.json');
  const before = await readConfigHeader(out, header.configHash);
  const arms = [...header.arms];
  for (const a of before?.arms ?? []) if (!arms.some((x) => x.name === a.name)) arms.push(a);
  const seeds = [...header.seeds];
  for (const s of before?.seeds ?? []) if (!seeds.includes(s)) seeds.push(s);
  const merged: ConfigHeader = { ...header, arms, seeds };
  await writeFileAtomic(file, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

/** A config header larger than this is not one (a thousand arms take about 200 KB). */
const CONFIG_MAX_BYTES = 1 << 20;

/**
 * The header of a config, or undefined when it has none. Read like every store file (readStoreText:
 * no FIFO, device or outside link, capped); one that is there but is not a header is refused in one
 * line naming it (an InputError), never read as "no header", never waited on.
 */
export async function readConfigHeader(out: string, configHash: string): Promise<ConfigHeader | undefined> {
  const file = path.join(configDir(out, configHash), 'config.json');
  const refuse = (why: string): InputError =>
    new InputError(`config header '${file}' ${why}; move it away (the next ablate of this config writes it again)`);
  const read = await readStoreText(file, CONFIG_MAX_BYTES);
  if (read === undefined) return undefined;
  if ('problem' in read) throw refuse(read.problem);
  let h: Partial<ConfigHeader> | null;
  try {
    h = JSON.parse(read.text) as Partial<ConfigHeader> | null;
  } catch (error) {
    throw refuse(read.text.length === 0 ? 'is empty' : `is not JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (h?.format !== CONFIG_FORMAT || !Array.isArray(h.arms) || !Array.isArray(h.seeds))
    throw refuse(`is not a mixstream config header (format ${JSON.stringify(h?.format)}, expected ${CONFIG_FORMAT}, with arms and seeds)`);
  return h as ConfigHeader;
}

/** The planned (arm, seed) pairs of a header that have no run file. */
export function missingRuns(header: ConfigHeader, runs: readonly RunRecord[]): Array<{ arm: string; seed: number }> {
  const out: Array<{ arm: string; seed: number }> = [];
  for (const a of header.arms)
    for (const seed of header.seeds)
      if (!runs.some((r) => r.configHash === header.configHash && r.arm === a.name && r.seed === seed)) out.push({ arm: a.name, seed });
  return out;
}

/** The views of one config, built from the store. */
export interface Views {
  readonly results: ResultsFile;
  readonly resultsPath: string;
  readonly csvPath: string;
  readonly missing: ReadonlyArray<{ arm: string; seed: number }>;
  /** Damaged run files found (left where they are: see setAsideDamaged). */
  readonly damaged: readonly DamagedRun[];
}

/**
 * Rebuilds results.json and results.csv for `header`'s config from the store. `keys` (when given)
 * picks the current plan's runs by key, so a run of an older pipeline of the same arm does not
 * count. results.json keeps every run of every config in `runs`, as before the store.
 */
export async function writeViews(
  out: string,
  header: ConfigHeader,
  keys?: ReadonlySet<string>,
  /** This view is a look (a finished command or a report): recorded after the analysis, which sees the earlier ones. */
  look?: RecordedLook['command'],
): Promise<Views> {
  // The comparisons' reference arm, effect of interest and contrasts: analysis only, so read off the header's config.
  const baseline = typeof header.config['baseline'] === 'string' ? header.config['baseline'] : undefined;
  const effect = typeof header.config['effect'] === 'number' ? header.config['effect'] : undefined;
  const contrasts = typeof header.config['contrasts'] === 'string' ? header.config['contrasts'] : undefined;
  const parents = Object.fromEntries(header.arms.flatMap((a) => (a.parent === undefined ? [] : [[a.name, a.parent] as const])));
  const looks = await readLooks(out, header.configHash);
  const store = await readStore(out);
  const mine = (r: RunRecord): boolean =>
    r.configHash === header.configHash &&
    header.arms.some((a) => a.name === r.arm) &&
    header.seeds.includes(r.seed) &&
    (keys === undefined || keys.has(r.key));
  const armOrder = header.arms.map((a) => a.name);
  const current = store.runs
    .filter(mine)
    .sort((a, b) => armOrder.indexOf(a.arm) - armOrder.indexOf(b.arm) || header.seeds.indexOf(a.seed) - header.seeds.indexOf(b.seed));
  const missing = missingRuns(header, current);
  const results: ResultsFile & { readonly store: string } = {
    format: RESULTS_FORMAT,
    store: 'runs',
    updatedAt: new Date().toISOString(),
    complete: missing.length === 0,
    ...(missing.length === 0 ? {} : { missing }),
    configHash: header.configHash,
    config: header.config,
    data: header.data,
    backend: header.backend,
    arms: header.arms,
    runs: [...current, ...store.runs.filter((r) => !mine(r))],
    summary: summarize(current, header.arms),
    // Each file once: every run of a process lists what that process skipped so far.
    skipped: skippedFiles(current.flatMap((r) => (r.skipped ?? []).map((f) => dataError(f.path, f.reason)))),
    ...analyzeRuns(current, {
      arms: header.arms.map((a) => a.name),
      validationCount: header.data.validationCount,
      classes: header.data.classes.length,
      ...defined({ baseline }),
      ...defined({ effect }),
      ...defined({ contrasts }),
      parents,
      looks,
    }),
    design: PAIRED_DESIGN,
  };
  const resultsPath = path.join(path.resolve(out), 'results.json');
  const csvPath = path.join(path.resolve(out), 'results.csv');
  await writeFileAtomic(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(csvPath, resultsCsv(current));
  if (look !== undefined) {
    const seeds = [...new Set(current.filter((r) => r.diverged === undefined).map((r) => r.seed))].sort((a, b) => a - b);
    if (seeds.length > 0)
      await recordLook(out, header.configHash, { at: new Date().toISOString(), command: look, seeds, declaredSeeds: header.seeds.length });
  }
  return {
    results,
    resultsPath,
    csvPath,
    missing,
    damaged: store.damaged,
  };
}

/** A results.json larger than this is not ours (10,000 runs take about 20 MB). */
const RESULTS_MAX_BYTES = 256 << 20;

/**
 * Before the store, results.json held the runs. Such a file is migrated (each valid run becomes
 * its run file; the old file is kept as results.json.pre-store-<time>); a file that is not ours is
 * refused, since it may be someone's results; a damaged view is moved aside (the runs are in the
 * store). Returns one line per thing done, for the progress display.
 */
export async function migrateResultsFile(out: string): Promise<string[]> {
  const file = path.join(path.resolve(out), 'results.json');
  const read = await readStoreText(file, RESULTS_MAX_BYTES);
  if (read === undefined) return [];
  if ('problem' in read) throw new InputError(`'${file}' ${read.problem}; move it away or choose another --out`);
  const { text } = read;
  let parsed: Partial<ResultsFile> & { store?: unknown };
  let problem: string | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
    if (!parsed || typeof parsed !== 'object') problem = 'not a JSON object';
    else if (parsed.format !== RESULTS_FORMAT) problem = `format ${JSON.stringify(parsed.format)}, expected ${RESULTS_FORMAT}`;
    else if (!Array.isArray(parsed.runs)) problem = `'runs' is not an array`;
  } catch (error) {
    parsed = {};
    problem = text.length === 0 ? 'empty' : `not JSON (${(error as Error).message.split('\n')[0]})`;
  }
  // Only whether a store is there.
  const storeHasRuns = (await readdir(path.join(path.resolve(out), 'runs')).catch(() => [])).length > 0;
  if (problem !== undefined) {
    if (!storeHasRuns)
      throw new InputError(
        `'${file}' is not a mixstream results file (${problem}) and no run store is beside it; move it away or choose another --out`,
      );
    const to = await moveAside(file);
    return [`results.json was damaged (${problem}); moved aside to ${path.basename(to)} and rebuilt from the run store`];
  }
  if (parsed.store === 'runs') return [];
  const notes: string[] = [];
  let migrated = 0;
  for (const [i, r] of (parsed.runs ?? []).entries()) {
    const why = runRecordProblem(r);
    if (why !== undefined) {
      notes.push(`old results.json: run ${i + 1} not migrated: ${why} (the original file is kept)`);
      continue;
    }
    const target = storedRunPath(out, r.configHash, r.arm, r.seed);
    if (typeof target !== 'string') {
      notes.push(`old results.json: run ${i + 1} not migrated: ${target.problem} (the original file is kept)`);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    if ((await lstat(target).catch(() => undefined)) !== undefined) continue; // already in the store
    await writeFileAtomic(target, `${JSON.stringify(r, null, 2)}\n`);
    migrated++;
  }
  const kept = `${file}.pre-store-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    await rename(file, kept);
  } catch {
    // Migrated by another process at the same time: the store holds the runs either way.
  }
  notes.unshift(
    `migrated ${migrated} run(s) from an old-format results.json into ${path.join(out, 'runs')} (the old file is kept as ${path.basename(kept)})`,
  );
  return notes;
}
