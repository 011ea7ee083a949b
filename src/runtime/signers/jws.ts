/**
 * JWS JSON Serialization, flattened form (RFC 7515 §7.2.2), as the Notary Project JWS envelope uses it.
 *
 * Only the parts Notary signatures need: strict base64url, the four top-level members, and ECDSA (ES256/ES384)
 * signatures in JWS's raw `r || s` form. Anything else is refused with an error that names the bad member, since a
 * lenient parser is where signature-confusion bugs live.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'crypto';
import { decodeBase64 } from '../codec/base64';
import { curveOfKey, P256, P384, type EcCurve } from '../codec/curves';
import { VerificationError } from '../codec/errors';
import { describeJson as describe, isJsonObject as isObject, parseJson } from '../codec/json';

/** A parsed flattened JWS JSON envelope. */
export interface FlattenedJws {
  /** The `protected` member exactly as it appears in the envelope (base64url); part of the signing input. */
  readonly protectedB64: string;
  /** The `payload` member exactly as it appears in the envelope (base64url); part of the signing input. */
  readonly payloadB64: string;
  /** Decoded protected header. */
  readonly protectedHeader: Record<string, unknown>;
  /** The unprotected `header` member (unsigned). */
  readonly header: Record<string, unknown>;
  /** Decoded payload bytes. */
  readonly payload: Buffer;
  /** Decoded signature bytes. */
  readonly signature: Buffer;
}

/** JWS `alg` values this module verifies (the Notary Project's ECDSA ones), with the curve each requires of the key. */
export const JWS_ECDSA_ALGORITHMS: Readonly<Record<string, EcCurve>> = Object.fromEntries([P256, P384].map((c) => [c.jwsAlg, c]));

const TOP_LEVEL = ['payload', 'protected', 'header', 'signature'];

/**
 * Parses a flattened JWS JSON envelope.
 *
 * The envelope must be one JSON object with exactly `payload`, `protected`, `header` and `signature` (the Notary
 * JWS envelope allows no other top-level member, and the general `signatures` array form is refused because a
 * Notary envelope carries exactly one signature). The protected header must decode to a JSON object, and the
 * protected and unprotected headers must not share a parameter name (RFC 7515 §7.2.1).
 *
 * @param what names the envelope in errors (e.g. the store key)
 * @throws VerificationError naming the first malformed member
 */
export function parseFlattenedJws(bytes: Buffer, what = 'JWS envelope'): FlattenedJws {
  let doc: unknown;
  try {
    doc = parseJson(bytes, what);
  } catch (e) {
    const start = bytes.subarray(0, 40).toString('utf8');
    const hint = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\./.test(start)
      ? ' (it looks like JWS compact serialization; a Notary envelope is the flattened JSON serialization)'
      : '';
    throw new VerificationError(`${(e as Error).message}${hint}`);
  }
  if (!isObject(doc)) {
    throw new VerificationError(`${what} must be a JSON object with payload, protected, header and signature; got ${describe(doc)}`);
  }
  if ('signatures' in doc) {
    throw new VerificationError(`${what} uses the general JWS JSON serialization ("signatures" array); a Notary envelope is the flattened form with one signature`);
  }
  const extra = Object.keys(doc).filter((k) => !TOP_LEVEL.includes(k));
  if (extra.length > 0) {
    throw new VerificationError(`${what} has unsupported top-level member(s) ${extra.join(', ')}; only ${TOP_LEVEL.join(', ')} are allowed`);
  }
  for (const k of TOP_LEVEL) {
    if (!(k in doc)) {
      throw new VerificationError(`${what} lacks the required "${k}" member`);
    }
  }
  const protectedB64 = doc.protected;
  const payloadB64 = doc.payload;
  const protectedBytes = decodeBase64(protectedB64, `${what} "protected"`, 'base64url');
  const payload = decodeBase64(payloadB64, `${what} "payload"`, 'base64url');
  const signature = decodeBase64(doc.signature, `${what} "signature"`, 'base64url');
  const protectedHeader = parseJson(protectedBytes, `${what} protected header`);
  if (!isObject(protectedHeader)) {
    throw new VerificationError(`${what} protected header must be a JSON object; got ${describe(protectedHeader)}`);
  }
  const header = doc.header;
  if (!isObject(header)) {
    throw new VerificationError(`${what} "header" (unprotected header) must be a JSON object; got ${describe(header)}`);
  }
  const shared = Object.keys(header).filter((k) => k in protectedHeader);
  if (shared.length > 0) {
    throw new VerificationError(`${what} has header parameter(s) ${shared.join(', ')} in both the protected and the unprotected header (RFC 7515 §7.2.1 forbids it)`);
  }
  return {
    protectedB64: protectedB64 as string,
    payloadB64: payloadB64 as string,
    protectedHeader,
    header,
    payload,
    signature,
  };
}

/**
 * Verifies an ECDSA JWS signature over `BASE64URL(protected) '.' BASE64URL(payload)`.
 *
 * `alg` must be ES256 or ES384 and must match the key's curve (the Notary spec makes the signing certificate's key
 * the source of truth, which stops algorithm substitution). The signature must be the raw `r || s` of exactly twice
 * the curve size, as JWS requires (RFC 7518 §3.4), which node `crypto` verifies as IEEE P1363.
 *
 * @throws VerificationError when the algorithm does not fit the key or the signature does not verify
 */
export function verifyJwsEcdsa(jws: FlattenedJws, alg: string, key: KeyObject): void {
  const expected = JWS_ECDSA_ALGORITHMS[alg];
  if (!expected) {
    throw new VerificationError(`JWS alg ${JSON.stringify(alg)} is not supported; expected one of ${Object.keys(JWS_ECDSA_ALGORITHMS).join(', ')}`);
  }
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const curve = curveOfKey(pub);
  if (!curve || curve.name !== expected.name) {
    throw new VerificationError(
      `JWS alg ${alg} needs a ${expected.name} signing key, but the signing certificate's key is ${curve?.name ?? describeKey(pub)}`);
  }
  if (jws.signature.length !== 2 * curve.size) {
    throw new VerificationError(
      `JWS signature is ${jws.signature.length} bytes; ${alg} signatures are raw r || s of exactly ${2 * curve.size} bytes`);
  }
  const input = Buffer.from(`${jws.protectedB64}.${jws.payloadB64}`, 'ascii');
  const ok = cryptoVerify(curve.hash, input, { key: pub, dsaEncoding: 'ieee-p1363' }, jws.signature);
  if (!ok) {
    throw new VerificationError(`JWS signature does not verify with the signing certificate's ${curve.name} key (the protected header or payload was altered, or another key signed it)`);
  }
}

function describeKey(key: KeyObject): string {
  return key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}` : String(key.asymmetricKeyType);
}
