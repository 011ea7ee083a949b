/**
 * The verifier service end to end: fastify over real HTTPS on loopback, real bundles in a local store, a two-party
 * policy, and all three protocols (issue 12, "Done when").
 */
import * as https from 'https';
import { checkStore } from '../../../src/runtime/policy/check';
import { loadTrustPolicy } from '../../../src/runtime/policy/load';
import { startVerifier, Verifier } from '../../../src/runtime/service/server';
import { cleanup } from '../../fixtures/models';
import {
  admissionReview, HttpResult, modelPod, PINNED_IMAGE, providerRequest, request, verifierWorld, VerifierWorld, worldOptions,
} from '../../helpers/verifier';

let world: VerifierWorld;
let v: Verifier;
let logs: ReturnType<typeof worldOptions>['logStream'];
/** The manifest the check decision chooses for the allowed digest (`sha256:<hex>`). */
let chosenManifest: string;

beforeAll(async () => {
  world = await verifierWorld();
  const opts = worldOptions(world);
  logs = opts.logStream;
  v = await startVerifier(opts);
  chosenManifest = String((await checkStore(await loadTrustPolicy(world.policyFile), world.store, world.digests.allowed)).manifest);
  expect(chosenManifest).toMatch(/^sha256:[0-9a-f]{64}$/);
});

afterAll(async () => {
  await v?.shutdown('test done');
  cleanup(world.dir);
});

const post = (path: string, body: unknown): Promise<HttpResult> => request(`${v.url}${path}`, { body, ca: world.tls.caPem });
const get = (path: string): Promise<HttpResult> => request(`${v.url}${path}`, { ca: world.tls.caPem });

/** Asks one protocol about `digest`; returns whether it allowed and the reasons it gave. */
async function ask(protocol: 'kyverno' | 'gatekeeper' | 'validate', digest: string): Promise<{ allowed: boolean; reasons: string }> {
  if (protocol === 'kyverno') {
    const r = await post('/kyverno', { digest, namespace: 'models', name: 'server', kind: 'Pod' });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['allowed', 'manifest', 'policy', 'reasons']);
    expect(r.body.policy).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.body.manifest).toBe(r.body.allowed ? chosenManifest : null);
    return { allowed: r.body.allowed, reasons: r.body.reasons.join('; ') };
  }
  if (protocol === 'gatekeeper') {
    const r = await post('/gatekeeper', providerRequest([digest]));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderResponse', response: { idempotent: true } });
    expect(r.body.response.systemError).toBeUndefined();
    const [item] = r.body.response.items;
    expect(item.key).toBe(digest);
    if (item.error === undefined) {
      expect(item.value).toEqual({ allowed: true, manifest: chosenManifest });
    }
    return { allowed: item.error === undefined && item.value?.allowed === true, reasons: item.error ?? '' };
  }
  const r = await post('/validate', admissionReview(modelPod(digest), { uid: `uid-${digest.slice(7, 15)}` }));
  expect(r.status).toBe(200);
  expect(r.body.apiVersion).toBe('admission.k8s.io/v1');
  expect(r.body.kind).toBe('AdmissionReview');
  expect(r.body.response.uid).toBe(`uid-${digest.slice(7, 15)}`);
  expect(r.body.response.status.code).toBe(r.body.response.allowed ? 200 : 403);
  return { allowed: r.body.response.allowed, reasons: r.body.response.status.message };
}

const PROTOCOLS = ['kyverno', 'gatekeeper', 'validate'] as const;

describe('operations endpoints', () => {
  test('/healthz is alive, /readyz is ready with the policy digest, /metrics is Prometheus text', async () => {
    expect((await get('/healthz')).body).toEqual({ alive: true });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true, reasons: [], policy: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^# HELP modelseal_verifier_decisions_total /m);
    expect(metrics.text).toMatch(/^modelseal_verifier_policy_reloads_total\{result="loaded"\} 1$/m);
  });

  test('an unknown route is a 404 with a message', async () => {
    const r = await post('/admit', {});
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: expect.stringMatching(/no route POST \/admit/) });
  });

  test('TLS 1.2 is the floor by default', async () => {
    await expect(request(`${v.url}/healthz`, { ca: world.tls.caPem, agent: new https.Agent({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }) }))
      .rejects.toThrow();
  });
});

describe.each(PROTOCOLS)('%s', (protocol) => {
  test('a digest attested by ci and compliance is allowed', async () => {
    expect(await ask(protocol, world.digests.allowed)).toEqual({ allowed: true, reasons: protocol === 'validate' ? `model ${world.digests.allowed} meets the trust policy (manifest ${chosenManifest})` : '' });
  });

  test.each([
    ['unsigned', 'unsigned', /needs all of \[ci, compliance\]; verified: none; missing: ci, compliance/],
    ['a tampered manifest', 'tampered', /verified: compliance; missing: ci; .*not counted: signature by ci's key [0-9a-f]{64} does not verify \(tampered\?\)/],
    ['revoked', 'revoked', /revoked by compliance at .*: CVE-2026-0001 in the tokenizer/],
    ['signed by only one of two required signers', 'oneSigner', /verified: ci; missing: compliance/],
  ] as const)('%s is denied with the reason', async (_what, which, reason) => {
    const out = await ask(protocol, world.digests[which]);
    expect(out.allowed).toBe(false);
    expect(out.reasons).toMatch(reason);
  });

  test('a malformed digest is denied, never allowed', async () => {
    const out = await ask(protocol, 'sha256:NOT-HEX');
    expect(out.allowed).toBe(false);
    expect(out.reasons).toMatch(protocol === 'validate' ? /must be sha256:<64 lowercase hex>, got sha256:NOT-HEX/ : /malformed model digest "sha256:NOT-HEX"/);
  });
});

describe('/validate workloads', () => {
  test('the tampered digest names the tampered bundle in its reasons', async () => {
    const out = await ask('validate', world.digests.tampered);
    expect(out.reasons).toMatch(new RegExp(`bundles/sha256/${world.digests.tampered.slice(7)}/[0-9a-f]{64}/[0-9a-f]{64}.sig.json: not counted`));
  });

  test('an unpinned image is denied even when the model is attested, naming the image', async () => {
    const r = await post('/validate', admissionReview(modelPod(world.digests.allowed, 'registry.example/serving:1.4'), { uid: 'u-unpinned' }));
    expect(r.body.response).toMatchObject({ uid: 'u-unpinned', allowed: false, status: { code: 403 } });
    expect(r.body.response.status.message).toMatch(/images not pinned by digest \(image@sha256:<64 hex>\): registry.example\/serving:1.4/);
  });

  test('an unpinned init container of a Deployment is denied', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'models' },
      spec: { template: { metadata: { annotations: { 'modelseal.dev/model-digest': world.digests.allowed } }, spec: { initContainers: [{ name: 'i', image: 'busybox:latest' }], containers: [{ name: 's', image: PINNED_IMAGE }] } } },
    };
    const r = await post('/validate', admissionReview(deployment));
    expect(r.body.response.allowed).toBe(false);
    expect(r.body.response.status.message).toMatch(/busybox:latest/);
  });

  test('a KServe InferenceService with a model and no digest annotation is denied', async () => {
    const isvc = {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'fraud', namespace: 'models', annotations: {} },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://models/fraud/1/' } } },
    };
    const r = await post('/validate', admissionReview(isvc, { uid: 'u-isvc' }));
    expect(r.body.response).toMatchObject({ uid: 'u-isvc', allowed: false, status: { code: 403 } });
    expect(r.body.response.status.message).toMatch(/InferenceService fraud: a workload that loads a model must carry the modelseal.dev\/model-digest annotation/);
    const withDigest = await post('/validate', admissionReview({ ...isvc, metadata: { ...isvc.metadata, annotations: { 'modelseal.dev/model-digest': world.digests.allowed } } }));
    expect(withDigest.body.response.allowed).toBe(true);
  });

  test('an LLMInferenceService is checked on spec.model.uri', async () => {
    const llm = { apiVersion: 'serving.kserve.io/v1alpha1', kind: 'LLMInferenceService', metadata: { name: 'l', annotations: { 'modelseal.dev/model-digest': world.digests.oneSigner } }, spec: { model: { uri: 'hf://org/m' } } };
    const r = await post('/validate', admissionReview(llm));
    expect(r.body.response.allowed).toBe(false);
    expect(r.body.response.status.message).toMatch(/missing: compliance/);
  });

  test('DELETE and workloads that load no model are allowed', async () => {
    const del = await post('/validate', admissionReview(undefined, { operation: 'DELETE', uid: 'u-del' }));
    expect(del.body.response).toMatchObject({ uid: 'u-del', allowed: true });
    const plain = await post('/validate', admissionReview({ kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'nginx:latest' }] } }));
    expect(plain.body.response.allowed).toBe(true);
  });

  test('an exempt namespace comes from configuration, never from the workload', async () => {
    const inSandbox = await post('/validate', admissionReview(modelPod(world.digests.unsigned), { namespace: 'sandbox' }));
    expect(inSandbox.body.response.allowed).toBe(true);
    expect(inSandbox.body.response.warnings).toEqual(['modelseal: namespace sandbox is exempt from model checks']);
    // the workload claims exemption in every way it could: labels, annotations, its own metadata.namespace
    const claim = modelPod(world.digests.unsigned, PINNED_IMAGE, { 'modelseal.dev/exempt': 'true', 'modelseal.dev/skip': 'true' });
    claim.metadata.labels = { 'modelseal.dev/exempt': 'true' };
    claim.metadata.namespace = 'sandbox';
    const self = await post('/validate', admissionReview(claim, { namespace: 'models' }));
    expect(self.body.response.allowed).toBe(false);
    expect(self.body.response.status.message).toMatch(/missing: ci, compliance/);
    // a review without request.namespace is never exempt on the object's say-so
    const review = admissionReview(claim);
    delete review.request.namespace;
    const noNamespace = await post('/validate', review);
    expect(noNamespace.body.response.allowed).toBe(false);
  });

  test('a review without an object for CREATE is denied, not allowed', async () => {
    const r = await post('/validate', admissionReview(undefined, { uid: 'u-empty' }));
    expect(r.body.response).toMatchObject({ uid: 'u-empty', allowed: false });
    expect(r.body.response.status.message).toMatch(/carries no request.object/);
  });
});

describe('requests that are not the protocol', () => {
  test.each([
    ['not JSON', '/validate', '{"apiVersion": ', /not valid JSON/],
    ['a JSON array', '/validate', [], /not a JSON object/],
    ['the wrong kind', '/validate', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, /expected apiVersion admission.k8s.io\/v1 and kind AdmissionReview/],
    ['no uid', '/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, /no request.uid/],
    ['a ProviderRequest without keys', '/gatekeeper', { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: {} }, /request.keys must be a list of strings/],
    ['a ProviderRequest with a number key', '/gatekeeper', providerRequest([7]), /request.keys must be a list of strings/],
    ['a JSON string for Kyverno', '/kyverno', '"sha256:ab"', /not a JSON object/],
  ])('%s on %s is a 400 with a message', async (_what, path, body, message) => {
    const r = await post(path, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
    expect(r.body.allowed === true).toBe(false);
    expect(r.body.response).toBeUndefined();
  });

  test('Kyverno: a body without a digest is a decision (denied), in its own shape', async () => {
    const r = await post('/kyverno', { image: 'x' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ allowed: false, reasons: [expect.stringMatching(/no "digest" string/)], manifest: null, policy: expect.stringMatching(/^sha256:/) });
    expect(r.body.statusCode).toBeUndefined();
    expect(r.body.body).toBeUndefined();
  });

  test.each(['/validate', '/gatekeeper', '/kyverno'])('an oversized body on %s is a 413 with a message', async (path) => {
    const big = { digest: world.digests.allowed, padding: 'x'.repeat(1_100_000) };
    const r = await post(path, big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/larger than the 1048576-byte limit \(--max-body-bytes\)/);
    expect(r.body.allowed === true).toBe(false);
  });

  test('a content type other than JSON is refused with 415', async () => {
    const r = await request(`${v.url}/kyverno`, { body: 'digest=sha256:ab', ca: world.tls.caPem, contentType: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(r.body.error).toMatch(/Unsupported Media Type/i);
    expect(r.body.allowed).toBe(false);
  });
});

describe('Gatekeeper batches', () => {
  test('one item per key, in order, each with its own answer', async () => {
    const keys = [world.digests.allowed, world.digests.revoked, 'not-a-digest', world.digests.allowed];
    const r = await post('/gatekeeper', providerRequest(keys));
    expect(r.body.response.items.map((i: any) => i.key)).toEqual(keys);
    expect(r.body.response.items[0]).toEqual({ key: keys[0], value: { allowed: true, manifest: chosenManifest } });
    expect(r.body.response.items[1].error).toMatch(/revoked by compliance/);
    expect(r.body.response.items[2].error).toMatch(/malformed model digest "not-a-digest"/);
    expect(r.body.response.items[3].value.allowed).toBe(true);
  });
});

describe('logs and metrics', () => {
  test('one JSON line per decision with digest, result, reasons, latency and uid; never the request body', async () => {
    const before = logs.decisions().length;
    const secret = 'do-not-log-this-annotation-value';
    await post('/validate', admissionReview(modelPod(world.digests.revoked, PINNED_IMAGE, { 'example.com/token': secret }), { uid: 'u-log' }));
    const lines = logs.decisions().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      event: 'decision',
      protocol: 'validate',
      result: 'deny',
      uid: 'u-log',
      namespace: 'models',
      kind: 'Pod',
      digest: world.digests.revoked,
      allowed: false,
      reasons: [expect.stringMatching(/revoked by compliance/)],
      manifest: null,
    });
    expect(typeof lines[0].latencyMs).toBe('number');
    expect(logs.text).not.toContain(secret);
  });

  test('an allow is logged with the manifest the decision chose, in every protocol', async () => {
    for (const protocol of PROTOCOLS) {
      const before = logs.decisions().length;
      expect((await ask(protocol, world.digests.allowed)).allowed).toBe(true);
      const lines = logs.decisions().slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ protocol, digest: world.digests.allowed, allowed: true, manifest: chosenManifest });
    }
  });

  test('decisions, cache hits and misses are counted', async () => {
    await ask('kyverno', world.digests.allowed);
    const text = (await get('/metrics')).text;
    expect(text).toMatch(/^modelseal_verifier_decisions_total\{protocol="kyverno",result="allow",source="cache"\} [1-9]\d*$/m);
    expect(text).toMatch(/^modelseal_verifier_cache_hits_total [1-9]\d*$/m);
    expect(text).toMatch(/^modelseal_verifier_cache_misses_total [1-9]\d*$/m);
    expect(text).toMatch(/^modelseal_verifier_decision_duration_seconds_bucket\{le="0.005",protocol="kyverno",source="cache"\} [1-9]\d*$/m);
    expect(text).toMatch(/^modelseal_verifier_bad_requests_total\{protocol="validate",status="413"\} 1$/m);
  });
});
