/** Plain checks on parsed JSON, shared by the fast validation paths of requests and registries. */

export type JsonObject = Record<string, unknown>;

/** An object as JSON.parse makes it: not null, not an array. */
export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether every key of `value` is one of `allowed`. */
export function onlyKeys(value: JsonObject, allowed: readonly string[]): boolean {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) return false;
  return true;
}

/** A non-empty string of at most `max` characters. */
export function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}
