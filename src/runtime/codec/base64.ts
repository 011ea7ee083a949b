/**
 * The one base64 decoder. Node's `Buffer.from(s, 'base64')` skips characters outside the alphabet, accepts both
 * alphabets at once and ignores non-zero trailing bits, so different texts decode to the same bytes and a field can
 * carry hidden characters; this decoder accepts exactly one text per byte string.
 *
 * Two variants, each with its one canonical form (RFC 4648):
 * - `base64`: §4, the standard alphabet `A-Z a-z 0-9 + /`, `=` padding required (the length is a multiple of 4).
 *   Sigstore bundle bytes fields (the ProtoJSON mapping of `bytes`, as every Sigstore client and the reference
 *   model_signing write it) and the JWS `x5c` certificates (RFC 7515 §4.1.6).
 * - `base64url`: §5, the URL-safe alphabet `A-Z a-z 0-9 - _`, no padding: JWS (RFC 7515 §2).
 *
 * In both, whitespace, characters of the other alphabet, misplaced or missing padding and non-zero unused trailing
 * bits are refused. (ProtoJSON readers also accept URL-safe or unpadded bytes; no Sigstore writer produces them,
 * and ModelSeal refuses them so that a bundle has one reading.)
 */
import { ErrorClass, VerificationError } from './errors';
import { describeJson } from './json';

/** The two base64 variants (RFC 4648 §4 and §5). */
export type Base64Variant = 'base64' | 'base64url';

const ALPHABET: Record<Base64Variant, RegExp> = {
  base64: /^[A-Za-z0-9+/]*={0,2}$/,
  base64url: /^[A-Za-z0-9_-]*$/,
};

const RULE: Record<Base64Variant, string> = {
  base64: 'RFC 4648 §4: characters A-Z a-z 0-9 + / and "=" padding to a multiple of 4',
  base64url: 'RFC 7515: characters A-Z a-z 0-9 - _ and no "=" padding',
};

/**
 * Decodes canonical base64 or base64url (see the module comment); the empty string decodes to no bytes.
 *
 * @param what names the value in errors, e.g. `bundle.json dsseEnvelope.payload`
 * @param err the error to raise (default {@link VerificationError})
 * @throws `err`: `<what> must be a <variant> string`, `<what> is not <variant> (<rule>)`, or `<what> is not
 *   canonical <variant> (its unused trailing bits are not zero)`
 */
export function decodeBase64(value: unknown, what: string, variant: Base64Variant = 'base64', err: ErrorClass = VerificationError): Buffer {
  if (typeof value !== 'string') {
    throw new err(`${what} must be a ${variant} string; got ${describeJson(value)}`);
  }
  const badLength = variant === 'base64' ? value.length % 4 !== 0 : value.length % 4 === 1;
  if (!ALPHABET[variant].test(value) || badLength) {
    throw new err(`${what} is not ${variant} (${RULE[variant]})`);
  }
  const bytes = Buffer.from(value, variant);
  if (bytes.toString(variant) !== value) {
    throw new err(`${what} is not canonical ${variant} (its unused trailing bits are not zero)`);
  }
  return bytes;
}

/** Encodes bytes in the canonical form {@link decodeBase64} reads back. */
export function encodeBase64(bytes: Buffer | string, variant: Base64Variant = 'base64'): string {
  return Buffer.from(bytes).toString(variant);
}
