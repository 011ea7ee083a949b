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
import {
  DEFAULT_WORKLOAD_RULE_OPTIONS, DIGEST_FIELD_PATH, DIGEST_PATTERN, KSERVE_CONTAINER_FIELDS, KSERVE_FRAMEWORKS, KSERVE_POD_SPECS,
  KSERVE_STORAGE_FIELDS, KSERVE_STORAGE_URI_ENV, LOAD_VERIFICATION_CONTAINER,
  MODEL_DIGEST_ENV, MODEL_VOLUME, PINNED_IMAGE_PATTERN, POD_TEMPLATE_KINDS, PULL_DIGEST_ARGUMENT, RULE_MESSAGES, STORAGE_PROBE_PATH,
  WorkloadRuleOptions,
} from '../../shared/admission';
import { MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION } from '../contract';

export { DEFAULT_WORKLOAD_RULE_OPTIONS, DIGEST_PATTERN, KSERVE_FRAMEWORKS, PINNED_IMAGE_PATTERN };
export type { WorkloadRuleOptions };

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
  // `kubectl debug` adds ephemeral containers through this subresource (UPDATE); its object is the whole Pod
  { apiGroup: '', apiVersions: ['v1'], kind: 'Pod', resource: 'pods/ephemeralcontainers' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'Deployment', resource: 'deployments' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'StatefulSet', resource: 'statefulsets' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'DaemonSet', resource: 'daemonsets' },
  { apiGroup: 'apps', apiVersions: ['v1'], kind: 'ReplicaSet', resource: 'replicasets' },
  { apiGroup: 'batch', apiVersions: ['v1'], kind: 'Job', resource: 'jobs' },
  { apiGroup: 'batch', apiVersions: ['v1'], kind: 'CronJob', resource: 'cronjobs' },
  { apiGroup: 'serving.kserve.io', apiVersions: ['*'], kind: 'InferenceService', resource: 'inferenceservices' },
  { apiGroup: 'serving.kserve.io', apiVersions: ['*'], kind: 'LLMInferenceService', resource: 'llminferenceservices' },
  // cluster-scoped: only ModelSeal's may handle the verified URI schemes, so KServe always picks it (F1)
  { apiGroup: 'serving.kserve.io', apiVersions: ['*'], kind: 'ClusterStorageContainer', resource: 'clusterstoragecontainers' },
];

/** The kinds of {@link WORKLOAD_KINDS} in one API group, each once. */
export function workloadKinds(apiGroup: string): string[] {
  return [...new Set(WORKLOAD_KINDS.filter((k) => k.apiGroup === apiGroup).map((k) => k.kind))];
}

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

const celString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, '\\\'')}'`;

/** `(has(path) ? path : [])` for a list field. */
function listAt(root: string, path: string[]): string {
  return `(${hasPath(root, path)} ? ${[root, ...path].join('.')} : [])`;
}

/** `(has(path) ? [path] : [])` for an object field. */
function oneAt(root: string, path: string[]): string {
  return `(${hasPath(root, path)} ? [${[root, ...path].join('.')}] : [])`;
}

const POD_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'];

/**
 * The CEL variables (in order: later ones use earlier ones through `variables.`).
 *
 * - `annotations`: the pod (template) annotations, or the KServe object's own (KServe copies them to its pods);
 * - `podSpec`: the pod spec of a Pod or pod template (`{}` for KServe kinds);
 * - `containers`: every container, init container and ephemeral container of every pod spec of the object;
 * - `modelContainers`: the KServe fields that are containers (`predictor.model`, `predictor.<framework>`, `explainer.art`);
 * - `images`: the image of each of `containers` (`''` when missing) and of each of `modelContainers` that sets one;
 * - `storageUris`: every KServe model URI (`storageUri`, `storageUris[].uri`, `spec.model.uri`);
 * - `storageBypass`: KServe model sources other than a URI (`storage` keys, `STORAGE_URI` env variables);
 * - `isKServe`, `isModel` (either annotation, or any KServe kind), `digest` (the annotation, or `''`);
 * - `pull`: the init containers named `modelseal-pull`; `pullArgv`: their command followed by their args.
 */
export function workloadVariables(): CelVariable[] {
  const isvc = "object.kind == 'InferenceService'";
  const llm = "object.kind == 'LLMInferenceService'";
  const kserveContainers = (kind: string) => KSERVE_POD_SPECS[kind].flatMap((p) => POD_FIELDS.map((f) => listAt('object', [...p, f]))).join(' + ');
  const isvcUris = [
    oneAt('object', ['spec', 'predictor', 'model', 'storageUri']),
    `${listAt('object', ['spec', 'predictor', 'model', 'storageUris'])}.map(s, has(s.uri) ? s.uri : '')`,
    `${listAt('object', ['spec', 'predictor', 'storageUris'])}.map(s, has(s.uri) ? s.uri : '')`,
    ...KSERVE_FRAMEWORKS.map((f) => oneAt('object', ['spec', 'predictor', f, 'storageUri'])),
    oneAt('object', ['spec', 'explainer', 'art', 'storageUri']),
  ];
  const storageFields = KSERVE_STORAGE_FIELDS.map((p) => `(${hasPath('object', p)} ? [${celString(p.join('.'))}] : [])`);
  const envBypass = (list: string) => `${list}.filter(c, has(c.env) && c.env.exists(e, has(e.name) && e.name == '${KSERVE_STORAGE_URI_ENV}'))`
    + `.map(c, '${KSERVE_STORAGE_URI_ENV} env of container ' + (has(c.name) ? c.name : '(unnamed)'))`;
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
        ': {}',
      ].join(' '),
    },
    {
      name: 'containers',
      expression: [
        `${isvc} ? ${kserveContainers('InferenceService')}`,
        `: ${llm} ? ${kserveContainers('LLMInferenceService')}`,
        `: ${POD_FIELDS.map((f) => listAt('variables', ['podSpec', f])).join(' + ')}`,
      ].join(' '),
    },
    {
      name: 'modelContainers',
      expression: `${isvc} ? ${KSERVE_CONTAINER_FIELDS.map((p) => oneAt('object', p)).join(' + ')} : []`,
    },
    {
      name: 'images',
      expression: 'variables.containers.map(c, has(c.image) ? c.image : \'\') + variables.modelContainers.filter(c, has(c.image)).map(c, c.image)',
    },
    {
      name: 'storageUris',
      expression: `${isvc} ? ${isvcUris.join(' + ')} : ${llm} ? ${oneAt('object', ['spec', 'model', 'uri'])} : []`,
    },
    {
      name: 'storageBypass',
      expression: `${kindIn(['InferenceService', 'LLMInferenceService'])} ? ${[...storageFields, envBypass('variables.modelContainers'), envBypass('variables.containers')].join(' + ')} : []`,
    },
    {
      name: 'isKServe',
      expression: kindIn(['InferenceService', 'LLMInferenceService']),
    },
    {
      name: 'isModel',
      expression: `'${MODEL_DIGEST_ANNOTATION}' in variables.annotations || '${MODEL_URI_ANNOTATION}' in variables.annotations || variables.isKServe`,
    },
    {
      name: 'digest',
      expression: `'${MODEL_DIGEST_ANNOTATION}' in variables.annotations ? string(variables.annotations['${MODEL_DIGEST_ANNOTATION}']) : ''`,
    },
    {
      name: 'pull',
      expression: `${listAt('variables', ['podSpec', 'initContainers'])}.filter(c, has(c.name) && c.name == '${LOAD_VERIFICATION_CONTAINER}')`,
    },
    {
      name: 'pullArgv',
      expression: 'variables.pull.map(c, (has(c.command) ? c.command : []) + (has(c.args) ? c.args : []))',
    },
  ];
}

const readOnlyMount = (m: string) => `(has(${m}.readOnly) && ${m}.readOnly == true)`;

/** The structural validations every engine runs (the verifier call comes on top, per engine). */
export function workloadValidations(options: WorkloadRuleOptions = DEFAULT_WORKLOAD_RULE_OPTIONS): CelValidation[] {
  const M = RULE_MESSAGES;
  const prefixes = options.kserveUriPrefixes;
  const cmd = [...options.loadVerifierCommand, 'pull'];
  const loadRule = '!variables.isModel || variables.isKServe || size(variables.pull) != 1 || ';
  const mountsModel = (c: string) => `(has(${c}.volumeMounts) && ${c}.volumeMounts.exists(m, m.name == '${MODEL_VOLUME}'))`;
  const noWritableModel = (c: string) => `(!has(${c}.volumeMounts) || ${c}.volumeMounts.all(m, m.name != '${MODEL_VOLUME}' || ${readOnlyMount('m')}))`;
  const probes = prefixes.map((p) => `${p}${STORAGE_PROBE_PATH}`);
  const formats = `(${hasPath('object', ['spec', 'supportedUriFormats'])} ? object.spec.supportedUriFormats : [])`;
  const validations: CelValidation[] = [
    {
      name: 'kserve-storage-container',
      expression: 'object.kind != \'ClusterStorageContainer\' || (has(object.disabled) && object.disabled == true)'
        + ` || (${hasPath('object', ['metadata', 'name'])} && object.metadata.name == ${celString(options.kserveStorageContainer)})`
        + ` || !${formats}.exists(f, (has(f.prefix) && (${prefixes.map((p) => `${celString(p)}.startsWith(f.prefix) || f.prefix.startsWith(${celString(p)})`).join(' || ')}))`
        + ` || (has(f.regex) && (${probes.map((u) => `${celString(u)}.matches(f.regex)`).join(' || ')})))`,
      message: M.foreignStorageContainer(options.kserveStorageContainer, prefixes),
    },
    {
      name: 'digest-annotation',
      expression: '!variables.isModel || variables.digest != \'\'',
      message: M.missingDigest,
    },
    {
      name: 'digest-format',
      expression: `!variables.isModel || variables.digest == '' || variables.digest.matches('${DIGEST_PATTERN}')`,
      message: `${M.badDigest.trim()}`.replace(/, got$/, ''),
      messageExpression: `${celString(M.badDigest)} + variables.digest`,
    },
    {
      name: 'pinned-images',
      expression: `!variables.isModel || variables.images.all(i, i.matches('${PINNED_IMAGE_PATTERN}'))`,
      message: 'every container image of a model workload must be pinned by digest (image@sha256:<64 hex>)',
      messageExpression: `${celString(M.unpinned)} + variables.images.filter(i, !i.matches('${PINNED_IMAGE_PATTERN}')).join(', ')`,
    },
    {
      name: 'kserve-storage-uri-scheme',
      expression: `!variables.isModel || variables.storageUris.all(u, ${prefixes.map((p) => `u.startsWith(${celString(p)})`).join(' || ')})`,
      message: `${M.storageScheme(prefixes)}a URI of another scheme`,
      messageExpression: `${celString(M.storageScheme(prefixes))} + variables.storageUris.filter(u, !(${prefixes.map((p) => `u.startsWith(${celString(p)})`).join(' || ')})).join(', ')`,
    },
    {
      name: 'kserve-storage-bypass',
      expression: '!variables.isModel || size(variables.storageBypass) == 0',
      message: `${M.storageFields}a storage key or a ${KSERVE_STORAGE_URI_ENV} env variable`,
      messageExpression: `${celString(M.storageFields)} + variables.storageBypass.join(', ')`,
    },
  ];
  if (!options.requireLoadVerification) return validations;
  validations.push(
    {
      name: 'kserve-storage-uri',
      expression: '!variables.isKServe || size(variables.storageUris) > 0',
      message: M.noStorageUri,
    },
    {
      name: 'load-verification',
      expression: '!variables.isModel || variables.isKServe || size(variables.pull) == 1',
      message: M.noPull,
    },
    {
      name: 'load-verification-command',
      expression: `${loadRule}variables.pullArgv.all(a, size(a) > ${cmd.length + 1}`
        + cmd.map((c, i) => ` && a[${i}] == ${celString(c)}`).join('')
        + ` && size(a.filter(x, x.startsWith('--digest'))) == 1 && '${PULL_DIGEST_ARGUMENT}' in a && !('--help' in a) && !('-h' in a)`
        + ` && variables.pull.all(c, has(c.volumeMounts) && c.volumeMounts.exists(m, m.name == '${MODEL_VOLUME}' && m.mountPath in a)))`,
      message: M.pullCommand(options.loadVerifierCommand),
    },
    {
      name: 'load-verification-env',
      expression: `${loadRule}variables.pull.all(c, has(c.env) && c.env.exists(e, has(e.name) && e.name == '${MODEL_DIGEST_ENV}')`
        + ` && c.env.all(e, !has(e.name) || e.name != '${MODEL_DIGEST_ENV}' || (${hasPath('e', ['valueFrom', 'fieldRef', 'fieldPath'])} && e.valueFrom.fieldRef.fieldPath == ${celString(DIGEST_FIELD_PATH)})))`,
      message: M.pullEnv,
    },
    ...(options.loadVerifierImage !== undefined ? [{
      name: 'load-verification-image',
      expression: `${loadRule}variables.pull.all(c, has(c.image) && c.image == ${celString(options.loadVerifierImage)})`,
      message: M.pullImage(options.loadVerifierImage),
    }] : []),
    {
      name: 'load-verification-volume',
      expression: `${loadRule}(${hasPath('variables', ['podSpec', 'volumes'])} && variables.podSpec.volumes.exists(v, v.name == '${MODEL_VOLUME}' && has(v.emptyDir)))`
        + ` && variables.pull.all(c, ${mountsModel('c')})`
        + ` && ${listAt('variables', ['podSpec', 'containers'])}.all(c, ${mountsModel('c')} && ${noWritableModel('c')})`
        + ` && ${listAt('variables', ['podSpec', 'initContainers'])}.all(c, (has(c.name) && c.name == '${LOAD_VERIFICATION_CONTAINER}') || ${noWritableModel('c')})`
        + ` && ${listAt('variables', ['podSpec', 'ephemeralContainers'])}.all(c, ${noWritableModel('c')})`,
      message: M.modelVolume,
    },
  );
  return validations;
}
