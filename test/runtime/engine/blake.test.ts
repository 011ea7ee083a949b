/**
 * Every OMS hash algorithm: sha256, blake2b (64-byte, unkeyed) and blake3 (32-byte), hashed here and checked
 * against @noble/hashes (an independent pure-JS implementation) and Python's defaults; signed manifests verify, fail
 * on a one-byte change in any file, and validate against the OMS predicate schema.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import { VerificationError } from '../../../src/runtime/codec/errors';
import { blake3Backend, createHasher, HASH_ALGORITHMS, HashAlgorithm } from '../../../src/runtime/engine/blake';
import { serializeBundle } from '../../../src/runtime/engine/bundle';
import { hashModel, hashResources, listModelShards, rootDigest } from '../../../src/runtime/engine/hashing';
import { signModel } from '../../../src/runtime/engine/sign';
import { PREDICATE_TYPE } from '../../../src/runtime/engine/statement';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { bundleFor, cleanup, ecKey, statementOf, tempDir } from '../../fixtures/models';
import { describeVectors, vectorPath } from '../../helpers/vectors';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

type Blake2 = typeof import('@noble/hashes/blake2.js', { with: { 'resolution-mode': 'import' } });
type Blake3 = typeof import('@noble/hashes/blake3.js', { with: { 'resolution-mode': 'import' } });
// @noble/hashes 2.x is ESM-only: a CommonJS test file reaches it through import()
let noble: { blake2b: Blake2['blake2b']; blake3: Blake3['blake3'] };
beforeAll(async () => {
  noble = { blake2b: (await import('@noble/hashes/blake2.js')).blake2b, blake3: (await import('@noble/hashes/blake3.js')).blake3 };
});

/** Reference digests from the implementations the reference model_signing uses (Python hashlib, blake3-py). */
const ABC = {
  sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  blake2b: 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
  blake3: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
};

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

/** A model with files of awkward sizes: empty, one byte, around the 128 KiB and 1 MiB read sizes. */
function makeModel(): { model: string; files: Record<string, Buffer> } {
  const model = path.join(dir, 'model');
  fs.mkdirSync(path.join(model, 'sub'), { recursive: true });
  const files: Record<string, Buffer> = {
    'empty.bin': Buffer.alloc(0),
    'one.bin': Buffer.from('x'),
    'weights.bin': randomBytes(3 * 1024 * 1024 + 7),
    'sub/tokenizer.json': randomBytes(128 * 1024 + 1),
  };
  for (const [name, data] of Object.entries(files)) {
    fs.writeFileSync(path.join(model, name), data);
  }
  return { model, files };
}

function oracle(algorithm: HashAlgorithm, data: Buffer): string {
  if (algorithm === 'blake2b') {
    return hex(noble.blake2b(data, { dkLen: 64 }));
  }
  if (algorithm === 'blake3') {
    return hex(noble.blake3(data));
  }
  return createHash('sha256').update(data).digest('hex');
}

describe('hash implementations', () => {
  test.each(HASH_ALGORITHMS)('%s of "abc" is what Python\'s hashlib / blake3 defaults give', async (algorithm) => {
    const h = await createHasher(algorithm);
    h.update(Buffer.from('abc'));
    expect(h.digest().toString('hex')).toBe(ABC[algorithm]);
  });

  test.each(HASH_ALGORITHMS)('%s streams: any chunking gives the one-shot digest of @noble/hashes', async (algorithm) => {
    const data = randomBytes(1024 * 1024 + 3);
    const h = await createHasher(algorithm);
    for (let pos = 0; pos < data.length; pos += 65537) {
      h.update(data.subarray(pos, pos + 65537));
    }
    expect(h.digest().toString('hex')).toBe(oracle(algorithm, data));
  });

  test('BLAKE3 uses the native module here', () => {
    expect(blake3Backend()).toBe('native');
  });

  test('without the native module BLAKE3 falls back to the bundled WebAssembly build: the same digests, and a notice saying how to install it', async () => {
    await jest.isolateModulesAsync(async () => {
      jest.doMock('@napi-rs/blake-hash', () => {
        throw new Error('Cannot find module \'@napi-rs/blake-hash-linux-x64-musl\'');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const isolated = require('../../../src/runtime/engine/blake') as typeof import('../../../src/runtime/engine/blake');
      expect(isolated.blake3Backend()).toBe('wasm');
      expect(isolated.nativeBlake3Path()).toBeUndefined();
      expect(isolated.blake3FallbackNotice()).toMatch(
        /^BLAKE3 is computed with the bundled WebAssembly build \(correct, about 8x slower\): the native module @napi-rs\/blake-hash is not available for linux-x64 \(Cannot find module '@napi-rs\/blake-hash-linux-x64-musl'\); install it beside modelseal \(npm install @napi-rs\/blake-hash\) for the fast path$/);
      const data = randomBytes(300_001);
      const h = await isolated.createHasher('blake3');
      h.update(data.subarray(0, 1000));
      h.update(data.subarray(1000));
      expect(h.digest().toString('hex')).toBe(oracle('blake3', data));
    });
  });

  test('an unknown algorithm is refused', async () => {
    await expect(createHasher('md5')).rejects.toThrow('unknown hash algorithm "md5"; expected one of sha256, blake2b, blake3');
    await expect(hashModel(dir, { algorithm: 'sha1' as HashAlgorithm })).rejects.toThrow(/hash algorithm "sha1" is not an OMS algorithm/);
  });
});

describe.each(HASH_ALGORITHMS)('models hashed with %s', (algorithm) => {
  test('every file\'s digest equals the oracle\'s, on the calling thread and on worker threads', async () => {
    const { model, files } = makeModel();
    for (const workers of [0, 2]) {
      const m = await hashModel(model, { algorithm, workers });
      expect(m.serialization.hash_type).toBe(algorithm);
      expect(m.resources.map((r) => [r.name, r.algorithm, r.digest])).toEqual(
        Object.keys(files).sort().map((n) => [n, algorithm, oracle(algorithm, files[n])]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    }
  });

  test('a signed manifest verifies; a one-byte change in any file fails, naming the file', async () => {
    const { model, files } = makeModel();
    const k = ecKey('P-256');
    const sig = path.join(dir, 'model.sig');
    const signed = await signModel(model, new LocalKeySigner(k.privateKey), { algorithm, signaturePath: sig });
    const r = await verifyModel(model, sig, { publicKey: k.publicKey });
    expect(r.rootDigest).toBe(signed.rootDigest);
    expect(r.statement.manifest.serialization.hash_type).toBe(algorithm);
    for (const name of Object.keys(files)) {
      const file = path.join(model, name);
      const original = fs.readFileSync(file);
      const changed = original.length === 0 ? Buffer.from([0]) : Buffer.from(original);
      if (original.length > 0) {
        changed[Math.floor(changed.length / 2)] ^= 0x01;
      }
      fs.writeFileSync(file, changed);
      const err = await verifyModel(model, sig, { publicKey: k.publicKey }).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(VerificationError);
      expect(err!.message).toMatch(new RegExp(`^${model} does not match the signature: 1 changed file\\(s\\): ${name.replace('.', '\\.')} \\(signed ${algorithm}:[0-9a-f]+, on disk ${algorithm}:[0-9a-f]+\\)$`));
      fs.writeFileSync(file, original);
    }
  });
});

describe('shards', () => {
  test('blake2b shards verify (the reference can produce them); blake3 shards are refused (the reference never does)', async () => {
    const { model } = makeModel();
    const k = ecKey('P-256');
    const names = await listModelShards(model, 1_000_000);
    const serialization = { method: 'shards' as const, hash_type: 'blake2b', allow_symlinks: false, shard_size: 1_000_000, ignore_paths: [] as string[] };
    const resources = await hashResources(model, names.map((name) => ({ name })), serialization);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: rootDigest(resources) } }],
      predicateType: PREDICATE_TYPE,
      predicate: { resources, serialization },
    };
    const sig = path.join(dir, 'shards.sig');
    fs.writeFileSync(sig, serializeBundle(await bundleFor(statement, k.privateKey)));
    await expect(verifyModel(model, sig, { publicKey: k.publicKey })).resolves.toMatchObject({ resourceCount: names.length });

    await expect(hashResources(model, [{ name: 'weights.bin:0:10' }], { ...serialization, hash_type: 'blake3' }))
      .rejects.toThrow('serialization hashes shards with blake3, which the reference never does (it hashes whole files with BLAKE3); refusing it');
  });
});

describeVectors('OMS predicate schema', () => {
  const schema = JSON.parse(fs.readFileSync(vectorPath('spec', 'schemas', 'v1.0', 'predicate.schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

  test.each(HASH_ALGORITHMS)('a %s manifest signed here validates against the spec\'s predicate schema', async (algorithm) => {
    const { model } = makeModel();
    const signed = await signModel(model, new LocalKeySigner(ecKey('P-256').privateKey), { algorithm });
    const predicate = statementOf(signed.bundle).predicate;
    expect(predicate.serialization.hash_type).toBe(algorithm);
    expect(new Set(predicate.resources.map((r: { algorithm: string }) => r.algorithm))).toEqual(new Set([algorithm]));
    expect(validate(predicate)).toBe(true);
    expect(validate.errors ?? null).toBeNull();
  });
});
