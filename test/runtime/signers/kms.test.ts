import { createHash, verify as cryptoVerify } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SignCommand } from '@aws-sdk/client-kms';
import { main } from '../../../src/runtime/cli/main';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { signModel } from '../../../src/runtime/engine/sign';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { kmsError, kmsPublicKey, KmsSigner, parseKmsKeyId } from '../../../src/runtime/signers/kms';
import { cleanup, makeModel, tempDir } from '../../fixtures/models';
import { KmsMock } from '../../helpers/kms-mock';

/** A DSSE PAE-shaped message. */
const PAE = Buffer.from('DSSEv1 28 application/vnd.in-toto+json 2 {}');

let kms: KmsMock;
beforeEach(async () => {
  kms = await KmsMock.create();
});
afterEach(() => kms.restore());

describe('KmsSigner round trip against a mocked KMS with real keys', () => {
  test.each([
    ['ECC_NIST_P256', 'sha256', 'ECDSA_SHA_256', 32],
    ['ECC_NIST_P384', 'sha384', 'ECDSA_SHA_384', 48],
  ] as const)('%s: DER signature verifies over the PAE; KMS saw only a %s digest', async (keySpec, hash, algorithm, digestLength) => {
    const key = kms.addKey({ keySpec });
    const signer = await KmsSigner.open({ keyId: key.keyId, client: kms.client });
    const big = Buffer.alloc(64 * 1024, 7); // far over KMS's 4096-byte RAW limit
    for (const message of [PAE, big]) {
      const sig = await signer.sign(message);
      expect(sig[0]).toBe(0x30);
      expect(cryptoVerify(hash, message, key.publicKey, sig)).toBe(true);
      expect(cryptoVerify(hash, Buffer.concat([message, Buffer.from('x')]), key.publicKey, sig)).toBe(false);
    }
    const calls = kms.signCalls();
    expect(calls).toHaveLength(2);
    for (const [i, call] of calls.entries()) {
      expect(call.MessageType).toBe('DIGEST');
      expect(call.SigningAlgorithm).toBe(algorithm);
      expect(call.KeyId).toBe(key.keyId);
      expect(call.Message).toHaveLength(digestLength);
      expect(Buffer.from(call.Message!)).toEqual(createHash(hash).update(i === 0 ? PAE : big).digest());
    }
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(await signer.verificationMaterial()).toEqual({ publicKey: { hint: createHash('sha256').update(pem).digest('hex') } });
    expect((await signer.publicKey()).equals(key.publicKey)).toBe(true);
    expect(signer.info.keyArn).toBe(key.arn);
    await signer.close();
    await signer.close();
    await expect(signer.sign(PAE)).rejects.toThrow(/closed/);
  });

  test.each(['alias', 'alias ARN', 'key ARN'])('the key can be named by %s; Sign uses the reference as given', async (form) => {
    const key = kms.addKey({ keySpec: 'ECC_NIST_P256', aliases: ['alias/model-signing'] });
    const keyId = form === 'alias' ? 'alias/model-signing' : form === 'alias ARN' ? 'arn:aws:kms:us-east-1:111122223333:alias/model-signing' : key.arn;
    const signer = await KmsSigner.open({ keyId, client: kms.client });
    expect(cryptoVerify('sha256', PAE, key.publicKey, await signer.sign(PAE))).toBe(true);
    expect(kms.signCalls()[0].KeyId).toBe(keyId);
    await signer.close();
  });

  test('an alias moved to another key after open is caught before the signature is returned', async () => {
    kms.addKey({ keySpec: 'ECC_NIST_P256', aliases: ['alias/model-signing'] });
    const other = kms.addKey({ keySpec: 'ECC_NIST_P256' });
    const signer = await KmsSigner.open({ keyId: 'alias/model-signing', client: kms.client });
    kms.moveAlias('alias/model-signing', other);
    await expect(signer.sign(PAE)).rejects.toThrow(/"alias\/model-signing" returned a signature that does not verify .* may have been moved/);
  });

  test('kmsPublicKey returns the key and checks it', async () => {
    const key = kms.addKey({ keySpec: 'ECC_NIST_P384', aliases: ['alias/verify-me'] });
    expect((await kmsPublicKey('alias/verify-me', { client: kms.client })).equals(key.publicKey)).toBe(true);
    const rsa = kms.addKey({ keySpec: 'RSA_2048' });
    await expect(kmsPublicKey(rsa.keyId, { client: kms.client })).rejects.toThrow(/has KeySpec RSA_2048; OMS signing needs ECC_NIST_P256 or ECC_NIST_P384/);
  });
});

describe('the KMS mock is as strict as the signer needs', () => {
  test('it refuses RAW messages, wrong digest lengths and mismatched algorithms', async () => {
    const key = kms.addKey({ keySpec: 'ECC_NIST_P256' });
    const send = async (input: Partial<ConstructorParameters<typeof SignCommand>[0]>) =>
      kms.client.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.alloc(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256', ...input }));
    await expect(send({ MessageType: 'RAW' })).rejects.toThrow(/MessageType must be DIGEST/);
    await expect(send({ Message: Buffer.alloc(31) })).rejects.toThrow(/Digest is invalid length/);
    await expect(send({ SigningAlgorithm: 'ECDSA_SHA_384' })).rejects.toThrow(/incompatible with key spec/);
    await expect(send({})).resolves.toMatchObject({ SigningAlgorithm: 'ECDSA_SHA_256' });
  });
});

describe('KmsSigner errors name the key and the fix', () => {
  test('unknown key or alias', async () => {
    const open = KmsSigner.open({ keyId: 'alias/nope', client: kms.client });
    await expect(open).rejects.toThrow(UsageError);
    await expect(KmsSigner.open({ keyId: 'alias/nope', client: kms.client })).rejects.toThrow(
      /KMS key "alias\/nope" was not found .*check the key id or alias and the region/,
    );
  });

  test('access denied on GetPublicKey and on Sign', async () => {
    const denied = kms.addKey({ keySpec: 'ECC_NIST_P256', denyAll: true });
    await expect(KmsSigner.open({ keyId: denied.keyId, client: kms.client })).rejects.toThrow(
      new RegExp(`access denied: kms:GetPublicKey on KMS key "${denied.keyId}"`),
    );
    const noSign = kms.addKey({ keySpec: 'ECC_NIST_P256', denySign: true });
    const signer = await KmsSigner.open({ keyId: noSign.keyId, client: kms.client });
    await expect(signer.sign(PAE)).rejects.toThrow(/access denied: kms:Sign on KMS key .* needs kms:Sign on the key with kms:MessageType DIGEST/);
  });

  test('disabled key', async () => {
    const key = kms.addKey({ keySpec: 'ECC_NIST_P256', disabled: true });
    await expect(KmsSigner.open({ keyId: key.arn, client: kms.client })).rejects.toThrow(`KMS key "${key.arn}" is disabled`);
  });

  test('wrong key spec or usage', async () => {
    const rsa = kms.addKey({ keySpec: 'RSA_2048' });
    await expect(KmsSigner.open({ keyId: rsa.keyId, client: kms.client })).rejects.toThrow(/KeySpec RSA_2048/);
    const sym = kms.addKey({ keySpec: 'SYMMETRIC_DEFAULT' });
    await expect(KmsSigner.open({ keyId: sym.keyId, client: kms.client })).rejects.toThrow(/KeyUsage ENCRYPT_DECRYPT; OMS signing needs a SIGN_VERIFY key/);
    const enc = kms.addKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'ENCRYPT_DECRYPT' });
    await expect(KmsSigner.open({ keyId: enc.keyId, client: kms.client })).rejects.toThrow(UsageError);
  });

  test('malformed references and contradicting regions are refused before any call', async () => {
    for (const bad of ['my-key', 'alias/', 'arn:aws:kms:us-east-1:111122223333:key/not-a-uuid', 'arn:aws:s3:::bucket']) {
      expect(() => parseKmsKeyId(bad)).toThrow(new RegExp(`"${bad.replace(/[/.*]/g, '\\$&')}" is not a KMS key reference`));
    }
    expect(parseKmsKeyId('arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/x')).toEqual({ region: 'us-gov-west-1' });
    expect(parseKmsKeyId('mrk-1234abcd12ab34cd56ef1234567890ab')).toEqual({});
    await expect(
      KmsSigner.open({ keyId: 'arn:aws:kms:eu-west-1:111122223333:alias/x', region: 'us-east-1', client: kms.client }),
    ).rejects.toThrow(/is in region eu-west-1, but region us-east-1 was given/);
    expect(kms.stub.calls()).toHaveLength(0);
  });

  test('SDK errors without a KMS name are mapped too', () => {
    expect(kmsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'alias/x', 'kms:Sign'))
      .toEqual(new UsageError('no AWS credentials for kms:Sign on KMS key "alias/x" (Could not load credentials from any providers); configure credentials (role, profile or environment)'));
    expect(kmsError(new Error('Region is missing'), 'alias/x', 'kms:GetPublicKey').message).toMatch(/no AWS region for KMS key "alias\/x"; pass a region/);
    const throttled = kmsError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), 'alias/x', 'kms:Sign');
    expect(throttled).not.toBeInstanceOf(UsageError);
    expect(throttled.message).toBe('kms:Sign on KMS key "alias/x" failed: ThrottlingException: Rate exceeded');
  });
});

describe('KMS-signed OMS bundles verify with the engine', () => {
  test.each(['ECC_NIST_P256', 'ECC_NIST_P384'] as const)('%s: sign, verify with the GetPublicKey key, flip a byte', async (keySpec) => {
    const dir = tempDir();
    try {
      const model = makeModel(dir);
      const sig = path.join(dir, 'model.sig');
      kms.addKey({ keySpec, aliases: ['alias/model-signing'] });
      const signer = await KmsSigner.open({ keyId: 'alias/model-signing', client: kms.client });
      const signed = await signModel(model, signer, { signaturePath: sig });
      await signer.close();
      const publicKey = await kmsPublicKey('alias/model-signing', { client: kms.client });
      const verified = await verifyModel(model, sig, { publicKey });
      expect(verified.rootDigest).toBe(signed.rootDigest);
      expect(verified.keyHint).toBe(signed.keyHint);
      expect(verified.curve).toBe(keySpec === 'ECC_NIST_P256' ? 'P-256' : 'P-384');

      const weights = path.join(model, 'weights.bin');
      const bytes = fs.readFileSync(weights);
      bytes[100] = bytes[100] === 0x41 ? 0x42 : 0x41;
      fs.writeFileSync(weights, bytes);
      const failed = verifyModel(model, sig, { publicKey });
      await expect(failed).rejects.toThrow(VerificationError);
      await expect(verifyModel(model, sig, { publicKey })).rejects.toThrow(/weights\.bin/);
    } finally {
      cleanup(dir);
    }
  });
});

describe('modelseal CLI with --kms-key (every KMSClient mocked)', () => {
  test('sign kms, pubkey --kms-key, verify kms and verify key with the printed key', async () => {
    kms.restore();
    kms = await KmsMock.create({ allClients: true });
    const key = kms.addKey({ keySpec: 'ECC_NIST_P384', aliases: ['alias/model-signing'] });
    const dir = tempDir();
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t), isTTY: false } };
    try {
      const model = makeModel(dir);
      const sig = path.join(dir, 'model.sig');
      expect(await main(['sign', 'kms', model, '--signature', sig, '--kms-key', 'alias/model-signing', '--region', 'us-east-1'], io)).toBe(0);
      expect(kms.signCalls().map((c) => c.MessageType)).toEqual(['DIGEST']);
      expect(await main(['verify', 'kms', model, '--signature', sig, '--kms-key', key.arn], io)).toBe(0);
      out.length = 0;
      expect(await main(['pubkey', '--kms-key', 'alias/model-signing', '--region', 'us-east-1'], io)).toBe(0);
      const pem = out.join('');
      expect(pem).toContain(key.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      fs.writeFileSync(path.join(dir, 'kms.pub'), key.publicKey.export({ type: 'spki', format: 'pem' }));
      expect(await main(['verify', 'key', model, '--signature', sig, '--public-key', path.join(dir, 'kms.pub')], io)).toBe(0);
      out.length = 0;
      expect(await main(['sign', 'kms', model, '--signature', sig, '--kms-key', 'alias/missing', '--region', 'us-east-1'], io)).toBe(2);
      expect(out.join('')).toMatch(/KMS key "alias\/missing" was not found/);
    } finally {
      cleanup(dir);
    }
  });
});
