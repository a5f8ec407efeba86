// Builds the optional native addon (native/mixstream.c) with the node-gyp that npm ships, at
// install. Where it cannot (no compiler, no Node headers) it says why and exits 0: the JavaScript
// it stands in for runs instead, with the same results, slower.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

// Node's own headers where they sit beside it (/usr/include/node for /usr/bin/node): without them
// node-gyp would try to download them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const args = [
  'rebuild',
  ...(!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : []),
];
const gyp = process.env.npm_config_node_gyp;
const run =
  gyp && existsSync(gyp)
    ? spawnSync(process.execPath, [gyp, ...args], { encoding: 'utf8' })
    : spawnSync('node-gyp', args, { encoding: 'utf8' });
if (run.status !== 0) {
  const why =
    run.error?.message ??
    `${run.stderr ?? ''}`
      .trim()
      .split('\n')
      .filter((l) => /ERR!|error/i.test(l))
      .slice(0, 2)
      .join(' / ');
  console.warn(
    `mixstream: the native addon was not built (${why || `node-gyp exited ${run.status}`}); its JavaScript runs instead (same results, slower).`,
  );
}
