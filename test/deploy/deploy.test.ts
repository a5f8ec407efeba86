/**
 * deploy/ runs as shipped (issue 23, item 5). Docker cannot run here, so the Dockerfile is linted
 * (its instructions parsed: a Debian Node 20 base, npm ci building the addon, every COPY source
 * present and let through the .dockerignore, an exec-form ENTRYPOINT and CMD) and its command is
 * run against this repository with the image's paths mapped onto it. The Kubernetes manifests are
 * read as a whole (every claim a Job mounts is defined, the data set mounted and passed with
 * --data, the image's binary, not npx); the examples ask for enough seeds to reach a verdict.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { runCli, repo, TINY_RUN } from '../cli/helpers.js';
import { tempDir } from '../helpers.js';

const deploy = path.join(repo, 'deploy');
/** The fewest seeds with which an exact two-sided sign-flip test can go below 0.05 (2/2^n). */
const MIN_SEEDS = 6;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** A Dockerfile's instructions: comments dropped, `\` continuations joined, keywords upper-cased. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.startsWith('#')) return; // a comment inside a continued instruction
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const m = /^(\w+)\s+(.*)$/.exec(pending);
    if (!m) throw new Error(`Dockerfile line ${start}: '${pending}' is not an instruction`);
    out.push({ keyword: (m[1] as string).toUpperCase(), args: m[2] as string, line: start });
    pending = '';
  });
  if (pending) throw new Error('Dockerfile ends inside a continued line');
  return out;
}

/** An exec-form (JSON array) argument list, as ENTRYPOINT and CMD should be written. */
const execForm = (i: Instruction | undefined): string[] => {
  const value = JSON.parse(i?.args ?? 'null') as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`not exec form: ${i?.args}`);
  return value as string[];
};

/** Whether `file` (relative to the context) gets past a .dockerignore of `**` and `!pattern` lines. */
function passesIgnore(ignore: string, file: string): boolean {
  let included = true;
  for (const raw of ignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = negate ? line.slice(1) : line;
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]]/g, '\\$&')
        .split('**')
        .map((part) => part.replace(/\*/g, '[^/]*'))
        .join('.*')}$`,
    );
    if (re.test(file) || re.test(`${file}/`)) included = negate;
  }
  return included;
}

describe('deploy/Dockerfile', () => {
  it('parses: a Debian Node 20 base with a compiler, npm ci building the addon, COPY sources present and not ignored, exec-form ENTRYPOINT and CMD', async () => {
    const text = await readFile(path.join(deploy, 'Dockerfile'), 'utf8');
    const steps = parseDockerfile(text);
    const known = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'VOLUME', 'ENTRYPOINT', 'CMD', 'ARG', 'LABEL', 'USER', 'EXPOSE']);
    expect(steps.filter((s) => !known.has(s.keyword))).toEqual([]);
    expect(steps[0]?.keyword).toBe('FROM');
    // node:20-bookworm (not -slim: node-gyp needs python3, make and g++, which the full image has).
    expect(steps[0]?.args).toMatch(/^node:20-(bookworm|bullseye|trixie)$/);
    const workdir = steps.find((s) => s.keyword === 'WORKDIR')?.args;
    expect(workdir).toBe('/app');
    const ignore = await readFile(path.join(deploy, 'Dockerfile.dockerignore'), 'utf8');
    const copied: string[] = [];
    for (const copy of steps.filter((s) => s.keyword === 'COPY')) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      expect(parts.length, copy.args).toBeGreaterThanOrEqual(2);
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(path.join(repo, source)), `COPY ${source}`).toBe(true);
        expect(passesIgnore(ignore, source), `${source} is let through the .dockerignore`).toBe(true);
        copied.push(source);
      }
    }
    // npm ci runs the install script (scripts/build-native.mjs + binding.gyp + native/) and prepare (tsc: src, tsconfig).
    for (const needed of ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.json', 'native', 'scripts', 'bin', 'src'])
      expect(copied, needed).toContain(needed);
    expect(passesIgnore(ignore, 'node_modules')).toBe(false);
    expect(passesIgnore(ignore, 'src/index.ts')).toBe(true);
    const run = steps
      .filter((s) => s.keyword === 'RUN')
      .map((s) => s.args)
      .join(' && ');
    expect(run).toMatch(/\bnpm ci\b/);
    // The addon's file is the one binding.gyp names, and the build checks it is there.
    const target = /"target_name":\s*"([^"]+)"/.exec(await readFile(path.join(repo, 'binding.gyp'), 'utf8'))?.[1];
    expect(run).toContain(`test -f build/Release/${target}.node`);
    expect(run).not.toMatch(/\bnpx\b/);
    const entrypoint = execForm(steps.find((s) => s.keyword === 'ENTRYPOINT'));
    expect(entrypoint).toEqual(['/usr/local/bin/mixstream']);
    expect(run).toContain(`ln -s ${workdir}/bin/mixstream.js /usr/local/bin/mixstream`);
    const cmd = execForm(steps.find((s) => s.keyword === 'CMD'));
    expect(cmd.slice(0, 1)).toEqual(['ablate']);
    expect(cmd.join(' ')).toMatch(/--data \/data\b/);
    expect(cmd.join(' ')).toMatch(/--out \/results\b/);
    expect(steps.find((s) => s.keyword === 'VOLUME')?.args).toMatch(/"\/data".*"\/results"/);
  });

  it("its ENTRYPOINT + CMD runs the ablation here, the image's paths mapped onto the repository (made small by extra flags)", async () => {
    const steps = parseDockerfile(await readFile(path.join(deploy, 'Dockerfile'), 'utf8'));
    const cmd = execForm(steps.find((s) => s.keyword === 'CMD'));
    const dir = await tempDir('mixstream-docker-');
    const data = path.join(dir, 'data');
    const results = path.join(dir, 'results');
    await writeSyntheticFolder(data, { classes: 4, perClass: 6, seed: 2, minSide: 16, maxSide: 24 });
    await mkdir(results);
    const mapped = cmd.map((a) => (a === '/data' ? data : a === '/results' ? results : a));
    // /usr/local/bin/mixstream is bin/mixstream.js, which runs dist/; here the same CLI from src/.
    const r = await runCli([...mapped, ...TINY_RUN], { env: { MIXSTREAM_CACHE: path.join(results, '.cache') } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(results, 'results.json'))).toBe(true);
  }, 120_000);
});

describe('deploy/k8s', () => {
  it("every claim a Job mounts is defined in volumes.yaml; the ablation mounts the data and passes --data; the image is the Dockerfile's binary, not npx", async () => {
    const read = (f: string): Promise<string> => readFile(path.join(deploy, 'k8s', f), 'utf8');
    const [volumes, ablate, report] = await Promise.all([read('volumes.yaml'), read('ablate-job.yaml'), read('report-job.yaml')]);
    const claims = new Set(
      volumes
        .split(/^---$/m)
        .filter((d) => /^kind: PersistentVolumeClaim$/m.test(d))
        .map((d) => /^metadata:\n\s+name: (\S+)$/m.exec(d)?.[1]),
    );
    expect([...claims].sort()).toEqual(['mixstream-data', 'mixstream-results']);
    for (const d of volumes.split(/^---$/m)) expect(d).toMatch(/accessModes: \["ReadWriteMany"\]/);
    for (const job of [ablate, report]) {
      const used = [...job.matchAll(/claimName: (\S+)/g)].map((m) => m[1]);
      expect(used.length).toBeGreaterThan(0);
      for (const c of used) expect(claims.has(c), c).toBe(true);
      // Each mount names a volume of the pod.
      const volumeNames = new Set([...job.matchAll(/^\s+- name: (\S+)\n\s+persistentVolumeClaim:/gm)].map((m) => m[1]));
      for (const m of job.matchAll(/\{ name: (\S+), mountPath: (\S+?)[,\s}]/g)) expect(volumeNames.has(m[1]), m[1]).toBe(true);
      expect(job).not.toMatch(/\bnpx\b/);
      expect(job).toMatch(/image: mixstream:0\.1\.0/);
    }
    expect(ablate).toMatch(/\{ name: data, mountPath: \/data, readOnly: true \}/);
    const script = /args:\n\s+- (.+)\n/.exec(ablate)?.[1] ?? '';
    expect(script).toMatch(/^exec \/usr\/local\/bin\/mixstream ablate --data \/data --out \/results /);
    const seeds = Number(/--seeds (\d+)/.exec(script)?.[1]);
    expect(seeds).toBeGreaterThanOrEqual(MIN_SEEDS);
  });
});

describe('deploy/slurm and the README', () => {
  it('examples ask for enough seeds to reach a verdict and use the installed binary; a missing binary is named in one line', async () => {
    const sbatch = await readFile(path.join(deploy, 'slurm', 'ablate.sbatch'), 'utf8');
    const submit = await readFile(path.join(deploy, 'slurm', 'submit.sh'), 'utf8');
    const readme = await readFile(path.join(repo, 'README.md'), 'utf8');
    const deploySection = readme.slice(readme.indexOf('### On a Slurm cluster'), readme.indexOf('### What the ablation says'));
    for (const [name, text] of [
      ['ablate.sbatch', sbatch],
      ['submit.sh', submit],
      ['README', deploySection],
    ] as const) {
      const counts = [...text.matchAll(/--seeds (\d+)/g)].map((m) => Number(m[1]));
      expect(counts.length, name).toBeGreaterThan(0);
      for (const n of counts) expect(n, name).toBeGreaterThanOrEqual(MIN_SEEDS);
      expect(text, name).not.toMatch(/npx mixstream/);
    }
    expect(sbatch).toMatch(/node_modules\/\.bin\/mixstream/);
    const dir = await tempDir('mixstream-sbatch-');
    const run = (): string => {
      try {
        execFileSync('/bin/bash', [path.join(deploy, 'slurm', 'ablate.sbatch')], {
          env: { PATH: process.env.PATH ?? '', SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '1', SLURM_SUBMIT_DIR: dir },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        return 'exit 0';
      } catch (error) {
        const e = error as { status: number; stderr: string };
        return `exit ${e.status}: ${e.stderr.trim()}`;
      }
    };
    expect(run()).toBe(
      `exit 2: mixstream: '${dir}/node_modules/.bin/mixstream' is not installed: submit from the project where mixstream is installed, or set MIXSTREAM`,
    );
  });
});
