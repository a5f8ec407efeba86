/**
 * `MIXSTREAM_BENCH_TINY=1`: every section at a size that runs in seconds, what the test suite does
 * (test/bench.test.ts) to check that each section runs and prints well-formed lines. Its figures
 * mean nothing; the peers (PyTorch) are not run, and their lines say so in `peer`.
 */
export const TINY = process.env.MIXSTREAM_BENCH_TINY === '1';

/** `full`, or `tiny` under MIXSTREAM_BENCH_TINY=1. */
export const sized = <T>(full: T, tiny: T): T => (TINY ? tiny : full);

/** Why a peer's figure is absent at the tiny size. */
export const TINY_PEER = 'not run at the tiny size (MIXSTREAM_BENCH_TINY=1)';
