import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { signModel } from '../../../src/runtime/engine/sign';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { fetchAttestationSet } from '../../../src/runtime/store/attestation-set';
import { deriveKey } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
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
    expect(await fetchAttestationSet(store, '00'.repeat(32))).toEqual({ root: '00'.repeat(32), bundles: [], attestations: [], notation: [], revocations: [], rejected: [] });
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
    expect(set.rejected).toEqual([{ key: moved, body: bundle, reason: expect.stringContaining(`${moved} holds an object whose content belongs at ${key}`) }]);
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
