import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/core/random.js';
import { declaredFamily, holmAdjust, holmFamily, parseContrasts } from '../../../src/experiment/stats/contrasts.js';

describe('single-factor contrasts and Holm over the declared family', () => {
  it('cutmix and mixup against augment (primary) and the baseline (secondary); augment against the baseline', () => {
    const family = declaredFamily(['baseline', 'augment', 'cutmix', 'mixup'], 'baseline', {
      cutmix: 'augment',
      mixup: 'augment',
      augment: 'baseline',
    });
    expect(family).toEqual([
      { arm: 'augment', reference: 'baseline', role: 'primary' },
      { arm: 'cutmix', reference: 'augment', role: 'primary' },
      { arm: 'cutmix', reference: 'baseline', role: 'secondary' },
      { arm: 'mixup', reference: 'augment', role: 'primary' },
      { arm: 'mixup', reference: 'baseline', role: 'secondary' },
    ]);
    expect(() => declaredFamily(['baseline', 'cutmix'], 'baseline', { cutmix: 'augment' })).toThrow(
      /parent 'augment' is not one of the arms/,
    );
  });

  it('--contrasts: arm:reference[:role], checked against the arms', () => {
    const arms = ['baseline', 'augment', 'cutmix'];
    expect(parseContrasts('cutmix:augment, cutmix:baseline:secondary', arms)).toEqual([
      { arm: 'cutmix', reference: 'augment', role: 'primary' },
      { arm: 'cutmix', reference: 'baseline', role: 'secondary' },
    ]);
    expect(() => parseContrasts('cutmix:mixup', arms)).toThrow(/'mixup' is not one of the arms/);
    expect(() => parseContrasts('cutmix:augment,cutmix:augment', arms)).toThrow(/listed twice/);
    expect(() => parseContrasts('cutmix', arms)).toThrow(/expected arm:reference/);
    expect(() => parseContrasts('', arms)).toThrow(/no contrasts/);
  });

  it('Holm equals its definition, max over j <= i of min(1, (m - j + 1) p_(j)) (fast-check), and controls the family-wise error under a global null (4000 simulated families of 5)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }), (ps) => {
        const sorted = [...ps].sort((a, b) => a - b);
        const m = ps.length;
        const defined = ps.map((p) => {
          const i = sorted.indexOf(p); // the first of equal p's: its rank bounds the others' from above, as Holm's max does
          return Math.max(...sorted.slice(0, i + 1).map((q, j) => Math.min(1, (m - j) * q)));
        });
        expect(holmAdjust(ps)).toEqual(defined);
      }),
      { seed: 1, numRuns: 300 },
    );
    const r = rng(5, 'holm-fwer');
    const families = 4000;
    let any = 0;
    const family = declaredFamily(['baseline', 'augment', 'cutmix', 'mixup'], 'baseline', { cutmix: 'augment', mixup: 'augment' });
    for (let k = 0; k < families; k++) if (holmFamily(family.map((contrast) => ({ contrast, p: r.next() }))).some((x) => x.rejected)) any++;
    // Independent uniform p under the global null: measured family-wise error 0.0458 (MC SE 0.0034).
    expect(any / families).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / families));
    const out = holmFamily(family.map((contrast, i) => ({ contrast, p: [0.001, 0.02, 0.2, 0.012, 0.04][i] as number })));
    expect(out.map((x) => x.rejected)).toEqual([true, false, false, true, false]);
    expect(out.map((x) => x.pHolm)).toEqual([0.005, 0.06, 0.2, 0.048, 0.08]);
  });
});
