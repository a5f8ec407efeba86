/**
 * Locks that cannot deadlock (issue 23, fault 1): a lock whose process is not the one that wrote
 * it (this very pid after a PID-namespace or container restart, a pid now of an unrelated live
 * process), a garbage lock, a special file as a lock; and a live claim is waited on with one line
 * saying what for and how to clear it.
 */
import { existsSync } from 'node:fs';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRun, processStartTime } from '../../src/experiment/store/locks.js';
import { fifoAt, scratchDir } from './corpus.js';
import { garbageLock, liveUnrelatedProcess, lockNaming } from './store.js';

let dir = '';
let remove = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-locks'));
});
afterAll(() => remove());

/** Claims `arm` seed 1 in `dir`, collecting why a lock was taken over and what is waited for. */
async function claim(arm: string) {
  const steals: string[] = [];
  const waits: string[] = [];
  const c = await claimRun(dir, arm, 1, { onSteal: (w) => steals.push(w), onBusy: (w) => waits.push(w) });
  await c?.release();
  return { claimed: c !== undefined, steals, waits };
}

describe('locks that cannot deadlock', () => {
  it('a lock naming this very pid with another start time (a restart in a PID namespace) is taken over at once', async () => {
    await lockNaming(path.join(dir, 'ns-s1.lock'), process.pid, '1');
    const r = await claim('ns');
    expect(r.claimed).toBe(true);
    expect(r.steals[0]).toMatch(/names this process's pid \d+ but this process did not write it/);
  });

  it('a lock naming this pid from before a reboot (another boot id) is taken over', async () => {
    await lockNaming(path.join(dir, 'boot-s1.lock'), process.pid, processStartTime(process.pid)!, '00000000-0000-0000-0000-000000000000');
    const r = await claim('boot');
    expect(r.claimed).toBe(true);
    expect(r.steals[0]).toMatch(/before this machine restarted/);
  });

  it('a lock whose pid now belongs to a live unrelated process (another start time) is taken over', async () => {
    const sleeper = await liveUnrelatedProcess();
    try {
      await lockNaming(path.join(dir, 'reused-s1.lock'), sleeper.pid, '1');
      const r = await claim('reused');
      expect(r.claimed).toBe(true);
      expect(r.steals[0]).toMatch(new RegExp(`pid ${sleeper.pid} is now another process`));
    } finally {
      sleeper.stop();
    }
  });

  it('a 3-day-old lock of a live process, its start time unknown (a former lock), is taken over by its stale heartbeat', async () => {
    const sleeper = await liveUnrelatedProcess();
    try {
      const file = path.join(dir, 'old-s1.lock');
      await writeFile(file, JSON.stringify({ pid: sleeper.pid, host: (await import('node:os')).hostname(), startedAt: 'x' }));
      const days = new Date(Date.now() - 3 * 86_400_000);
      await utimes(file, days, days);
      const r = await claim('old');
      expect(r.claimed).toBe(true);
      expect(r.steals[0]).toMatch(/no heartbeat for \d+ s/);
    } finally {
      sleeper.stop();
    }
  });

  it('a live holder (pid and start time match) is waited on, with a line naming the lock, its holder and how to clear it', async () => {
    const sleeper = await liveUnrelatedProcess();
    try {
      const file = path.join(dir, 'live-s1.lock');
      await lockNaming(file, sleeper.pid, processStartTime(sleeper.pid)!);
      const r = await claim('live');
      expect(r.claimed).toBe(false);
      expect(r.waits).toHaveLength(1);
      expect(r.waits[0]).toContain(file);
      expect(r.waits[0]).toMatch(new RegExp(`held by process ${sleeper.pid} on .*heartbeat \\d+ s ago.*remove the file`));
      expect(r.waits[0]).toMatch(/heartbeat stops for 600 s/); // known alive: only a long-stuck holder loses it
      // Its heartbeat stuck for 10 minutes: taken over even so.
      const past = new Date(Date.now() - 700_000);
      await utimes(file, past, past);
      expect((await claim('live')).claimed).toBe(true);
    } finally {
      sleeper.stop();
    }
  });

  it('a fresh garbage lock is taken over at once, not waited on for a minute', async () => {
    await garbageLock(path.join(dir, 'junk-s1.lock'));
    const r = await claim('junk');
    expect(r.claimed).toBe(true);
    expect(r.steals[0]).toMatch(/not a lock \(unreadable\)/);
  });

  it('an empty lock just created (a former version filling it) is waited on, saying so; once 5 s old it is taken over', async () => {
    const file = path.join(dir, 'empty-s1.lock');
    await writeFile(file, '');
    const r = await claim('empty');
    expect(r.claimed).toBe(false);
    expect(r.waits[0]).toMatch(/lock .*empty-s1\.lock is held by an empty lock written \d+ s ago \(being filled\?\); .*remove the file/);
    const before = new Date(Date.now() - 10_000);
    await utimes(file, before, before);
    const again = await claim('empty');
    expect(again.claimed).toBe(true);
    expect(again.steals[0]).toMatch(/not a lock \(empty\)/);
  });

  it('a FIFO as a lock is refused in one line naming it, not opened and waited on', async () => {
    const file = path.join(dir, 'fifo-s1.lock');
    fifoAt(file);
    await expect(claim('fifo')).rejects.toThrow(/lock '.*fifo-s1\.lock' is a FIFO.*remove it/);
  });

  it('a lock this process holds is busy for its other slots; a new lock is written whole (pid, host, boot id, start time)', async () => {
    const held = await claimRun(dir, 'mine', 1);
    const waits: string[] = [];
    expect(await claimRun(dir, 'mine', 1, { onBusy: (w) => waits.push(w) })).toBeUndefined();
    expect(waits[0]).toMatch(/held by this process/);
    expect(JSON.parse(await readFile(held!.file, 'utf8'))).toMatchObject({
      pid: process.pid,
      start: processStartTime(process.pid),
      boot: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    await held!.release();
    expect(existsSync(held!.file)).toBe(false);
  });
});
