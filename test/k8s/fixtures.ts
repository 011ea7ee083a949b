/** Workloads the admission policies are evaluated against, admitted and refused, for every kind the contract names. */
import { Testing } from 'cdk8s';
import { ModelVerifier, VerifierImage } from '../../src';
import { verifierCaPem } from '../helpers/verifier-ca';

export const DIGEST = `sha256:${'ab'.repeat(32)}`;
export const PINNED = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@sha256:${'cd'.repeat(32)}`;
export const UNPINNED = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving:1.4';
export const VERIFIER_IMAGE = VerifierImage.fromRegistry(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:${'ef'.repeat(32)}`);
export const TRUST_POLICY = 'apiVersion: modelseal.dev/v1\nkind: TrustPolicy\nsigners:\n  - name: ci\n    publicKey: ci.pub.pem\nrequire:\n  allOf: [ci]\n';
const NS = 'models';

const digestAnn = { 'modelseal.dev/model-digest': DIGEST, 'modelseal.dev/model-uri': 's3://models/fraud/1/' };
const podSpec = (image: string, init?: string) => ({
  containers: [{ name: 'server', image }],
  ...(init ? { initContainers: [{ name: 'init', image: init }] } : {}),
});
const template = (annotations: Record<string, string>, image: string, init?: string) => ({
  metadata: { labels: { app: 'm' }, annotations }, spec: podSpec(image, init),
});

export function pod(annotations: Record<string, string>, image = PINNED, init?: string): any {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: NS, annotations }, spec: podSpec(image, init) };
}

export function controller(kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet', annotations: Record<string, string>, image = PINNED): any {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: kind.toLowerCase(), namespace: NS },
    spec: { selector: { matchLabels: { app: 'm' } }, template: template(annotations, image) },
  };
}

export function job(annotations: Record<string, string>, image = PINNED): any {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: NS }, spec: { template: template(annotations, image) } };
}

export function cronJob(annotations: Record<string, string>, image = PINNED): any {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'c', namespace: NS },
    spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: template(annotations, image) } } },
  };
}

export function isvc(annotations: Record<string, string>, predictor: any): any {
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'i', namespace: NS, annotations }, spec: { predictor } };
}

export function llmIsvc(annotations: Record<string, string>, uri?: string): any {
  return {
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind: 'LLMInferenceService',
    metadata: { name: 'l', namespace: NS, annotations },
    spec: uri ? { model: { uri } } : { template: { containers: [{ name: 'x', image: PINNED }] } },
  };
}

/** One case: a name, the object, and whether the structural rules admit it. */
export interface Case {
  readonly name: string;
  readonly object: any;
  readonly admitted: boolean;
  /** A phrase the refusal message must contain. */
  readonly reason?: RegExp;
}

const onlyDigest = { 'modelseal.dev/model-digest': DIGEST };
const onlyUri = { 'modelseal.dev/model-uri': 's3://models/fraud/1/' };
const MISSING = /must carry the modelseal.dev\/model-digest annotation/;
const NOT_PINNED = /not pinned by digest/;

/** Model workloads that are well formed (the verifier then decides). */
export const WELL_FORMED: Case[] = [
  { name: 'Pod', object: pod(digestAnn), admitted: true },
  { name: 'Pod with a pinned init container', object: pod(digestAnn, PINNED, PINNED), admitted: true },
  { name: 'Deployment', object: controller('Deployment', digestAnn), admitted: true },
  { name: 'StatefulSet', object: controller('StatefulSet', digestAnn), admitted: true },
  { name: 'DaemonSet', object: controller('DaemonSet', onlyDigest), admitted: true },
  { name: 'Job', object: job(digestAnn), admitted: true },
  { name: 'CronJob', object: cronJob(digestAnn), admitted: true },
  { name: 'InferenceService model.storageUri', object: isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://m/1/' } }), admitted: true },
  { name: 'InferenceService legacy sklearn.storageUri', object: isvc(onlyDigest, { sklearn: { storageUri: 's3://m/1/' } }), admitted: true },
  { name: 'InferenceService storageUris', object: isvc(onlyDigest, { model: { modelFormat: { name: 'x' }, storageUris: [{ uri: 's3://m/1/', mountPath: '/mnt/a' }] } }), admitted: true },
  { name: 'LLMInferenceService model.uri', object: llmIsvc(onlyDigest, 'hf://org/model'), admitted: true },
];

/** Workloads refused by the structural rules whatever the verifier says. */
export const MALFORMED: Case[] = [
  { name: 'Pod with model-uri but no digest', object: pod(onlyUri), admitted: false, reason: MISSING },
  { name: 'Pod with a malformed digest', object: pod({ 'modelseal.dev/model-digest': 'sha256:ABC' }), admitted: false, reason: /must be sha256:<64 lowercase hex>, got sha256:ABC/ },
  { name: 'Pod with an unpinned image', object: pod(digestAnn, UNPINNED), admitted: false, reason: NOT_PINNED },
  { name: 'Pod with an unpinned init container', object: pod(digestAnn, PINNED, 'busybox:latest'), admitted: false, reason: /busybox:latest/ },
  { name: 'Deployment with an unpinned image', object: controller('Deployment', digestAnn, UNPINNED), admitted: false, reason: NOT_PINNED },
  { name: 'StatefulSet without digest', object: controller('StatefulSet', onlyUri), admitted: false, reason: MISSING },
  { name: 'Job without digest', object: job(onlyUri), admitted: false, reason: MISSING },
  { name: 'CronJob with an unpinned image', object: cronJob(digestAnn, UNPINNED), admitted: false, reason: NOT_PINNED },
  { name: 'InferenceService model.storageUri without digest', object: isvc({}, { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://m/1/' } }), admitted: false, reason: MISSING },
  { name: 'InferenceService legacy pytorch.storageUri without digest', object: isvc({}, { pytorch: { storageUri: 's3://m/1/' } }), admitted: false, reason: MISSING },
  { name: 'InferenceService storageUris without digest', object: isvc({}, { model: { modelFormat: { name: 'x' }, storageUris: [{ uri: 's3://m/1/' }] } }), admitted: false, reason: MISSING },
  { name: 'InferenceService custom container unpinned', object: isvc(onlyDigest, { containers: [{ name: 'kserve-container', image: UNPINNED }] }), admitted: false, reason: NOT_PINNED },
  { name: 'LLMInferenceService without digest', object: llmIsvc({}, 'hf://org/model'), admitted: false, reason: MISSING },
  // a workload cannot exempt itself: labels and annotations that look like exemptions change nothing
  {
    name: 'Pod that labels itself exempt',
    object: { ...pod(onlyUri), metadata: { ...pod(onlyUri).metadata, labels: { 'modelseal.dev/exempt': 'true' }, annotations: { ...onlyUri, 'modelseal.dev/skip': 'true' } } },
    admitted: false,
    reason: MISSING,
  },
];

/** Workloads that load no model (no annotation, no KServe model field): admitted without a verifier call. */
export const NOT_MODEL: Case[] = [
  { name: 'plain Pod with an unpinned image', object: pod({}, 'nginx:latest'), admitted: true },
  { name: 'plain Deployment', object: controller('Deployment', {}, 'nginx:latest'), admitted: true },
  { name: 'LLMInferenceService without model', object: llmIsvc({}), admitted: true },
];

/** A ModelVerifier in a fresh chart. */
export function verifierInChart(props: Partial<import('../../src').ModelVerifierProps> = {}) {
  const chart = Testing.chart();
  const verifier = new ModelVerifier(chart, 'Verifier', {
    image: VERIFIER_IMAGE,
    storeUri: 's3://attestations-bucket',
    trustPolicy: TRUST_POLICY,
    trustPolicyFiles: [{ name: 'ci.pub.pem', content: '-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n' }],
    caCertificatePem: verifierCaPem(),
    clientNamespaces: ['kyverno'],
    ...props,
  });
  return { chart, verifier };
}
