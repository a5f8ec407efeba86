/**
 * `mixstream report OUT`: rebuilds the views (results.json, results.csv, report.html) from OUT's
 * run store, for instance once every task of a Slurm array has finished, and says which planned
 * runs are missing. The config is OUT/runs/<hash>/config.json: the newest, or the one asked for.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { withArmsModule } from '../experiment/plan/armsModule.js';
import { builtinArms } from '../experiment/plan/builtinArms.js';
import type { AblationConfig } from '../experiment/plan/config.js';
import { InputError } from '../experiment/errors.js';
import { openConfigData } from '../experiment/data/open.js';
import { cleanStaleTemps } from '../experiment/store/atomic.js';
import { readConfigHeader, writeViews, type ConfigHeader, type Views } from '../experiment/store/views.js';
import { writeReport, type ReportFiles } from '../report/index.js';
import { defined, errorMessage } from '../core/idioms.js';

export interface RebuiltReport {
  readonly views: Views;
  readonly header: ConfigHeader;
  readonly report: ReportFiles;
  /** Other configs in the store, newest first. */
  readonly others: readonly string[];
  /** Why the report has no sample images (the data could not be opened), if so. */
  readonly noSamples?: string;
  /** Temp files that dead writers (a killed worker, a full disk) left in OUT or the config's folder, removed. */
  readonly removedTemps: readonly string[];
}

export async function rebuildReport(
  out: string,
  options: { readonly configHash?: string; readonly pngs?: boolean; readonly cacheDir?: string; readonly armsModule?: string } = {},
): Promise<RebuiltReport> {
  const root = path.join(path.resolve(out), 'runs');
  let hashes: Array<{ hash: string; mtime: number }>;
  try {
    const dirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory());
    hashes = [];
    for (const d of dirs) {
      const m = await stat(path.join(root, d.name, 'config.json')).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (m !== undefined) hashes.push({ hash: d.name, mtime: m });
    }
  } catch (error) {
    throw new InputError(`'${out}' holds no run store (no ${root}: ${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (hashes.length === 0)
    throw new InputError(`'${out}' holds no run store with a config (no ${path.join(root, '<hash>', 'config.json')})`);
  hashes.sort((a, b) => b.mtime - a.mtime);
  const hash = options.configHash ?? hashes[0]!.hash;
  if (!hashes.some((h) => h.hash === hash))
    throw new InputError(`config '${hash}' is not in ${root} (configs: ${hashes.map((h) => h.hash).join(', ')})`);
  // A config.json that is there but is no header (a FIFO, a link out, not JSON) is refused by name.
  const header = await readConfigHeader(out, hash);
  if (!header) throw new InputError(`${path.join(root, hash, 'config.json')} was removed while the report was being built`);
  // Only temp files of dead writers (atomic.ts names them): the runs themselves are not touched.
  const removedTemps = [...(await cleanStaleTemps(path.resolve(out))), ...(await cleanStaleTemps(path.join(root, hash)))];
  const views = await writeViews(out, header, undefined, 'report');
  const c = header.config as Record<string, unknown>;
  const armOptions = { size: Number(c.size), batchSize: Number(c.batchSize), shuffleWindow: Number(c.shuffleWindow) };
  let data;
  let noSamples: string | undefined;
  try {
    const { data: _location, ...rest } = c as unknown as AblationConfig;
    const config: AblationConfig = { ...rest, seeds: header.seeds, ...(c.builtinData === true ? {} : { data: header.data.location }) };
    data = await openConfigData(config, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  } catch (error) {
    noSamples = errorMessage(error).split('\n')[0];
  }
  const report = await writeReport(
    {
      results: views.results,
      resultsPath: views.resultsPath,
      // The arms ablate trains (the same list, and the same module), so every arm trained gets its sample grid.
      registry: await withArmsModule(builtinArms(), options.armsModule),
      armOptions,
      config: { seeds: header.seeds },
      ...defined({ data }),
    },
    { pngs: options.pngs ?? true },
  );
  return {
    views,
    header,
    report,
    others: hashes.map((h) => h.hash).filter((h) => h !== hash),
    ...defined({ noSamples }),
    removedTemps,
  };
}
