/**
 * The JSON Canonicalization Scheme (RFC 8785) for the data ModelSeal canonicalizes: strings, integers, booleans,
 * null, arrays and objects. Floating-point numbers never occur in that data and are refused rather than encoded
 * (their RFC 8785 form needs the ECMAScript number serialization, which this encoder does not claim).
 *
 * The encoding (RFC 8785 §3.2): no whitespace; object members sorted by their names as arrays of UTF-16 code units
 * (§3.2.3); strings as ECMAScript `JSON.stringify` writes them, which is the RFC's escaping (§3.2.2.2: `\b \t \n \f
 * \r \" \\`, other control characters as `\u00xx` in lower-case hex, everything else literally); integers in
 * decimal without exponent or leading zeros (§3.2.2.3 for integers up to 2^53 - 1 in magnitude).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8785
 */
import { ErrorClass, VerificationError } from './errors';
import { isJsonObject, isWellFormedText } from './json';

/**
 * Encodes `value` canonically (RFC 8785).
 *
 * @param what names the value in errors
 * @param err the error to raise (default {@link VerificationError})
 * @throws `err` for a number that is not a safe integer, a string with a lone UTF-16 surrogate (not I-JSON), or a
 *   value that is not JSON data (undefined, a function, a symbol, a bigint), naming the JSON pointer of the value
 */
export function canonicalJson(value: unknown, what = 'value', err: ErrorClass = VerificationError): string {
  return encode(value, '', what, err);
}

function encode(v: unknown, at: string, what: string, err: ErrorClass): string {
  if (v === null || typeof v === 'boolean') {
    return String(v);
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new err(`${what} at ${at || '/'} is the number ${v}; the canonical encoding takes integers of at most 2^53 - 1 in magnitude, no fractions`);
    }
    return Object.is(v, -0) ? '0' : String(v);
  }
  if (typeof v === 'string') {
    if (!isWellFormedText(v)) {
      throw new err(`${what} at ${at || '/'} is a string with a lone UTF-16 surrogate, which has no canonical encoding`);
    }
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map((x, i) => encode(x, `${at}/${i}`, what, err)).join(',')}]`;
  }
  if (isJsonObject(v)) {
    const names = Object.keys(v).sort(compareCodeUnits);
    return `{${names.map((n) => {
      if (!isWellFormedText(n)) {
        throw new err(`${what} at ${at || '/'} has a member name with a lone UTF-16 surrogate`);
      }
      return `${JSON.stringify(n)}:${encode(v[n], `${at}/${n.replace(/~/g, '~0').replace(/\//g, '~1')}`, what, err)}`;
    }).join(',')}}`;
  }
  throw new err(`${what} at ${at || '/'} is ${typeof v}, which is not JSON data`);
}

/** Orders strings by their UTF-16 code units (RFC 8785 §3.2.3), which is what `<` compares. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
