/**
 * Frees each intermediate gradient as soon as the tape node that consumes it is done, on 'wasm'.
 * tfjs's backprop (tfjs-core's backpropagateGradients) keeps every gradient it computes until the
 * whole backward pass ends, so a training step's peak is all forward activations plus all their
 * gradients: ResNet-50 at 224 px, batch 16, is ~2.4 GB of each, past wasm's 4 GB heap (the step
 * dies with "memory access out of bounds"). The tape hands node N the accumulated gradient dy of
 * its outputs and runs N's input closures before it calls the next node's gradient function; so
 * each wrapped gradient function disposes the dys of the node before it, unless one of that
 * node's closures passed a dy through unchanged, or a closure returned the same tensor twice (then
 * it may sit in the map for another input). Gradients are values the tape made inside its own
 * tidy, never the caller's; on other backends nothing changes.
 */
import tf from '#tfjs';

const MARK = Symbol.for('mixstream.grad-release');
type Marked = tf.GradConfig & { [MARK]?: true };

/** How many times a gradient closure has returned each tensor object. */
const returned = new WeakMap<tf.Tensor, number>();
/** The previous node's dys with their return counts when it received them. */
let pending: Array<{ t: tf.Tensor; count: number }> = [];

function release(): void {
  for (const { t, count } of pending) if (!t.isDisposed && (returned.get(t) ?? 0) === count && count <= 1) t.dispose();
  pending = [];
}

function wrap(config: tf.GradConfig): Marked {
  const original = config.gradFunc;
  const wrapped: Marked = {
    ...config,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== 'wasm') return original(dy, saved, attrs);
      release();
      const dys = (Array.isArray(dy) ? dy : [dy]).filter((t): t is tf.Tensor => t instanceof tf.Tensor);
      const closures = original(dy, saved, attrs);
      const counted: Record<string, () => tf.Tensor> = {};
      for (const [name, f] of Object.entries(closures))
        counted[name] = () => {
          const r = f();
          returned.set(r, (returned.get(r) ?? 0) + 1);
          return r;
        };
      pending = dys.map((t) => ({ t, count: returned.get(t) ?? 0 }));
      return counted;
    },
  };
  wrapped[MARK] = true;
  return wrapped;
}

/**
 * Wraps every gradient registered now (call after the others are registered). Idempotent; returns
 * how many it wrapped this call. A gradient registered later is not wrapped (its gradients are kept
 * to the end of the pass, as tfjs does).
 */
export function registerGradientRelease(): number {
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  const registry = globals?.get('gradRegistry') as Map<string, Marked> | undefined;
  if (registry === undefined) return 0;
  let n = 0;
  for (const [name, config] of registry) {
    if (config[MARK]) continue;
    registry.set(name, wrap(config));
    n++;
  }
  return n;
}
