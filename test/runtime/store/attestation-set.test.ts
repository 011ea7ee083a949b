import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { signModel } from '../../../src/runtime/engine/sign';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { fetchAttestationSet } from '../../../src/runtime/store/attestation-set';
import { deriveKey } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
import type { ReadOptions } from '../../../src/runtime/store/types';
import { bundleFor, cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ci = ecKey('P-256');
const compliance = ecKey('P-384');

let dir: string;
let store: LocalStore;
let root: string;
let bundle: Buffer;

async function attestation(predicateType: string, key = ci.privateKey, subjectRoot = root): Promise<Buffer> {
  const st = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'model', digest: { sha256: subjectRoot } }], predicateType, predicate: { a: 1 } };
  return Buffer.from(JSON.stringify(await bundleFor(st, key)));
}

function notation(r: string): Buffer {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return Buffer.from(JSON.stringify({
    payload: enc({ targetArtifact: { mediaType: 'application/vnd.modelseal.model.v1', digest: `sha256:${r}`, size: 0 } }),
    protected: enc({ alg: 'ES384', cty: 'application/vnd.cncf.notary.payload.v1+json' }),
    header: {},
    signature: 'c2ln',
  }));
}

async function publish(body: Buffer): Promise<string> {
  const { key } = deriveKey(body);
  await store.put(key, body);
  return key;
}

beforeEach(async () => {
  dir = tempDir();
  store = new LocalStore(path.join(dir, 'store'));
  const res = await signModel(makeModel(dir), new LocalKeySigner(ci.privateKey));
  root = res.rootDigest;
  bundle = Buffer.from(res.bundleText);
});
afterEach(() => cleanup(dir));

describe('fetchAttestationSet', () => {
  test('returns the bundles, attestations, Notation signatures and revocations of one root, and nothing of others', async () => {
    const cosig = await signModel(path.join(dir, 'model'), new LocalKeySigner(compliance.privateKey));
    const keys = {
      bundle: await publish(bundle),
      cosign: await publish(Buffer.from(cosig.bundleText)),
      sbom: await publish(await attestation('https://cyclonedx.org/bom')),
      revocation: await publish(await attestation('https://modelseal.dev/revocation/v1', compliance.privateKey)),
      notation: await publish(notation(root)),
    };
    await publish(await attestation('https://cyclonedx.org/bom', ci.privateKey, 'ef'.repeat(32)));
    await store.put('refs/m/1', Buffer.from(`sha256:${root}`));

    const set = await fetchAttestationSet(store, `sha256:${root}`);
    expect(set.root).toBe(root);
    expect(set.bundles.map((o) => o.key)).toEqual([keys.bundle, keys.cosign].sort());
    expect(set.attestations.map((o) => o.key)).toEqual([keys.sbom]);
    expect(set.revocations.map((o) => o.key)).toEqual([keys.revocation]);
    expect(set.notation.map((o) => o.key)).toEqual([keys.notation]);
    for (const o of [...set.bundles, ...set.attestations, ...set.notation, ...set.revocations]) {
      expect(o.key).toContain(sha(o.body));
    }
  });

  test('an unknown root is an empty set', async () => {
    await publish(bundle);
    expect(await fetchAttestationSet(store, '00'.repeat(32))).toEqual({
      root: '00'.repeat(32),
      bundles: [],
      attestations: [],
      notation: [],
      revocations: [],
      rejected: [],
      stats: { listed: 0, fetched: 0, bytesFetched: 0, oversize: 0, overBudget: 0 },
    });
  });

  test('a tampered attestation is rejected, naming its key, and the rest of the set still counts', async () => {
    await publish(bundle);
    const key = await publish(await attestation('https://cyclonedx.org/bom'));
    const file = path.join(store.root, ...key.split('/'));
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, Buffer.from(fs.readFileSync(file, 'utf8').replace('"payload":"', '"payload":"ew')));
    const set = await fetchAttestationSet(store, root);
    expect(set.attestations).toEqual([]);
    expect(set.bundles).toHaveLength(1);
    expect(set.rejected).toEqual([{ key, reason: expect.stringMatching(/does not match its content address/) }]);
  });

  test('junk under revocations/ is rejected like junk anywhere else: whether it denies is the policy\'s decision', async () => {
    await store.put(`revocations/sha256/${root}/README`, Buffer.from('junk'));
    const set = await fetchAttestationSet(store, root);
    expect(set.revocations).toEqual([]);
    expect(set.rejected).toEqual([{ key: `revocations/sha256/${root}/README`, reason: expect.stringMatching(/is not a key of the store layout/) }]);
  });

  test('a valid object copied under another root is rejected, naming where it belongs', async () => {
    const other = 'ef'.repeat(32);
    const { key } = deriveKey(bundle);
    const moved = key.replace(root, other);
    await store.put(moved, bundle);
    const set = await fetchAttestationSet(store, other);
    expect(set.bundles).toEqual([]);
    // outside revocations/ the bytes of a rejected object are dropped at once (review F4)
    expect(set.rejected).toEqual([{ key: moved, reason: expect.stringContaining(`${moved} holds an object whose content belongs at ${key}`) }]);
  });

  test('a file outside the layout under a root prefix is rejected, not read', async () => {
    await store.put(`bundles/sha256/${root}/README`, Buffer.from('hi'));
    const set = await fetchAttestationSet(store, root);
    expect(set.rejected).toEqual([{ key: `bundles/sha256/${root}/README`, reason: expect.stringMatching(/is not a key of the store layout/) }]);
  });

  test('a malformed root is a usage error naming it', async () => {
    await expect(fetchAttestationSet(store, 'sha256:xyz')).rejects.toThrow(/root digest "sha256:xyz" is not valid/);
  });
});

describe('review F4: junk objects cannot exhaust the reader', () => {
  /** Counts the bytes each GET returns, in front of the real store. */
  class CountingStore extends LocalStore {
    public gets: string[] = [];
    public bytes = 0;
    public override async get(key: string, opts?: ReadOptions): Promise<Buffer> {
      this.gets.push(key);
      const body = await super.get(key, opts);
      this.bytes += body.length;
      return body;
    }
  }

  /** Writes `body` at its content address under `folder` (a raw write, as anyone with s3:PutObject could). */
  function raw(folder: string, body: Buffer): string {
    const key = `${folder}/${sha(body)}${folder.startsWith('bundles/') ? '.sig.json' : '.json'}`;
    fs.mkdirSync(path.join(store.root, ...folder.split('/')), { recursive: true });
    fs.writeFileSync(path.join(store.root, ...key.split('/')), body);
    return key;
  }

  test('objects over the per-object limit are rejected from the listing and never fetched; their bytes are not held', async () => {
    const real = await publish(bundle);
    const junkHint = 'ab'.repeat(32);
    // valid JSON, as the reviewer's: 6 objects of 2 MiB under bundles/ and attestations/ (the limit is 1 MiB)
    const big = (i: number) => Buffer.from(JSON.stringify({ pad: `${i}`.padEnd(2 * 1024 * 1024, 'x') }));
    const junk = [0, 1, 2].map((i) => raw(`bundles/sha256/${root}/${junkHint}`, big(i)))
      .concat([3, 4, 5].map((i) => raw(`attestations/sha256/${root}/x/${junkHint}`, big(i))));
    const counting = new CountingStore(store.root);
    const set = await fetchAttestationSet(counting, root);
    expect(counting.gets).toEqual([real]);
    expect(counting.bytes).toBe(bundle.length);
    expect(set.stats).toEqual({ listed: 7, fetched: 1, bytesFetched: bundle.length, oversize: 6, overBudget: 0 });
    expect(set.bundles.map((o) => o.key)).toEqual([real]);
    expect(set.rejected).toEqual(junk.sort().map((key) => ({
      key, notRead: 'oversize', reason: expect.stringMatching(new RegExp(`${key} is ${big(0).length} bytes \\(listed size\\), over the 1048576-byte limit for attestation objects; not read$`)),
    })));
    // the limit is configurable (the CLI's and serve's --max-object-bytes)
    const tight = await fetchAttestationSet(new CountingStore(store.root), root, { maxObjectBytes: bundle.length - 1 });
    expect(tight.stats).toMatchObject({ fetched: 0, oversize: 7 });
  });

  test('the per-root budget reads the policy\'s own key folders first: junk under other hints cannot crowd them out', async () => {
    const real = await publish(bundle);
    const realHint = deriveKey(bundle).signer!;
    // 40 small junk objects under a hint that sorts before the real one
    const junk = Array.from({ length: 40 }, (_, i) => raw(`bundles/sha256/${root}/${'00'.repeat(32)}`, Buffer.from(`{"junk":${i}}`)));
    const counting = new CountingStore(store.root);
    const set = await fetchAttestationSet(counting, root, { maxObjects: 10, preferSigners: [realHint] });
    expect(counting.gets).toHaveLength(10);
    expect(counting.gets[0]).toBe(real);
    expect(set.bundles.map((o) => o.key)).toEqual([real]);
    expect(set.stats).toMatchObject({ listed: 41, fetched: 10, overBudget: 31 });
    expect(set.rejected!.filter((r) => r.notRead === 'budget')).toHaveLength(31);
    expect(set.rejected!.find((r) => r.notRead === 'budget')!.reason).toMatch(/was not read: the per-root read budget \(10 objects, 16777216 bytes\) was spent on 10 objects/);
    // rejected junk outside revocations/ keeps no bytes
    expect(set.rejected!.filter((r) => r.body !== undefined)).toEqual([]);
    // a byte budget works the same way, from the listed sizes, before any GET
    const bytes = new CountingStore(store.root);
    const byBytes = await fetchAttestationSet(bytes, root, { maxBytes: bundle.length, preferSigners: [realHint] });
    expect(bytes.gets).toEqual([real]);
    expect(byBytes.stats).toMatchObject({ fetched: 1, bytesFetched: bundle.length, overBudget: 40 });
    expect(junk).toHaveLength(40);
  });

  test('an abort (the verifier\'s deadline) stops the reads with the signal\'s reason', async () => {
    await publish(bundle);
    const abort = new AbortController();
    abort.abort(new Error('deadline passed'));
    const counting = new CountingStore(store.root);
    await expect(fetchAttestationSet(counting, root, { signal: abort.signal })).rejects.toThrow('deadline passed');
    expect(counting.gets).toEqual([]);
  });
});

