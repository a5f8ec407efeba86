/**
 * Single-factor contrasts and Holm's correction over a declared family. "Does CutMix help?" is
 * cutmix against augment (its parent: the same pipeline without the one change), not against the
 * baseline, which lacks flip, brightness and the shuffle window too. Each arm is contrasted with its
 * parent (primary) and, when the parent is not the baseline, with the baseline (secondary); the
 * family is every contrast declared, and Holm's step-down correction runs over all of them.
 */

/** One contrast: arm - reference. */
export interface Contrast {
  readonly arm: string;
  readonly reference: string;
  /** 'primary': the arm against its parent (one factor changed); 'secondary': against the baseline. */
  readonly role: 'primary' | 'secondary';
}

/**
 * The default family: for each arm but the baseline, arm vs its parent (primary; the baseline when
 * `parents` names none) and arm vs the baseline (secondary) when the parent is another arm. Arms in
 * the given order; a parent must be one of the arms (RangeError otherwise).
 */
export function declaredFamily(arms: readonly string[], baseline: string, parents: Readonly<Record<string, string>> = {}): Contrast[] {
  if (!arms.includes(baseline)) throw new RangeError(`baseline '${baseline}' is not one of the arms: ${arms.join(', ')}`);
  const out: Contrast[] = [];
  for (const arm of arms) {
    if (arm === baseline) continue;
    const parent = parents[arm] ?? baseline;
    if (!arms.includes(parent)) throw new RangeError(`arm '${arm}': its parent '${parent}' is not one of the arms (${arms.join(', ')})`);
    if (parent === arm) throw new RangeError(`arm '${arm}' cannot be its own parent`);
    out.push({ arm, reference: parent, role: 'primary' });
    if (parent !== baseline) out.push({ arm, reference: baseline, role: 'secondary' });
  }
  return out;
}

/**
 * A family stated by the user (`--contrasts cutmix:augment,mixup:augment,augment:baseline`): each
 * item `arm:reference`, both among `arms`, no contrast twice; primary unless the item ends in
 * ':secondary' (`cutmix:baseline:secondary`). RangeError naming the bad item.
 */
export function parseContrasts(spec: string, arms: readonly string[]): Contrast[] {
  const out: Contrast[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const parts = raw.split(':').map((s) => s.trim());
    const [arm, reference, role = 'primary'] = parts;
    if (parts.length < 2 || parts.length > 3 || !arm || !reference)
      throw new RangeError(`contrast '${raw}': expected arm:reference[:primary|secondary]`);
    if (role !== 'primary' && role !== 'secondary')
      throw new RangeError(`contrast '${raw}': role must be primary or secondary, got '${role}'`);
    for (const name of [arm, reference])
      if (!arms.includes(name)) throw new RangeError(`contrast '${raw}': '${name}' is not one of the arms (${arms.join(', ')})`);
    if (arm === reference) throw new RangeError(`contrast '${raw}': an arm against itself`);
    if (out.some((c) => c.arm === arm && c.reference === reference)) throw new RangeError(`contrast '${raw}' is listed twice`);
    out.push({ arm, reference, role });
  }
  if (out.length === 0) throw new RangeError('no contrasts given');
  return out;
}

/** Holm's step-down adjusted p-values, in the input's order: p_(i) -> max_{j <= i} min(1, (m - j + 1) p_(j)). */
export function holmAdjust(ps: readonly number[]): number[] {
  for (const [i, p] of ps.entries()) if (!(p >= 0 && p <= 1)) throw new RangeError(`p[${i}] must be in [0, 1], got ${p}`);
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Array<number>(m).fill(1);
  let running = 0;
  for (const [rank, [p, i]] of order.entries()) {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  }
  return out;
}

/** A contrast with its p, Holm-adjusted over the family. */
export interface FamilyResult<C extends Contrast = Contrast> {
  readonly contrast: C;
  readonly p: number;
  readonly pHolm: number;
  /** pHolm <= alpha. */
  readonly rejected: boolean;
}

/** Holm over the whole declared family (primary and secondary together) at `alpha` (default 0.05). */
export function holmFamily<C extends Contrast>(
  results: ReadonlyArray<{ readonly contrast: C; readonly p: number }>,
  alpha = 0.05,
): Array<FamilyResult<C>> {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const adjusted = holmAdjust(results.map((r) => r.p));
  return results.map((r, i) => ({
    contrast: r.contrast,
    p: r.p,
    pHolm: adjusted[i] as number,
    rejected: (adjusted[i] as number) <= alpha,
  }));
}
