/**
 * Two idioms every layer writes, named once. Internal: not in the core barrel.
 */

/**
 * The properties of `o` whose values are not undefined, to spread into an object literal: with
 * `exactOptionalPropertyTypes` an optional property must be absent, not undefined, and a JSON
 * record lists only what was set. Keys keep their order.
 *
 * @example
 * const options = { size, ...defined({ maxPixels, onError }) }; // { size } when both are undefined
 */
export function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** What a caught value says: an Error's message, or the value as a string (a thrown string, a number). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
