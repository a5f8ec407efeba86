/** A run's fine-tuning policy and its check, without tfjs (the CLI checks its flags before loading tfjs). */

/** How a run fine-tunes its backbone; recorded in the config hash. */
export interface FineTunePolicy {
  /** 'backbone': only the head trains (until unfreezeAt); 'none' (default): everything trains. */
  readonly freeze: 'none' | 'backbone';
  /** With freeze 'backbone': the epoch (counted from 1) from which the backbone trains too. */
  readonly unfreezeAt?: number;
  /** The backbone's learning rate as a multiple of the head's (default 1; 0 keeps it fixed). */
  readonly backboneLrMult?: number;
}

/** Throws a RangeError naming the first bad field of `p`. */
export function checkFineTune(p: FineTunePolicy): void {
  if (p.freeze !== 'none' && p.freeze !== 'backbone') throw new RangeError(`--freeze must be backbone or none, got '${String(p.freeze)}'`);
  if (p.unfreezeAt !== undefined && !(Number.isInteger(p.unfreezeAt) && p.unfreezeAt >= 1))
    throw new RangeError(`--unfreeze-at must be an epoch >= 1, got ${p.unfreezeAt}`);
  if (p.unfreezeAt !== undefined && p.freeze !== 'backbone') throw new RangeError('--unfreeze-at needs --freeze backbone');
  const m = p.backboneLrMult ?? 1;
  if (!(Number.isFinite(m) && m >= 0)) throw new RangeError(`--backbone-lr-mult must be a number >= 0, got ${m}`);
}
