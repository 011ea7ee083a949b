/**
 * Sample workloads the emitted engine test suites (`kyverno-test.yaml`, the gator Suite) run the policies against:
 * each one is admitted or refused by the structural rules alone, whatever the verifier answers.
 */
import {
  DEFAULT_WORKLOAD_RULE_OPTIONS, DIGEST_FIELD_PATH, LOAD_VERIFICATION_CONTAINER, MODEL_DIGEST_ENV, MODEL_VOLUME, PULL_DIGEST_ARGUMENT,
  WorkloadRuleOptions,
} from '../../shared/admission';
import { MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION } from '../contract';

/** A well-formed model digest (for samples only). */
export const SAMPLE_DIGEST = `sha256:${'5f'.repeat(32)}`;
/** A digest-pinned serving image (for samples only). */
export const SAMPLE_IMAGE = `registry.example/serving@sha256:${'0c'.repeat(32)}`;
/** The namespace the samples live in. */
export const SAMPLE_NAMESPACE = 'models';

/** One sample and what the structural rules must decide. */
export interface Sample {
  readonly name: string;
  readonly kind: string;
  readonly admitted: boolean;
  readonly object: any;
}

/**
 * A pod spec laid out as `ModelLoadVerification` renders it: the `modelseal-pull` init container (the verifier image,
 * `pull SOURCE /mnt/models ... --digest=$(MODELSEAL_DIGEST)` with the digest from the annotation) writing into the
 * `modelseal-model` emptyDir, which `server` mounts read-only.
 */
export function loadVerifiedPodSpec(serverImage: string, options: WorkloadRuleOptions = DEFAULT_WORKLOAD_RULE_OPTIONS,
  source = 's3://models/fraud/1/'): any {
  return {
    containers: [{ name: 'server', image: serverImage, volumeMounts: [{ name: MODEL_VOLUME, mountPath: '/mnt/models', readOnly: true }] }],
    initContainers: [{
      name: LOAD_VERIFICATION_CONTAINER,
      image: options.loadVerifierImage ?? SAMPLE_VERIFIER_IMAGE,
      command: [...options.loadVerifierCommand, 'pull', source, '/mnt/models', '--store', 's3://attestations', '--policy',
        '/etc/modelseal/policy/policy.yaml', PULL_DIGEST_ARGUMENT],
      env: [{ name: MODEL_DIGEST_ENV, valueFrom: { fieldRef: { fieldPath: DIGEST_FIELD_PATH } } }],
      volumeMounts: [{ name: MODEL_VOLUME, mountPath: '/mnt/models' }],
    }],
    volumes: [{ name: MODEL_VOLUME, emptyDir: {} }],
  };
}

/** A digest-pinned verifier image, for samples when the verifier's is not known. */
export const SAMPLE_VERIFIER_IMAGE = `registry.example/modelseal@sha256:${'e1'.repeat(32)}`;

function pod(name: string, annotations: Record<string, string>, image: string, options?: WorkloadRuleOptions): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: SAMPLE_NAMESPACE, annotations },
    spec: options ? loadVerifiedPodSpec(image, options) : { containers: [{ name: 'server', image }] },
  };
}

function deployment(name: string, annotations: Record<string, string>, image: string, options?: WorkloadRuleOptions): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: SAMPLE_NAMESPACE },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: options ? loadVerifiedPodSpec(image, options) : { containers: [{ name: 'server', image }] },
      },
    },
  };
}

function inferenceService(name: string, annotations: Record<string, string>, storageUri = 's3://models/fraud/1/', extra: any = {}): any {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, namespace: SAMPLE_NAMESPACE, annotations },
    spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri } }, ...extra },
  };
}

/**
 * The samples: admitted ones first.
 *
 * @param options the rules' options (the verifier's), so the load-verified samples run its image and command
 */
export function samples(options: WorkloadRuleOptions = DEFAULT_WORKLOAD_RULE_OPTIONS): Sample[] {
  const model = { [MODEL_DIGEST_ANNOTATION]: SAMPLE_DIGEST, [MODEL_URI_ANNOTATION]: 's3://models/fraud/1/' };
  const onlyDigest = { [MODEL_DIGEST_ANNOTATION]: SAMPLE_DIGEST };
  const s3 = options.kserveUriPrefixes.find((p) => p.startsWith('s3://')) ?? options.kserveUriPrefixes[0];
  const refusedOnlyWhenRequired = (sample: Sample): Sample => ({ ...sample, admitted: !options.requireLoadVerification });
  return [
    { name: 'model-pod-pinned', kind: 'Pod', admitted: true, object: pod('model-pod-pinned', model, SAMPLE_IMAGE, options) },
    { name: 'model-deployment-pinned', kind: 'Deployment', admitted: true, object: deployment('model-deployment-pinned', model, SAMPLE_IMAGE, options) },
    { name: 'isvc-with-digest', kind: 'InferenceService', admitted: true, object: inferenceService('isvc-with-digest', onlyDigest, `${s3}models/fraud/1/`) },
    { name: 'pod-without-model', kind: 'Pod', admitted: true, object: pod('pod-without-model', {}, 'registry.example/tool:latest') },
    {
      name: 'model-pod-without-digest',
      kind: 'Pod',
      admitted: false,
      object: pod('model-pod-without-digest', { [MODEL_URI_ANNOTATION]: 's3://models/fraud/1/' }, SAMPLE_IMAGE, options),
    },
    {
      name: 'model-pod-bad-digest',
      kind: 'Pod',
      admitted: false,
      object: pod('model-pod-bad-digest', { [MODEL_DIGEST_ANNOTATION]: 'sha256:1234' }, SAMPLE_IMAGE, options),
    },
    {
      name: 'model-deployment-unpinned',
      kind: 'Deployment',
      admitted: false,
      object: deployment('model-deployment-unpinned', model, 'registry.example/serving:1.0', options),
    },
    { name: 'isvc-without-digest', kind: 'InferenceService', admitted: false, object: inferenceService('isvc-without-digest', {}) },
    refusedOnlyWhenRequired({
      name: 'model-deployment-without-load-verification',
      kind: 'Deployment',
      admitted: false,
      object: deployment('model-deployment-without-load-verification', model, SAMPLE_IMAGE),
    }),
    {
      name: 'isvc-pvc-storage',
      kind: 'InferenceService',
      admitted: false,
      object: inferenceService('isvc-pvc-storage', onlyDigest, 'pvc://attacker-pvc/evil'),
    },
    {
      name: 'isvc-unpinned-transformer',
      kind: 'InferenceService',
      admitted: false,
      object: inferenceService('isvc-unpinned-transformer', onlyDigest, `${s3}models/fraud/1/`, { transformer: { containers: [{ name: 't', image: 'evil/t:latest' }] } }),
    },
  ];
}
