import { ApiObject, Duration, Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import { AdmissionMode } from './admission-mode';
import { MODEL_DIGEST_ANNOTATION } from './contract';
import { EngineTestFile } from './engine-test-file';
import { ModelVerifier } from './model-verifier';
import { gatekeeperEnforcementAction } from './private/admission-mode';
import { excludedNamespaces } from './private/policy-common';
import { samples } from './private/samples';
import { ceilSeconds, k8sPropError } from './private/util';
import { DIGEST_PATTERN, WorkloadRuleOptions, workloadApiGroups, workloadKinds, workloadValidations, workloadVariables } from './private/workload-rules';
import { writeEngineTestFiles } from './private/write-files';
import { ConstraintTemplate } from '../imports/gatekeeper-constraint-template';
import { Provider } from '../imports/gatekeeper-provider';

/** The kind of the Rego template that asks the verifier (external data). */
export const GATEKEEPER_VERIFIED_KIND = 'ModelSealVerified';

/** The kind of the CEL template with the structural checks. */
export const GATEKEEPER_WORKLOAD_KIND = 'ModelSealWorkload';

/**
 * Properties of a {@link GatekeeperModelPolicy}.
 */
export interface GatekeeperModelPolicyProps {
  /**
   * The verifier Gatekeeper calls (its `/gatekeeper` endpoint, trusting its CA; it must accept TLS 1.3). Gatekeeper
   * presents its webhook certificate, so this verifier may require client certificates (`clientCaCertificatePem`).
   */
  readonly verifier: ModelVerifier;

  /**
   * Enforce, or only warn/audit while you roll out (`enforcementAction` of both Constraints).
   *
   * @default AdmissionMode.ENFORCE
   */
  readonly mode?: AdmissionMode;

  /**
   * Namespaces the Constraints never apply to, besides the system namespaces, the verifier's and Gatekeeper's own.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];

  /**
   * Gatekeeper's namespace (excluded, so Gatekeeper can always restart).
   *
   * @default 'gatekeeper-system'
   */
  readonly gatekeeperNamespace?: string;

  /**
   * The Provider's `timeout`, in whole seconds: more than the verifier's deadline, less than Gatekeeper's webhook
   * timeout (`ModelAdmission` sets that to this plus 2 s).
   *
   * @default - the verifier's deadline rounded up, plus 1 s
   * @see https://open-policy-agent.github.io/gatekeeper/website/docs/externaldata/
   */
  readonly providerTimeout?: Duration;

  /**
   * Where the two Constraints are added. Their kinds exist only once Gatekeeper has turned the templates into CRDs,
   * so an apply that orders objects (e.g. `ModelAdmission`) puts them in a second chart that waits for that.
   *
   * @default - this construct
   */
  readonly constraintsScope?: Construct;
}

/**
 * Gatekeeper 3.23 admission for models: an external-data `Provider` for the verifier, a ConstraintTemplate whose Rego
 * calls `external_data` and refuses on any item error, a `system_error`, a non-200 status or a missing allowed
 * answer, a second template with the structural checks in `K8sNativeValidation` CEL, and a Constraint for each.
 *
 * Gatekeeper caches each key's answer (errors included) for `externaldataProviderResponseCacheTTL` (3 min by
 * default; `ModelAdmission` sets it to the verifier's allow TTL) and fails open by default: install it with
 * `validatingWebhookFailurePolicy: Fail`. {@link GatekeeperModelPolicy.gatorSuiteFiles} renders a `gator verify`
 * suite for the structural template (gator cannot evaluate external data).
 *
 * @see https://open-policy-agent.github.io/gatekeeper/website/docs/externaldata/
 */
export class GatekeeperModelPolicy extends Construct {
  /** The external-data Provider's name. */
  public readonly providerName: string;

  /** The Provider's timeout, in seconds. */
  public readonly providerTimeoutSeconds: number;

  /** The Provider. */
  public readonly provider: ApiObject;

  /** The Rego template that asks the verifier. */
  public readonly verifiedTemplate: ApiObject;

  /** The CEL template with the structural checks. */
  public readonly workloadTemplate: ApiObject;

  /** The Constraint of the Rego template. */
  public readonly verifiedConstraint: ApiObject;

  /** The Constraint of the CEL template. */
  public readonly workloadConstraint: ApiObject;

  private readonly ruleOptions: WorkloadRuleOptions;

  constructor(scope: Construct, id: string, props: GatekeeperModelPolicyProps) {
    super(scope, id);
    const type = 'GatekeeperModelPolicy';
    const verifier = props.verifier;
    this.ruleOptions = verifier._workloadRuleOptions();
    this.providerName = verifier.name;
    const timeout = props.providerTimeout ?? Duration.seconds(ceilSeconds(verifier.deadline) + 1);
    const ms = timeout.toMilliseconds();
    if (ms % 1000 !== 0 || ms <= verifier.deadline.toMilliseconds() || ms > 29_000) {
      throw k8sPropError(this, type, 'providerTimeout', `must be whole seconds, more than the verifier's deadline (${verifier.deadline.toMilliseconds()} ms) and at most 29 s, got ${ms} ms`);
    }
    this.providerTimeoutSeconds = ms / 1000;
    const mode = props.mode ?? AdmissionMode.ENFORCE;
    const excluded = excludedNamespaces(this, type, [...verifier.systemNamespaces, props.gatekeeperNamespace ?? 'gatekeeper-system'], props.exemptNamespaces);

    this.provider = new Provider(this, 'Provider', {
      metadata: { name: this.providerName },
      spec: {
        url: verifier.url('/gatekeeper'),
        timeout: this.providerTimeoutSeconds,
        caBundle: Buffer.from(verifier.caCertificatePem, 'utf8').toString('base64'),
      },
    });

    this.verifiedTemplate = new ConstraintTemplate(this, 'VerifiedTemplate', {
      metadata: { name: GATEKEEPER_VERIFIED_KIND.toLowerCase(), labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      spec: {
        crd: { spec: { names: { kind: GATEKEEPER_VERIFIED_KIND } } },
        targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: verifiedRego(this.providerName) }],
      },
    });

    this.workloadTemplate = new ConstraintTemplate(this, 'WorkloadTemplate', {
      metadata: { name: GATEKEEPER_WORKLOAD_KIND.toLowerCase(), labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      spec: {
        crd: { spec: { names: { kind: GATEKEEPER_WORKLOAD_KIND } } },
        targets: [{
          target: 'admission.k8s.gatekeeper.sh',
          code: [{
            engine: 'K8sNativeValidation',
            source: {
              variables: workloadVariables(),
              validations: workloadValidations(props.verifier._workloadRuleOptions()).map((v) => ({
                expression: v.expression, message: v.message, messageExpression: v.messageExpression,
              })),
            },
          }],
        }],
      },
    });

    const constraintsScope = props.constraintsScope ?? this;
    const suffix = constraintsScope === this ? '' : id;
    const constraint = (idPart: string, kind: string, name: string) => new ApiObject(constraintsScope, `${suffix}${idPart}`, {
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind,
      metadata: { name, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      spec: {
        enforcementAction: gatekeeperEnforcementAction(mode),
        match: {
          kinds: workloadApiGroups().map((g) => ({ apiGroups: [g], kinds: workloadKinds(g) })),
          excludedNamespaces: excluded,
        },
      },
    });
    this.verifiedConstraint = constraint('VerifiedConstraint', GATEKEEPER_VERIFIED_KIND, 'modelseal-verified');
    this.workloadConstraint = constraint('WorkloadConstraint', GATEKEEPER_WORKLOAD_KIND, 'modelseal-workload');
  }

  /**
   * A `gator verify` suite for the structural (CEL) template: `suite.yaml`, `template.yaml`, `constraint.yaml` and one
   * sample per case under `samples/` (admitted ones assert no violation, refused ones a violation).
   *
   * gator cannot evaluate external data, so the Rego template that asks the verifier is not in the suite.
   *
   * @see https://open-policy-agent.github.io/gatekeeper/website/docs/gator/
   */
  public gatorSuiteFiles(): EngineTestFile[] {
    const all = samples(this.ruleOptions);
    const suite = {
      apiVersion: 'test.gatekeeper.sh/v1alpha1',
      kind: 'Suite',
      metadata: { name: 'modelseal-workload' },
      tests: [{
        name: 'modelseal-workload-structure',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        cases: all.map((s) => ({ name: s.name, object: `samples/${s.name}.yaml`, assertions: [{ violations: s.admitted ? 'no' : 'yes' }] })),
      }],
    };
    // gator evaluates the constraint as written; the suite runs it in deny mode whatever the rollout mode
    const constraint = { ...this.workloadConstraint.toJson(), spec: { ...this.workloadConstraint.toJson().spec, enforcementAction: 'deny' } };
    return [
      { path: 'suite.yaml', content: Yaml.stringify(suite) },
      { path: 'template.yaml', content: Yaml.stringify(this.workloadTemplate.toJson()) },
      { path: 'constraint.yaml', content: Yaml.stringify(constraint) },
      ...all.map((s) => ({ path: `samples/${s.name}.yaml`, content: Yaml.stringify(s.object) })),
    ];
  }

  /**
   * Writes {@link gatorSuiteFiles} into `directory` (created if missing) and returns the paths written.
   */
  public writeGatorSuiteFiles(directory: string): string[] {
    return writeEngineTestFiles(directory, this.gatorSuiteFiles());
  }
}

/**
 * The Rego of the external-data template. Only a well-formed digest reaches the verifier (the CEL template refuses
 * the rest); every way the answer can fall short of "allowed" is a violation of its own.
 */
function verifiedRego(provider: string): string {
  const kinds = (ks: string[]) => `{${ks.map((k) => `"${k}"`).join(', ')}}`;
  return `package modelsealverified

annotations := object.get(input.review.object, ["metadata", "annotations"], {}) {
  ${kinds(['Pod', 'InferenceService', 'LLMInferenceService'])}[input.review.object.kind]
}

annotations := object.get(input.review.object, ["spec", "template", "metadata", "annotations"], {}) {
  ${kinds(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'])}[input.review.object.kind]
}

annotations := object.get(input.review.object, ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"], {}) {
  input.review.object.kind == "CronJob"
}

digest := annotations["${MODEL_DIGEST_ANNOTATION}"]

response := external_data({"provider": "${provider}", "keys": [digest]}) {
  regex.match(\`${DIGEST_PATTERN}\`, digest)
}

violation[{"msg": msg}] {
  item := response.errors[_]
  msg := sprintf("model %v refused by the ModelSeal verifier: %v", [item[0], item[1]])
}

violation[{"msg": msg}] {
  response.system_error != ""
  msg := sprintf("the ModelSeal verifier could not decide for %v: %v", [digest, response.system_error])
}

violation[{"msg": msg}] {
  response.status_code != 200
  msg := sprintf("the ModelSeal verifier answered HTTP %v for %v", [response.status_code, digest])
}

violation[{"msg": msg}] {
  response
  not allowed
  msg := sprintf("the ModelSeal verifier gave no allowed answer for %v", [digest])
}

allowed {
  item := response.responses[_]
  item[0] == digest
  item[1].allowed == true
}
`;
}
