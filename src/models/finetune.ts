/**
 * Fine-tuning a backbone: freeze it (train the head only), unfreeze it at an epoch, and give it a
 * learning rate of its own (a multiple of the head's). Frozen batch-norm layers run in inference
 * mode, as Keras's do since TF 2.0: tfjs's BatchNormalization looks only at the `training` flag,
 * so with `trainable = false` it would still normalise by batch statistics and overwrite its
 * moving mean and variance at every step (test: finetune.test.ts shows tfjs doing it).
 * Freezing leaves tfjs's `trainable` flags alone and narrows the variables the compiled training
 * step updates instead: tfjs lists a model's trainable weights first in getWeights(), so flipping
 * `trainable` would reorder the weights between a frozen and an unfrozen epoch, and a checkpoint
 * taken in one would not restore in the other.
 */
import tf from '#tfjs';
import { fusedAdam } from '../backend/fusedAdam.js';
import { HEAD_PREFIX } from './backbone.js';
import { checkFineTune, type FineTunePolicy } from './fineTunePolicy.js';

export { checkFineTune, type FineTunePolicy } from './fineTunePolicy.js';

/**
 * The head: the layers mixstream added (mixstream_*), or where a model has none (your own model
 * whose output already fits), its last layer with weights. Everything else with weights is backbone.
 */
export function splitHead(model: tf.LayersModel): { head: tf.layers.Layer[]; backbone: tf.layers.Layer[] } {
  const weighted = model.layers.filter((l) => l.weights.length > 0);
  let head = weighted.filter((l) => l.name.startsWith(HEAD_PREFIX));
  if (head.length === 0) head = weighted.slice(-1);
  return { head, backbone: weighted.filter((l) => !head.includes(l)) };
}

const patched = new WeakSet<tf.layers.Layer>();
/** Layers frozen by setBackboneTrainable. */
const frozen = new WeakSet<tf.layers.Layer>();

/** Whether a layer is frozen: by setBackboneTrainable, or by tfjs's own `trainable = false`. */
export const isFrozen = (layer: tf.layers.Layer): boolean => frozen.has(layer) || !layer.trainable;

/**
 * Makes each batch-norm layer of `model` run in inference mode (moving statistics, none updated)
 * whenever it is not trainable, whatever `training` flag the model passes: Keras's rule.
 * Idempotent; a trainable layer behaves exactly as before.
 */
export function inferenceWhenFrozen(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || patched.has(layer)) continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, isFrozen(layer) ? { ...kwargs, training: false } : kwargs);
    patched.add(layer);
  }
}

/** The variables a compiled model's training step updates (tfjs collects them at compile). */
export function trainedWeights(model: tf.LayersModel): tf.LayerVariable[] {
  return (model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] }).collectedTrainableWeights ?? model.trainableWeights;
}

/**
 * Freezes or unfreezes the backbone of a compiled model (call it after compile, which collects
 * every trainable variable again): its variables leave or rejoin the training step, its batch
 * norm runs in inference mode while frozen.
 */
export function setBackboneTrainable(model: tf.LayersModel, trainable: boolean): void {
  inferenceWhenFrozen(model);
  for (const layer of splitHead(model).backbone) {
    if (trainable) frozen.delete(layer);
    else frozen.add(layer);
  }
  const out = new Set(model.layers.filter(isFrozen).flatMap((l) => l.weights));
  (model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] }).collectedTrainableWeights = model.trainableWeights.filter(
    (w) => !out.has(w),
  );
}

type NamedGradients = Parameters<tf.Optimizer['applyGradients']>[0];
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Two optimizers of one kind, one per parameter group (PyTorch's param groups): the backbone's
 * variables train at `multiplier` x the learning rate, the rest at the learning rate. Each group's
 * optimizer sees its own variables in a fixed order, so Adam's moments stay with their variables
 * when the backbone joins at --unfreeze-at (the head's carry on; the backbone's start at zero).
 * Setting `learningRate` or calling setLearningRate (as a schedule does) sets both groups.
 */
export class BackboneLrOptimizer extends tf.Optimizer {
  static readonly className = 'MixstreamBackboneLr';
  readonly head: tf.Optimizer;
  readonly backbone: tf.Optimizer;
  private lr: number;

  constructor(
    private readonly make: (learningRate: number) => tf.Optimizer,
    learningRate: number,
    readonly multiplier: number,
    private readonly backboneVariables: ReadonlySet<string>,
  ) {
    super();
    this.lr = learningRate;
    this.head = make(learningRate);
    this.backbone = make(learningRate * multiplier);
  }

  get learningRate(): number {
    return this.lr;
  }

  set learningRate(lr: number) {
    this.setLearningRate(lr);
  }

  setLearningRate(lr: number): void {
    this.lr = lr;
    for (const [opt, rate] of [
      [this.head, lr],
      [this.backbone, lr * this.multiplier],
    ] as const) {
      const o = opt as unknown as { learningRate: number; setLearningRate?: (r: number) => void };
      if (typeof o.setLearningRate === 'function') o.setLearningRate(rate);
      else o.learningRate = rate;
    }
  }

  override applyGradients(variableGradients: NamedGradients): void {
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const head: tf.NamedTensorMap = {};
    const backbone: tf.NamedTensorMap = {};
    for (const { name, tensor } of list) (this.backboneVariables.has(name) ? backbone : head)[name] = tensor;
    if (Object.keys(head).length > 0) this.head.applyGradients(head);
    // A multiplier of 0 leaves the backbone where it is: no update, no optimizer state.
    if (Object.keys(backbone).length > 0 && this.multiplier > 0) this.backbone.applyGradients(backbone);
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const tag = async (prefix: string, o: tf.Optimizer): Promise<NamedTensor[]> => {
      const own = (await o.getWeights()).map((w) => ({ name: `${prefix}/${w.name}`, tensor: w.tensor }));
      const extras = ['accBeta1', 'accBeta2']
        .map((k) => [k, (o as unknown as Record<string, unknown>)[k]] as const)
        .filter((e): e is readonly [string, tf.Variable] => e[1] instanceof tf.Variable)
        .map(([k, v]) => ({ name: `${prefix}:${k}`, tensor: v }));
      return [...own, ...extras];
    };
    return [...(await tag('head', this.head)), ...(await tag('backbone', this.backbone))];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    for (const [prefix, o] of [
      ['head', this.head],
      ['backbone', this.backbone],
    ] as const) {
      const own = weights
        .filter((w) => w.name.startsWith(`${prefix}/`))
        .map((w) => ({ name: w.name.slice(prefix.length + 1), tensor: w.tensor }));
      if (own.length > 0) await o.setWeights(own);
      for (const w of weights.filter((x) => x.name.startsWith(`${prefix}:`))) {
        const v = (o as unknown as Record<string, unknown>)[w.name.slice(prefix.length + 1)];
        if (v instanceof tf.Variable) {
          v.assign(w.tensor);
          w.tensor.dispose();
        }
      }
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.lr, multiplier: this.multiplier };
  }

  override dispose(): void {
    this.head.dispose();
    this.backbone.dispose();
    super.dispose();
  }
}

/** The names of the backbone's variables, as a training step's gradients are keyed. */
export function backboneVariableNames(model: tf.LayersModel): Set<string> {
  return new Set(splitHead(model).backbone.flatMap((l) => l.weights.map((w) => (w.read() as tf.Variable).name)));
}

/**
 * Applies `policy` to a compiled model: its optimizer becomes a BackboneLrOptimizer of
 * `makeOptimizer`'s kind (default the zoo's Adam) when the policy needs one, the backbone is frozen
 * when it says so, and the returned onEpochBegin (epochs counted from 0, as tfjs's callbacks do)
 * unfreezes it at unfreezeAt, also on a resumed run's first epoch. Call it after any recompile.
 */
export function applyFineTune(
  model: tf.LayersModel,
  policy: FineTunePolicy,
  learningRate: number,
  makeOptimizer: (lr: number) => tf.Optimizer = (lr) => fusedAdam(lr),
): { onEpochBegin: (epoch: number) => void; trainsBackbone: (epoch: number) => boolean } {
  checkFineTune(policy);
  const trainsBackbone = (epoch: number): boolean =>
    policy.freeze === 'none' || (policy.unfreezeAt !== undefined && epoch + 1 >= policy.unfreezeAt);
  const multiplier = policy.backboneLrMult ?? 1;
  if (multiplier !== 1 || policy.unfreezeAt !== undefined) {
    model.optimizer?.dispose();
    model.optimizer = new BackboneLrOptimizer(makeOptimizer, learningRate, multiplier, backboneVariableNames(model));
  }
  inferenceWhenFrozen(model);
  let state: boolean | undefined;
  const onEpochBegin = (epoch: number): void => {
    const want = trainsBackbone(epoch);
    if (want !== state) setBackboneTrainable(model, want);
    state = want;
  };
  onEpochBegin(0);
  return { onEpochBegin, trainsBackbone };
}
