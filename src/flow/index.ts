export { Credit, creditOf, withCredit } from './credit.js';
export { Profiler } from './profile.js';
export type { StageStats } from './profile.js';
export { describeAs, describeSource, identityOf } from './identity.js';
export type { Identity } from './identity.js';
export { described, descriptionOf, describeSteps } from './describe.js';
export type { StepDescription } from './describe.js';
