/**
 * `npm run bench [-- section ...]`: every figure as one JSON line, each beside what it is measured
 * against in the same run. Sections: SECTION_NAMES (default: all). MIXSTREAM_BENCH_TINY=1 runs each
 * at a size of seconds (bench/size.ts), as the test suite does.
 */
import { benchBackend } from './backend.js';
import { benchChain } from './chain.js';
import { benchHostile } from './hostile.js';
import { benchJobs } from './jobs.js';
import { benchMemory } from './memory.js';
import { benchMixing } from './mixing.js';
import { emit, type Figure } from './report.js';
import { SECTION_NAMES, type SectionName } from './sections.js';
import { benchSeedScale } from './seedScale.js';
import { benchStarve } from './starve.js';
import { benchTfrecord } from './tfrecord.js';
import { benchTrain, benchTrain224 } from './train.js';

const sections: Record<SectionName, (out: (f: Figure) => void) => Promise<void>> = {
  chain: benchChain,
  mixing: benchMixing,
  memory: benchMemory,
  starve: benchStarve,
  backend: benchBackend,
  // MIXSTREAM_BENCH_TRAIN=224 (or 32): only the 224-px backbones (or only the 32-px nets).
  train: async (out: typeof emit) => {
    if (process.env.MIXSTREAM_BENCH_TRAIN !== '224') await benchTrain(out);
    if (process.env.MIXSTREAM_BENCH_TRAIN !== '32') await benchTrain224(out);
  },
  tfrecord: benchTfrecord,
  hostile: benchHostile,
  jobs: benchJobs,
  'seed-scale': benchSeedScale,
};
const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(a in sections));
if (unknown.length > 0) {
  console.error(`bench: unknown section(s) ${unknown.join(', ')}; choose from ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
for (const name of asked.length > 0 ? asked : SECTION_NAMES) await sections[name as SectionName](emit);
process.exit(0);
