/**
 * One JSON object a line, so our figures sit beside run-peers.sh's. Every figure names what it is
 * measured against in the same run: a peer, a limit (a plain copy, a plain read) or a target.
 */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the value is compared with, measured in the same run (or a fixed limit like 300 MiB). */
  readonly against?: { readonly name: string; readonly value: number; readonly unit: string };
  /** value / against.value (or the inverse where lower is better; say which in `target`). */
  readonly ratio?: number;
  /** The goal, in words: ">= 100x cpu", "<= 300 MiB". */
  readonly target?: string;
  readonly pass?: boolean;
  readonly [extra: string]: unknown;
}

export function emit(figure: Figure): void {
  const round = (v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(figure))
    out[k] = k === 'against' && v ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, round(b)])) : round(v);
  process.stdout.write(JSON.stringify(out) + '\n');
}
