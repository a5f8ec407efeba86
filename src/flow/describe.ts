/**
 * Operators that say what they are. Each mixstream operator carries its name and options on the
 * OperatorFunction it returns (a non-enumerable symbol property), so a list of plain RxJS
 * operators (an ablation arm) can still be recorded exactly: results.json names each step.
 */

/** One step as recorded: the operator's name and the options it was called with (JSON-safe). */
export interface StepDescription {
  readonly op: string;
  readonly options: Readonly<Record<string, unknown>>;
}

const DESCRIPTION = Symbol.for('mixstream.step');

/** Drops functions and undefined so the description is plain JSON. */
function jsonSafe(options: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out;
}

/** Marks `operator` as the step `op(options)`; returns it (the same function). */
export function described<F extends (...args: never[]) => unknown>(op: string, options: Readonly<Record<string, unknown>>, operator: F): F {
  Object.defineProperty(operator, DESCRIPTION, { value: { op, options: jsonSafe(options) }, enumerable: false });
  return operator;
}

/** What `operator` says it is; for an operator that carries no description, its function name. */
export function descriptionOf(operator: (...args: never[]) => unknown): StepDescription {
  const own = (operator as unknown as Record<symbol, StepDescription | undefined>)[DESCRIPTION];
  return own ?? { op: operator.name || 'operator', options: {} };
}

/** The one-line form of a list of steps: `normalizeResize({"size":32}) -> batch({"size":32})`. */
export function describeSteps(steps: readonly StepDescription[]): string {
  return steps.map((s) => `${s.op}(${JSON.stringify(s.options)})`).join(' -> ');
}
