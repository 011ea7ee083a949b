import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AttestationStore, HardenedBuildRunner, HardenedBuildRunnerProps, ModelSigningKey } from '../../src';
import {
  BUILD_LOG_ACTIONS, CODEBUILD_VPC_ACTIONS, ECR_PULL_ACTIONS, ECR_PUSH_SIGNATURE_ACTIONS, ECR_SCAN_ACTIONS, LOGS_KEY_ACTIONS,
  RUNNER_KEY_ACTIONS, SIGNER_SIGN_ACTIONS, SYMMETRIC_KEY_ADMIN_ACTIONS,
} from '../../src/aws/perms';
import { ensureCliBundle } from '../helpers/cli-bundle';
import { deployCallRows } from '../helpers/deploy-calls';
import { ACCOUNT, ADMINISTRATOR_ACCESS, REGION, TemplateSimulator } from '../helpers/iam-sim';
import { expectNagClean } from '../helpers/nag';

const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'a'.repeat(64)}`;

beforeAll(() => ensureCliBundle());

function setup(overrides: Partial<HardenedBuildRunnerProps> = {}, withSource = true) {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  const signingKey = new ModelSigningKey(stack, 'Key');
  const store = new AttestationStore(stack, 'Store');
  const source = withSource ? new s3.Bucket(stack, 'Source', { enforceSSL: true }) : undefined;
  const runner = new HardenedBuildRunner(stack, 'Runner', {
    signingKey,
    store,
    buildImage: IMAGE,
    buildCommands: ['python train.py --out model'],
    modelName: 'fraud-detector',
    modelSourceBucket: source,
    modelSourcePrefix: withSource ? 'runs/' : undefined,
    s3PrefixListId: 'pl-6ca54005',
    ...overrides,
  });
  return { app, stack, runner, get template() { return Template.fromStack(stack); } };
}

const logical = (prefix: string) => Match.stringLikeRegexp(`^${prefix}[A-F0-9]{8}$`);

describe('HardenedBuildRunner', () => {
  test('network: isolated subnets only, no internet or NAT gateway, no route to one', () => {
    const { template } = setup();
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      VpcConfig: {
        Subnets: [{ Ref: Match.stringLikeRegexp('^RunnerVpcIsolatedSubnet1') }, { Ref: Match.stringLikeRegexp('^RunnerVpcIsolatedSubnet2') }],
        SecurityGroupIds: [{ 'Fn::GetAtt': [logical('RunnerSecurityGroup'), 'GroupId'] }],
      },
    });
  });

  test('endpoints: KMS, Logs, STS, ECR api and dkr, AWS Signer (interface, private DNS) and an S3 gateway', () => {
    const { template } = setup();
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')) as any[];
    // ServiceName is Fn::Join ['', ['com.amazonaws.', {Ref: AWS::Region}, '.<service>']]
    const names = endpoints.map((e) => (e.Properties.ServiceName['Fn::Join'][1][2] as string).replace(/^\./, ''));
    expect(names.sort()).toEqual(['ecr.api', 'ecr.dkr', 'kms', 'logs', 's3', 'signer', 'sts'].sort());
    for (const e of endpoints.filter((x) => x.Properties.VpcEndpointType === 'Interface')) {
      expect(e.Properties.PrivateDnsEnabled).toBe(true);
      expect(e.Properties.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^RunnerEndpointSecurityGroup/), 'GroupId'] }]);
    }
  });

  test('security group: egress only HTTPS to the endpoint group and the S3 prefix list', () => {
    const { template } = setup();
    // No inline egress: CloudFormation removes a group's default allow-all rule once an explicit egress rule is added,
    // and the two rules below are the only ones.
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'ModelSeal build runner: HTTPS egress to VPC endpoints and S3 only',
      SecurityGroupEgress: Match.absent(),
    });
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r: any) => r.Properties);
    expect(egress).toHaveLength(2);
    expect(egress).toEqual(expect.arrayContaining([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationPrefixListId: 'pl-6ca54005' }),
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^RunnerEndpointSecurityGroup/), 'GroupId'] } }),
    ]));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [logical('RunnerSecurityGroup'), 'GroupId'] },
    });
  });

  test('S3 gateway endpoint policy: CLI asset, ECR layers, model source, store prefixes', () => {
    const { template } = setup();
    const gateway = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } }))[0] as any;
    const statements = gateway.Properties.PolicyDocument.Statement;
    expect(statements.map((s: any) => s.Action)).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(JSON.stringify(statements[0].Resource)).toContain('-starport-layer-bucket/*');
    expect(JSON.stringify(statements[0].Resource)).toContain('cdk-hnb659fds-assets-');
    expect(JSON.stringify(statements[0].Resource)).toContain('/runs/*');
    expect(JSON.stringify(statements[2].Resource)).toContain('/bundles/*');
  });

  test('ECR endpoint policies: only this runner\'s repositories (no pushing weights to another registry)', () => {
    const { template } = setup({ servingImageSigning: true });
    const ecr = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).filter((e: any) =>
      /\.ecr\.(api|dkr)$/.test(e.Properties.ServiceName['Fn::Join'][1][2])) as any[];
    expect(ecr).toHaveLength(2);
    for (const e of ecr) {
      expect(e.Properties.PolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ECR_PULL_ACTIONS,
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:111122223333:repository/trainer']] },
        },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: [...ECR_PULL_ACTIONS, ...ECR_PUSH_SIGNATURE_ACTIONS, ...ECR_SCAN_ACTIONS],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RunnerServingImages[A-F0-9]{8}$/), 'Arn'] },
        },
      ]);
    }
  });

  test('environment: unprivileged, digest-pinned image pulled with the service role, timeouts, concurrency, encryption', () => {
    const { template } = setup({ timeout: Duration.hours(2), concurrentBuildLimit: 3 });
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: {
        PrivilegedMode: false,
        Image: { 'Fn::Join': ['', ['111122223333.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, `/trainer@sha256:${'a'.repeat(64)}`]] },
        ImagePullCredentialsType: 'SERVICE_ROLE',
        ComputeType: 'BUILD_GENERAL1_LARGE',
        EnvironmentVariables: Match.arrayWith([
          { Name: 'MODELSEAL_SIGNER', Type: 'PLAINTEXT', Value: 'kms' },
          { Name: 'MODELSEAL_KMS_KEY', Type: 'PLAINTEXT', Value: { 'Fn::GetAtt': [logical('Key'), 'Arn'] } },
          { Name: 'BUILDER_IMAGE', Type: 'PLAINTEXT', Value: IMAGE },
        ]),
      },
      TimeoutInMinutes: 120,
      QueuedTimeoutInMinutes: 60,
      ConcurrentBuildLimit: 3,
      EncryptionKey: { 'Fn::GetAtt': [logical('RunnerKey'), 'Arn'] },
      LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: logical('RunnerLogs') } } },
      Source: { Type: 'S3' },
    });
  });

  test('the project waits for the role policy (CodeBuild checks the role EC2 permissions at create)', () => {
    const { template } = setup();
    const project = Object.values(template.findResources('AWS::CodeBuild::Project'))[0] as any;
    expect(project.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^RunnerRoleDefaultPolicy/)]));
  });

  test('runner key policy: the runner role may use it, ECR only through ECR, logs only through Logs; admins never use it', () => {
    const { template } = setup({ servingImageSigning: true });
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('build runner'),
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowKeyAdministration', Action: SYMMETRIC_KEY_ADMIN_ACTIONS }),
          {
            Sid: 'AllowUseThroughEcrByAccountPrincipals',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
            Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ecr.', { Ref: 'AWS::Region' }, '.amazonaws.com']] }, 'kms:CallerAccount': { Ref: 'AWS::AccountId' } } },
          },
          Match.objectLike({
            Sid: 'AllowCloudWatchLogs',
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Action: LOGS_KEY_ACTIONS,
            // exactly the runner's two log groups, not every log group of the account
            Condition: {
              ArnEquals: {
                'kms:EncryptionContext:aws:logs:arn': [
                  { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, Match.stringLikeRegexp(':log-group:/modelseal/.*Runner.*/builds$')]] },
                  { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, Match.stringLikeRegexp(':log-group:/modelseal/.*Runner.*/flow-logs$')]] },
                ],
              },
            },
          }),
          {
            Sid: 'AllowRunnerRole',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::GetAtt': [logical('RunnerRole'), 'Arn'] } },
            Action: RUNNER_KEY_ACTIONS,
            Resource: '*',
          },
        ]),
      },
    });
  });

  test('logs: KMS-encrypted log group with retention', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: { 'Fn::GetAtt': [logical('RunnerKey'), 'Arn'] },
      RetentionInDays: 365,
    });
  });

  test('role: the full statement list, exact actions, resources and conditions; nothing else', () => {
    const { template, stack } = setup();
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^RunnerRole') }] } });
    expect(Object.keys(policies)).toHaveLength(1);
    const statements = (Object.values(policies)[0] as any).Properties.PolicyDocument.Statement;
    const region = { Ref: 'AWS::Region' };
    const account = { Ref: 'AWS::AccountId' };
    const storeArn = { 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] };
    expect(statements).toEqual([
      {
        Sid: 'WriteBuildLogs',
        Effect: 'Allow',
        Action: BUILD_LOG_ACTIONS,
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/^RunnerLogs/), 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^RunnerLogs/), 'Arn'] }, ':*']] },
        ],
      },
      { Sid: 'ReadModelSealCli', Effect: 'Allow', Action: 's3:GetObject', Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }) },
      { Sid: 'UseRunnerKey', Effect: 'Allow', Action: RUNNER_KEY_ACTIONS, Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RunnerKey/), 'Arn'] } },
      { Sid: 'ManageBuildNetworkInterfaces', Effect: 'Allow', Action: CODEBUILD_VPC_ACTIONS, Resource: '*' },
      {
        Sid: 'AttachBuildNetworkInterfaces',
        Effect: 'Allow',
        Action: 'ec2:CreateNetworkInterfacePermission',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', region, ':', account, ':network-interface/*']] },
        Condition: {
          StringEquals: {
            'ec2:Subnet': [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', region, ':', account, ':subnet/', { Ref: expect.stringMatching(/^RunnerVpcIsolatedSubnet1/) }]] },
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', region, ':', account, ':subnet/', { Ref: expect.stringMatching(/^RunnerVpcIsolatedSubnet2/) }]] },
            ],
            'ec2:AuthorizedService': 'codebuild.amazonaws.com',
          },
        },
      },
      { Sid: 'PullBuildImage', Effect: 'Allow', Action: ECR_PULL_ACTIONS, Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:111122223333:repository/trainer']] } },
      { Sid: 'GetEcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
        Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      },
      { Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] } },
      {
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: ['bundles', 'attestations', 'notation', 'revocations', 'refs'].map((p) => ({ 'Fn::Join': ['', [storeArn, `/${p}/*`]] })),
      },
      {
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StoreKey/), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', region, '.amazonaws.com']] }, 'kms:EncryptionContext:aws:s3:arn': storeArn } },
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Source/), 'Arn'] }, '/runs/*']] } },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Source/), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['runs/*'] } },
      },
    ]);
    // no delete, no PassRole, no wildcard action anywhere in the runner's role
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions.filter((a: string) => a.includes('*') || /Delete(Object|Bucket)|PassRole/.test(a))).toEqual([]);
    void stack;
  });

  test('the signing key policy names the runner role as its only signer', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'ECC_NIST_P256',
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DenySignToPrincipalsNotGranted',
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [logical('RunnerRole'), 'Arn'] }] } },
        })]),
      },
    });
  });

  test('buildspec: user commands, then sign kms, SBOM, provenance, publish, ref — all in the build phase', () => {
    const { template } = setup();
    const project = Object.values(template.findResources('AWS::CodeBuild::Project'))[0] as any;
    const spec = JSON.parse(project.Properties.Source.BuildSpec);
    expect(spec.env).toEqual({ shell: 'bash' });
    expect(spec.phases.post_build).toBeUndefined();
    const build: string[] = spec.phases.build.commands;
    expect(build.slice(0, 3)).toEqual([
      'set -euo pipefail',
      'MODELSEAL="${MODELSEAL:-node $CODEBUILD_SRC_DIR/modelseal-cli.js}"',
      'MODEL_VERSION="${MODEL_VERSION:-${CODEBUILD_BUILD_NUMBER:-}}"',
    ]);
    expect(build[3]).toBe('python train.py --out model');
    const order = ['sign "$MODELSEAL_SIGNER"', 'attest sbom', 'attest provenance', 'publish --store', 'ref set'];
    const at = order.map((needle) => build.findIndex((c) => c.includes(needle)));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  test('serving image: immutable, scanned, KMS-encrypted repository, Notation signing profile, exact extra actions', () => {
    const { template } = setup({ servingImageSigning: true });
    template.hasResourceProperties('AWS::ECR::Repository', {
      ImageTagMutability: 'IMMUTABLE',
      ImageScanningConfiguration: { ScanOnPush: true },
      EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [logical('RunnerKey'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Signer::SigningProfile', { PlatformId: 'Notation-OCI-SHA384-ECDSA' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^RunnerRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: SIGNER_SIGN_ACTIONS, Resource: { 'Fn::GetAtt': [logical('RunnerSigningProfile'), 'Arn'] } },
          { Effect: 'Allow', Action: [...ECR_PULL_ACTIONS, ...ECR_PUSH_SIGNATURE_ACTIONS, ...ECR_SCAN_ACTIONS], Resource: { 'Fn::GetAtt': [logical('RunnerServingImages'), 'Arn'] } },
        ]),
      },
    });
  });

  test('startOnUpload: EventBridge rule on the source prefix passes the object key to the build', () => {
    const { template } = setup({ startOnUpload: true });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': { bucket: { name: [{ Ref: logical('Source') }] }, object: { key: [{ prefix: 'runs/' }] } },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [logical('RunnerProject'), 'Arn'] },
        InputTransformer: Match.objectLike({ InputPathsMap: { 'detail-object-key': '$.detail.object.key' } }),
      })],
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
  });

  test('grantStartBuild: codebuild:StartBuild on the project only', () => {
    const { stack, runner } = setup();
    const ops = new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
    runner.grantStartBuild(ops);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Ops') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: { 'Fn::GetAtt': [logical('RunnerProject'), 'Arn'] } }] },
    });
  });

  test('a VPC you pass gets no endpoints unless asked (its route tables serve other workloads); HTTPS egress to its CIDR', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Shared', { natGateways: 0, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new HardenedBuildRunner(stack, 'Runner', {
      signingKey: new ModelSigningKey(stack, 'Key'),
      store: new AttestationStore(stack, 'Store'),
      buildImage: IMAGE,
      buildCommands: ['make model'],
      modelName: 'm',
      vpc, // createVpcEndpoints left at its default
      s3PrefixListId: 'pl-6ca54005',
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Shared'), 'CidrBlock'] }, FromPort: 443, ToPort: 443 })]),
    });
  });

  test('without s3PrefixListId the prefix list is looked up at deploy time', () => {
    const { template } = setup({ s3PrefixListId: undefined });
    const lookup = Object.values(template.findResources('Custom::AWS'))[0] as any;
    const call = JSON.stringify(lookup.Properties.Create);
    expect(call).toContain('describePrefixLists');
    expect(call).toContain('prefix-list-name');
    expect(call).toContain('.s3');
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      DestinationPrefixListId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RunnerS3PrefixList'), 'PrefixLists.0.PrefixListId'] },
    });
  });

  test('role tags: the runner key, the build project and the serving-image repository', () => {
    const { template } = setup({ servingImageSigning: true });
    template.hasResourceProperties('AWS::KMS::Key', { Description: Match.stringLikeRegexp('build runner'), Tags: [{ Key: 'modelseal:role', Value: 'runner-key' }] });
    template.hasResourceProperties('AWS::CodeBuild::Project', { Tags: [{ Key: 'modelseal:role', Value: 'train' }] });
    template.hasResourceProperties('AWS::ECR::Repository', { Tags: [{ Key: 'modelseal:role', Value: 'serving-images' }] });
  });

  test('availabilityZones: the runner VPC uses the zones named; with an env, a lookup unless the stack names its zones', () => {
    const runner = (stack: Stack, availabilityZones?: string[]) => new HardenedBuildRunner(stack, 'Runner', {
      signingKey: new ModelSigningKey(stack, 'Key'),
      store: new AttestationStore(stack, 'Store'),
      buildImage: IMAGE,
      buildCommands: ['python train.py --out model'],
      modelName: 'fraud-detector',
      s3PrefixListId: 'pl-6ca54005',
      availabilityZones,
    });
    const subnetZones = (stack: Stack) => Object.values<any>(Template.fromStack(stack).findResources('AWS::EC2::Subnet')).map((r) => r.Properties.AvailabilityZone);
    const lookups = (app: App) => (app.synth().manifest.missing ?? []).map((m) => m.provider);
    const env = { account: '111122223333', region: 'eu-west-1' };

    // environment-agnostic: the zones as given, no lookup
    const agnostic = new App();
    const s1 = new Stack(agnostic, 'Stack');
    runner(s1, ['eu-west-1a', 'eu-west-1c']);
    expect(lookups(agnostic)).toEqual([]);
    expect(subnetZones(s1)).toEqual(['eu-west-1a', 'eu-west-1c']);

    // an explicit env looks the zones up (credentials or cdk.context.json) ...
    const withEnv = new App();
    runner(new Stack(withEnv, 'Stack', { env }), ['eu-west-1a', 'eu-west-1c']);
    expect(lookups(withEnv)).toEqual(['availability-zones']);

    // ... unless the stack names its zones
    class PinnedZones extends Stack {
      get availabilityZones(): string[] { return ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']; }
    }
    const pinned = new App();
    const pinnedStack = new PinnedZones(pinned, 'Stack', { env });
    runner(pinnedStack, ['eu-west-1a', 'eu-west-1c']);
    expect(lookups(pinned)).toEqual([]);
    expect(subnetZones(pinnedStack)).toEqual(['eu-west-1a', 'eu-west-1c']);
  });

  describe('evaluated by the IAM simulator', () => {
    function evaluated() {
      const { stack } = setup({ servingImageSigning: true });
      const sim = TemplateSimulator.fromStack(stack);
      const endpoint = (suffix: string) => [sim.idsOfType('AWS::EC2::VPCEndpoint').find((e) => String(sim.props(e).ServiceName).endsWith(`.${suffix}`))!];
      const storeBucket = sim.arn(sim.idOf('AWS::S3::Bucket', 'StoreC'));
      return {
        sim,
        runner: sim.role(sim.idOf('AWS::IAM::Role', 'RunnerRole')),
        admin: sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]),
        signingKey: sim.arn(sim.idOf('AWS::KMS::Key', 'Key')),
        runnerKey: sim.arn(sim.idOf('AWS::KMS::Key', 'RunnerKey')),
        storeObject: `${storeBucket}/bundles/sha256/${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`,
        storeKey: sim.arn(sim.idOf('AWS::KMS::Key', 'StoreKey')),
        endpoint,
      };
    }

    test('the runner signs digests through the KMS endpoint; it cannot sign raw messages, delete, read the store or leave the endpoints', async () => {
      const { sim, runner, signingKey, storeObject, storeKey, runnerKey, admin, endpoint } = evaluated();
      const digest = { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' };
      const upload = {
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': storeKey,
        's3:if-none-match': '*',
        's3:ObjectCreationOperation': 'true',
      };
      await sim.expectRows([
        { name: 'sign a digest', principal: runner, action: 'kms:Sign', resource: signingKey, context: digest, via: endpoint('kms'), expect: 'Allowed' },
        { name: 'sign a raw message', principal: runner, action: 'kms:Sign', resource: signingKey, context: { ...digest, 'kms:MessageType': 'RAW' }, via: endpoint('kms'), expect: 'ExplicitlyDenied' },
        { name: 'publish', principal: runner, action: 's3:PutObject', resource: storeObject, context: upload, via: endpoint('s3'), expect: 'Allowed' },
        { name: 'delete from the store', principal: runner, action: 's3:DeleteObject', resource: storeObject, via: endpoint('s3'), expect: 'Denied' },
        { name: 'read the store', principal: runner, action: 's3:GetObject', resource: storeObject, via: endpoint('s3'), expect: 'ImplicitlyDenied' },
        // model weights cannot leave through the endpoints, even to a bucket the role could write
        { name: 'upload elsewhere', principal: runner, action: 's3:PutObject', resource: 'arn:aws:s3:::exfil-bucket/weights.bin', via: endpoint('s3'), expect: 'ImplicitlyDenied' },
        { name: 'push to another registry', principal: runner, action: 'ecr:PutImage', resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/other`, via: endpoint('ecr.dkr'), expect: 'ImplicitlyDenied' },
        { name: 'pass a role', principal: runner, action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/Admin`, expect: 'ImplicitlyDenied' },
        { name: 'use another key through the endpoint', principal: runner, action: 'kms:Decrypt', resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000`, via: endpoint('kms'), expect: 'ImplicitlyDenied' },
        { name: 'admins never decrypt with the runner key', principal: admin, action: 'kms:Decrypt', resource: runnerKey, expect: 'ImplicitlyDenied' },
        { name: 'admins rotate the runner key', principal: admin, action: 'kms:RotateKeyOnDemand', resource: runnerKey, expect: 'Allowed' },
      ]);
    });

    test('every CloudFormation handler call and every call CodeBuild, Logs and S3 make for the runner is allowed', async () => {
      const { sim } = evaluated();
      const rows = deployCallRows(sim);
      expect(new Set(rows.map((r) => r.resourceType))).toEqual(new Set(['AWS::KMS::Key', 'AWS::KMS::Alias', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy',
        'AWS::EC2::VPCEndpoint', 'AWS::CodeBuild::Project', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::ECR::Repository', 'AWS::Logs::LogGroup']));
      const results = await sim.expectRows(rows);
      expect(results.filter((r) => r.decision !== 'Allowed').map((r) => r.row.action).sort())
        .toEqual(['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']);
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings on the runner', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    new HardenedBuildRunner(stack, 'Runner', {
      signingKey: new ModelSigningKey(stack, 'Key'),
      store: new AttestationStore(stack, 'Store'),
      buildImage: IMAGE,
      buildCommands: ['make model'],
      modelName: 'm',
      servingImageSigning: true,
    });
    expectNagClean(stack);
  });

  describe('fails when', () => {
    test('fails when the build image is referenced by tag', () => {
      expect(() => setup({ buildImage: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer:latest' }))
        .toThrow(/HardenedBuildRunner 'Stack\/Runner': buildImage must be pinned by digest .* got '111122223333.dkr.ecr.eu-west-1.amazonaws.com\/trainer:latest': a tag can be moved/);
    });
    test('a tag is accepted only with the explicit opt-out', () => {
      const { template } = setup({ buildImage: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer:dev', allowUnpinnedBuildImage: true });
      template.resourceCountIs('AWS::CodeBuild::Project', 1);
    });
    test('fails when the build commands are empty', () => {
      expect(() => setup({ buildCommands: [] })).toThrow(/buildCommands must hold at least one command/);
      expect(() => setup({ buildCommands: ['  '] })).toThrow(/buildCommands must hold at least one command/);
    });
    test('fails when the VPC has no isolated subnets', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      const vpc = new ec2.Vpc(stack, 'Public', { natGateways: 0, subnetConfiguration: [{ name: 'pub', subnetType: ec2.SubnetType.PUBLIC }] });
      expect(() => new HardenedBuildRunner(stack, 'Runner', {
        signingKey: new ModelSigningKey(stack, 'Key'),
        store: new AttestationStore(stack, 'Store'),
        buildImage: IMAGE,
        buildCommands: ['make'],
        modelName: 'm',
        vpc,
      })).toThrow("HardenedBuildRunner 'Stack/Runner': vpc must have isolated subnets (no route to an internet or NAT gateway), got a VPC with 0 isolated subnets");
    });
    test('fails when startOnUpload has an imported bucket without EventBridge', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'training-data');
      const props = {
        signingKey: new ModelSigningKey(stack, 'Key'),
        store: new AttestationStore(stack, 'Store'),
        buildImage: IMAGE,
        buildCommands: ['make'],
        modelName: 'm',
        modelSourceBucket: bucket,
        startOnUpload: true,
      };
      expect(() => new HardenedBuildRunner(stack, 'Runner', props)).toThrow(/modelSourceBucket is imported, so its EventBridge notifications cannot be checked/);
      expect(() => new HardenedBuildRunner(stack, 'Runner2', { ...props, modelSourceEventBridgeEnabled: true })).not.toThrow();
    });
    test('fails when availabilityZones is empty, malformed, of another region, repeated, or given with a vpc', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
      const base = {
        signingKey: new ModelSigningKey(stack, 'Key'),
        store: new AttestationStore(stack, 'Store'),
        buildImage: IMAGE,
        buildCommands: ['python train.py'],
        modelName: 'fraud-detector',
        s3PrefixListId: 'pl-6ca54005',
      };
      expect(() => new HardenedBuildRunner(stack, 'A', { ...base, availabilityZones: [] }))
        .toThrow("HardenedBuildRunner 'Stack/A': availabilityZones must name at least one zone, got []");
      expect(() => new HardenedBuildRunner(stack, 'B', { ...base, availabilityZones: ['euw1-az1'] }))
        .toThrow("HardenedBuildRunner 'Stack/B': availabilityZones must hold zone names like eu-west-1a, got 'euw1-az1'");
      expect(() => new HardenedBuildRunner(stack, 'C', { ...base, availabilityZones: ['us-east-1a'] }))
        .toThrow("HardenedBuildRunner 'Stack/C': availabilityZones must be zones of the stack's region eu-west-1, got 'us-east-1a'");
      expect(() => new HardenedBuildRunner(stack, 'D', { ...base, availabilityZones: ['eu-west-1a', 'eu-west-1a'] }))
        .toThrow(/'Stack\/D': availabilityZones must not repeat a zone/);
      const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a'], subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      expect(() => new HardenedBuildRunner(stack, 'E', { ...base, vpc, availabilityZones: ['eu-west-1a'] }))
        .toThrow(/'Stack\/E': availabilityZones applies only to the runner's own VPC/);
    });
    test('fails when startOnUpload has no source bucket, or limits are out of range', () => {
      expect(() => setup({ startOnUpload: true }, false)).toThrow(/startOnUpload needs modelSourceBucket/);
      expect(() => setup({ concurrentBuildLimit: 0 })).toThrow(/concurrentBuildLimit must be an integer between 1 and 1000, got 0/);
      expect(() => setup({ s3PrefixListId: 'sg-123' })).toThrow(/s3PrefixListId must be a prefix list id like pl-6ca54005, got 'sg-123'/);
      expect(() => setup({ modelName: '../etc' })).toThrow('HardenedBuildRunner \'Stack/Runner\': modelName \'../etc\' contains ".."; a name is 1-200 characters');
      // the rule `modelseal ref set` applies at the end of every build, so a bad name fails at synth, not after training
      expect(() => setup({ modelName: 'fraud//v2' })).toThrow(/modelName 'fraud\/\/v2' has a part that is empty/);
    });
  });
});
