/**
 * Sample workloads the emitted engine test suites (`kyverno-test.yaml`, the gator Suite) run the policies against:
 * each one is admitted or refused by the structural rules alone, whatever the verifier answers.
 */
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

function pod(name: string, annotations: Record<string, string>, image: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: SAMPLE_NAMESPACE, annotations },
    spec: { containers: [{ name: 'server', image }] },
  };
}

function deployment(name: string, annotations: Record<string, string>, image: string): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: SAMPLE_NAMESPACE },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'server', image }] } },
    },
  };
}

function inferenceService(name: string, annotations: Record<string, string>): any {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, namespace: SAMPLE_NAMESPACE, annotations },
    spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://models/fraud/1/' } } },
  };
}

/** The samples: admitted ones first. */
export function samples(): Sample[] {
  const model = { [MODEL_DIGEST_ANNOTATION]: SAMPLE_DIGEST, [MODEL_URI_ANNOTATION]: 's3://models/fraud/1/' };
  return [
    { name: 'model-pod-pinned', kind: 'Pod', admitted: true, object: pod('model-pod-pinned', model, SAMPLE_IMAGE) },
    { name: 'model-deployment-pinned', kind: 'Deployment', admitted: true, object: deployment('model-deployment-pinned', model, SAMPLE_IMAGE) },
    { name: 'isvc-with-digest', kind: 'InferenceService', admitted: true, object: inferenceService('isvc-with-digest', { [MODEL_DIGEST_ANNOTATION]: SAMPLE_DIGEST }) },
    { name: 'pod-without-model', kind: 'Pod', admitted: true, object: pod('pod-without-model', {}, 'registry.example/tool:latest') },
    {
      name: 'model-pod-without-digest',
      kind: 'Pod',
      admitted: false,
      object: pod('model-pod-without-digest', { [MODEL_URI_ANNOTATION]: 's3://models/fraud/1/' }, SAMPLE_IMAGE),
    },
    {
      name: 'model-pod-bad-digest',
      kind: 'Pod',
      admitted: false,
      object: pod('model-pod-bad-digest', { [MODEL_DIGEST_ANNOTATION]: 'sha256:1234' }, SAMPLE_IMAGE),
    },
    {
      name: 'model-deployment-unpinned',
      kind: 'Deployment',
      admitted: false,
      object: deployment('model-deployment-unpinned', model, 'registry.example/serving:1.0'),
    },
    { name: 'isvc-without-digest', kind: 'InferenceService', admitted: false, object: inferenceService('isvc-without-digest', {}) },
  ];
}
