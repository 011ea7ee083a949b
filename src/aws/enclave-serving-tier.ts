import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, Fn, Resource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { IAttestationStore } from './attestation-store';
import { ARTIFACT_LIST_ACTIONS, ARTIFACT_READ_OBJECT_ACTIONS, SESSION_MANAGER_INSTANCE_ACTIONS } from './enclave-perms';
import { IModelSigningKey } from './signing-key';
import { IModelWeightsKey } from './weights-key';
import { renderHostScript } from '../private/enclave-host-script';
import { EnclaveInstanceType, lookupEnclaveInstanceType } from '../private/enclave-instance-types';
import { acknowledgeWildcardResources } from '../private/nag';
import { storeObjectArns } from '../private/store-layout';
import { checkIntRange, propError } from '../private/validation';

const TYPE = 'EnclaveServingTier';
/** EC2 limits raw user data to 16 KB. */
const USER_DATA_LIMIT = 16 * 1024;
/** Base64 of a document at synth, or with Fn::Base64 at deploy time when it holds tokens. */
function base64(doc: string): string {
  return Token.isUnresolved(doc) ? Fn.base64(doc) : Buffer.from(doc, 'utf8').toString('base64');
}

/** The objects the hosts read: the enclave image prefix (in its bucket) and the sealed weights prefix. */
function artifactObjectArns(props: EnclaveServingTierProps): string[] {
  return [(props.enclaveImageBucket ?? props.artifactsBucket).arnForObjects(`${props.enclaveImagePrefix}*`),
    props.artifactsBucket.arnForObjects(`${props.sealedWeightsPrefix}*`)];
}

/** Memory the parent instance keeps for itself (OS, SSM agent, node, socat, vsock-proxy). */
const PARENT_RESERVED_MIB = 2048;

/**
 * Properties of an {@link EnclaveServingTier}.
 */
export interface EnclaveServingTierProps {
  /** The VPC of the hosts and the load balancer. The hosts need S3, KMS and Session Manager (VPC endpoints or NAT). */
  readonly vpc: ec2.IVpc;

  /**
   * The private subnets of the hosts and the internal load balancer. Public subnets are refused.
   *
   * @default - the VPC's private subnets with egress, or its isolated subnets when it has none
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /** The key the sealed weights' data key is wrapped with; the hosts' role may decrypt only for an attested enclave. */
  readonly weightsKey: IModelWeightsKey;

  /** The attestation store `modelseal verify policy` reads on the host. */
  readonly store: IAttestationStore;

  /**
   * The trust policy the host verifies the enclave image and the sealed weights against (YAML or JSON text,
   * docs/TRUST-POLICY.md). Keys must be inline PEM or `kmsKeyArn` (list those keys in `trustPolicySigningKeys`): the
   * host has no other files. It may hold tokens (e.g. a key ARN).
   */
  readonly trustPolicy: string;

  /**
   * The trust policy the sealed weights are verified against, e.g. one that also demands the enclave-seal attestation
   * (`https://modelseal.dev/enclave-seal/v1`) with the enclave image's PCR8 (docs/ENCLAVE.md).
   *
   * @default - trustPolicy
   */
  readonly sealedWeightsTrustPolicy?: string;

  /**
   * Signing keys the trust policies name by `kmsKeyArn`: the hosts' role may read their public keys.
   *
   * @default - none
   */
  readonly trustPolicySigningKeys?: IModelSigningKey[];

  /** The bucket holding the signed enclave image and the sealed weights (read only). */
  readonly artifactsBucket: s3.IBucket;

  /**
   * The bucket holding the signed enclave image, when it is not `artifactsBucket` (e.g. the sealed weights are in the
   * build runner's staging bucket, where only the builds may write). Read only.
   *
   * @default - artifactsBucket
   */
  readonly enclaveImageBucket?: s3.IBucket;

  /**
   * The prefix of the enclave image in `artifactsBucket` (ends with `/`): the image file and nothing else the trust
   * policy does not cover; the folder is verified as one model.
   */
  readonly enclaveImagePrefix: string;

  /**
   * The enclave image file (EIF) in that folder.
   *
   * @default 'image.eif'
   */
  readonly enclaveImageFile?: string;

  /** The prefix of the sealed weights in `artifactsBucket` (ends with `/`), as `modelseal seal-weights` wrote them. */
  readonly sealedWeightsPrefix: string;

  /**
   * The OMS root digest (`sha256:<hex>`) the enclave image folder must have: pins the version on top of the policy.
   *
   * @default - any image folder that meets the trust policy
   */
  readonly enclaveImageDigest?: string;

  /**
   * The OMS root digest (`sha256:<hex>`) of the sealed weights folder (from `seal-weights`): pins the version.
   *
   * @default - any sealed weights that meet the trust policy
   */
  readonly sealedWeightsDigest?: string;

  /**
   * The instance type: an enclave-capable type from the table in docs/ENCLAVE.md (Intel/AMD with at least 4 vCPUs,
   * Graviton with at least 2; never a burstable T type). A Graviton type gets an arm64 image.
   *
   * @default m6i.xlarge (4 vCPUs, 16 GiB)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * vCPUs given to the enclave (`cpu_count` of the allocator). Intel/AMD: an even number (whole cores); the parent
   * keeps at least one core.
   *
   * @default 2
   */
  readonly enclaveCpuCount?: number;

  /**
   * Memory given to the enclave, in MiB (`memory_mib` of the allocator). At least 4 times the enclave image size plus
   * twice the sealed weights (they are received and unsealed in enclave memory) when those sizes are given; at most
   * the instance's memory less 2048 MiB for the parent.
   *
   * @default 8192
   */
  readonly enclaveMemoryMib?: number;

  /**
   * The size of the enclave image file in MiB, to check `enclaveMemoryMib` at synth.
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
   * Refused when true: a debug-mode enclave measures all-zero PCRs, exposes its console to the host, and the weights
   * key never decrypts for it. The prop exists so that asking for it fails at synth with the reason.
   *
   * @default false
   */
  readonly enclaveDebugMode?: boolean;

  /**
   * The enclave's context id (CID) on the host.
   *
   * @default 16
   */
  readonly enclaveCid?: number;

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
   * The port of the internal load balancer's TCP listener. TLS passes through to the enclave.
   *
   * @default 443
   */
  readonly listenerPort?: number;

  /**
   * The port the host forwards to the enclave (and the model server listens on inside it).
   *
   * @default 8443
   */
  readonly servingPort?: number;

  /**
   * The HTTPS path of the load balancer's health check, answered by the model server inside the enclave.
   *
   * @default '/healthz'
   */
  readonly healthCheckPath?: string;

  /**
   * How long a new host has to install, fetch, verify and start the enclave before health checks count.
   *
   * @default Duration.minutes(15)
   */
  readonly healthCheckGracePeriod?: Duration;

  /**
   * The size of each host's encrypted root volume, in GiB (it holds the image and the sealed weights).
   *
   * @default 40
   */
  readonly rootVolumeSizeGiB?: number;
}

/**
 * An Auto Scaling group of Nitro Enclave hosts in private subnets behind an internal Network Load Balancer, serving a
 * model whose weights decrypt only inside an attested enclave.
 *
 * - Launch template: Nitro Enclaves on, IMDSv2 required with a hop limit of 1, an encrypted gp3 root volume, no SSH
 *   key (Session Manager), an enclave-capable instance type (checked against a table; burstable types refused).
 * - User data (one script, fixed order, stops at the first failure): Nitro Enclaves CLI and allocator; fetch the CLI,
 *   the signed enclave image and the sealed weights; `modelseal verify policy` on both; vsock-proxy with only the
 *   regional KMS endpoint; `nitro-cli run-enclave` (never `--debug-mode`); hand the enclave its inputs over vsock.
 * - Instance role: read the store and the two artifact prefixes, `kms:Decrypt` on the weights key only with a matching
 *   attestation, the Session Manager instance actions. No wildcard action.
 * - Load balancer: internal, TCP passthrough (TLS ends inside the enclave, so the host never sees requests in the
 *   clear), HTTPS health checks answered by the enclave's model server. No client may connect until you allow one
 *   through `connections`.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/nitro-enclave.html
 */
export class EnclaveServingTier extends Resource implements iam.IGrantable {
  /** The hosts' role. */
  public readonly role: iam.IRole;
  /** The hosts' role, as the principal grants go to. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The launch template of the hosts. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The Auto Scaling group of the hosts. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The internal Network Load Balancer. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** The hosts' security group. */
  public readonly hostSecurityGroup: ec2.SecurityGroup;
  /**
   * The load balancer's network connections: no client is allowed until you say which, e.g.
   * `tier.connections.allowFrom(clients, ec2.Port.tcp(443))`.
   */
  public readonly connections: ec2.Connections;
  /** The host script (user data) as rendered, with tokens where values come from other resources. */
  public readonly hostScript: string;

  constructor(scope: Construct, id: string, props: EnclaveServingTierProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // ---- validation ----------------------------------------------------------------------------------------------
    if (props.enclaveDebugMode) {
      throw propError(this, TYPE, 'enclaveDebugMode',
        'is true, which is refused: a debug-mode enclave (nitro-cli run-enclave --debug-mode) measures all-zero PCRs and exposes its console to the host, so the weights key never decrypts for it');
    }
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.M6I, ec2.InstanceSize.XLARGE);
    const instance = lookupEnclaveInstanceType(instanceType.toString());
    if (typeof instance === 'string') {
      throw propError(this, TYPE, 'instanceType', `${instance}`);
    }
    const cpuCount = props.enclaveCpuCount ?? 2;
    const memoryMib = props.enclaveMemoryMib ?? 8192;
    this.checkEnclaveSize(instance, cpuCount, memoryMib, props);
    const listenerPort = props.listenerPort ?? 443;
    const servingPort = props.servingPort ?? 8443;
    checkIntRange(this, TYPE, 'listenerPort', listenerPort, 1, 65535);
    checkIntRange(this, TYPE, 'servingPort', servingPort, 1024, 65535);
    const cid = props.enclaveCid ?? 16;
    checkIntRange(this, TYPE, 'enclaveCid', cid, 4, 4294967294);
    const minCapacity = props.minCapacity ?? 2;
    const maxCapacity = props.maxCapacity ?? minCapacity;
    checkIntRange(this, TYPE, 'minCapacity', minCapacity, 1, 1000);
    checkIntRange(this, TYPE, 'maxCapacity', maxCapacity, minCapacity, 1000);
    const volume = props.rootVolumeSizeGiB ?? 40;
    checkIntRange(this, TYPE, 'rootVolumeSizeGiB', volume, 8, 16384);
    for (const [prop, prefix] of [['enclaveImagePrefix', props.enclaveImagePrefix], ['sealedWeightsPrefix', props.sealedWeightsPrefix]] as const) {
      if (Token.isUnresolved(prefix)) continue;
      if (typeof prefix !== 'string' || !/^[A-Za-z0-9!_.*'()/-]+\/$/.test(prefix) || prefix.startsWith('/') || prefix.split('/').some((s) => s === '..' || s === '.')) {
        throw propError(this, TYPE, prop, `must be an S3 key prefix ending with '/' (no leading '/', no '.' or '..' segment), got ${JSON.stringify(prefix)}`);
      }
    }
    const imageBucket = props.enclaveImageBucket ?? props.artifactsBucket;
    if (imageBucket === props.artifactsBucket && !Token.isUnresolved(props.enclaveImagePrefix) && !Token.isUnresolved(props.sealedWeightsPrefix) &&
      (props.enclaveImagePrefix.startsWith(props.sealedWeightsPrefix) || props.sealedWeightsPrefix.startsWith(props.enclaveImagePrefix))) {
      throw propError(this, TYPE, 'sealedWeightsPrefix', `and enclaveImagePrefix must not contain each other (each is verified as its own model), got '${props.sealedWeightsPrefix}' and '${props.enclaveImagePrefix}'`);
    }
    const imageFile = props.enclaveImageFile ?? 'image.eif';
    if (!/^[A-Za-z0-9._-]+\.eif$/.test(imageFile)) {
      throw propError(this, TYPE, 'enclaveImageFile', `must be a file name ending in .eif (letters, digits, '.', '_', '-'), got ${JSON.stringify(imageFile)}`);
    }
    for (const [prop, digest] of [['enclaveImageDigest', props.enclaveImageDigest], ['sealedWeightsDigest', props.sealedWeightsDigest]] as const) {
      if (digest !== undefined && !Token.isUnresolved(digest) && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw propError(this, TYPE, prop, `must be sha256: followed by 64 lower-case hex characters (as modelseal digest prints it), got ${JSON.stringify(digest)}`);
      }
    }
    for (const [prop, doc] of [['trustPolicy', props.trustPolicy], ['sealedWeightsTrustPolicy', props.sealedWeightsTrustPolicy]] as const) {
      if (doc === undefined && prop === 'sealedWeightsTrustPolicy') continue;
      if (!Token.isUnresolved(doc) && (typeof doc !== 'string' || doc.trim() === '')) {
        throw propError(this, TYPE, prop, 'must be a trust policy document (YAML or JSON text), got an empty value');
      }
    }
    if (props.healthCheckPath !== undefined && !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(props.healthCheckPath)) {
      throw propError(this, TYPE, 'healthCheckPath', `must be a URL path starting with '/', got ${JSON.stringify(props.healthCheckPath)}`);
    }

    const subnets = props.vpcSubnets ?? (props.vpc.privateSubnets.length > 0
      ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    const selected = props.vpc.selectSubnets(subnets);
    const publicIds = new Set(props.vpc.publicSubnets.map((s) => s.subnetId));
    const exposed = selected.subnets.filter((s) => publicIds.has(s.subnetId));
    if (exposed.length > 0) {
      throw propError(this, TYPE, 'vpcSubnets', `must select private subnets only; it selects ${exposed.length} public subnet(s)`);
    }

    // ---- network -------------------------------------------------------------------------------------------------
    this.hostSecurityGroup = new ec2.SecurityGroup(this, 'HostSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal enclave hosts: the serving port from the load balancer; HTTPS out (S3, KMS, Session Manager)',
    });
    this.hostSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3, KMS and Session Manager (endpoints or NAT)');
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'ModelSeal enclave serving load balancer: clients allowed through connections; the hosts\' serving port',
    });
    lbSecurityGroup.addEgressRule(this.hostSecurityGroup, ec2.Port.tcp(servingPort), 'Requests and health checks to the hosts');
    this.hostSecurityGroup.addIngressRule(lbSecurityGroup, ec2.Port.tcp(servingPort), 'Requests and health checks from the load balancer');
    this.connections = lbSecurityGroup.connections;

    // ---- role ----------------------------------------------------------------------------------------------------
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `ModelSeal enclave host ${this.node.path}: read the store and the artifacts, decrypt only in an attested enclave`,
    });
    this.role = role;
    this.grantPrincipal = role;
    const cliFile = path.join(__dirname, '..', '..', 'assets', 'modelseal-cli.js');
    const cli = new s3assets.Asset(this, 'Cli', { path: cliFile });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadModelSealCli',
      actions: ARTIFACT_READ_OBJECT_ACTIONS,
      resources: [cli.bucket.arnForObjects(cli.s3ObjectKey)],
    }));
    const artifactObjects = artifactObjectArns(props);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadEnclaveArtifacts',
      actions: ARTIFACT_READ_OBJECT_ACTIONS,
      resources: artifactObjects,
    }));
    if (imageBucket === props.artifactsBucket) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ListEnclaveArtifacts',
        actions: ARTIFACT_LIST_ACTIONS,
        resources: [props.artifactsBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${props.enclaveImagePrefix}*`, `${props.sealedWeightsPrefix}*`] } },
      }));
    } else {
      for (const [sid, bucket, prefix] of [['ListEnclaveImage', imageBucket, props.enclaveImagePrefix], ['ListSealedWeights', props.artifactsBucket, props.sealedWeightsPrefix]] as const) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid, actions: ARTIFACT_LIST_ACTIONS, resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
        }));
      }
      imageBucket.encryptionKey?.grantDecrypt(role);
    }
    props.artifactsBucket.encryptionKey?.grantDecrypt(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SessionManager',
      actions: SESSION_MANAGER_INSTANCE_ACTIONS,
      resources: ['*'],
    }));
    props.store.grantRead(role);
    props.weightsKey.grantDecryptInEnclave(role);
    for (const key of props.trustPolicySigningKeys ?? []) key.grantVerify(role);

    // ---- host --------------------------------------------------------------------------------------------------
    this.hostScript = renderHostScript({
      region: stack.region,
      urlSuffix: Aws.URL_SUFFIX,
      cliBucket: cli.s3BucketName,
      cliKey: cli.s3ObjectKey,
      cliSha256: createHash('sha256').update(fs.readFileSync(cliFile)).digest('hex'),
      artifactsBucket: props.artifactsBucket.bucketName,
      enclaveImageBucket: imageBucket.bucketName,
      enclaveImagePrefix: props.enclaveImagePrefix,
      enclaveImageFile: imageFile,
      sealedWeightsPrefix: props.sealedWeightsPrefix,
      storeUri: props.store.storeUri,
      trustPolicyBase64: base64(props.trustPolicy),
      sealedWeightsPolicyBase64: base64(props.sealedWeightsTrustPolicy ?? props.trustPolicy),
      enclaveImageDigest: props.enclaveImageDigest,
      sealedWeightsDigest: props.sealedWeightsDigest,
      cpuCount,
      memoryMib,
      enclaveCid: cid,
      servingPort,
    });
    // values from other resources (tokens) are not known here: the literal part must fit at least
    const literal = this.hostScript.replace(/\$\{Token\[[^\]]+\]\}/g, '').length;
    if (literal > USER_DATA_LIMIT) {
      throw propError(this, TYPE, 'trustPolicy', `makes the host script ${literal} bytes, over EC2's ${USER_DATA_LIMIT}-byte user data limit; shorten the policy (inline fewer keys, use kmsKeyArn)`);
    }

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: instance.arch === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      role,
      securityGroup: this.hostSecurityGroup,
      userData: ec2.UserData.custom(this.hostScript),
      nitroEnclaveEnabled: true,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      httpEndpoint: true,
      instanceMetadataTags: false,
      detailedMonitoring: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(volume, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      }],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Hosts', {
      vpc: props.vpc,
      vpcSubnets: subnets,
      launchTemplate: this.launchTemplate,
      minCapacity,
      maxCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: props.healthCheckGracePeriod ?? Duration.minutes(15),
      }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate(),
      cooldown: Duration.minutes(5),
    });

    // ---- load balancer -------------------------------------------------------------------------------------------
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: subnets,
      internetFacing: false,
      crossZoneEnabled: true,
      securityGroups: [lbSecurityGroup],
    });
    const listener = this.loadBalancer.addListener('Listener', { port: listenerPort, protocol: elbv2.Protocol.TCP });
    listener.addTargets('Hosts', {
      port: servingPort,
      protocol: elbv2.Protocol.TCP,
      targets: [this.autoScalingGroup],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        protocol: elbv2.Protocol.HTTPS,
        path: props.healthCheckPath ?? '/healthz',
        port: 'traffic-port',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });

    this.acknowledgeFindings(props, cli);
  }

  private checkEnclaveSize(instance: EnclaveInstanceType, cpuCount: number, memoryMib: number, props: EnclaveServingTierProps): void {
    const name = `${instance.family}.${instance.size}`;
    const maxCpu = instance.vcpus - instance.parentVcpus;
    for (const [prop, value] of [['enclaveCpuCount', cpuCount], ['enclaveMemoryMib', memoryMib]] as const) {
      if (Token.isUnresolved(value)) {
        throw propError(this, TYPE, prop, `must be known at synth, got a deploy-time value (a parameter or another token): it is checked against ${name} `
          + 'and written into the Nitro Enclaves allocator file of the launch template');
      }
    }
    if (!Number.isInteger(cpuCount) || cpuCount < (instance.arch === 'x86_64' ? 2 : 1) || cpuCount > maxCpu) {
      throw propError(this, TYPE, 'enclaveCpuCount', `must be an integer from ${instance.arch === 'x86_64' ? 2 : 1} to ${maxCpu} on ${name} ` +
        `(${instance.vcpus} vCPUs; the parent keeps ${instance.parentVcpus}), got ${cpuCount}`);
    }
    if (instance.arch === 'x86_64' && cpuCount % 2 !== 0) {
      throw propError(this, TYPE, 'enclaveCpuCount', `must be even on ${name}: an enclave takes whole cores (two threads each) on Intel and AMD, got ${cpuCount}`);
    }
    const maxMemory = instance.memoryMib - PARENT_RESERVED_MIB;
    if (!Number.isInteger(memoryMib) || memoryMib < 64 || memoryMib > maxMemory) {
      throw propError(this, TYPE, 'enclaveMemoryMib', `must be an integer from 64 to ${maxMemory} MiB on ${name} ` +
        `(${instance.memoryMib} MiB; the parent keeps ${PARENT_RESERVED_MIB}), got ${memoryMib}`);
    }
    checkIntRange(this, TYPE, 'enclaveImageSizeMib', props.enclaveImageSizeMib, 1, 1048576);
    checkIntRange(this, TYPE, 'sealedWeightsSizeMib', props.sealedWeightsSizeMib, 1, 1048576);
    const image = props.enclaveImageSizeMib ?? 0;
    const weights = props.sealedWeightsSizeMib ?? 0;
    const needed = 4 * image + 2 * weights;
    if (memoryMib < needed) {
      throw propError(this, TYPE, 'enclaveMemoryMib', `is ${memoryMib} MiB, less than the ${needed} MiB the enclave needs: ` +
        `4 x the ${image} MiB enclave image (nitro-cli's rule) + 2 x the ${weights} MiB of sealed weights (received and unsealed in enclave memory)`);
    }
  }

  /** Acknowledges, with their reasons, the cdk-nag findings this tier causes on purpose, on its own resources only. */
  private acknowledgeFindings(props: EnclaveServingTierProps, cli: s3assets.Asset): void {
    const policy = this.role.node.findChild('DefaultPolicy');
    acknowledgeWildcardResources(policy, ['*'],
      'The Session Manager instance actions (ssm:UpdateInstanceInformation, ssmmessages:*Channel) support no resource-level permissions for the instance\'s own registration.');
    acknowledgeWildcardResources(policy, storeObjectArns(props.store.bucket, props.store.prefix),
      'Attestation keys are content-addressed under fixed prefixes and known only when read; the store is read only.');
    acknowledgeWildcardResources(policy, artifactObjectArns(props),
      'The host reads the enclave image and the sealed weights under their two prefixes only, read only; the files are verified before use.');
    acknowledgeWildcardResources(policy, [cli.bucket.arnForObjects(cli.s3ObjectKey)], 'The one CLI asset object (checked by SHA-256 on the host).');
    Validations.of(this.role).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The host role policy is generated per tier from exact action lists (src/aws/enclave-perms.ts) and reviewed with the stack; a managed policy would be shared and drift.',
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Scaling notifications are a deployment choice (topic, subscribers, key); instance health is visible in the load balancer and Auto Scaling activity history.',
    });
    Validations.of(this.loadBalancer).acknowledge(
      { id: 'AwsSolutions-ELB2', reason: 'A TCP passthrough listener: TLS ends inside the enclave, so the load balancer sees no requests to log (NLB access logs cover TLS listeners only).' },
      { id: 'NIST.800.53.R5-ELBLoggingEnabled', reason: 'A TCP passthrough listener: TLS ends inside the enclave, so the load balancer sees no requests to log (NLB access logs cover TLS listeners only).' },
      { id: 'NIST.800.53.R5-ELBDeletionProtectionEnabled', reason: 'The load balancer holds no state: the stack recreates it, and deletion protection would block removing the tier.' },
    );
    Validations.of(this.loadBalancer.node.findChild('Listener')).acknowledge({
      id: 'NIST.800.53.R5-ELBv2ACMCertificateRequired',
      reason: 'TLS ends inside the enclave with a key only the enclave holds; an ACM certificate on the load balancer would decrypt requests outside the enclave.',
    });
  }
}
