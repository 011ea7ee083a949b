/**
 * The one DER reader (ITU-T X.690 §10, Distinguished Encoding Rules) and the few DER encodings ModelSeal writes.
 *
 * The reader is strict: a length must use the shortest form (short form below 128, no leading zero byte in the long
 * form), indefinite lengths (BER) are refused, lengths of more than four bytes are refused rather than overflowing,
 * and content may not run past the input. A DER value therefore has one reading, and a malformed certificate or
 * signature fails here with the reason instead of later, somewhere else.
 *
 * Used for ECDSA signatures (`ECDSA-Sig-Value`, RFC 5480 §2.2 / SEC 1), the X.509 fields node `crypto` does not
 * expose (key usage bits, the TBSCertificate), PKCS#11 EC points and SubjectPublicKeyInfo.
 */
/* eslint-disable no-bitwise -- DER tags, lengths and sign bits are bit fields */
import { createPublicKey, type KeyObject } from 'crypto';
import type { EcCurve } from './curves';
import { ErrorClass, VerificationError } from './errors';

/** DER tags used here. */
export const DER_TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;

/** One DER tag-length-value, located in its buffer. */
export interface Tlv {
  /** The identifier octet. */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
  /** The content octets (a view into the buffer). */
  readonly content: Buffer;
}

/** A tag and length read at an offset, before the content is bounds-checked. */
export interface DerHeader {
  readonly tag: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** The declared content length. */
  readonly length: number;
}

/** Why a header cannot be read, or undefined when it can; the reasons read after "the <thing> …". */
function headerProblem(buf: Buffer, offset: number): string | undefined {
  if (offset + 2 > buf.length) {
    return 'is truncated (no room for a tag and a length)';
  }
  if ((buf[offset] & 0x1f) === 0x1f) {
    return 'uses a multi-byte tag, which none of the structures read here has';
  }
  const first = buf[offset + 1];
  if (first === 0x80) {
    return 'has an indefinite length (BER, not DER)';
  }
  if (first > 0x80) {
    const count = first & 0x7f;
    if (count > 4) {
      return `length takes ${count} bytes; more than 4 would overflow`;
    }
    if (offset + 2 + count > buf.length) {
      return 'length is truncated';
    }
    if (buf[offset + 2] === 0) {
      return 'length is not minimally encoded (leading zero byte)';
    }
    if (count === 1 && buf[offset + 2] < 0x80) {
      return 'length is not minimally encoded (below 128 it must use the short form)';
    }
  }
  return undefined;
}

/**
 * Reads the tag and length at `offset` with the DER length rules, without checking that the content fits.
 *
 * @param what names the value in errors, e.g. `certificate DER`
 * @throws `err` (default {@link VerificationError}): `<what> <reason>`
 */
export function readDerHeader(buf: Buffer, offset: number, what = 'DER value', err: ErrorClass = VerificationError): DerHeader {
  const problem = headerProblem(buf, offset);
  if (problem) {
    throw new err(`${what} ${problem}`);
  }
  const first = buf[offset + 1];
  if (first < 0x80) {
    return { tag: buf[offset], contentStart: offset + 2, length: first };
  }
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) {
    length = length * 256 + buf[offset + 2 + i];
  }
  return { tag: buf[offset], contentStart: offset + 2 + count, length };
}

/**
 * Reads one DER tag-length-value at `offset`; its content must lie within `limit` (default: the buffer's end).
 *
 * @throws `err` (default {@link VerificationError}) naming `what` and the rule broken
 */
export function readTlv(buf: Buffer, offset: number, what = 'DER value', err: ErrorClass = VerificationError, limit = buf.length): Tlv {
  const h = readDerHeader(buf.subarray(0, limit), offset, what, err);
  const end = h.contentStart + h.length;
  if (end > limit) {
    throw new err(`${what} is truncated: its length says ${h.length} bytes, ${Math.max(0, limit - h.contentStart)} follow`);
  }
  return { tag: h.tag, start: offset, contentStart: h.contentStart, end, content: buf.subarray(h.contentStart, end) };
}

/**
 * Reads the elements inside a constructed TLV (a SEQUENCE, SET or explicit tag); together they must fill its content
 * exactly.
 *
 * @throws `err` when an element is malformed
 */
export function readChildren(buf: Buffer, parent: Tlv, what = 'DER value', err: ErrorClass = VerificationError): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end;) {
    const child = readTlv(buf, pos, what, err, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Encodes a DER length: short form below 128, else the minimal long form. */
export function encodeDerLength(length: number): Buffer {
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
export function encodeTlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeDerLength(content.length), content]);
}

/** Encodes an unsigned big-endian integer as a minimal DER INTEGER (a leading zero only where the sign bit is set). */
export function encodeUnsignedInteger(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) {
    start++;
  }
  let body = value.subarray(start);
  if (body[0] & 0x80) {
    body = Buffer.concat([Buffer.from([0]), body]);
  }
  return encodeTlv(DER_TAG.INTEGER, body);
}

/** The two integers of an ECDSA signature, as their DER INTEGER contents (minimal, non-negative). */
export interface EcdsaSignatureParts {
  readonly r: Buffer;
  readonly s: Buffer;
}

/**
 * Decodes a strict DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
 *
 * Refuses anything a second encoding of the same signature could hide behind: non-minimal lengths, a negative or
 * zero-length integer, a superfluous leading zero byte, another element type, trailing bytes.
 *
 * @param heading starts the error message, before `: <reason>`
 * @throws `err` (default {@link VerificationError}): `<heading>: <reason>`
 */
export function decodeEcdsaSignature(
  sig: Buffer, heading = 'signature is not a DER-encoded ECDSA signature', err: ErrorClass = VerificationError,
): EcdsaSignatureParts {
  const fail = (why: string): never => {
    throw new err(`${heading}: ${why}`);
  };
  if (sig.length < 8 || sig[0] !== DER_TAG.SEQUENCE) {
    fail('it does not start with a DER SEQUENCE');
  }
  const problem = headerProblem(sig, 0);
  if (problem) {
    fail(`the SEQUENCE ${problem}`);
  }
  const seq = readDerHeader(sig, 0);
  if (seq.contentStart + seq.length !== sig.length) {
    fail(`the SEQUENCE length ${seq.length} does not match the ${sig.length - seq.contentStart} bytes that follow`);
  }
  const parts: Buffer[] = [];
  let pos = seq.contentStart;
  for (const part of ['r', 's']) {
    if (pos >= sig.length || sig[pos] !== DER_TAG.INTEGER) {
      fail(`${part} is not an INTEGER`);
    }
    let int: Tlv;
    try {
      int = readTlv(sig, pos, part);
    } catch {
      return fail(`${part} has an invalid length`);
    }
    if (int.content.length === 0) {
      fail(`${part} has an invalid length`);
    }
    if (int.content[0] >= 0x80) {
      fail(`${part} is negative`);
    }
    if (int.content.length > 1 && int.content[0] === 0 && int.content[1] < 0x80) {
      fail(`${part} has a superfluous leading zero`);
    }
    parts.push(int.content);
    pos = int.end;
  }
  if (pos !== sig.length) {
    fail('trailing bytes after s');
  }
  return { r: parts[0], s: parts[1] };
}

/**
 * Converts a raw `r || s` ECDSA signature (PKCS#11, JWS, IEEE P1363) into DER `SEQUENCE { r, s }`.
 *
 * @throws Error when `raw` has an odd or zero length
 */
export function rawEcdsaToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new Error(`raw ECDSA signature has odd or zero length ${raw.length}; expected r || s of equal halves`);
  }
  const half = raw.length / 2;
  return encodeTlv(DER_TAG.SEQUENCE, Buffer.concat([encodeUnsignedInteger(raw.subarray(0, half)), encodeUnsignedInteger(raw.subarray(half))]));
}

/**
 * Converts a strict DER ECDSA signature into raw `r || s`, each left-padded to `size` bytes.
 *
 * @throws `err` when the input is not a strict DER ECDSA signature or an integer is wider than `size`
 */
export function derEcdsaToRaw(der: Buffer, size: number, err: ErrorClass = VerificationError): Buffer {
  const { r, s } = decodeEcdsaSignature(der, 'not a DER ECDSA signature', err);
  const out = Buffer.alloc(size * 2);
  for (const [i, int] of [r, s].entries()) {
    const v = int[0] === 0 ? int.subarray(1) : int;
    if (v.length > size) {
      throw new err(`DER ECDSA integer is ${v.length} bytes, wider than the curve's ${size}`);
    }
    v.copy(out, i * size + (size - v.length));
  }
  return out;
}

/** DER of OID 1.2.840.10045.2.1 (id-ecPublicKey). */
const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

/**
 * Builds a public key from an EC point (uncompressed or compressed) on `curve`: the SubjectPublicKeyInfo
 * `SEQUENCE { SEQUENCE { id-ecPublicKey, curve OID }, BIT STRING point }` (RFC 5480 §2). Node `crypto` checks that
 * the point lies on the curve.
 */
export function ecPublicKeyFromPoint(point: Buffer, curve: EcCurve): KeyObject {
  const algorithm = encodeTlv(DER_TAG.SEQUENCE, Buffer.concat([EC_PUBLIC_KEY_OID, curve.oidDer]));
  const bitString = encodeTlv(DER_TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), point]));
  return createPublicKey({ key: encodeTlv(DER_TAG.SEQUENCE, Buffer.concat([algorithm, bitString])), format: 'der', type: 'spki' });
}
