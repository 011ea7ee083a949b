import * as fs from 'fs';
import * as path from 'path';
import { attachCustomSynthesis, CfnOutput, Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { AttestationStore, IAttestationStore } from './attestation-store';
import { EnclaveImageMeasurements, HardenedBuildRunner } from './build-runner';
import { EnclaveServingTier } from './enclave-serving-tier';
import { AdmissionEngine, ModelAdmission } from './model-admission';
import { ModelCard } from './model-card';
import { CLUSTER_KEY_EKS_ACTIONS, LOGS_KEY_ACTIONS, SYMMETRIC_KEY_ADMIN_ACTIONS } from './perms';
import { IModelSigningKey, ModelSigningKey } from './signing-key';
import { AttestationRequirement, SIGNER_NAME, SignerParty, SignerRequirement } from './trust-policy-spec';
import { IModelWeightsKey } from './weights-key';
import { AdmissionMode } from '../k8s/admission-mode';
import { ModelLoadVerificationOptions } from '../k8s/model-load-verification';
import { VerifierImage } from '../k8s/verifier-image';
import { renderAdmissionCharts } from '../private/admission-chart';
import { acknowledgeClusterFindings, acknowledgeWildcardResources } from '../private/nag';
import { tagRole } from '../private/role-tag';
import { storeObjectArns } from '../private/store-layout';
import { trustPolicyYaml } from '../private/trust-policy-yaml';
import { propError } from '../private/validation';
import { renderIntrinsics, renderIntrinsicText } from '../shared/cfn-intrinsics';

const TYPE = 'ModelAttestationPipeline';
/** The predicate type of the seal build's enclave-seal attestation (docs/ENCLAVE.md). */
const ENCLAVE_SEAL_PREDICATE = 'https://modelseal.dev/enclave-seal/v1';

/**
 * What the user chooses for the pipeline's {@link EnclaveServingTier} (`ModelAttestationPipelineProps.enclaveServing`);
 * the rest comes from the pipeline: the weights key, the store, the sealed weights (the runner's staging bucket under
 * `runner.sealedWeightsPrefix`), the trust policy and its signing keys, and the sealed-weights policy that demands the
 * enclave-seal attestation for `enclaveMeasurements`.
 */
export interface EnclaveServingOptions {
  /**
   * The VPC of the hosts and the load balancer: private subnets that reach S3, KMS and Session Manager (VPC endpoints
   * or NAT). The runner's own VPC is not used: its endpoints admit only the builds' calls and its DNS Firewall only
   * the builds' domains.
   *
   * @default - the pipeline's `vpc`; one of them is required
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The private subnets of the hosts and the load balancer.
   *
   * @default - the VPC's private subnets with egress, or its isolated subnets when it has none
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The train build number whose sealed weights the tier serves (the folder `<runner.sealedWeightsPrefix><number>/`,
   * the version `refs/<modelName>/<number>`): digits only. Change it to roll out a new version.
   */
  readonly sealedWeightsVersion: string;

  /** The bucket holding the signed enclave image (the staging bucket takes writes from the builds only). */
  readonly enclaveImageBucket: s3.IBucket;

  /** The prefix of the enclave image in `enclaveImageBucket` (ends with `/`). */
  readonly enclaveImagePrefix: string;

  /**
   * The enclave image file (EIF) in that folder.
   *
   * @default 'image.eif'
   */
  readonly enclaveImageFile?: string;

  /**
   * The OMS root digest (`sha256:<hex>`) the enclave image folder must have.
   *
   * @default - any image folder that meets the trust policy
   */
  readonly enclaveImageDigest?: string;

  /**
   * The OMS root digest (`sha256:<hex>`) of the sealed weights folder.
   *
   * @default - any sealed weights that meet the sealed-weights policy
   */
  readonly sealedWeightsDigest?: string;

  /**
   * An enclave-capable instance type (docs/ENCLAVE.md).
   *
   * @default m6i.xlarge
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * vCPUs given to the enclave.
   *
   * @default 2
   */
  readonly enclaveCpuCount?: number;

  /**
   * Memory given to the enclave, in MiB.
   *
   * @default 8192
   */
  readonly enclaveMemoryMib?: number;

  /**
   * The size of the enclave image in MiB, to check `enclaveMemoryMib` at synth.
   *
   * @default - not checked
   */
  readonly enclaveImageSizeMib?: number;

  /**
   * The size of the sealed weights in MiB, to check `enclaveMemoryMib` at synth.
   *
   * @default - not checked
   */
  readonly sealedWeightsSizeMib?: number;

  /**
   * The fewest hosts.
   *
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * The most hosts.
   *
   * @default - minCapacity
   */
  readonly maxCapacity?: number;

  /**
   * The port of the internal load balancer's TCP listener.
   *
   * @default 443
   */
  readonly listenerPort?: number;

  /**
   * The port the model server listens on inside the enclave.
   *
   * @default 8443
   */
  readonly servingPort?: number;
}

/** The folder, inside the cloud assembly (`cdk.out`), that holds the YAML written for review and GitOps. */
export const REVIEW_OUTPUT_DIR = 'modelseal';

/**
 * Properties of a {@link ModelAttestationPipeline}: one object for the whole flow, from build to admission.
 */
export interface ModelAttestationPipelineProps {
  /**
   * The parties that sign or revoke models, each with its own key (and, in AWS, its own signer role). At least one;
   * the build runner signs as `buildSigner`.
   */
  readonly signers: SignerParty[];

  /**
   * Which parties must sign one and the same manifest for a model to be admitted.
   *
   * @default - every party that is not only a revoker (`allOf`)
   */
  readonly requiredSigners?: SignerRequirement;

  /**
   * Names of the parties whose revocation records deny a model (give revocation to a party that does not sign, so
   * one compromised key cannot both approve and withdraw).
   *
   * @default - none
   */
  readonly revokers?: string[];

  /**
   * Attestations every admitted model must carry.
   *
   * @default - the SLSA provenance, and the AI SBOM when `modelCard` is given, signed by `buildSigner`
   */
  readonly requiredAttestations?: AttestationRequirement[];

  /**
   * The party the build runner signs as: its key must be in AWS KMS (`withNewKey` or `withExistingKey`).
   *
   * @default - the first of `signers`
   */
  readonly buildSigner?: string;

  /**
   * The attestation store.
   *
   * @default - a new `AttestationStore` (COMPLIANCE mode, `storeRetentionDays`)
   */
  readonly store?: IAttestationStore;

  /**
   * Retention of a new store, in days (COMPLIANCE mode: no one can shorten it).
   *
   * @default 3650
   */
  readonly storeRetentionDays?: number;

  /** The model's name (in-toto subject, `refs/<name>/<version>`). */
  readonly modelName: string;

  /** The build image, pinned by digest (`repo@sha256:<64 hex>`). */
  readonly buildImage: string;

  /** The commands that train or package the model (see `HardenedBuildRunnerProps.buildCommands`). */
  readonly buildCommands: string[];

  /**
   * A digest-pinned image for the seal build (`<account>.dkr.ecr.<region>.amazonaws.com/<name>@sha256:<64 hex>`, with
   * Node.js 20 or newer, `sha256sum` and the AWS CLI; see `HardenedBuildRunnerProps.sealImage`). CodeBuild's curated
   * images cannot be referenced by digest: only this closes `modelseal review`'s `unpinned-image` finding on the seal
   * project, and puts the seal image's digest in the SLSA provenance.
   *
   * @default - the AWS-managed `aws/codebuild/amazonlinux-x86_64-standard:5.0`, named by tag (a residual risk
   *   `modelseal review` reports)
   */
  readonly sealImage?: string;

  /**
   * The model card the seal build makes the AI SBOM attestation from (see `HardenedBuildRunnerProps.modelCard`).
   *
   * @default - no model card: no SBOM attestation, and the default `requiredAttestations` demand only the provenance
   */
  readonly modelCard?: ModelCard;

  /**
   * The enclave tier's model-weights key: the seal build also seals the weights for it (`modelseal seal-weights`)
   * and publishes the enclave-seal attestation. Serve them with `enclaveServing` (the pipeline creates the
   * `EnclaveServingTier`), or with a tier of your own given this pipeline's `trustPolicy`, `store`,
   * `runner.stagingBucket` and `runner.sealedWeightsPrefix` (docs/ENCLAVE.md).
   *
   * @default - no sealing: no enclave tier
   */
  readonly weightsKey?: IModelWeightsKey;

  /**
   * The PCRs of the enclave image the sealed weights are for (with `weightsKey`).
   *
   * @default - none; required with `weightsKey`
   */
  readonly enclaveMeasurements?: EnclaveImageMeasurements;

  /**
   * Serve the sealed weights from an {@link EnclaveServingTier} the pipeline creates (`enclaveTier`): needs
   * `weightsKey` and `enclaveMeasurements`.
   *
   * @default - no enclave tier
   */
  readonly enclaveServing?: EnclaveServingOptions;

  /**
   * The bucket of the training inputs (read only).
   *
   * @default - no inputs
   */
  readonly modelSourceBucket?: s3.IBucket;

  /**
   * The prefix of the training inputs.
   *
   * @default - the whole bucket
   */
  readonly modelSourcePrefix?: string;

  /**
   * The VPC of the build runner (and of a new EKS cluster).
   *
   * @default - the runner makes an isolated VPC with endpoints only; a new cluster makes its own
   */
  readonly vpc?: ec2.IVpc;

  /** The verifier image (`modelseal serve`, also running `modelseal pull` as the init container), pinned by digest. */
  readonly verifierImage: VerifierImage;

  /** The PEM certificate of the CA that issued the verifier's serving certificate (`modelseal tls init`). */
  readonly verifierCaCertificatePem: string;

  /**
   * The admission engine.
   *
   * @default AdmissionEngine.KYVERNO
   */
  readonly admissionEngine?: AdmissionEngine;

  /**
   * Enforce, or only warn/audit while you roll out.
   *
   * @default AdmissionMode.ENFORCE
   */
  readonly admissionMode?: AdmissionMode;

  /**
   * The EKS cluster (`aws-eks-v2`) the verifier and policies are applied to. An imported cluster needs a kubectl
   * provider (`KubectlClusterImport`).
   *
   * @default - a new cluster when `kubectlLayer` is given; otherwise no cluster: the Kubernetes objects are only
   * written as YAML for GitOps (`cdk.out/modelseal/<stack>/`)
   */
  readonly cluster?: eks.ICluster;

  /**
   * A kubectl Lambda layer matching `clusterVersion` (e.g. `@aws-cdk/lambda-layer-kubectl-v35`): with it and no
   * `cluster`, the pipeline creates an EKS cluster. The library depends on no layer package.
   *
   * @default - no new cluster
   */
  readonly kubectlLayer?: lambda.ILayerVersion;

  /**
   * The Kubernetes version of a new cluster.
   *
   * @default eks.KubernetesVersion.V1_35
   */
  readonly clusterVersion?: eks.KubernetesVersion;

  /**
   * CIDRs the API server reaches the verifier from; needed with the NATIVE engine.
   *
   * @default - none
   */
  readonly controlPlaneCidrs?: string[];

  /**
   * Namespaces never checked besides the system ones.
   *
   * @default - none
   */
  readonly exemptNamespaces?: string[];
}

function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

/**
 * The whole ModelSeal flow in one construct: one HSM-backed signing key and signer role per party, the append-only
 * attestation store, the hardened build runner that signs as the build's party, and admission in EKS (or YAML for
 * GitOps) with a trust policy derived from the same props, so infrastructure and policy cannot drift apart.
 *
 * The trust policy names each party's key by ARN. The ARNs are tokens at synth: in the EKS manifest the verifier's
 * ConfigMap carries them as CloudFormation values resolved at deploy; the copy written for review and GitOps
 * (`cdk.out/modelseal/<stack>/trust-policy.yaml` and `kubernetes.yaml`) shows each unresolved value as the resource it
 * comes from, `${LogicalId.Attribute}` (the stack outputs give their values).
 *
 * @see https://github.com/modelseal/modelseal/blob/main/docs/PIPELINE.md
 */
export class ModelAttestationPipeline extends Construct {
  /** The attestation store. */
  public readonly store: IAttestationStore;

  /** The build runner (signs as `buildSigner`). */
  public readonly runner: HardenedBuildRunner;

  /** The admission on EKS, when there is a cluster. */
  public readonly admission?: ModelAdmission;

  /** The cluster, new or given. */
  public readonly cluster?: eks.ICluster;

  /** The trust policy (YAML), with the key ARNs as tokens that CloudFormation resolves. */
  public readonly trustPolicy: string;

  /** The verifier image. */
  public readonly verifierImage: VerifierImage;

  /** The verifier's Service name and namespace. */
  public readonly verifierServiceName: string;

  /** The verifier's namespace. */
  public readonly verifierNamespace: string;

  /** The cdk8s chart with the verifier and the policy. */
  public readonly chart: cdk8s.Chart;

  /** The enclave serving tier, with `enclaveServing`. */
  public readonly enclaveTier?: EnclaveServingTier;

  /**
   * The trust policy (YAML) the enclave tier verifies the sealed weights against: the pipeline's, plus the seal
   * build's enclave-seal attestation naming the enclave image (PCR8, or PCR0 for an unsigned image). With
   * `enclaveServing` only.
   */
  public readonly sealedWeightsTrustPolicy?: string;

  private readonly keys = new Map<string, IModelSigningKey>();
  private readonly roles = new Map<string, iam.Role>();
  private readonly extraCharts: { id: string; chart: cdk8s.Chart }[] = [];
  private readonly constraintsChart?: cdk8s.Chart;
  private readonly admissionManifest?: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: ModelAttestationPipelineProps) {
    super(scope, id);
    const names = props.signers.map((s) => s.name);
    if (names.length === 0) throw propError(this, TYPE, 'signers', 'must name at least one party, got none');
    for (const n of names) {
      if (!SIGNER_NAME.test(n)) throw propError(this, TYPE, 'signers', `names must match ${SIGNER_NAME.source}, got '${n}'`);
    }
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw propError(this, TYPE, 'signers', `names must be unique, got '${dup}' twice`);
    const known = (prop: string, list: string[]) => {
      for (const n of list) if (!names.includes(n)) throw propError(this, TYPE, prop, `names '${n}', which is not one of signers (${names.join(', ')})`);
    };
    const revokers = props.revokers ?? [];
    known('revokers', revokers);
    const buildSigner = props.buildSigner ?? names[0];
    known('buildSigner', [buildSigner]);
    const required = props.requiredSigners ?? SignerRequirement.allOf(names.filter((n) => !revokers.includes(n) || n === buildSigner));
    known('requiredSigners', required.names);
    if (required.names.length === 0) throw propError(this, TYPE, 'requiredSigners', 'must name at least one party, got none');
    if (required.count !== undefined && (!Number.isInteger(required.count) || required.count < 1 || required.count > required.names.length)) {
      throw propError(this, TYPE, 'requiredSigners', `atLeast must be between 1 and ${required.names.length}, got ${required.count}`);
    }
    const attestations = props.requiredAttestations ?? [
      ...(props.modelCard ? [AttestationRequirement.sbom([buildSigner])] : []),
      AttestationRequirement.provenance([buildSigner]),
    ];
    for (const a of attestations) known(`requiredAttestations (${a.predicateType})`, a.signers);

    this.store = props.store ?? new AttestationStore(this, 'Store', { retentionDays: props.storeRetentionDays });

    // one key per party with a key in AWS; logical IDs derive from the party name and never from its position
    for (const party of props.signers) {
      if (party.publicKeyPem !== undefined) {
        if (!/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(party.publicKeyPem)) {
          throw propError(this, TYPE, `signers (${party.name})`, 'publicKeyPem must be an SPKI PEM public key (-----BEGIN PUBLIC KEY-----)');
        }
        continue;
      }
      this.keys.set(party.name, party.existingKey ?? new ModelSigningKey(this, `${pascal(party.name)}SigningKey`, {
        keySpec: party.options.keySpec,
        aliasName: party.options.aliasName ?? `alias/modelseal/${party.name}`,
        description: `ModelSeal signing key of the '${party.name}' party`,
      }));
    }
    const buildKey = this.keys.get(buildSigner);
    if (!buildKey) throw propError(this, TYPE, 'buildSigner', `'${buildSigner}' signs with a public key outside AWS; the build runner needs a party with a KMS key`);

    this.runner = new HardenedBuildRunner(this, 'Runner', {
      signingKey: buildKey,
      store: this.store,
      buildImage: props.buildImage,
      buildCommands: props.buildCommands,
      sealImage: props.sealImage,
      modelName: props.modelName,
      modelCard: props.modelCard,
      weightsKey: props.weightsKey,
      enclaveMeasurements: props.enclaveMeasurements,
      modelSourceBucket: props.modelSourceBucket,
      modelSourcePrefix: props.modelSourcePrefix,
      vpc: props.vpc,
    });

    // every other party with a key in AWS gets its own signer role: sign with its key, read the store, publish
    const attesters = new Set([...required.names, ...attestations.flatMap((a) => a.signers)]);
    for (const party of props.signers) {
      const key = this.keys.get(party.name);
      if (!key || party.name === buildSigner) continue;
      const role = new iam.Role(this, `${pascal(party.name)}SignerRole`, {
        assumedBy: party.options.assumedBy ?? new iam.AccountRootPrincipal(),
        description: `ModelSeal '${party.name}' party: signs with its key, reads the attestation store${attesters.has(party.name) ? ', publishes co-signatures' : ''}${revokers.includes(party.name) ? ', publishes revocations' : ''}`,
        maxSessionDuration: Duration.hours(1),
      });
      key.grantSign(role);
      this.store.grantRead(role);
      if (attesters.has(party.name)) this.store.grantPublish(role);
      if (revokers.includes(party.name)) this.store.grantRevoke(role);
      this.roles.set(party.name, role);
      const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
      if (policy) {
        Validations.of(policy).acknowledge({
          id: 'NIST.800.53.R5-IAMNoInlinePolicy',
          reason: `The '${party.name}' signer role's grants name this key and this store only; a managed policy would be reused by nothing.`,
        });
        acknowledgeWildcardResources(policy, storeObjectArns(this.store.bucket, this.store.prefix),
          'Attestation objects are content-addressed under each store prefix and unknown until written or read; the grant covers only those prefixes.');
      }
    }

    const doc: Record<string, unknown> = {
      apiVersion: 'modelseal.dev/v1',
      kind: 'TrustPolicy',
      metadata: { name: props.modelName },
      signers: props.signers.map((p) => (p.publicKeyPem !== undefined
        ? { name: p.name, publicKey: p.publicKeyPem.trim() + '\n' }
        : { name: p.name, kmsKeyArn: this.keys.get(p.name)!.keyArn })),
      require: required.count === undefined ? { allOf: required.names } : { atLeast: required.count, of: required.names },
      ...(attestations.length > 0 ? { attestations: attestations.map((a) => ({ predicateType: a.predicateType, signers: a.signers })) } : {}),
      ...(revokers.length > 0 ? { revokers } : {}),
    };
    this.trustPolicy = trustPolicyYaml(doc);
    this.verifierImage = props.verifierImage;

    if (props.enclaveServing) {
      const serving = props.enclaveServing;
      for (const prop of ['weightsKey', 'enclaveMeasurements'] as const) {
        if (!props[prop]) throw propError(this, TYPE, 'enclaveServing', `needs ${prop}: the tier serves the weights the seal build sealed with weightsKey for enclaveMeasurements`);
      }
      if (Token.isUnresolved(serving.sealedWeightsVersion) || !/^[0-9]+$/.test(serving.sealedWeightsVersion ?? '')) {
        throw propError(this, TYPE, 'enclaveServing.sealedWeightsVersion', `must be a train build number (digits, known at synth), got ${JSON.stringify(serving.sealedWeightsVersion)}`);
      }
      const vpc = serving.vpc ?? props.vpc;
      if (!vpc) {
        throw propError(this, TYPE, 'enclaveServing.vpc', 'is required (or the pipeline\'s vpc): the runner\'s own VPC admits only the builds\' calls at its endpoints and DNS Firewall, so the hosts need a VPC that reaches S3, KMS and Session Manager');
      }
      const m = props.enclaveMeasurements!;
      const [pcr, value] = m.pcr8 !== undefined ? ['PCR8', m.pcr8] : ['PCR0', m.pcr0];
      this.sealedWeightsTrustPolicy = trustPolicyYaml({
        ...doc,
        attestations: [
          ...((doc.attestations as unknown[] | undefined) ?? []),
          {
            predicateType: ENCLAVE_SEAL_PREDICATE,
            signers: [buildSigner],
            conditions: [{ name: 'enclave-image', expression: `predicate.enclave.pcrs.${pcr} == '${value.toLowerCase()}'`, message: `sealed for another enclave image (${pcr})` }],
          },
        ],
      });
      this.enclaveTier = new EnclaveServingTier(this, 'EnclaveTier', {
        vpc,
        vpcSubnets: serving.vpcSubnets,
        weightsKey: props.weightsKey!,
        store: this.store,
        trustPolicy: this.trustPolicy,
        sealedWeightsTrustPolicy: this.sealedWeightsTrustPolicy,
        trustPolicySigningKeys: [...this.keys.values()],
        artifactsBucket: this.runner.stagingBucket,
        sealedWeightsPrefix: `${this.runner.sealedWeightsPrefix}${serving.sealedWeightsVersion}/`,
        enclaveImageBucket: serving.enclaveImageBucket,
        enclaveImagePrefix: serving.enclaveImagePrefix,
        enclaveImageFile: serving.enclaveImageFile,
        enclaveImageDigest: serving.enclaveImageDigest,
        sealedWeightsDigest: serving.sealedWeightsDigest,
        instanceType: serving.instanceType,
        enclaveCpuCount: serving.enclaveCpuCount,
        enclaveMemoryMib: serving.enclaveMemoryMib,
        enclaveImageSizeMib: serving.enclaveImageSizeMib,
        sealedWeightsSizeMib: serving.sealedWeightsSizeMib,
        minCapacity: serving.minCapacity,
        maxCapacity: serving.maxCapacity,
        listenerPort: serving.listenerPort,
        servingPort: serving.servingPort,
      });
    }

    const engine = props.admissionEngine ?? AdmissionEngine.KYVERNO;
    this.cluster = props.cluster ?? (props.kubectlLayer ? this.newCluster(props) : undefined);
    if (this.cluster) {
      this.admission = new ModelAdmission(this, 'Admission', {
        cluster: this.cluster,
        engine,
        store: this.store,
        image: props.verifierImage,
        trustPolicy: this.trustPolicy,
        verificationKeys: [...this.keys].map(([name, k]) => kms.Key.fromKeyArn(this, `${pascal(name)}VerificationKey`, k.keyArn)),
        caCertificatePem: props.verifierCaCertificatePem,
        mode: props.admissionMode,
        controlPlaneCidrs: props.controlPlaneCidrs,
        exemptNamespaces: props.exemptNamespaces,
      });
      this.chart = this.admission.chart;
      this.admissionManifest = this.admission.manifest;
      this.verifierServiceName = this.admission.verifier.name;
      this.verifierNamespace = this.admission.verifier.namespace;
    } else {
      if (engine === AdmissionEngine.NATIVE && (props.controlPlaneCidrs ?? []).length === 0) {
        throw propError(this, TYPE, 'controlPlaneCidrs', 'must name the API server\'s CIDRs with the NATIVE engine (the API server calls the verifier), got none');
      }
      const charts = renderAdmissionCharts({
        engine,
        image: props.verifierImage,
        storeUri: this.store.storeUri,
        trustPolicy: this.trustPolicy,
        caCertificatePem: props.verifierCaCertificatePem,
        controlPlaneCidrs: props.controlPlaneCidrs,
        cacheTtl: cdk8s.Duration.seconds(60),
        deadline: cdk8s.Duration.seconds(2),
        webhookTimeout: cdk8s.Duration.seconds(5),
        exemptNamespaces: props.exemptNamespaces,
        mode: props.admissionMode,
      });
      this.chart = charts.chart;
      this.constraintsChart = charts.constraintsChart;
      this.verifierServiceName = charts.verifier.name;
      this.verifierNamespace = charts.verifier.namespace;
    }

    this.outputs(props, buildSigner);
    this.writeForReview();
  }

  /**
   * What a workload's verify-on-pull needs (`ModelLoadVerification`): the verifier image, the store and the trust
   * policy of this pipeline.
   */
  public get loadVerificationOptions(): ModelLoadVerificationOptions {
    return { image: this.verifierImage, storeUri: this.store.storeUri, trustPolicy: this.trustPolicy };
  }

  /** The signing key of a party with a key in AWS. */
  public signingKey(party: string): IModelSigningKey {
    const key = this.keys.get(party);
    if (!key) throw propError(this, TYPE, `signingKey('${party}')`, `names no party with a KMS key; parties with keys: ${[...this.keys.keys()].join(', ')}`);
    return key;
  }

  /** The signer role of a party other than the build's (undefined for the build's party and public-key parties). */
  public signerRole(party: string): iam.IRole | undefined {
    return this.roles.get(party);
  }

  /**
   * Adds a cdk8s chart of workloads (e.g. model servers with `ModelLoadVerification`): applied to the cluster after the
   * admission objects, so the policies are in force before the first workload, and written with the other YAML.
   *
   * Call it after every object is in the chart: the chart is serialized here.
   *
   * @param id the id of the manifest and the YAML file name (`<id>.yaml`)
   */
  public addWorkloads(id: string, chart: cdk8s.Chart): void {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(id) || this.extraCharts.some((c) => c.id === id)) {
      throw propError(this, TYPE, `addWorkloads('${id}')`, 'id must be a unique name of letters, digits and -');
    }
    this.extraCharts.push({ id, chart });
    if (this.cluster) {
      const manifest = new eks.KubernetesManifest(this, `${pascal(id)}Manifest`, { cluster: this.cluster, manifest: chart.toJson() });
      if (this.admissionManifest) manifest.node.addDependency(this.admissionManifest);
    }
  }

  private newCluster(props: ModelAttestationPipelineProps): eks.Cluster {
    const flowLogGroupName = `/modelseal/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}/cluster-flow-logs`;
    const stack = Stack.of(this);
    // written out, not CDK's default (which gives the account root kms:*): administration, use through EKS only, and
    // CloudWatch Logs for the flow log group only
    const clusterKey = new kms.Key(this, 'ClusterKey', {
      description: 'Envelope encryption of the EKS cluster\'s Kubernetes Secrets, and of its VPC flow logs',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AllowKeyAdministration', principals: [new iam.AccountRootPrincipal()], actions: SYMMETRIC_KEY_ADMIN_ACTIONS, resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'AllowUseThroughEks',
            principals: [new iam.AccountRootPrincipal()],
            actions: CLUSTER_KEY_EKS_ACTIONS,
            resources: ['*'],
            conditions: { StringEquals: { 'kms:CallerAccount': stack.account, 'kms:ViaService': `eks.${stack.region}.amazonaws.com` } },
          }),
          new iam.PolicyStatement({
            sid: 'AllowCloudWatchLogs',
            principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
            actions: LOGS_KEY_ACTIONS,
            resources: ['*'],
            conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${flowLogGroupName}` } },
          }),
        ],
      }),
    });
    tagRole(clusterKey, 'cluster-key');
    // nodes and the kubectl handler in private subnets; the public subnets hold only the NAT gateways
    let vpc = props.vpc;
    if (!vpc) {
      const own = new ec2.Vpc(this, 'ClusterVpc', {
        maxAzs: 2,
        natGateways: 2,
        restrictDefaultSecurityGroup: false,
        subnetConfiguration: [
          { name: 'nat', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
          { name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        ],
      });
      own.addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'ClusterVpcFlowLogs', {
          logGroupName: flowLogGroupName, encryptionKey: clusterKey, retention: logs.RetentionDays.ONE_YEAR,
        })),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
      vpc = own;
    }
    const cluster = new eks.Cluster(this, 'Cluster', {
      version: props.clusterVersion ?? eks.KubernetesVersion.V1_35,
      kubectlProviderOptions: { kubectlLayer: props.kubectlLayer!, privateSubnets: vpc.privateSubnets },
      secretsEncryptionKey: clusterKey,
      vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      endpointAccess: eks.EndpointAccess.PRIVATE,
      clusterLogging: [eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT, eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER, eks.ClusterLoggingTypes.SCHEDULER],
    });
    acknowledgeClusterFindings(cluster, props.vpc ? undefined : vpc);
    return cluster;
  }

  private outputs(props: ModelAttestationPipelineProps, buildSigner: string): void {
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('StoreBucketName', this.store.bucketName, 'The attestation store bucket (append-only)');
    out('StoreUri', this.store.storeUri, 'The store URI for --store');
    for (const [name, key] of this.keys) {
      out(`${pascal(name)}SigningKeyArn`, key.keyArn, `The '${name}' party's signing key (kmsKeyArn in the trust policy)`);
      if (key instanceof ModelSigningKey) out(`${pascal(name)}SigningKeyAlias`, key.aliasName, `The '${name}' party's key alias`);
      const role = this.roles.get(name);
      if (role) out(`${pascal(name)}SignerRoleArn`, role.roleArn, `The role the '${name}' party signs${(props.revokers ?? []).includes(name) ? ' and revokes' : ''} with`);
    }
    out('TrainProjectName', this.runner.trainProject.projectName, 'The train build (your image and commands; it never signs)');
    out('SealProjectName', this.runner.sealProject.projectName, `The seal build (ModelSeal only: signs as '${buildSigner}', attests, publishes)`);
    out('VerifierService', `${this.verifierServiceName}.${this.verifierNamespace}.svc`, 'The verifier Service (HTTPS 443)');
    out('TrustPolicyConfigMap', `${this.verifierNamespace}/${this.verifierServiceName}-policy`, 'The ConfigMap the verifier reads its trust policy from (key policy.yaml)');
    if (this.enclaveTier) {
      out('EnclaveLoadBalancerDnsName', this.enclaveTier.loadBalancer.loadBalancerDnsName, 'The enclave tier\'s internal load balancer (TLS ends inside the enclave)');
      out('EnclaveSealedWeightsUri', `s3://${this.runner.stagingBucket.bucketName}/${this.runner.sealedWeightsPrefix}${props.enclaveServing!.sealedWeightsVersion}/`, 'The sealed weights the enclave tier serves');
    }
    if (this.cluster && !props.cluster) out('ClusterName', this.cluster.clusterName, 'The EKS cluster');
  }

  /** Writes the trust policy and the Kubernetes objects, each unresolved value as `${LogicalId.Attribute}`. */
  private writeForReview(): void {
    attachCustomSynthesis(this, {
      onSynthesize: (session) => {
        const stack = Stack.of(this);
        const dir = path.join(session.outdir, REVIEW_OUTPUT_DIR, stack.artifactId);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'trust-policy.yaml'), renderIntrinsicText(stack.resolve(this.trustPolicy)));
        const charts = [
          { id: 'admission', chart: this.chart },
          ...(this.constraintsChart ? [{ id: 'constraints', chart: this.constraintsChart }] : []),
          ...this.extraCharts,
        ];
        for (const { id, chart } of charts) {
          const objects = renderIntrinsics(stack.resolve(chart.toJson())) as unknown[];
          fs.writeFileSync(path.join(dir, `${id}.yaml`), objects.map((o) => cdk8s.Yaml.stringify(o)).join('---\n'));
        }
      },
    });
  }
}
