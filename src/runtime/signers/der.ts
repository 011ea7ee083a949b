/**
 * The few DER encodings the HSM signers need: ECDSA signatures, EC points and SubjectPublicKeyInfo.
 *
 * PKCS#11 returns ECDSA signatures as raw `r || s` and public keys as a DER OCTET STRING around the
 * point plus a DER curve OID; Sigstore bundles and node `crypto` want DER signatures and SPKI keys.
 * The encodings are small and fixed, so they are written out here instead of pulling in an ASN.1 library.
 */
/* eslint-disable no-bitwise -- DER tags, lengths and sign bits are bit fields */
import { createPublicKey, type KeyObject } from 'crypto';

/** A named curve the HSM signers support, with the sizes and algorithms that go with it. */
export interface EcCurve {
  /** Curve name as node `crypto` and JWK spell it. */
  readonly name: 'P-256' | 'P-384';
  /** Byte length of a field element (and of `r`, `s`, x and y). */
  readonly size: number;
  /** The hash ECDSA on this curve uses in OMS bundles (node `crypto` name). */
  readonly hash: 'sha256' | 'sha384';
  /** DER encoding of the curve's OBJECT IDENTIFIER (tag and length included), as in CKA_EC_PARAMS. */
  readonly oidDer: Buffer;
}

/** NIST P-256 (secp256r1, OID 1.2.840.10045.3.1.7). */
export const P256: EcCurve = {
  name: 'P-256',
  size: 32,
  hash: 'sha256',
  oidDer: Buffer.from('06082a8648ce3d030107', 'hex'),
};

/** NIST P-384 (secp384r1, OID 1.3.132.0.34). */
export const P384: EcCurve = {
  name: 'P-384',
  size: 48,
  hash: 'sha384',
  oidDer: Buffer.from('06052b81040022', 'hex'),
};

const CURVES: readonly EcCurve[] = [P256, P384];

/** DER of OID 1.2.840.10045.2.1 (id-ecPublicKey). */
const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

/**
 * Finds the curve whose DER OID equals `ecParams` (a PKCS#11 CKA_EC_PARAMS value).
 *
 * Returns `undefined` for any other curve or for the explicit-parameters / printable-name forms, which
 * the callers turn into an error that names the key.
 */
export function curveFromEcParams(ecParams: Buffer): EcCurve | undefined {
  return CURVES.find((c) => c.oidDer.equals(ecParams));
}

/**
 * Finds the curve of an EC public key by its node `crypto` name (`prime256v1`, `secp384r1`).
 *
 * Returns `undefined` for keys that are not EC or use another curve.
 */
export function curveOfKey(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') {
    return undefined;
  }
  const named = key.asymmetricKeyDetails?.namedCurve;
  if (named === 'prime256v1') {
    return P256;
  }
  if (named === 'secp384r1') {
    return P384;
  }
  return undefined;
}

/** Writes a DER length (short form below 128, long form above). */
function derLength(length: number): Buffer {
  if (length < 0x80) {
    return Buffer.from([length]);
  }
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) {
    bytes.unshift(n & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Wraps `content` in a DER tag-length-value. */
function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/**
 * Reads one DER tag-length-value at `offset`.
 *
 * Throws on truncated input or lengths that do not fit, so malformed HSM output fails loudly instead of
 * producing a key or signature that would only fail later during verification.
 */
function readTlv(buf: Buffer, offset: number): { tag: number; content: Buffer; end: number } {
  if (offset + 2 > buf.length) {
    throw new Error('truncated DER');
  }
  const tag = buf[offset];
  let length = buf[offset + 1];
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || pos + count > buf.length) {
      throw new Error('unsupported DER length');
    }
    length = 0;
    for (let i = 0; i < count; i++) {
      length = length * 256 + buf[pos + i];
    }
    pos += count;
  }
  if (pos + length > buf.length) {
    throw new Error('truncated DER');
  }
  return { tag, content: buf.subarray(pos, pos + length), end: pos + length };
}

/** Encodes an unsigned big-endian integer as a minimal DER INTEGER. */
function derUnsignedInteger(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) {
    start++;
  }
  let body = value.subarray(start);
  if (body[0] & 0x80) {
    // A set high bit would read as negative; DER needs a leading zero byte.
    body = Buffer.concat([Buffer.from([0]), body]);
  }
  return tlv(0x02, body);
}

/**
 * Converts a raw `r || s` ECDSA signature (PKCS#11, WebCrypto, IEEE P1363) into DER `SEQUENCE { r, s }`.
 *
 * `raw` must have an even, non-zero length; each half is one integer.
 */
export function rawEcdsaToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new Error(`raw ECDSA signature has odd or zero length ${raw.length}; expected r || s of equal halves`);
  }
  const half = raw.length / 2;
  return tlv(0x30, Buffer.concat([derUnsignedInteger(raw.subarray(0, half)), derUnsignedInteger(raw.subarray(half))]));
}

/**
 * Converts a DER ECDSA signature into raw `r || s`, each left-padded to `size` bytes.
 *
 * Throws when the input is not a DER `SEQUENCE { INTEGER, INTEGER }` or an integer is wider than `size`.
 */
export function derEcdsaToRaw(der: Buffer, size: number): Buffer {
  let r: ReturnType<typeof readTlv>;
  let s: ReturnType<typeof readTlv>;
  try {
    const seq = readTlv(der, 0);
    if (seq.tag !== 0x30 || seq.end !== der.length) {
      throw new Error('expected one SEQUENCE');
    }
    r = readTlv(seq.content, 0);
    s = readTlv(seq.content, r.end);
    if (r.tag !== 0x02 || s.tag !== 0x02 || s.end !== seq.content.length) {
      throw new Error('expected SEQUENCE { INTEGER r, INTEGER s }');
    }
  } catch (e) {
    throw new Error(`not a DER ECDSA signature: ${(e as Error).message}`);
  }
  const out = Buffer.alloc(size * 2);
  for (const [i, int] of [r.content, s.content].entries()) {
    let v = int;
    while (v.length > 1 && v[0] === 0) {
      v = v.subarray(1);
    }
    if (v.length > size) {
      throw new Error(`DER ECDSA integer is ${v.length} bytes, wider than the curve's ${size}`);
    }
    v.copy(out, i * size + (size - v.length));
  }
  return out;
}

/**
 * Extracts the EC point from a PKCS#11 CKA_EC_POINT value.
 *
 * PKCS#11 v2.20+ says the value is a DER OCTET STRING around the point, but some modules return the bare
 * point; both are accepted. The lengths tell them apart: a bare uncompressed point is exactly
 * `1 + 2 * size` bytes and starts with 0x04, which a DER OCTET STRING of that point never is.
 */
export function ecPointFromAttribute(value: Buffer, curve: EcCurve): Buffer {
  const uncompressed = 1 + 2 * curve.size;
  const compressed = 1 + curve.size;
  if (value.length === uncompressed && value[0] === 0x04) {
    return value;
  }
  if (value.length === compressed && (value[0] === 0x02 || value[0] === 0x03)) {
    return value;
  }
  const octets = readTlv(value, 0);
  if (octets.tag !== 0x04 || octets.end !== value.length) {
    throw new Error('CKA_EC_POINT is neither a DER OCTET STRING nor a bare EC point');
  }
  const point = octets.content;
  const okLength =
    (point.length === uncompressed && point[0] === 0x04) ||
    (point.length === compressed && (point[0] === 0x02 || point[0] === 0x03));
  if (!okLength) {
    throw new Error(`CKA_EC_POINT holds ${point.length} bytes, not a ${curve.name} point`);
  }
  return point;
}

/**
 * Builds a node public key from an EC point (uncompressed or compressed) on `curve`.
 *
 * The SubjectPublicKeyInfo is `SEQUENCE { SEQUENCE { id-ecPublicKey, curve OID }, BIT STRING point }`;
 * node `crypto` validates that the point lies on the curve.
 */
export function ecPublicKeyFromPoint(point: Buffer, curve: EcCurve): KeyObject {
  const algorithm = tlv(0x30, Buffer.concat([EC_PUBLIC_KEY_OID, curve.oidDer]));
  const bitString = tlv(0x03, Buffer.concat([Buffer.from([0]), point]));
  const spki = tlv(0x30, Buffer.concat([algorithm, bitString]));
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
