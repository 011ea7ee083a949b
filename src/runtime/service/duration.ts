/**
 * Durations on the command line: `500ms`, `2s`, `1m`, `1h`, or a bare number of seconds (`2`, `0.5`), as the
 * verifier contract (docs/VERIFIER.md, "Flags") and the admission constructs' `durationFlag` spell them.
 */
import { UsageError } from '../codec/errors';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds.
 *
 * @param flag names the flag in the error, e.g. `--deadline`
 * @param allowZero whether `0` is a valid value (a TTL of 0 turns that cache off)
 * @throws UsageError naming the flag and the value for anything else (negative, empty, unknown unit)
 */
export function parseDuration(value: string, flag: string, allowZero = false): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a duration; expected e.g. 500ms, 2s, 1m, 1h or a number of seconds`);
  }
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']);
  if (!Number.isSafeInteger(ms) || ms < 0 || (ms === 0 && !allowZero)) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} must be ${allowZero ? 'zero or more' : 'more than zero'}`);
  }
  return ms;
}

/** Formats milliseconds the way the flags take them (`2s`, `1500ms`), for logs and messages. */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
