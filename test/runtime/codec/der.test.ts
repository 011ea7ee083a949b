import { generateKeyPairSync, sign, verify } from 'crypto';
import { P256, P384 } from '../../../src/runtime/codec/curves';
import {
  decodeEcdsaSignature, derEcdsaToRaw, ecPublicKeyFromPoint, encodeDerLength, encodeTlv, encodeUnsignedInteger, rawEcdsaToDer, readChildren,
  readDerHeader, readTlv,
} from '../../../src/runtime/codec/der';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('readTlv', () => {
  test('reads short- and long-form lengths', () => {
    expect(readTlv(hex('04 03 010203'), 0)).toMatchObject({ tag: 0x04, start: 0, contentStart: 2, end: 5, content: hex('010203') });
    const long = Buffer.concat([hex('04 81 80'), Buffer.alloc(128, 7)]);
    expect(readTlv(long, 0)).toMatchObject({ contentStart: 3, end: 131 });
    const longer = Buffer.concat([hex('04 82 0100'), Buffer.alloc(256)]);
    expect(readTlv(longer, 0).end).toBe(260);
  });

  test.each([
    ['a long-form length with a leading zero byte', '04 82 0005 0102030405', /length is not minimally encoded \(leading zero byte\)/],
    ['a long-form length below 128', '04 81 05 0102030405', /length is not minimally encoded \(below 128 it must use the short form\)/],
    ['an indefinite length (BER)', '30 80 0000', /has an indefinite length \(BER, not DER\)/],
    ['a length of more than four bytes (overflow)', '04 85 0100000000', /length takes 5 bytes; more than 4 would overflow/],
    ['a truncated length', '04 82 01', /length is truncated/],
    ['content past the end', '04 05 0102', /is truncated: its length says 5 bytes, 2 follow/],
    ['no room for a header', '04', /is truncated \(no room for a tag and a length\)/],
    ['a multi-byte tag', '1f 81 01 00', /uses a multi-byte tag/],
  ])('fails on %s', (_what, bytes, message) => {
    expect(() => readTlv(hex(bytes), 0, 'value')).toThrow(VerificationError);
    expect(() => readTlv(hex(bytes), 0, 'value')).toThrow(message);
  });

  test('content may not run past a limit (an enclosing element), and the error class is the caller\'s', () => {
    const seq = hex('30 04 04 03 0102');
    expect(() => readTlv(seq, 2, 'inner', UsageError, seq.length)).toThrow(UsageError);
    expect(() => readTlv(hex('30 03 04 02 0102 05'), 2, 'inner', VerificationError, 5)).toThrow(/inner is truncated/);
  });

  test('readDerHeader reads a header without checking the content length', () => {
    expect(readDerHeader(hex('30 82 0100'), 0)).toEqual({ tag: 0x30, contentStart: 4, length: 256 });
  });

  test('readChildren returns the elements that fill a constructed value, and refuses one that overruns it', () => {
    const seq = hex('30 06 02 01 01 02 01 02');
    expect(readChildren(seq, readTlv(seq, 0)).map((c) => c.content[0])).toEqual([1, 2]);
    const overrun = hex('30 05 02 01 01 02 02 0203');
    expect(() => readChildren(overrun, readTlv(overrun, 0, 'x', VerificationError, 7))).toThrow(/is truncated/);
  });
});

describe('DER encoders', () => {
  test('lengths use the minimal form and read back', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536]) {
      const tlv = encodeTlv(0x04, Buffer.alloc(n));
      expect(readTlv(tlv, 0).content.length).toBe(n);
    }
    expect(encodeDerLength(127)).toEqual(hex('7f'));
    expect(encodeDerLength(128)).toEqual(hex('8180'));
    expect(encodeDerLength(256)).toEqual(hex('820100'));
  });

  test('unsigned integers are minimal and non-negative', () => {
    expect(encodeUnsignedInteger(hex('000001'))).toEqual(hex('020101'));
    expect(encodeUnsignedInteger(hex('80'))).toEqual(hex('02020080'));
    expect(encodeUnsignedInteger(hex('00'))).toEqual(hex('020100'));
  });
});

describe('decodeEcdsaSignature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  test('accepts what node crypto signs, returning the integers', () => {
    for (let i = 0; i < 20; i++) {
      const der = sign('sha256', Buffer.from(`m${i}`), privateKey);
      const { r, s } = decodeEcdsaSignature(der);
      expect(r.length).toBeLessThanOrEqual(33);
      expect(s.length).toBeLessThanOrEqual(33);
    }
  });

  test.each([
    ['not a SEQUENCE', '31 06 020101 020101', 'it does not start with a DER SEQUENCE'],
    ['a non-minimal SEQUENCE length', '30 81 06 020101 020101', 'the SEQUENCE length is not minimally encoded (below 128 it must use the short form)'],
    ['an indefinite SEQUENCE length', '30 80 020101 020101 0000', 'the SEQUENCE has an indefinite length (BER, not DER)'],
    ['a SEQUENCE length that does not match', '30 07 020101 020101', 'the SEQUENCE length 7 does not match the 6 bytes that follow'],
    ['trailing bytes after the SEQUENCE', '30 06 020101 020101 00', 'the SEQUENCE length 6 does not match the 7 bytes that follow'],
    ['r not an INTEGER', '30 06 040101 020101', 'r is not an INTEGER'],
    ['a zero-length s', '30 06 02020101 0200', 's has an invalid length'],
    ['a negative r', '30 06 020181 020101', 'r is negative'],
    ['a superfluous leading zero in s', '30 07 020101 02020001', 's has a superfluous leading zero'],
    ['trailing bytes after s inside the SEQUENCE', '30 08 020101 020101 0500', 'trailing bytes after s'],
    ['s running past the SEQUENCE', '30 06 020101 020301', 's has an invalid length'],
  ])('fails on %s', (_what, bytes, reason) => {
    expect(() => decodeEcdsaSignature(hex(bytes))).toThrow(new VerificationError(`signature is not a DER-encoded ECDSA signature: ${reason}`));
  });

  test('a leading zero that keeps an integer positive is required, not superfluous', () => {
    expect(decodeEcdsaSignature(hex('30 07 02020081 020101')).r).toEqual(hex('0081'));
  });

  test('raw r||s <-> DER agree with node crypto', () => {
    const raw = sign('sha256', Buffer.from('m'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const der = rawEcdsaToDer(raw);
    expect(verify('sha256', Buffer.from('m'), publicKey, der)).toBe(true);
    expect(derEcdsaToRaw(der, P256.size)).toEqual(raw);
    expect(() => derEcdsaToRaw(der, 16)).toThrow(/wider than the curve's 16/);
  });

  test('EC points become SubjectPublicKeyInfo keys on the named curve', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const jwk = k.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    expect(ecPublicKeyFromPoint(point, P384).equals(k)).toBe(true);
    expect(() => ecPublicKeyFromPoint(point, P256)).toThrow();
  });
});
