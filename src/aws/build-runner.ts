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
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as signer from 'aws-cdk-lib/aws-signer';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { IAttestationStore } from './attestation-store';
import { renderBuildSpec } from './buildspec';
import {
  BUILD_LOG_ACTIONS,
  CODEBUILD_VPC_ACTIONS,
  ECR_PULL_ACTIONS,
  ECR_PUSH_SIGNATURE_ACTIONS,
  ECR_SCAN_ACTIONS,
  KEY_SIGN_ACTIONS,
  KEY_SIGNER_READ_ACTIONS,
  LOGS_KEY_ACTIONS,
  MODEL_SOURCE_READ_ACTIONS,
  RUNNER_KEY_ACTIONS,
  RUNNER_KEY_ECR_ACTIONS,
  SIGNER_SIGN_ACTIONS,
  SYMMETRIC_KEY_ADMIN_ACTIONS,
} from './perms';
import { IModelSigningKey } from './signing-key';
import { acknowledgeWildcardResources } from '../private/nag';
import { tagRole } from '../private/role-tag';
import { storeObjectArns } from '../private/store-layout';
import { checkIntRange, propError } from '../private/validation';
import { MODEL_NAME_RULE, modelNameProblem } from '../shared/model-name';

const TYPE = 'HardenedBuildRunner';
const PINNED_IMAGE = /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)@sha256:[a-f0-9]{64}$/;
const ECR_REGISTRY = /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(?<name>.+)$/;

/**
 * Properties of a {@link HardenedBuildRunner}.
 */
export interface HardenedBuildRunnerProps {
  /** The key that signs the model (`kms:Sign` is granted to the runner's role, with its conditions). */
  readonly signingKey: IModelSigningKey;

  /** The store the bundles and attestations are published to. */
  readonly store: IAttestationStore;

  /**
   * The build image, pinned by digest: `<registry>/<repository>@sha256:<digest>`. It needs Node.js 20 or newer
   * (the `modelseal` CLI is a Node.js bundle) and, to download `modelSourceBucket`, the AWS CLI.
   *
   * A private ECR image in the runner's region is pulled through the VPC endpoints with the runner's role.
   */
  readonly buildImage: string;

  /**
   * Accept a build image referenced by tag. A tag can be moved to other bytes after review, so the provenance would
   * name an image nobody checked; opt out only for development.
   *
   * @default false
   */
  readonly allowUnpinnedBuildImage?: boolean;

  /** The commands that train or package the model into `modelPath`. Signing, attesting and publishing follow. */
  readonly buildCommands: string[];

  /** The name of the model: the in-toto subject name and the `refs/<name>/<version>` reference. */
  readonly modelName: string;

  /**
   * Where the build writes the model, relative to the build's working directory; the whole directory is signed.
   *
   * @default 'model'
   */
  readonly modelPath?: string;

  /**
   * The model card (YAML or JSON) the AI SBOM is built from, relative to the working directory.
   *
   * @default 'model-card.yaml'
   */
  readonly modelCardPath?: string;

  /**
   * The bucket holding the training inputs, read (never written) by the runner.
   *
   * @default - no inputs are downloaded
   */
  readonly modelSourceBucket?: s3.IBucket;

  /**
   * The prefix of the training inputs in `modelSourceBucket`.
   *
   * @default - the whole bucket
   */
  readonly modelSourcePrefix?: string;

  /**
   * Start a build when an object lands under `modelSourcePrefix` (an EventBridge rule); the object key reaches the
   * build as `MODELSEAL_SOURCE_KEY`.
   *
   * @default false
   */
  readonly startOnUpload?: boolean;

  /**
   * For an imported `modelSourceBucket`: declare that its EventBridge notifications are on. The runner cannot check
   * or turn them on for a bucket it does not own, so `startOnUpload` needs this.
   *
   * @default false
   */
  readonly modelSourceEventBridgeEnabled?: boolean;

  /**
   * The VPC to run in. It must have isolated subnets (no route to an internet or NAT gateway); the runner uses only
   * those.
   *
   * @default - a new VPC with two isolated subnets, no NAT gateway, no internet gateway, and flow logs
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
   * Create the VPC endpoints the runner needs (KMS, CloudWatch Logs, STS, ECR api and dkr, AWS Signer, and an S3
   * gateway). Off for a VPC that already has them with private DNS; egress is then HTTPS to the VPC CIDR and S3.
   *
   * In a VPC you pass, the S3 gateway endpoint and its restrictive policy would apply to every workload routed
   * through the isolated subnets' route tables, so endpoints are created there only when you ask.
   *
   * @default - true for the runner's own VPC, false for a VPC you pass
   */
  readonly createVpcEndpoints?: boolean;

  /**
   * The ID of the AWS-managed S3 prefix list of the region (`com.amazonaws.<region>.s3`), for the HTTPS egress rule.
   *
   * @default - looked up at deploy time with `ec2:DescribePrefixLists` (a custom resource)
   */
  readonly s3PrefixListId?: string;

  /**
   * The compute type.
   *
   * @default codebuild.ComputeType.LARGE
   */
  readonly computeType?: codebuild.ComputeType;

  /**
   * How long a build may run.
   *
   * @default Duration.hours(8)
   */
  readonly timeout?: Duration;

  /**
   * How long a build may wait in the queue.
   *
   * @default Duration.hours(1)
   */
  readonly queuedTimeout?: Duration;

  /**
   * How many builds may run at once.
   *
   * @default 1
   */
  readonly concurrentBuildLimit?: number;

  /**
   * How long build logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create an ECR repository (immutable tags, scan on push, KMS-encrypted) and an AWS Signer profile
   * (`Notation-OCI-SHA384-ECDSA`) for the serving image, which is built elsewhere; the runner signs its digest with
   * Notation and records it and its scan summary in the SBOM.
   *
   * @default false
   */
  readonly servingImageSigning?: boolean;

  /**
   * What happens to the logs, the runner key and the serving-image repository when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An ephemeral, hardened CodeBuild runner that trains or packages a model, then signs it with KMS, attests its AI
 * SBOM and SLSA provenance, and publishes everything to the attestation store.
 *
 * What it guarantees:
 * - A fresh container per build, unprivileged, in isolated subnets with no route to the internet; it reaches AWS only
 *   through VPC endpoints (KMS, CloudWatch Logs, STS, ECR, AWS Signer, an S3 gateway) and its security group allows
 *   only HTTPS egress to them and to S3.
 * - The `modelseal` CLI travels as an S3 asset (the build's source), so the build needs no internet.
 * - Its role can build, sign, publish and nothing else: `kms:Sign` with the key's conditions, `s3:PutObject` on the
 *   store prefixes, read on the model source, ECR pull for the build image, its log stream, and the EC2
 *   network-interface actions CodeBuild needs in a VPC. No delete, no `iam:PassRole`, no wildcard action.
 */
export class HardenedBuildRunner extends Resource implements ec2.IConnectable, iam.IGrantable {
  /** The CodeBuild project. */
  public readonly project: codebuild.Project;
  /** The runner's role. */
  public readonly role: iam.Role;
  /** The VPC the runner runs in. */
  public readonly vpc: ec2.IVpc;
  /** The runner's security group (HTTPS egress to the endpoints and S3 only). */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The KMS-encrypted log group of the builds. */
  public readonly logGroup: logs.LogGroup;
  /** The key that encrypts the runner's logs and build artifacts. */
  public readonly encryptionKey: kms.Key;
  /** The serving-image repository, when `servingImageSigning` is on. */
  public readonly servingImageRepository?: ecr.Repository;
  /** The AWS Signer profile for the serving image, when `servingImageSigning` is on. */
  public readonly signingProfile?: signer.SigningProfile;
  /** The runner's role, as the principal grants go to. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The runner's network connections (its security group). */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: HardenedBuildRunnerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // ---- validation ----------------------------------------------------------------------------------------------
    if (!props.buildCommands || props.buildCommands.length === 0 || props.buildCommands.every((c) => !c.trim())) {
      throw propError(this, TYPE, 'buildCommands', 'must hold at least one command that trains or packages the model, got none');
    }
    const image = props.buildImage;
    const pinned = !Token.isUnresolved(image) && PINNED_IMAGE.test(image);
    if (!pinned && !props.allowUnpinnedBuildImage) {
      throw propError(this, TYPE, 'buildImage',
        `must be pinned by digest (<registry>/<repository>@sha256:<64 hex>), got '${image}': a tag can be moved to ` +
        'other bytes after review, so the provenance would name an image nobody checked (set allowUnpinnedBuildImage to accept a tag)');
    }
    const nameProblem = Token.isUnresolved(props.modelName) ? undefined : modelNameProblem(props.modelName);
    if (nameProblem) {
      // the same rule `modelseal ref set` applies at the end of every build
      throw propError(this, TYPE, 'modelName', `'${props.modelName}' ${nameProblem}; ${MODEL_NAME_RULE}`);
    }
    checkIntRange(this, TYPE, 'concurrentBuildLimit', props.concurrentBuildLimit, 1, 1000);
    const timeout = props.timeout ?? Duration.hours(8);
    checkIntRange(this, TYPE, 'timeout (minutes)', timeout.toMinutes(), 5, 2160);
    const queuedTimeout = props.queuedTimeout ?? Duration.hours(1);
    checkIntRange(this, TYPE, 'queuedTimeout (minutes)', queuedTimeout.toMinutes(), 5, 480);
    if (props.s3PrefixListId !== undefined && !Token.isUnresolved(props.s3PrefixListId) && !/^pl-[a-f0-9]{8,17}$/.test(props.s3PrefixListId)) {
      throw propError(this, TYPE, 's3PrefixListId', `must be a prefix list id like pl-6ca54005, got '${props.s3PrefixListId}'`);
    }
    if (props.startOnUpload && !props.modelSourceBucket) {
      throw propError(this, TYPE, 'startOnUpload', 'needs modelSourceBucket: the rule starts a build when an object lands there');
    }

    // ---- network -------------------------------------------------------------------------------------------------
    const logPrefix = `/modelseal/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`;
    const buildLogsName = `${logPrefix}/builds`;
    const flowLogsName = `${logPrefix}/flow-logs`;
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: `ModelSeal build runner ${this.node.path}: logs and build artifacts`,
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
            conditions: {
              StringEquals: { 'kms:ViaService': `ecr.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account },
            },
          }),
          new iam.PolicyStatement({
            sid: 'AllowCloudWatchLogs',
            principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
            actions: LOGS_KEY_ACTIONS,
            resources: ['*'],
            // only this runner's two log groups (named up front: the groups' ARNs would make a cycle with the key)
            conditions: {
              ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': [buildLogsName, flowLogsName].map((n) => logGroupArn(stack, n)) },
            },
          }),
        ],
      }),
    });

    tagRole(this.encryptionKey, 'runner-key');

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: buildLogsName,
      encryptionKey: this.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });

    if (props.vpc && props.availabilityZones) {
      throw propError(this, TYPE, 'availabilityZones', 'applies only to the runner\'s own VPC; the VPC you pass has its zones already (drop one of vpc, availabilityZones)');
    }
    if (props.availabilityZones) {
      const azs = props.availabilityZones;
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

    if (props.vpc) {
      if (props.vpc.isolatedSubnets.length === 0) {
        throw propError(this, TYPE, 'vpc',
          'must have isolated subnets (no route to an internet or NAT gateway), got a VPC with 0 isolated subnets');
      }
      this.vpc = props.vpc;
    } else {
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
      vpc.addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
      Validations.of(vpc).acknowledge({
        id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed',
        reason: 'Nothing in this VPC uses the default security group: the runner and the endpoints have their own groups. Closing it needs a Lambda-backed custom resource.',
      });
      this.vpc = vpc;
    }
    const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal build runner: HTTPS egress to VPC endpoints and S3 only',
    });
    this.connections = this.securityGroup.connections;

    const s3PrefixListId = props.s3PrefixListId ?? this.lookupS3PrefixList();
    this.securityGroup.addEgressRule(ec2.Peer.prefixList(s3PrefixListId), ec2.Port.tcp(443), 'HTTPS to S3 (gateway endpoint)');

    // ---- role ----------------------------------------------------------------------------------------------------
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `ModelSeal build runner ${this.node.path}: build, sign, publish`,
    });
    this.grantPrincipal = this.role;
    // the build (artifacts, cache) uses the runner key with the runner role; the key policy must say so itself
    this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowRunnerRole',
      principals: [this.role],
      actions: RUNNER_KEY_ACTIONS,
      resources: ['*'],
    }));

    // ---- serving image (built elsewhere; signed here) ------------------------------------------------------------
    if (props.servingImageSigning) {
      this.servingImageRepository = new ecr.Repository(this, 'ServingImages', {
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        imageScanOnPush: true,
        encryption: ecr.RepositoryEncryption.KMS,
        encryptionKey: this.encryptionKey,
        removalPolicy,
      });
      tagRole(this.servingImageRepository, 'serving-images');
      this.signingProfile = new signer.SigningProfile(this, 'SigningProfile', {
        platform: signer.Platform.NOTATION_OCI_SHA384_ECDSA,
        signatureValidity: Duration.days(365 * 3),
      });
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: SIGNER_SIGN_ACTIONS,
        resources: [this.signingProfile.signingProfileArn],
      }));
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_SIGNATURE_ACTIONS, ...ECR_SCAN_ACTIONS],
        resources: [this.servingImageRepository.repositoryArn],
      }));
    }


    // ---- the CLI asset and the project ---------------------------------------------------------------------------
    // the V8 code cache bin/modelseal may leave beside the bundle is machine-specific: keep it out of the asset hash
    const cli = new s3assets.Asset(this, 'Cli', { path: cliAssetDir(), exclude: ['*.v8cache', '*.v8cache.*'] });
    const { buildImage, repositoryArn: buildImageRepository } = this.buildImageFor(image);
    const modelSourceUri = props.modelSourceBucket
      ? `s3://${props.modelSourceBucket.bucketName}/${props.modelSourcePrefix ?? ''}`
      : '';

    this.project = new codebuild.Project(this, 'Project', {
      description: `ModelSeal hardened build runner for ${props.modelName}`,
      // CDK's own grants to a project role use wildcard actions (s3:GetObject*, kms:GenerateDataKey*, ...):
      // the project gets a view of the role it cannot add to, and every statement below is written out.
      role: this.role.withoutPolicyUpdates(),
      source: codebuild.Source.s3({ bucket: cli.bucket, path: cli.s3ObjectKey }),
      buildSpec: codebuild.BuildSpec.fromObject(renderBuildSpec(props.buildCommands, { servingImage: props.servingImageSigning ?? false })),
      environment: {
        buildImage,
        privileged: false,
        computeType: props.computeType ?? codebuild.ComputeType.LARGE,
        environmentVariables: plain({
          MODELSEAL_SIGNER: 'kms',
          MODELSEAL_KMS_KEY: props.signingKey.keyArn,
          MODELSEAL_STORE: props.store.storeUri,
          MODELSEAL_STORE_KMS_KEY_ARN: props.store.encryptionKey.keyArn,
          MODELSEAL_OUT: '.modelseal',
          MODEL_SOURCE_URI: modelSourceUri,
          MODEL_INPUT_DIR: 'inputs',
          MODEL_PATH: props.modelPath ?? 'model',
          MODEL_CARD: props.modelCardPath ?? 'model-card.yaml',
          MODEL_NAME: props.modelName,
          BUILDER_IMAGE: image,
          ...(this.servingImageRepository && this.signingProfile ? {
            SERVING_IMAGE_REPOSITORY: this.servingImageRepository.repositoryUri,
            SERVING_IMAGE_REPOSITORY_NAME: this.servingImageRepository.repositoryName,
            SIGNING_PROFILE_ARN: this.signingProfile.signingProfileArn,
          } : {}),
        }),
      },
      vpc: this.vpc,
      subnetSelection: subnets,
      securityGroups: [this.securityGroup],
      encryptionKey: this.encryptionKey,
      logging: { cloudWatch: { logGroup: this.logGroup } },
      timeout,
      queuedTimeout,
      concurrentBuildLimit: props.concurrentBuildLimit ?? 1,
      grantReportGroupPermissions: false,
      badge: false,
    });

    tagRole(this.project, 'train');

    // ---- least privilege -----------------------------------------------------------------------------------------
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteBuildLogs',
      actions: BUILD_LOG_ACTIONS,
      resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:*`],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadModelSealCli',
      actions: MODEL_SOURCE_READ_ACTIONS,
      resources: [cli.bucket.arnForObjects(cli.s3ObjectKey)],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'UseRunnerKey',
      actions: RUNNER_KEY_ACTIONS,
      resources: [this.encryptionKey.keyArn],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ManageBuildNetworkInterfaces',
      actions: CODEBUILD_VPC_ACTIONS,
      resources: ['*'],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'AttachBuildNetworkInterfaces',
      actions: ['ec2:CreateNetworkInterfacePermission'],
      resources: [`arn:${stack.partition}:ec2:${stack.region}:${stack.account}:network-interface/*`],
      conditions: {
        StringEquals: {
          'ec2:Subnet': this.vpc.selectSubnets(subnets).subnetIds.map(
            (sid) => `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:subnet/${sid}`),
          'ec2:AuthorizedService': 'codebuild.amazonaws.com',
        },
      },
    }));
    if (buildImageRepository) {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'PullBuildImage',
        actions: ECR_PULL_ACTIONS,
        resources: [buildImageRepository],
      }));
    }
    if (buildImageRepository || props.servingImageSigning) {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'GetEcrAuthorizationToken',
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
      }));
    }
    props.signingKey.grantSign(this.role);
    props.store.grantPublish(this.role);
    if (props.modelSourceBucket) {
      const prefix = props.modelSourcePrefix ?? '';
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: MODEL_SOURCE_READ_ACTIONS,
        resources: [props.modelSourceBucket.arnForObjects(`${prefix}*`)],
      }));
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.modelSourceBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }));
      props.modelSourceBucket.encryptionKey?.grantDecrypt(this.role);
    }

    // ---- endpoints -----------------------------------------------------------------------------------------------
    if (props.createVpcEndpoints ?? !props.vpc) {
      this.addEndpoints(props, cli, subnets, buildImageRepository);
    } else {
      this.securityGroup.addEgressRule(ec2.Peer.ipv4(this.vpc.vpcCidrBlock), ec2.Port.tcp(443), 'HTTPS to the VPC endpoints of this VPC');
    }

    // ---- trigger -------------------------------------------------------------------------------------------------
    if (props.startOnUpload) {
      this.addUploadTrigger(props);
    }

    // The project is created with an immutable view of the role, so CDK adds no ordering: CodeBuild checks the role's
    // EC2 permissions when the project is created, so the policy must exist first.
    this.project.node.addDependency(this.role.node.findChild('DefaultPolicy'));

    this.acknowledgeFindings(props);
  }

  /**
   * Lets `grantee` start builds of this runner (`codebuild:StartBuild` on the project only).
   *
   * StartBuild accepts overrides (buildspec, image, environment variables): whoever may start a build may make the
   * runner sign what that build produces. Grant it only to principals you would trust to sign models.
   */
  public grantStartBuild(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['codebuild:StartBuild'], resourceArns: [this.project.projectArn] });
  }

  private buildImageFor(image: string): { buildImage: codebuild.IBuildImage; repositoryArn?: string } {
    const repo = PINNED_IMAGE.exec(image)?.groups?.repo ?? image.split('@')[0].replace(/:[^/:]+$/, '');
    const ref = image.includes('@') ? image.split('@')[1] : image.split(':').pop()!;
    const ecrMatch = ECR_REGISTRY.exec(repo);
    if (ecrMatch?.groups) {
      const repositoryArn = `arn:${Aws.PARTITION}:ecr:${ecrMatch.groups.region}:${ecrMatch.groups.account}:repository/${ecrMatch.groups.name}`;
      const repository = ecr.Repository.fromRepositoryAttributes(this, 'BuildImageRepository', {
        repositoryArn,
        repositoryName: ecrMatch.groups.name,
      });
      return { buildImage: codebuild.LinuxBuildImage.fromEcrRepository(repository, ref), repositoryArn };
    }
    return { buildImage: codebuild.LinuxBuildImage.fromDockerRegistry(image) };
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

  private addEndpoints(props: HardenedBuildRunnerProps, cli: s3assets.Asset, subnets: ec2.SubnetSelection, buildImageRepository?: string): void {
    const stack = Stack.of(this);
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal build runner VPC endpoints: HTTPS from the runner only',
    });
    endpointSg.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'HTTPS from the build runner');
    this.securityGroup.addEgressRule(endpointSg, ec2.Port.tcp(443), 'HTTPS to the VPC endpoints');

    const gateway = this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [subnets],
    });
    const anyone = new iam.AnyPrincipal();
    const sourcePrefix = props.modelSourcePrefix ?? '';
    const readable = [
      cli.bucket.arnForObjects(cli.s3ObjectKey),
      // ECR image layers are served from this AWS-owned bucket
      `arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`,
      ...(props.modelSourceBucket ? [props.modelSourceBucket.arnForObjects(`${sourcePrefix}*`)] : []),
    ];
    gateway.addToPolicy(new iam.PolicyStatement({ principals: [anyone], actions: ['s3:GetObject'], resources: readable }));
    if (props.modelSourceBucket) {
      gateway.addToPolicy(new iam.PolicyStatement({
        principals: [anyone],
        actions: ['s3:ListBucket'],
        resources: [props.modelSourceBucket.bucketArn],
      }));
    }
    gateway.addToPolicy(new iam.PolicyStatement({
      principals: [anyone],
      actions: ['s3:PutObject'],
      resources: storeObjectArns(props.store.bucket),
    }));

    const iface = (name: string, service: ec2.IInterfaceVpcEndpointService, statements?: iam.PolicyStatement[]) => {
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets,
        securityGroups: [endpointSg],
        privateDnsEnabled: true,
        open: false,
      });
      for (const s of statements ?? []) endpoint.addToPolicy(s);
      return endpoint;
    };
    iface('KmsEndpoint', ec2.InterfaceVpcEndpointAwsService.KMS, [
      new iam.PolicyStatement({
        principals: [anyone],
        actions: [...KEY_SIGN_ACTIONS, ...KEY_SIGNER_READ_ACTIONS],
        resources: [props.signingKey.keyArn],
      }),
      new iam.PolicyStatement({
        principals: [anyone],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.store.encryptionKey.keyArn, this.encryptionKey.keyArn],
      }),
    ]);
    iface('LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, [
      new iam.PolicyStatement({
        principals: [anyone],
        actions: BUILD_LOG_ACTIONS,
        resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:*`],
      }),
    ]);
    // STS and AWS Signer keep the default endpoint policy: the SDK calls STS for the role's own identity, and the
    // signer actions are limited by the role's policy to the one profile.
    iface('StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS);
    // ECR only for this runner's repositories: a build command must not push model weights to another registry.
    const ecrStatements = () => {
      const statements = [new iam.PolicyStatement({ principals: [anyone], actions: ['ecr:GetAuthorizationToken'], resources: ['*'] })];
      if (buildImageRepository) {
        statements.push(new iam.PolicyStatement({ principals: [anyone], actions: ECR_PULL_ACTIONS, resources: [buildImageRepository] }));
      }
      if (this.servingImageRepository) {
        statements.push(new iam.PolicyStatement({
          principals: [anyone],
          actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_SIGNATURE_ACTIONS, ...ECR_SCAN_ACTIONS],
          resources: [this.servingImageRepository.repositoryArn],
        }));
      }
      return statements;
    };
    iface('EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR, ecrStatements());
    iface('EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER, ecrStatements());
    iface('SignerEndpoint', new ec2.InterfaceVpcEndpointAwsService('signer'));
  }

  private addUploadTrigger(props: HardenedBuildRunnerProps): void {
    const bucket = props.modelSourceBucket!;
    if (bucket instanceof s3.Bucket) {
      bucket.enableEventBridgeNotification();
      const handlerPolicy = bucket.node.tryFindChild('Notifications');
      if (handlerPolicy) {
        Validations.of(handlerPolicy).acknowledge({
          id: 'NIST.800.53.R5-IAMNoInlinePolicy',
          reason: 'CDK bucket-notification helper with a generated single-purpose policy (s3:PutBucketNotification on this bucket).',
        });
      }
    } else if (!props.modelSourceEventBridgeEnabled) {
      throw propError(this, TYPE, 'modelSourceBucket',
        'is imported, so its EventBridge notifications cannot be checked or turned on from here; turn them on for the bucket ' +
        'and set modelSourceEventBridgeEnabled: true, or pass a bucket defined in this app');
    }
    const prefix = props.modelSourcePrefix ?? '';
    new events.Rule(this, 'StartOnUpload', {
      description: `Start a ModelSeal build when a training artifact lands in s3://.../${prefix}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [bucket.bucketName] },
          object: { key: [{ prefix }] },
        },
      },
      targets: [new targets.CodeBuildProject(this.project, {
        event: events.RuleTargetInput.fromObject({
          environmentVariablesOverride: [{
            name: 'MODELSEAL_SOURCE_KEY',
            type: 'PLAINTEXT',
            value: events.EventField.fromPath('$.detail.object.key'),
          }],
        }),
      })],
    });
  }

  /**
   * Acknowledges, with their reasons, the cdk-nag findings this runner causes on purpose.
   *
   * Each IAM5 finding is a wildcard *resource* (never an action) that the service or the layout requires.
   */
  private acknowledgeFindings(props: HardenedBuildRunnerProps): void {
    const stack = Stack.of(this);
    const policy = this.role.node.findChild('DefaultPolicy');
    acknowledgeWildcardResources(policy, ['*'],
      'EC2 network-interface describes and ecr:GetAuthorizationToken support no resource-level permissions (AWS service authorization reference).');
    acknowledgeWildcardResources(policy, [`${this.logGroup.logGroupArn}:*`],
      'Each build writes its own log streams, named at run time, inside the runner log group only.');
    acknowledgeWildcardResources(policy, [`arn:${stack.partition}:ec2:${stack.region}:${stack.account}:network-interface/*`],
      'CodeBuild creates the network interfaces at run time; the permission is bound to the runner subnets with ec2:Subnet and ec2:AuthorizedService.');
    acknowledgeWildcardResources(policy, storeObjectArns(props.store.bucket),
      'Attestation keys are content-addressed under fixed prefixes and known only after signing; the store bucket policy refuses overwrites.');
    if (props.modelSourceBucket) {
      acknowledgeWildcardResources(policy, [props.modelSourceBucket.arnForObjects(`${props.modelSourcePrefix ?? ''}*`)],
        'The runner reads the training inputs under the configured prefix, read only.');
    }
    const lookup = this.node.tryFindChild('S3PrefixList');
    if (lookup) {
      acknowledgeWildcardResources(lookup, ['*'], 'ec2:DescribePrefixLists supports no resource-level permissions; it is the only action of this lookup.');
    }
    // CodeBuild always builds a VPC policy for its role; with the immutable role view it is never attached or synthesized.
    const projectPolicy = this.project.node.tryFindChild('PolicyDocument');
    if (projectPolicy) {
      acknowledgeWildcardResources(projectPolicy, ['*'],
        'This policy is not synthesized: the project gets an immutable view of the runner role, whose statements are written out explicitly.');
    }
    Validations.of(this).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The runner role policies are generated per runner from exact action lists (src/aws/perms.ts) and reviewed with the stack; managed policies would be shared and drift.',
    });
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB5',
      reason: 'The build image is the customer training image, pinned by digest and recorded in the SLSA provenance; CodeBuild curated images do not carry the training stack.',
    });
    for (const singleton of ['AWS679f53fac002430cb0da5b7982bd2287', 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834']) {
      const fn = stack.node.tryFindChild(singleton);
      if (!fn) continue;
      Validations.of(fn).acknowledge(
        { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'CDK deploy-time helper function (S3 prefix-list lookup / bucket notifications): it needs only its own CloudWatch log stream, which the AWS managed basic execution policy grants.' },
        { id: 'AwsSolutions-L1', reason: 'CDK deploy-time helper function whose runtime is chosen by aws-cdk-lib; it runs only during deployments.' },
        { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'CDK deploy-time helper function invoked only by CloudFormation during deployments.' },
        { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'CDK deploy-time helper function invoked synchronously by CloudFormation, which reports its failures.' },
        { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: 'CDK deploy-time helper function that calls only AWS control-plane APIs during deployments.' },
        { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK deploy-time helper function with a generated single-purpose policy.' },
      );
    }
  }
}

/** The folder holding the bundled CLI (`assets/modelseal-cli.js`), relative to the compiled library or the source. */
function cliAssetDir(): string {
  return path.join(__dirname, '..', '..', 'assets');
}

function logGroupArn(stack: Stack, name: string): string {
  return `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${name}`;
}

function plain(vars: Record<string, string>): Record<string, codebuild.BuildEnvironmentVariable> {
  const out: Record<string, codebuild.BuildEnvironmentVariable> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = { type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value: v };
  return out;
}
