import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/core/random.js';
import { encodeBits, runRecordProblem, type RunRecord } from '../../../src/experiment/record.js';
import { headlineVerdicts } from '../../../src/experiment/stats/headline.js';
import { runRecord } from '../../helpers.js';

const IMAGES = 200;

/** Bits (LSB first) of a 0/1 array. */
function pack(bits: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  });
  return out;
}

/** A run that got `correct` of IMAGES right: the first `correct` images, unless `bits` says which. */
function run(arm: string, seed: number, correct: number, extra: Partial<RunRecord> = {}, bits?: readonly number[]): RunRecord {
  const b = bits ?? Array.from({ length: IMAGES }, (_, i) => (i < correct ? 1 : 0));
  const test = { loss: 1, accuracy: Math.fround(correct / b.length), images: b.length, correct, bits: encodeBits(pack(b)) };
  return runRecord(arm, seed, { test, ...extra });
}

describe('headline verdicts on counts', () => {
  it('the 8-seed example: count differences [4, 3, 4, -2, 2, 0, 4, 2] are inconclusive (exact p 0.0625), whatever float32 says', () => {
    const diffs = [4, 3, 4, -2, 2, 0, 4, 2];
    const runs = diffs.flatMap((d, i) => [run('baseline', i + 1, 120), run('cutmix', i + 1, 120 + d)]);
    const set = headlineVerdicts(runs, { arms: ['baseline', 'cutmix'], baseline: 'baseline' });
    const c = set?.contrasts[0];
    expect(c?.differences).toEqual(diffs);
    expect(c?.exact.p).toBeCloseTo(0.0625, 12);
    expect(c?.verdict).toBe('inconclusive');
    expect(set?.metric).toBe('test');
  });

  it('an arm equal to its reference is "equivalent within D" for D above its interval, and never better or worse', () => {
    const r = rng(3, 'headline-equal');
    const runs: RunRecord[] = [];
    for (let s = 1; s <= 5; s++) {
      const bits = Array.from({ length: IMAGES }, () => (r.next() < 0.7 ? 1 : 0));
      const correct = bits.reduce<number>((a, b) => a + b, 0);
      runs.push(run('baseline', s, correct, {}, bits), run('same', s, correct, {}, bits));
    }
    const set = headlineVerdicts(runs, { arms: ['baseline', 'same'], baseline: 'baseline', effect: 0.5 });
    expect(set?.contrasts[0]?.verdict).toBe('equivalent');
    expect(set?.contrasts[0]?.reason).toMatch(/equivalent within 0.5 pts/);
  });

  it('cutmix is contrasted with its parent augment (primary) and the baseline (secondary), Holm over all; --contrasts states the family', () => {
    const runs = [1, 2, 3].flatMap((s) => [run('baseline', s, 100), run('augment', s, 104), run('cutmix', s, 106)]);
    const arms = ['baseline', 'augment', 'cutmix'];
    const set = headlineVerdicts(runs, { arms, baseline: 'baseline', parents: { cutmix: 'augment', augment: 'baseline' } });
    expect(set?.contrasts.map((c) => `${c.arm}-${c.reference}:${c.role}`)).toEqual([
      'augment-baseline:primary',
      'cutmix-augment:primary',
      'cutmix-baseline:secondary',
    ]);
    expect(set?.family).toBe(3);
    for (const c of set?.contrasts ?? []) expect(c.pHolm).toBeGreaterThanOrEqual(c.p);
    const stated = headlineVerdicts(runs, { arms, baseline: 'baseline', contrasts: 'cutmix:augment' });
    expect(stated?.contrasts.map((c) => c.reference)).toEqual(['augment']);
    expect(stated?.familySource).toBe('declared by --contrasts');
  });

  it('a seed added after a look is flagged and tested sequentially (e-process past the declared seeds, group-sequential within them)', () => {
    const runs = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((s) => [run('baseline', s, 100), run('cutmix', s, 103)]);
    const opts = { arms: ['baseline', 'cutmix'], baseline: 'baseline' };
    const fixed = headlineVerdicts(runs, opts)?.contrasts[0];
    expect(fixed?.sequential.method).toBe('fixed');
    expect(fixed?.notes.join(' ')).not.toMatch(/added after an earlier look/);
    const late = headlineVerdicts(runs, { ...opts, looks: [{ seeds: [1, 2, 3, 4, 5], declaredSeeds: 5 }] })?.contrasts[0];
    expect(late?.notes.join(' ')).toMatch(/seeds 6, 7, 8 were added after an earlier look/);
    expect(late?.sequential.method).toBe('e-process');
    expect(late?.sequential.p).toBeGreaterThan(fixed?.sequential.p ?? 1);
    const planned = headlineVerdicts(runs, { ...opts, looks: [{ seeds: [1, 2, 3, 4, 5], declaredSeeds: 8 }] })?.contrasts[0];
    expect(planned?.sequential.method).toBe('group-sequential');
  });

  it('a diverged run is excluded from its contrasts with a note and a warning, never silently', () => {
    const runs = [1, 2, 3, 4].flatMap((s) => [run('baseline', s, 100), run('mixup', s, 101)]);
    const { test: _test, ...noTest } = run('mixup', 4, 0);
    runs[7] = { ...noTest, epochs: [], diverged: { epoch: 3, loss: 'NaN' } };
    expect(runRecordProblem(runs[7], { epochs: 5 })).toBeUndefined();
    const c = headlineVerdicts(runs, { arms: ['baseline', 'mixup'], baseline: 'baseline' })?.contrasts[0];
    expect(c?.seeds).toEqual([1, 2, 3]);
    expect(c?.warning).toBe(true);
    expect(c?.notes.join(' ')).toMatch(/excluded 1 diverged run\(s\): mixup seed 4 \(loss NaN in epoch 3\)/);
  });

  it('old run files without counts: counts recomputed from accuracy x images, said in a note; no bits: the images share is not claimed', () => {
    const runs = [1, 2, 3].flatMap((s) =>
      [run('baseline', s, 90 + s), run('augment', s, 95 + s)].map((r) => ({
        ...r,
        test: { loss: 1, accuracy: r.test!.accuracy, images: IMAGES },
      })),
    );
    const c = headlineVerdicts(runs, { arms: ['baseline', 'augment'], baseline: 'baseline' })?.contrasts[0];
    expect(c?.differences).toEqual([5, 5, 5]);
    expect(c?.crossed).toBeNull();
    expect(c?.notes.join(' ')).toMatch(/recomputed from the stored accuracy/);
    expect(c?.notes.join(' ')).toMatch(/no per-image bits/);
  });

  it('a simulated null (each image right with the same chance in both arms) gives better/worse at most alpha of the time, within Monte-Carlo error', () => {
    const r = rng(11, 'headline-null');
    const sims = 200;
    const images = 40;
    let claims = 0;
    for (let k = 0; k < sims; k++) {
      const runs: RunRecord[] = [];
      for (let s = 1; s <= 8; s++)
        for (const arm of ['baseline', 'arm']) {
          const bits = Array.from({ length: images }, () => (r.next() < 0.6 ? 1 : 0));
          runs.push(
            run(
              arm,
              s,
              bits.reduce<number>((a, b) => a + b, 0),
              {},
              bits,
            ),
          );
        }
      const v = headlineVerdicts(runs, { arms: ['baseline', 'arm'], baseline: 'baseline', power: false })?.contrasts[0]?.verdict;
      if (v === 'better' || v === 'worse') claims++;
    }
    // alpha 0.05 plus three Monte-Carlo standard errors.
    expect(claims / sims).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / sims));
  }, 120_000);
});
