/**
 * A `--jobs` worker process (see pool.ts): prepares the config once (data, backend, hash), then
 * trains and saves each run it is handed. Claims are the parent's: it claimed the run before
 * handing it here. Exits when the parent goes (disconnect), so a killed parent leaves no trainer
 * behind; Ctrl-C on the terminal reaches the whole process group and stops it like the parent's 'stop'.
 */
import { isInputProblem } from '../errors.js';
import type { FromWorker, ToWorker } from './pool.js';
import { prepareAblation, trainAndSave, type Prepared } from '../train/prepare.js';
import { defined, errorMessage } from '../../core/idioms.js';

// A send can still fail when the parent is gone (EPIPE: it failed and exited while this worker
// prepared). Nobody is left to tell then, and this worker exits on 'disconnect'; a parent that is
// still there sees the channel close and this worker exit, and reports that.
const send = (m: FromWorker): void => {
  if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
};

let prepared: Prepared | undefined;
let keepCheckpoints = false;
const controller = new AbortController();

process.on('SIGINT', () => controller.abort());
process.on('disconnect', () => process.exit(0));

process.on('message', (m: ToWorker) => {
  void (async () => {
    try {
      if (m.t === 'init') {
        prepared = await prepareAblation(m.init.config, {
          ...defined({ cacheDir: m.init.cacheDir }),
          ...defined({ armsModule: m.init.armsModule }),
          prefetch: m.init.prefetch,
          threads: m.init.threads,
          ...defined({ webgpuProbe: m.init.webgpuProbe }),
        });
        keepCheckpoints = m.init.keepCheckpoints;
        send({ t: 'ready', configHash: prepared.ctx.configHash });
      } else if (m.t === 'stop') {
        controller.abort();
      } else if (m.t === 'run') {
        if (!prepared) throw new Error('worker: run before init');
        if (controller.signal.aborted) {
          send({ t: 'result', outcome: { kind: 'stopped' } });
          return;
        }
        const arm = prepared.registry.get(m.arm);
        // Progress of a batch at most every 200 ms (each message costs both processes CPU); the rest all.
        let lastBatch = 0;
        const outcome = await trainAndSave(prepared, arm, m.seed, {
          keepCheckpoint: keepCheckpoints,
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === 'batch') {
              const now = performance.now();
              if (now - lastBatch < 200 && event.batch < event.batches) return;
              lastBatch = now;
            }
            send({ t: 'event', event });
          },
        });
        send({ t: 'result', outcome });
      }
    } catch (error) {
      send({
        t: 'fail',
        // Whole: a file name may hold a newline; the parent prints it escaped on one line.
        message: errorMessage(error),
        input: isInputProblem(error),
      });
    }
  })();
});
