import { createPublicKey, generateKeyPairSync, sign } from 'crypto';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { assertDerSignature, curveOf, hashForKey, keyHint, loadPrivateKey, loadPublicKey } from '../../../src/runtime/engine/keys';
import { ecKey } from '../../fixtures/models';
import { describeVectors, readVector, SIGNING_KEY_PUB } from '../../helpers/vectors';

describeVectors('key hint', () => {
  test('is the hint the reference records for its P-384 test key', () => {
    const key = loadPublicKey(readVector(...SIGNING_KEY_PUB), 'signing-key-pub.pem');
    expect(curveOf(key)).toBe('P-384');
    expect(keyHint(key)).toBe('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  });
});

describe('keys', () => {
  test.each([['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512']] as const)('%s signs with %s', (curve, hash) => {
    expect(hashForKey(ecKey(curve).publicKey)).toBe(hash);
  });

  test('hint of a private key equals the hint of its public key', () => {
    const k = ecKey('P-256');
    expect(keyHint(k.privateKey)).toBe(keyHint(k.publicKey));
  });

  test('loads DER SPKI public keys', () => {
    const k = ecKey('P-256');
    const der = k.publicKey.export({ type: 'spki', format: 'der' });
    expect(keyHint(loadPublicKey(der, 'k.der'))).toBe(keyHint(k.publicKey));
  });

  test('fails when the public key is RSA', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(() => loadPublicKey(pem, 'rsa.pem')).toThrow(new UsageError('rsa.pem is a rsa key; OMS signatures need an ECDSA key on P-256, P-384 or P-521'));
  });

  test('fails when the curve is unsupported', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const pem = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(() => loadPublicKey(pem, 'k1.pem')).toThrow('k1.pem is on curve secp256k1; supported curves are P-256, P-384 and P-521');
  });

  test('fails when a certificate is given as a public key', () => {
    expect(() => loadPublicKey(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'c.pem')).toThrow(
      'c.pem holds a PEM "CERTIFICATE" block; expected a "PUBLIC KEY" (SubjectPublicKeyInfo) block');
  });

  test('loads encrypted private keys with the password and names the problem otherwise', () => {
    const k = ecKey('P-384', 's3cret');
    expect(keyHint(loadPrivateKey(Buffer.from(k.pem), 'k.pem', 's3cret'))).toBe(keyHint(k.publicKey));
    expect(() => loadPrivateKey(Buffer.from(k.pem), 'k.pem')).toThrow(
      'k.pem is an encrypted private key; give its password in MODELSEAL_KEY_PASSWORD or with --password-file FILE (or run in a terminal to be asked)');
    expect(() => loadPrivateKey(Buffer.from(k.pem), 'k.pem', 'wrong')).toThrow(/^k\.pem: cannot decrypt the private key .*; check the password$/);
  });

  test('loads SEC1 EC private keys', () => {
    const k = ecKey('P-256');
    const sec1 = k.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(keyHint(createPublicKey(loadPrivateKey(Buffer.from(sec1), 'k.pem')))).toBe(keyHint(k.publicKey));
  });
});

describe('assertDerSignature', () => {
  const k = ecKey('P-256');
  const der = sign('sha256', Buffer.from('m'), { key: k.privateKey, dsaEncoding: 'der' });

  test('accepts a DER signature', () => {
    expect(() => assertDerSignature(der, 'P-256')).not.toThrow();
  });

  test('fails on a raw r||s signature and says so', () => {
    const raw = sign('sha256', Buffer.from('m'), { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(() => assertDerSignature(raw, 'P-256')).toThrow(new VerificationError(
      'signature is not a DER-encoded ECDSA signature: it does not start with a DER SEQUENCE (its 64 bytes look like a raw r||s signature)'));
  });

  test('fails on trailing bytes', () => {
    expect(() => assertDerSignature(Buffer.concat([der, Buffer.from([0])]), 'P-256')).toThrow(/SEQUENCE length \d+ does not match/);
  });

  test('fails on a superfluous leading zero', () => {
    // SEQUENCE { INTEGER 00 01, INTEGER 01 } — r padded needlessly.
    expect(() => assertDerSignature(Buffer.from('3007020200010201' + '01', 'hex').subarray(0, 9), 'P-256')).toThrow(/r has a superfluous leading zero/);
  });

  test('fails when r is too long for the curve (a larger curve signed)', () => {
    const p384 = ecKey('P-384');
    let sig = sign('sha384', Buffer.from('m'), { key: p384.privateKey, dsaEncoding: 'der' });
    while (sig[3] < 48) {
      sig = sign('sha384', Buffer.from('m'), { key: p384.privateKey, dsaEncoding: 'der' });
    }
    expect(() => assertDerSignature(sig, 'P-256')).toThrow(/r is 4[89] bytes, too long for P-256 \(made with a key on a larger curve\?\)/);
  });
});
