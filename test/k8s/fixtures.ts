/** Workloads the admission policies are evaluated against, admitted and refused, for every kind the contract names. */
import { Testing } from 'cdk8s';
import { ModelVerifier, VerifierImage } from '../../src';
import { loadVerifiedPodSpec } from '../../src/k8s/private/samples';
import { DEFAULT_WORKLOAD_RULE_OPTIONS } from '../../src/shared/admission';
import { verifierCaPem } from '../helpers/verifier-ca';

export const DIGEST = `sha256:${'ab'.repeat(32)}`;
export const PINNED = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@sha256:${'cd'.repeat(32)}`;
export const UNPINNED = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving:1.4';
export const VERIFIER_IMAGE = VerifierImage.fromRegistry(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:${'ef'.repeat(32)}`);
export const TRUST_POLICY = 'apiVersion: modelseal.dev/v1\nkind: TrustPolicy\nsigners:\n  - name: ci\n    publicKey: ci.pub.pem\nrequire:\n  allOf: [ci]\n';
const NS = 'models';

const digestAnn = { 'modelseal.dev/model-digest': DIGEST, 'modelseal.dev/model-uri': 's3://models/fraud/1/' };

/** A pod spec as ModelLoadVerification renders it (pull init container, read-only model volume), plus `init`. */
export function verifiedSpec(image = PINNED, init?: string): any {
  const spec = loadVerifiedPodSpec(image, { ...DEFAULT_WORKLOAD_RULE_OPTIONS, loadVerifierImage: VERIFIER_IMAGE.reference });
  if (init) spec.initContainers.push({ name: 'init', image: init });
  return spec;
}

/** A model workload's pod spec (load-verified) when the annotations name a model, else a plain one. */
const podSpec = (annotations: Record<string, string>, image: string, init?: string) => (Object.keys(annotations).length > 0
  ? verifiedSpec(image, init)
  : {
    containers: [{ name: 'server', image }],
    ...(init ? { initContainers: [{ name: 'init', image: init }] } : {}),
  });
const template = (annotations: Record<string, string>, image: string, init?: string) => ({
  metadata: { labels: { app: 'm' }, annotations }, spec: podSpec(annotations, image, init),
});

export function pod(annotations: Record<string, string>, image = PINNED, init?: string): any {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: NS, annotations }, spec: podSpec(annotations, image, init) };
}

/** A load-verified model Pod whose spec `change` edits (to break one part of the load verification). */
export function podWith(change: (spec: any) => void): any {
  const p = pod(digestAnn);
  change(p.spec);
  return p;
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
  {
    name: 'InferenceService with pinned transformer and explainer',
    object: { ...isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://m/1/' } }), spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 's3://m/1/' } }, transformer: { containers: [{ name: 't', image: PINNED }] }, explainer: { containers: [{ name: 'e', image: PINNED }] } } },
    admitted: true,
  },
  { name: 'LLMInferenceService model.uri', object: llmIsvc(onlyDigest, 's3://org/model/'), admitted: true },
  // an ephemeral container (kubectl debug) that is pinned and mounts the model read-only
  { name: 'Pod with a pinned read-only ephemeral container', object: podWith((s) => { s.ephemeralContainers = [{ name: 'debug', image: PINNED, volumeMounts: [{ name: 'modelseal-model', mountPath: '/m', readOnly: true }] }]; }), admitted: true },
];

const KSERVE_SCHEME = /KServe storage URIs must start with s3:\/\//;
const BYPASS = /KServe model sources ModelSeal cannot verify/;
const NO_PULL = /must verify its model at load: an init container modelseal-pull/;
const PULL_COMMAND = /init container modelseal-pull must run 'modelseal pull SOURCE DEST'/;
const VOLUME = /the model volume modelseal-model must be an emptyDir/;
const s3 = { modelFormat: { name: 'sklearn' }, storageUri: 's3://m/1/' };

/** F1, F2, F5 of the attacker review: each refused by the structural rules, whatever the verifier says. */
export const BYPASSES: Case[] = [
  // F1: KServe loads what the digest does not name
  { name: 'F1-A InferenceService pvc:// storageUri', object: isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storageUri: 'pvc://attacker-pvc/evil' } }), admitted: false, reason: /refused: pvc:\/\/attacker-pvc\/evil/ },
  { name: 'F1-B InferenceService oci:// modelcar', object: isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storageUri: `oci://evil.example/m@sha256:${'ab'.repeat(32)}` } }), admitted: false, reason: KSERVE_SCHEME },
  { name: 'F1-G InferenceService hf://', object: isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storageUri: 'hf://evil/model' } }), admitted: false, reason: /refused: hf:\/\/evil\/model/ },
  { name: 'F1 InferenceService gs:// legacy framework', object: isvc(onlyDigest, { pytorch: { storageUri: 'gs://evil/m' } }), admitted: false, reason: KSERVE_SCHEME },
  { name: 'F1 InferenceService https:// in storageUris', object: isvc(onlyDigest, { model: { modelFormat: { name: 'x' }, storageUris: [{ uri: 's3://m/1/' }, { uri: 'https://evil/m' }] } }), admitted: false, reason: /refused: https:\/\/evil\/m/ },
  { name: 'F1 LLMInferenceService hf://', object: llmIsvc(onlyDigest, 'hf://org/model'), admitted: false, reason: KSERVE_SCHEME },
  { name: 'F1-C InferenceService model.storage key, no digest', object: isvc({}, { model: { modelFormat: { name: 'sklearn' }, storage: { key: 'localMinIO', path: 'evil' } } }), admitted: false, reason: /: spec\.predictor\.model\.storage/ },
  { name: 'F1-C InferenceService model.storage key with digest', object: isvc(onlyDigest, { model: { modelFormat: { name: 'sklearn' }, storage: { key: 'localMinIO', path: 'evil' } } }), admitted: false, reason: /cannot verify .*: spec\.predictor\.model\.storage/ },
  { name: 'F1-D InferenceService STORAGE_URI env, no digest', object: isvc({}, { containers: [{ name: 'kserve-container', image: PINNED, env: [{ name: 'STORAGE_URI', value: 's3://evil/m' }] }] }), admitted: false, reason: /STORAGE_URI env of container kserve-container/ },
  { name: 'F1-D InferenceService STORAGE_URI env on a transformer', object: { ...isvc(onlyDigest, { model: s3 }), spec: { predictor: { model: s3 }, transformer: { containers: [{ name: 't', image: PINNED, env: [{ name: 'STORAGE_URI', value: 'pvc://evil/m' }] }] } } }, admitted: false, reason: BYPASS },
  { name: 'F1 InferenceService custom container without storageUri', object: isvc(onlyDigest, { containers: [{ name: 'kserve-container', image: PINNED }] }), admitted: false, reason: /must load its model from a storage URI/ },
  // F5: every KServe component's images, and ephemeral containers
  { name: 'F5-b InferenceService unpinned transformer', object: { ...isvc(onlyDigest, { model: s3 }), spec: { predictor: { model: s3 }, transformer: { containers: [{ name: 't', image: 'evil/t:latest' }] } } }, admitted: false, reason: /not pinned by digest .*: evil\/t:latest/ },
  { name: 'F5-b InferenceService unpinned explainer', object: { ...isvc(onlyDigest, { model: s3 }), spec: { predictor: { model: s3 }, explainer: { containers: [{ name: 'e', image: 'evil/e:1' }] } } }, admitted: false, reason: /evil\/e:1/ },
  { name: 'F5-b InferenceService unpinned workerSpec', object: isvc(onlyDigest, { model: s3, workerSpec: { containers: [{ name: 'w', image: 'evil/w:1' }] } }), admitted: false, reason: /evil\/w:1/ },
  { name: 'F5-b InferenceService unpinned model image', object: isvc(onlyDigest, { model: { ...s3, image: 'evil/runtime:1' } }), admitted: false, reason: /evil\/runtime:1/ },
  { name: 'F5-b LLMInferenceService unpinned worker', object: { ...llmIsvc(onlyDigest, 's3://m/1/'), spec: { model: { uri: 's3://m/1/' }, worker: { containers: [{ name: 'w', image: 'evil/w:1' }] } } }, admitted: false, reason: /evil\/w:1/ },
  { name: 'F5-b LLMInferenceService unpinned prefill template', object: { ...llmIsvc(onlyDigest, 's3://m/1/'), spec: { model: { uri: 's3://m/1/' }, prefill: { template: { containers: [{ name: 'p', image: 'evil/p:1' }] } } } }, admitted: false, reason: /evil\/p:1/ },
  { name: 'F5-a Pod with kubectl debug busybox:latest', object: podWith((s) => { s.ephemeralContainers = [{ name: 'debugger', image: 'busybox:latest' }]; }), admitted: false, reason: /busybox:latest/ },
  { name: 'F5-a Pod with an ephemeral container mounting the model writable', object: podWith((s) => { s.ephemeralContainers = [{ name: 'debugger', image: PINNED, volumeMounts: [{ name: 'modelseal-model', mountPath: '/m' }] }]; }), admitted: false, reason: VOLUME },
  // F2: the digest annotation alone is a claim; the pod must verify what it loads
  { name: 'F2 Deployment with a digest and no pull init container', object: { ...controller('Deployment', {}), spec: { ...controller('Deployment', {}).spec, template: { metadata: { annotations: digestAnn }, spec: { containers: [{ name: 'server', image: PINNED }] } } } }, admitted: false, reason: NO_PULL },
  { name: 'F2 pull container with a literal digest', object: podWith((s) => { s.initContainers[0].command = s.initContainers[0].command.map((a: string) => (a.startsWith('--digest') ? `--digest=${DIGEST}` : a)); }), admitted: false, reason: PULL_COMMAND },
  { name: 'F2 pull container with a second --digest', object: podWith((s) => { s.initContainers[0].command.push('--digest', DIGEST); }), admitted: false, reason: PULL_COMMAND },
  { name: 'F2 pull container that runs a shell', object: podWith((s) => { s.initContainers[0].command = ['/nodejs/bin/node', '-e', 'evil()', ...s.initContainers[0].command]; }), admitted: false, reason: PULL_COMMAND },
  { name: 'F2 pull container with --help', object: podWith((s) => { s.initContainers[0].command.push('--help'); }), admitted: false, reason: PULL_COMMAND },
  { name: 'F2 pull container writing elsewhere', object: podWith((s) => { s.initContainers[0].command[3] = '/tmp/elsewhere'; }), admitted: false, reason: PULL_COMMAND },
  { name: 'F2 digest env from a literal', object: podWith((s) => { s.initContainers[0].env = [{ name: 'MODELSEAL_DIGEST', value: DIGEST }]; }), admitted: false, reason: /must set MODELSEAL_DIGEST only from the downward API/ },
  { name: 'F2 digest env overridden by a second entry', object: podWith((s) => { s.initContainers[0].env.push({ name: 'MODELSEAL_DIGEST', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['other']" } } }); }), admitted: false, reason: /must set MODELSEAL_DIGEST only/ },
  { name: 'F2 pull container with another pinned image', object: podWith((s) => { s.initContainers[0].image = PINNED; }), admitted: false, reason: /must run the verifier image/ },
  { name: 'F2 server mounts the model writable', object: podWith((s) => { s.containers[0].volumeMounts[0].readOnly = false; }), admitted: false, reason: VOLUME },
  { name: 'F2 a second server container without the model volume', object: podWith((s) => { s.containers.push({ name: 'side', image: PINNED }); }), admitted: false, reason: VOLUME },
  { name: 'F2 model volume is a PVC', object: podWith((s) => { s.volumes = [{ name: 'modelseal-model', persistentVolumeClaim: { claimName: 'evil' } }]; }), admitted: false, reason: VOLUME },
  // F1: KServe picks an arbitrary ClusterStorageContainer when two match; only ModelSeal's may handle s3://
  { name: 'F1 KServe default ClusterStorageContainer still listing s3://', object: csc('default', [{ prefix: 'gs://' }, { prefix: 's3://' }, { regex: 'https?://(.+)/(.+)' }]), admitted: false, reason: /only ModelSeal's ClusterStorageContainer modelseal may handle s3:\/\// },
  { name: 'F1 a ClusterStorageContainer with a regex that matches s3://', object: csc('other', [{ regex: '^s3://(.+)' }]), admitted: false, reason: /only ModelSeal's ClusterStorageContainer/ },
  { name: 'F1 a ClusterStorageContainer with a broader prefix', object: csc('other', [{ prefix: 's3' }]), admitted: false, reason: /only ModelSeal's ClusterStorageContainer/ },
  { name: 'F2 another init container writes into the model volume', object: podWith((s) => { s.initContainers.push({ name: 'later', image: PINNED, volumeMounts: [{ name: 'modelseal-model', mountPath: '/mnt/models' }] }); }), admitted: false, reason: VOLUME },
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
  { name: 'LLMInferenceService without digest', object: llmIsvc({}, 's3://org/model/'), admitted: false, reason: MISSING },
  // every LLMInferenceService is a model workload (F1)
  { name: 'LLMInferenceService without model', object: llmIsvc({}), admitted: false, reason: MISSING },
  // a workload cannot exempt itself: labels and annotations that look like exemptions change nothing
  {
    name: 'Pod that labels itself exempt',
    object: { ...pod(onlyUri), metadata: { ...pod(onlyUri).metadata, labels: { 'modelseal.dev/exempt': 'true' }, annotations: { ...onlyUri, 'modelseal.dev/skip': 'true' } } },
    admitted: false,
    reason: MISSING,
  },
  ...BYPASSES,
];

/** A KServe ClusterStorageContainer. */
export function csc(name: string, supportedUriFormats: any[], disabled?: boolean): any {
  return {
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind: 'ClusterStorageContainer',
    metadata: { name },
    ...(disabled !== undefined ? { disabled } : {}),
    spec: { container: { name: 'storage-initializer', image: 'kserve/storage-initializer:v0.15.0' }, supportedUriFormats },
  };
}

/** Workloads that load no model (no annotation, no KServe model field): admitted without a verifier call. */
export const NOT_MODEL: Case[] = [
  { name: 'ModelSeal\'s ClusterStorageContainer for s3://', object: csc('modelseal', [{ prefix: 's3://' }]), admitted: true },
  { name: 'KServe default ClusterStorageContainer without s3://', object: csc('default', [{ prefix: 'gs://' }, { prefix: 'hf://' }, { regex: 'https?://(.+)/(.+)' }]), admitted: true },
  { name: 'KServe default ClusterStorageContainer disabled', object: csc('default', [{ prefix: 's3://' }], true), admitted: true },
  { name: 'plain Pod with an unpinned image', object: pod({}, 'nginx:latest'), admitted: true },
  { name: 'plain Deployment', object: controller('Deployment', {}, 'nginx:latest'), admitted: true },
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
