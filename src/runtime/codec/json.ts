/**
 * JSON, read one way: the strict parser every signed or stored document goes through ({@link parseJson}), a
 * plain-object test and a short description of a value for errors.
 */
import { ErrorClass, VerificationError } from './errors';

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

/**
 * Deepest nesting of objects and arrays a signed or stored document may have. ModelSeal's own documents nest fewer
 * than ten levels and a CycloneDX SBOM a few dozen; a limit keeps every later walk of the value (CEL, reports)
 * bounded.
 */
export const MAX_JSON_DEPTH = 128;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a signed or stored JSON document so that it has exactly one reading (I-JSON, RFC 7493): the text must be
 * well-formed UTF-8 (when given as bytes) and valid JSON (RFC 8259), no object may have the same member name twice
 * (after escapes are decoded: `"a"` and `"\u0061"` are the same name), no string may hold a lone UTF-16 surrogate
 * (`"\ud800"`), and objects and arrays nest at most {@link MAX_JSON_DEPTH} levels. `JSON.parse` alone keeps the
 * last of two duplicate members, while other readers keep the first, so one signed document could mean two things.
 *
 * @param what names the document in errors, e.g. `bundle.json` or `statement`
 * @param err the error to raise (default {@link VerificationError})
 * @throws `err`: `<what> is not valid UTF-8`, `<what> is not valid JSON (<reason>)`, `<what> has the member "<name>"
 *   twice in the object at <JSON pointer>`, `<what> has a lone UTF-16 surrogate in a string at <pointer>`, or
 *   `<what> nests deeper than 128 levels at <pointer>`
 */
export function parseJson(input: Buffer | string, what: string, err: ErrorClass = VerificationError): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new err(`${what} is not valid UTF-8`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new err(`${what} is not valid JSON (${(e as Error)?.message ?? String(e)})`);
  }
  checkOneReading(text, what, err);
  return value;
}

/** A container being scanned: an object's member names so far, or an array's element index. */
interface Frame {
  readonly names?: Set<string>;
  /** The member name (objects) or index (arrays) of the value being read. */
  at: string | number;
}

/**
 * Scans text that `JSON.parse` accepted for duplicate member names, lone surrogates and excessive depth. The text is
 * known to be valid JSON, so the scanner only tracks containers and strings; everything else is skipped.
 */
function checkOneReading(text: string, what: string, err: ErrorClass): void {
  const stack: Frame[] = [];
  let expectName = false;
  const pointer = () => (stack.length === 0 ? '/' : stack.map((f) => `/${String(f.at).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''));
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        throw new err(`${what} nests deeper than ${MAX_JSON_DEPTH} levels at ${pointer()}`);
      }
      stack.push(c === 0x7b ? { names: new Set(), at: '' } : { at: 0 });
      expectName = c === 0x7b;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectName = false;
      i++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top.names) {
        expectName = true;
      } else {
        top.at = (top.at as number) + 1;
      }
      i++;
    } else if (c === 0x22 /* " */) {
      const [value, end] = readString(text, i, () => { throw new err(`${what} has a lone UTF-16 surrogate in a string at ${pointer()}`); });
      if (expectName) {
        const top = stack[stack.length - 1];
        if (top.names!.has(value)) {
          throw new err(`${what} has the member ${JSON.stringify(value)} twice in the object at ${pointer().replace(/\/[^/]*$/, '') || '/'}; a signed document must have one reading`);
        }
        top.names!.add(value);
        top.at = value;
        expectName = false;
      }
      i = end;
    } else {
      i++;
    }
  }
}

/** Decodes the JSON string starting at `start` (its opening quote); returns the value and the index after it. */
function readString(text: string, start: number, lone: () => never): [string, number] {
  let out = '';
  let i = start + 1;
  for (;;) {
    let j = i;
    // fast path: plain characters up to the next quote or backslash
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c === 0x22 || c === 0x5c) {
        break;
      }
      j++;
    }
    out += text.slice(i, j);
    if (text.charCodeAt(j) === 0x22) {
      checkSurrogates(out, lone);
      return [out, j + 1];
    }
    const e = text[j + 1];
    if (e === 'u') {
      out += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
      i = j + 6;
    } else {
      out += ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
      i = j + 2;
    }
  }
}

function checkSurrogates(s: string, lone: () => never): void {
  if (!isWellFormedText(s)) {
    lone();
  }
}

/** Whether a string is well-formed UTF-16: every surrogate is half of a pair (so it has a UTF-8 encoding). */
export function isWellFormedText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) {
        return false;
      }
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}
