/**
 * The admission contract's names and patterns, shared by the admission constructs (`src/k8s/`: the CEL every engine
 * renders) and the verifier service (`src/runtime/service/`: `POST /validate`), so the two always read a workload
 * alike. See docs/ADMISSION.md ("The rules") and docs/VERIFIER.md.
 *
 * Dependency-free on purpose: the construct library (compiled by jsii) imports it.
 */

/** Pod (template) annotation with the OMS root digest of the model the workload loads: `sha256:<64 hex>`. */
export const MODEL_DIGEST_ANNOTATION = 'modelseal.dev/model-digest';

/** Pod (template) annotation with where the model is loaded from (`s3://bucket/prefix/` or a KServe `storageUri`). */
export const MODEL_URI_ANNOTATION = 'modelseal.dev/model-uri';

/** The legacy KServe predictor framework fields that carry a `storageUri` (`spec.predictor.<framework>.storageUri`). */
export const KSERVE_FRAMEWORKS: readonly string[] = [
  'sklearn', 'xgboost', 'tensorflow', 'pytorch', 'triton', 'onnx', 'pmml', 'lightgbm', 'paddle', 'huggingface',
];

/**
 * The pod specs of the KServe kinds, as paths: every component's images are checked as the predictor's are (a
 * transformer, explainer, worker or prefill pod runs beside the model just the same).
 */
export const KSERVE_POD_SPECS: Readonly<Record<string, readonly string[][]>> = {
  InferenceService: [['spec', 'predictor'], ['spec', 'predictor', 'workerSpec'], ['spec', 'transformer'], ['spec', 'explainer']],
  LLMInferenceService: [
    ['spec', 'template'], ['spec', 'worker'], ['spec', 'prefill', 'template'], ['spec', 'prefill', 'worker'],
    ['spec', 'router', 'scheduler', 'template'],
  ],
};

/** InferenceService fields that are themselves a container (image, env): `predictor.model`, `predictor.<framework>`, `explainer.art`. */
export const KSERVE_CONTAINER_FIELDS: readonly string[][] = [
  ['spec', 'predictor', 'model'], ...KSERVE_FRAMEWORKS.map((f) => ['spec', 'predictor', f]), ['spec', 'explainer', 'art'],
];

/** InferenceService `storage` fields (a storage key and path instead of a URI): refused. */
export const KSERVE_STORAGE_FIELDS: readonly string[][] = [
  ['spec', 'predictor', 'model', 'storage'], ...KSERVE_FRAMEWORKS.map((f) => ['spec', 'predictor', f, 'storage']),
  ['spec', 'explainer', 'art', 'storage'],
];

/** Workload kinds whose pod template is `spec.template` (CronJob's is `spec.jobTemplate.spec.template`). */
export const POD_TEMPLATE_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];

/** A digest-pinned image reference, as an RE2 pattern (CEL `matches`) that JavaScript reads alike. */
export const PINNED_IMAGE_PATTERN = '@sha256:[0-9a-f]{64}$';

/** A model digest, as an RE2 pattern (CEL `matches`) that JavaScript reads alike. */
export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

/** The name of ModelLoadVerification's init container (`modelseal pull`), which the rules look for. */
export const LOAD_VERIFICATION_CONTAINER = 'modelseal-pull';

/** The emptyDir volume `modelseal pull` writes the verified model into (every other container mounts it read-only). */
export const MODEL_VOLUME = 'modelseal-model';

/** The environment variable the pull container reads the digest annotation into (downward API). */
export const MODEL_DIGEST_ENV = 'MODELSEAL_DIGEST';

/** The pull container's digest argument, exactly: kubelet expands `$(MODELSEAL_DIGEST)` from the env variable. */
export const PULL_DIGEST_ARGUMENT = `--digest=$(${MODEL_DIGEST_ENV})`;

/** The downward API field the digest env variable must come from. */
export const DIGEST_FIELD_PATH = `metadata.annotations['${MODEL_DIGEST_ANNOTATION}']`;

/** The env variable KServe's storage initializer injection reads a model URI from (refused on every KServe container). */
export const KSERVE_STORAGE_URI_ENV = 'STORAGE_URI';

/** The model URI prefixes ModelSeal's ClusterStorageContainer handles by default (`KServeModelLoadVerification`). */
export const DEFAULT_KSERVE_URI_PREFIXES: readonly string[] = ['s3://'];

/**
 * The options of the structural rules, the same for every engine and the verifier's `/validate` (the constructs take
 * them from `ModelVerifier`, which renders them as `serve` flags).
 */
export interface WorkloadRuleOptions {
  /** The storage URI prefixes an InferenceService / LLMInferenceService may load from (ModelSeal's ClusterStorageContainer's). */
  readonly kserveUriPrefixes: readonly string[];
  /** Whether a model workload must run ModelLoadVerification's init container (false weakens admission). */
  readonly requireLoadVerification: boolean;
  /** The image the pull init container must run, when known (the verifier's, pinned by digest). */
  readonly loadVerifierImage?: string;
  /** The command that starts the CLI in that image; the pull container's command must be it followed by `pull`. */
  readonly loadVerifierCommand: readonly string[];
  /** The name of ModelSeal's ClusterStorageContainer: the only enabled one that may handle `kserveUriPrefixes`. */
  readonly kserveStorageContainer: string;
}

/** The defaults: `s3://`, load verification required, image unknown, command `modelseal`. */
export const DEFAULT_WORKLOAD_RULE_OPTIONS: WorkloadRuleOptions = {
  kserveUriPrefixes: DEFAULT_KSERVE_URI_PREFIXES,
  requireLoadVerification: true,
  loadVerifierCommand: ['modelseal'],
  kserveStorageContainer: 'modelseal',
};

/** The URI a regex of another ClusterStorageContainer is tried on, per prefix: `<prefix>bucket/model/`. */
export const STORAGE_PROBE_PATH = 'bucket/model/';

/** The refusal messages, word for word alike in the CEL and in `/validate`. */
export const RULE_MESSAGES = {
  missingDigest: `a workload that loads a model must carry the ${MODEL_DIGEST_ANNOTATION} annotation (sha256:<OMS root digest>)`,
  badDigest: `${MODEL_DIGEST_ANNOTATION} must be sha256:<64 lowercase hex>, got `,
  unpinned: 'images not pinned by digest (image@sha256:<64 hex>): ',
  storageScheme: (prefixes: readonly string[]) => `KServe storage URIs must start with ${prefixes.join(' or ')} (handled by ModelSeal's ClusterStorageContainer, which verifies them); refused: `,
  storageFields: `KServe model sources ModelSeal cannot verify (storage keys and ${KSERVE_STORAGE_URI_ENV} env variables bypass the storage URI check): `,
  noStorageUri: 'a KServe workload must load its model from a storage URI, which ModelSeal\'s ClusterStorageContainer verifies on pull (spec.predictor.model.storageUri, storageUris, or spec.model.uri)',
  noPull: `a model workload must verify its model at load: an init container ${LOAD_VERIFICATION_CONTAINER} running 'modelseal pull' (ModelLoadVerification)`,
  pullCommand: (command: readonly string[]) => `init container ${LOAD_VERIFICATION_CONTAINER} must run '${[...command, 'pull'].join(' ')} SOURCE DEST' with ${PULL_DIGEST_ARGUMENT} as the only --digest argument, no --help, and DEST its ${MODEL_VOLUME} mount path`,
  pullEnv: `init container ${LOAD_VERIFICATION_CONTAINER} must set ${MODEL_DIGEST_ENV} only from the downward API field ${DIGEST_FIELD_PATH}`,
  pullImage: (image: string) => `init container ${LOAD_VERIFICATION_CONTAINER} must run the verifier image ${image}`,
  foreignStorageContainer: (name: string, prefixes: readonly string[]) => `only ModelSeal's ClusterStorageContainer ${name} may handle ${prefixes.join(', ')} (KServe picks an arbitrary one when two match a URI): disable this one or remove those formats from its supportedUriFormats`,
  modelVolume: `the model volume ${MODEL_VOLUME} must be an emptyDir that ${LOAD_VERIFICATION_CONTAINER} mounts, that every container mounts read-only and that no other init or ephemeral container mounts writable`,
};
