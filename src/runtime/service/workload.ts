/**
 * What `/validate` reads from a workload: does it load a model, which digest does it name, which images does it run.
 *
 * The same reading as the CEL every admission engine renders (src/k8s/private/workload-rules.ts), from the same
 * names (src/shared/admission.ts), with the same messages, so a workload is refused alike whichever engine is in
 * front of the verifier. test/runtime/service/workload.test.ts runs both on the constructs' sample workloads.
 */
import {
  DEFAULT_WORKLOAD_RULE_OPTIONS, DIGEST_FIELD_PATH, DIGEST_PATTERN, KSERVE_CONTAINER_FIELDS, KSERVE_FRAMEWORKS, KSERVE_POD_SPECS,
  KSERVE_STORAGE_FIELDS, KSERVE_STORAGE_URI_ENV, LOAD_VERIFICATION_CONTAINER,
  MODEL_DIGEST_ANNOTATION, MODEL_DIGEST_ENV, MODEL_URI_ANNOTATION, MODEL_VOLUME, PINNED_IMAGE_PATTERN, POD_TEMPLATE_KINDS, PULL_DIGEST_ARGUMENT,
  RULE_MESSAGES, STORAGE_PROBE_PATH, WorkloadRuleOptions,
} from '../../shared/admission';

/** What one workload says about its model. */
export interface WorkloadModel {
  /** The object's kind. */
  readonly kind: string;
  /** True when it loads a model: either annotation, or any InferenceService / LLMInferenceService. */
  readonly isModel: boolean;
  /** True for an InferenceService or LLMInferenceService. */
  readonly isKServe: boolean;
  /** The digest annotation's value, or `''`. */
  readonly digest: string;
  /** The `modelseal.dev/model-uri` annotation, or the first KServe model URI, when present. */
  readonly uri?: string;
  /** Every container, init container and ephemeral container image of its pod specs (`''` for a missing one). */
  readonly images: string[];
  /** Every KServe model URI (`storageUri`, `storageUris[].uri`, `spec.model.uri`). */
  readonly storageUris: string[];
  /** KServe model sources other than a URI (`storage` keys, `STORAGE_URI` env variables). */
  readonly storageBypass: string[];
  /** The pod spec of a Pod or pod template (`{}` for KServe kinds), for the load verification rules. */
  readonly podSpec: Record<string, unknown>;
  /** The object, when it is a ClusterStorageContainer. */
  readonly foreignStorageContainer?: unknown;
}

const DIGEST = new RegExp(DIGEST_PATTERN);
const PINNED = new RegExp(PINNED_IMAGE_PATTERN);

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Json : {};
}

function at(root: unknown, ...path: string[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(p in (v as Json))) {
      return undefined;
    }
    v = (v as Json)[p];
  }
  return v;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const POD_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'];

const uriOf = (s: unknown) => (at(s, 'uri') !== undefined ? String(at(s, 'uri')) : '');
const present = (v: unknown): unknown[] => (v !== undefined ? [v] : []);

/** Reads a workload object (the AdmissionReview's `request.object`). */
export function inspectWorkload(object: unknown): WorkloadModel {
  const kind = typeof at(object, 'kind') === 'string' ? at(object, 'kind') as string : '';
  const templateKind = POD_TEMPLATE_KINDS.includes(kind);
  const isKServe = kind === 'InferenceService' || kind === 'LLMInferenceService';
  const annotations = obj(
    kind === 'Pod' || isKServe ? at(object, 'metadata', 'annotations')
      : kind === 'CronJob' ? at(object, 'spec', 'jobTemplate', 'spec', 'template', 'metadata', 'annotations')
        : templateKind ? at(object, 'spec', 'template', 'metadata', 'annotations') : undefined);
  const podSpec = obj(
    kind === 'Pod' ? at(object, 'spec')
      : kind === 'CronJob' ? at(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec')
        : templateKind ? at(object, 'spec', 'template', 'spec') : undefined);
  const containers: unknown[] = isKServe
    ? KSERVE_POD_SPECS[kind].flatMap((p) => POD_FIELDS.flatMap((f) => list(at(object, ...p, f))))
    : POD_FIELDS.flatMap((f) => list(podSpec[f]));
  const modelContainers = kind === 'InferenceService' ? KSERVE_CONTAINER_FIELDS.flatMap((p) => present(at(object, ...p))) : [];
  const imageOf = (c: unknown) => (typeof at(c, 'image') === 'string' ? at(c, 'image') as string : '');
  const images = [
    ...containers.map(imageOf),
    ...modelContainers.filter((c) => at(c, 'image') !== undefined).map(imageOf),
  ];
  const storageUris = (kind === 'InferenceService' ? [
    ...present(at(object, 'spec', 'predictor', 'model', 'storageUri')),
    ...list(at(object, 'spec', 'predictor', 'model', 'storageUris')).map(uriOf),
    ...list(at(object, 'spec', 'predictor', 'storageUris')).map(uriOf),
    ...KSERVE_FRAMEWORKS.flatMap((f) => present(at(object, 'spec', 'predictor', f, 'storageUri'))),
    ...present(at(object, 'spec', 'explainer', 'art', 'storageUri')),
  ] : kind === 'LLMInferenceService' ? present(at(object, 'spec', 'model', 'uri')) : []).map(String);
  const envBypass = (cs: unknown[]) => cs
    .filter((c) => list(at(c, 'env')).some((e) => at(e, 'name') === KSERVE_STORAGE_URI_ENV))
    .map((c) => `${KSERVE_STORAGE_URI_ENV} env of container ${at(c, 'name') !== undefined ? String(at(c, 'name')) : '(unnamed)'}`);
  const storageBypass = isKServe ? [
    ...KSERVE_STORAGE_FIELDS.filter((p) => at(object, ...p) !== undefined).map((p) => p.join('.')),
    ...envBypass(modelContainers),
    ...envBypass(containers),
  ] : [];
  const digestValue = annotations[MODEL_DIGEST_ANNOTATION];
  const uriValue = annotations[MODEL_URI_ANNOTATION];
  const uri = typeof uriValue === 'string' ? uriValue : storageUris[0];
  return {
    kind,
    isModel: MODEL_DIGEST_ANNOTATION in annotations || MODEL_URI_ANNOTATION in annotations || isKServe,
    isKServe,
    digest: MODEL_DIGEST_ANNOTATION in annotations ? String(digestValue) : '',
    ...(uri !== undefined ? { uri } : {}),
    images,
    storageUris,
    storageBypass,
    podSpec,
    ...(kind === 'ClusterStorageContainer' ? { foreignStorageContainer: object } : {}),
  };
}

const readOnly = (m: unknown) => at(m, 'readOnly') === true;
const mountsModel = (c: unknown) => list(at(c, 'volumeMounts')).some((m) => at(m, 'name') === MODEL_VOLUME);
const noWritableModel = (c: unknown) => list(at(c, 'volumeMounts')).every((m) => at(m, 'name') !== MODEL_VOLUME || readOnly(m));

/**
 * Whether a ClusterStorageContainer other than ModelSeal's, enabled, handles one of the prefixes (a prefix format that
 * overlaps one, or a regex format that matches `<prefix>bucket/model/`), as the CEL `kserve-storage-container`.
 */
function storageContainerClashes(object: unknown, options: WorkloadRuleOptions): boolean {
  if (at(object, 'disabled') === true || at(object, 'metadata', 'name') === options.kserveStorageContainer) {
    return false;
  }
  return list(at(object, 'spec', 'supportedUriFormats')).some((f) => {
    const prefix = at(f, 'prefix');
    const regex = at(f, 'regex');
    if (prefix !== undefined && options.kserveUriPrefixes.some((p) => p.startsWith(String(prefix)) || String(prefix).startsWith(p))) {
      return true;
    }
    if (regex === undefined) {
      return false;
    }
    try {
      // CEL `matches` is an unanchored RE2 search; RegExp.test is the same for the patterns both read alike
      const re = new RegExp(String(regex));
      return options.kserveUriPrefixes.some((p) => re.test(`${p}${STORAGE_PROBE_PATH}`));
    } catch {
      return true; // a regex JavaScript cannot read: refused, as a CEL evaluation error would be
    }
  });
}

/** The load verification rules (ModelLoadVerification's init container), as the CEL `load-verification*` ones. */
function loadVerificationReasons(w: WorkloadModel, options: WorkloadRuleOptions): string[] {
  const M = RULE_MESSAGES;
  const pull = list(w.podSpec.initContainers).filter((c) => at(c, 'name') === LOAD_VERIFICATION_CONTAINER);
  if (pull.length !== 1) {
    return [M.noPull];
  }
  const c = pull[0];
  const reasons: string[] = [];
  const argv = [...list(at(c, 'command')), ...list(at(c, 'args'))];
  const cmd = [...options.loadVerifierCommand, 'pull'];
  const commandOk = argv.length > cmd.length + 1 && cmd.every((x, i) => argv[i] === x)
    && argv.filter((x) => typeof x === 'string' && x.startsWith('--digest')).length === 1 && argv.includes(PULL_DIGEST_ARGUMENT)
    && !argv.includes('--help') && !argv.includes('-h')
    && list(at(c, 'volumeMounts')).some((m) => at(m, 'name') === MODEL_VOLUME && argv.includes(at(m, 'mountPath')));
  if (!commandOk) {
    reasons.push(M.pullCommand(options.loadVerifierCommand));
  }
  const env = list(at(c, 'env'));
  const envOk = env.some((e) => at(e, 'name') === MODEL_DIGEST_ENV)
    && env.every((e) => at(e, 'name') === undefined || at(e, 'name') !== MODEL_DIGEST_ENV || at(e, 'valueFrom', 'fieldRef', 'fieldPath') === DIGEST_FIELD_PATH);
  if (!envOk) {
    reasons.push(M.pullEnv);
  }
  if (options.loadVerifierImage !== undefined && at(c, 'image') !== options.loadVerifierImage) {
    reasons.push(M.pullImage(options.loadVerifierImage));
  }
  const volumeOk = list(w.podSpec.volumes).some((v) => at(v, 'name') === MODEL_VOLUME && at(v, 'emptyDir') !== undefined)
    && mountsModel(c)
    && list(w.podSpec.containers).every((x) => mountsModel(x) && noWritableModel(x))
    && list(w.podSpec.initContainers).every((x) => at(x, 'name') === LOAD_VERIFICATION_CONTAINER || noWritableModel(x))
    && list(w.podSpec.ephemeralContainers).every(noWritableModel);
  if (!volumeOk) {
    reasons.push(M.modelVolume);
  }
  return reasons;
}

/**
 * The structural rules (the CEL validations of src/k8s/private/workload-rules.ts, in their order), with the messages
 * the CEL renders. Empty for a workload that loads no model.
 *
 * @param options the same options the constructs render into the CEL (`serve` flags)
 */
export function structuralReasons(w: WorkloadModel, options: WorkloadRuleOptions = DEFAULT_WORKLOAD_RULE_OPTIONS): string[] {
  const M = RULE_MESSAGES;
  const reasons: string[] = [];
  if (w.foreignStorageContainer !== undefined && storageContainerClashes(w.foreignStorageContainer, options)) {
    reasons.push(M.foreignStorageContainer(options.kserveStorageContainer, options.kserveUriPrefixes));
  }
  if (!w.isModel) {
    return reasons;
  }
  if (w.digest === '') {
    reasons.push(M.missingDigest);
  } else if (!DIGEST.test(w.digest)) {
    reasons.push(`${M.badDigest}${w.digest}`);
  }
  const unpinned = w.images.filter((i) => !PINNED.test(i));
  if (unpinned.length > 0) {
    reasons.push(`${M.unpinned}${unpinned.join(', ')}`);
  }
  const prefixes = options.kserveUriPrefixes;
  const foreign = w.storageUris.filter((u) => !prefixes.some((p) => u.startsWith(p)));
  if (foreign.length > 0) {
    reasons.push(`${M.storageScheme(prefixes)}${foreign.join(', ')}`);
  }
  if (w.storageBypass.length > 0) {
    reasons.push(`${M.storageFields}${w.storageBypass.join(', ')}`);
  }
  if (options.requireLoadVerification) {
    if (w.isKServe && w.storageUris.length === 0) {
      reasons.push(M.noStorageUri);
    }
    if (!w.isKServe) {
      reasons.push(...loadVerificationReasons(w, options));
    }
  }
  return reasons;
}
