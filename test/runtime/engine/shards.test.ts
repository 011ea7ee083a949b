/**
 * The `shards` serialization: verification of a sharded manifest, and what `--ignore-unsigned-files` may accept.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { VerificationError } from '../../../src/runtime/codec/errors';
import { signManifest } from '../../../src/runtime/engine/sign';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { cleanup, ecKey, tempDir } from '../../fixtures/models';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('shards', () => {
  let dir: string;
  let model: string;
  let sig: string;
  let key: ReturnType<typeof ecKey>;

  beforeEach(async () => {
    dir = tempDir('modelseal-shards-');
    model = path.join(dir, 'model');
    fs.mkdirSync(model);
    const weights = Buffer.from('0123456789abcdef');
    fs.writeFileSync(path.join(model, 'w:1.bin'), weights); // a ':' in the path must not confuse shard names
    key = ecKey('P-256');
    sig = path.join(dir, 'model.sig');
    await signManifest('model', {
      resources: [
        { name: 'w:1.bin:0:8', algorithm: 'sha256', digest: sha(weights.subarray(0, 8)) },
        { name: 'w:1.bin:8:16', algorithm: 'sha256', digest: sha(weights.subarray(8, 16)) },
      ],
      serialization: { method: 'shards', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [], shard_size: 8 },
    }, new LocalKeySigner(key.privateKey), sig);
  });
  afterEach(() => cleanup(dir));

  test('a sharded signature verifies, shard by shard', async () => {
    const r = await verifyModel(model, sig, { publicKey: key.publicKey });
    expect(r.resourceCount).toBe(2);
  });

  test('a changed shard fails naming it', async () => {
    const f = path.join(model, 'w:1.bin');
    fs.writeFileSync(f, Buffer.from('0123456789abcdeX'));
    await expect(verifyModel(model, sig, { publicKey: key.publicKey })).rejects.toThrow(/w:1\.bin:8:16/);
  });

  test('bytes appended to a signed file never verify, not even with --ignore-unsigned-files', async () => {
    fs.appendFileSync(path.join(model, 'w:1.bin'), 'EVILPAYLOAD');
    const err = await verifyModel(model, sig, { publicKey: key.publicKey }, { ignoreUnsignedFiles: true }).catch((e) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toMatch(/1 changed file\(s\): w:1\.bin \(has bytes beyond its signed shards: signed 16 bytes, 27 bytes on disk\)/);
  });

  test('--ignore-unsigned-files still accepts a whole file the signature never mentions', async () => {
    fs.writeFileSync(path.join(model, 'README.md'), 'notes');
    await expect(verifyModel(model, sig, { publicKey: key.publicKey })).rejects.toThrow(/does not cover: README\.md \(/);
    const r = await verifyModel(model, sig, { publicKey: key.publicKey }, { ignoreUnsignedFiles: true });
    expect(r.unsignedFiles).toEqual(['README.md']);
  });
});
