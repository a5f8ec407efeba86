import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticFolder } from '../src/sources/synthetic.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');

interface Lock {
  packages: Record<string, Record<string, unknown> & { dev?: boolean; link?: boolean }>;
}

/**
 * The package as a user gets it: `npm pack` (its prepare script compiles dist/), installed into an
 * empty project from the npm cache alone (offline: the cache `npm ci` filled), where
 * `import { ... } from 'mixstream'` and `npx mixstream ablate --help` must work, and every ```ts
 * block of the README runs as written. The project's lock pins mixstream's dependencies to the
 * versions of this repository's lock, so no registry metadata is needed.
 */
describe('packaging', () => {
  let dir = '';
  let tgz = '';
  let listing: string[] = [];
  let app = '';
  // Packed and installed once for both tests (about a minute on two cores).
  beforeAll(async () => {
    dir = await tempDir('mixstream-pack-');
    // Packed from a copy of the working tree (its prepare script builds the copy's dist/), so the
    // repository's own dist/, which other tests run, is never rewritten under them. The copy holds
    // what the package can contain (package.json's "files", and the files npm always adds) and the
    // tsconfig.json that builds it: its prepare compiles src/ alone, not the tests and benches.
    const clone = path.join(dir, 'clone');
    const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { files: string[] };
    const packable = (f: string): boolean =>
      /^(package\.json|tsconfig\.json|README[^/]*|LICEN[CS]E[^/]*)$/i.test(f) || pkg.files.some((p) => f === p || f.startsWith(`${p}/`));
    const files = (await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repo, maxBuffer: 64 << 20 })).stdout
      .split('\0')
      .filter((f) => f && packable(f));
    for (const f of files) {
      await mkdir(path.dirname(path.join(clone, f)), { recursive: true });
      await copyFile(path.join(repo, f), path.join(clone, f)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet in git
      });
    }
    await symlink(path.join(repo, 'node_modules'), path.join(clone, 'node_modules'));
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: clone, maxBuffer: 64 << 20 });
    tgz = path.join(dir, stdout.trim().split('\n').at(-1) as string);
    listing = (await run('tar', ['-tzf', tgz])).stdout.split('\n');

    app = path.join(dir, 'app');
    await mkdir(app);
    const lock = JSON.parse(await readFile(path.join(repo, 'package-lock.json'), 'utf8')) as Lock;
    const ours = lock.packages[''] as Record<string, unknown>;
    const spec = `file:${tgz}`;
    const packages: Lock['packages'] = {
      '': { name: 'app', version: '1.0.0', dependencies: { mixstream: spec } },
      'node_modules/mixstream': { ...ours, resolved: spec, hasInstallScript: true, name: undefined, devDependencies: undefined },
    };
    for (const [at, entry] of Object.entries(lock.packages)) if (at !== '' && !entry.dev && !entry.link) packages[at] = entry;
    await writeFile(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true, dependencies: { mixstream: spec } }),
    );
    await writeFile(
      path.join(app, 'package-lock.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
    );
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 64 << 20 });
  }, 600_000);

  it('npm pack gives a package that installs offline into an empty project, where the import and the bin work', async () => {
    expect(listing).toContain('package/dist/src/index.js');
    expect(listing).toContain('package/dist/src/cli/main.js');
    expect(listing).toContain('package/bin/mixstream.js');
    await writeFile(
      path.join(app, 'main.js'),
      "import { batch, cutmix, fromArrays, normalizeResize, toAsyncIterable } from 'mixstream';\n" +
        'const images = new Uint8Array(4 * 2 * 2 * 3).fill(128);\n' +
        'const train$ = fromArrays({ images, shape: [4, 2, 2, 3], labels: [0, 1, 0, 1] }).pipe(normalizeResize({ size: 2, workers: 0 }), batch(2), cutmix());\n' +
        'let n = 0;\nfor await (const b of toAsyncIterable(train$)) n += b.shape[0];\nconsole.log(`samples ${n}`);\n',
    );
    expect((await run('node', ['main.js'], { cwd: app })).stdout.trim()).toBe('samples 4');
    const help = await run('npx', ['--offline', 'mixstream', 'ablate', '--help'], { cwd: app });
    expect(help.stdout).toMatch(/^Usage: mixstream ablate/);
  }, 120_000);

  it('every ```ts block of the README runs as written in that project (type: module, tsx) on a 4-class folder', async () => {
    const readme = await readFile(path.join(repo, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // The folder the examples name: 4 classes (the README once hard-coded 120 and died on this).
    await writeSyntheticFolder(path.join(app, 'Images'), { classes: 4, perClass: 5, seed: 3, minSide: 24, maxSide: 40 });
    const tsx = path.join(app, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    // Each block in a process of its own, as a user runs it (npx tsx file.ts); all at once, so the
    // one that trains at 224 px does not hold up the others.
    const results = await Promise.all(
      blocks.map(async (code, i) => {
        const file = path.join(app, `readme-${i + 1}.ts`);
        await writeFile(file, code);
        return run(process.execPath, [tsx, file], { cwd: app, maxBuffer: 64 << 20 }).catch((error: { code?: number; stderr?: string }) => ({
          stdout: '',
          stderr: `exit ${error.code}: ${error.stderr ?? ''}`,
        }));
      }),
    );
    for (const [i, r] of results.entries()) expect(r.stderr, `README block ${i + 1}:\n${blocks[i]}`).not.toMatch(/^exit /);
  }, 600_000);
});
