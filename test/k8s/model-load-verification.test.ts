import { ApiObject, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DIGEST, TRUST_POLICY, VERIFIER_IMAGE, verifierInChart } from './fixtures';
import { KServeModelLoadVerification, ModelLoadVerification } from '../../src';
import { workloadValidations, workloadVariables } from '../../src/k8s/private/workload-rules';
import { inspectWorkload, structuralReasons } from '../../src/runtime/service/workload';
import { DEFAULT_WORKLOAD_RULE_OPTIONS } from '../../src/shared/admission';
import { evaluatePolicy } from '../helpers/cel-k8s';
import { validateCoreObject } from '../helpers/k8s';

const base = { image: VERIFIER_IMAGE, storeUri: 's3://attestations-bucket', trustPolicy: TRUST_POLICY };

describe('ModelLoadVerification', () => {
  function synth(extra: Partial<import('../../src').ModelLoadVerificationProps> = {}) {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'Server', {
      metadata: { namespace: 'models' },
      containers: [{ name: 'server', image: `registry.example/serving@sha256:${'cd'.repeat(32)}`, portNumber: 8080 }],
    });
    new ModelLoadVerification(chart, 'Load', { ...base, workload: deployment, digest: DIGEST, source: 's3://models/fraud/1/', ...extra });
    return Testing.synth(chart);
  }

  test('init container pulls and verifies into a volume the server mounts read-only; digest from the annotation', () => {
    const objs = synth({ region: 'eu-west-1' });
    const d = objs.find((o) => o.kind === 'Deployment');
    const tpl = d.spec.template;
    expect(tpl.metadata.annotations).toEqual({ 'modelseal.dev/model-digest': DIGEST, 'modelseal.dev/model-uri': 's3://models/fraud/1/' });
    const [init] = tpl.spec.initContainers;
    expect(init.command).toEqual([
      'modelseal', 'pull', 's3://models/fraud/1/', '/mnt/models',
      '--store', 's3://attestations-bucket', '--policy', '/etc/modelseal/policy/policy.yaml', '--digest=$(MODELSEAL_DIGEST)', '--region', 'eu-west-1',
    ]);
    expect(init.env).toEqual([{ name: 'MODELSEAL_DIGEST', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['modelseal.dev/model-digest']" } } }]);
    expect(init.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    const server = tpl.spec.containers[0];
    const modelMount = server.volumeMounts.find((m: any) => m.mountPath === '/mnt/models');
    expect(modelMount.readOnly).toBe(true);
    expect(init.volumeMounts.find((m: any) => m.mountPath === '/mnt/models').name).toBe(modelMount.name);
    const cm = objs.find((o) => o.kind === 'ConfigMap');
    expect(cm.metadata.namespace).toBe('models');
    expect(cm.data['policy.yaml']).toBe(TRUST_POLICY);
    for (const o of objs) expect(() => validateCoreObject(o)).not.toThrow();
  });

  test('the annotated workload passes the admission CEL and /validate (the model admitted is the model loaded)', async () => {
    const d = synth().find((o) => o.kind === 'Deployment');
    // the rules as a ModelVerifier with the same image renders them, and with the image unknown (`serve` defaults)
    const { verifier } = verifierInChart();
    for (const options of [verifier._workloadRuleOptions(), DEFAULT_WORKLOAD_RULE_OPTIONS]) {
      const out = await evaluatePolicy({ variables: workloadVariables(), validations: workloadValidations(options) }, d);
      expect(out.messages).toEqual([]);
      expect(structuralReasons(inspectWorkload(d), options)).toEqual([]);
    }
  });

  test('the pod without its init container, or with a server container added afterwards, is refused', async () => {
    const d = synth().find((o) => o.kind === 'Deployment');
    const rules = { variables: workloadVariables(), validations: workloadValidations() };
    const stripped = JSON.parse(JSON.stringify(d));
    delete stripped.spec.template.spec.initContainers;
    expect((await evaluatePolicy(rules, stripped)).messages).toEqual([
      "a model workload must verify its model at load: an init container modelseal-pull running 'modelseal pull' (ModelLoadVerification)",
    ]);
    const later = JSON.parse(JSON.stringify(d));
    later.spec.template.spec.containers.push({ name: 'sidecar', image: `registry.example/s@sha256:${'cd'.repeat(32)}` });
    expect((await evaluatePolicy(rules, later)).messages).toEqual([expect.stringMatching(/^the model volume modelseal-model must be an emptyDir/)]);
  });

  test.each([
    [{ digest: 'sha256:abc' }, /digest must be sha256:<64 lowercase hex>, got 'sha256:abc'/],
    [{ source: 'http://x' }, /source must be s3:\/\/bucket\/prefix\/ or an absolute folder path, got 'http:\/\/x'/],
    [{ mountPath: 'models' }, /mountPath must be an absolute path/],
    [{ storeUri: 'bucket' }, /storeUri must be s3:\/\/bucket/],
  ])('fails when %o', (props, error) => {
    expect(() => synth(props as any)).toThrow(error);
  });
});

describe('KServeModelLoadVerification', () => {
  const chart = Testing.chart();
  const kserve = new KServeModelLoadVerification(chart, 'KServe', { ...base, namespaces: ['models', 'llm'] });
  const isvc = new ApiObject(chart, 'Isvc', {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: 'fraud', annotations: { 'modelseal.dev/model-digest': DIGEST } },
    spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://models/fraud/1/' } } },
  });
  kserve.addToInferenceService(isvc);
  const objs = Testing.synth(chart);
  const csc = objs.find((o) => o.kind === 'ClusterStorageContainer');

  test('a ClusterStorageContainer named storage-initializer that runs modelseal pull for s3:// URIs', () => {
    expect(csc.apiVersion).toBe('serving.kserve.io/v1alpha1');
    expect(csc.spec.container.name).toBe('storage-initializer'); // KServe replaces its initializer only under this name
    expect(csc.spec.supportedUriFormats).toEqual([{ prefix: 's3://' }]);
    expect(csc.spec.container.args).toBeUndefined(); // KServe sets the args
  });

  test('KServe appends [storageUri, /mnt/models]: the resulting command line is the contract\'s pull', () => {
    // what KServe's storage-initializer injector does with the container: args = [source URI, destination]
    const argv = [...csc.spec.container.command, 's3://models/fraud/1/', '/mnt/models'];
    expect(argv).toEqual([
      'modelseal', 'pull', '--store', 's3://attestations-bucket', '--policy', '/etc/modelseal/policy/policy.yaml',
      '--digest=$(MODELSEAL_DIGEST)', 's3://models/fraud/1/', '/mnt/models',
    ]);
    expect(csc.spec.container.env[0].valueFrom.fieldRef.fieldPath).toBe("metadata.annotations['modelseal.dev/model-digest']");
  });

  test('the predictor declares the volumes the storage initializer mounts; a trust policy ConfigMap per namespace', () => {
    const i = objs.find((o) => o.kind === 'InferenceService');
    expect(i.spec.predictor.volumes.map((v: any) => v.name)).toEqual(csc.spec.container.volumeMounts.map((m: any) => m.name));
    expect(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.namespace)).toEqual(['models', 'llm']);
  });

  test('the InferenceService passes the admission CEL and /validate with the verifier\'s rules; KServe\'s default storage container with s3:// does not', async () => {
    const i = objs.find((o) => o.kind === 'InferenceService');
    const { verifier } = verifierInChart();
    const options = verifier._workloadRuleOptions();
    const rules = { variables: workloadVariables(), validations: workloadValidations(options) };
    expect((await evaluatePolicy(rules, i)).messages).toEqual([]);
    expect(structuralReasons(inspectWorkload(i), options)).toEqual([]);
    expect((await evaluatePolicy(rules, csc)).messages).toEqual([]);
    const kserveDefault = { ...csc, metadata: { name: 'default' } };
    expect((await evaluatePolicy(rules, kserveDefault)).messages).toEqual([expect.stringMatching(/^only ModelSeal's ClusterStorageContainer modelseal may handle s3:\/\//)]);
  });

  test('fails on no namespaces, or on something that is not an InferenceService', () => {
    expect(() => new KServeModelLoadVerification(Testing.chart(), 'K', { ...base, namespaces: [] })).toThrow(/namespaces must name at least one namespace/);
    const pod = new ApiObject(chart, 'Pod', { apiVersion: 'v1', kind: 'Pod' });
    expect(() => kserve.addToInferenceService(pod)).toThrow(/expected an InferenceService, got a Pod/);
  });
});
