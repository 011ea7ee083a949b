/**
 * The structural model-workload rules in Kubernetes CEL, shared by Kyverno's ValidatingPolicy, Gatekeeper's
 * K8sNativeValidation template and the native ValidatingAdmissionPolicy, so all three engines decide alike (and alike
 * the verifier's `/validate`, docs/ADMISSION.md).
 *
 * Only standard CEL and its macros are used (`has`, `map`, `filter`, `all`, `exists`, `matches`, `size`): nothing an
 * engine's extension library must provide. Every field access is guarded by `has()` on each step, so an absent field
 * is a value, never an evaluation error (an error would deny under `failurePolicy: Fail`, but with a confusing
 * message). Nothing in the workload itself can exempt it: exempt namespaces come from the constructs' props only.
 */
import { DIGEST_PATTERN, KSERVE_FRAMEWORKS, PINNED_IMAGE_PATTERN, POD_TEMPLATE_KINDS } from '../../shared/admission';
import { MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION } from '../contract';

export { DIGEST_PATTERN, KSERVE_FRAMEWORKS, PINNED_IMAGE_PATTERN };

/** One named CEL variable (`variables.<name>`). */
export interface CelVariable {
  readonly name: string;
  readonly expression: string;
}

/** One CEL validation: passes when `expression` is true. */
export interface CelValidation {
  readonly name: string;
  readonly expression: string;
  readonly message: string;
  readonly messageExpression?: string;
}

/** A kind the policies match, with its API group, the resource and the pod template path. */
export interface WorkloadKind {
  readonly apiGroup: string;
  readonly apiVersions: string[];
  readonly kind: string;
  readonly resource: string;
}

/** Every workload kind the policies match (the contract's list). */
export const WORKLOAD_KINDS: WorkloadKind[] = [
  { apiGroup: '', apiVersions: ['v1'], kind: 'Pod', resource: 'pods' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'Deployment', resource: 'deployments' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'StatefulSet', resource: 'statefulsets' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'DaemonSet', resource: 'daemonsets' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'ReplicaSet', resource: 'replicasets' },
  { apiGroup: 'batch', apiVersions: ['v1'], kind: 'Job', resource: 'jobs' },
  { apiGroup: 'batch', apiVersions: ['v1'], kind: 'CronJob', resource: 'cronjobs' },
  { apiGroup: 'serving.kserve.io', apiVersions: ['*'], kind: 'InferenceService', resource: 'inferenceservices' },
  { apiGroup: 'serving.kserve.io', apiVersions: ['*'], kind: 'LLMInferenceService', resource: 'llminferenceservices' },
];

/** The API groups of {@link WORKLOAD_KINDS}, each once, in order. */
export function workloadApiGroups(): string[] {
  return [...new Set(WORKLOAD_KINDS.map((k) => k.apiGroup))];
}

/** The resources of {@link WORKLOAD_KINDS} in one API group. */
export function workloadResources(apiGroup: string): string[] {
  return WORKLOAD_KINDS.filter((k) => k.apiGroup === apiGroup).map((k) => k.resource);
}

/** `has(a.b) && has(a.b.c) && ...`: true only when every step of the path exists. */
export function hasPath(root: string, path: string[]): string {
  const steps: string[] = [];
  for (let i = 1; i <= path.length; i++) steps.push(`has(${[root, ...path.slice(0, i)].join('.')})`);
  return steps.join(' && ');
}

function orEmptyMap(root: string, path: string[]): string {
  return `(${hasPath(root, path)} ? ${[root, ...path].join('.')} : {})`;
}

const TEMPLATE_KINDS = [...POD_TEMPLATE_KINDS];
const kindIn = (kinds: string[]) => `object.kind in [${kinds.map((k) => `'${k}'`).join(', ')}]`;

function containerImages(spec: string, field: string): string {
  return `(has(${spec}.${field}) ? ${spec}.${field}.map(c, has(c.image) ? c.image : '') : [])`;
}

/**
 * The CEL variables (in order: later ones use earlier ones through `variables.`).
 *
 * - `annotations`: the pod (template) annotations, or the KServe object's own (KServe copies them to its pods);
 * - `podSpec`: the pod spec (the predictor for an InferenceService, `spec.template` for an LLMInferenceService);
 * - `images`: every container, init container and ephemeral container image of `podSpec`;
 * - `kserveModel`: the KServe object names a model (`model.storageUri`, `<framework>.storageUri`, `storageUris`,
 *   `spec.model.uri`);
 * - `isModel`: the workload loads a model (either annotation, or `kserveModel`);
 * - `digest`: the digest annotation, or `''`.
 */
export function workloadVariables(): CelVariable[] {
  const predictor = (path: string[]) => hasPath('object', ['spec', 'predictor', ...path]);
  const kserveFields = [
    predictor(['model', 'storageUri']),
    `(${predictor(['model', 'storageUris'])} && size(object.spec.predictor.model.storageUris) > 0)`,
    `(${predictor(['storageUris'])} && size(object.spec.predictor.storageUris) > 0)`,
    ...KSERVE_FRAMEWORKS.map((f) => predictor([f, 'storageUri'])),
  ];
  return [
    {
      name: 'annotations',
      expression: [
        `${kindIn(['Pod', 'InferenceService', 'LLMInferenceService'])} ? ${orEmptyMap('object', ['metadata', 'annotations'])}`,
        `: object.kind == 'CronJob' ? ${orEmptyMap('object', ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'annotations'])}`,
        `: ${kindIn(TEMPLATE_KINDS)} ? ${orEmptyMap('object', ['spec', 'template', 'metadata', 'annotations'])}`,
        ': {}',
      ].join(' '),
    },
    {
      name: 'podSpec',
      expression: [
        `object.kind == 'Pod' ? ${orEmptyMap('object', ['spec'])}`,
        `: object.kind == 'CronJob' ? ${orEmptyMap('object', ['spec', 'jobTemplate', 'spec', 'template', 'spec'])}`,
        `: ${kindIn(TEMPLATE_KINDS)} ? ${orEmptyMap('object', ['spec', 'template', 'spec'])}`,
        `: object.kind == 'InferenceService' ? ${orEmptyMap('object', ['spec', 'predictor'])}`,
        `: object.kind == 'LLMInferenceService' ? ${orEmptyMap('object', ['spec', 'template'])}`,
        ': {}',
      ].join(' '),
    },
    {
      name: 'images',
      expression: ['containers', 'initContainers', 'ephemeralContainers'].map((f) => containerImages('variables.podSpec', f)).join(' + '),
    },
    {
      name: 'kserveModel',
      expression: [
        `(object.kind == 'InferenceService' && (${kserveFields.join(' || ')}))`,
        `(object.kind == 'LLMInferenceService' && ${hasPath('object', ['spec', 'model', 'uri'])})`,
      ].join(' || '),
    },
    {
      name: 'isModel',
      expression: `'${MODEL_DIGEST_ANNOTATION}' in variables.annotations || '${MODEL_URI_ANNOTATION}' in variables.annotations || variables.kserveModel`,
    },
    {
      name: 'digest',
      expression: `'${MODEL_DIGEST_ANNOTATION}' in variables.annotations ? string(variables.annotations['${MODEL_DIGEST_ANNOTATION}']) : ''`,
    },
  ];
}

/** The structural validations every engine runs (the verifier call comes on top, per engine). */
export function workloadValidations(): CelValidation[] {
  return [
    {
      name: 'digest-annotation',
      expression: '!variables.isModel || variables.digest != \'\'',
      message: `a workload that loads a model must carry the ${MODEL_DIGEST_ANNOTATION} annotation (sha256:<OMS root digest>)`,
    },
    {
      name: 'digest-format',
      expression: `!variables.isModel || variables.digest == '' || variables.digest.matches('${DIGEST_PATTERN}')`,
      message: `${MODEL_DIGEST_ANNOTATION} must be sha256:<64 lowercase hex>`,
      messageExpression: `'${MODEL_DIGEST_ANNOTATION} must be sha256:<64 lowercase hex>, got ' + variables.digest`,
    },
    {
      name: 'pinned-images',
      expression: `!variables.isModel || variables.images.all(i, i.matches('${PINNED_IMAGE_PATTERN}'))`,
      message: 'every container image of a model workload must be pinned by digest (image@sha256:<64 hex>)',
      messageExpression: `'images not pinned by digest (image@sha256:<64 hex>): ' + variables.images.filter(i, !i.matches('${PINNED_IMAGE_PATTERN}')).join(', ')`,
    },
  ];
}
