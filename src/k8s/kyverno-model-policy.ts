import { ApiObject, Duration, Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import { AdmissionMode } from './admission-mode';
import { MODEL_DIGEST_ANNOTATION, MODEL_URI_ANNOTATION } from './contract';
import { EngineTestFile } from './engine-test-file';
import { ModelVerifier } from './model-verifier';
import { validationActions } from './private/admission-mode';
import { checkWebhookTimeout, namespaceExclusion, policyResourceRules } from './private/policy-common';
import { Sample, samples } from './private/samples';
import { checkDnsLabel, k8sPropError } from './private/util';
import { DIGEST_PATTERN, workloadValidations, workloadVariables } from './private/workload-rules';
import { writeEngineTestFiles } from './private/write-files';
import { Test } from '../imports/kyverno-cli-test';
import { ImageValidatingPolicy } from '../imports/kyverno-image-validating-policy';
import { ValidatingPolicy } from '../imports/kyverno-validating-policy';

/** The label KServe sets on the pods of an InferenceService's predictor. */
const KSERVE_INFERENCESERVICE_LABEL = 'serving.kserve.io/inferenceservice';

/** CEL: the pod belongs to a model workload (either ModelSeal annotation, or a KServe predictor's label). */
const SERVING_POD_CONDITION = `(has(object.metadata.annotations) && ('${MODEL_DIGEST_ANNOTATION}' in object.metadata.annotations`
  + ` || '${MODEL_URI_ANNOTATION}' in object.metadata.annotations))`
  + ` || (has(object.metadata.labels) && '${KSERVE_INFERENCESERVICE_LABEL}' in object.metadata.labels)`;

/**
 * How Kyverno's `ImageValidatingPolicy` verifies the serving images of model workloads.
 */
export class ServingImageVerification {
  /**
   * Notary (Notation) signatures, e.g. from AWS Signer: verified against these root certificates.
   *
   * @param rootCertificatesPem the trust anchors (for AWS Signer, its published root certificate), PEM
   * @see https://docs.aws.amazon.com/signer/latest/developerguide/image-signing-prerequisites.html
   */
  public static notary(rootCertificatesPem: string): ServingImageVerification {
    if (!rootCertificatesPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`ServingImageVerification.notary: rootCertificatesPem must be PEM certificates, got '${rootCertificatesPem.slice(0, 40)}...'`);
    }
    return new ServingImageVerification({ notary: { certs: { value: rootCertificatesPem } } });
  }

  /**
   * cosign signatures made with an AWS KMS key (`awskms:///<key ARN>`). Kyverno's admission controller needs AWS
   * credentials with `kms:GetPublicKey` on the key (and ECR pulls where the signatures are): `ModelAdmission` gives it
   * an EKS Pod Identity role for that; elsewhere give it one yourself.
   *
   * @param keyArn the KMS key ARN (`arn:aws:kms:<region>:<account>:key/<id>`)
   * @see https://docs.sigstore.dev/cosign/key_management/overview/
   */
  public static cosignKms(keyArn: string): ServingImageVerification {
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/.test(keyArn)) {
      throw new Error(`ServingImageVerification.cosignKms: keyArn must be a KMS key ARN, got '${keyArn}'`);
    }
    return new ServingImageVerification({ cosign: { key: { kms: `awskms:///${keyArn}` } } }, keyArn);
  }

  /** The attestor, as the ImageValidatingPolicy renders it (without its name). @internal */
  public readonly _attestor: any;

  /** The KMS key Kyverno reads the public key of (`kms:GetPublicKey`), for cosign with KMS. @internal */
  public readonly _kmsKeyArn?: string;

  private constructor(attestor: any, kmsKeyArn?: string) {
    this._attestor = attestor;
    this._kmsKeyArn = kmsKeyArn;
  }
}

/**
 * Properties of a {@link KyvernoModelPolicy}.
 */
export interface KyvernoModelPolicyProps {
  /** The verifier the policy calls (its `/kyverno` endpoint, trusting its CA). */
  readonly verifier: ModelVerifier;

  /**
   * The name of the ValidatingPolicy.
   *
   * @default 'modelseal-model-verification'
   */
  readonly name?: string;

  /**
   * Enforce, or only warn/audit while you roll out.
   *
   * @default AdmissionMode.ENFORCE
   */
  readonly mode?: AdmissionMode;

  /**
   * Namespaces the policy never applies to, besides the system namespaces (`kube-system`, `kube-public`,
   * `kube-node-lease`), the verifier's and Kyverno's own. Matched on the `kubernetes.io/metadata.name` label,
   * which the API server sets and no user can change.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];

  /**
   * Kyverno's namespace (excluded, so Kyverno can always restart).
   *
   * @default 'kyverno'
   */
  readonly kyvernoNamespace?: string;

  /**
   * The admission webhook timeout for this policy (1 to 30 s). Must exceed the verifier's deadline, which bounds the
   * `http.Post` call (Kyverno has no per-call timeout).
   *
   * @default Duration.seconds(5)
   * @see https://kyverno.io/docs/policy-types/validating-policy/
   */
  readonly webhookTimeout?: Duration;

  /**
   * Also verify the signatures of serving images with an `ImageValidatingPolicy`.
   *
   * @default - no image signature verification (images must still be digest-pinned)
   */
  readonly servingImageVerification?: ServingImageVerification;

  /**
   * Image reference globs the ImageValidatingPolicy verifies. It only ever matches pods of model workloads (a pod with
   * the `modelseal.dev/model-digest` or `modelseal.dev/model-uri` annotation, or KServe's
   * `serving.kserve.io/inferenceservice` label), so other pods are never refused for an unsigned image.
   *
   * @default ['*'] - every image of a model workload's pods
   */
  readonly servingImageReferences?: string[];

  /**
   * The webhook timeout of the ImageValidatingPolicy (signature fetches from the registry take longer).
   *
   * @default Duration.seconds(15)
   */
  readonly servingImageTimeout?: Duration;
}

/**
 * Kyverno 1.19 admission for models: a cluster-scoped `ValidatingPolicy` (`policies.kyverno.io/v1`) that requires
 * the model digest annotation and digest-pinned images, then asks the verifier through
 * `http.Client(<CA PEM>).Post(<verifier>/kyverno, {digest})` and refuses unless it answered `allowed: true` with
 * HTTP 200 — reading the answer both as Kyverno returns it live (the JSON body flattened, `statusCode` added) and as
 * `kyverno test` mocks it (`{body, statusCode}`). `failurePolicy: Fail`: an unreachable verifier, a TLS error or an
 * answer without `allowed` refuses.
 *
 * Optionally an `ImageValidatingPolicy` verifies the signatures of the images of model workloads' pods (Notary/AWS
 * Signer or cosign with a KMS key); other pods are not matched. {@link KyvernoModelPolicy.testFiles} renders a `kyverno test` suite.
 *
 * @see https://kyverno.io/docs/policy-types/validating-policy/
 */
export class KyvernoModelPolicy extends Construct {
  /** The ValidatingPolicy. */
  public readonly policy: ApiObject;

  /** The ImageValidatingPolicy, when serving images are verified. */
  public readonly imagePolicy?: ApiObject;

  /** The name of the ValidatingPolicy. */
  public readonly policyName: string;

  private readonly verifier: ModelVerifier;

  constructor(scope: Construct, id: string, props: KyvernoModelPolicyProps) {
    super(scope, id);
    const type = 'KyvernoModelPolicy';
    this.verifier = props.verifier;
    if (this.verifier.requiresClientCertificates) {
      throw k8sPropError(this, type, 'verifier', 'requires client certificates (clientCaCertificatePem), but Kyverno\'s http.Client presents no client certificate: every call would be refused; mutual TLS is for GatekeeperModelPolicy');
    }
    this.policyName = props.name ?? 'modelseal-model-verification';
    checkDnsLabel(this, type, 'name', this.policyName);
    const kyvernoNamespace = props.kyvernoNamespace ?? 'kyverno';
    const timeout = checkWebhookTimeout(this, type, 'webhookTimeout', props.webhookTimeout ?? Duration.seconds(5), this.verifier.deadline);
    const mode = props.mode ?? AdmissionMode.ENFORCE;
    const namespaceSelector = namespaceExclusion(this, type, [...this.verifier.systemNamespaces, kyvernoNamespace], props.exemptNamespaces);
    const url = this.verifier.url('/kyverno');

    const call = `http.Client(${JSON.stringify(this.verifier.caCertificatePem)}).Post(${JSON.stringify(url)}, `
      + '{\'digest\': variables.digest, \'kind\': object.kind}, {\'Content-Type\': \'application/json\'})';
    const variables = [
      ...workloadVariables(),
      // only a model workload with a well-formed digest reaches the verifier
      { name: 'verdict', expression: `variables.isModel && variables.digest.matches('${DIGEST_PATTERN}') ? ${call} : {}` },
      // live: the JSON body flattened with statusCode added; `kyverno test`: {body, statusCode}
      { name: 'answer', expression: 'has(variables.verdict.body) ? variables.verdict.body : variables.verdict' },
    ];
    const validations = [
      ...workloadValidations(props.verifier._workloadRuleOptions())
        .map((v) => ({ expression: v.expression, message: v.message, messageExpression: v.messageExpression })),
      {
        expression: `!variables.isModel || !variables.digest.matches('${DIGEST_PATTERN}') || `
          + '(has(variables.verdict.statusCode) && variables.verdict.statusCode == 200 && has(variables.answer.allowed) && variables.answer.allowed == true)',
        message: 'the ModelSeal verifier did not allow this model',
        messageExpression: '\'model \' + variables.digest + \' refused by the ModelSeal verifier: \' + '
          + '(has(variables.answer.reasons) && size(variables.answer.reasons) > 0 ? variables.answer.reasons.join(\'; \') : '
          + '\'no allowed answer (HTTP \' + string(has(variables.verdict.statusCode) ? variables.verdict.statusCode : 0) + \')\')',
      },
    ];

    this.policy = new ValidatingPolicy(this, 'Resource', {
      metadata: { name: this.policyName, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
      spec: {
        validationActions: validationActions(mode) as any,
        failurePolicy: 'Fail' as any,
        webhookConfiguration: { timeoutSeconds: timeout },
        // admission only: background scans would call the verifier for every existing workload
        evaluation: { background: { enabled: false } },
        // the rules name every controller kind explicitly (and KServe kinds autogen does not know)
        autogen: { podControllers: { controllers: [] } },
        matchConstraints: { namespaceSelector, resourceRules: policyResourceRules() as any },
        variables,
        validations,
      },
    });

    if (props.servingImageVerification) {
      const imageTimeout = checkWebhookTimeout(this, type, 'servingImageTimeout', props.servingImageTimeout ?? Duration.seconds(15), Duration.seconds(0));
      const globs = props.servingImageReferences ?? ['*'];
      if (globs.length === 0) throw k8sPropError(this, type, 'servingImageReferences', 'must name at least one glob');
      this.imagePolicy = new ImageValidatingPolicy(this, 'ServingImages', {
        metadata: { name: `${this.policyName}-images`, labels: { 'app.kubernetes.io/part-of': 'modelseal' } },
        spec: {
          validationActions: validationActions(mode) as any,
          failurePolicy: 'Fail' as any,
          webhookConfiguration: { timeoutSeconds: imageTimeout },
          evaluation: { background: { enabled: false } },
          credentials: { providers: ['amazon' as any] },
          matchConstraints: {
            namespaceSelector,
            resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
          },
          // only the pods of model workloads: any other pod (cert-manager's, the cluster's add-ons) is none of this policy's business
          matchConditions: [{ name: 'model-workload-pod', expression: SERVING_POD_CONDITION }],
          matchImageReferences: globs.map((glob) => ({ glob })),
          attestors: [{ name: 'signer', ...props.servingImageVerification._attestor }],
          validations: [{
            expression: '(images.containers + (has(images.initContainers) ? images.initContainers : []))'
              + '.map(image, verifyImageSignatures(image, [attestors.signer])).all(e, e > 0)',
            message: 'a serving image is not signed by the trusted signer',
          }],
        },
      });
    }
  }

  /**
   * A `kyverno test` suite for this policy, offline (`kyverno test <folder>`):
   *
   * - `kyverno-test.yaml`: the verifier (mocked with `apiCallResponses`, in the `{body, statusCode}` shape the CLI
   *   uses) allows; well-formed model workloads pass, those without a digest, with a malformed one or with unpinned
   *   images fail;
   * - `verifier-denies/kyverno-test.yaml`: the verifier answers `allowed: false`; every model workload fails;
   * - `policy.yaml`, `resources.yaml`: the policy and the sample workloads both tests use.
   *
   * @see https://kyverno.io/docs/kyverno-cli/reference/kyverno_test/
   */
  public testFiles(): EngineTestFile[] {
    const all = samples(this.verifier._workloadRuleOptions());
    const url = this.verifier.url('/kyverno');
    const mock = (allowed: boolean) => [{
      url,
      method: 'POST' as any,
      response: {
        statusCode: 200,
        body: allowed
          ? { allowed: true, reasons: [], manifest: `sha256:${'7a'.repeat(32)}`, policy: `sha256:${'3e'.repeat(32)}` }
          : { allowed: false, reasons: ['only 1 of the 2 required signers (ci, compliance) signed'], manifest: null, policy: `sha256:${'3e'.repeat(32)}` },
      },
    }];
    const results = (dir: string, pass: (s: Sample) => boolean) => {
      const groups = new Map<string, string[]>();
      for (const s of all) {
        const key = `${s.kind}|${pass(s) ? 'pass' : 'fail'}`;
        groups.set(key, [...(groups.get(key) ?? []), s.name]);
      }
      return Test.manifest({
        metadata: { name: `${this.policyName}${dir ? '-verifier-denies' : ''}` },
        policies: [`${dir}policy.yaml`],
        resources: [`${dir}resources.yaml`],
        apiCallResponses: mock(dir === ''),
        results: [...groups.entries()].map(([key, resources]) => {
          const [kind, result] = key.split('|');
          return { policy: this.policyName, isValidatingPolicy: true, kind, resources, result: result as any };
        }),
      });
    };
    const isModelSample = (s: Sample) => s.name !== 'pod-without-model';
    return [
      { path: 'policy.yaml', content: Yaml.stringify(this.policy.toJson()) },
      { path: 'resources.yaml', content: Yaml.stringify(...all.map((s) => s.object)) },
      { path: 'kyverno-test.yaml', content: Yaml.stringify(results('', (s) => s.admitted)) },
      { path: 'verifier-denies/kyverno-test.yaml', content: Yaml.stringify(results('../', (s) => s.admitted && !isModelSample(s))) },
    ];
  }

  /**
   * Writes {@link testFiles} into `directory` (created if missing) and returns the paths written.
   */
  public writeTestFiles(directory: string): string[] {
    return writeEngineTestFiles(directory, this.testFiles());
  }
}
