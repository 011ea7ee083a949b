import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { AdmissionMode } from './admission-mode';
import { ModelVerifier } from './model-verifier';
import { validationActions } from './private/admission-mode';
import { checkWebhookTimeout, namespaceExclusion, policyResourceRules } from './private/policy-common';
import { checkDnsLabel, k8sPropError } from './private/util';
import { workloadValidations, workloadVariables } from './private/workload-rules';

/**
 * Properties of a {@link NativeModelPolicy}.
 */
export interface NativeModelPolicyProps {
  /** The verifier the webhook sends model workloads to (its `/validate` endpoint). */
  readonly verifier: ModelVerifier;

  /**
   * The name of the ValidatingAdmissionPolicy, its binding and the ValidatingWebhookConfiguration.
   *
   * @default 'modelseal-model-verification'
   */
  readonly name?: string;

  /**
   * Enforce, or only warn/audit while you roll out. The binding's `validationActions` follow the mode; a webhook has
   * no report-only mode, so outside ENFORCE no ValidatingWebhookConfiguration is rendered (only the structural
   * checks report).
   *
   * @default AdmissionMode.ENFORCE
   */
  readonly mode?: AdmissionMode;

  /**
   * Namespaces never checked, besides the system namespaces and the verifier's own (matched on the
   * `kubernetes.io/metadata.name` label, which only the API server sets). Give the verifier the same list as
   * `exemptNamespaces` so `/validate` agrees.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];

  /**
   * The webhook's `timeoutSeconds` (1 to 30 s): must exceed the verifier's deadline.
   *
   * @default Duration.seconds(5)
   * @see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#timeouts
   */
  readonly webhookTimeout?: Duration;
}

/**
 * Kubernetes-native admission for models, no engine to install: a `ValidatingAdmissionPolicy` and its binding
 * (`admissionregistration.k8s.io/v1`, Kubernetes 1.30+, rendered as plain objects since the cdk8s-plus-28 imports only
 * know v1beta1) for the structural checks, and a `ValidatingWebhookConfiguration` that sends model workloads to the
 * verifier's `/validate` (`failurePolicy: Fail`, `sideEffects: None`, `admissionReviewVersions: [v1]`).
 *
 * The verifier's own namespace and the system namespaces are excluded so the verifier can always restart. No label
 * or annotation on a workload can exempt it.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/
 */
export class NativeModelPolicy extends Construct {
  /** The ValidatingAdmissionPolicy. */
  public readonly policy: ApiObject;

  /** The ValidatingAdmissionPolicyBinding. */
  public readonly binding: ApiObject;

  /** The ValidatingWebhookConfiguration (ENFORCE mode only). */
  public readonly webhook?: ApiObject;

  constructor(scope: Construct, id: string, props: NativeModelPolicyProps) {
    super(scope, id);
    const type = 'NativeModelPolicy';
    const verifier = props.verifier;
    if (verifier.requiresClientCertificates) {
      throw k8sPropError(this, type, 'verifier', 'requires client certificates (clientCaCertificatePem), but the API server presents no client certificate to admission webhooks (without an AdmissionConfiguration, which EKS does not expose): every review would be refused; mutual TLS is for GatekeeperModelPolicy');
    }
    const name = props.name ?? 'modelseal-model-verification';
    checkDnsLabel(this, type, 'name', name);
    const mode = props.mode ?? AdmissionMode.ENFORCE;
    const timeout = checkWebhookTimeout(this, type, 'webhookTimeout', props.webhookTimeout ?? Duration.seconds(5), verifier.deadline);
    const namespaceSelector = namespaceExclusion(this, type, verifier.systemNamespaces, props.exemptNamespaces);
    const labels = { 'app.kubernetes.io/part-of': 'modelseal' };

    this.policy = new ApiObject(this, 'Resource', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { namespaceSelector, resourceRules: policyResourceRules() },
        variables: workloadVariables(),
        validations: workloadValidations(props.verifier._workloadRuleOptions()).map((v) => ({
          expression: v.expression, message: v.message, messageExpression: v.messageExpression, reason: 'Forbidden',
        })),
      },
    });

    this.binding = new ApiObject(this, 'Binding', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: validationActions(mode) },
    });

    if (mode === AdmissionMode.ENFORCE) {
      this.webhook = new k8s.KubeValidatingWebhookConfiguration(this, 'Webhook', {
        metadata: { name, labels },
        webhooks: [{
          name: 'validate.modelseal.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          matchPolicy: 'Equivalent',
          timeoutSeconds: timeout,
          clientConfig: {
            service: { name: verifier.name, namespace: verifier.namespace, path: '/validate', port: 443 },
            caBundle: Buffer.from(verifier.caCertificatePem, 'utf8').toString('base64'),
          },
          namespaceSelector,
          rules: policyResourceRules().map((r) => ({ ...r, scope: r.resources.includes('clusterstoragecontainers') ? '*' : 'Namespaced' })),
        }],
      });
    }
  }
}
