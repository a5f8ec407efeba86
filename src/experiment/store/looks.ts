/**
 * The looks taken at a config: each finished `ablate` and each `mixstream report` appends the seeds
 * its comparison used (and the seeds its command declared), in runs/<configHash>/looks.json. A
 * comparison whose seeds grew after an earlier look is then tested sequentially (stats/headline.ts),
 * so "add seeds until it passes" cannot pass for free. Oldest first; a missing file, or one whose
 * text is not looks, is no looks (an older store): the comparison is then a first look. It is read
 * like every store file (readStoreText): a FIFO, device, outside link or oversized file is refused
 * in one line naming it, not waited on.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { configDir } from '../plan/identity.js';
import { writeFileAtomic } from './atomic.js';
import { readStoreText } from './runFiles.js';

export interface RecordedLook {
  readonly at: string;
  readonly command: 'ablate' | 'report';
  /** Seeds the comparison used (every seed with a finished run), ascending. */
  readonly seeds: readonly number[];
  /** Seeds the command declared (--seeds): the maximum a group-sequential test may plan for. */
  readonly declaredSeeds: number;
}

/** A looks file larger than this is not one (a look takes about 100 bytes a seed). */
const LOOKS_MAX_BYTES = 16 << 20;

const lookFile = (out: string, configHash: string): string => path.join(configDir(out, configHash), 'looks.json');

/** The recorded looks at a config, oldest first. */
export async function readLooks(out: string, configHash: string): Promise<RecordedLook[]> {
  const file = lookFile(out, configHash);
  const read = await readStoreText(file, LOOKS_MAX_BYTES);
  if (read === undefined) return [];
  if ('problem' in read) throw new InputError(`looks file '${file}' ${read.problem}; move it away and run again`);
  try {
    const parsed = JSON.parse(read.text) as { looks?: unknown };
    if (!Array.isArray(parsed.looks)) return [];
    return parsed.looks.filter(
      (l): l is RecordedLook =>
        typeof l === 'object' &&
        l !== null &&
        Array.isArray((l as RecordedLook).seeds) &&
        (l as RecordedLook).seeds.every(Number.isSafeInteger),
    );
  } catch {
    return [];
  }
}

/** Appends a look unless the last one had the same seeds (a report rebuilt twice is one look). */
export async function recordLook(out: string, configHash: string, look: RecordedLook): Promise<void> {
  const looks = await readLooks(out, configHash);
  const last = looks[looks.length - 1];
  if (last !== undefined && last.seeds.join(',') === look.seeds.join(',')) return;
  await writeFileAtomic(
    lookFile(out, configHash),
    `${JSON.stringify({ format: 'mixstream-looks/1', looks: [...looks, look] }, null, 2)}\n`,
  );
}
