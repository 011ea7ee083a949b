/**
 * The names the admission constructs and the verifier service share (docs/ADMISSION.md, "Contract").
 *
 * Change them only together with the verifier (`modelseal serve`): every engine renders these exact values. The
 * annotation names are defined once in src/shared/admission.ts, which the verifier's `/validate` reads too.
 */
import * as shared from '../shared/admission';

/** Pod (template) annotation with the OMS root digest of the model the workload loads: `sha256:<64 hex>`. */
export const MODEL_DIGEST_ANNOTATION: string = shared.MODEL_DIGEST_ANNOTATION;

/** Pod (template) annotation with where the model is loaded from (`s3://bucket/prefix/` or a KServe `storageUri`). */
export const MODEL_URI_ANNOTATION: string = shared.MODEL_URI_ANNOTATION;

/** Default name of the verifier's Service, Deployment and ServiceAccount. */
export const DEFAULT_VERIFIER_NAME = 'modelseal-verifier';

/** Default namespace of the verifier. */
export const DEFAULT_VERIFIER_NAMESPACE = 'modelseal-system';

/** The verifier's container port (named `https`); its Service listens on 443. */
export const VERIFIER_CONTAINER_PORT = 8443;

/** Namespaces no model policy ever applies to, so the cluster can always heal (the verifier's own is added). */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];
