/**
 * Adam whose per-variable update is one kernel on 'wasm' (MixstreamAdam: value, both moments and
 * the bias correction in one pass over the heap) instead of tfjs's dozen element-wise kernels and
 * scalar uploads per variable and step, which were about a third of a small model's step. Same
 * state layout as tf.train.adam (getWeights / setWeights / serialisation are tfjs's own); on any
 * other backend it is tf.train.adam.
 */
import tf from '#tfjs';
import { accelerator, type Addon } from '../core/native.js';
import { asWasm, view } from './kernels/heap.js';

/** The kernel's name: inputs value, m, v, gradient, accBeta1, accBeta2; outputs value', m', v'. */
export const FUSED_ADAM = 'MixstreamAdam';

/** AdamOptimizer's private state, which this subclass updates the way tfjs does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

const f32 = Math.fround;

/** What applyGradients takes (tfjs does not re-export its NamedVariableMap / NamedTensor types). */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** The update in JavaScript, where the addon is missing: the float32 operations of tfjs's chain, in its order. */
const adamUpdate: NonNullable<Addon['adamUpdate']> = (h, x, m, v, g, nx, nm, nv) => {
  const [b1 = 0, b2 = 0, oneMinusB1 = 0, oneMinusB2 = 0, eps = 0, step = 0, c1 = 0, c2 = 0] = h;
  for (let i = 0; i < x.length; i++) {
    const gi = g[i]!;
    const mi = f32(f32(m[i]! * b1) + f32(gi * oneMinusB1));
    const vi = f32(f32(v[i]! * b2) + f32(f32(gi * gi) * oneMinusB2));
    nm[i] = mi;
    nv[i] = vi;
    nx[i] = f32(f32(f32(f32(mi / c1) / f32(f32(Math.sqrt(f32(vi / c2))) + eps)) * step) + x[i]!);
  }
};

/** Registers MixstreamAdam for 'wasm' (the addon's adamUpdate, else the same in JavaScript over heap views). Idempotent. */
export function registerFusedAdam(): boolean {
  if (tf.getKernel(FUSED_ADAM, 'wasm') !== undefined) return false;
  tf.registerKernel({
    kernelName: FUSED_ADAM,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs = {}, backend: backendLike }) => {
      const backend = asWasm(backendLike);
      const { value, m, v, gradient, accBeta1, accBeta2 } = inputs;
      if (backend === null || !value || !m || !v || !gradient || !accBeta1 || !accBeta2)
        throw new Error(`${FUSED_ADAM}: needs the wasm backend and all six inputs`);
      const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
      const [x, mo, vo, g, nx, nm, nv] = [value, m, v, gradient, ...outs].map((t) => view(backend, t as tf.TensorInfo)) as Float32Array[];
      const h = Float32Array.of(
        Number(attrs['beta1']),
        Number(attrs['beta2']),
        1 - Number(attrs['beta1']),
        1 - Number(attrs['beta2']),
        Number(attrs['epsilon']),
        -Number(attrs['learningRate']),
        1 - (view(backend, accBeta1)[0] as number),
        1 - (view(backend, accBeta2)[0] as number),
      );
      const native = accelerator.addon?.adamUpdate;
      if (native !== undefined) native.call(accelerator.addon, h, x!, mo!, vo!, g!, nx!, nm!, nv!);
      else adamUpdate(h, x!, mo!, vo!, g!, nx!, nm!, nv!);
      return outs;
    },
  });
  return true;
}

/** tf.train.adam with the fused update on 'wasm' (see the file comment). */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getBackend() !== 'wasm' || tf.getKernel(FUSED_ADAM, 'wasm') === undefined) return super.applyGradients(variableGradients);
    const s = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) return;
        s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = s.accumulatedFirstMoment[i].variable;
        const v = s.accumulatedSecondMoment[i].variable;
        if (value.dtype !== 'float32' || gradient.dtype !== 'float32')
          throw new Error(`FusedAdamOptimizer: ${name} is ${value.dtype}, its gradient ${gradient.dtype}; Adam needs float32`);
        const [nx, nm, nv] = tf
          .engine()
          .runKernel(
            FUSED_ADAM,
            { value, m, v, gradient, accBeta1: s.accBeta1, accBeta2: s.accBeta2 },
            { beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon, learningRate: s.learningRate },
          ) as tf.Tensor[];
        m.assign(nm as tf.Tensor);
        v.assign(nv as tf.Tensor);
        value.assign(nx as tf.Tensor);
      });
      s.accBeta1.assign(tf.mul(s.accBeta1, s.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, s.beta2));
    });
    this.incrementIterations();
  }
}

/** Like tf.train.adam(learningRate, beta1, beta2, epsilon), with the fused update on wasm. */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
