/**
 * `/validate` reads workloads exactly as the CEL every admission engine renders: the same cases the construct tests
 * evaluate with a real CEL implementation are run through both, and must get the same structural verdict.
 */
import { samples } from '../../../src/k8s/private/samples';
import { workloadValidations, workloadVariables } from '../../../src/k8s/private/workload-rules';
import { inspectWorkload, structuralReasons } from '../../../src/runtime/service/workload';
import { evaluatePolicy } from '../../helpers/cel-k8s';
import { MALFORMED, NOT_MODEL, WELL_FORMED } from '../../k8s/fixtures';

const CEL = { variables: workloadVariables(), validations: workloadValidations() };
const CASES = [...WELL_FORMED, ...MALFORMED, ...NOT_MODEL, ...samples().map((s) => ({ name: `sample ${s.name}`, object: s.object, admitted: s.admitted }))];

describe('the verifier reads workloads as the engines\' CEL does', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cel = await evaluatePolicy(CEL, c.object);
    const reasons = structuralReasons(inspectWorkload(c.object));
    expect(cel.admitted).toBe(c.admitted);
    expect(reasons.length === 0).toBe(c.admitted);
    // the same messages, word for word
    expect(reasons).toEqual(cel.messages);
  });
});

describe('inspectWorkload', () => {
  test('finds the model URI in the annotation or the KServe field', () => {
    expect(inspectWorkload({ kind: 'InferenceService', metadata: {}, spec: { predictor: { pytorch: { storageUri: 's3://m/2/' } } } }))
      .toEqual({ kind: 'InferenceService', isModel: true, digest: '', uri: 's3://m/2/', images: [] });
    expect(inspectWorkload({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { metadata: { annotations: { 'modelseal.dev/model-uri': 's3://m/3/' } }, spec: { containers: [{ image: 'a' }], ephemeralContainers: [{}] } } } } } }))
      .toEqual({ kind: 'CronJob', isModel: true, digest: '', uri: 's3://m/3/', images: ['a', ''] });
  });

  test('anything that is not an object reads as a workload without a model', () => {
    for (const v of [null, 7, 'Pod', [], { kind: 3 }]) {
      expect(inspectWorkload(v)).toEqual({ kind: '', isModel: false, digest: '', images: [] });
    }
  });

  test('a digest annotation that is not a string is read as its text, then refused as malformed', () => {
    const w = inspectWorkload({ kind: 'Pod', metadata: { annotations: { 'modelseal.dev/model-digest': 12 } }, spec: { containers: [] } });
    expect(structuralReasons(w)).toEqual(['modelseal.dev/model-digest must be sha256:<64 lowercase hex>, got 12']);
  });
});
