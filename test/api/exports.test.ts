/**
 * The public API, by name: every package subpath's exports (values and types), sorted, against
 * test/api/exports.snapshot.json. A change to the API is then a change to that file, made on
 * purpose (`npx vitest run test/api -u`) and seen in review.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportedNames } from './exports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let names: Record<string, string[]> | undefined;
/** Read once: the checker takes seconds. */
const exported = (): Record<string, string[]> => (names ??= exportedNames(repo));

describe('public API', () => {
  it('exports, by subpath, exactly the names in exports.snapshot.json', async () => {
    await expect(`${JSON.stringify(exported(), null, 2)}\n`).toMatchFileSnapshot('./exports.snapshot.json');
  }, 120_000);

  it('keeps internals out of mixstream/experiment', () => {
    const experiment = exported()['./experiment'] ?? [];
    expect(experiment).toContain('runAblation');
    for (const internal of [
      'claimRun',
      'cleanStaleTemps',
      'HEARTBEAT_SECONDS',
      'writeFileAtomic',
      'incompleteBeta',
      'ProgressPrinter',
      'trainRun',
    ])
      expect(experiment).not.toContain(internal);
  }, 120_000);
});
