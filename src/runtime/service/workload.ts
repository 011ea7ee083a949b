/**
 * What `/validate` reads from a workload: does it load a model, which digest does it name, which images does it run.
 *
 * The same reading as the CEL every admission engine renders (src/k8s/private/workload-rules.ts), from the same
 * names (src/shared/admission.ts), with the same messages, so a workload is refused alike whichever engine is in
 * front of the verifier. test/runtime/service/workload.test.ts runs both on the constructs' sample workloads.
 */
import {
  DIGEST_PATTERN, KSERVE_FRAMEWORKS, MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION, PINNED_IMAGE_PATTERN, POD_TEMPLATE_KINDS,
} from '../../shared/admission';

/** What one workload says about its model. */
export interface WorkloadModel {
  /** The object's kind. */
  readonly kind: string;
  /** True when it loads a model: either annotation, or a KServe model field. */
  readonly isModel: boolean;
  /** The digest annotation's value, or `''`. */
  readonly digest: string;
  /** The `modelseal.dev/model-uri` annotation, or the KServe model URI, when present. */
  readonly uri?: string;
  /** Every container, init container and ephemeral container image of its pod (template), `''` for a missing one. */
  readonly images: string[];
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

function nonEmptyList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

/** Reads a workload object (the AdmissionReview's `request.object`). */
export function inspectWorkload(object: unknown): WorkloadModel {
  const kind = typeof at(object, 'kind') === 'string' ? at(object, 'kind') as string : '';
  const templateKind = POD_TEMPLATE_KINDS.includes(kind);
  const annotations = obj(
    kind === 'Pod' || kind === 'InferenceService' || kind === 'LLMInferenceService' ? at(object, 'metadata', 'annotations')
      : kind === 'CronJob' ? at(object, 'spec', 'jobTemplate', 'spec', 'template', 'metadata', 'annotations')
        : templateKind ? at(object, 'spec', 'template', 'metadata', 'annotations') : undefined);
  const podSpec = obj(
    kind === 'Pod' ? at(object, 'spec')
      : kind === 'CronJob' ? at(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec')
        : templateKind ? at(object, 'spec', 'template', 'spec')
          : kind === 'InferenceService' ? at(object, 'spec', 'predictor')
            : kind === 'LLMInferenceService' ? at(object, 'spec', 'template') : undefined);
  const images: string[] = [];
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    const list = podSpec[field];
    if (Array.isArray(list)) {
      for (const c of list) {
        const image = at(c, 'image');
        images.push(typeof image === 'string' ? image : '');
      }
    }
  }
  let kserveUri: unknown;
  let kserveModel = false;
  if (kind === 'InferenceService') {
    const predictor = at(object, 'spec', 'predictor');
    const candidates: [boolean, unknown][] = [
      [at(predictor, 'model', 'storageUri') !== undefined, at(predictor, 'model', 'storageUri')],
      [nonEmptyList(at(predictor, 'model', 'storageUris')), at(predictor, 'model', 'storageUris')],
      [nonEmptyList(at(predictor, 'storageUris')), at(predictor, 'storageUris')],
      ...KSERVE_FRAMEWORKS.map((f): [boolean, unknown] => [at(predictor, f, 'storageUri') !== undefined, at(predictor, f, 'storageUri')]),
    ];
    const found = candidates.find(([present]) => present);
    kserveModel = found !== undefined;
    kserveUri = found?.[1];
  } else if (kind === 'LLMInferenceService') {
    kserveModel = at(object, 'spec', 'model', 'uri') !== undefined;
    kserveUri = at(object, 'spec', 'model', 'uri');
  }
  const digestValue = annotations[MODEL_DIGEST_ANNOTATION];
  const uriValue = annotations[MODEL_URI_ANNOTATION];
  const uri = typeof uriValue === 'string' ? uriValue : typeof kserveUri === 'string' ? kserveUri : undefined;
  return {
    kind,
    isModel: MODEL_DIGEST_ANNOTATION in annotations || MODEL_URI_ANNOTATION in annotations || kserveModel,
    digest: MODEL_DIGEST_ANNOTATION in annotations ? String(digestValue) : '',
    ...(uri !== undefined ? { uri } : {}),
    images,
  };
}

/**
 * The structural rules (the CEL validations `digest-annotation`, `digest-format` and `pinned-images`), with the
 * messages the CEL renders. Empty for a workload that loads no model.
 */
export function structuralReasons(w: WorkloadModel): string[] {
  if (!w.isModel) {
    return [];
  }
  const reasons: string[] = [];
  if (w.digest === '') {
    reasons.push(`a workload that loads a model must carry the ${MODEL_DIGEST_ANNOTATION} annotation (sha256:<OMS root digest>)`);
  } else if (!DIGEST.test(w.digest)) {
    reasons.push(`${MODEL_DIGEST_ANNOTATION} must be sha256:<64 lowercase hex>, got ${w.digest}`);
  }
  const unpinned = w.images.filter((i) => !PINNED.test(i));
  if (unpinned.length > 0) {
    reasons.push(`images not pinned by digest (image@sha256:<64 hex>): ${unpinned.join(', ')}`);
  }
  return reasons;
}
