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

/** Workload kinds whose pod template is `spec.template` (CronJob's is `spec.jobTemplate.spec.template`). */
export const POD_TEMPLATE_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];

/** A digest-pinned image reference, as an RE2 pattern (CEL `matches`) that JavaScript reads alike. */
export const PINNED_IMAGE_PATTERN = '@sha256:[0-9a-f]{64}$';

/** A model digest, as an RE2 pattern (CEL `matches`) that JavaScript reads alike. */
export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';
