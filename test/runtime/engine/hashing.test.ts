import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import {
  compareResourceNames,
  hashModel,
  hashResources,
  listModelFiles,
  listModelShards,
  rootDigest,
} from '../../../src/runtime/engine/hashing';
import { describeVectors, vectorPath } from '../../helpers/vectors';

const VECTORS = vectorPath('model-transparency');

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-hash-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Creates files under `tmp/model` from a name → content map; returns the model path. */
function makeModel(files: Record<string, string | Buffer>): string {
  const model = path.join(tmp, 'model');
  fs.mkdirSync(model, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(model, name)), { recursive: true });
    fs.writeFileSync(path.join(model, name), content);
  }
  return model;
}

const FILES = { method: 'files' as const, hash_type: 'sha256', allow_symlinks: false };

describe('hashModel', () => {
  test('one sha256 resource per file, digests equal node crypto, sorted like the reference', async () => {
    const model = makeModel({ 'b.bin': 'bbb', 'a/z.txt': 'z', 'a-b': 'dash', 'a/b/c': Buffer.alloc(70_000, 7), 'A': '' });
    const m = await hashModel(model);
    expect(m.resources.map((r) => r.name)).toEqual(['A', 'a/b/c', 'a/z.txt', 'a-b', 'b.bin']);
    expect(m.resources.find((r) => r.name === 'a/b/c')!.digest).toBe(sha256(Buffer.alloc(70_000, 7)));
    expect(m.resources.find((r) => r.name === 'A')!.digest).toBe(sha256(''));
    expect(m.resources.every((r) => r.algorithm === 'sha256')).toBe(true);
    expect(m.serialization).toEqual({
      method: 'files',
      hash_type: 'sha256',
      allow_symlinks: false,
      ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore'],
    });
  });

  test('compareResourceNames sorts component by component, by code point', () => {
    const names = ['a-b', 'a/b', 'a', 'é', 'z', '\u{1F600}', '\uFFFD'];
    expect([...names].sort(compareResourceNames)).toEqual(['a', 'a/b', 'a-b', 'z', 'é', '\uFFFD', '\u{1F600}']);
    // Single components: code-point order is UTF-8 byte order.
    const alphabet = ['a', 'b', 'é', '\uE000', '\uFFFD', '\u{10000}', '\u{1F600}', '.', '-'];
    const words = Array.from({ length: 300 }, (_, i) => Array.from({ length: 1 + (i % 4) }, (__, k) => alphabet[(i * 7 + k * 13 + i * k) % alphabet.length]).join(''));
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(compareResourceNames)).toEqual(byBytes);
  });

  test('leaves out top-level git paths by default, and keeps them with ignoreGitPaths: false', async () => {
    const model = makeModel({ '.git/HEAD': 'ref', '.gitignore': 'x', '.gitattributes': 'y', '.github/ci.yml': 'z', 'w': 'w', 'sub/.gitignore': 'kept' });
    expect((await hashModel(model)).resources.map((r) => r.name)).toEqual(['sub/.gitignore', 'w']);
    const all = await hashModel(model, { ignoreGitPaths: false });
    expect(all.resources.map((r) => r.name)).toEqual(['.git/HEAD', '.gitattributes', '.github/ci.yml', '.gitignore', 'sub/.gitignore', 'w']);
    expect(all.serialization.ignore_paths).toEqual([]);
  });

  test('ignore paths: absolute or cwd-relative, files and directories, recorded relative to the root', async () => {
    const model = makeModel({ 'keep': 'k', 'README.md': 'r', 'logs/a': 'a', 'logs/b': 'b', 'logsx': 'x' });
    const rel = path.relative(process.cwd(), path.join(model, 'README.md'));
    const outside = path.join(tmp, 'elsewhere');
    const m = await hashModel(model, { ignorePaths: [path.join(model, 'logs') + '/', rel, outside] });
    expect(m.resources.map((r) => r.name)).toEqual(['keep', 'logsx']);
    expect(m.serialization.ignore_paths).toEqual(['.git', '.gitattributes', '.github', '.gitignore', 'README.md', 'logs']);
  });

  test('modelIgnorePaths are relative to the model root and validated', async () => {
    const model = makeModel({ 'keep': 'k', 'skip/x': 'x' });
    const m = await hashModel(model, { modelIgnorePaths: ['skip/'], ignoreGitPaths: false });
    expect(m.resources.map((r) => r.name)).toEqual(['keep']);
    expect(m.serialization.ignore_paths).toEqual(['skip']);
    await expect(hashModel(model, { modelIgnorePaths: ['../x'] })).rejects.toThrow(UsageError);
    await expect(hashModel(model, { modelIgnorePaths: ['/abs'] })).rejects.toThrow(UsageError);
  });

  test('the signature file is left out and recorded when inside the model, and ignored when outside', async () => {
    const model = makeModel({ 'w': 'w', 'model.sig': '{}' });
    const inside = await hashModel(model, { signaturePath: path.join(model, 'model.sig') });
    expect(inside.resources.map((r) => r.name)).toEqual(['w']);
    expect(inside.serialization.ignore_paths).toContain('model.sig');
    const outside = await hashModel(model, { signaturePath: path.join(tmp, 'model.sig') });
    expect(outside.resources.map((r) => r.name)).toEqual(['model.sig', 'w']);
    expect(outside.serialization.ignore_paths).not.toContain('model.sig');
  });

  test('a single-file model has one resource named "." (as the reference does)', async () => {
    const file = path.join(tmp, 'weights.bin');
    fs.writeFileSync(file, 'signme-1\n');
    const m = await hashModel(file);
    expect(m.resources).toEqual([{ name: '.', algorithm: 'sha256', digest: sha256('signme-1\n') }]);
    expect(await listModelFiles(file)).toEqual(['.']);
  });

  test('an empty model is rejected, naming the path', async () => {
    const model = makeModel({ '.gitignore': 'x' });
    fs.mkdirSync(path.join(model, 'empty-dir'));
    await expect(hashModel(model)).rejects.toThrow(UsageError);
    await expect(hashModel(model)).rejects.toThrow(model);
  });

  test('a missing model path is a UsageError naming it', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(hashModel(missing)).rejects.toThrow(UsageError);
    await expect(hashModel(missing)).rejects.toThrow(missing);
  });

  test('a symlink is rejected unless allowed', async () => {
    const model = makeModel({ real: 'data' });
    fs.symlinkSync('real', path.join(model, 'link'));
    await expect(hashModel(model)).rejects.toThrow(UsageError);
    await expect(hashModel(model)).rejects.toThrow(path.join(model, 'link'));
    const m = await hashModel(model, { allowSymlinks: true });
    expect(m.resources).toEqual([
      { name: 'link', algorithm: 'sha256', digest: sha256('data') },
      { name: 'real', algorithm: 'sha256', digest: sha256('data') },
    ]);
    expect(m.serialization.allow_symlinks).toBe(true);
  });

  test('an allowed symlink to a directory inside the model is walked', async () => {
    const model = makeModel({ 'd/f': 'f' });
    fs.symlinkSync('d', path.join(model, 'e'));
    expect(await listModelFiles(model, { allowSymlinks: true })).toEqual(['d/f', 'e/f']);
  });

  test('a symlink that escapes the model is rejected even when symlinks are allowed', async () => {
    const model = makeModel({ w: 'w' });
    fs.writeFileSync(path.join(tmp, 'secret'), 's');
    fs.symlinkSync(path.join(tmp, 'secret'), path.join(model, 'escape'));
    await expect(hashModel(model, { allowSymlinks: true })).rejects.toThrow(/outside the model/);
  });

  test('symlink loops are rejected even when symlinks are allowed', async () => {
    const model = makeModel({ 'd/w': 'w' });
    fs.symlinkSync('..', path.join(model, 'd', 'up'));
    await expect(hashModel(model, { allowSymlinks: true })).rejects.toThrow(/loops/);
    fs.rmSync(path.join(model, 'd', 'up'));
    fs.symlinkSync('b', path.join(model, 'a'));
    fs.symlinkSync('a', path.join(model, 'b'));
    await expect(hashModel(model, { allowSymlinks: true })).rejects.toThrow(/loop/);
  });

  test('special files are rejected', async () => {
    const model = makeModel({ w: 'w' });
    const net = await import('net');
    const sock = path.join(model, 's.sock');
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      await expect(hashModel(model)).rejects.toThrow(/special file/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('the worker pool gives the same manifest as the calling thread', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) files[`part-${i}.bin`] = Buffer.alloc(100_000 + i * 9_999, i);
    files['big.bin'] = Buffer.alloc(9 * 1024 * 1024 + 17, 3); // more than two 4 MiB chunks, not aligned
    const model = makeModel(files);
    const here = await hashModel(model, { workers: 0 });
    const pool = await hashModel(model, { workers: 3 });
    expect(pool).toEqual(here);
    expect(here.resources.find((r) => r.name === 'big.bin')!.digest).toBe(sha256(files['big.bin']));
  });

  test('progress is reported and ends at the total', async () => {
    const model = makeModel({ a: Buffer.alloc(1000), b: Buffer.alloc(500) });
    const calls: Array<[number, number]> = [];
    await hashModel(model, { workers: 1, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls[calls.length - 1]).toEqual([1500, 1500]);
  });
});

describe('hashResources', () => {
  test('hashes listed files in the given order, never re-sorted', async () => {
    const model = makeModel({ 'a': 'A', 'b/c': 'C' });
    const out = await hashResources(model, [{ name: 'b/c' }, { name: 'a' }], FILES);
    expect(out).toEqual([
      { name: 'b/c', algorithm: 'sha256', digest: sha256('C') },
      { name: 'a', algorithm: 'sha256', digest: sha256('A') },
    ]);
    expect(await hashResources(model, [{ name: 'b/c' }, { name: 'a' }], FILES, { workers: 2 })).toEqual(out);
  });

  test.each([
    ['../etc/passwd', /\.\./],
    ['a/../../x', /\.\./],
    ['/etc/passwd', /absolute/],
    ['a//b', /canonical/],
    ['./a', /canonical/],
    ['', /not a valid/],
  ])('rejects the resource name %j with a VerificationError', async (name, msg) => {
    const model = makeModel({ a: 'A' });
    const p = hashResources(model, [{ name }], FILES);
    await expect(p).rejects.toThrow(VerificationError);
    await expect(hashResources(model, [{ name }], FILES)).rejects.toThrow(msg);
  });

  test('rejects duplicate names, missing files, directories and unsupported hash types', async () => {
    const model = makeModel({ 'a': 'A', 'd/x': 'x' });
    await expect(hashResources(model, [{ name: 'a' }, { name: 'a' }], FILES)).rejects.toThrow(/twice/);
    await expect(hashResources(model, [{ name: 'gone' }], FILES)).rejects.toThrow(VerificationError);
    await expect(hashResources(model, [{ name: 'd' }], FILES)).rejects.toThrow(/not a regular file/);
    await expect(hashResources(model, [{ name: 'a' }], { ...FILES, hash_type: 'blake2' })).rejects.toThrow(VerificationError);
  });

  test('symlinks follow the payload policy and never leave the model', async () => {
    const model = makeModel({ real: 'data' });
    fs.symlinkSync('real', path.join(model, 'link'));
    await expect(hashResources(model, [{ name: 'link' }], FILES)).rejects.toThrow(VerificationError);
    const ok = await hashResources(model, [{ name: 'link' }], { ...FILES, allow_symlinks: true });
    expect(ok[0].digest).toBe(sha256('data'));
    fs.writeFileSync(path.join(tmp, 'secret'), 's');
    fs.symlinkSync(path.join(tmp, 'secret'), path.join(model, 'escape'));
    await expect(hashResources(model, [{ name: 'escape' }], { ...FILES, allow_symlinks: true })).rejects.toThrow(/outside the model/);
  });

  test('"." names the file of a single-file model', async () => {
    const file = path.join(tmp, 'm.bin');
    fs.writeFileSync(file, 'x');
    expect(await hashResources(file, [{ name: '.' }], FILES)).toEqual([{ name: '.', algorithm: 'sha256', digest: sha256('x') }]);
    await expect(hashResources(file, [{ name: 'm.bin' }], FILES)).rejects.toThrow(VerificationError);
  });

  test('shards: hashes byte ranges and checks them', async () => {
    const data = Buffer.from('0123456789abcdefghij'); // 20 bytes
    const model = makeModel({ 'w.bin': data, 'empty': '' });
    const SHARDS = { method: 'shards' as const, hash_type: 'sha256', allow_symlinks: false, shard_size: 8 };
    const names = await listModelShards(model, 8);
    expect(names).toEqual(['w.bin:0:8', 'w.bin:8:16', 'w.bin:16:20']);
    const out = await hashResources(model, names.map((name) => ({ name })), SHARDS);
    expect(out.map((r) => r.digest)).toEqual([sha256(data.subarray(0, 8)), sha256(data.subarray(8, 16)), sha256(data.subarray(16, 20))]);
    const pooled = await hashResources(model, names.reverse().map((name) => ({ name })), SHARDS, { workers: 2 });
    expect(pooled.map((r) => r.digest)).toEqual([...out.map((r) => r.digest)].reverse());
    await expect(hashResources(model, [{ name: 'w.bin:16:24' }], SHARDS)).rejects.toThrow(/beyond the end/);
    await expect(hashResources(model, [{ name: 'w.bin:0:9' }], SHARDS)).rejects.toThrow(/invalid range/);
    await expect(hashResources(model, [{ name: 'w.bin:0' }], SHARDS)).rejects.toThrow(/path:start:end/);
    await expect(hashResources(model, [{ name: '../w.bin:0:8' }], SHARDS)).rejects.toThrow(VerificationError);
    await expect(hashResources(model, [{ name: 'w.bin:0:8' }], { ...SHARDS, shard_size: undefined })).rejects.toThrow(/shard_size/);
  });
});

describe('rootDigest', () => {
  test('is SHA-256 over the raw digests in the given order', () => {
    const d1 = sha256('1');
    const d2 = sha256('2');
    const expected = createHash('sha256').update(Buffer.from(d1 + d2, 'hex')).digest('hex');
    expect(rootDigest([{ name: 'a', digest: d1 }, { name: 'b', digest: d2 }])).toBe(expected);
    expect(rootDigest([{ name: 'b', digest: d2 }, { name: 'a', digest: d1 }])).not.toBe(expected);
    expect(() => rootDigest([{ name: 'a', digest: 'xyz' }])).toThrow(VerificationError);
  });
});

describeVectors('reference vectors (sigstore/model-transparency)', () => {
  const dir = path.join(VECTORS, 'v1.1.0-elliptic-key');

  test('v1.1.0 model hashes to the expected root digest and predicate', async () => {
    const m = await hashModel(dir, { ignorePaths: [path.join(dir, 'ignore-me')], signaturePath: path.join(dir, 'model.sig') });
    expect(rootDigest(m.resources)).toBe('92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'model.sig'), 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(m.resources).toEqual(statement.predicate.resources.map((r: any) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest })));
    // The reference records a Python set: same members, arbitrary order.
    expect([...m.serialization.ignore_paths].sort()).toEqual([...statement.predicate.serialization.ignore_paths].sort());
  });

  test('v1.1.0 payload ignore_paths, passed as modelIgnorePaths, reproduce the payload', async () => {
    const m = await hashModel(dir, { modelIgnorePaths: ['ignore-me', 'model.sig'] });
    expect(rootDigest(m.resources)).toBe('92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
    const again = await hashResources(dir, m.resources, FILES);
    expect(rootDigest(again)).toBe(rootDigest(m.resources));
  });

  test('v1.0.0 single-file model: resource "." and its root digest', async () => {
    const m = await hashModel(path.join(VECTORS, 'v1.0.0-elliptic-key', 'signme-1'));
    expect(m.resources.map((r) => r.name)).toEqual(['.']);
    expect(rootDigest(m.resources)).toBe('afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b');
  });
});
