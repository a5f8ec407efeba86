/**
 * Worker processes for `--jobs N` (N - 1 of them: the parent trains too): each slot is one forked process (worker.ts) that opens the data
 * and backend once and then trains the runs it is handed, one at a time, saving each to the store
 * itself. The same entry file is forked with this process's execArgv, so it works under tsx (the
 * .ts sources) and from compiled JS alike. A worker whose parent dies exits (IPC disconnect).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ProbeResult } from '../../backend/webgpu/probe.js';
import type { AblationConfig } from '../plan/config.js';
import { InputError } from '../errors.js';
import type { RunOutcome } from '../train/prepare.js';
import type { TrainEvent } from '../train/train.js';

/** What every worker is told once. */
export interface WorkerInit {
  readonly config: AblationConfig;
  readonly cacheDir?: string;
  /** The arms module (an absolute path) each worker imports, as the parent does. */
  readonly armsModule?: string;
  readonly prefetch: number;
  /** Threads of each run's native kernels. */
  readonly threads: number;
  readonly keepCheckpoints: boolean;
  /** The parent's WebGPU adapter probe, so that no worker runs its own. */
  readonly webgpuProbe?: ProbeResult;
}

export type ToWorker =
  | { readonly t: 'init'; readonly init: WorkerInit }
  | { readonly t: 'run'; readonly arm: string; readonly seed: number }
  | { readonly t: 'stop' };
export type FromWorker =
  | { readonly t: 'ready'; readonly configHash: string }
  /** `input`: the worker's error was about the input (isInputProblem), so the parent's is an InputError (exit 2). */
  | { readonly t: 'fail'; readonly message: string; readonly input: boolean }
  | { readonly t: 'event'; readonly event: TrainEvent }
  | { readonly t: 'result'; readonly outcome: RunOutcome };

/** The worker's entry and the node flags to start it with. */
export function workerCommand(): { file: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  const file = self.replace(/pool\.(ts|js)$/, ts ? 'worker.ts' : 'worker.js');
  const execArgv = [...process.execArgv];
  // Under vitest or another loader the .ts entry needs tsx, resolved from here, not from the cwd.
  if (ts && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', import.meta.resolve('tsx'));
  return { file, execArgv };
}

/** `--jobs auto`: one run per core, each run's kernels taking `threads` of them. */
export function autoJobs(threads = 1): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, threads)));
}

function forkWorker(): ChildProcess {
  const { file, execArgv } = workerCommand();
  return fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
}

/** Workers forked ahead of need (prestartWorkers), taken by the next pool's slots in order. */
const spares: ChildProcess[] = [];

/**
 * Forks `n` workers now, so that each loads Node's modules, tfjs and the wasm backend while this
 * process is still loading its own (the CLI calls it before it imports them): they wait for their
 * init, which the pool sends once the built-in data set is in place. releaseSpareWorkers lets go of
 * those no pool took (a command that failed before training).
 */
export function prestartWorkers(n: number): number[] {
  const started = Array.from({ length: n }, forkWorker);
  spares.push(...started);
  return started.map((c) => c.pid ?? -1);
}

/**
 * Lets go of prestarted workers that no pool took: each exits when its IPC channel closes. The
 * promise resolves once every one of them has exited (nothing need wait for it: a worker whose
 * parent is gone exits too).
 */
export function releaseSpareWorkers(): Promise<void> {
  const released = spares.splice(0);
  const exits = released.map((child) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve())),
  );
  for (const child of released) if (child.connected) child.disconnect();
  return Promise.all(exits).then(() => undefined);
}

/** A prestarted worker that is still alive, else undefined. */
function spare(): ChildProcess | undefined {
  for (let child = spares.shift(); child; child = spares.shift()) {
    if (child.connected && child.exitCode === null && child.signalCode === null) return child;
  }
  return undefined;
}

const failure = (m: { readonly message: string; readonly input: boolean }): Error =>
  m.input ? new InputError(m.message) : new Error(m.message);

interface Slot {
  child: ChildProcess;
  /** Resolves to the config hash the worker computed. */
  ready: Promise<string>;
  exited: Promise<void>;
  onMessage?: (m: FromWorker) => void;
  onExit?: (why: string) => void;
}

export class WorkerPool {
  private readonly slots = new Map<number, Slot>();
  private stopped = false;
  private configHash: string | undefined;

  constructor(
    readonly size: number,
    private readonly init: WorkerInit,
  ) {}

  private start(index: number): Slot {
    const child = spare() ?? forkWorker();
    const slot: Slot = { child, ready: Promise.resolve(''), exited: Promise.resolve() };
    slot.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        slot.onExit?.(`worker process ${child.pid} exited (${signal ?? `code ${code}`})`);
        resolve();
      }),
    );
    child.on('message', (m: FromWorker) => slot.onMessage?.(m));
    slot.ready = new Promise<string>((resolve, reject) => {
      slot.onMessage = (m) => {
        if (m.t === 'ready') resolve(m.configHash);
        else if (m.t === 'fail') reject(failure(m));
      };
      slot.onExit = (why) => reject(new Error(why));
    });
    // Started before anyone waits on it: a failure waits for run() to report it, not as an unhandled rejection.
    slot.ready.catch(() => undefined);
    child.send({ t: 'init', init: this.init } satisfies ToWorker);
    this.slots.set(index, slot);
    return slot;
  }

  /** The worker processes' pids, by slot. */
  pids(): number[] {
    return [...this.slots.values()].map((s) => s.child.pid ?? -1);
  }

  /** Starts every worker now (each prepares the config while the caller does too). */
  startAll(): void {
    for (let i = 0; i < this.size; i++) if (!this.slots.has(i)) this.start(i);
  }

  /** The config hash the caller computed: a worker that computed another refuses to train (it saw other data). */
  expect(configHash: string): void {
    this.configHash = configHash;
  }

  /** Trains (arm, seed) on slot `index`'s worker; resolves to its outcome, rejects when the worker fails. */
  async run(index: number, arm: string, seed: number, onEvent: (e: TrainEvent) => void): Promise<RunOutcome> {
    const slot = this.slots.get(index) ?? this.start(index);
    const seen = await slot.ready;
    if (this.configHash !== undefined && seen !== this.configHash)
      throw new InputError(`worker saw config ${seen}, this process ${this.configHash}: the data changed while starting`);
    return new Promise<RunOutcome>((resolve, reject) => {
      slot.onMessage = (m) => {
        if (m.t === 'event') onEvent(m.event);
        else if (m.t === 'result') resolve(m.outcome);
        else if (m.t === 'fail') reject(failure(m));
      };
      slot.onExit = (why) => (this.stopped ? resolve({ kind: 'stopped' }) : reject(new Error(`${arm} seed ${seed}: ${why}`)));
      slot.child.send({ t: 'run', arm, seed } satisfies ToWorker);
      if (this.stopped) slot.child.send({ t: 'stop' } satisfies ToWorker);
    });
  }

  /** Asks every worker to stop after its current batch (its last epoch's checkpoint stays). */
  stop(): void {
    this.stopped = true;
    for (const s of this.slots.values()) if (s.child.connected) s.child.send({ t: 'stop' } satisfies ToWorker);
  }

  /** Lets every worker go and waits for it to exit. */
  async close(): Promise<void> {
    for (const s of this.slots.values()) if (s.child.connected) s.child.disconnect();
    await Promise.all([...this.slots.values()].map((s) => s.exited));
  }
}
