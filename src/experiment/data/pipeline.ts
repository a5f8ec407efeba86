/**
 * What an arm's pipeline is made of, as recorded: steps named by the operators themselves
 * (flow/describe.ts). Arms are plain RxJS operators (experiment/arms.ts); this file keeps the
 * types the results refer to.
 */
import type { EncodedSample, ImageSample } from '../../core/types.js';

export { describeSteps, descriptionOf, described } from '../../flow/describe.js';
export type { StepDescription } from '../../flow/describe.js';

/** What every arm's pipeline starts from: encoded files, or images already decoded (CIFAR, MNIST). */
export type SourceSample = EncodedSample | ImageSample;
