import type { KeyObject } from 'crypto';
import { sign as cryptoSign } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';
import { UsageError } from '../../../src/runtime/codec/errors';
import { keyHint } from '../../../src/runtime/engine/keys';
import { signModel } from '../../../src/runtime/engine/sign';
import type { Signer } from '../../../src/runtime/engine/signer';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { cleanup, ecKey, makeModel, statementOf, tempDir } from '../../fixtures/models';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

describe('signModel round trips', () => {
  test.each(['P-256', 'P-384', 'P-521'] as const)('%s key: sign then verify', async (curve) => {
    const model = makeModel(dir);
    const k = ecKey(curve);
    const sig = path.join(dir, 'model.sig');
    const signed = await signModel(model, new LocalKeySigner(k.privateKey), { signaturePath: sig });
    expect(signed.manifest.resources.map((r) => r.name)).toEqual(['config.json', 'sub/tokenizer.json', 'weights.bin']);
    const verified = await verifyModel(model, sig, { publicKey: k.publicKey });
    expect(verified.rootDigest).toBe(signed.rootDigest);
    expect(verified.curve).toBe(curve);
    expect(verified.keyHint).toBe(keyHint(k.publicKey));
  });

  test('encrypted PEM key with password', async () => {
    const model = makeModel(dir);
    const k = ecKey('P-384', 'pw');
    const keyFile = path.join(dir, 'k.pem');
    fs.writeFileSync(keyFile, k.pem);
    const sig = path.join(dir, 'model.sig');
    await signModel(model, await LocalKeySigner.fromFile(keyFile, 'pw'), { signaturePath: sig });
    await expect(verifyModel(model, sig, { publicKey: k.publicKey })).resolves.toMatchObject({ resourceCount: 3 });
  });

  test('the statement names the model directory and records the signature file inside the model as ignored', async () => {
    const model = makeModel(dir, 'my-model');
    const k = ecKey('P-256');
    const sig = path.join(model, 'model.sig');
    const r = await signModel(model, new LocalKeySigner(k.privateKey), { signaturePath: sig });
    const s = statementOf(r.bundle);
    expect(s.subject).toEqual([{ name: 'my-model', digest: { sha256: r.rootDigest } }]);
    expect(s.predicate.serialization.ignore_paths).toContain('model.sig');
    expect(fs.readFileSync(sig, 'utf8')).toBe(r.bundleText);
    await expect(verifyModel(model, sig, { publicKey: k.publicKey })).resolves.toBeDefined();
  });

  test('a single-file model is signed as the resource "."', async () => {
    const file = path.join(makeModel(dir), 'weights.bin');
    const k = ecKey('P-256');
    const sig = path.join(dir, 'w.sig');
    const r = await signModel(file, new LocalKeySigner(k.privateKey), { signaturePath: sig });
    expect(r.manifest.resources.map((x) => x.name)).toEqual(['.']);
    expect(r.subjectName).toBe('weights.bin');
    await expect(verifyModel(file, sig, { publicKey: k.publicKey })).resolves.toMatchObject({ resourceCount: 1 });
  });

  test('fails when the signer returns a raw r||s signature', async () => {
    const k = ecKey('P-256');
    const raw: Signer = {
      publicKey: async () => k.publicKey,
      verificationMaterial: async () => ({ publicKey: { hint: keyHint(k.publicKey) } }),
      sign: async (m) => cryptoSign('sha256', m, { key: k.privateKey, dsaEncoding: 'ieee-p1363' }),
    };
    await expect(signModel(makeModel(dir), raw)).rejects.toThrow(UsageError);
    await expect(signModel(makeModel(dir, 'm2'), raw)).rejects.toThrow(/^the signer returned an unusable signature: signature is not a DER-encoded ECDSA signature/);
  });

  test('fails when the signer signs with another key than it reports', async () => {
    const a = ecKey('P-256');
    const b = ecKey('P-256');
    const wrong: Signer = {
      publicKey: async () => b.publicKey,
      verificationMaterial: async () => ({ publicKey: { hint: keyHint(b.publicKey) } }),
      sign: async (m) => cryptoSign('sha256', m, { key: a.privateKey, dsaEncoding: 'der' }),
    };
    await expect(signModel(makeModel(dir), wrong)).rejects.toThrow(
      'the signer returned a signature that does not verify with its own public key; check that the key and the signer configuration match');
  });
});

describe('independent check with @sigstore/verify', () => {
  function verifierFor(publicKey: KeyObject, hint: string): Verifier {
    return new Verifier({
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: (h: string) => {
        if (h !== hint) {
          throw new Error(`unknown key hint ${h}`);
        }
        return { publicKey, validFor: () => true };
      },
    }, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  }

  test('a P-256 bundle verifies with sigstore-js', async () => {
    const k = ecKey('P-256');
    const r = await signModel(makeModel(dir), new LocalKeySigner(k.privateKey));
    const entity = toSignedEntity(bundleFromJSON(JSON.parse(r.bundleText)));
    const signer = verifierFor(k.publicKey, r.keyHint).verify(entity);
    expect(signer.key).toBeDefined();
  });

  test('sigstore-js rejects the bundle once the payload is altered', async () => {
    const k = ecKey('P-256');
    const r = await signModel(makeModel(dir), new LocalKeySigner(k.privateKey));
    const json = JSON.parse(r.bundleText);
    const s = statementOf(json);
    s.predicate.resources[0].digest = '00'.repeat(32);
    json.dsseEnvelope.payload = Buffer.from(JSON.stringify(s, null, 2)).toString('base64');
    expect(() => verifierFor(k.publicKey, r.keyHint).verify(toSignedEntity(bundleFromJSON(json)))).toThrow();
  });
});
