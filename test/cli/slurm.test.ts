/**
 * On a real engine: a single-node Slurm cluster (slurmctld + slurmd on localhost, munge auth,
 * proctrack/linuxproc, task/none, select/cons_tres) started here as root, the shipped
 * deploy/slurm/submit.sh submitting a tiny ablation as a 4-task job array into one folder plus its
 * dependent report step; the merged results must equal a single-process run bit for bit.
 * A munged started here (when none answered) is stopped afterwards, as are the Slurm daemons.
 * Skipped, with a notice, when Slurm is not installed or we are not root; required (a failure)
 * when MIXSTREAM_REQUIRE_SYSTEM=1, as in CI (.ci/run installs slurm-wlm and munge).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultsFile, RunRecord } from '../../src/experiment/store/results.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';
import { CLI, repo, runCli, twoByTwo, TWO_BY_TWO_DATA } from './helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'munged', 'munge'].filter((c) => !has(c));
const root = process.getuid?.() === 0;
const why =
  missing.length > 0
    ? `not installed: ${missing.join(', ')} (apt-get install slurm-wlm munge)`
    : !root
      ? 'slurmd must run as root here'
      : undefined;
const required = process.env.MIXSTREAM_REQUIRE_SYSTEM === '1';
if (why !== undefined) console.warn(`\n*** Slurm test ${required ? 'REQUIRED but cannot run' : 'SKIPPED'}: ${why} ***\n`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the munged started here writes its pid (given on its command line, so no build default decides). */
const MUNGE_PID_FILE = '/run/munge/munged.pid';
/** The munged this test started, if it had to start one: stopped in afterAll, and no other. */
let ourMunged: number | undefined;

/** True while `pid` is a live process named `name` (not a zombie, not a reused pid of another program). */
function running(pid: number, name: string): boolean {
  try {
    const m = /^\d+ \((.*)\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m?.[1] === name && m[2] !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `sig` to `pid` if it is still our munged (it may have exited meanwhile: no error then). */
function signalMunged(pid: number, sig: NodeJS.Signals): void {
  try {
    if (running(pid, 'munged')) process.kill(pid, sig);
  } catch {
    // exited between the look and the kill
  }
}

/** The pid written in `file`, or NaN when there is none. */
function pidIn(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return Number.NaN;
  }
}

const daemons: ChildProcess[] = [];
// The daemons write their state as they stop: wait for them to exit (SIGKILL after 10 s) before
// the test's temp folder is removed, or the removal races their last writes (ENOTEMPTY). The
// munged started here (a daemon of its own, not our child) is stopped after them, the same way.
afterAll(async () => {
  await Promise.all(
    daemons.map(
      (d) =>
        new Promise<void>((resolve) => {
          if (d.exitCode !== null || d.signalCode !== null) return resolve();
          const force = setTimeout(() => d.kill('SIGKILL'), 10_000);
          d.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          d.kill('SIGTERM');
        }),
    ),
  );
  const munged = ourMunged;
  if (munged !== undefined) {
    signalMunged(munged, 'SIGTERM');
    for (let i = 0; i < 100 && running(munged, 'munged'); i++) await sleep(100);
    if (running(munged, 'munged')) signalMunged(munged, 'SIGKILL');
  }
}, 30_000);

const numbers = (r: RunRecord): number[][] => r.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]);
const byRun = (rs: readonly RunRecord[]): Record<string, number[][]> =>
  Object.fromEntries(rs.map((r) => [`${r.arm}/${r.seed}`, numbers(r)]));

/** Starts munged (if no daemon answers) and a one-node cluster in `dir`; resolves to the env that reaches it. */
async function startCluster(dir: string): Promise<NodeJS.ProcessEnv> {
  if (spawnSync('sh', ['-c', 'munge -n | unmunge']).status !== 0) {
    await mkdir('/run/munge', { recursive: true });
    spawnSync('chown', ['munge:munge', '/run/munge']);
    const pidFile = `--pid-file=${MUNGE_PID_FILE}`;
    const started =
      spawnSync('runuser', ['-u', 'munge', '--', 'munged', pidFile]).status === 0 || spawnSync('munged', ['--force', pidFile]).status === 0;
    // munged forks into the background and has written its pid file by the time its launcher exits.
    const pid = started ? pidIn(MUNGE_PID_FILE) : Number.NaN;
    if (running(pid, 'munged')) ourMunged = pid;
    expect(spawnSync('sh', ['-c', 'munge -n | unmunge']).status, 'munge does not answer').toBe(0);
  }
  const host = os.hostname().split('.')[0]!;
  // Ports of our own, so a cluster already on the machine (6817/6818) is left alone.
  const port = 20000 + (process.pid % 20000);
  for (const d of ['state', 'spool']) await mkdir(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'slurm.conf');
  await writeFile(
    conf,
    [
      'ClusterName=mixstreamtest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'MpiDefault=none',
      'ReturnToService=2',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${Math.max(1, os.availableParallelism())} State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  daemons.push(spawn('slurmctld', ['-D', '-i', '-f', conf], { env, stdio: 'ignore' }));
  daemons.push(spawn('slurmd', ['-D', '-f', conf], { env, stdio: 'ignore' }));
  for (let i = 0; i < 120; i++) {
    const state = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout.trim();
    if (state === 'idle') return env;
    await sleep(1000);
  }
  throw new Error(`the Slurm node never became idle; see ${dir}/slurmctld.log and slurmd.log`);
}

describe.skipIf(why !== undefined && !required)('Slurm job array (real cluster)', () => {
  it('a 4-task array into one folder, then the dependent report: results equal a single-process run bit for bit', async () => {
    if (why !== undefined) throw new Error(`MIXSTREAM_REQUIRE_SYSTEM=1 but the Slurm test cannot run: ${why}`);
    const dir = await tempDir('mixstream-slurm-');
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, TWO_BY_TWO_DATA);
    const flags = twoByTwo(data);
    const env = await startCluster(path.join(dir, 'cluster'));
    // The jobs run in `dir`, as a user's jobs run in their project: when the CLI runs through tsx
    // (no build of the test run: test/cli/helpers.ts), tsx (which the decode worker threads load by
    // name) resolves from the cwd's node_modules.
    await symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));

    const out = path.join(dir, 'out');
    const mixstream = [process.execPath, ...CLI.map((a) => (a === 'tsx' ? fileURLToPath(import.meta.resolve('tsx')) : a))].join(' ');
    const submitted = execFileSync(path.join(repo, 'deploy/slurm/submit.sh'), ['4', ...flags], {
      cwd: dir,
      env: { ...env, MIXSTREAM: mixstream, MIXSTREAM_OUT: out, SBATCH_ARGS: '--cpus-per-task=1', MIXSTREAM_REPORT_ARGS: '--no-pngs' },
      encoding: 'utf8',
    });
    const [, arrayId, reportId] = /array job (\d+), report job (\d+)/.exec(submitted) ?? [];
    expect(reportId, submitted).toBeDefined();
    // Both jobs leave the queue once the report step has run.
    for (let i = 0; i < 600; i++) {
      const queued = spawnSync('squeue', ['-h', '-j', `${arrayId},${reportId}`], { env, encoding: 'utf8' }).stdout.trim();
      if (queued === '') break;
      await sleep(1000);
    }
    const logs = (await readdir(dir)).filter((n) => n.endsWith('.out')).sort();
    const taskLogs = logs.filter((n) => n.startsWith(`mixstream-ablate-${arrayId}_`));
    expect(taskLogs, logs.join(',')).toHaveLength(4);
    const report = await readFile(path.join(dir, `mixstream-report-${reportId}.out`), 'utf8');
    expect(report).toMatch(/4 of 4 planned run\(s\) in the store/);

    const single = path.join(dir, 'single');
    const one = await runCli(['ablate', ...flags, '--jobs', '1', '--no-report', '--out', single]);
    expect(one.code, one.stderr).toBe(0);
    const merged = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
    const reference = JSON.parse(await readFile(path.join(single, 'results.json'), 'utf8')) as ResultsFile;
    expect(merged.complete).toBe(true);
    expect(merged.configHash).toBe(reference.configHash);
    expect(byRun(merged.runs)).toEqual(byRun(reference.runs));
    expect(merged.summary).toEqual(reference.summary);
  }, 600_000);
});
