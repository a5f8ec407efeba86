/** The sections of `npm run bench`, in the order it runs them (bench/index.ts maps each to its function). */
export const SECTION_NAMES = [
  'chain',
  'mixing',
  'memory',
  'starve',
  'backend',
  'train',
  'tfrecord',
  'hostile',
  'jobs',
  'seed-scale',
] as const;

export type SectionName = (typeof SECTION_NAMES)[number];
