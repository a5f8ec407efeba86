/** The one check of the validation and test fractions, for validate.ts, image folders and detected data alike. */
import { InputError } from '../errors.js';

/**
 * Refuses splits that leave nothing to train on, in one line. Both are fractions of the whole data
 * set (a data set's own test files count apart: then validation is a fraction of the training files).
 */
export function checkSplits(validationSplit: number, testSplit: number): void {
  if (!(validationSplit > 0 && validationSplit < 1)) throw new InputError(`validation split must be in (0, 1), got ${validationSplit}`);
  if (!(testSplit >= 0 && testSplit < 1)) throw new InputError(`test split must be in [0, 1), got ${testSplit}`);
  if (validationSplit + testSplit >= 1)
    throw new InputError(
      `--val-split ${validationSplit} and --test-split ${testSplit} leave nothing to train on: both are fractions of the whole data set, and together must stay below 1`,
    );
}
