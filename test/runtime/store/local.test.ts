import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../../../src/runtime/codec/errors';
import { signModel } from '../../../src/runtime/engine/sign';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { StoreConflictError, StoreIntegrityError, StoreNotFoundError } from '../../../src/runtime/store/errors';
import { deriveKey, refBody, refKey, TEMP_PREFIX } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const k = ecKey('P-256');
const ROOT = 'ab'.repeat(32);

let dir: string;
let storeDir: string;
let store: LocalStore;
let model: string;

beforeEach(() => {
  dir = tempDir();
  storeDir = path.join(dir, 'store');
  store = new LocalStore(storeDir);
  model = makeModel(dir);
});
afterEach(() => cleanup(dir));

async function signedBundle(): Promise<{ body: Buffer; root: string; hint: string }> {
  const res = await signModel(model, new LocalKeySigner(k.privateKey));
  return { body: Buffer.from(res.bundleText), root: res.rootDigest, hint: res.keyHint };
}

describe('LocalStore', () => {
  test('publishes a real bundle at its derived key, read-only, and reads it back', async () => {
    const { body, root, hint } = await signedBundle();
    const { key } = deriveKey(body);
    expect(key).toBe(`bundles/sha256/${root}/${hint}/${sha(body)}.sig.json`);
    expect(await store.put(key, body)).toBe('created');
    const file = path.join(storeDir, ...key.split('/'));
    expect(fs.readFileSync(file)).toEqual(body);
    expect(fs.statSync(file).mode & 0o222).toBe(0);
    expect(await store.get(key)).toEqual(body);
    expect(await store.list('bundles/')).toEqual([key]);
    expect(store.uri).toBe(`file://${storeDir}`);
  });

  test('republishing identical bytes is a successful no-op', async () => {
    const { body } = await signedBundle();
    const { key } = deriveKey(body);
    expect(await store.put(key, body)).toBe('created');
    expect(await store.put(key, Buffer.from(body))).toBe('unchanged');
    expect(await store.list('')).toEqual([key]);
  });

  test('a ref is write-once: the same digest again is unchanged, a different one is refused naming the key', async () => {
    const key = refKey('team/llm', '1.0');
    expect(await store.put(key, refBody(ROOT))).toBe('created');
    expect(await store.put(key, refBody(ROOT))).toBe('unchanged');
    const other = refBody('cd'.repeat(32));
    await expect(store.put(key, other)).rejects.toThrow(StoreConflictError);
    await expect(store.put(key, other)).rejects.toThrow(/^refs\/team\/llm\/1\.0 already exists in file:.* with different bytes .*write-once, nothing was written/);
    expect((await store.get(key)).toString()).toBe(`sha256:${ROOT}`);
  });

  test('different bytes already under a content key (written behind the store\'s back) → StoreConflictError', async () => {
    const { body } = await signedBundle();
    const { key } = deriveKey(body);
    const file = path.join(storeDir, ...key.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'squatted');
    const err = await store.put(key, body).catch((e) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect(err.key).toBe(key);
    expect(fs.readFileSync(file, 'utf8')).toBe('squatted');
    // And a read of that key fails closed: the bytes do not hash to the key's <obj>.
    await expect(store.get(key)).rejects.toThrow(StoreIntegrityError);
  });

  test('a content key whose <obj> is not the body\'s hash is refused before writing', async () => {
    const key = `notation/sha256/${ROOT}/${sha('a')}.jws`;
    await expect(store.put(key, Buffer.from('b'))).rejects.toThrow(/refusing to store .* the body hashes to/);
    expect(fs.existsSync(storeDir)).toBe(false);
  });

  test('two signatures by the same signer of the same digest coexist', async () => {
    const a = await signedBundle();
    const b = await signedBundle();
    expect(a.body.equals(b.body)).toBe(false); // ECDSA signatures are randomized
    const ka = deriveKey(a.body).key;
    const kb = deriveKey(b.body).key;
    expect(path.posix.dirname(ka)).toBe(path.posix.dirname(kb));
    expect(await store.put(ka, a.body)).toBe('created');
    expect(await store.put(kb, b.body)).toBe('created');
    expect(await store.list(`bundles/sha256/${a.root}/${a.hint}/`)).toEqual([ka, kb].sort());
  });

  test.each(['bundles/../../etc/passwd', '/etc/passwd', 'bundles\\x', '../x', 'a//b', `refs/${TEMP_PREFIX}x`])('key %j is rejected by put, get and list', async (key) => {
    await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(UsageError);
    await expect(store.get(key)).rejects.toThrow(UsageError);
    await expect(store.list(key)).rejects.toThrow(UsageError);
  });

  test('a store directory that does not exist is a usage error naming it, not an empty store', async () => {
    await expect(store.list('bundles/')).rejects.toThrow(new UsageError(`store ${store.uri} does not exist (no directory ${store.root}); check --store, or publish to it first`));
    await expect(store.tryGet('refs/m/1')).rejects.toThrow(/does not exist \(no directory/);
    fs.writeFileSync(store.root, 'not a directory');
    await expect(store.list('bundles/')).rejects.toThrow(`store ${store.uri} is not a directory (${store.root} is a file)`);
  });

  test('get of a missing key is StoreNotFoundError; tryGet is undefined', async () => {
    fs.mkdirSync(store.root, { recursive: true });
    await expect(store.get('refs/m/1')).rejects.toThrow(StoreNotFoundError);
    await expect(store.get('refs/m/1')).rejects.toThrow(/^refs\/m\/1 does not exist in the store file:/);
    expect(await store.tryGet('refs/m/1')).toBeUndefined();
    expect(await store.list('bundles/')).toEqual([]);
  });

  test('list filters by string prefix, sorts, and skips temp files', async () => {
    await store.put('refs/a/1', refBody(ROOT));
    await store.put('refs/a/2', refBody(ROOT));
    await store.put('refs/ab/1', refBody(ROOT));
    fs.writeFileSync(path.join(storeDir, 'refs', 'a', `${TEMP_PREFIX}123-abc`), 'partial');
    expect(await store.list('refs/a/')).toEqual(['refs/a/1', 'refs/a/2']);
    expect(await store.list('refs/a')).toEqual(['refs/a/1', 'refs/a/2', 'refs/ab/1']);
    expect(await store.list('')).toEqual(['refs/a/1', 'refs/a/2', 'refs/ab/1']);
  });

  test('concurrent puts of one key: one creates, identical bytes are unchanged, different bytes conflict', async () => {
    const key = refKey('m', '1');
    const same = await Promise.all(Array.from({ length: 6 }, () => store.put(key, refBody(ROOT))));
    expect(same.filter((o) => o === 'created')).toHaveLength(1);
    expect(same.filter((o) => o === 'unchanged')).toHaveLength(5);
    const key2 = refKey('m', '2');
    const results = await Promise.allSettled(['11', '22', '33', '44'].map((h) => store.put(key2, refBody(h.repeat(32)))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreConflictError);
    }
    expect(fs.readdirSync(path.join(storeDir, 'refs', 'm')).sort()).toEqual(['1', '2']);
  });

  test('a ref name that extends another ref\'s key is a conflict, not a crash', async () => {
    await store.put(refKey('a/b', '1'), refBody(ROOT));
    await expect(store.put(refKey('a', 'b'), refBody(ROOT))).rejects.toThrow(StoreConflictError);
  });

  test('crash between writing the temp file and linking it: no visible object, and a later put succeeds', async () => {
    const key = refKey('crash', '1');
    // The child kills itself where a crash hurts most: the temp file is written and synced, the link not yet made.
    const script = `
      require('fs').promises.link = () => {
        process.kill(process.pid, 'SIGKILL');
        return new Promise(() => undefined); // SIGKILL is delivered asynchronously; never resolve meanwhile
      };
      const { LocalStore } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/runtime/store/local.ts'))});
      new LocalStore(${JSON.stringify(storeDir)}).put(${JSON.stringify(key)}, Buffer.from(${JSON.stringify(`sha256:${ROOT}`)}))
        .then(() => { console.log('put returned'); process.exit(0); }, (e) => { console.error(e); process.exit(3); });
    `;
    const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: path.resolve(__dirname, '../../..'),
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.stdout).not.toMatch(/put returned/);
    expect(child.signal).toBe('SIGKILL');
    // The child got as far as the complete, synced temp file...
    const leftovers = fs.readdirSync(path.join(storeDir, 'refs', 'crash'));
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0].startsWith(TEMP_PREFIX)).toBe(true);
    // ...but nothing is visible at the key, and the temp file is no key.
    expect(await store.tryGet(key)).toBeUndefined();
    expect(await store.list('')).toEqual([]);
    expect(await store.put(key, refBody(ROOT))).toBe('created');
    expect((await store.get(key)).toString()).toBe(`sha256:${ROOT}`);
    expect(await store.list('')).toEqual([key]);
  }, 180_000);
});
