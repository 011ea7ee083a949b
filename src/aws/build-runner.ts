import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, Names, RemovalPolicy, Resource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as signer from 'aws-cdk-lib/aws-signer';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { IAttestationStore } from './attestation-store';
import {
  renderSealBuildSpec, renderTrainBuildSpec, SEAL_TRIGGER_VARIABLE, SEALED_WEIGHTS_FOLDER,
} from './buildspec';
import { ModelCard } from './model-card';
import {
  BUILD_LOG_ACTIONS,
  BUILD_START_ACTIONS,
  CODEBUILD_ENI_CREATE_ACTIONS,
  CODEBUILD_ENI_DELETE_ACTIONS,
  CODEBUILD_ENI_PERMISSION_ACTIONS,
  CODEBUILD_READ_ACTIONS,
  CODEBUILD_VPC_DESCRIBE_ACTIONS,
  ECR_PULL_ACTIONS,
  ECR_SCAN_ACTIONS,
  KEY_SIGN_ACTIONS,
  KEY_SIGNER_READ_ACTIONS,
  LOGS_KEY_ACTIONS,
  MODEL_SOURCE_READ_ACTIONS,
  PROJECT_CHANGE_ACTIONS,
  RUNNER_KEY_ACTIONS,
  RUNNER_KEY_ECR_ACTIONS,
  runnerKeyViaServices,
  SIGNER_SIGN_ACTIONS,
  STAGING_WRITE_ACTIONS,
  STORE_PUBLISH_ACTIONS,
  STORE_READ_BUCKET_ACTIONS,
  STORE_READ_OBJECT_ACTIONS,
  SYMMETRIC_KEY_ADMIN_ACTIONS,
  VERSION_LIST_ACTIONS,
  VERSION_READ_OBJECT_ACTIONS,
} from './perms';
import { PinnedBuildImage } from './private/pinned-image';
import { RunnerDnsFirewall, runnerDomainNames } from './private/runner-network';
import { IModelSigningKey } from './signing-key';
import { IModelWeightsKey } from './weights-key';
import { createAccessLogsBucket, deliverAccessLogs, HARDENED_BUCKET } from '../private/access-logs';
import { acknowledgeCdkHelperFunctions, acknowledgeWildcardResources } from '../private/nag';
import { checkPcrs } from '../private/pcr';
import { tagRole } from '../private/role-tag';
import { storeObjectArns } from '../private/store-layout';
import { checkIntRange, propError } from '../private/validation';
import { MODEL_NAME_RULE, modelNameProblem } from '../shared/model-name';
import { refFolder, WRITE_AUTHORITIES } from '../shared/store-layout';

const TYPE = 'HardenedBuildRunner';
const PINNED_IMAGE = /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)@sha256:[a-f0-9]{64}$/;
const ECR_REGISTRY = /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(?<name>.+)$/;
const PREFIX_LIST = /^pl-[a-f0-9]{8,17}$/;
/** CodeBuild's log stream prefixes: each role may write only its own project's streams. */
const TRAIN_STREAMS = 'train';
const SEAL_STREAMS = 'seal';
/** The IAM policy variable CodeBuild sets on a build's service-role session: the build's own ARN. */
const BUILD_ARN_VARIABLE = '${codebuild:buildArn}';

/**
 * Properties of a {@link HardenedBuildRunner}.
 */
export interface HardenedBuildRunnerProps {
  /** The key that signs the model; only the seal role may use it (`grantSign`). */
  readonly signingKey: IModelSigningKey;

  /** The store the bundles and attestations are published to; the seal role gets `grantPublish` and `grantSetRef(modelName)`. */
  readonly store: IAttestationStore;

  /**
   * The train image, pinned by digest: `<registry>/<repository>@sha256:<digest>`. It runs your `buildCommands` and
   * needs the AWS CLI (to download the inputs and stage the model); it runs no modelseal code.
   *
   * A private ECR image is pulled through the VPC endpoints with the train role. The seal step refuses a train build
   * that ran any other image (a StartBuild image override).
   */
  readonly buildImage: string;

  /**
   * Accept a train image referenced by tag. A tag can be moved to other bytes after review, so the provenance would
   * name an image nobody checked; opt out only for development (the provenance then records it with a warning).
   *
   * @default false
   */
  readonly allowUnpinnedBuildImage?: boolean;

  /**
   * Run the train build on a GPU (CodeBuild environment type `LINUX_GPU_CONTAINER`, the `LinuxGpuBuildImage` type).
   * The image must be in ECR; use a GPU compute type.
   *
   * @default false
   * @see https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html
   */
  readonly gpu?: boolean;

  /**
   * The commands that train or package the model into `modelPath`, run by the train build after the inputs are in
   * `inputs/`. They run in your image with the train role, which cannot sign, publish or touch the store.
   */
  readonly buildCommands: string[];

  /** The name of the model: the in-toto subject name and the `refs/<name>/<version>` reference (version: the train build number). */
  readonly modelName: string;

  /**
   * Where the build commands write the model, relative to the build's working directory; the whole directory is
   * staged and signed.
   *
   * @default 'model'
   */
  readonly modelPath?: string;

  /**
   * The model card the AI SBOM is built from: a file in your app or an object among the inputs, never one the
   * training writes.
   *
   * @default - no model card: the seal signs the model and its provenance, and no AI SBOM attestation (a trust policy
   * that requires one then denies the model)
   */
  readonly modelCard?: ModelCard;

  /**
   * The bucket holding the training inputs, read (never written) by the train build. It must be versioned: the seal
   * records the version of every input that was current when the train build started.
   *
   * @default - no inputs
   */
  readonly modelSourceBucket?: s3.IBucket;

  /**
   * The prefix of the training inputs in `modelSourceBucket`, e.g. `datasets/fraud/`.
   *
   * @default - the whole bucket
   */
  readonly modelSourcePrefix?: string;

  /**
   * Start a train build when the marker object `<modelSourcePrefix><startOnUploadMarker>` is written (an EventBridge
   * rule), so a build starts once a complete dataset is in place, not on every object. The marker's key reaches the
   * build as `MODELSEAL_SOURCE_KEY`.
   *
   * @default false
   */
  readonly startOnUpload?: boolean;

  /**
   * The marker object's name under `modelSourcePrefix`, written last after a complete upload.
   *
   * @default '_SUCCESS'
   */
  readonly startOnUploadMarker?: string;

  /**
   * For an imported `modelSourceBucket`: declare that its EventBridge notifications are on. The runner cannot check
   * or turn them on for a bucket it does not own, so `startOnUpload` needs this.
   *
   * @default false
   */
  readonly modelSourceEventBridgeEnabled?: boolean;

  /**
   * The VPC to run in. It must have isolated subnets (no route to an internet or NAT gateway); the builds use only
   * those. The runner adds no DNS Firewall to a VPC you pass.
   *
   * @default - a new VPC with two isolated subnets, no NAT or internet gateway, flow logs, and a Route 53 Resolver DNS
   * Firewall that resolves only the AWS service names the builds use
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The availability zones of the runner's own VPC (one isolated subnet in each), e.g. `['eu-west-1a', 'eu-west-1b']`:
   * choose zones where CodeBuild and every endpoint service the runner uses are offered.
   *
   * In an environment-agnostic stack the zones are written as given, with no lookup. In a stack with an explicit
   * `env`, CDK still checks them against the stack's zones, which it looks up: that needs AWS credentials at synth or
   * a `cdk.context.json` holding the answer (commit it), or a stack that overrides its `availabilityZones` getter.
   *
   * @default - two zones: `Fn::GetAZs` in an environment-agnostic stack, a context lookup in a stack with an `env`
   * @see https://docs.aws.amazon.com/cdk/v2/guide/context.html
   */
  readonly availabilityZones?: string[];

  /**
   * Create the VPC endpoints the builds use (S3 gateway; KMS, CloudWatch Logs, STS, CodeBuild, ECR api and dkr, and
   * AWS Signer with `servingImageSigning`), each with a policy that lists only what the builds call.
   *
   * In a VPC you pass, the S3 gateway endpoint and its restrictive policy would apply to every workload routed through
   * the isolated subnets' route tables, so endpoints are created there only when you ask; otherwise name the
   * endpoints' security group or prefix list (`endpointSecurityGroup`, `endpointPrefixListId`).
   *
   * @default - true for the runner's own VPC, false for a VPC you pass
   */
  readonly createVpcEndpoints?: boolean;

  /**
   * With a VPC you pass and no endpoints created here: the security group of that VPC's interface endpoints. The
   * builds may send HTTPS to it (never to the whole VPC CIDR).
   *
   * @default - none; one of endpointSecurityGroup, endpointPrefixListId is needed in that case
   */
  readonly endpointSecurityGroup?: ec2.ISecurityGroup;

  /**
   * With a VPC you pass and no endpoints created here: a prefix list holding the addresses of that VPC's interface
   * endpoints (e.g. a customer-managed prefix list). The builds may send HTTPS to it.
   *
   * @default - none; one of endpointSecurityGroup, endpointPrefixListId is needed in that case
   */
  readonly endpointPrefixListId?: string;

  /**
   * The ID of the AWS-managed S3 prefix list of the region (`com.amazonaws.<region>.s3`), for the HTTPS egress rule.
   *
   * @default - looked up at deploy time with `ec2:DescribePrefixLists` through CDK's `AwsCustomResource`, whose
   * function is a stack-wide singleton the runner does not own (acknowledge its cdk-nag findings in your stack, or
   * pass this to avoid it)
   */
  readonly s3PrefixListId?: string;

  /**
   * An RFC 3161 timestamp authority reachable inside the VPC, e.g. `https://tsa.internal.example/tsr`: the seal passes
   * it to `modelseal sign --timestamp-url`, the DNS Firewall allows its host name, and the seal security group may
   * reach it on the URL's port. Needs `timestampSecurityGroup` or `timestampPrefixListId`.
   *
   * @default - no timestamp
   * @see https://www.rfc-editor.org/rfc/rfc3161
   */
  readonly timestampUrl?: string;

  /**
   * The security group of the timestamp authority (its ingress must allow the seal security group).
   *
   * @default - none
   */
  readonly timestampSecurityGroup?: ec2.ISecurityGroup;

  /**
   * A prefix list holding the timestamp authority's addresses.
   *
   * @default - none
   */
  readonly timestampPrefixListId?: string;

  /**
   * The compute type of the train build (a GPU type with `gpu`).
   *
   * @default codebuild.ComputeType.LARGE
   */
  readonly computeType?: codebuild.ComputeType;

  /**
   * The compute type of the seal build, which downloads and hashes the whole model (its disk must hold it).
   *
   * @default codebuild.ComputeType.LARGE
   */
  readonly sealComputeType?: codebuild.ComputeType;

  /**
   * A digest-pinned image for the seal build instead of the AWS-managed CodeBuild image; it needs Node.js 20 or newer,
   * `sha256sum` and the AWS CLI. An ECR image is pulled with the seal role (its repository gets `ecr:BatchGetImage`
   * and the layer actions in the seal role's policy and in the runner's ECR endpoint policies; a repository in another
   * account must allow the seal role in its repository policy). CodeBuild's curated images cannot be referenced by
   * digest: with the default, the seal build runs whatever AWS publishes under that tag, and `modelseal review` reports
   * it (`unpinned-image`).
   *
   * @default - the AWS-managed `aws/codebuild/amazonlinux-x86_64-standard:5.0` with Node.js 20 (runtime-versions)
   */
  readonly sealImage?: string;

  /**
   * How long a train build may run; whole minutes, 5 to 2160.
   *
   * @default Duration.hours(8)
   */
  readonly timeout?: Duration;

  /**
   * How long a seal build may run; whole minutes, 5 to 2160.
   *
   * @default Duration.hours(2)
   */
  readonly sealTimeout?: Duration;

  /**
   * How long a build may wait in the queue; whole minutes, 5 to 480.
   *
   * @default Duration.hours(1)
   */
  readonly queuedTimeout?: Duration;

  /**
   * How many train builds (and seal builds) may run at once.
   *
   * @default 1
   */
  readonly concurrentBuildLimit?: number;

  /**
   * How long build logs are kept (for the log groups the runner creates).
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The log group of both builds (streams `train/...` and `seal/...`; each role may write only its own).
   *
   * @default - a new log group encrypted with the runner key
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * The key that encrypts the runner's logs, build artifacts and staged models. A key you pass must let the runner's
   * roles use it through S3 and CodeBuild, and CloudWatch Logs use it (its key policy is not changed here). The roles'
   * IAM policies allow `kms:Decrypt`, `kms:Encrypt` and `kms:GenerateDataKey` on it only with `kms:ViaService`
   * `s3.<region>.amazonaws.com` or `codebuild.<region>.amazonaws.com`: a build command cannot call KMS with it
   * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service,
   * https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-kms.html).
   *
   * @default - a new symmetric key with rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Create an ECR repository for the serving image (immutable tags, scan on push, KMS-encrypted) and an AWS Signer
   * profile (`Notation-OCI-SHA384-ECDSA`). A train build started with `SERVING_IMAGE_DIGEST=sha256:...` then gets that
   * image's digest and scan summary (the seal waits for the scan) in the SBOM, and every sealed model is co-signed
   * with the profile (`modelseal sign aws-signer`, published under `notation/`). Building and signing the image itself
   * (Notation) is your image pipeline's job: the runner has no Docker and no internet.
   *
   * @default false
   */
  readonly servingImageSigning?: boolean;

  /**
   * Seal the weights for the Nitro Enclave serving tier (`EnclaveServingTier`, docs/ENCLAVE.md). After signing the
   * model, the seal build runs `modelseal seal-weights` with a data key from this key (the seal role gets
   * `grantEncrypt`: `kms:GenerateDataKey`/`kms:Encrypt`, never `kms:Decrypt`), uploads the sealed files to the staging
   * bucket under `sealed/<modelName>/<train build number>/` ({@link HardenedBuildRunner.sealedWeightsPrefix}), and
   * publishes their signature and the enclave-seal attestation (`https://modelseal.dev/enclave-seal/v1`) to the store.
   * Needs `enclaveMeasurements`.
   *
   * @default - the weights are not sealed
   */
  readonly weightsKey?: IModelWeightsKey;

  /**
   * The measurements of the enclave image the weights are sealed for, as `nitro-cli build-enclave` prints them. They
   * are written into the seal buildspec (a StartBuild override cannot change them) and signed into the enclave-seal
   * attestation; PCR8 (and PCR0) must be among the values `weightsKey` lets decrypt, or the sealed weights could never
   * be opened (checked at synth).
   *
   * @default - none; required with `weightsKey`, refused without it
   */
  readonly enclaveMeasurements?: EnclaveImageMeasurements;

  /**
   * What happens to the logs, the runner key, the staging buckets and the serving-image repository when they leave
   * the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * A fixed IAM name for the seal role (the signing identity), 1 to 64 characters of `[A-Za-z0-9+=,.@_-]`. Needed when
   * `signingKey` is a `ModelSigningKey` of another stack (a shared key stack, a runner stack per team): the key policy
   * then names the role by its literal ARN instead of a reference, which would be a cyclic one. Role names are unique
   * per account: include the region if the stack is deployed in several.
   *
   * @default - a name generated by CloudFormation
   */
  readonly sealRoleName?: string;
}

/**
 * The measurements (platform configuration registers) of a Nitro Enclave image file, as `nitro-cli build-enclave`
 * and `nitro-cli describe-eif` print them: SHA-384 values, 96 hex characters each, never all zeros.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/set-up-attestation.html
 */
export interface EnclaveImageMeasurements {
  /** PCR0: the SHA-384 of the enclave image file. */
  readonly pcr0: string;
  /** PCR1: the SHA-384 of the Linux kernel and bootstrap. */
  readonly pcr1: string;
  /** PCR2: the SHA-384 of the application. */
  readonly pcr2: string;
  /**
   * PCR8: the SHA-384 of the image's signing certificate (signed images only).
   *
   * @default - an unsigned image (then `weightsKey` must bind PCR0)
   */
  readonly pcr8?: string;
}

/**
 * A hardened model build in two CodeBuild projects, at SLSA Build Level 3: training code never holds the signing
 * identity.
 *
 * - **train** runs your commands in your digest-pinned image with a role that can read the inputs and write the model
 *   only under its own build's prefix of the staging bucket (IAM's `${codebuild:buildArn}`); it cannot sign, cannot
 *   read or write the store, cannot start or change any build.
 * - **seal** starts only from an EventBridge rule on the train project's `SUCCEEDED` event, runs only ModelSeal's
 *   commands in an AWS-managed image, checks the CLI's SHA-256 before running it, reads the train build's facts from
 *   CodeBuild (`BatchGetBuilds`), the staged model's exact S3 versions as of the train end and the inputs' versions as
 *   of its start, then signs, attests the SBOM and the SLSA provenance, publishes and sets the reference. Its role is
 *   the only one with `grantSign`, `grantPublish` and `grantSetRef(modelName)`; no role here gets `grantRevoke`.
 *
 * Both run in isolated subnets that reach AWS only through VPC endpoints whose policies list what the builds call, and
 * (in the runner's own VPC) behind a DNS Firewall that resolves only those services' names.
 *
 * Why one construct rather than two public ones: the separation is only as strong as the wiring between the builds
 * (the staging bucket policy, the trigger, the seal's checks of the train project, image and buildspec). Exposed as
 * parts, a seal could be paired with a train project it does not check. One construct makes the safe wiring the only
 * one, and keeps the logical IDs of what was deployed before (runner key, role, log group, project).
 */
export class HardenedBuildRunner extends Resource implements ec2.IConnectable {
  /**
   * Acknowledges, in a stack you own, the cdk-nag findings on CDK's stack-wide helper functions a runner brings in:
   * the `AwsCustomResource` function behind the S3 prefix-list lookup (unless `s3PrefixListId` is given) and the
   * bucket-notification handler (`startOnUpload` on a bucket of this stack). The runner does not own them, so it
   * acknowledges nothing on them itself; call this once, after the runners are created.
   *
   * @param stack the stack that holds the runners
   */
  public static acknowledgeStackHelperFunctions(stack: Stack): void {
    acknowledgeCdkHelperFunctions(stack);
  }

  /** The train project: your image and commands. */
  public readonly trainProject: codebuild.IProject;
  /** The seal project: ModelSeal's commands only. */
  public readonly sealProject: codebuild.IProject;
  /** The train role, as a view that cannot be widened (`addToPrincipalPolicy` is a no-op on it). */
  public readonly trainRole: iam.IRole;
  /** The seal role (the signing identity), as a view that cannot be widened. */
  public readonly sealRole: iam.IRole;
  /** The versioned bucket the train build stages models in (`<build ARN>/model/`). */
  public readonly stagingBucket: s3.IBucket;
  /** The VPC the builds run in. */
  public readonly vpc: ec2.IVpc;
  /** The train build's security group (HTTPS egress to the endpoints and S3 only). */
  public readonly trainSecurityGroup: ec2.ISecurityGroup;
  /** The seal build's security group (HTTPS egress to the endpoints, S3 and the timestamp authority only). */
  public readonly sealSecurityGroup: ec2.ISecurityGroup;
  /** The log group of both builds. */
  public readonly logGroup: logs.ILogGroup;
  /** The key that encrypts the runner's logs, artifacts and staged models. */
  public readonly encryptionKey: kms.IKey;
  /** The serving-image repository, when `servingImageSigning` is on. */
  public readonly servingImageRepository?: ecr.IRepository;
  /** The AWS Signer profile that co-signs sealed models, when `servingImageSigning` is on. */
  public readonly signingProfile?: signer.ISigningProfile;
  /** The DNS Firewall rule group of the runner's own VPC. */
  public readonly dnsFirewallRuleGroup?: route53resolver.CfnFirewallRuleGroup;
  /** The train build's network connections (its security group): allow it to reach what your training needs. */
  public readonly connections: ec2.Connections;
  /**
   * With `weightsKey`: the staging-bucket prefix under which every seal build uploads the sealed weights, one folder
   * per train build number (`sealed/<modelName>/<number>/`, the version `refs/<modelName>/<number>` names). Give
   * `EnclaveServingTier` `artifactsBucket: runner.stagingBucket` and `sealedWeightsPrefix` this plus the number.
   * Undefined without `weightsKey`.
   */
  public readonly sealedWeightsPrefix?: string;

  private readonly trainRoleResource: iam.Role;
  private readonly sealRoleResource: iam.Role;
  private readonly sealTriggerRole: iam.Role;
  private readonly sealProjectName: string;
  private readonly sealTriggerRoleBaseName: string;
  private readonly uploadTriggerRole?: iam.Role;

  constructor(scope: Construct, id: string, props: HardenedBuildRunnerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // ---- validation ----------------------------------------------------------------------------------------------
    if (!props.buildCommands || props.buildCommands.length === 0 || props.buildCommands.every((c) => !c.trim())) {
      throw propError(this, TYPE, 'buildCommands', 'must hold at least one command that trains or packages the model, got none');
    }
    const image = props.buildImage;
    if (!pinned(image) && !props.allowUnpinnedBuildImage) {
      throw propError(this, TYPE, 'buildImage',
        `must be pinned by digest (<registry>/<repository>@sha256:<64 hex>), got '${image}': a tag can be moved to ` +
        'other bytes after review, so the provenance would name an image nobody checked (set allowUnpinnedBuildImage to accept a tag)');
    }
    if (props.sealImage !== undefined && !pinned(props.sealImage)) {
      throw propError(this, TYPE, 'sealImage', `must be pinned by digest (<registry>/<repository>@sha256:<64 hex>), got '${props.sealImage}'`);
    }
    if (Token.isUnresolved(image)) {
      throw propError(this, TYPE, 'buildImage', 'must be known at synth: the seal build compares the train build\'s image with it, byte for byte');
    }
    const ecrImage = ECR_REGISTRY.exec(image.split('@')[0].replace(/:[^/:]+$/, ''));
    if (props.gpu && !ecrImage) {
      throw propError(this, TYPE, 'buildImage', `must be an ECR image for a GPU build (gpu: true), got '${image}'`);
    }
    const nameProblem = Token.isUnresolved(props.modelName) ? undefined : modelNameProblem(props.modelName);
    if (nameProblem) {
      // the same rule `modelseal ref set` applies at the end of every seal
      throw propError(this, TYPE, 'modelName', `'${props.modelName}' ${nameProblem}; ${MODEL_NAME_RULE}`);
    }
    checkIntRange(this, TYPE, 'concurrentBuildLimit', props.concurrentBuildLimit, 1, 1000);
    const timeout = wholeMinutes(this, 'timeout', props.timeout ?? Duration.hours(8), 5, 2160);
    const sealTimeout = wholeMinutes(this, 'sealTimeout', props.sealTimeout ?? Duration.hours(2), 5, 2160);
    const queuedTimeout = wholeMinutes(this, 'queuedTimeout', props.queuedTimeout ?? Duration.hours(1), 5, 480);
    for (const [prop, value] of [['s3PrefixListId', props.s3PrefixListId], ['endpointPrefixListId', props.endpointPrefixListId], ['timestampPrefixListId', props.timestampPrefixListId]] as const) {
      if (value !== undefined && !Token.isUnresolved(value) && !PREFIX_LIST.test(value)) {
        throw propError(this, TYPE, prop, `must be a prefix list id like pl-6ca54005, got '${value}'`);
      }
    }
    if (props.startOnUpload && !props.modelSourceBucket) {
      throw propError(this, TYPE, 'startOnUpload', 'needs modelSourceBucket: the rule starts a build when the marker object lands there');
    }
    const marker = props.startOnUploadMarker ?? '_SUCCESS';
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(marker)) {
      throw propError(this, TYPE, 'startOnUploadMarker', `must be one file name of A-Z a-z 0-9 . _ - (up to 100 characters), got '${marker}'`);
    }
    if (props.modelCard?.inputName && !props.modelSourceBucket) {
      throw propError(this, TYPE, 'modelCard', `is ModelCard.fromInput('${props.modelCard.inputName}'), which needs modelSourceBucket`);
    }
    const tsa = props.timestampUrl === undefined ? undefined : parseTimestampUrl(this, props.timestampUrl);
    if (tsa && !props.timestampSecurityGroup && !props.timestampPrefixListId) {
      throw propError(this, TYPE, 'timestampUrl', 'needs timestampSecurityGroup or timestampPrefixListId: the seal build may reach nothing else');
    }
    if (!tsa && (props.timestampSecurityGroup || props.timestampPrefixListId)) {
      throw propError(this, TYPE, 'timestampSecurityGroup', 'and timestampPrefixListId apply only with timestampUrl');
    }
    const enclavePcrs = this.checkSealing(props);
    if (props.vpc && props.availabilityZones) {
      throw propError(this, TYPE, 'availabilityZones', 'applies only to the runner\'s own VPC; the VPC you pass has its zones already (drop one of vpc, availabilityZones)');
    }
    this.checkZones(props.availabilityZones);
    const createEndpoints = props.createVpcEndpoints ?? !props.vpc;
    if (props.vpc && !createEndpoints && !props.endpointSecurityGroup && !props.endpointPrefixListId) {
      throw propError(this, TYPE, 'vpc',
        'is yours and createVpcEndpoints is off, so name its endpoints: endpointSecurityGroup or endpointPrefixListId (the builds never get HTTPS to the whole VPC CIDR)');
    }
    if (createEndpoints && (props.endpointSecurityGroup || props.endpointPrefixListId)) {
      throw propError(this, TYPE, 'endpointSecurityGroup', 'and endpointPrefixListId apply only to a VPC you pass with createVpcEndpoints: false');
    }

    // ---- names (the trust policies name the projects and rules they serve, so the names are fixed here) ----------
    const base = Names.uniqueResourceName(this, { maxLength: 200, separator: '-' });
    const trainProjectName = `${base}-train`;
    const sealProjectName = `${base}-seal`;
    this.sealProjectName = sealProjectName;
    // the trigger role's name is fixed (+ the region: role names are per account) so an SCP can name it literally
    this.sealTriggerRoleBaseName = `${Names.uniqueResourceName(this, { maxLength: 36, separator: '-' })}-seal-trigger`;
    const projectArn = (name: string) => stack.formatArn({ service: 'codebuild', resource: 'project', resourceName: name });
    const trainProjectArn = projectArn(trainProjectName);
    const sealProjectArn = projectArn(sealProjectName);

    // ---- key and logs --------------------------------------------------------------------------------------------
    const logPrefix = `/modelseal/${base}`;
    const buildLogsName = `${logPrefix}/builds`;
    const flowLogsName = `${logPrefix}/flow-logs`;
    let ownKey: kms.Key | undefined;
    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else {
      ownKey = new kms.Key(this, 'Key', {
        description: `ModelSeal build runner ${this.node.path}: logs, build artifacts and staged models`,
        enableKeyRotation: true,
        removalPolicy,
        policy: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AllowKeyAdministration',
              principals: [new iam.AccountRootPrincipal()],
              actions: SYMMETRIC_KEY_ADMIN_ACTIONS,
              resources: ['*'],
            }),
            // Principals of this account may use the key through ECR only (the serving-image repository; ECR creates
            // grants on the caller's behalf), the pattern of the AWS managed aws/ecr key.
            new iam.PolicyStatement({
              sid: 'AllowUseThroughEcrByAccountPrincipals',
              principals: [new iam.AccountRootPrincipal()],
              actions: RUNNER_KEY_ECR_ACTIONS,
              resources: ['*'],
              conditions: { StringEquals: { 'kms:ViaService': `ecr.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account } },
            }),
            // Principals of this account may read staged models through S3 when their IAM policy allows it
            // (grantReadStagedModel), the pattern of the AWS managed aws/s3 key.
            new iam.PolicyStatement({
              sid: 'AllowDecryptThroughS3ByAccountPrincipals',
              principals: [new iam.AccountRootPrincipal()],
              actions: ['kms:Decrypt'],
              resources: ['*'],
              conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account } },
            }),
            new iam.PolicyStatement({
              sid: 'AllowCloudWatchLogs',
              principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
              actions: LOGS_KEY_ACTIONS,
              resources: ['*'],
              // only this runner's log groups (named up front: the groups' ARNs would make a cycle with the key)
              conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': [buildLogsName, flowLogsName].map((n) => logGroupArn(stack, n)) } },
            }),
          ],
        }),
      });
      tagRole(ownKey, 'runner-key');
      this.encryptionKey = ownKey;
    }
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', {
      logGroupName: buildLogsName,
      encryptionKey: this.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });

    // ---- network -------------------------------------------------------------------------------------------------
    this.vpc = props.vpc ?? this.createVpc(props, flowLogsName, removalPolicy);
    if (props.vpc && props.vpc.isolatedSubnets.length === 0) {
      throw propError(this, TYPE, 'vpc', 'must have isolated subnets (no route to an internet or NAT gateway), got a VPC with 0 isolated subnets');
    }
    const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const trainSg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal build runner, train: HTTPS egress to VPC endpoints and S3 only',
    });
    const sealSg = new ec2.SecurityGroup(this, 'SealSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal build runner, seal: HTTPS egress to VPC endpoints and S3 only',
    });
    this.trainSecurityGroup = trainSg;
    this.sealSecurityGroup = sealSg;
    this.connections = trainSg.connections;
    const s3PrefixListId = props.s3PrefixListId ?? this.lookupS3PrefixList();
    for (const sg of [trainSg, sealSg]) sg.addEgressRule(ec2.Peer.prefixList(s3PrefixListId), ec2.Port.tcp(443), 'HTTPS to S3 (gateway endpoint)');
    if (!createEndpoints) {
      const peer = props.endpointSecurityGroup ?? ec2.Peer.prefixList(props.endpointPrefixListId!);
      for (const sg of [trainSg, sealSg]) sg.addEgressRule(peer, ec2.Port.tcp(443), 'HTTPS to the VPC endpoints of this VPC');
    }
    if (tsa) {
      const peer = props.timestampSecurityGroup ?? ec2.Peer.prefixList(props.timestampPrefixListId!);
      sealSg.addEgressRule(peer, ec2.Port.tcp(tsa.port), 'RFC 3161 timestamp authority');
    }

    // ---- roles ---------------------------------------------------------------------------------------------------
    const runnerKeyVia = { StringEquals: { 'kms:ViaService': runnerKeyViaServices(stack.region) } };
    const codebuildFor = (arn: string) => new iam.ServicePrincipal('codebuild.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnEquals: { 'aws:SourceArn': arn } },
    });
    this.trainRoleResource = new iam.Role(this, 'TrainRole', {
      assumedBy: codebuildFor(trainProjectArn),
      description: `ModelSeal build runner ${this.node.path}, train: read inputs, stage the model; no signing, no store`,
    });
    // the seal role keeps the runner role's logical ID: it is the signing identity key policies already name
    if (props.sealRoleName !== undefined && !Token.isUnresolved(props.sealRoleName) && !/^[A-Za-z0-9+=,.@_-]{1,64}$/.test(props.sealRoleName)) {
      throw propError(this, TYPE, 'sealRoleName', `must be 1 to 64 characters of letters, digits and +=,.@_- (an IAM role name), got '${props.sealRoleName}'`);
    }
    this.sealRoleResource = new iam.Role(this, 'Role', {
      roleName: props.sealRoleName,
      assumedBy: codebuildFor(sealProjectArn),
      description: `ModelSeal build runner ${this.node.path}, seal: check the train build, sign, attest, publish`,
    });
    this.trainRole = this.trainRoleResource.withoutPolicyUpdates();
    this.sealRole = this.sealRoleResource.withoutPolicyUpdates();
    if (ownKey) {
      // the builds use the runner key with their roles through S3 (staged models) and CodeBuild (artifacts, cache)
      // only: a build command calling kms:Decrypt directly with the role's credentials is refused
      ownKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowRunnerRoles',
        principals: [this.sealRoleResource, this.trainRoleResource],
        actions: RUNNER_KEY_ACTIONS,
        resources: ['*'],
        conditions: runnerKeyVia,
      }));
    }

    // ---- staging -------------------------------------------------------------------------------------------------
    this.sealedWeightsPrefix = enclavePcrs ? `${SEALED_WEIGHTS_FOLDER}${props.modelName}/` : undefined;
    this.stagingBucket = this.createStaging(removalPolicy, this.sealedWeightsPrefix);

    // ---- serving image (built and signed elsewhere; described and co-signed here) -------------------------------
    if (props.servingImageSigning) {
      const repository = new ecr.Repository(this, 'ServingImages', {
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        imageScanOnPush: true,
        encryption: ecr.RepositoryEncryption.KMS,
        encryptionKey: this.encryptionKey,
        removalPolicy,
      });
      tagRole(repository, 'serving-images');
      this.servingImageRepository = repository;
      this.signingProfile = new signer.SigningProfile(this, 'SigningProfile', {
        platform: signer.Platform.NOTATION_OCI_SHA384_ECDSA,
        signatureValidity: Duration.days(365 * 3),
      });
    }

    // ---- assets --------------------------------------------------------------------------------------------------
    // the V8 code cache bin/modelseal may leave beside the bundle is machine-specific: keep it out of the asset hash
    const cliDir = cliAssetDir();
    const cli = new s3assets.Asset(this, 'Cli', { path: cliDir, exclude: ['*.v8cache', '*.v8cache.*'] });
    const cliSha256 = sha256File(path.join(cliDir, 'modelseal-cli.js'));
    const card = props.modelCard;
    const cardAsset = card?.filePath ? new s3assets.Asset(this, 'ModelCard', { path: card.filePath }) : undefined;

    // ---- projects ------------------------------------------------------------------------------------------------
    const sourcePrefix = props.modelSourcePrefix ?? '';
    const modelSourceUri = props.modelSourceBucket ? `s3://${props.modelSourceBucket.bucketName}/${sourcePrefix}` : '';
    const stagingUri = `s3://${this.stagingBucket.bucketName}/`;
    const trainBuildSpecObject = renderTrainBuildSpec(props.buildCommands);
    const trainBuildSpec = codebuild.BuildSpec.fromObject(trainBuildSpecObject);
    // the exact text CloudFormation hands CodeBuild (how BuildSpec.fromObject renders it), whose SHA-256 the seal checks
    const trainBuildSpecText: unknown = stack.resolve(stack.toJsonString(trainBuildSpecObject, 2));
    if (typeof trainBuildSpecText !== 'string') {
      throw propError(this, TYPE, 'buildCommands', 'must be known at synth: the seal build checks the SHA-256 of the train buildspec');
    }
    const repositoryArnOf = (ref: string) => {
      const m = ECR_REGISTRY.exec(ref.split('@')[0].replace(/:[^/:]+$/, ''));
      return m?.groups ? `arn:${Aws.PARTITION}:ecr:${m.groups.region}:${m.groups.account}:repository/${m.groups.name}` : undefined;
    };
    const imageRepositoryArn = ecrImage ? repositoryArnOf(image) : undefined;
    // a seal image in ECR is pulled with the seal role (SERVICE_ROLE), like the train image with the train role
    const sealImageRepositoryArn = props.sealImage !== undefined ? repositoryArnOf(props.sealImage) : undefined;
    const train = new codebuild.Project(this, 'Project', {
      projectName: trainProjectName,
      description: `ModelSeal hardened runner, train build of ${props.modelName}: your image and commands; stages the model for the seal build`,
      // CDK's own grants to a project role use wildcard actions (s3:GetObject*, kms:GenerateDataKey*, ...): the
      // project gets a view of the role it cannot add to, and every statement below is written out
      role: this.trainRole,
      buildSpec: trainBuildSpec,
      environment: {
        buildImage: new PinnedBuildImage(image, imageRepositoryArn !== undefined, props.gpu ?? false),
        privileged: false,
        computeType: props.computeType ?? codebuild.ComputeType.LARGE,
        environmentVariables: plain({
          MODEL_SOURCE_URI: modelSourceUri,
          MODEL_INPUT_DIR: 'inputs',
          MODEL_PATH: props.modelPath ?? 'model',
          MODEL_STAGING_URI: stagingUri,
          MODEL_NAME: props.modelName,
        }),
      },
      vpc: this.vpc,
      subnetSelection: subnets,
      securityGroups: [trainSg],
      encryptionKey: this.encryptionKey,
      logging: { cloudWatch: { logGroup: this.logGroup, prefix: TRAIN_STREAMS } },
      timeout,
      queuedTimeout,
      concurrentBuildLimit: props.concurrentBuildLimit ?? 1,
      grantReportGroupPermissions: false,
      badge: false,
    });
    tagRole(train, 'train');
    this.trainProject = train;

    const sealBuildSpec = renderSealBuildSpec({
      cliSha256,
      trainBuildspecSha256: createHash('sha256').update(trainBuildSpecText, 'utf8').digest('hex'),
      trainImage: image,
      allowUnpinnedTrainImage: props.allowUnpinnedBuildImage ?? false,
      hasSource: props.modelSourceBucket !== undefined,
      modelCard: card === undefined ? undefined : card.filePath
        ? { sha256: sha256File(card.filePath), extension: path.extname(card.filePath) || '.yaml' }
        : { inputName: card.inputName, extension: path.extname(card.inputName!) || '.yaml' },
      servingImage: props.servingImageSigning ?? false,
      sealWeights: enclavePcrs ? { measurementsJson: JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...enclavePcrs } }) } : undefined,
      timestampUrl: props.timestampUrl,
      installNode: props.sealImage === undefined,
    });
    const seal = new codebuild.Project(this, 'SealProject', {
      projectName: sealProjectName,
      description: `ModelSeal hardened runner, seal build of ${props.modelName}: checks the train build, signs, attests, publishes; no user commands`,
      role: this.sealRole,
      source: codebuild.Source.s3({ bucket: cli.bucket, path: cli.s3ObjectKey }),
      buildSpec: codebuild.BuildSpec.fromObject(sealBuildSpec),
      environment: {
        buildImage: props.sealImage
          ? new PinnedBuildImage(props.sealImage, sealImageRepositoryArn !== undefined, false)
          : codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5,
        privileged: false,
        computeType: props.sealComputeType ?? codebuild.ComputeType.LARGE,
        environmentVariables: plain({
          MODELSEAL_SIGNER: 'kms',
          MODELSEAL_KMS_KEY: props.signingKey.keyArn,
          MODELSEAL_STORE: props.store.storeUri,
          MODELSEAL_STORE_KMS_KEY_ARN: props.store.encryptionKey.keyArn,
          MODEL_NAME: props.modelName,
          TRAIN_PROJECT: trainProjectName,
          TRAIN_ROLE_ARN: this.trainRoleResource.roleArn,
          MODEL_STAGING_URI: stagingUri,
          MODEL_SOURCE_URI: modelSourceUri,
          ...(cardAsset ? { MODEL_CARD_URI: cardAsset.s3ObjectUrl } : {}),
          ...(props.weightsKey && enclavePcrs ? { WEIGHTS_KEY_ARN: props.weightsKey.keyArn } : {}),
          ...(this.servingImageRepository && this.signingProfile ? {
            SERVING_IMAGE_REPOSITORY: this.servingImageRepository.repositoryUri,
            SERVING_IMAGE_REPOSITORY_NAME: this.servingImageRepository.repositoryName,
            SIGNING_PROFILE_NAME: this.signingProfile.signingProfileName,
          } : {}),
        }),
      },
      vpc: this.vpc,
      subnetSelection: subnets,
      securityGroups: [sealSg],
      encryptionKey: this.encryptionKey,
      logging: { cloudWatch: { logGroup: this.logGroup, prefix: SEAL_STREAMS } },
      timeout: sealTimeout,
      queuedTimeout,
      concurrentBuildLimit: props.concurrentBuildLimit ?? 1,
      grantReportGroupPermissions: false,
      badge: false,
    });
    tagRole(seal, 'seal');
    this.sealProject = seal;

    // ---- the train role: read inputs, stage under its own build's prefix ----------------------------------------
    const t = this.trainRoleResource;
    t.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteTrainLogs', actions: BUILD_LOG_ACTIONS, resources: [logStreamsArn(stack, this.logGroup, TRAIN_STREAMS)] }));
    t.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'UseRunnerKey', actions: RUNNER_KEY_ACTIONS, resources: [this.encryptionKey.keyArn], conditions: runnerKeyVia,
    }));
    this.addNetworkInterfaceStatements(t, trainSg, subnets);
    if (imageRepositoryArn) {
      t.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'PullBuildImage', actions: ECR_PULL_ACTIONS, resources: [imageRepositoryArn] }));
      t.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'GetEcrAuthorizationToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    }
    // the train build syncs the current inputs; the seal reads their versions
    const readInputs = (role: iam.Role, sid: string, objectActions: string[], listAction: string) => {
      if (!props.modelSourceBucket) return;
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: `Read${sid}`, actions: objectActions, resources: [props.modelSourceBucket.arnForObjects(`${sourcePrefix}*`)] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: `List${sid}`,
        actions: [listAction],
        resources: [props.modelSourceBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${sourcePrefix}*`] } },
      }));
      props.modelSourceBucket.encryptionKey?.grantDecrypt(role);
    };
    readInputs(t, 'TrainingInputs', MODEL_SOURCE_READ_ACTIONS, 's3:ListBucket');
    const ownStaging = this.stagingBucket.arnForObjects(`${BUILD_ARN_VARIABLE}/*`);
    t.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'StageModelUnderOwnBuild', actions: STAGING_WRITE_ACTIONS, resources: [ownStaging] }));
    // explicit denies: they hold even if someone later attaches a broader policy to the train role
    t.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DenyWritesOutsideOwnBuildPrefix', effect: iam.Effect.DENY, actions: STAGING_WRITE_ACTIONS, notResources: [ownStaging],
    }));
    t.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DenySigning', effect: iam.Effect.DENY, actions: KEY_SIGN_ACTIONS, resources: ['*'] }));
    t.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DenyStoreAccess',
      effect: iam.Effect.DENY,
      actions: [...new Set([...STORE_PUBLISH_ACTIONS, ...STORE_READ_OBJECT_ACTIONS, ...STORE_READ_BUCKET_ACTIONS])].sort(),
      resources: [props.store.bucket.bucketArn, props.store.bucket.arnForObjects('*')],
    }));
    t.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DenyStartingOrChangingBuilds', effect: iam.Effect.DENY, actions: [...BUILD_START_ACTIONS, ...PROJECT_CHANGE_ACTIONS], resources: ['*'],
    }));

    // ---- the seal role: the only signer and publisher -------------------------------------------------------------
    const r = this.sealRoleResource;
    r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteSealLogs', actions: BUILD_LOG_ACTIONS, resources: [logStreamsArn(stack, this.logGroup, SEAL_STREAMS)] }));
    r.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadModelSealCli',
      actions: MODEL_SOURCE_READ_ACTIONS,
      resources: [cli.bucket.arnForObjects(cli.s3ObjectKey), ...(cardAsset ? [cardAsset.bucket.arnForObjects(cardAsset.s3ObjectKey)] : [])],
    }));
    r.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'UseRunnerKey', actions: RUNNER_KEY_ACTIONS, resources: [this.encryptionKey.keyArn], conditions: runnerKeyVia,
    }));
    this.addNetworkInterfaceStatements(r, sealSg, subnets);
    if (sealImageRepositoryArn) {
      r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'PullSealImage', actions: ECR_PULL_ACTIONS, resources: [sealImageRepositoryArn] }));
      r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'GetEcrAuthorizationToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    }
    r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadBuildFacts', actions: CODEBUILD_READ_ACTIONS, resources: [trainProjectArn, sealProjectArn] }));
    r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadStagedModelVersions', actions: VERSION_READ_OBJECT_ACTIONS, resources: [this.stagingBucket.arnForObjects('*')] }));
    r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListStagedModelVersions', actions: ['s3:ListBucketVersions'], resources: [this.stagingBucket.bucketArn] }));
    readInputs(r, 'TrainingInputVersions', VERSION_READ_OBJECT_ACTIONS, 's3:ListBucketVersions');
    if (this.servingImageRepository && this.signingProfile) {
      r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadServingImageScan', actions: ECR_SCAN_ACTIONS, resources: [this.servingImageRepository.repositoryArn] }));
      r.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'CoSignWithAwsSigner', actions: SIGNER_SIGN_ACTIONS, resources: [this.signingProfile.signingProfileArn] }));
    }
    props.signingKey.grantSign(r);
    props.store.grantPublish(r);
    props.store.grantSetRef(r, props.modelName);
    if (props.weightsKey && this.sealedWeightsPrefix) {
      // data keys only (never Decrypt), and the sealed files beside, never over, the staged models
      props.weightsKey.grantEncrypt(r);
      r.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'UploadSealedWeights', actions: STAGING_WRITE_ACTIONS, resources: [this.stagingBucket.arnForObjects(`${this.sealedWeightsPrefix}*`)],
      }));
    }
    r.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DenyStartingOrChangingBuilds', effect: iam.Effect.DENY, actions: [...BUILD_START_ACTIONS, ...PROJECT_CHANGE_ACTIONS], resources: ['*'],
    }));

    // ---- endpoints and DNS -----------------------------------------------------------------------------------------
    if (createEndpoints) {
      this.addEndpoints(props, {
        trainSg, sealSg, subnets, cli, cardAsset, imageRepositoryArn, sealImageRepositoryArn, trainProjectArn, sealProjectArn,
      });
    }
    if (!props.vpc) {
      this.dnsFirewallRuleGroup = new RunnerDnsFirewall(this, 'DnsFirewall', this.vpc,
        runnerDomainNames({ signer: props.servingImageSigning ?? false, timestampHost: tsa?.host })).ruleGroup;
    }

    // ---- triggers ----------------------------------------------------------------------------------------------------
    this.sealTriggerRole = this.addSealTrigger(seal, trainProjectName, sealProjectArn);
    if (props.startOnUpload) {
      this.uploadTriggerRole = this.addUploadTrigger(props, train, trainProjectArn, marker);
    }

    // The projects are created with immutable views of the roles, so CDK adds no ordering: CodeBuild checks the role's
    // EC2 permissions when a project is created, so the policy must exist first.
    train.node.addDependency(t.node.findChild('DefaultPolicy'));
    seal.node.addDependency(r.node.findChild('DefaultPolicy'));

    this.acknowledgeFindings(props, { cli, cardAsset, sourcePrefix });
  }

  /**
   * Lets `grantee` start train builds (`codebuild:StartBuild` on the train project only).
   *
   * A train build started with overrides beyond `SERVING_IMAGE_DIGEST` (a buildspec, an image, a role, other
   * variables) runs, but the seal step refuses to sign what it produced. Nobody is granted StartBuild on the seal
   * project but its trigger rule's role.
   */
  public grantStartBuild(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['codebuild:StartBuild'], resourceArns: [this.trainProject.projectArn] });
  }

  /**
   * Lets `grantee` read staged models by exact version (`s3:GetObject`, `s3:GetObjectVersion`, `s3:ListBucket`,
   * `s3:ListBucketVersions` on the staging bucket, `kms:Decrypt` through S3), e.g. the pipeline that copies a sealed
   * model to where it is served, or `modelseal verify` on it.
   */
  public grantReadStagedModel(grantee: iam.IGrantable): iam.Grant {
    const objects = iam.Grant.addToPrincipal({ grantee, actions: VERSION_READ_OBJECT_ACTIONS, resourceArns: [this.stagingBucket.arnForObjects('*')] });
    const list = iam.Grant.addToPrincipal({ grantee, actions: VERSION_LIST_ACTIONS, resourceArns: [this.stagingBucket.bucketArn] });
    const key = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
    });
    return objects.combine(list).combine(key);
  }

  /**
   * The guardrail that keeps the seal build to its trigger, as a policy document: it denies `codebuild:StartBuild`,
   * `StartBuildBatch`, `RetryBuild` and `RetryBuildBatch` on the seal project to every principal but the trigger rule's
   * role, and denies that role a buildspec or image override.
   *
   * The ARNs are built from the fixed names of the seal project and the trigger role with this stack's partition,
   * account and region, which are tokens (`AWS::Partition`, and `AWS::AccountId`/`AWS::Region` without an explicit
   * `env`) that only a policy of the same stack can use (e.g. a permissions boundary). For a service control policy,
   * which lives in the organization's management account, use {@link sealStartGuardrailFor}.
   */
  public sealStartGuardrail(): iam.PolicyDocument {
    const stack = Stack.of(this);
    return this.guardrail(
      stack.formatArn({ service: 'codebuild', resource: 'project', resourceName: this.sealProjectName }),
      stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${this.sealTriggerRoleBaseName}-${stack.region}` }),
    );
  }

  /**
   * {@link sealStartGuardrail} with literal ARNs for the account and region this runner is deployed to: paste its
   * JSON (`JSON.stringify(doc.toJSON())`) into a service control policy of the organization's management account.
   *
   * Inside one account, IAM cannot deny account administrators (an `AdministratorAccess` policy allows StartBuild on
   * every project, and a StartBuild with a buildspec override would run any commands with the seal role): an SCP can.
   *
   * @param account the 12-digit account the runner's stack is deployed to
   * @param region the region it is deployed to (e.g. `eu-west-1`)
   * @param partition the AWS partition (`aws`, `aws-cn`, `aws-us-gov`); default `aws`
   * @throws if `account` or `region` is not literal and well formed, or differs from the stack's explicit `env`
   * @see https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
   */
  public sealStartGuardrailFor(account: string, region: string, partition?: string): iam.PolicyDocument {
    const stack = Stack.of(this);
    const part = partition ?? 'aws';
    const where = `HardenedBuildRunner '${this.node.path}': sealStartGuardrailFor`;
    if (Token.isUnresolved(account) || !/^\d{12}$/.test(account)) throw new Error(`${where}: account must be 12 digits, got '${account}'`);
    if (Token.isUnresolved(region) || !/^[a-z]{2,4}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`${where}: region must be a region name like eu-west-1, got '${region}'`);
    if (!/^aws(-[a-z]+)*$/.test(part)) throw new Error(`${where}: partition must be aws, aws-cn, aws-us-gov or another aws-* partition, got '${part}'`);
    if (!Token.isUnresolved(stack.account) && stack.account !== account) throw new Error(`${where}: account ${account} is not the stack's account ${stack.account}`);
    if (!Token.isUnresolved(stack.region) && stack.region !== region) throw new Error(`${where}: region ${region} is not the stack's region ${stack.region}`);
    return this.guardrail(
      `arn:${part}:codebuild:${region}:${account}:project/${this.sealProjectName}`,
      `arn:${part}:iam::${account}:role/${this.sealTriggerRoleBaseName}-${region}`,
    );
  }

  private guardrail(sealProjectArn: string, triggerRoleArn: string): iam.PolicyDocument {
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'ModelSealSealBuildStartsOnlyFromItsTrigger',
          effect: iam.Effect.DENY,
          actions: BUILD_START_ACTIONS,
          resources: [sealProjectArn],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': triggerRoleArn } },
        }),
        new iam.PolicyStatement({
          sid: 'ModelSealSealBuildNoBuildspecOverride',
          effect: iam.Effect.DENY,
          actions: BUILD_START_ACTIONS,
          resources: [sealProjectArn],
          conditions: { Null: { 'codebuild:source.buildspec': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'ModelSealSealBuildNoImageOverride',
          effect: iam.Effect.DENY,
          actions: BUILD_START_ACTIONS,
          resources: [sealProjectArn],
          conditions: { Null: { 'codebuild:environment.image': 'false' } },
        }),
      ],
    });
  }

  private checkZones(azs: string[] | undefined): void {
    if (!azs) return;
    const stack = Stack.of(this);
    if (azs.length === 0) throw propError(this, TYPE, 'availabilityZones', 'must name at least one zone, got []');
    for (const az of azs) {
      if (Token.isUnresolved(az)) continue;
      if (!/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/.test(az)) {
        throw propError(this, TYPE, 'availabilityZones', `must hold zone names like eu-west-1a, got '${az}'`);
      }
      if (!Token.isUnresolved(stack.region) && !az.startsWith(stack.region)) {
        throw propError(this, TYPE, 'availabilityZones', `must be zones of the stack's region ${stack.region}, got '${az}'`);
      }
    }
    if (new Set(azs).size !== azs.length) throw propError(this, TYPE, 'availabilityZones', `must not repeat a zone, got ${JSON.stringify(azs)}`);
  }

  private createVpc(props: HardenedBuildRunnerProps, flowLogsName: string, removalPolicy: RemovalPolicy): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ...(props.availabilityZones ? { availabilityZones: props.availabilityZones } : { maxAzs: 2 }),
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      logGroupName: flowLogsName,
      encryptionKey: this.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });
    const flowLog = vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL });
    const flowLogPolicy = flowLog.node.tryFindChild('IAMRole')?.node.tryFindChild('DefaultPolicy');
    if (flowLogPolicy) {
      Validations.of(flowLogPolicy).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'The flow-log delivery role CDK creates for this VPC, with a generated single-purpose policy for its one log group.',
      });
    }
    Validations.of(vpc).acknowledge({
      id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed',
      reason: 'Nothing in this VPC uses the default security group: the builds and the endpoints have their own groups. Closing it needs a Lambda-backed custom resource.',
    });
    return vpc;
  }

  /** Checks weightsKey and enclaveMeasurements; the PCRs (PCR0, PCR1, PCR2[, PCR8], lower-case) when sealing. */
  private checkSealing(props: HardenedBuildRunnerProps): Record<string, string> | undefined {
    const m = props.enclaveMeasurements;
    if (!props.weightsKey) {
      if (m) throw propError(this, TYPE, 'enclaveMeasurements', 'applies only with weightsKey (the key the weights are sealed under)');
      return undefined;
    }
    if (!m) {
      throw propError(this, TYPE, 'weightsKey', 'needs enclaveMeasurements: the enclave-seal attestation names the enclave image the weights are sealed for');
    }
    const pcrs: Record<string, string> = {};
    for (const [name, value] of [['PCR0', m.pcr0], ['PCR1', m.pcr1], ['PCR2', m.pcr2], ['PCR8', m.pcr8]] as const) {
      const prop = `enclaveMeasurements.${name.toLowerCase()}`;
      if (value === undefined && name === 'PCR8') continue;
      if (value === undefined) throw propError(this, TYPE, prop, 'is required (nitro-cli build-enclave prints PCR0, PCR1 and PCR2 for every image)');
      if (Token.isUnresolved(value)) throw propError(this, TYPE, prop, 'must be known at synth: it is written into the seal buildspec');
      pcrs[name] = checkPcrs(`${TYPE} '${this.node.path}'`, prop, [value])[0];
    }
    // the key policy compares PCR8 and ImageSha384 (PCR0) with StringEqualsIgnoreCase; both must hold when both are bound
    for (const [name, allowed] of [['PCR8', props.weightsKey.enclavePcr8], ['PCR0', props.weightsKey.enclavePcr0]] as const) {
      if (allowed.length === 0 || allowed.some((v) => Token.isUnresolved(v))) continue;
      if (!allowed.map((v) => v.toLowerCase()).includes(pcrs[name])) {
        throw propError(this, TYPE, `enclaveMeasurements.${name.toLowerCase()}`,
          `is ${pcrs[name] ?? 'absent'}, which weightsKey does not let decrypt (its key policy allows ${name} ${allowed.join(', ')}): the sealed weights could never be opened`);
      }
    }
    return pcrs;
  }

  /**
   * The staging bucket: versioned, SSE-KMS with the runner key, write access for the train role only (its IAM policy
   * limits it further to its own build's prefix), no deletes, server access logs to their own bucket.
   */
  private createStaging(removalPolicy: RemovalPolicy, sealedWeightsPrefix: string | undefined): s3.Bucket {
    const accessLogs = createAccessLogsBucket(this, 'StagingAccessLogs', 'the staging bucket', 365, removalPolicy);
    const bucket = new s3.Bucket(this, 'Staging', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      ...HARDENED_BUCKET,
      removalPolicy,
      lifecycleRules: [{ id: 'ExpireOldVersions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    tagRole(bucket, 'model-staging');
    deliverAccessLogs(bucket, accessLogs, 'model-staging/');
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyWritesExceptTrainRole',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: STAGING_WRITE_ACTIONS,
      resources: [bucket.arnForObjects('*')],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': sealedWeightsPrefix ? [this.trainRoleResource.roleArn, this.sealRoleResource.roleArn] : this.trainRoleResource.roleArn } },
    }));
    if (sealedWeightsPrefix) {
      // the seal role writes sealed weights and nothing else here: never a staged model
      bucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DenySealRoleWritesOutsideSealedWeights',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: STAGING_WRITE_ACTIONS,
        notResources: [bucket.arnForObjects(`${sealedWeightsPrefix}*`)],
        conditions: { ArnEquals: { 'aws:PrincipalArn': this.sealRoleResource.roleArn } },
      }));
    }
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyDeletes',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [bucket.arnForObjects('*')],
    }));
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Staged models are working copies that the seal build hashes into the signed record; replication needs a destination only the deployer can choose.',
    });
    return bucket;
  }

  private addNetworkInterfaceStatements(role: iam.Role, sg: ec2.ISecurityGroup, subnets: ec2.SubnetSelection): void {
    const stack = Stack.of(this);
    const ec2Arn = (resource: string) => `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:${resource}`;
    const subnetArns = this.vpc.selectSubnets(subnets).subnetIds.map((id) => ec2Arn(`subnet/${id}`));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DescribeBuildNetwork', actions: CODEBUILD_VPC_DESCRIBE_ACTIONS, resources: ['*'] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'CreateBuildNetworkInterfaces',
      actions: CODEBUILD_ENI_CREATE_ACTIONS,
      resources: [ec2Arn('network-interface/*'), ...subnetArns, ec2Arn(`security-group/${sg.securityGroupId}`)],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DeleteBuildNetworkInterfaces',
      actions: CODEBUILD_ENI_DELETE_ACTIONS,
      resources: [ec2Arn('network-interface/*')],
      conditions: { StringEquals: { 'ec2:Subnet': subnetArns } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'AttachBuildNetworkInterfaces',
      actions: CODEBUILD_ENI_PERMISSION_ACTIONS,
      resources: [ec2Arn('network-interface/*')],
      conditions: { StringEquals: { 'ec2:Subnet': subnetArns, 'ec2:AuthorizedService': 'codebuild.amazonaws.com' } },
    }));
  }

  /** Finds the S3 prefix list of the region at deploy time (CloudFormation cannot). */
  private lookupS3PrefixList(): string {
    const stack = Stack.of(this);
    const lookup = new cr.AwsCustomResource(this, 'S3PrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describePrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${stack.region}.s3`] }] },
        physicalResourceId: cr.PhysicalResourceId.of(`s3-prefix-list-${stack.region}`),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        // ec2:DescribePrefixLists supports no resource-level permissions
        new iam.PolicyStatement({ actions: ['ec2:DescribePrefixLists'], resources: ['*'] }),
      ]),
      installLatestAwsSdk: false,
    });
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }

  private addEndpoints(props: HardenedBuildRunnerProps, x: {
    trainSg: ec2.SecurityGroup;
    sealSg: ec2.SecurityGroup;
    subnets: ec2.SubnetSelection;
    cli: s3assets.Asset;
    cardAsset?: s3assets.Asset;
    imageRepositoryArn?: string;
    sealImageRepositoryArn?: string;
    trainProjectArn: string;
    sealProjectArn: string;
  }): void {
    const stack = Stack.of(this);
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal build runner VPC endpoints: HTTPS from the builds only',
    });
    for (const [sg, what] of [[x.trainSg, 'train'], [x.sealSg, 'seal']] as const) {
      endpointSg.addIngressRule(sg, ec2.Port.tcp(443), `HTTPS from the ${what} build`);
      sg.addEgressRule(endpointSg, ec2.Port.tcp(443), 'HTTPS to the VPC endpoints');
    }
    const anyone = new iam.AnyPrincipal();
    const statement = (actions: string[], resources: string[]) => new iam.PolicyStatement({ principals: [anyone], actions, resources });

    // S3: the objects and buckets the builds use, nothing else (model weights cannot leave to another bucket)
    const gateway = this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [x.subnets] });
    const sourcePrefix = props.modelSourcePrefix ?? '';
    gateway.addToPolicy(statement(VERSION_READ_OBJECT_ACTIONS, [
      x.cli.bucket.arnForObjects(x.cli.s3ObjectKey),
      ...(x.cardAsset ? [x.cardAsset.bucket.arnForObjects(x.cardAsset.s3ObjectKey)] : []),
      // ECR image layers are served from this AWS-owned bucket
      `arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`,
      ...(props.modelSourceBucket ? [props.modelSourceBucket.arnForObjects(`${sourcePrefix}*`)] : []),
      this.stagingBucket.arnForObjects('*'),
    ]));
    const listed = [...(props.modelSourceBucket ? [props.modelSourceBucket.bucketArn] : []), this.stagingBucket.bucketArn];
    gateway.addToPolicy(statement(VERSION_LIST_ACTIONS, listed));
    gateway.addToPolicy(statement(STAGING_WRITE_ACTIONS, [this.stagingBucket.arnForObjects('*')]));
    gateway.addToPolicy(statement(STORE_PUBLISH_ACTIONS, [
      ...storeObjectArns(props.store.bucket, props.store.prefix, WRITE_AUTHORITIES.publish),
      props.store.bucket.arnForObjects(`${props.store.prefix}${refFolder(props.modelName)}*`),
    ]));

    const iface = (name: string, service: ec2.IInterfaceVpcEndpointService, statements: iam.PolicyStatement[]) => {
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service, subnets: x.subnets, securityGroups: [endpointSg], privateDnsEnabled: true, open: false,
      });
      for (const s of statements) endpoint.addToPolicy(s);
      return endpoint;
    };
    // KMS: only what a build itself calls (S3 and CloudWatch Logs use their keys service-side, not through here)
    iface('KmsEndpoint', ec2.InterfaceVpcEndpointAwsService.KMS, [
      statement([...KEY_SIGN_ACTIONS, ...KEY_SIGNER_READ_ACTIONS], [props.signingKey.keyArn]),
      // seal-weights asks for one data key per sealed model
      ...(props.weightsKey && this.sealedWeightsPrefix ? [statement(['kms:GenerateDataKey'], [props.weightsKey.keyArn])] : []),
    ]);
    iface('LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, [
      statement(BUILD_LOG_ACTIONS, [TRAIN_STREAMS, SEAL_STREAMS].map((p) => logStreamsArn(stack, this.logGroup, p))),
    ]);
    // STS: a build's own identity only (SDKs and tools ask for it; the builds assume no role)
    iface('StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS, [statement(['sts:GetCallerIdentity'], ['*'])]);
    iface('CodeBuildEndpoint', ec2.InterfaceVpcEndpointAwsService.CODEBUILD, [statement(CODEBUILD_READ_ACTIONS, [x.trainProjectArn, x.sealProjectArn])]);
    // ECR only for this runner's repositories: a build command must not push model weights to another registry
    const pulled = [...new Set([x.imageRepositoryArn, x.sealImageRepositoryArn].filter((a): a is string => a !== undefined))];
    const ecrStatements = () => [
      statement(['ecr:GetAuthorizationToken'], ['*']),
      ...(pulled.length > 0 ? [statement(ECR_PULL_ACTIONS, pulled)] : []),
      ...(this.servingImageRepository ? [statement(ECR_SCAN_ACTIONS, [this.servingImageRepository.repositoryArn])] : []),
    ];
    iface('EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR, ecrStatements());
    iface('EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER, ecrStatements());
    if (this.signingProfile) {
      iface('SignerEndpoint', new ec2.InterfaceVpcEndpointAwsService('signer'), [statement(SIGNER_SIGN_ACTIONS, [this.signingProfile.signingProfileArn])]);
    }
  }

  /**
   * The seal starts from one rule only: the train project's SUCCEEDED state change, with the build's id as the only
   * variable. Its role trusts EventBridge for this rule alone and may not override the seal's buildspec, image or
   * other variables.
   */
  private addSealTrigger(seal: codebuild.Project, trainProjectName: string, sealProjectArn: string): iam.Role {
    const ruleName = `${Names.uniqueResourceName(this, { maxLength: 44, separator: '-' })}-on-train-success`;
    const role = this.triggerRole('SealTriggerRole', ruleName, sealProjectArn, SEAL_TRIGGER_VARIABLE, `${this.sealTriggerRoleBaseName}-${Stack.of(this).region}`);
    new events.Rule(this, 'SealOnTrainSuccess', {
      ruleName,
      description: `Seal every successful build of ${trainProjectName}`,
      eventPattern: {
        source: ['aws.codebuild'],
        detailType: ['CodeBuild Build State Change'],
        detail: { 'build-status': ['SUCCEEDED'], 'project-name': [trainProjectName] },
      },
      targets: [new targets.CodeBuildProject(seal, {
        eventRole: role,
        event: events.RuleTargetInput.fromObject({
          environmentVariablesOverride: [{ name: SEAL_TRIGGER_VARIABLE, type: 'PLAINTEXT', value: events.EventField.fromPath('$.detail.build-id') }],
        }),
      })],
    });
    return role;
  }

  private addUploadTrigger(props: HardenedBuildRunnerProps, train: codebuild.Project, trainProjectArn: string, marker: string): iam.Role {
    const bucket = props.modelSourceBucket!;
    if (bucket instanceof s3.Bucket) {
      bucket.enableEventBridgeNotification();
    } else if (!props.modelSourceEventBridgeEnabled) {
      throw propError(this, TYPE, 'modelSourceBucket',
        'is imported, so its EventBridge notifications cannot be checked or turned on from here; turn them on for the bucket ' +
        'and set modelSourceEventBridgeEnabled: true, or pass a bucket defined in this app');
    }
    const key = `${props.modelSourcePrefix ?? ''}${marker}`;
    const ruleName = `${Names.uniqueResourceName(this, { maxLength: 44, separator: '-' })}-on-upload`;
    const role = this.triggerRole('UploadTriggerRole', ruleName, trainProjectArn, 'MODELSEAL_SOURCE_KEY');
    new events.Rule(this, 'StartOnUpload', {
      ruleName,
      description: `Start a ModelSeal train build when s3://.../${key} is written`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucket.bucketName] }, object: { key: [key] } },
      },
      targets: [new targets.CodeBuildProject(train, {
        eventRole: role,
        event: events.RuleTargetInput.fromObject({
          environmentVariablesOverride: [{ name: 'MODELSEAL_SOURCE_KEY', type: 'PLAINTEXT', value: events.EventField.fromPath('$.detail.object.key') }],
        }),
      })],
    });
    return role;
  }

  /**
   * A rule target role: trusted by EventBridge for one rule (`aws:SourceArn`, `aws:SourceAccount`), allowed to start
   * one project (the target adds that), denied any buildspec or image override and any variable but `variable`.
   */
  private triggerRole(id: string, ruleName: string, projectArn: string, variable: string, roleName?: string): iam.Role {
    const stack = Stack.of(this);
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName });
    const role = new iam.Role(this, id, {
      roleName,
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnEquals: { 'aws:SourceArn': ruleArn } },
      }),
      description: `ModelSeal build runner ${this.node.path}: EventBridge rule ${ruleName} starts one project`,
    });
    const deny = (sid: string, conditions: Record<string, Record<string, unknown>>) => role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid, effect: iam.Effect.DENY, actions: BUILD_START_ACTIONS, resources: [projectArn], conditions,
    }));
    deny('DenyBuildspecOverride', { Null: { 'codebuild:source.buildspec': 'false' } });
    deny('DenyImageOverride', { Null: { 'codebuild:environment.image': 'false' } });
    deny('DenyOtherVariableOverrides', { 'ForAnyValue:StringNotEquals': { 'codebuild:environment.environmentVariables.name': [variable] } });
    return role;
  }

  /**
   * Acknowledges, with their reasons, the cdk-nag findings this runner causes on purpose, on the resources it owns
   * only (its role policies, projects and buckets), never on stack-wide singletons or on this construct as a whole.
   *
   * Each IAM5 finding is a wildcard *resource* (never an action) that the service or the layout requires.
   */
  private acknowledgeFindings(props: HardenedBuildRunnerProps, x: { cli: s3assets.Asset; cardAsset?: s3assets.Asset; sourcePrefix: string }): void {
    const stack = Stack.of(this);
    const eni = `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:network-interface/*`;
    const trainPolicy = this.trainRoleResource.node.findChild('DefaultPolicy');
    const sealPolicy = this.sealRoleResource.node.findChild('DefaultPolicy');
    for (const [policy, streams] of [[trainPolicy, TRAIN_STREAMS], [sealPolicy, SEAL_STREAMS]] as const) {
      acknowledgeWildcardResources(policy, ['*'],
        'EC2 describe actions and ecr:GetAuthorizationToken support no resource-level permissions (AWS service authorization reference); the "*" in Deny statements only widens a denial.');
      acknowledgeWildcardResources(policy, [logStreamsArn(stack, this.logGroup, streams)],
        `Each build writes its own log streams, named at run time, under the ${streams}/ prefix of the runner log group only.`);
      acknowledgeWildcardResources(policy, [eni],
        'CodeBuild creates the network interfaces at run time; creation is bound to the runner subnets and security group, deletion and attachment to the runner subnets (ec2:Subnet).');
      Validations.of(policy).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'The runner role policies are generated per runner from exact action lists (src/aws/perms.ts) and reviewed with the stack; managed policies would be shared and drift.',
      });
    }
    acknowledgeWildcardResources(trainPolicy, [this.stagingBucket.arnForObjects(`${BUILD_ARN_VARIABLE}/*`)],
      'The train role writes only under its own build\'s ARN (the IAM variable ${codebuild:buildArn}); the file names are the model\'s.');
    acknowledgeWildcardResources(trainPolicy, [props.store.bucket.arnForObjects('*')], 'A Deny statement: the train role may not touch any object of the store.');
    acknowledgeWildcardResources(sealPolicy, [this.stagingBucket.arnForObjects('*')],
      'The seal reads the staged model of whichever train build it seals, by exact version; read only.');
    acknowledgeWildcardResources(sealPolicy, [
      ...storeObjectArns(props.store.bucket, props.store.prefix, WRITE_AUTHORITIES.publish),
      props.store.bucket.arnForObjects(`${props.store.prefix}${refFolder(props.modelName)}*`),
      props.store.bucket.arnForObjects(`${props.store.prefix}${refFolder(props.modelName)}*/*`),
    ], 'Attestation keys are content-addressed under fixed prefixes and known only after signing; references only under this model\'s name; the store bucket policy refuses overwrites.');
    if (this.sealedWeightsPrefix) {
      acknowledgeWildcardResources(sealPolicy, [this.stagingBucket.arnForObjects(`${this.sealedWeightsPrefix}*`)],
        'Sealed weights go to one folder per train build number, known only when the seal runs; only under this model\'s sealed/ prefix.');
    }
    if (props.modelSourceBucket) {
      const inputs = [props.modelSourceBucket.arnForObjects(`${x.sourcePrefix}*`)];
      acknowledgeWildcardResources(trainPolicy, inputs, 'The train build reads the training inputs under the configured prefix, read only.');
      acknowledgeWildcardResources(sealPolicy, inputs, 'The seal reads the versions of the training inputs under the configured prefix, read only.');
    }
    for (const role of [this.sealTriggerRole, this.uploadTriggerRole]) {
      const policy = role?.node.tryFindChild('DefaultPolicy');
      if (policy) {
        Validations.of(policy).acknowledge({
          id: 'NIST.800.53.R5-IAMNoInlinePolicy',
          reason: 'A single-purpose trigger role: start one project, with its override denials; generated per runner.',
        });
      }
    }
    // the prefix-list lookup's own policy is the runner's; the function behind it is CDK's stack-wide singleton, which
    // the runner does not own and does not acknowledge anything on (README "cdk-nag")
    const lookupPolicy = this.node.tryFindChild('S3PrefixList')?.node.tryFindChild('CustomResourcePolicy');
    if (lookupPolicy) {
      acknowledgeWildcardResources(lookupPolicy, ['*'], 'ec2:DescribePrefixLists supports no resource-level permissions; it is the only action of this lookup.');
      Validations.of(lookupPolicy).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The generated single-purpose policy of the S3 prefix-list lookup: ec2:DescribePrefixLists only.' });
    }
    // CodeBuild always builds a VPC policy for a project role; with the immutable role views it is never attached or synthesized
    for (const project of [this.trainProject, this.sealProject]) {
      const projectPolicy = project.node.tryFindChild('PolicyDocument');
      if (projectPolicy) {
        const reason = 'This policy is not synthesized: the project gets an immutable view of its role, whose statements are written out explicitly.';
        acknowledgeWildcardResources(projectPolicy, ['*'], reason);
        Validations.of(projectPolicy).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason });
      }
    }
    Validations.of(this.trainProject).acknowledge({
      id: 'AwsSolutions-CB5',
      reason: 'The train image is the customer training image, pinned by digest, compared by the seal build and recorded in the SLSA provenance; CodeBuild curated images do not carry the training stack.',
    });
    if (props.sealImage) {
      Validations.of(this.sealProject).acknowledge({
        id: 'AwsSolutions-CB5',
        reason: 'The seal image is pinned by digest (sealImage) and recorded in the SLSA provenance.',
      });
    }
  }
}

/** Whether an image reference is pinned by digest. */
function pinned(image: string): boolean {
  return !Token.isUnresolved(image) && PINNED_IMAGE.test(image);
}

/** A duration in whole minutes within a range; the error names the prop. */
function wholeMinutes(scope: Construct, prop: string, value: Duration, min: number, max: number): Duration {
  const millis = value.toMilliseconds({ integral: false });
  if (Token.isUnresolved(millis)) return value;
  if (millis % 60_000 !== 0) {
    throw propError(scope, TYPE, prop, `must be whole minutes (CodeBuild timeouts are in minutes), got ${value.toHumanString()}`);
  }
  checkIntRange(scope, TYPE, `${prop} (minutes)`, millis / 60_000, min, max);
  return value;
}

function parseTimestampUrl(scope: Construct, url: string): { host: string; port: number } {
  let parsed: URL | undefined;
  try {
    parsed = Token.isUnresolved(url) ? undefined : new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password || !parsed.hostname) {
    throw propError(scope, TYPE, 'timestampUrl', `must be an http:// or https:// URL of an RFC 3161 timestamp authority, known at synth, got '${url}'`);
  }
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80 };
}

/** The folder holding the bundled CLI (`assets/modelseal-cli.js`), relative to the compiled library or the source. */
function cliAssetDir(): string {
  return path.join(__dirname, '..', '..', 'assets');
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function logGroupArn(stack: Stack, name: string): string {
  return `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${name}`;
}

/** The ARN of the log streams under `prefix/` of a log group (CodeBuild names them `<prefix>/<build uuid>`). */
function logStreamsArn(stack: Stack, group: logs.ILogGroup, prefix: string): string {
  return `${logGroupArn(stack, group.logGroupName)}:log-stream:${prefix}/*`;
}

function plain(vars: Record<string, string>): Record<string, codebuild.BuildEnvironmentVariable> {
  const out: Record<string, codebuild.BuildEnvironmentVariable> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = { type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value: v };
  return out;
}
