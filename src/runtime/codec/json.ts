/**
 * The two JSON helpers every decoder needs: a plain-object test and a short description of a value for errors.
 */

/** Whether `v` is a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A short description of a JSON value for error messages: `missing`, `null`, `an array`, `an object`,
 * `the string "x"` (cut at 60 characters), `number 3`, `boolean true`.
 */
export function describeJson(v: unknown): string {
  if (v === undefined) {
    return 'missing';
  }
  if (v === null) {
    return 'null';
  }
  if (Array.isArray(v)) {
    return 'an array';
  }
  if (typeof v === 'string') {
    return v.length > 60 ? `a string (${JSON.stringify(v.slice(0, 60))}…)` : `the string ${JSON.stringify(v)}`;
  }
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
