import { verify } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../../../src/runtime/codec/errors';
import { keyHint } from '../../../src/runtime/engine/keys';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { cleanup, ecKey, tempDir } from '../../fixtures/models';

describe('LocalKeySigner', () => {
  test.each([['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512']] as const)('%s signs DER with %s', async (curve, hash) => {
    const k = ecKey(curve);
    const signer = LocalKeySigner.fromPem(k.pem);
    const sig = await signer.sign(Buffer.from('message'));
    expect(sig[0]).toBe(0x30);
    expect(verify(hash, Buffer.from('message'), { key: k.publicKey, dsaEncoding: 'der' }, sig)).toBe(true);
    expect(await signer.verificationMaterial()).toEqual({ publicKey: { hint: keyHint(k.publicKey) } });
    expect(keyHint(await signer.publicKey())).toBe(keyHint(k.publicKey));
  });

  test('loads an encrypted key file with its password', async () => {
    const dir = tempDir();
    try {
      const k = ecKey('P-256', 'pw');
      const file = path.join(dir, 'k.pem');
      fs.writeFileSync(file, k.pem);
      const signer = await LocalKeySigner.fromFile(file, 'pw');
      expect(keyHint(await signer.publicKey())).toBe(keyHint(k.publicKey));
      await expect(LocalKeySigner.fromFile(file)).rejects.toThrow(`${file} is an encrypted private key; give its password in MODELSEAL_KEY_PASSWORD or with --password-file FILE`);
    } finally {
      cleanup(dir);
    }
  });

  test('fails when the key file is missing', async () => {
    await expect(LocalKeySigner.fromFile('/nonexistent/k.pem')).rejects.toThrow(UsageError);
    await expect(LocalKeySigner.fromFile('/nonexistent/k.pem')).rejects.toThrow(/^cannot read private key \/nonexistent\/k\.pem: /);
  });

  test('fails when given a public key', () => {
    expect(() => new LocalKeySigner(ecKey('P-256').publicKey)).toThrow('LocalKeySigner needs a private key, got a public key');
  });

  test('fails when the PEM is not a key', () => {
    expect(() => LocalKeySigner.fromPem('hello', 'x.pem')).toThrow(/^x\.pem is not a readable PEM private key .*; expected an EC key in PKCS#8 or SEC1 PEM$/);
  });
});
