/**
 * The CLI as plain JavaScript for the tests that spawn it: every src/**\/*.ts transpiled with
 * esbuild (what tsx does to each file as it loads it: types stripped, nothing checked) into a
 * folder of the test run, made once per run from the current sources, so it is never stale.
 *
 * Why: a process started with `--import tsx` routes every module it loads (tfjs, rxjs, vega...)
 * through tsx's loader hooks, ~6 CPU-seconds a process on these 2 cores against ~1.5 s without
 * them, and the CLI tests start well over a hundred processes (each --jobs worker is one more).
 *
 * The folder mirrors the repository's layout one level down (`<dir>/src/...`), so the code finds
 * what it finds from src/ or dist/: node_modules, the native addon (`build`, linked), and '#tfjs'
 * (package.json's "imports": `src/backend/tfjs.js`, copied, the one .js file of src).
 */
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** esbuild's transform, from the esbuild that tsx (a dependency of mixstream) runs on. */
type Transform = (code: string, options: Record<string, unknown>) => { code: string };

/** Builds the CLI into `dir` (made here); returns the path of its entry, `<dir>/src/cli/main.js`. */
export async function buildCli(dir: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve('tsx'))('esbuild') as { transformSync: Transform };
  // bench/ too (test/bench.test.ts runs every section), and the test/ modules bench imports (the hostile corpus).
  for (const top of ['src', 'bench', 'test']) {
    const files = (await readdir(path.join(repo, top), { recursive: true })).filter((f) => f.endsWith('.ts'));
    for (const file of files) {
      const code = await readFile(path.join(repo, top, file), 'utf8');
      const out = path.join(dir, top, file.replace(/\.ts$/, '.js'));
      await mkdir(path.dirname(out), { recursive: true });
      await writeFile(out, esbuild.transformSync(code, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file }).code);
    }
  }
  await copyFile(path.join(repo, 'src', 'backend', 'tfjs.js'), path.join(dir, 'src', 'backend', 'tfjs.js'));
  await writeFile(path.join(dir, 'package.json'), await readFile(path.join(repo, 'package.json')));
  await symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  await symlink(path.join(repo, 'build'), path.join(dir, 'build'));
  return path.join(dir, 'src', 'cli', 'main.js');
}
