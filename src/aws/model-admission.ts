import { Annotations, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cdk8s from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { IAttestationStore } from './attestation-store';
import { VERIFIER_KMS_ACTIONS } from './perms';
import { IModelSigningKey } from './signing-key';
import { AdmissionMode } from '../k8s/admission-mode';
import { GATEKEEPER_VERIFIED_KIND, GATEKEEPER_WORKLOAD_KIND } from '../k8s/gatekeeper-model-policy';
import { ServingImageVerification } from '../k8s/kyverno-model-policy';
import { ModelVerifier, TrustPolicyFile } from '../k8s/model-verifier';
import { VerifierImage } from '../k8s/verifier-image';
import { renderAdmissionCharts } from '../private/admission-chart';
import { acknowledgeClusterFindings, acknowledgeWildcardResources } from '../private/nag';
import { storeObjectArns } from '../private/store-layout';
import { propError } from '../private/validation';

/**
 * The admission engine that enforces the model policy.
 */
export enum AdmissionEngine {
  /** Kyverno 1.19 `ValidatingPolicy` calling the verifier's `/kyverno` (CEL `http.Post`). */
  KYVERNO = 'KYVERNO',
  /** Gatekeeper 3.23 external data (`/gatekeeper`) plus a K8sNativeValidation template. */
  GATEKEEPER = 'GATEKEEPER',
  /** No engine: a ValidatingAdmissionPolicy plus a ValidatingWebhookConfiguration to the verifier's `/validate`. */
  NATIVE = 'NATIVE',
}

/**
 * Helm chart versions `ModelAdmission` installs by default (the chart's own version, not the app's).
 *
 * Kyverno chart 3.9.x ships Kyverno 1.19; Gatekeeper and cert-manager charts carry their app's version.
 */
export const ADMISSION_CHART_VERSIONS = {
  kyverno: '3.9.0',
  gatekeeper: '3.23.0',
  certManager: 'v1.19.1',
} as const;

/** The namespace ModelAdmission installs cert-manager in (exempt from the policies while installed). */
const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** Kyverno's namespace and its admission controller's ServiceAccount, as ModelAdmission installs the chart. */
const KYVERNO_NAMESPACE = 'kyverno';
const KYVERNO_ADMISSION_SERVICE_ACCOUNT = 'kyverno-admission-controller';

/** A KMS key ARN, as it appears in a trust policy (`kmsKeyArn`, `kmsKeyArns`). */
const KMS_KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}/g;

/**
 * Properties of a {@link ModelAdmission}.
 */
export interface ModelAdmissionProps {
  /**
   * The EKS cluster (`aws-eks-v2`), new or imported. An imported one needs a kubectl provider: see
   * {@link KubectlClusterImport}.
   */
  readonly cluster: eks.ICluster;

  /** Which admission engine enforces the policy. */
  readonly engine: AdmissionEngine;

  /** The attestation store the verifier reads (`grantRead` to its Pod Identity role). */
  readonly store: IAttestationStore;

  /**
   * The verifier image, pinned by digest: `VerifierImage.fromRegistry('repo@sha256:…')`, or
   * `VerifierImage.fromRepositoryDigest(repository.repositoryUri, 'sha256:…')` for an ECR repository of the app. Not
   * a `DockerImageAsset` (its `imageUri` is a tag; the load-time init container runs this image in model workloads,
   * where the admission policies refuse unpinned images).
   */
  readonly image: VerifierImage;

  /**
   * The trust policy document (YAML or JSON text). Every KMS key ARN written in it gets `kms:GetPublicKey`; so does
   * every `kms.Key`/`ModelSigningKey` of this stack whose ARN token it contains (e.g. built with
   * `JSON.stringify({ kmsKeyArn: key.keyArn })`). Any other token in it gets a synth warning: pass such keys in
   * `verificationSigningKeys` or `verificationKeys`.
   */
  readonly trustPolicy: string;

  /**
   * Files the trust policy references (public keys, trust anchors).
   *
   * @default - none
   */
  readonly trustPolicyFiles?: TrustPolicyFile[];

  /**
   * More KMS keys whose public keys the verifier reads (`kms:GetPublicKey`). For a `ModelSigningKey` use
   * `verificationSigningKeys`.
   *
   * @default - only the KMS keys named in `trustPolicy`
   */
  readonly verificationKeys?: kms.IKey[];

  /**
   * Signing keys (a `ModelSigningKey`, new or imported) whose signatures the verifier checks: each gets
   * `grantVerify(verifierRole)` (`kms:GetPublicKey`, `kms:DescribeKey`, `kms:Verify`, in the key policy too for a key
   * of this app).
   *
   * @default - none
   */
  readonly verificationSigningKeys?: IModelSigningKey[];

  /** The PEM certificate of the CA that issued the verifier's serving certificate (see `ModelVerifierProps`). */
  readonly caCertificatePem: string;

  /**
   * The `kubernetes.io/tls` Secret with the serving certificate (you create it, e.g. from `modelseal tls init`).
   *
   * @default 'modelseal-verifier-tls'
   */
  readonly tlsSecretName?: string;

  /**
   * Let cert-manager issue and rotate the serving certificate from the CA in this Secret (installs cert-manager).
   *
   * @default - no cert-manager
   */
  readonly certManagerCaSecretName?: string;

  /**
   * Enforce, or only warn/audit while you roll out.
   *
   * @default AdmissionMode.ENFORCE
   */
  readonly mode?: AdmissionMode;

  /**
   * Namespaces never checked, besides the system namespaces, the verifier's and the engine's.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];

  /**
   * CIDRs the API server reaches the verifier from (the VPC subnets of the control plane's network interfaces).
   * Required with the NATIVE engine, where the API server calls the verifier.
   *
   * @default - none
   */
  readonly controlPlaneCidrs?: string[];

  /**
   * The verifier's allow-cache TTL; Gatekeeper's external-data response cache gets the same TTL. Revocation reaches
   * admission within it.
   *
   * @default Duration.seconds(60)
   */
  readonly cacheTtl?: Duration;

  /**
   * The verifier's per-decision deadline; webhook timeouts leave room for it.
   *
   * @default Duration.seconds(2)
   */
  readonly deadline?: Duration;

  /**
   * The admission webhook timeout (Kyverno policy, Gatekeeper webhook, native webhook), 1 to 30 s.
   *
   * @default Duration.seconds(5)
   */
  readonly webhookTimeout?: Duration;

  /**
   * Kyverno only: verify serving image signatures with an ImageValidatingPolicy.
   *
   * @default - none
   */
  readonly servingImageVerification?: ServingImageVerification;

  /**
   * Kyverno only, with `servingImageVerification`: image reference globs the ImageValidatingPolicy verifies (it only
   * ever checks pods of model workloads, see `KyvernoModelPolicyProps.servingImageReferences`).
   *
   * @default ['*'] - every image of a model workload's pods
   */
  readonly servingImageReferences?: string[];

  /**
   * Kyverno only, with `servingImageVerification`: the webhook timeout of the ImageValidatingPolicy, 1 to 30 s.
   *
   * @default Duration.seconds(15)
   */
  readonly servingImageTimeout?: Duration;

  /**
   * Kyverno only, with `servingImageVerification`: the ECR repositories the serving images (and their signatures)
   * are in. Kyverno's admission controller gets `grantPull` on each (`ecr:BatchGetImage`,
   * `ecr:BatchCheckLayerAvailability`, `ecr:GetDownloadUrlForLayer` on these repositories only, plus
   * `ecr:GetAuthorizationToken`, which has no resource-level permission).
   *
   * @default - no ECR access (images in a registry that needs no AWS credentials)
   */
  readonly servingImageRepositories?: ecr.IRepository[];

  /**
   * The verifier's namespace.
   *
   * @default 'modelseal-system'
   */
  readonly namespace?: string;

  /**
   * The Kyverno Helm chart version.
   *
   * @default '3.9.0' (Kyverno 1.19)
   * @see https://kyverno.io/docs/installation/methods/
   */
  readonly kyvernoChartVersion?: string;

  /**
   * The Gatekeeper Helm chart version.
   *
   * @default '3.23.0'
   * @see https://open-policy-agent.github.io/gatekeeper/website/docs/install
   */
  readonly gatekeeperChartVersion?: string;

  /**
   * The cert-manager Helm chart version.
   *
   * @default 'v1.19.1'
   * @see https://cert-manager.io/docs/installation/helm/
   */
  readonly certManagerChartVersion?: string;
}

const clusterAccess = new WeakMap<eks.ICluster, IConstruct>();

/**
 * Model admission on Amazon EKS: installs the chosen engine (and cert-manager when it issues the verifier's
 * certificate, with its namespace exempt from the policies) with Helm at pinned chart versions, applies the verifier
 * and the policy (a cdk8s chart, serialized into a `KubernetesManifest`), and gives the verifier's ServiceAccount an
 * EKS Pod Identity association to a role that can read the store and `kms:GetPublicKey` the policy's KMS keys. The
 * role trusts `pods.eks.amazonaws.com` only for this cluster, namespace and ServiceAccount (session tags), and the
 * manifest is applied only once the association and the role's policy exist.
 *
 * With KYVERNO and cosign-with-KMS serving image verification, Kyverno's admission controller gets its own Pod
 * Identity role: `kms:GetPublicKey` on the cosign key and pulls from `servingImageRepositories`.
 *
 * Gatekeeper is installed with `validatingWebhookFailurePolicy: Fail` (its default fails open), a webhook timeout
 * above the Provider's, which is above the verifier's deadline, and `externaldataProviderResponseCacheTTL` equal to
 * the verifier's allow TTL. Its Constraints are applied only once Gatekeeper reports their templates' CRDs created.
 *
 * The cluster needs the EKS Pod Identity Agent add-on. The library depends on no kubectl layer: a new cluster gets
 * one from you (`kubectlProviderOptions`), an imported one through {@link KubectlClusterImport}.
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html
 */
export class ModelAdmission extends Construct {
  /** The role the verifier's pods assume through EKS Pod Identity. */
  public readonly verifierRole: iam.Role;

  /** The verifier role's Pod Identity association (the manifest waits for it). */
  public readonly verifierPodIdentity: eks.CfnPodIdentityAssociation;

  /**
   * With KYVERNO and `servingImageVerification`: the role Kyverno's admission controller assumes through EKS Pod
   * Identity (`kms:GetPublicKey` on the cosign key, ECR pulls from `servingImageRepositories`).
   */
  public readonly kyvernoRole?: iam.Role;

  /** The verifier (in the cdk8s chart). */
  public readonly verifier: ModelVerifier;

  /** The cdk8s chart with the verifier and the policy (already serialized into `manifest`). */
  public readonly chart: cdk8s.Chart;

  /** The manifest that applies `chart`. */
  public readonly manifest: eks.KubernetesManifest;

  /** The engine's Helm chart (none for NATIVE). */
  public readonly engineChart?: eks.HelmChart;

  /** cert-manager's Helm chart, when it issues the serving certificate. */
  public readonly certManagerChart?: eks.HelmChart;

  constructor(scope: Construct, id: string, props: ModelAdmissionProps) {
    super(scope, id);
    const type = 'ModelAdmission';
    const cluster = props.cluster;
    const toCdk8s = (d: Duration) => cdk8s.Duration.millis(d.toMilliseconds());
    const cacheTtl = props.cacheTtl ?? Duration.seconds(60);
    const deadline = props.deadline ?? Duration.seconds(2);
    const webhookTimeout = props.webhookTimeout ?? Duration.seconds(5);
    const webhookMs = webhookTimeout.toMilliseconds();
    if (webhookMs % 1000 !== 0 || webhookMs < 1000 || webhookMs > 30_000) {
      throw propError(this, type, 'webhookTimeout', `must be whole seconds between 1 and 30 (the Kubernetes webhook limits), got ${webhookMs} ms`);
    }
    if (props.engine === AdmissionEngine.GATEKEEPER && webhookMs - 2000 <= deadline.toMilliseconds()) {
      // Gatekeeper's Provider gets the webhook timeout minus 2 s, which must still exceed the verifier's deadline
      throw propError(this, type, 'webhookTimeout', `must exceed the verifier's deadline (${deadline.toMilliseconds()} ms) by more than 2 s with GATEKEEPER `
        + `(its external-data Provider gets webhookTimeout - 2 s), got ${webhookMs} ms`);
    }
    if (props.engine === AdmissionEngine.NATIVE && (props.controlPlaneCidrs ?? []).length === 0) {
      throw propError(this, type, 'controlPlaneCidrs', 'must name the API server\'s CIDRs with the NATIVE engine (the API server calls the verifier), got none');
    }
    if (props.servingImageVerification && props.engine !== AdmissionEngine.KYVERNO) {
      throw propError(this, type, 'servingImageVerification', `is a Kyverno ImageValidatingPolicy: it needs engine KYVERNO, got ${props.engine}`);
    }
    for (const [name, given] of [['servingImageReferences', props.servingImageReferences], ['servingImageTimeout', props.servingImageTimeout],
      ['servingImageRepositories', props.servingImageRepositories]] as const) {
      if (given !== undefined && !props.servingImageVerification) {
        throw propError(this, type, name, 'applies only with servingImageVerification (engine KYVERNO), which is not set');
      }
    }
    // cert-manager's pods must always start, or certificate renewal stops: its namespace is exempt when installed here
    const usesCertManager = props.certManagerCaSecretName !== undefined;
    const exemptNamespaces = [...props.exemptNamespaces ?? []];
    if (usesCertManager && !exemptNamespaces.includes(CERT_MANAGER_NAMESPACE)) exemptNamespaces.push(CERT_MANAGER_NAMESPACE);

    // cdk8s objects first: addCdk8sChart/KubernetesManifest serialize the chart when called
    const charts = renderAdmissionCharts({
      engine: props.engine,
      image: props.image,
      storeUri: props.store.storeUri,
      trustPolicy: props.trustPolicy,
      trustPolicyFiles: props.trustPolicyFiles,
      caCertificatePem: props.caCertificatePem,
      tlsSecretName: props.tlsSecretName,
      certManagerCaSecretName: props.certManagerCaSecretName,
      namespace: props.namespace,
      controlPlaneCidrs: props.controlPlaneCidrs,
      cacheTtl: toCdk8s(cacheTtl),
      deadline: toCdk8s(deadline),
      webhookTimeout: toCdk8s(webhookTimeout),
      exemptNamespaces,
      mode: props.mode,
      servingImageVerification: props.servingImageVerification,
      servingImageReferences: props.servingImageReferences,
      servingImageTimeout: props.servingImageTimeout ? toCdk8s(props.servingImageTimeout) : undefined,
    });
    this.chart = charts.chart;
    this.verifier = charts.verifier;
    const constraintsChart = charts.constraintsChart;

    const helm = (chartId: string, options: Omit<eks.HelmChartOptions, 'wait' | 'createNamespace'>) =>
      new eks.HelmChart(this, chartId, { cluster, wait: true, createNamespace: true, timeout: Duration.minutes(10), ...options });
    if (this.verifier.usesCertManager) {
      this.certManagerChart = helm('CertManager', {
        chart: 'cert-manager',
        repository: 'https://charts.jetstack.io',
        version: props.certManagerChartVersion ?? ADMISSION_CHART_VERSIONS.certManager,
        namespace: CERT_MANAGER_NAMESPACE,
        release: 'cert-manager',
        values: { crds: { enabled: true } },
      });
    }
    if (props.engine === AdmissionEngine.KYVERNO) {
      this.engineChart = helm('Kyverno', {
        chart: 'kyverno',
        repository: 'https://kyverno.github.io/kyverno/',
        version: props.kyvernoChartVersion ?? ADMISSION_CHART_VERSIONS.kyverno,
        namespace: 'kyverno',
        release: 'kyverno',
        // the ServiceAccount is named explicitly: Kyverno's Pod Identity association (image verification) names it
        values: { admissionController: { replicas: 3, rbac: { serviceAccount: { name: KYVERNO_ADMISSION_SERVICE_ACCOUNT } } } },
      });
    } else if (props.engine === AdmissionEngine.GATEKEEPER) {
      this.engineChart = helm('Gatekeeper', {
        chart: 'gatekeeper',
        repository: 'https://open-policy-agent.github.io/gatekeeper/charts',
        version: props.gatekeeperChartVersion ?? ADMISSION_CHART_VERSIONS.gatekeeper,
        namespace: 'gatekeeper-system',
        release: 'gatekeeper',
        values: {
          replicas: 3,
          // the chart's default (Ignore) admits everything while Gatekeeper is down
          validatingWebhookFailurePolicy: 'Fail',
          validatingWebhookTimeoutSeconds: webhookTimeout.toSeconds(),
          enableExternalData: true,
          externaldataProviderResponseCacheTTL: `${cacheTtl.toSeconds()}s`,
          controllerManager: { exemptNamespaces: this.verifier.systemNamespaces },
        },
      });
    }

    this.manifest = new eks.KubernetesManifest(this, 'Manifest', { cluster, manifest: this.chart.toJson() });
    for (const dep of [this.engineChart, this.certManagerChart]) if (dep) this.manifest.node.addDependency(dep);
    const access = clusterAccess.get(cluster);
    if (access) this.node.addDependency(access);

    if (constraintsChart) {
      const constraints = new eks.KubernetesManifest(this, 'Constraints', { cluster, manifest: constraintsChart.toJson() });
      for (const [valueId, kind] of [['VerifiedTemplateCreated', GATEKEEPER_VERIFIED_KIND], ['WorkloadTemplateCreated', GATEKEEPER_WORKLOAD_KIND]]) {
        // a Constraint's kind exists only once Gatekeeper has created the template's CRD
        const created = new eks.KubernetesObjectValue(this, valueId, {
          cluster,
          objectType: 'constrainttemplate',
          objectName: kind.toLowerCase(),
          jsonPath: '.status.created',
          timeout: Duration.minutes(5),
        });
        created.node.addDependency(this.manifest);
        constraints.node.addDependency(created);
      }
    }

    // EKS Pod Identity: the role trusts the service only for this cluster, namespace and ServiceAccount (session tags)
    this.verifierRole = podIdentityRole(this, 'VerifierRole', cluster, this.verifier.namespace, this.verifier.serviceAccountName,
      'ModelSeal verifier (EKS Pod Identity): reads the attestation store and the trust policy\'s KMS public keys');
    props.store.grantRead(this.verifierRole);
    const keyArns = [...new Set([
      ...(props.trustPolicy.match(KMS_KEY_ARN) ?? []),
      ...trustPolicyKeyTokens(this, props.trustPolicy),
      ...(props.verificationKeys ?? []).map((k) => k.keyArn),
    ])];
    if (keyArns.length > 0) {
      this.verifierRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: VERIFIER_KMS_ACTIONS, resources: keyArns }));
    }
    for (const key of props.verificationSigningKeys ?? []) key.grantVerify(this.verifierRole);
    const policy = this.verifierRole.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'The verifier role\'s grants are specific to this store and these keys; a managed policy would only be reused by nothing.',
      });
      acknowledgeWildcardResources(policy, storeObjectArns(props.store.bucket, props.store.prefix),
        'Attestation objects are content-addressed under each store prefix and unknown until read; the grant covers only those prefixes.');
    }

    this.verifierPodIdentity = new eks.CfnPodIdentityAssociation(this, 'PodIdentity', {
      clusterName: cluster.clusterName,
      namespace: this.verifier.namespace,
      serviceAccount: this.verifier.serviceAccountName,
      roleArn: this.verifierRole.roleArn,
    });
    // pods started before the association (or before the role's policy) get no credentials, and keep none
    this.manifest.node.addDependency(this.verifierPodIdentity);
    const verifierPolicy = this.verifierRole.node.tryFindChild('DefaultPolicy');
    if (verifierPolicy) this.manifest.node.addDependency(verifierPolicy);

    const cosignKeyArn = props.servingImageVerification?._kmsKeyArn;
    if (this.engineChart && props.engine === AdmissionEngine.KYVERNO && props.servingImageVerification
      && (cosignKeyArn || (props.servingImageRepositories ?? []).length > 0)) {
      // Kyverno verifies cosign signatures with its own AWS identity: kms:GetPublicKey on the cosign key and ECR pulls
      this.kyvernoRole = podIdentityRole(this, 'KyvernoRole', cluster, KYVERNO_NAMESPACE, KYVERNO_ADMISSION_SERVICE_ACCOUNT,
        'Kyverno admission controller (EKS Pod Identity): reads the serving images\' cosign public key and pulls their signatures');
      if (cosignKeyArn) {
        this.kyvernoRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: VERIFIER_KMS_ACTIONS, resources: [cosignKeyArn] }));
      }
      for (const repository of props.servingImageRepositories ?? []) repository.grantPull(this.kyvernoRole);
      const kyvernoPolicy = this.kyvernoRole.node.findChild('DefaultPolicy');
      Validations.of(kyvernoPolicy.node.defaultChild!).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'Kyverno\'s grants are specific to this cosign key and these repositories; a managed policy would only be reused by nothing.',
      });
      if ((props.servingImageRepositories ?? []).length > 0) {
        acknowledgeWildcardResources(kyvernoPolicy.node.defaultChild!, ['*'],
          'ecr:GetAuthorizationToken supports no resource-level permissions (AWS service authorization reference); pulls are limited to the named repositories.');
      }
      const association = new eks.CfnPodIdentityAssociation(this, 'KyvernoPodIdentity', {
        clusterName: cluster.clusterName,
        namespace: KYVERNO_NAMESPACE,
        serviceAccount: KYVERNO_ADMISSION_SERVICE_ACCOUNT,
        roleArn: this.kyvernoRole.roleArn,
      });
      // the image policy is applied only once Kyverno can get credentials for it
      this.manifest.node.addDependency(association, kyvernoPolicy);
    }
  }
}

/**
 * A role for EKS Pod Identity, trusted by `pods.eks.amazonaws.com` (`sts:AssumeRole`, `sts:TagSession`) only when the
 * session tags EKS sets name this cluster, namespace and ServiceAccount.
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html
 */
function podIdentityRole(
  scope: Construct, id: string, cluster: eks.ICluster, namespace: string, serviceAccount: string, description: string,
): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.SessionTagsPrincipal(new iam.ServicePrincipal('pods.eks.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:RequestTag/eks-cluster-arn': cluster.clusterArn,
          'aws:RequestTag/kubernetes-namespace': namespace,
          'aws:RequestTag/kubernetes-service-account': serviceAccount,
        },
      },
    })),
    description,
  });
}

/**
 * The ARN tokens of the KMS keys of this stack that `trustPolicy` contains (e.g. `JSON.stringify({ kmsKeyArn:
 * key.keyArn })`). A token that is not one gets a warning: the verifier could not read that key.
 */
function trustPolicyKeyTokens(scope: Construct, trustPolicy: string): string[] {
  if (!Token.isUnresolved(trustPolicy)) return [];
  const stack = Stack.of(scope);
  const keys = stack.node.findAll()
    .filter((c): c is kms.CfnKey => c instanceof kms.CfnKey)
    .map((k) => ({ arn: k.attrArn, resolved: JSON.stringify(stack.resolve(k.attrArn)) }));
  const found: string[] = [];
  const unknown: string[] = [];
  for (const token of tokensIn(stack.resolve(trustPolicy))) {
    const key = keys.find((k) => k.resolved === JSON.stringify(token));
    if (key) found.push(key.arn);
    else unknown.push(JSON.stringify(token));
  }
  if (unknown.length > 0) {
    Annotations.of(scope).addWarningV2('modelseal:trust-policy-token',
      `trustPolicy contains deploy-time values that are not KMS keys of this stack (${unknown.join(', ')}): if one is a KMS key ARN, `
      + 'the verifier gets no kms:GetPublicKey on it and refuses every model it signed. Pass that key in verificationSigningKeys '
      + '(a ModelSigningKey) or verificationKeys (a kms.IKey).');
  }
  return found;
}

/** The CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::ImportValue`, …) inside a resolved value, outermost only. */
function tokensIn(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(tokensIn);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Fn::Join') return tokensIn((value as any)['Fn::Join'][1]);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return [value];
    return Object.values(value).flatMap(tokensIn);
  }
  return [];
}

/**
 * Options of a {@link KubectlClusterImport}.
 */
export interface KubectlClusterImportProps {
  /** The cluster's name. */
  readonly clusterName: string;

  /** A kubectl Lambda layer matching the cluster's Kubernetes version (e.g. `@aws-cdk/lambda-layer-kubectl-v35`). */
  readonly kubectlLayer: lambda.ILayerVersion;

  /**
   * Private subnets for the kubectl handler (required when the cluster's endpoint is private).
   *
   * @default - the handler runs outside a VPC (public endpoint)
   */
  readonly privateSubnets?: ec2.ISubnet[];

  /**
   * The cluster's VPC (with `privateSubnets`).
   *
   * @default - none
   */
  readonly vpc?: ec2.IVpc;
}

/**
 * An imported EKS cluster that manifests and Helm charts can be applied to.
 *
 * `Cluster.fromClusterAttributes` ignores `kubectlProviderOptions`, so this imports the cluster once, builds a
 * `KubectlProvider` on it, imports it again with that `kubectlProvider`, and gives the provider's role cluster-admin
 * through an EKS access entry (`AmazonEKSClusterAdminPolicy`). A {@link ModelAdmission} on `cluster` waits for the
 * access entry. The cluster's authentication mode must allow access entries (`API` or `API_AND_CONFIG_MAP`).
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html
 */
export class KubectlClusterImport extends Construct {
  /** The imported cluster, with a kubectl provider. */
  public readonly cluster: eks.ICluster;

  /** The kubectl provider. */
  public readonly kubectlProvider: eks.KubectlProvider;

  /** The access entry of the provider's role. */
  public readonly accessEntry: eks.AccessEntry;

  constructor(scope: Construct, id: string, props: KubectlClusterImportProps) {
    super(scope, id);
    const bare = eks.Cluster.fromClusterAttributes(this, 'Bare', { clusterName: props.clusterName, vpc: props.vpc });
    this.kubectlProvider = new eks.KubectlProvider(this, 'KubectlProvider', {
      cluster: bare,
      kubectlLayer: props.kubectlLayer,
      privateSubnets: props.privateSubnets,
    });
    this.cluster = eks.Cluster.fromClusterAttributes(this, 'Cluster', {
      clusterName: props.clusterName,
      vpc: props.vpc,
      kubectlProvider: this.kubectlProvider,
    });
    this.accessEntry = new eks.AccessEntry(this, 'KubectlAccess', {
      cluster: this.cluster,
      principal: this.kubectlProvider.role!.roleArn,
      accessPolicies: [eks.AccessPolicy.fromAccessPolicyName('AmazonEKSClusterAdminPolicy', { accessScopeType: eks.AccessScopeType.CLUSTER })],
    });
    clusterAccess.set(this.cluster, this.accessEntry);
    // the kubectl handler and provider functions aws-eks-v2 generates for this import are this construct's
    acknowledgeClusterFindings(this);
    if (!props.privateSubnets) {
      Validations.of(this.kubectlProvider).acknowledge({
        id: 'NIST.800.53.R5-LambdaInsideVPC',
        reason: 'Without privateSubnets the cluster endpoint is public, and the kubectl handler reaches it from outside a VPC, as aws-eks-v2 runs it.',
      });
    }
  }
}
