/**
 * `/validate` reads workloads exactly as the CEL every admission engine renders: the same cases the construct tests
 * evaluate with a real CEL implementation are run through both, and must get the same structural verdict.
 */
import { samples } from '../../../src/k8s/private/samples';
import { workloadValidations, workloadVariables } from '../../../src/k8s/private/workload-rules';
import { validate } from '../../../src/runtime/service/protocols';
import { inspectWorkload, structuralReasons } from '../../../src/runtime/service/workload';
import { DEFAULT_WORKLOAD_RULE_OPTIONS, WorkloadRuleOptions } from '../../../src/shared/admission';
import { evaluatePolicy as evaluate } from '../../helpers/cel-k8s';
import { BYPASSES, MALFORMED, NOT_MODEL, VERIFIER_IMAGE, WELL_FORMED } from '../../k8s/fixtures';

/** The options a ModelVerifier with the fixtures' image renders (the policy tests' verifier). */
const KNOWN_IMAGE: WorkloadRuleOptions = { ...DEFAULT_WORKLOAD_RULE_OPTIONS, loadVerifierImage: VERIFIER_IMAGE.reference };
const CASES = [...WELL_FORMED, ...MALFORMED, ...NOT_MODEL, ...samples(KNOWN_IMAGE).map((s) => ({ name: `sample ${s.name}`, object: s.object, admitted: s.admitted }))];

async function both(object: unknown, options: WorkloadRuleOptions) {
  const cel = await evaluate({ variables: workloadVariables(), validations: workloadValidations(options) }, object);
  const reasons = structuralReasons(inspectWorkload(object), options);
  // the same messages, word for word
  expect(reasons).toEqual(cel.messages);
  return reasons;
}

describe('the verifier reads workloads as the engines\' CEL does', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const reasons = await both(c.object, KNOWN_IMAGE);
    expect(reasons.length === 0).toBe(c.admitted);
    if ('reason' in c && c.reason) expect(reasons.join('\n')).toMatch(c.reason);
  });

  test.each(samples().map((s) => [s.name, s] as const))('sample %s with the default options (verifier image unknown)', async (_name, s) => {
    expect((await both(s.object, DEFAULT_WORKLOAD_RULE_OPTIONS)).length === 0).toBe(s.admitted);
  });

  test('requireLoadVerification: false admits a digest-only Deployment and a custom-container InferenceService (weakened), still refuses foreign schemes', async () => {
    const weak = { ...KNOWN_IMAGE, requireLoadVerification: false };
    const noPull = BYPASSES.find((c) => c.name === 'F2 Deployment with a digest and no pull init container')!;
    const custom = BYPASSES.find((c) => c.name === 'F1 InferenceService custom container without storageUri')!;
    const pvc = BYPASSES.find((c) => c.name === 'F1-A InferenceService pvc:// storageUri')!;
    expect(await both(noPull.object, weak)).toEqual([]);
    expect(await both(custom.object, weak)).toEqual([]);
    expect(await both(pvc.object, weak)).toEqual([
      "KServe storage URIs must start with s3:// (handled by ModelSeal's ClusterStorageContainer, which verifies them); refused: pvc://attacker-pvc/evil",
    ]);
  });

  test('the KServe prefixes come from the options: gs:// admitted only when listed', async () => {
    const gs = BYPASSES.find((c) => c.name === 'F1 InferenceService gs:// legacy framework')!;
    expect(await both(gs.object, KNOWN_IMAGE)).toEqual([
      "KServe storage URIs must start with s3:// (handled by ModelSeal's ClusterStorageContainer, which verifies them); refused: gs://evil/m",
    ]);
    expect(await both(gs.object, { ...KNOWN_IMAGE, kserveUriPrefixes: ['s3://', 'gs://'] })).toEqual([]);
  });

  test('a load verification run by a custom command (the verifier\'s `command`)', async () => {
    const options = { ...KNOWN_IMAGE, loadVerifierCommand: ['/usr/local/bin/modelseal'] };
    expect(await both(samples(options)[1].object, options)).toEqual([]);
    expect(await both(samples(KNOWN_IMAGE)[1].object, options)).toEqual([
      "init container modelseal-pull must run '/usr/local/bin/modelseal pull SOURCE DEST' with --digest=$(MODELSEAL_DIGEST) as the only --digest argument, no --help, and DEST its modelseal-model mount path",
    ]);
  });
});

describe('inspectWorkload', () => {
  test('finds the model URI in the annotation or the KServe field', () => {
    expect(inspectWorkload({ kind: 'InferenceService', metadata: {}, spec: { predictor: { pytorch: { storageUri: 's3://m/2/' } } } }))
      .toMatchObject({ kind: 'InferenceService', isModel: true, isKServe: true, digest: '', uri: 's3://m/2/', images: [], storageUris: ['s3://m/2/'], storageBypass: [] });
    expect(inspectWorkload({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { metadata: { annotations: { 'modelseal.dev/model-uri': 's3://m/3/' } }, spec: { containers: [{ image: 'a' }], ephemeralContainers: [{}] } } } } } }))
      .toMatchObject({ kind: 'CronJob', isModel: true, isKServe: false, digest: '', uri: 's3://m/3/', images: ['a', ''], storageUris: [] });
  });

  test('anything that is not an object reads as a workload without a model', () => {
    for (const v of [null, 7, 'Pod', [], { kind: 3 }]) {
      expect(inspectWorkload(v)).toEqual({ kind: '', isModel: false, isKServe: false, digest: '', images: [], storageUris: [], storageBypass: [], podSpec: {} });
    }
  });

  test('a digest annotation that is not a string is read as its text, then refused as malformed', () => {
    const w = inspectWorkload({ kind: 'Pod', metadata: { annotations: { 'modelseal.dev/model-digest': 12 } }, spec: { containers: [] } });
    expect(structuralReasons(w, { ...DEFAULT_WORKLOAD_RULE_OPTIONS, requireLoadVerification: false }))
      .toEqual(['modelseal.dev/model-digest must be sha256:<64 lowercase hex>, got 12']);
  });
});

describe('/validate applies the rules before the decision', () => {
  const allow = async () => ({ allowed: true, reasons: [], manifest: `sha256:${'11'.repeat(32)}`, source: 'store' } as any);
  const review = (object: any) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', namespace: 'models', object } });
  const byName = (name: string) => BYPASSES.find((c) => c.name === name)!.object;

  test('a Deployment with a signed digest and no pull init container is refused, though the verifier allows the digest (F2)', async () => {
    const a = await validate(review(byName('F2 Deployment with a digest and no pull init container')), allow, new Set());
    expect(a.body.response).toMatchObject({ allowed: false });
    expect((a.body.response as any).status.message).toMatch(/must verify its model at load: an init container modelseal-pull/);
  });

  test('KServe\'s default ClusterStorageContainer listing s3:// is refused, though it loads no model (F1)', async () => {
    const a = await validate(review(byName('F1 KServe default ClusterStorageContainer still listing s3://')), allow, new Set());
    expect(a.body.response).toMatchObject({ allowed: false });
    expect((a.body.response as any).status.message).toMatch(/only ModelSeal's ClusterStorageContainer modelseal may handle s3:\/\//);
  });
});
