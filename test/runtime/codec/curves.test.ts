import { generateKeyPairSync } from 'crypto';
import {
  CURVES, curveNamed, curveOfJwsAlg, curveOfKey, curveOfKeyDetails, curveOfOid, P256, P384, P521,
} from '../../../src/runtime/codec/curves';
import { encodeTlv } from '../../../src/runtime/codec/der';

describe('the curve table', () => {
  test.each([
    ['P-256', P256, 'prime256v1', 'sha256', 32, '1.2.840.10045.3.1.7', 'PKIX_ECDSA_P256_SHA_256', 'ES256'],
    ['P-384', P384, 'secp384r1', 'sha384', 48, '1.3.132.0.34', 'PKIX_ECDSA_P384_SHA_384', 'ES384'],
    ['P-521', P521, 'secp521r1', 'sha512', 66, '1.3.132.0.35', 'PKIX_ECDSA_P521_SHA_512', 'ES512'],
  ] as const)('%s: every name of the curve finds the same entry', (name, curve, nodeName, hash, size, oid, keyDetails, alg) => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: name });
    expect(curveNamed(name)).toBe(curve);
    expect(curveOfKey(publicKey)).toBe(curve);
    expect(curveOfKey(privateKey)).toBe(curve);
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe(nodeName);
    expect(curve.hash).toBe(hash);
    expect(curve.size).toBe(size);
    // the OID's DER is what a SubjectPublicKeyInfo of this curve carries
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    expect(spki.includes(curve.oidDer)).toBe(true);
    expect(oidText(curve.oidDer)).toBe(oid);
    expect(curveOfOid(curve.oidDer)).toBe(curve);
    expect(curveOfKeyDetails(keyDetails)).toBe(curve);
    expect(curveOfJwsAlg(alg)).toBe(curve);
    // the JWK coordinate length is the field size
    expect(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').length).toBe(size);
  });

  test('other keys and names find nothing', () => {
    expect(curveOfKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toBeUndefined();
    expect(curveOfKey(generateKeyPairSync('ed25519').publicKey)).toBeUndefined();
    expect(curveNamed('P-224')).toBeUndefined();
    expect(curveOfOid(encodeTlv(0x06, Buffer.from('2b8104000a', 'hex')))).toBeUndefined();
    expect(curveOfKeyDetails('PKIX_ED25519')).toBeUndefined();
    expect(curveOfJwsAlg('RS256')).toBeUndefined();
    expect(CURVES.map((c) => c.name)).toEqual(['P-256', 'P-384', 'P-521']);
  });
});

/** Dotted text of a DER OID (tag and length included). */
function oidText(der: Buffer): string {
  const body = der.subarray(2);
  const parts = [Math.floor(body[0] / 40), body[0] % 40];
  let n = 0;
  for (const b of body.subarray(1)) {
    n = n * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}
