/**
 * EpochLog's write-behind is bounded (issue 23, point 7: "after 'stopping after the current batch'
 * three more epochs printed, so Ctrl-C looked ignored"). An epoch's line waits for its checkpoint;
 * with the writes queued without bound, a disk slower than an epoch let the training run ahead of
 * its lines by more epochs each epoch, and a stop flushed them all after the stop's own line. Here
 * the disk is a fake whose writes end only when the test says, stepped by hand: no timers.
 */
import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../../src/experiment/record.js';
import { EpochLog, type CheckpointPosition } from '../../src/experiment/train/epochLog.js';
import { flush } from '../helpers.js';

const record = (epoch: number): EpochRecord => ({
  epoch,
  loss: 1,
  accuracy: 0.5,
  valLoss: 1,
  valAccuracy: 0.5,
  seconds: 1,
  trainSeconds: 1,
  imagesPerSecond: 1,
});

/** A disk whose writes each end when `finish()` is called, in order; it counts what it was given. */
function handDisk() {
  const pending: Array<() => void> = [];
  const written: number[] = [];
  return {
    write: (_file: string, bytes: Uint8Array): Promise<void> =>
      new Promise<void>((resolve) => {
        pending.push(() => {
          written.push(bytes[0]!);
          resolve();
        });
      }),
    inFlight: () => pending.length,
    finish: () => pending.shift()!(),
    written,
  };
}

/** Calls log.finished for `epoch`, and says whether that call has returned (the training may go on). */
function finishEpoch(log: EpochLog, epoch: number, snapshots: CheckpointPosition[]): { returned: () => boolean; done: Promise<void> } {
  let returned = false;
  const done = log
    .finished(record(epoch), async (position) => {
      snapshots.push({ ...position, epochs: [...position.epochs] });
      return Uint8Array.of(epoch);
    })
    .then(() => {
      returned = true;
    });
  return { returned: () => returned, done };
}

describe('EpochLog: checkpoints behind the training, at most one write behind', () => {
  it('an epoch that ends while the last write is in flight waits for it: the lines never lag the training by more than one epoch', async () => {
    const disk = handDisk();
    const reported: number[] = [];
    const log = new EpochLog('k', 10, { file: '/nowhere/run.checkpoint' }, (e) => reported.push(e.record.epoch), disk.write);
    const snapshots: CheckpointPosition[] = [];

    await finishEpoch(log, 1, snapshots).done; // nothing in flight: the training goes on at once
    expect(disk.inFlight()).toBe(1);
    expect(reported).toEqual([]); // epoch 1's line waits for its checkpoint
    for (let epoch = 2; epoch <= 6; epoch++) {
      const call = finishEpoch(log, epoch, snapshots);
      await flush();
      // The disk has not finished the last write: this epoch's call holds the training back.
      expect(call.returned()).toBe(false);
      expect(disk.inFlight()).toBe(1);
      expect(epoch - 1 - reported.length).toBe(1); // finished epochs not yet reported: one
      disk.finish();
      await call.done;
      expect(reported).toEqual(Array.from({ length: epoch - 1 }, (_, i) => i + 1));
      expect(disk.inFlight()).toBe(1); // this epoch's write, started once the last ended
    }
    // A stop now: what is left to report is the one epoch in flight.
    const settled = log.settle();
    disk.finish();
    await settled;
    expect(reported).toEqual([1, 2, 3, 4, 5, 6]);
    expect(disk.written).toEqual([1, 2, 3, 4, 5, 6]);
    // Each snapshot is taken at its epoch's end with every epoch so far.
    expect(snapshots.map((s) => s.epochs.map((e) => e.epoch))).toEqual([
      [1],
      [1, 2],
      [1, 2, 3],
      [1, 2, 3, 4],
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5, 6],
    ]);
  });

  it('the last epoch (checkpoint not kept) is reported after the write in flight, without a write of its own', async () => {
    const disk = handDisk();
    const reported: number[] = [];
    const log = new EpochLog('k', 2, { file: '/nowhere/run.checkpoint' }, (e) => reported.push(e.record.epoch), disk.write);
    await finishEpoch(log, 1, []).done;
    const last = finishEpoch(log, 2, []);
    await flush();
    expect(last.returned()).toBe(false);
    disk.finish();
    await last.done;
    expect(reported).toEqual([1, 2]);
    expect(disk.inFlight()).toBe(0);
  });

  it('a failed write is thrown at the next epoch, its line never printed', async () => {
    const reported: number[] = [];
    const log = new EpochLog(
      'k',
      5,
      { file: '/nowhere/run.checkpoint' },
      (e) => reported.push(e.record.epoch),
      () => Promise.reject(new Error("cannot write '/nowhere/run.checkpoint': no space left on the device (ENOSPC)")),
    );
    await finishEpoch(log, 1, []).done;
    await expect(log.finished(record(2), async () => Uint8Array.of(2))).rejects.toThrow(/ENOSPC/);
    expect(reported).toEqual([]);
  });
});
