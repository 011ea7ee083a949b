import { createHash, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { main } from '../../../src/runtime/cli/main';
import { P256, P384 } from '../../../src/runtime/codec/curves';
import { derEcdsaToRaw, ecPublicKeyFromPoint, rawEcdsaToDer } from '../../../src/runtime/codec/der';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { signModel } from '../../../src/runtime/engine/sign';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { ecPointFromAttribute, loadPkcs11js, Pkcs11Signer, PKCS11JS_INSTALL_HINT, resolveModulePath } from '../../../src/runtime/signers/pkcs11';
import { cleanup, makeModel, tempDir } from '../../fixtures/models';
import { createSoftHsmToken, describeWithSoftHsm, pctBytes, type SoftHsmToken } from '../../helpers/softhsm';

/** A DSSE PAE-shaped message; its content does not matter to the signer. */
const PAE = Buffer.from('DSSEv1 28 application/vnd.in-toto+json 2 {}');

describe('DER helpers', () => {
  test.each([
    ['P-256', P256],
    ['P-384', P384],
  ] as const)('%s: raw r||s <-> DER agree with node crypto, including short integers', (name, curve) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: name });
    for (let i = 0; i < 40; i++) {
      const msg = Buffer.from(`message ${i}`);
      const raw = cryptoSign(curve.hash, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = rawEcdsaToDer(raw);
      expect(cryptoVerify(curve.hash, msg, publicKey, der)).toBe(true);
      expect(derEcdsaToRaw(der, curve.size)).toEqual(raw);
      const nodeDer = cryptoSign(curve.hash, msg, privateKey);
      expect(rawEcdsaToDer(derEcdsaToRaw(nodeDer, curve.size))).toEqual(nodeDer);
    }
    // Leading zero bytes and high bits: r = 0x00..01, s = 0xff..ff.
    const edge = Buffer.concat([Buffer.alloc(curve.size - 1), Buffer.from([1]), Buffer.alloc(curve.size, 0xff)]);
    expect(derEcdsaToRaw(rawEcdsaToDer(edge), curve.size)).toEqual(edge);
    expect(rawEcdsaToDer(edge).subarray(0, 5)).toEqual(Buffer.from([0x30, curve.size + 6, 0x02, 0x01, 0x01]));
  });

  test('EC points: DER OCTET STRING or bare, uncompressed or compressed', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    const wrapped = Buffer.concat([Buffer.from([0x04, point.length]), point]);
    expect(ecPointFromAttribute(wrapped, P256)).toEqual(point);
    expect(ecPointFromAttribute(point, P256)).toEqual(point);
    expect(ecPublicKeyFromPoint(point, P256).equals(publicKey)).toBe(true);
    const compressed = Buffer.concat([Buffer.from([2 + (point[64] % 2)]), point.subarray(1, 33)]);
    expect(ecPublicKeyFromPoint(ecPointFromAttribute(compressed, P256), P256).equals(publicKey)).toBe(true);
    expect(() => ecPointFromAttribute(Buffer.from([0x04, 3, 1, 2, 3]), P256)).toThrow(/not a P-256 point/);
    expect(() => derEcdsaToRaw(Buffer.from('3003020101', 'hex'), 32)).toThrow(/not a DER ECDSA signature/);
    expect(() => rawEcdsaToDer(Buffer.alloc(63))).toThrow(/odd or zero length 63/);
  });
});

describe('Pkcs11Signer without an HSM', () => {
  test('a missing pkcs11js gives the install command', async () => {
    const missing = (): never => {
      throw Object.assign(new Error("Cannot find module 'pkcs11js'\nRequire stack: ..."), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadPkcs11js(missing)).toThrow(UsageError);
    await expect(
      Pkcs11Signer.open({ uri: 'pkcs11:token=t;object=k?pin-value=1234', loader: () => loadPkcs11js(missing) }),
    ).rejects.toThrow(/needs the optional native module pkcs11js, which cannot be loaded \(Cannot find module 'pkcs11js'\)\. Install it: npm install pkcs11js/);
    expect(PKCS11JS_INSTALL_HINT).toMatch(/npm install-scripts approve pkcs11js/);
    expect(PKCS11JS_INSTALL_HINT).toMatch(/allowScripts/);
  });

  test('no PIN anywhere is a UsageError that says where a PIN can come from', async () => {
    const saved = process.env.MODELSEAL_PKCS11_PIN;
    delete process.env.MODELSEAL_PKCS11_PIN;
    try {
      const open = Pkcs11Signer.open({ uri: 'pkcs11:token=t;object=k', loader: () => loadPkcs11js(() => ({})) });
      await expect(open).rejects.toThrow(UsageError);
      await expect(Pkcs11Signer.open({ uri: 'pkcs11:token=t;object=k' })).rejects.toThrow(/no PIN for PKCS#11 URI pkcs11:token=t;object=k; add \?pin-source=/);
    } finally {
      if (saved !== undefined) {
        process.env.MODELSEAL_PKCS11_PIN = saved;
      }
    }
  });

  test('a URI that names no private key is refused before anything is loaded', async () => {
    await expect(Pkcs11Signer.open({ uri: 'pkcs11:token=t?pin-value=1' })).rejects.toThrow(/names no key; add object=<key label> or id=/);
    await expect(Pkcs11Signer.open({ uri: 'pkcs11:token=t;object=k;type=cert?pin-value=1' })).rejects.toThrow(/type=cert; signing needs the private key/);
  });

  test('module paths: a missing module-path, module-name or fallback is named', () => {
    expect(() => resolveModulePath({ modulePath: '/nonexistent/libp11.so' })).toThrow(/module-path "\/nonexistent\/libp11.so" does not exist/);
    expect(() => resolveModulePath({ moduleName: 'no-such-module-xyz' })).toThrow(/module-name "no-such-module-xyz" not found; tried \/usr\/lib\/softhsm\/libno-such-module-xyz.so/);
    expect(() => resolveModulePath({ moduleName: '../evil' })).toThrow(/must be a bare name/);
    expect(() => resolveModulePath({}, '/nonexistent/fallback.so')).toThrow(/"\/nonexistent\/fallback.so" does not exist/);
  });
});

describeWithSoftHsm('Pkcs11Signer on SoftHSM2', () => {
  let token: SoftHsmToken;
  const p256Id = Buffer.from([0x01, 0xa0]);
  const p384Id = Buffer.from([0x02]);

  beforeAll(() => {
    token = createSoftHsmToken({
      label: 'modelseal test',
      pin: '1234',
      keys: [
        { label: 'p256-key', id: p256Id, kind: 'P-256' },
        { label: 'p384-key', id: p384Id, kind: 'P-384' },
        { label: 'rsa-key', id: Buffer.from([0x03]), kind: 'RSA' },
        { label: 'lonely-key', id: Buffer.from([0x04]), kind: 'P-256', noPublicObject: true },
      ],
    });
  });
  afterAll(() => token?.cleanup());

  test.each([
    ['P-256', 'p256-key', 'sha256', 64],
    ['P-384', 'p384-key', 'sha384', 96],
  ] as const)('%s: signature is DER, verifies over the message with the curve hash', async (curve, label, hash, rawLength) => {
    const signer = await Pkcs11Signer.open({ uri: token.uri(label) });
    try {
      expect(signer.curve.name).toBe(curve);
      const pub = await signer.publicKey();
      expect(pub.asymmetricKeyDetails?.namedCurve).toBe(curve === 'P-256' ? 'prime256v1' : 'secp384r1');
      const sig = await signer.sign(PAE);
      expect(sig[0]).toBe(0x30);
      expect(cryptoVerify(hash, PAE, pub, sig)).toBe(true);
      expect(cryptoVerify(hash, Buffer.concat([PAE, Buffer.from('x')]), pub, sig)).toBe(false);
      // The raw form has the curve's r || s width, so the DER really came from the token's raw output.
      expect(cryptoVerify(hash, PAE, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
      const spkiPem = pub.export({ type: 'spki', format: 'pem' }) as string;
      expect(await signer.verificationMaterial()).toEqual({ publicKey: { hint: createHash('sha256').update(spkiPem).digest('hex') } });
      expect(rawLength).toBe(2 * signer.curve.size);
    } finally {
      await signer.close();
    }
  });

  test('P-384 is signed over SHA-384, not SHA-256', async () => {
    const signer = await Pkcs11Signer.open({ uri: token.uri('p384-key') });
    try {
      const sig = await signer.sign(PAE);
      expect(cryptoVerify('sha256', PAE, await signer.publicKey(), sig)).toBe(false);
    } finally {
      await signer.close();
    }
  });

  test('selects by id alone, with the PIN from a pin-source file', async () => {
    const pinFile = join(token.dir, 'pin.txt');
    writeFileSync(pinFile, `${token.pin}\n`);
    const uri = `pkcs11:token=modelseal%20test;id=${pctBytes(p384Id)}?module-path=${token.modulePath}&pin-source=file://${pinFile}`;
    const signer = await Pkcs11Signer.open({ uri });
    try {
      expect(signer.curve.name).toBe('P-384');
      expect(cryptoVerify('sha384', PAE, await signer.publicKey(), await signer.sign(PAE))).toBe(true);
    } finally {
      await signer.close();
    }
  });

  test('the PIN may come from the options or MODELSEAL_PKCS11_PIN', async () => {
    const a = await Pkcs11Signer.open({ uri: token.uri('p256-key', { pin: null }), pin: token.pin });
    await a.close();
    process.env.MODELSEAL_PKCS11_PIN = token.pin;
    try {
      const b = await Pkcs11Signer.open({ uri: token.uri('p256-key', { pin: null }) });
      await b.close();
    } finally {
      delete process.env.MODELSEAL_PKCS11_PIN;
    }
  });

  test('the module is found in the default locations when the URI has no module-path', async () => {
    const signer = await Pkcs11Signer.open({ uri: `pkcs11:token=modelseal%20test;object=p256-key?pin-value=${token.pin}` });
    await signer.close();
  });

  test('wrong PIN is a clear UsageError', async () => {
    const open = Pkcs11Signer.open({ uri: token.uri('p256-key', { pin: '9999' }) });
    await expect(open).rejects.toThrow(UsageError);
    await expect(Pkcs11Signer.open({ uri: token.uri('p256-key', { pin: '9999' }) })).rejects.toThrow(
      'PKCS#11 login to token "modelseal test" failed: wrong PIN (CKR_PIN_INCORRECT)',
    );
  });

  test('unknown token is named, with the tokens that exist', async () => {
    const uri = `pkcs11:token=nope;object=p256-key?module-path=${token.modulePath}&pin-value=1234`;
    await expect(Pkcs11Signer.open({ uri })).rejects.toThrow(/no PKCS#11 token matches token="nope" in module ".*"; initialized tokens: "modelseal test" \(slot-id=\d+/);
  });

  test('unknown object is named, with the private keys that exist', async () => {
    await expect(Pkcs11Signer.open({ uri: token.uri('nope') })).rejects.toThrow(
      /no private key with object="nope" on PKCS#11 token "modelseal test"; private keys there: .*"p256-key"/,
    );
    const uri = `pkcs11:token=modelseal%20test;id=%ff%ee?module-path=${token.modulePath}&pin-value=1234`;
    await expect(Pkcs11Signer.open({ uri })).rejects.toThrow(/no private key with id=%ff%ee/);
  });

  test('a non-EC key and a key without its public half are refused, naming them', async () => {
    await expect(Pkcs11Signer.open({ uri: token.uri('rsa-key') })).rejects.toThrow(/object="rsa-key" on token "modelseal test" is not an EC key/);
    await expect(Pkcs11Signer.open({ uri: token.uri('lonely-key') })).rejects.toThrow(
      /has the private key with object="lonely-key" but no public key or certificate with the same CKA_ID/,
    );
  });

  test('two signers share the module; closing one leaves the other working; close is idempotent', async () => {
    const a = await Pkcs11Signer.open({ uri: token.uri('p256-key') });
    const b = await Pkcs11Signer.open({ uri: token.uri('p384-key') });
    await a.close();
    await a.close();
    expect(cryptoVerify('sha384', PAE, await b.publicKey(), await b.sign(PAE))).toBe(true);
    await b.close();
    await expect(b.sign(PAE)).rejects.toThrow(/closed/);
    // After the last close the module was finalized; opening again initializes it afresh.
    const c = await Pkcs11Signer.open({ uri: token.uri('p256-key') });
    expect(cryptoVerify('sha256', PAE, await c.publicKey(), await c.sign(PAE))).toBe(true);
    await c.close();
  });

  test.each(['p256-key', 'p384-key'])('%s: an OMS bundle signed on the token verifies; a flipped byte fails naming the file', async (label) => {
    const dir = tempDir();
    try {
      const model = makeModel(dir);
      const sig = join(dir, 'model.sig');
      const signer = await Pkcs11Signer.open({ uri: token.uri(label) });
      const publicKey = await signer.publicKey();
      const signed = await signModel(model, signer, { signaturePath: sig });
      await signer.close();
      const verified = await verifyModel(model, sig, { publicKey });
      expect(verified.rootDigest).toBe(signed.rootDigest);
      expect(verified.curve).toBe(label === 'p256-key' ? 'P-256' : 'P-384');

      const file = join(model, 'sub', 'tokenizer.json');
      const bytes = readFileSync(file);
      bytes[0] = bytes[0] === 0x41 ? 0x42 : 0x41;
      writeFileSync(file, bytes);
      await expect(verifyModel(model, sig, { publicKey })).rejects.toThrow(VerificationError);
      await expect(verifyModel(model, sig, { publicKey })).rejects.toThrow(/sub\/tokenizer\.json/);
    } finally {
      cleanup(dir);
    }
  });

  test('modelseal sign pkcs11-key, pubkey --pkcs11-uri, verify key with the printed key', async () => {
    const dir = tempDir();
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t), isTTY: false } };
    try {
      const model = makeModel(dir);
      const sig = join(dir, 'model.sig');
      expect(await main(['sign', 'pkcs11-key', model, '--signature', sig, '--pkcs11-uri', token.uri('p256-key')], io)).toBe(0);
      out.length = 0;
      expect(await main(['pubkey', '--pkcs11-uri', token.uri('p256-key')], io)).toBe(0);
      const pub = join(dir, 'hsm.pub');
      writeFileSync(pub, out.join(''));
      expect(await main(['verify', 'key', model, '--signature', sig, '--public-key', pub], io)).toBe(0);
      out.length = 0;
      expect(await main(['sign', 'pkcs11-key', model, '--signature', sig, '--pkcs11-uri', token.uri('p256-key', { pin: '0000' })], io)).toBe(2);
      expect(out.join('')).toMatch(/wrong PIN/);
    } finally {
      cleanup(dir);
    }
  });

  test('failed opens release the module (the next open still works)', async () => {
    await expect(Pkcs11Signer.open({ uri: token.uri('nope') })).rejects.toThrow();
    await expect(Pkcs11Signer.open({ uri: token.uri('p256-key', { pin: '0000' }) })).rejects.toThrow();
    const s = await Pkcs11Signer.open({ uri: token.uri('p256-key') });
    await s.sign(PAE);
    await s.close();
  });
});
