/**
 * Fault injection (issue 12): store errors, a slow store past the deadline, corrupted objects, KMS throttling, and a
 * burst of concurrent requests. Every request must get a decision, and no fault may turn into an allow.
 */
import * as fs from 'fs';
import * as path from 'path';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { FaultyStore } from './faulty-store';
import { cosignBundle } from '../../../src/runtime/engine/cosign';
import { signModel } from '../../../src/runtime/engine/sign';
import type { Verifier } from '../../../src/runtime/service/server';
import { KmsSigner } from '../../../src/runtime/signers/kms';
import { fetchAttestationSet } from '../../../src/runtime/store/attestation-set';
import { StoreAccessError, StoreUnavailableError } from '../../../src/runtime/store/errors';
import { deriveKey } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
import { KmsMock } from '../../helpers/kms-mock';
import { admissionReview, HttpResult, modelPod, providerRequest, request, saltedModel, verifiersPerTest, VerifierWorld } from '../../helpers/verifier';

const suite = verifiersPerTest();
const start = suite.start;
let world: VerifierWorld;
beforeAll(() => {
  world = suite.world();
});

const kyverno = (v: Verifier, digest: string): Promise<HttpResult> => request(`${v.url}/kyverno`, { body: { digest }, ca: world.tls.caPem });

describe('store faults', () => {
  test('store unreachable: every protocol denies with the store error, and /readyz says why', async () => {
    const store = new FaultyStore(world.store, { listError: (p) => new StoreUnavailableError(p, `S3 ListObjectsV2 on s3://attestations/${p} failed 3 times with throttling or transient errors (last: SlowDown)`) });
    const v = await start({ store });
    const ready = await request(`${v.url}/readyz`, { ca: world.tls.caPem });
    expect(ready.status).toBe(503);
    expect(ready.body.reasons).toEqual([expect.stringMatching(/the attestation store .* cannot be read: S3 ListObjectsV2 .* failed 3 times/)]);

    const k = await kyverno(v, world.digests.allowed);
    expect(k.body.allowed).toBe(false);
    expect(k.body.reasons[0]).toMatch(/^the attestation store could not be read \(failing closed\): S3 ListObjectsV2/);
    const g = await request(`${v.url}/gatekeeper`, { body: providerRequest([world.digests.allowed]), ca: world.tls.caPem });
    expect(g.body.response.items[0].error).toMatch(/the attestation store could not be read/);
    expect(g.body.response.systemError).toBeUndefined();
    const a = await request(`${v.url}/validate`, { body: admissionReview(modelPod(world.digests.allowed)), ca: world.tls.caPem });
    expect(a.status).toBe(200);
    expect(a.body.response.allowed).toBe(false);
    expect(a.body.response.status.message).toMatch(/the attestation store could not be read/);
    expect((await request(`${v.url}/metrics`, { ca: world.tls.caPem })).text).toMatch(/^modelseal_verifier_store_errors_total\{kind="unavailable"\} [1-9]/m);
  });

  test('access denied by the store denies with the permission named', async () => {
    const store = new FaultyStore(world.store, { getError: (k) => new StoreAccessError(k, `S3 denied GetObject on s3://attestations/${k} (AccessDenied). The caller needs the store's grantRead`) });
    const v = await start({ store });
    const k = await kyverno(v, world.digests.allowed);
    expect(k.body).toMatchObject({ allowed: false, reasons: [expect.stringMatching(/S3 denied GetObject .* grantRead/)] });
  });

  test('a slow store past the deadline is a denial that says so, well before the store answers; the answer is cached once it arrives', async () => {
    const store = new FaultyStore(world.store, { delayMs: 400 });
    const v = await start({ store, deadlineMs: 150 });
    const t0 = Date.now();
    const k = await kyverno(v, world.digests.allowed);
    const took = Date.now() - t0;
    expect(k.body.allowed).toBe(false);
    expect(k.body.reasons).toEqual(['no decision within the 150ms deadline (the attestation store or KMS is slow or unreachable); failing closed']);
    expect(took).toBeLessThan(390);
    const a = await request(`${v.url}/validate`, { body: admissionReview(modelPod(world.digests.oneSigner), { uid: 'slow' }), ca: world.tls.caPem });
    expect(a.body.response).toMatchObject({ uid: 'slow', allowed: false, status: { message: expect.stringMatching(/no decision within the 150ms deadline/) } });
    const g = await request(`${v.url}/gatekeeper`, { body: providerRequest([world.digests.revoked]), ca: world.tls.caPem });
    expect(g.body.response.items[0].error).toMatch(/no decision within the 150ms deadline/);
    expect(g.body.response.systemError).toBeUndefined();
    // the store read carried on; its answer fills the cache
    await new Promise((r) => setTimeout(r, 2000));
    expect((await kyverno(v, world.digests.allowed)).body.allowed).toBe(true);
    expect((await request(`${v.url}/metrics`, { ca: world.tls.caPem })).text).toMatch(/^modelseal_verifier_deadline_exceeded_total [3-9]/m);
  });

  test('intermittent store errors: every request in a burst gets a decision, and none that failed is an allow', async () => {
    let n = 0;
    const store = new FaultyStore(world.store, { listError: (p) => (n++ % 7 === 3 ? new StoreUnavailableError(p, 'injected: ServiceUnavailable') : undefined) });
    const v = await start({ store, denyTtlMs: 0, allowTtlMs: 0 });
    const digests = [world.digests.allowed, world.digests.revoked, world.digests.unsigned, world.digests.oneSigner];
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => kyverno(v, digests[i % 4])));
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe(200);
      expect(typeof r.body.allowed).toBe('boolean');
      if (digests[i % 4] !== world.digests.allowed) expect(r.body.allowed).toBe(false);
      if (r.body.allowed === false && digests[i % 4] === world.digests.allowed) expect(r.body.reasons.join()).toMatch(/injected: ServiceUnavailable/);
    }
    expect(results.some((r) => r.body.allowed === true)).toBe(true);
    expect(results.some((r) => /injected/.test(r.body.reasons.join()))).toBe(true);
  });
});

describe('corrupted objects', () => {
  /** A copy of the world's store, to corrupt. */
  function copyStore(name: string): LocalStore {
    const dir = path.join(world.dir, name);
    fs.cpSync(world.storeDir, dir, { recursive: true });
    return new LocalStore(dir);
  }

  function filesUnder(root: string, prefix: string): string[] {
    const out: string[] = [];
    const walk = (d: string): void => fs.readdirSync(d, { withFileTypes: true })
      .forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.join(d, e.name))));
    walk(path.join(root, prefix));
    return out;
  }

  test('a bundle whose bytes no longer match its key does not count: the digest is denied with the integrity failure', async () => {
    const store = copyStore('corrupt-bundle');
    const [file] = filesUnder(store.root, `bundles/sha256/${world.digests.allowed.slice(7)}`);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"mediaType"', '"mediaType" '));
    const v = await start({ store, storeUri: store.uri });
    const k = await kyverno(v, world.digests.allowed);
    expect(k.body.allowed).toBe(false);
    expect(k.body.reasons.join('\n')).toMatch(/requirement not met/);
    expect(k.body.reasons.join('\n')).toMatch(/not counted: .*(does not match|hashes to)/);
  });

  test('review F3: a corrupted revocation record no longer verifies under the revoker: junk, reported, not a veto', async () => {
    const store = copyStore('corrupt-revocation');
    const [file] = filesUnder(store.root, `revocations/sha256/${world.digests.revoked.slice(7)}`);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, 'garbage');
    const object = path.relative(store.root, file).split(path.sep).join('/');
    const set = await fetchAttestationSet(store, world.digests.revoked);
    expect(set.revocations).toEqual([]);
    expect(set.rejected).toEqual([expect.objectContaining({ key: object, reason: expect.stringContaining(`object ${object} does not match its content address`) })]);
    const v = await start({ store, storeUri: store.uri });
    const k = await kyverno(v, world.digests.revoked);
    // the store's own checks (hash at the key, S3 checksums, Object Lock) are what protect a real record; bytes that
    // no revoker's key verifies are indistinguishable from a forgery, and a forgery must not veto
    expect(k.body.reasons ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/revocation/)]));
    expect(k.body.allowed).toBe(true);
  });
});

describe('KMS', () => {
  test('KMS throttling denies with the reason; once KMS answers, the key is kept and never fetched again', async () => {
    const kms = await KmsMock.create();
    try {
      const key = kms.addKey({ keySpec: 'ECC_NIST_P256' });
      const dir = path.join(world.dir, 'kms');
      fs.mkdirSync(path.join(dir, 'store'), { recursive: true });
      const store = new LocalStore(path.join(dir, 'store'));
      const signer = await KmsSigner.open({ keyId: key.arn, client: kms.client });
      const model = saltedModel(dir, 'model', 'kms');
      const signed = await signModel(model, signer, { workers: 1 });
      const co = await cosignBundle(Buffer.from(signed.bundleText), world.keys.compliance.signer, { trust: { publicKey: key.publicKey } });
      for (const text of [signed.bundleText, co.bundleText]) {
        const body = Buffer.from(text);
        await store.put(deriveKey(body).key, body);
      }
      fs.copyFileSync(path.join(world.dir, 'compliance.pub.pem'), path.join(dir, 'compliance.pub.pem'));
      const policyFile = path.join(dir, 'policy.yaml');
      fs.writeFileSync(policyFile, `apiVersion: modelseal.dev/v1\nkind: TrustPolicy\nsigners:\n  - name: ci\n    kmsKeyArn: ${key.arn}\n  - name: compliance\n    publicKey: compliance.pub.pem\nrequire:\n  allOf: [ci, compliance]\n`);
      const calls = () => kms.stub.commandCalls(GetPublicKeyCommand).length;
      const before = calls();
      kms.throttle(1);
      const v = await start({ store, storeUri: store.uri, policyFile, kmsClient: kms.client, denyTtlMs: 0 });
      const digest = `sha256:${signed.rootDigest}`;
      await new Promise((r) => setTimeout(r, 100));
      const ready = await request(`${v.url}/readyz`, { ca: world.tls.caPem });
      expect(ready.status).toBe(503);
      expect(ready.body.reasons.join()).toMatch(new RegExp(`KMS key ${key.arn}: .*ThrottlingException|Rate exceeded`));
      const first = await kyverno(v, digest);
      expect(first.body.allowed).toBe(false);
      expect(first.body.reasons.join()).toMatch(/cannot read the public key of KMS key .* \(signer ci\), failing closed: .*Rate exceeded/);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await kyverno(v, digest)).body.allowed).toBe(true);
      const after = calls();
      for (const d of [world.digests.unsigned, world.digests.revoked, digest]) {
        await kyverno(v, d);
      }
      expect(calls()).toBe(after);
      // one throttled call at start-up, one that succeeded
      expect(after - before).toBe(2);
    } finally {
      kms.restore();
    }
  });
});

describe('a burst of concurrent requests', () => {
  test('300 requests across the three protocols all get the right decision; misses for one digest share one store read', async () => {
    const store = new FaultyStore(world.store, { delayMs: 20 });
    const v = await start({ store });
    const digests = [world.digests.allowed, world.digests.revoked, world.digests.oneSigner];
    const burst = Array.from({ length: 300 }, (_, i) => {
      const digest = digests[i % 3];
      const expected = digest === world.digests.allowed;
      const ca = world.tls.caPem;
      switch (i % 3 === 0 ? i % 9 : (i + 1) % 3) {
        case 0:
          return kyverno(v, digest).then((r) => [r.status, r.body.allowed, expected]);
        case 1:
          return request(`${v.url}/gatekeeper`, { body: providerRequest([digest]), ca }).then((r) => [r.status, r.body.response.items[0].error === undefined, expected]);
        default:
          return request(`${v.url}/validate`, { body: admissionReview(modelPod(digest)), ca }).then((r) => [r.status, r.body.response.allowed, expected]);
      }
    });
    const results = await Promise.all(burst);
    expect(results.filter(([status]) => status !== 200)).toEqual([]);
    expect(results.filter(([, allowed, expected]) => allowed !== expected)).toEqual([]);
    const metrics = (await request(`${v.url}/metrics`, { ca: world.tls.caPem })).text;
    const coalesced = Number(/^modelseal_verifier_coalesced_total (\d+)$/m.exec(metrics)?.[1]);
    const hits = Number(/^modelseal_verifier_cache_hits_total (\d+)$/m.exec(metrics)?.[1]);
    expect(coalesced + hits).toBeGreaterThanOrEqual(297);
    // one store read per digest: 4 prefix listings each, plus the readiness probe
    expect(store.lists).toBeLessThanOrEqual(3 * 4 + 1);
  });
});
