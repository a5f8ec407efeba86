/**
 * The peers' data and the PyTorch peer, from ../shared/bench: the same generated ImageFolder
 * (2,000 ~500x375 JPEGs, 20 classes) and the same DataLoader script, so figures sit side by side.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeSyntheticFolder } from '../src/sources/synthetic.js';
import { TINY, TINY_PEER } from './size.js';

const run = promisify(execFile);
// npm runs scripts from the package root; shared/ sits beside the checkout.
export const SHARED_BENCH = process.env.SHARED_BENCH ?? path.resolve('..', 'shared', 'bench');
const WORK = process.env.PEER_WORK ?? '/tmp/mixstream-peers';

/** The peers' generated data set (made with their own generator on first use). */
export async function peerData(): Promise<string> {
  if (TINY) {
    // 20 classes (as the peers' set) of 2 small images of our own: needs nothing from ../shared.
    const tiny = path.join(WORK, 'data', 'tiny');
    if (!(await stat(tiny).catch(() => undefined)))
      await writeSyntheticFolder(tiny, { classes: 20, perClass: 2, seed: 1, minSide: 40, maxSide: 64 });
    return tiny;
  }
  const dir = path.join(WORK, 'data', 'dogs');
  if (await stat(dir).catch(() => undefined)) return dir;
  const gen = path.join(WORK, 'gen');
  await mkdir(gen, { recursive: true });
  await copyFile(path.join(SHARED_BENCH, 'gen_dataset.mjs'), path.join(gen, 'gen_dataset.mjs'));
  await symlink(path.resolve('node_modules'), path.join(gen, 'node_modules')).catch(() => undefined);
  await run(process.execPath, [path.join(gen, 'gen_dataset.mjs'), dir, '20', '100', '1']);
  return dir;
}

export interface PeerResult {
  readonly name: string;
  readonly images_per_s: number;
  readonly max_rss_mib?: number;
}

/** PyTorch's DataLoader on the reference chain (2 workers), or why it is missing. */
export async function torchPeer(dir: string): Promise<PeerResult | { readonly missing: string }> {
  if (TINY) return { missing: TINY_PEER };
  try {
    await run('/usr/bin/python3', ['-c', 'import torch, torchvision']);
  } catch {
    return { missing: 'python3-torch missing: run ../shared/bench/run-peers.sh once to install it' };
  }
  const { stdout } = await run('/usr/bin/python3', [path.join(SHARED_BENCH, 'peer_torch.py'), dir, '2'], { maxBuffer: 1 << 20 });
  const line = stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as PeerResult;
}
