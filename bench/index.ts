/**
 * `npm run bench [-- section ...]`: every figure as one JSON line, each beside what it is measured
 * against in the same run. Sections: chain, mixing, memory, starve, backend, train, tfrecord, hostile, jobs, seed-scale (default: all).
 */
import { benchBackend } from './backend.js';
import { benchChain } from './chain.js';
import { benchHostile } from './hostile.js';
import { benchJobs } from './jobs.js';
import { benchMemory } from './memory.js';
import { benchMixing } from './mixing.js';
import { emit } from './report.js';
import { benchSeedScale } from './seedScale.js';
import { benchStarve } from './starve.js';
import { benchTfrecord } from './tfrecord.js';
import { benchTrain } from './train.js';

const sections = {
  chain: benchChain,
  mixing: benchMixing,
  memory: benchMemory,
  starve: benchStarve,
  backend: benchBackend,
  train: benchTrain,
  tfrecord: benchTfrecord,
  hostile: benchHostile,
  jobs: benchJobs,
  'seed-scale': benchSeedScale,
} as const;
const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(a in sections));
if (unknown.length > 0) {
  console.error(`bench: unknown section(s) ${unknown.join(', ')}; choose from ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
for (const name of asked.length > 0 ? asked : Object.keys(sections)) await sections[name as keyof typeof sections](emit);
process.exit(0);
