/**
 * Preloaded into a CLI process (`--import`; its --jobs workers inherit it) to stand for a slow disk
 * under the checkpoints: the fsync of each checkpoint being written ends MIXSTREAM_TEST_SLOW_SYNC_MS
 * later (default 1000), as on a busy or network disk where a checkpoint's write takes longer than a
 * tiny epoch. Other files are left alone. Test code only.
 */
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const ms = Number(process.env.MIXSTREAM_TEST_SLOW_SYNC_MS ?? 1000);
const open = fsp.open;
fsp.open = async (...args: Parameters<typeof open>): Promise<FileHandle> => {
  const handle = await open(...args);
  // The store's atomic writer writes `.<name>.tmp-…` beside the file, then renames it.
  if (/\.checkpoint\.tmp-/.test(String(args[0]))) {
    const sync = handle.sync.bind(handle);
    handle.sync = async (): Promise<void> => {
      await new Promise<void>((resolve) => setTimeout(resolve, ms));
      return sync();
    };
  }
  return handle;
};
syncBuiltinESMExports(); // modules that imported { open } from node:fs/promises see this one
