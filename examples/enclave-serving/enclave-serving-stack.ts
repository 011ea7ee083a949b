import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your app: import { AttestationStore, EnclaveServingTier, ModelSigningKey, ModelWeightsKey } from 'modelseal';
import { AttestationStore, EnclaveServingTier, ModelSigningKey, ModelWeightsKey } from '../../src';

/**
 * PCR8 of the example's enclave images: the SHA-384 of the certificate the pipeline signs them with
 * (`nitro-cli build-enclave --signing-certificate ... --private-key ...` prints it as `Measurements.PCR8`).
 */
export const ENCLAVE_PCR8 = '4f8fc575f5b9fddbfde092234662f90311f59c93b0378b36c75f8e02b5b52ea0fb75850c1a5d20371a9229743ecba9be';

/**
 * The example Nitro Enclave serving tier: a weights key that decrypts only for enclave images signed with the
 * pipeline's certificate (PCR8), an attestation store and a signing key, the seal build's role (it makes data keys,
 * never decrypts), and an Auto Scaling group of enclave hosts behind an internal load balancer, in a VPC with no
 * internet access (VPC endpoints only).
 */
export class EnclaveServingStack extends Stack {
  public readonly store: AttestationStore;
  public readonly signingKey: ModelSigningKey;
  public readonly weightsKey: ModelWeightsKey;
  public readonly artifacts: s3.Bucket;
  public readonly sealRole: iam.Role;
  public readonly tier: EnclaveServingTier;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.store = new AttestationStore(this, 'Store');
    this.signingKey = new ModelSigningKey(this, 'SigningKey');
    this.weightsKey = new ModelWeightsKey(this, 'WeightsKey', { enclavePcr8: [ENCLAVE_PCR8] });

    // The seal build (HardenedBuildRunner's seal project) encrypts the weights: it may make data keys, never decrypt.
    this.sealRole = new iam.Role(this, 'SealRole', {
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      description: 'Seals model weights for the enclave tier (stands in for the seal build)',
    });
    this.weightsKey.grantEncrypt(this.sealRole);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_YEAR });
    vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL });
    this.artifacts = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.store.accessLogsBucket,
      serverAccessLogsPrefix: 'enclave-artifacts/',
    });

    const policy = (attestations: object[]) => JSON.stringify({
      apiVersion: 'modelseal.dev/v1',
      kind: 'TrustPolicy',
      signers: [{ name: 'ci', kmsKeyArn: this.signingKey.keyArn }],
      require: { allOf: ['ci'] },
      ...(attestations.length ? { attestations } : {}),
    });

    this.tier = new EnclaveServingTier(this, 'Serving', {
      vpc,
      weightsKey: this.weightsKey,
      store: this.store,
      artifactsBucket: this.artifacts,
      enclaveImagePrefix: 'fraud-detector/1.4.0/enclave/',
      sealedWeightsPrefix: 'fraud-detector/1.4.0/sealed/',
      trustPolicy: policy([]),
      // the sealed weights also need the seal build's attestation naming this enclave image
      sealedWeightsTrustPolicy: policy([{
        predicateType: 'https://modelseal.dev/enclave-seal/v1',
        signers: ['ci'],
        conditions: [{ name: 'enclave-image', expression: `predicate.enclave.pcrs.PCR8 == '${ENCLAVE_PCR8}'`, message: 'sealed for another enclave image' }],
      }]),
      trustPolicySigningKeys: [this.signingKey],
      enclaveMemoryMib: 8192,
      enclaveImageSizeMib: 900,
      sealedWeightsSizeMib: 2048,
    });

    // the hosts reach AWS through endpoints only: S3 (artifacts, store, CLI, the Amazon Linux repositories), KMS
    // (vsock-proxy for the enclave, GetPublicKey for the trust policy), Session Manager
    vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    const endpoints = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc, allowAllOutbound: false, description: 'VPC endpoints: HTTPS from the enclave hosts only',
    });
    endpoints.addIngressRule(this.tier.hostSecurityGroup, ec2.Port.tcp(443), 'HTTPS from the enclave hosts');
    for (const [name, service] of [
      ['KmsEndpoint', ec2.InterfaceVpcEndpointAwsService.KMS],
      ['SsmEndpoint', ec2.InterfaceVpcEndpointAwsService.SSM],
      ['SsmMessagesEndpoint', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
      ['Ec2MessagesEndpoint', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
    ] as const) {
      vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true, open: false, securityGroups: [endpoints] });
    }
    // the model's clients: only this group may reach the load balancer
    const clients = new ec2.SecurityGroup(this, 'Clients', { vpc, description: 'Clients of the fraud-detector model' });
    this.tier.connections.allowFrom(clients, ec2.Port.tcp(443), 'Clients of the model');

    Validations.of(this.sealRole).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'CDK grants write one inline policy per role naming exact actions and resources; it is reviewed with the stack.',
    });
    Validations.of(this.artifacts).acknowledge(
      { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: 'The artifacts are a signed enclave image and weights already sealed with the weights key; SSE-S3 protects them at rest.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'Replication of the artifacts is a deployment choice (destination region, role and key) the example cannot make.' },
    );
    Validations.of(flowLogs).acknowledge({
      id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      reason: 'VPC flow logs of the example VPC hold connection metadata only; use a log group with a key of your own in production.',
    });
    Validations.of(vpc.node.findChild('FlowLogs')).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The CDK flow-log role has one generated policy that writes to this log group only.',
    });
    Validations.of(vpc).acknowledge({
      id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed',
      reason: 'Nothing in this VPC uses the default security group: the hosts, the load balancer and the endpoints have their own groups.',
    });
  }
}
