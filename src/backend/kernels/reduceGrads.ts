/**
 * Gradients of Sum and Mean that broadcast dy with Tile instead of tfjs's `dy * ones(x.shape)`:
 * that builds a JavaScript array of ones as large as the activation, uploads it, and multiplies,
 * at every batch-norm reduction of every step. On 'wasm' Tile of a leading-axis reduction is a few
 * memory copies (tileLeading in overrides.ts). The values are identical (x * 1 and x / n are exact
 * either way round); on other backends tfjs's own gradients run.
 */
import tf from '#tfjs';

const MARK = Symbol.for('mixstream.reduce-gradient');

function gradient(kernelName: 'Sum' | 'Mean'): boolean {
  const original = tf.getGradient(kernelName) as (tf.GradConfig & { [MARK]?: true }) | undefined;
  if (original === undefined || original[MARK]) return false;
  const config: tf.GradConfig & { [MARK]?: true } = {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== 'wasm' || x === undefined || Array.isArray(dy)) return original.gradFunc(dy, saved, attrs);
      const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
      const expanded = x.shape.slice();
      const reps = x.shape.map(() => 1);
      for (const a of axes) {
        expanded[a] = 1;
        reps[a] = x.shape[a] as number;
      }
      const count = axes.reduce((p, a) => p * (x.shape[a] as number), 1);
      return {
        x: () => {
          const d = tf.reshape(dy, expanded);
          return tf.tile(kernelName === 'Mean' ? tf.div(d, count) : d, reps);
        },
      };
    },
  };
  config[MARK] = true;
  tf.registerGradient(config);
  return true;
}

/** Registers both (process-wide; they defer to tfjs's own off 'wasm'). Idempotent; returns the names replaced this call. */
export function registerReduceGradients(): string[] {
  return (['Sum', 'Mean'] as const).filter(gradient);
}
