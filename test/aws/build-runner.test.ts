import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Aws, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AttestationStore, EnclaveServingTier, HardenedBuildRunner, HardenedBuildRunnerProps, ModelCard, ModelSigningKey, ModelWeightsKey } from '../../src';
import {
  BUILD_LOG_ACTIONS, BUILD_START_ACTIONS, CODEBUILD_READ_ACTIONS, CODEBUILD_VPC_DESCRIBE_ACTIONS, ECR_PULL_ACTIONS, ECR_SCAN_ACTIONS,
  LOGS_KEY_ACTIONS,
  PROJECT_CHANGE_ACTIONS, RUNNER_KEY_ACTIONS, SIGNER_SIGN_ACTIONS, SYMMETRIC_KEY_ADMIN_ACTIONS,
} from '../../src/aws/perms';
import { CLI_BUNDLE, ensureCliBundle, REPO_ROOT } from '../helpers/cli-bundle';
import { DeployCallRow, deployCallRows } from '../helpers/deploy-calls';
import { ACCOUNT, ADMINISTRATOR_ACCESS, REGION, SimRow, TemplateSimulator } from '../helpers/iam-sim';
import { expectNagClean, nagFindings } from '../helpers/nag';

const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'a'.repeat(64)}`;
const CARD = path.join(REPO_ROOT, 'test', 'fixtures', 'sbom', 'model-card.yaml');

beforeAll(() => ensureCliBundle());

function setup(overrides: Partial<HardenedBuildRunnerProps> = {}, withSource = true, before?: (stack: Stack) => void) {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  before?.(stack);
  const signingKey = new ModelSigningKey(stack, 'Key');
  const store = new AttestationStore(stack, 'Store');
  const source = withSource ? new s3.Bucket(stack, 'Source', { enforceSSL: true, versioned: true }) : undefined;
  const runner = new HardenedBuildRunner(stack, 'Runner', {
    signingKey,
    store,
    buildImage: IMAGE,
    buildCommands: ['python3 inputs/train.py --data inputs --out model'],
    modelName: 'fraud-detector',
    modelSourceBucket: source,
    modelSourcePrefix: withSource ? 'runs/' : undefined,
    s3PrefixListId: 'pl-6ca54005',
    ...overrides,
  });
  return { app, stack, runner, get template() { return Template.fromStack(stack); } };
}

const logical = (prefix: string) => Match.stringLikeRegexp(`^${prefix}[A-F0-9]{8}$`);
const id = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}[A-F0-9]{8}$`));
const P = { Ref: 'AWS::Partition' };
const R = { Ref: 'AWS::Region' };
const A = { Ref: 'AWS::AccountId' };
const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
const getAtt = (prefix: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id(prefix), attr] });
const ec2Arn = (...rest: unknown[]) => join('arn:', P, ':ec2:', R, ':', A, ...rest);
const subnetArn = (n: number) => ec2Arn(':subnet/', { Ref: expect.stringMatching(new RegExp(`^RunnerVpcIsolatedSubnet${n}Subnet`)) });
const projectArn = (suffix: string) => join('arn:', P, ':codebuild:', R, ':', A, `:project/Stack-Runner-1156DF1C-${suffix}`);
const streams = (prefix: string) => join('arn:', P, ':logs:', R, ':', A, ':log-group:', { Ref: id('RunnerLogs') }, `:log-stream:${prefix}/*`);
const objectsOf = (bucketPrefix: string, key: string) => join(getAtt(bucketPrefix), key);
/** The same shapes for `Template.hasResourceProperties`, which takes CDK's matchers, not jest's. */
const mGetAtt = (prefix: string, attr = 'Arn') => ({ 'Fn::GetAtt': [logical(prefix), attr] });
const mRef = (prefix: string) => ({ Ref: logical(prefix) });

/** The staging bucket policy's deny of writes by anyone but `writers` (template matchers). */
const denyStagingWritesExcept = (writers: unknown) => ({
  Sid: 'DenyWritesExceptTrainRole',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
  Resource: join(mGetAtt('RunnerStaging'), '/*'),
  Condition: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
});

/** A runner with only the required props (a new key and store, `make model`, model `m`) and `extra`, in `stack`. */
function bareRunner(stack: Stack, extra: Partial<HardenedBuildRunnerProps> = {}): HardenedBuildRunner {
  return new HardenedBuildRunner(stack, 'Runner', {
    signingKey: new ModelSigningKey(stack, 'Key'),
    store: new AttestationStore(stack, 'Store'),
    buildImage: IMAGE,
    buildCommands: ['make model'],
    modelName: 'm',
    ...extra,
  });
}

function policyOf(t: Template, rolePrefix: string): any[] {
  const policies = t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${rolePrefix}[A-F0-9]{8}$`) }] } });
  expect(Object.keys(policies)).toHaveLength(1);
  return (Object.values(policies)[0] as any).Properties.PolicyDocument.Statement;
}

function projects(t: Template) {
  const all = t.findResources('AWS::CodeBuild::Project');
  const byTag = (tag: string) => Object.values<any>(all).find((p) => p.Properties.Tags.some((x: any) => x.Key === 'modelseal:role' && x.Value === tag));
  return { train: byTag('train'), seal: byTag('seal') };
}

const networkStatements = (sg: string) => [
  { Sid: 'DescribeBuildNetwork', Effect: 'Allow', Action: CODEBUILD_VPC_DESCRIBE_ACTIONS, Resource: '*' },
  {
    Sid: 'CreateBuildNetworkInterfaces',
    Effect: 'Allow',
    Action: 'ec2:CreateNetworkInterface',
    Resource: [ec2Arn(':network-interface/*'), subnetArn(1), subnetArn(2), ec2Arn(':security-group/', getAtt(sg, 'GroupId'))],
  },
  {
    Sid: 'DeleteBuildNetworkInterfaces',
    Effect: 'Allow',
    Action: 'ec2:DeleteNetworkInterface',
    Resource: ec2Arn(':network-interface/*'),
    Condition: { StringEquals: { 'ec2:Subnet': [subnetArn(1), subnetArn(2)] } },
  },
  {
    Sid: 'AttachBuildNetworkInterfaces',
    Effect: 'Allow',
    Action: 'ec2:CreateNetworkInterfacePermission',
    Resource: ec2Arn(':network-interface/*'),
    Condition: { StringEquals: { 'ec2:Subnet': [subnetArn(1), subnetArn(2)], 'ec2:AuthorizedService': 'codebuild.amazonaws.com' } },
  },
];
// the build roles use the runner key through CodeBuild (artifacts, cache) and S3 (the staging bucket) only
const runnerKeyVia = { StringEquals: { 'kms:ViaService': [join('codebuild.', R, '.amazonaws.com'), join('s3.', R, '.amazonaws.com')] } };
const denyBuilds = { Sid: 'DenyStartingOrChangingBuilds', Effect: 'Deny', Action: [...BUILD_START_ACTIONS, ...PROJECT_CHANGE_ACTIONS], Resource: '*' };

describe('HardenedBuildRunner', () => {
  describe('two builds', () => {
    test('the train role: logs, runner key, network, image pull, inputs, its own build\'s staging prefix; explicit denies of signing, the store, other prefixes, builds', () => {
      const statements = policyOf(setup().template, 'RunnerTrainRole');
      expect(statements).toEqual([
        { Sid: 'WriteTrainLogs', Effect: 'Allow', Action: BUILD_LOG_ACTIONS, Resource: streams('train') },
        { Sid: 'UseRunnerKey', Effect: 'Allow', Action: RUNNER_KEY_ACTIONS, Resource: getAtt('RunnerKey'), Condition: runnerKeyVia },
        ...networkStatements('RunnerSecurityGroup'),
        { Sid: 'PullBuildImage', Effect: 'Allow', Action: ECR_PULL_ACTIONS, Resource: join('arn:', P, ':ecr:eu-west-1:111122223333:repository/trainer') },
        { Sid: 'GetEcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        { Sid: 'ReadTrainingInputs', Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf('Source', '/runs/*') },
        { Sid: 'ListTrainingInputs', Effect: 'Allow', Action: 's3:ListBucket', Resource: getAtt('Source'), Condition: { StringLike: { 's3:prefix': ['runs/*'] } } },
        // IAM knows the build: CodeBuild puts its ARN on the role session (${codebuild:buildArn})
        { Sid: 'StageModelUnderOwnBuild', Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: objectsOf('RunnerStaging', '/${codebuild:buildArn}/*') },
        { Sid: 'DenyWritesOutsideOwnBuildPrefix', Effect: 'Deny', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], NotResource: objectsOf('RunnerStaging', '/${codebuild:buildArn}/*') },
        { Sid: 'DenySigning', Effect: 'Deny', Action: 'kms:Sign', Resource: '*' },
        {
          Sid: 'DenyStoreAccess',
          Effect: 'Deny',
          Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions', 's3:PutObject'],
          Resource: [getAtt('StoreC1F82936'.slice(0, 5)), objectsOf('Store', '/*')],
        },
        denyBuilds,
      ]);
    });

    test('the seal role: the only signer and publisher — build facts, staged versions, input versions, sign, publish, its model\'s refs; no revoke', () => {
      const statements = policyOf(setup({ modelCard: ModelCard.fromFile(CARD), servingImageSigning: true }).template, 'RunnerRole');
      const store = getAtt('Store');
      expect(statements).toEqual([
        { Sid: 'WriteSealLogs', Effect: 'Allow', Action: BUILD_LOG_ACTIONS, Resource: streams('seal') },
        { Sid: 'ReadModelSealCli', Effect: 'Allow', Action: 's3:GetObject', Resource: [expect.objectContaining({ 'Fn::Join': expect.anything() }), expect.objectContaining({ 'Fn::Join': expect.anything() })] },
        { Sid: 'UseRunnerKey', Effect: 'Allow', Action: RUNNER_KEY_ACTIONS, Resource: getAtt('RunnerKey'), Condition: runnerKeyVia },
        ...networkStatements('RunnerSealSecurityGroup'),
        { Sid: 'ReadBuildFacts', Effect: 'Allow', Action: CODEBUILD_READ_ACTIONS, Resource: [projectArn('train'), projectArn('seal')] },
        { Sid: 'ReadStagedModelVersions', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objectsOf('RunnerStaging', '/*') },
        { Sid: 'ListStagedModelVersions', Effect: 'Allow', Action: 's3:ListBucketVersions', Resource: getAtt('RunnerStaging') },
        { Sid: 'ReadTrainingInputVersions', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objectsOf('Source', '/runs/*') },
        { Sid: 'ListTrainingInputVersions', Effect: 'Allow', Action: 's3:ListBucketVersions', Resource: getAtt('Source'), Condition: { StringLike: { 's3:prefix': ['runs/*'] } } },
        { Sid: 'ReadServingImageScan', Effect: 'Allow', Action: ECR_SCAN_ACTIONS, Resource: getAtt('RunnerServingImages') },
        { Sid: 'CoSignWithAwsSigner', Effect: 'Allow', Action: SIGNER_SIGN_ACTIONS, Resource: getAtt('RunnerSigningProfile') },
        {
          Effect: 'Allow',
          Action: 'kms:Sign',
          Resource: getAtt('Key'),
          Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
        },
        { Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: getAtt('Key') },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: ['bundles', 'attestations', 'notation'].map((f) => join(store, `/${f}/*`)) },
        {
          Effect: 'Allow',
          Action: 'kms:GenerateDataKey',
          Resource: getAtt('StoreKey'),
          Condition: { StringEquals: { 'kms:ViaService': join('s3.', R, '.amazonaws.com'), 'kms:EncryptionContext:aws:s3:arn': store } },
        },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: join(store, '/refs/fraud-detector/*') },
        { Effect: 'Deny', Action: 's3:PutObject', Resource: join(store, '/refs/fraud-detector/*/*') },
        denyBuilds,
      ]);
      // nothing under revocations/, no delete, no PassRole, no wildcard action
      expect(JSON.stringify(statements)).not.toContain('revocations');
      const actions = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat());
      expect(actions.filter((a: string) => a.includes('*') || /Delete(Object|Bucket)|PassRole|Revoke/.test(a))).toEqual([]);
    });

    test('trust: CodeBuild may assume each role only for its own project (aws:SourceAccount and aws:SourceArn)', () => {
      const { template } = setup();
      const trust = (role: string, project: string) => template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp(role),
        AssumeRolePolicyDocument: {
          Statement: [{
            Effect: 'Allow',
            Principal: { Service: 'codebuild.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': A }, ArnEquals: { 'aws:SourceArn': projectArn(project) } },
          }],
        },
      });
      trust(', train:', 'train');
      trust(', seal:', 'seal');
    });

    test('the train project: your pinned image by exact string, no source, no modelseal code; the buildspec stages under the build ARN', () => {
      const { train } = projects(setup().template);
      expect(train.Properties.Name).toBe('Stack-Runner-1156DF1C-train');
      expect(train.Properties.Source).toEqual({ Type: 'NO_SOURCE', BuildSpec: expect.any(String) });
      expect(train.Properties.Environment).toEqual({
        Type: 'LINUX_CONTAINER',
        Image: IMAGE,
        ImagePullCredentialsType: 'SERVICE_ROLE',
        ComputeType: 'BUILD_GENERAL1_LARGE',
        PrivilegedMode: false,
        EnvironmentVariables: [
          { Name: 'MODEL_SOURCE_URI', Type: 'PLAINTEXT', Value: join('s3://', { Ref: id('Source') }, '/runs/') },
          { Name: 'MODEL_INPUT_DIR', Type: 'PLAINTEXT', Value: 'inputs' },
          { Name: 'MODEL_PATH', Type: 'PLAINTEXT', Value: 'model' },
          { Name: 'MODEL_STAGING_URI', Type: 'PLAINTEXT', Value: join('s3://', { Ref: id('RunnerStaging') }, '/') },
          { Name: 'MODEL_NAME', Type: 'PLAINTEXT', Value: 'fraud-detector' },
        ],
      });
      expect(train.Properties.LogsConfig).toEqual({ CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: id('RunnerLogs') }, StreamName: 'train' } });
      const spec = JSON.parse(train.Properties.Source.BuildSpec);
      expect(spec.phases.post_build).toBeUndefined();
      expect(spec.phases.build.commands).toEqual([
        'set -euo pipefail',
        'cd "$CODEBUILD_SRC_DIR"',
        'mkdir -p "$MODEL_INPUT_DIR" "$MODEL_PATH"',
        'if [ -n "${MODEL_SOURCE_URI:-}" ]; then aws s3 sync "$MODEL_SOURCE_URI" "$MODEL_INPUT_DIR" --only-show-errors; fi',
        'python3 inputs/train.py --data inputs --out model',
        'cd "$CODEBUILD_SRC_DIR"',
        '[ -n "$(find "$MODEL_PATH" -type f -print -quit)" ] || { echo "the build commands wrote no file under $MODEL_PATH" >&2; exit 1; }',
        'aws s3 cp "$MODEL_PATH" "${MODEL_STAGING_URI}${CODEBUILD_BUILD_ARN}/model/" --recursive --only-show-errors',
        'echo "model staged at ${MODEL_STAGING_URI}${CODEBUILD_BUILD_ARN}/model/"',
      ]);
      expect(JSON.stringify(spec)).not.toContain('modelseal-cli');
    });

    test('the seal project: an AWS-managed image, the CLI asset as its source, no user-controlled command, the hashes pinned in the buildspec', () => {
      const commands = ['python3 inputs/train.py --data inputs --out model', 'echo $(curl http://x) # anything'];
      const { train, seal } = projects(setup({ buildCommands: commands, modelCard: ModelCard.fromFile(CARD) }).template);
      expect(seal.Properties.Name).toBe('Stack-Runner-1156DF1C-seal');
      expect(seal.Properties.Environment).toMatchObject({
        Type: 'LINUX_CONTAINER', Image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0', ImagePullCredentialsType: 'CODEBUILD', PrivilegedMode: false,
      });
      expect(seal.Properties.Source.Type).toBe('S3');
      const spec = JSON.parse(seal.Properties.Source.BuildSpec);
      expect(spec.phases.install).toEqual({ 'runtime-versions': { nodejs: 20 } });
      const build: string[] = spec.phases.build.commands;
      // no command of the user, and every command is one of ModelSeal's own forms
      for (const c of commands) expect(build.some((x) => x.includes(c))).toBe(false);
      const allowed = [/^set -euo pipefail$/, /^cd "\$CODEBUILD_SRC_DIR"$/, /^echo /, /^WORK=/, /^if \[ "\$MODELSEAL_SIGNER" = kms \]/, /^node "\$CODEBUILD_SRC_DIR\/modelseal-cli\.js" /,
        /^VERSION="\$\(node -e /, /^ROOT="\$\(node -e /, /^PUBLISH(\+)?=/, /^CARD=/, /^aws s3 cp "\$MODEL_CARD_URI" "\$CARD" --only-show-errors$/, /^SBOM_IMAGE_FLAGS=\(\)$/];
      expect(build.filter((c) => !allowed.some((re) => re.test(c)))).toEqual([]);
      // the CLI is checked before it runs, against the hash of the bundle this synth shipped
      const cliSha = createHash('sha256').update(fs.readFileSync(CLI_BUNDLE)).digest('hex');
      expect(build[2]).toBe(`echo "${cliSha}  modelseal-cli.js" | sha256sum --check --strict --quiet || ` +
        '{ echo "modelseal-cli.js does not have the SHA-256 it was synthesized with: refusing to run it" >&2; exit 1; }');
      const prepare = build.find((c) => c.includes(' seal prepare '))!;
      expect(build.indexOf(prepare)).toBeGreaterThan(2);
      // the train buildspec and image it accepts are fixed here, where no StartBuild override reaches
      const trainSpecSha = createHash('sha256').update(train.Properties.Source.BuildSpec, 'utf8').digest('hex');
      expect(prepare).toContain(`--train-image '${IMAGE}' --train-buildspec-sha256 ${trainSpecSha} `);
      expect(prepare).toContain('--allow-override MODELSEAL_SOURCE_KEY --allow-override SERVING_IMAGE_DIGEST ');
      expect(prepare).toContain('--self-build "$CODEBUILD_BUILD_ID" --train-build "$TRAIN_BUILD_ID"');
      expect(prepare).not.toContain('--allow-unpinned-builder');
      const cardSha = createHash('sha256').update(fs.readFileSync(CARD)).digest('hex');
      expect(build).toContain(`echo "${cardSha}  $CARD" | sha256sum --check --strict --quiet || { echo "the model card asset does not have the SHA-256 it was synthesized with" >&2; exit 1; }`);
      const order = [' seal prepare ', ' sign "$MODELSEAL_SIGNER"', ' attest sbom ', ' attest provenance ', ' publish --store ', ' ref set '];
      const at = order.map((needle) => build.findIndex((c) => c.includes(needle)));
      expect(at.every((i) => i > 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      expect(build.find((c) => c.includes(' ref set '))).toBe('node "$CODEBUILD_SRC_DIR/modelseal-cli.js" ref set --store "$MODELSEAL_STORE" "$MODEL_NAME" "$VERSION" "sha256:$ROOT"');
      expect(seal.Properties.LogsConfig.CloudWatchLogs.StreamName).toBe('seal');
    });

    test('the seal starts only from the train project\'s SUCCEEDED event, with the build id as its one variable', () => {
      const { template } = setup();
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: 'Stack-Runner-1156DF1C-on-train-success',
        EventPattern: {
          'source': ['aws.codebuild'],
          'detail-type': ['CodeBuild Build State Change'],
          'detail': { 'build-status': ['SUCCEEDED'], 'project-name': ['Stack-Runner-1156DF1C-train'] },
        },
        Targets: [{
          Id: 'Target0',
          Arn: mGetAtt('RunnerSealProject'),
          RoleArn: mGetAtt('RunnerSealTriggerRole'),
          InputTransformer: {
            InputPathsMap: { 'detail-build-id': '$.detail.build-id' },
            InputTemplate: '{"environmentVariablesOverride":[{"name":"TRAIN_BUILD_ID","type":"PLAINTEXT","value":<detail-build-id>}]}',
          },
        }],
      });
      const trigger = policyOf(template, 'RunnerSealTriggerRole');
      const seal = projectArn('seal');
      expect(trigger).toEqual([
        { Sid: 'DenyBuildspecOverride', Effect: 'Deny', Action: BUILD_START_ACTIONS, Resource: seal, Condition: { Null: { 'codebuild:source.buildspec': 'false' } } },
        { Sid: 'DenyImageOverride', Effect: 'Deny', Action: BUILD_START_ACTIONS, Resource: seal, Condition: { Null: { 'codebuild:environment.image': 'false' } } },
        {
          Sid: 'DenyOtherVariableOverrides',
          Effect: 'Deny',
          Action: BUILD_START_ACTIONS,
          Resource: seal,
          Condition: { 'ForAnyValue:StringNotEquals': { 'codebuild:environment.environmentVariables.name': ['TRAIN_BUILD_ID'] } },
        },
        { Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: getAtt('RunnerSealProject') },
      ]);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [{
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: {
              StringEquals: { 'aws:SourceAccount': A },
              ArnEquals: { 'aws:SourceArn': join('arn:', P, ':events:', R, ':', A, ':rule/Stack-Runner-1156DF1C-on-train-success') },
            },
          }],
        },
      });
    });

    test('startOnUpload: a rule on the marker object only (default _SUCCESS), passing its key; the trigger may set only that variable', () => {
      const { template } = setup({ startOnUpload: true, startOnUploadMarker: 'READY' });
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: 'Stack-Runner-1156DF1C-on-upload',
        EventPattern: {
          'source': ['aws.s3'],
          'detail-type': ['Object Created'],
          'detail': { bucket: { name: [mRef('Source')] }, object: { key: ['runs/READY'] } },
        },
        Targets: [Match.objectLike({
          Arn: mGetAtt('RunnerProject'),
          InputTransformer: Match.objectLike({ InputPathsMap: { 'detail-object-key': '$.detail.object.key' } }),
        })],
      });
      expect(policyOf(template, 'RunnerUploadTriggerRole')[2]).toEqual(expect.objectContaining({
        Sid: 'DenyOtherVariableOverrides',
        Condition: { 'ForAnyValue:StringNotEquals': { 'codebuild:environment.environmentVariables.name': ['MODELSEAL_SOURCE_KEY'] } },
      }));
      const defaults = setup({ startOnUpload: true }).template;
      defaults.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ detail: { bucket: Match.anyValue(), object: { key: ['runs/_SUCCESS'] } } }) });
    });

    test('the roles are exposed as views that cannot be widened', () => {
      const { runner, stack } = setup();
      // the immutable views accept the calls and drop the statements
      runner.trainRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Sign'], resources: ['*'] }));
      runner.sealRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: ['*'] }));
      new s3.Bucket(stack, 'Other').grantReadWrite(runner.trainRole);
      const t = Template.fromStack(stack);
      expect(policyOf(t, 'RunnerTrainRole')).toEqual(policyOf(setup().template, 'RunnerTrainRole'));
      expect(policyOf(t, 'RunnerRole')).toEqual(policyOf(setup().template, 'RunnerRole'));
    });
  });

  describe('staging', () => {
    test('a versioned, SSE-KMS bucket only the train role writes, nobody deletes; logged to its own bucket', () => {
      const { template } = setup();
      template.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: mGetAtt('RunnerKey') } }] },
        LoggingConfiguration: { DestinationBucketName: mRef('RunnerStagingAccessLogs'), LogFilePrefix: 'model-staging/' },
        Tags: [{ Key: 'modelseal:role', Value: 'model-staging' }],
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: mRef('RunnerStaging'),
        PolicyDocument: {
          Statement: Match.arrayWith([
            denyStagingWritesExcept(mGetAtt('RunnerTrainRole')),
            { Sid: 'DenyDeletes', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: join(mGetAtt('RunnerStaging'), '/*') },
          ]),
        },
      });
    });

    test('grantReadStagedModel: exact versions and their lists, and decrypt through S3', () => {
      const { runner, stack } = setup();
      const deployer = new iam.Role(stack, 'Deployer', { assumedBy: new iam.AccountRootPrincipal() });
      runner.grantReadStagedModel(deployer);
      expect(policyOf(Template.fromStack(stack), 'Deployer')).toEqual([
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objectsOf('RunnerStaging', '/*') },
        { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: getAtt('RunnerStaging') },
        { Effect: 'Allow', Action: 'kms:Decrypt', Resource: getAtt('RunnerKey'), Condition: { StringEquals: { 'kms:ViaService': join('s3.', R, '.amazonaws.com') } } },
      ]);
    });
  });

  describe('network', () => {
    test('isolated subnets only, no internet or NAT gateway, no route to one; each build its own security group', () => {
      const { template } = setup();
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Route', 0);
      template.resourceCountIs('AWS::EC2::Subnet', 2);
      template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
      template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
      const { train, seal } = projects(template);
      expect(train.Properties.VpcConfig.SecurityGroupIds).toEqual([getAtt('RunnerSecurityGroup', 'GroupId')]);
      expect(seal.Properties.VpcConfig.SecurityGroupIds).toEqual([getAtt('RunnerSealSecurityGroup', 'GroupId')]);
    });

    test('a DNS Firewall on the runner\'s VPC: only the regional AWS service names the builds use resolve; everything else is NXDOMAIN', () => {
      const { template } = setup({ servingImageSigning: true });
      const lists = Object.values<any>(template.findResources('AWS::Route53Resolver::FirewallDomainList')).map((l) => l.Properties.Domains);
      const name = (service: string) => join(service.split('<r>')[0], R, service.split('<r>')[1]);
      expect(lists).toEqual([
        ['kms.<r>.amazonaws.com', 'logs.<r>.amazonaws.com', 'sts.<r>.amazonaws.com', 'codebuild.<r>.amazonaws.com', 'api.ecr.<r>.amazonaws.com',
          '*.dkr.ecr.<r>.amazonaws.com', 's3.<r>.amazonaws.com', '*.s3.<r>.amazonaws.com', 'signer.<r>.amazonaws.com'].map(name),
        ['*'],
      ]);
      template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroup', {
        FirewallRules: [
          { Priority: 100, Action: 'ALLOW', FirewallDomainListId: mGetAtt('RunnerDnsFirewallAllowed', 'Id') },
          { Priority: 200, Action: 'BLOCK', BlockResponse: 'NXDOMAIN', FirewallDomainListId: mGetAtt('RunnerDnsFirewallEverything', 'Id') },
        ],
      });
      template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroupAssociation', {
        FirewallRuleGroupId: mGetAtt('RunnerDnsFirewall', 'Id'), VpcId: mRef('RunnerVpc'), Priority: 101, MutationProtection: 'ENABLED',
      });
    });

    test('endpoints: S3 gateway; KMS, Logs, STS, CodeBuild, ECR api and dkr, Signer with private DNS, each policy listing what the builds call', () => {
      const sim = TemplateSimulator.fromStack(setup({ servingImageSigning: true }).stack);
      const endpoints = sim.idsOfType('AWS::EC2::VPCEndpoint').map((e) => sim.props(e));
      const of = (suffix: string) => endpoints.find((e) => e.ServiceName.endsWith(`.${suffix}`))!;
      expect(endpoints.map((e) => e.ServiceName.replace(`com.amazonaws.${REGION}.`, '')).sort())
        .toEqual(['codebuild', 'ecr.api', 'ecr.dkr', 'kms', 'logs', 's3', 'signer', 'sts']);
      for (const e of endpoints.filter((x) => x.VpcEndpointType === 'Interface')) expect(e.PrivateDnsEnabled).toBe(true);
      const signingKey = sim.arn(sim.idOf('AWS::KMS::Key', 'Key'));
      // KMS: the seal's signing calls only; S3 and CloudWatch Logs use their keys service-side, not through here
      expect(of('kms').PolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Sign', 'kms:DescribeKey', 'kms:GetPublicKey'], Resource: signingKey },
      ]);
      expect(of('codebuild').PolicyDocument.Statement).toEqual([{
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: CODEBUILD_READ_ACTIONS,
        Resource: ['train', 'seal'].map((x) => `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/Stack-Runner-1156DF1C-${x}`),
      }]);
      expect(of('sts').PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:GetCallerIdentity', Resource: '*' }]);
      const staging = sim.arn(sim.idOf('AWS::S3::Bucket', 'RunnerStagingC'));
      const store = sim.arn(sim.idOf('AWS::S3::Bucket', 'StoreC'));
      const s3Statements = of('s3').PolicyDocument.Statement;
      expect(s3Statements.map((s: any) => s.Action)).toEqual([['s3:GetObject', 's3:GetObjectVersion'], ['s3:ListBucket', 's3:ListBucketVersions'], ['s3:AbortMultipartUpload', 's3:PutObject'], 's3:PutObject']);
      expect(s3Statements[0].Resource).toEqual([expect.stringMatching(/^arn:aws:s3:::cdk-hnb659fds-assets-.*\.zip$/), `arn:aws:s3:::prod-${REGION}-starport-layer-bucket/*`,
        expect.stringMatching(/^arn:aws:s3:::stack-source.*\/runs\/\*$/), `${staging}/*`]);
      expect(s3Statements[2].Resource).toBe(`${staging}/*`);
      expect(s3Statements[3].Resource).toEqual([`${store}/bundles/*`, `${store}/attestations/*`, `${store}/notation/*`, `${store}/refs/fraud-detector/*`]);
    });

    test('security groups: HTTPS to the endpoint group and the S3 prefix list, per build; nothing else', () => {
      const sim = TemplateSimulator.fromStack(setup().stack);
      const egress = sim.idsOfType('AWS::EC2::SecurityGroupEgress').map((e) => sim.props(e));
      const train = sim.ref(sim.idOf('AWS::EC2::SecurityGroup', 'RunnerSecurityGroup'));
      const seal = sim.ref(sim.idOf('AWS::EC2::SecurityGroup', 'RunnerSealSecurityGroup'));
      const endpoints = sim.ref(sim.idOf('AWS::EC2::SecurityGroup', 'RunnerEndpointSecurityGroup'));
      const rules = egress.map((e) => `${e.GroupId} ${e.IpProtocol}/${e.FromPort}-${e.ToPort} -> ${e.DestinationPrefixListId ?? e.DestinationSecurityGroupId ?? e.CidrIp}`).sort();
      expect(rules).toEqual([`${seal} tcp/443-443 -> pl-6ca54005`, `${seal} tcp/443-443 -> ${endpoints}`, `${train} tcp/443-443 -> pl-6ca54005`, `${train} tcp/443-443 -> ${endpoints}`].sort());
      for (const sg of [train, seal]) expect(sim.props(sim.idsOfType('AWS::EC2::SecurityGroup').find((x) => sim.ref(x) === sg)!).SecurityGroupEgress).toBeUndefined();
    });

    test('a VPC you pass: no endpoints and no DNS Firewall unless asked; egress to the endpoint group or prefix list you name, never the VPC CIDR', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      const vpc = new ec2.Vpc(stack, 'Shared', { natGateways: 0, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      const endpoints = new ec2.SecurityGroup(stack, 'SharedEndpoints', { vpc });
      bareRunner(stack, {
        vpc,
        endpointSecurityGroup: endpoints,
        s3PrefixListId: 'pl-6ca54005',
      });
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      t.resourceCountIs('AWS::Route53Resolver::FirewallRuleGroup', 0);
      const egress = Object.values<any>(t.findResources('AWS::EC2::SecurityGroupEgress')).map((e) => e.Properties);
      expect(egress.filter((e) => e.CidrIp !== undefined)).toEqual([]);
      expect(egress.filter((e) => JSON.stringify(e.DestinationSecurityGroupId ?? '').includes('SharedEndpoints'))).toHaveLength(2);
    });

    test('an RFC 3161 timestamp authority: its URL in the seal\'s sign command, its host allowed by the DNS Firewall, the seal may reach it', () => {
      const { template } = setup({ timestampUrl: 'https://tsa.internal.example:8443/tsr', timestampPrefixListId: 'pl-0123456789abcdef0' });
      const { seal } = projects(template);
      const sign = JSON.parse(seal.Properties.Source.BuildSpec).phases.build.commands.find((c: string) => c.includes(' sign "$MODELSEAL_SIGNER"'));
      expect(sign).toContain("--timestamp-url 'https://tsa.internal.example:8443/tsr'");
      template.hasResourceProperties('AWS::Route53Resolver::FirewallDomainList', { Domains: Match.arrayWith(['tsa.internal.example']) });
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: mGetAtt('RunnerSealSecurityGroup', 'GroupId'), IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, DestinationPrefixListId: 'pl-0123456789abcdef0',
      });
    });

    test('without s3PrefixListId the prefix list is looked up at deploy time', () => {
      const { template } = setup({ s3PrefixListId: undefined });
      const lookup = Object.values(template.findResources('Custom::AWS'))[0] as any;
      expect(JSON.stringify(lookup.Properties.Create)).toContain('describePrefixLists');
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        DestinationPrefixListId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RunnerS3PrefixList'), 'PrefixLists.0.PrefixListId'] },
      });
    });
  });

  describe('options', () => {
    test('runner key policy: the two roles may use it; ECR and S3 reads through their services only; logs only through Logs; admins never use it', () => {
      const { template } = setup({ servingImageSigning: true });
      template.hasResourceProperties('AWS::KMS::Key', {
        Description: Match.stringLikeRegexp('build runner'),
        Tags: [{ Key: 'modelseal:role', Value: 'runner-key' }],
        KeyPolicy: {
          Statement: [
            Match.objectLike({ Sid: 'AllowKeyAdministration', Action: SYMMETRIC_KEY_ADMIN_ACTIONS }),
            Match.objectLike({ Sid: 'AllowUseThroughEcrByAccountPrincipals', Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'] }),
            {
              Sid: 'AllowDecryptThroughS3ByAccountPrincipals',
              Effect: 'Allow',
              Principal: { AWS: join('arn:', P, ':iam::', A, ':root') },
              Action: 'kms:Decrypt',
              Resource: '*',
              Condition: { StringEquals: { 'kms:ViaService': join('s3.', R, '.amazonaws.com'), 'kms:CallerAccount': A } },
            },
            Match.objectLike({ Sid: 'AllowCloudWatchLogs', Action: LOGS_KEY_ACTIONS }),
            // through S3 and CodeBuild only: a build command calling kms:Decrypt itself is refused
            {
              Sid: 'AllowRunnerRoles',
              Effect: 'Allow',
              Principal: { AWS: [mGetAtt('RunnerRole'), mGetAtt('RunnerTrainRole')] },
              Action: RUNNER_KEY_ACTIONS,
              Resource: '*',
              Condition: runnerKeyVia,
            },
          ],
        },
      });
    });

    test('serving image: a scanned, immutable repository and a Notation profile; the seal waits for the scan, records it, co-signs the root', () => {
      const { template } = setup({ servingImageSigning: true, modelCard: ModelCard.fromFile(CARD) });
      template.hasResourceProperties('AWS::ECR::Repository', {
        ImageTagMutability: 'IMMUTABLE', ImageScanningConfiguration: { ScanOnPush: true }, Tags: [{ Key: 'modelseal:role', Value: 'serving-images' }],
      });
      template.hasResourceProperties('AWS::Signer::SigningProfile', { PlatformId: 'Notation-OCI-SHA384-ECDSA' });
      const build: string[] = JSON.parse(projects(template).seal.Properties.Source.BuildSpec).phases.build.commands;
      expect(build.some((c) => c.includes('aws ecr wait image-scan-complete') && c.includes('--scan-summary "$WORK/scan.json"'))).toBe(true);
      expect(build).toContain('node "$CODEBUILD_SRC_DIR/modelseal-cli.js" sign aws-signer --digest "sha256:$ROOT" --profile "$SIGNING_PROFILE_NAME" --signature "$WORK/model.jws"');
      // the train role needs nothing of the serving image
      expect(JSON.stringify(policyOf(template, 'RunnerTrainRole'))).not.toContain('ServingImages');
    });

    test('model card: none (no SBOM, said in the log), a checked file asset, or an input resolved as of the train start', () => {
      const none: string[] = JSON.parse(projects(setup().template).seal.Properties.Source.BuildSpec).phases.build.commands;
      expect(none).toContain('echo "no model card configured: no AI SBOM attestation for this model"');
      expect(none.some((c) => c.includes('attest sbom'))).toBe(false);
      const input = projects(setup({ modelCard: ModelCard.fromInput('cards/fraud.yaml') }).template).seal;
      const spec: string[] = JSON.parse(input.Properties.Source.BuildSpec).phases.build.commands;
      expect(spec.find((c) => c.includes(' seal prepare '))).toContain("--model-card-input 'cards/fraud.yaml'");
      expect(spec).toContain('CARD="$OUT/model-card.yaml"');
      const file = projects(setup({ modelCard: ModelCard.fromFile(CARD) }).template).seal;
      expect(file.Properties.Environment.EnvironmentVariables).toContainEqual({ Name: 'MODEL_CARD_URI', Type: 'PLAINTEXT', Value: expect.objectContaining({ 'Fn::Sub': expect.stringMatching(/^s3:\/\/cdk-hnb659fds-assets-.*\.yaml$/) }) });
    });

    test('GPU training: the train build runs as LINUX_GPU_CONTAINER with the pinned ECR image', () => {
      const { train } = projects(setup({ gpu: true, computeType: codebuild.ComputeType.LARGE }).template);
      expect(train.Properties.Environment).toMatchObject({ Type: 'LINUX_GPU_CONTAINER', Image: IMAGE, ImagePullCredentialsType: 'SERVICE_ROLE' });
    });

    test('your own log group and key', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Central', '/central/builds');
      const key = new kms.Key(stack, 'MyKey');
      const runner = bareRunner(stack, {
        logGroup,
        encryptionKey: key,
        s3PrefixListId: 'pl-6ca54005',
      });
      expect(runner.logGroup).toBe(logGroup);
      expect(runner.encryptionKey).toBe(key);
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::Logs::LogGroup', 1); // the flow logs only
      expect(Object.keys(t.findResources('AWS::KMS::Key')).filter((k) => k.startsWith('RunnerKey'))).toEqual([]);
      expect(projects(t).train.Properties.LogsConfig.CloudWatchLogs.GroupName).toBe('/central/builds');
      expect(JSON.stringify(policyOf(t, 'RunnerTrainRole')[0].Resource)).toContain(':log-group:/central/builds:log-stream:train/*');
    });

    test('grantStartBuild: StartBuild on the train project only (never the seal)', () => {
      const { stack, runner } = setup();
      const ops = new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
      runner.grantStartBuild(ops);
      expect(policyOf(Template.fromStack(stack), 'Ops')).toEqual([{ Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: getAtt('RunnerProject') }]);
    });

    test('sealStartGuardrail: the statements that keep the seal to its trigger, from the fixed names (tokens only for the env)', () => {
      const { stack, runner } = setup();
      const doc = stack.resolve(runner.sealStartGuardrail().toJSON());
      const arn = (service: string, rest: any[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, ...rest]] });
      const seal = arn('codebuild', [{ Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':project/Stack-Runner-1156DF1C-seal']);
      const trigger = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/Stack-Runner-1156DF1C-seal-trigger-', { Ref: 'AWS::Region' }]] };
      expect(doc.Statement).toEqual([
        { Sid: 'ModelSealSealBuildStartsOnlyFromItsTrigger', Effect: 'Deny', Action: BUILD_START_ACTIONS, Resource: seal, Condition: { ArnNotEquals: { 'aws:PrincipalArn': trigger } } },
        { Sid: 'ModelSealSealBuildNoBuildspecOverride', Effect: 'Deny', Action: BUILD_START_ACTIONS, Resource: seal, Condition: { Null: { 'codebuild:source.buildspec': 'false' } } },
        { Sid: 'ModelSealSealBuildNoImageOverride', Effect: 'Deny', Action: BUILD_START_ACTIONS, Resource: seal, Condition: { Null: { 'codebuild:environment.image': 'false' } } },
      ]);
      // the trigger role has that fixed name
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::IAM::Role', { RoleName: { 'Fn::Join': ['', ['Stack-Runner-1156DF1C-seal-trigger-', { Ref: 'AWS::Region' }]] } });
    });

    test('sealStartGuardrailFor(account, region): literal ARNs only, ready to paste into an SCP', () => {
      const { runner } = setup();
      const json = JSON.stringify(runner.sealStartGuardrailFor(ACCOUNT, REGION).toJSON());
      expect(json).not.toMatch(/\$\{Token|Fn::|"Ref"/);
      const doc = JSON.parse(json);
      const seal = `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/Stack-Runner-1156DF1C-seal`;
      expect(doc.Statement.map((x: any) => x.Resource)).toEqual([seal, seal, seal]);
      expect(doc.Statement[0].Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/Stack-Runner-1156DF1C-seal-trigger-${REGION}` } });
      expect(JSON.parse(JSON.stringify(runner.sealStartGuardrailFor(ACCOUNT, 'cn-north-1', 'aws-cn').toJSON())).Statement[0].Resource)
        .toBe(`arn:aws-cn:codebuild:cn-north-1:${ACCOUNT}:project/Stack-Runner-1156DF1C-seal`);
      expect(() => runner.sealStartGuardrailFor(Aws.ACCOUNT_ID, REGION)).toThrow(/sealStartGuardrailFor: account must be 12 digits, got '\$\{Token\[AWS\.AccountId/);
      expect(() => runner.sealStartGuardrailFor(ACCOUNT, 'Europe')).toThrow("HardenedBuildRunner 'Stack/Runner': sealStartGuardrailFor: region must be a region name like eu-west-1, got 'Europe'");
    });

    test('sealStartGuardrailFor refuses an account or region other than the stack\'s explicit env', () => {
      const app = new App();
      const stack = new Stack(app, 'Pinned', { env: { account: ACCOUNT, region: REGION } });
      const runner = new HardenedBuildRunner(stack, 'Runner', {
        signingKey: new ModelSigningKey(stack, 'Key'),
        store: new AttestationStore(stack, 'Store'),
        buildImage: IMAGE,
        modelName: 'fraud',
        buildCommands: ['python train.py'],
        s3PrefixListId: 'pl-6ca54005',
      });
      expect(() => runner.sealStartGuardrailFor('210987654321', REGION)).toThrow(`sealStartGuardrailFor: account 210987654321 is not the stack's account ${ACCOUNT}`);
      expect(() => runner.sealStartGuardrailFor(ACCOUNT, 'us-east-1')).toThrow(`sealStartGuardrailFor: region us-east-1 is not the stack's region ${REGION}`);
      // sealStartGuardrail() names the same ARNs, with the partition as the only token left
      expect(JSON.stringify(stack.resolve(runner.sealStartGuardrail().toJSON())).replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"([^"]*)"\]\]\}/g, '"arn:aws$1"'))
        .toBe(JSON.stringify(runner.sealStartGuardrailFor(ACCOUNT, REGION).toJSON()));
    });

    test('a signing key in a shared stack, the runner in a team stack: synthesizes with sealRoleName (the key policy names it literally)', () => {
      const app = new App();
      const keys = new Stack(app, 'Keys', { env: { account: ACCOUNT, region: REGION } });
      const key = new ModelSigningKey(keys, 'SigningKey');
      const store = new AttestationStore(keys, 'Store');
      const team = new Stack(app, 'TeamA', { env: { account: ACCOUNT, region: REGION } });
      const props = { signingKey: key, store, buildImage: IMAGE, modelName: 'fraud', buildCommands: ['python train.py'], s3PrefixListId: 'pl-6ca54005' };
      expect(() => new HardenedBuildRunner(team, 'NoName', props)).toThrow(/grantSign\(grantee\) got TeamA\/NoName\/Role, a role of stack TeamA with a generated name.*HardenedBuildRunner sealRoleName/);
      new HardenedBuildRunner(team, 'Runner', { ...props, sealRoleName: 'team-a-fraud-seal' });
      const assembly = app.synth();
      Template.fromJSON(assembly.getStackByName('TeamA').template).hasResourceProperties('AWS::IAM::Role', { RoleName: 'team-a-fraud-seal' });
      const keyPolicy = JSON.stringify(assembly.getStackByName('Keys').template);
      expect(keyPolicy).toContain(`:iam::${ACCOUNT}:role/team-a-fraud-seal`);
      expect(() => new HardenedBuildRunner(new Stack(app, 'Other'), 'Runner', { ...props, sealRoleName: 'bad name' }))
        .toThrow("HardenedBuildRunner 'Other/Runner': sealRoleName must be 1 to 64 characters of letters, digits and +=,.@_- (an IAM role name), got 'bad name'");
    });

    test('role tags: the runner key, both projects, the staging and access-log buckets, the serving-image repository', () => {
      const { template } = setup({ servingImageSigning: true });
      const roleOf = (type: string) => Object.entries<any>(template.findResources(type))
        .filter(([k]) => k.startsWith('Runner')).map(([, r]) => r.Properties.Tags?.find((x: any) => x.Key === 'modelseal:role')?.Value).sort();
      expect(roleOf('AWS::CodeBuild::Project')).toEqual(['seal', 'train']);
      expect(roleOf('AWS::S3::Bucket')).toEqual(['access-logs', 'model-staging']);
      expect(roleOf('AWS::KMS::Key')).toEqual(['runner-key']);
      expect(roleOf('AWS::ECR::Repository')).toEqual(['serving-images']);
    });
  });

  describe('evaluated by the IAM simulator', () => {
    const TRAIN_BUILD = `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/Stack-Runner-1156DF1C-train:11111111-2222-4333-8444-555555555555`;
    const EARLIER_BUILD = `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/Stack-Runner-1156DF1C-train:00000000-2222-4333-8444-555555555555`;
    function evaluated() {
      const { stack, runner } = setup({ servingImageSigning: true });
      const sim = TemplateSimulator.fromStack(stack);
      const endpoint = (suffix: string) => [sim.idsOfType('AWS::EC2::VPCEndpoint').find((e) => String(sim.props(e).ServiceName).endsWith(`.${suffix}`))!];
      const store = sim.arn(sim.idOf('AWS::S3::Bucket', 'StoreC'));
      const staging = sim.arn(sim.idOf('AWS::S3::Bucket', 'RunnerStagingC'));
      const root = 'a'.repeat(64);
      const admin = { name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS };
      const train = sim.role(sim.idOf('AWS::IAM::Role', 'RunnerTrainRole'));
      return {
        sim,
        runner,
        stack,
        train,
        // the same role after someone attached AdministratorAccess to it: the explicit denies still hold
        trainWithAdmin: { ...train, label: `${train.label} + AdministratorAccess`, identityPolicies: [...train.identityPolicies, admin] },
        seal: sim.role(sim.idOf('AWS::IAM::Role', 'RunnerRole')),
        trigger: sim.role(sim.idOf('AWS::IAM::Role', 'RunnerSealTriggerRole')),
        admin: sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [admin]),
        signingKey: sim.arn(sim.idOf('AWS::KMS::Key', 'Key')),
        storeKey: sim.arn(sim.idOf('AWS::KMS::Key', 'StoreKey')),
        runnerKey: sim.arn(sim.idOf('AWS::KMS::Key', 'RunnerKey')),
        trainProject: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/Stack-Runner-1156DF1C-train`,
        sealProject: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/Stack-Runner-1156DF1C-seal`,
        bundle: `${store}/bundles/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`,
        revocation: `${store}/revocations/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.json`,
        store,
        staging,
        endpoint,
      };
    }
    const digest = { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' };
    const upload = (keyArn: string) => ({
      's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn, 's3:if-none-match': '*', 's3:ObjectCreationOperation': 'true',
    });

    test('the build roles use the runner key through S3 and CodeBuild only: a build command calling KMS itself, or through another service, is refused', async () => {
      const x = evaluated();
      const via = (service: string) => ({ 'kms:ViaService': `${service}.${REGION}.amazonaws.com` });
      const rows: SimRow[] = [];
      for (const [kind, principal] of [['train', x.train], ['seal', x.seal]] as const) {
        const session = { 'codebuild:buildArn': kind === 'train' ? TRAIN_BUILD : TRAIN_BUILD.replace('-train:', '-seal:') };
        for (const action of RUNNER_KEY_ACTIONS) {
          rows.push(
            { name: `${kind}: ${action} through S3`, principal, action, resource: x.runnerKey, context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': x.staging }, session, expect: 'Allowed' },
            { name: `${kind}: ${action} through CodeBuild`, principal, action, resource: x.runnerKey, context: via('codebuild'), session, expect: 'Allowed' },
            { name: `${kind}: ${action} called directly`, principal, action, resource: x.runnerKey, session, expect: 'ImplicitlyDenied' },
            { name: `${kind}: ${action} through Secrets Manager`, principal, action, resource: x.runnerKey, context: via('secretsmanager'), session, expect: 'ImplicitlyDenied' },
          );
        }
      }
      const results = await x.sim.expectRows(rows);
      // the key policy and the role's IAM policy both carry the condition: neither alone lets a direct call through
      expect(results.find((r) => r.row.name === 'train: kms:Decrypt through S3')!.decisive.sort())
        .toEqual([expect.stringMatching(/^RunnerKey[0-9A-F]{8}: AllowDecryptThroughS3ByAccountPrincipals$/), expect.stringMatching(/^RunnerKey[0-9A-F]{8}: AllowRunnerRoles$/),
          expect.stringMatching(/^RunnerTrainRoleDefaultPolicy[0-9A-F]{8}: UseRunnerKey$/)]);
    });

    test('a digest-pinned ECR sealImage: the seal role pulls it through the runner\'s ECR endpoints (every runtime call allowed); the train role cannot', async () => {
      const sealImage = `444455556666.dkr.ecr.eu-west-1.amazonaws.com/modelseal-seal@sha256:${'5e'.repeat(32)}`;
      const sealRepo = 'arn:aws:ecr:eu-west-1:444455556666:repository/modelseal-seal';
      const { stack } = setup({ sealImage });
      const sim = TemplateSimulator.fromStack(stack);
      const rows = deployCallRows(sim);
      const results = await sim.expectRows(rows);
      // the rows of the seal build's image pull (service role, the ECR endpoints, the repository policy of the other account)
      const pulls = results.filter((r) => r.row.resource === sealRepo).map((r) => `${r.row.action} ${r.decision}`).sort();
      expect(pulls).toEqual(['ecr:BatchCheckLayerAvailability Allowed', 'ecr:BatchGetImage Allowed', 'ecr:GetDownloadUrlForLayer Allowed']);
      expect(policyOf(Template.fromStack(stack), 'RunnerRole')).toEqual(expect.arrayContaining([
        { Sid: 'PullSealImage', Effect: 'Allow', Action: ECR_PULL_ACTIONS, Resource: join('arn:', P, ':ecr:eu-west-1:444455556666:repository/modelseal-seal') },
        { Sid: 'GetEcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ]));
      const train = sim.role(sim.idOf('AWS::IAM::Role', 'RunnerTrainRole'));
      await sim.expectRows([{ name: 'train: pull the seal image', principal: train, action: 'ecr:BatchGetImage', resource: sealRepo, expect: 'ImplicitlyDenied' }]);
    });

    test('the train role cannot sign, cannot touch the store, cannot start or override any build, cannot rewrite an earlier build\'s staged model', async () => {
      const x = evaluated();
      const session = { 'codebuild:buildArn': TRAIN_BUILD };
      const rows: SimRow[] = [];
      for (const principal of [x.train, x.trainWithAdmin]) {
        rows.push(
          { name: `${principal.label}: sign a digest`, principal, action: 'kms:Sign', resource: x.signingKey, context: digest, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: publish a bundle`, principal, action: 's3:PutObject', resource: x.bundle, context: upload(x.storeKey), expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: read the store`, principal, action: 's3:GetObject', resource: x.bundle, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: start the seal`, principal, action: 'codebuild:StartBuild', resource: x.sealProject, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: start the seal with a buildspec override`, principal, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:source.buildspec': 'true' }, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: re-run a seal build`, principal, action: 'codebuild:RetryBuild', resource: x.sealProject, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: change the seal project`, principal, action: 'codebuild:UpdateProject', resource: x.sealProject, expect: 'ExplicitlyDenied' },
          { name: `${principal.label}: start another train build`, principal, action: 'codebuild:StartBuild', resource: x.trainProject, expect: 'ExplicitlyDenied' },
          {
            name: `${principal.label}: add a file to an earlier build's staged model`,
            principal,
            action: 's3:PutObject',
            resource: `${x.staging}/${EARLIER_BUILD}/model/extra.pkl`,
            session,
            via: x.endpoint('s3'),
            expect: 'ExplicitlyDenied',
          },
          { name: `${principal.label}: write anywhere else`, principal, action: 's3:PutObject', resource: 'arn:aws:s3:::exfil-bucket/weights.bin', session, expect: 'ExplicitlyDenied' },
        );
      }
      rows.push(
        { name: 'train: stage under its own build', principal: x.train, action: 's3:PutObject', resource: `${x.staging}/${TRAIN_BUILD}/model/weights.bin`, session, via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'train: multipart abort under its own build', principal: x.train, action: 's3:AbortMultipartUpload', resource: `${x.staging}/${TRAIN_BUILD}/model/weights.bin`, session, expect: 'Allowed' },
        // without the session key (credentials not from a CodeBuild build) the variable resolves to nothing: no write
        { name: 'train: stage without a CodeBuild session', principal: x.train, action: 's3:PutObject', resource: `${x.staging}/${TRAIN_BUILD}/model/weights.bin`, expect: 'Denied' },
        { name: 'train: read the inputs', principal: x.train, action: 's3:GetObject', resource: `${x.sim.arn(x.sim.idOf('AWS::S3::Bucket', 'Source'))}/runs/data.csv`, via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'train: read a staged model', principal: x.train, action: 's3:GetObject', resource: `${x.staging}/${EARLIER_BUILD}/model/weights.bin`, expect: 'ImplicitlyDenied' },
        { name: 'train: pass a role', principal: x.train, action: 'iam:PassRole', resource: x.seal.arn, expect: 'ImplicitlyDenied' },
      );
      const results = await x.sim.expectRows(rows);
      const decisive = (name: string) => results.find((r) => r.row.name === name)!.decisive;
      expect(decisive(`${x.trainWithAdmin.label}: sign a digest`)).toContain(`${x.train.identityPolicies[0].name}: DenySigning`);
      expect(decisive(`${x.trainWithAdmin.label}: add a file to an earlier build's staged model`)).toContain(`${x.train.identityPolicies[0].name}: DenyWritesOutsideOwnBuildPrefix`);
      expect(decisive(`${x.trainWithAdmin.label}: start the seal`)).toContain(`${x.train.identityPolicies[0].name}: DenyStartingOrChangingBuilds`);
    });

    test('the seal role does exactly its job: facts, staged versions, sign digests, publish, its model\'s refs; never revoke, start builds or write staging', async () => {
      const x = evaluated();
      const results = await x.sim.expectRows([
        { name: 'read the train build', principal: x.seal, action: 'codebuild:BatchGetBuilds', resource: x.trainProject, via: x.endpoint('codebuild'), expect: 'Allowed' },
        { name: 'read its own build', principal: x.seal, action: 'codebuild:BatchGetBuilds', resource: x.sealProject, via: x.endpoint('codebuild'), expect: 'Allowed' },
        { name: 'read another project', principal: x.seal, action: 'codebuild:BatchGetBuilds', resource: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/other`, expect: 'ImplicitlyDenied' },
        { name: 'list staged versions', principal: x.seal, action: 's3:ListBucketVersions', resource: x.staging, via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'read a staged version', principal: x.seal, action: 's3:GetObjectVersion', resource: `${x.staging}/${TRAIN_BUILD}/model/weights.bin`, via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'write a staged model', principal: x.seal, action: 's3:PutObject', resource: `${x.staging}/${TRAIN_BUILD}/model/weights.bin`, expect: 'Denied' },
        { name: 'sign a digest', principal: x.seal, action: 'kms:Sign', resource: x.signingKey, context: digest, via: x.endpoint('kms'), expect: 'Allowed' },
        { name: 'sign a raw message', principal: x.seal, action: 'kms:Sign', resource: x.signingKey, context: { ...digest, 'kms:MessageType': 'RAW' }, via: x.endpoint('kms'), expect: 'ExplicitlyDenied' },
        { name: 'publish a bundle', principal: x.seal, action: 's3:PutObject', resource: x.bundle, context: upload(x.storeKey), via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'set its model\'s ref', principal: x.seal, action: 's3:PutObject', resource: `${x.store}/refs/fraud-detector/7`, context: upload(x.storeKey), via: x.endpoint('s3'), expect: 'Allowed' },
        { name: 'set the ref of a model named under its own (fraud-detector/v2, version 7)', principal: x.seal, action: 's3:PutObject', resource: `${x.store}/refs/fraud-detector/v2/7`, context: upload(x.storeKey), expect: 'ExplicitlyDenied' },
        { name: 'set another model\'s ref', principal: x.seal, action: 's3:PutObject', resource: `${x.store}/refs/credit-scorer/7`, context: upload(x.storeKey), expect: 'ImplicitlyDenied' },
        { name: 'revoke', principal: x.seal, action: 's3:PutObject', resource: x.revocation, context: upload(x.storeKey), expect: 'ImplicitlyDenied' },
        { name: 'start a build', principal: x.seal, action: 'codebuild:StartBuild', resource: x.sealProject, expect: 'ExplicitlyDenied' },
        { name: 'co-sign with AWS Signer', principal: x.seal, action: 'signer:SignPayload', resource: x.sim.arn(x.sim.idOf('AWS::Signer::SigningProfile', 'RunnerSigningProfile')), via: x.endpoint('signer'), expect: 'Allowed' },
        { name: 'delete from the store', principal: x.seal, action: 's3:DeleteObject', resource: x.bundle, expect: 'Denied' },
      ]);
      expect(results.find((r) => r.row.name === 'write a staged model')!.decision).toBe('ExplicitlyDenied');
    });

    test('only the trigger starts the seal, and without overrides; an SCP from sealStartGuardrail() refuses an administrator too', async () => {
      const x = evaluated();
      const guardrail = { name: 'ModelSealSealGuardrail', policy: x.stack.resolve(x.runner.sealStartGuardrail().toJSON()) };
      const resolved = new TemplateSimulator({ Resources: { ...x.sim.template.Resources, Guardrail: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: guardrail.policy } } } }, x.sim.stackName);
      const scp = [{ name: 'ModelSealSealGuardrail', policy: resolved.props('Guardrail').PolicyDocument }];
      const triggerRule = `arn:aws:events:${REGION}:${ACCOUNT}:rule/Stack-Runner-1156DF1C-on-train-success`;
      const results = await x.sim.expectRows([
        { name: 'EventBridge assumes the trigger role for its rule', principal: x.sim.service('events.amazonaws.com'), action: 'sts:AssumeRole', resource: x.trigger.arn, context: { 'aws:SourceArn': triggerRule, 'aws:SourceAccount': ACCOUNT }, expect: 'Allowed' },
        { name: 'EventBridge for another rule', principal: x.sim.service('events.amazonaws.com'), action: 'sts:AssumeRole', resource: x.trigger.arn, context: { 'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/other`, 'aws:SourceAccount': ACCOUNT }, expect: 'ImplicitlyDenied' },
        { name: 'CodeBuild assumes the seal role for another project', principal: x.sim.service('codebuild.amazonaws.com'), action: 'sts:AssumeRole', resource: x.seal.arn, context: { 'aws:SourceArn': x.trainProject, 'aws:SourceAccount': ACCOUNT }, expect: 'ImplicitlyDenied' },
        { name: 'trigger: start the seal with the train build id', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:environment.environmentVariables.name': ['TRAIN_BUILD_ID'] }, expect: 'Allowed' },
        { name: 'trigger: with a buildspec override', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:source.buildspec': 'true' }, expect: 'ExplicitlyDenied' },
        { name: 'trigger: with an image override', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:environment.image': 'evil@sha256:00' }, expect: 'ExplicitlyDenied' },
        { name: 'trigger: with another variable', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:environment.environmentVariables.name': ['TRAIN_BUILD_ID', 'MODEL_NAME'] }, expect: 'ExplicitlyDenied' },
        { name: 'trigger: start the train project', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.trainProject, expect: 'ImplicitlyDenied' },
        // inside one account an administrator can start the seal: the residual risk the guardrail closes
        { name: 'an administrator (no guardrail)', principal: x.admin, action: 'codebuild:StartBuild', resource: x.sealProject, expect: 'Allowed' },
        { name: 'an administrator under the guardrail SCP', principal: x.admin, action: 'codebuild:StartBuild', resource: x.sealProject, scps: scp, expect: 'ExplicitlyDenied' },
        { name: 'the trigger under the guardrail SCP', principal: x.trigger, action: 'codebuild:StartBuild', resource: x.sealProject, context: { 'codebuild:environment.environmentVariables.name': ['TRAIN_BUILD_ID'] }, scps: scp, expect: 'Allowed' },
      ]);
      expect(results.find((r) => r.row.name === 'an administrator under the guardrail SCP')!.decisive).toEqual(['ModelSealSealGuardrail: ModelSealSealBuildStartsOnlyFromItsTrigger']);
    });

    test('every CloudFormation handler call and every call CodeBuild, EventBridge, Logs and S3 make for the runner is allowed; a build command cannot use the runner key itself', async () => {
      const { sim } = evaluated();
      const rows = deployCallRows(sim);
      expect(new Set(rows.map((r) => r.resourceType))).toEqual(new Set(['AWS::KMS::Key', 'AWS::KMS::Alias', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy',
        'AWS::EC2::VPCEndpoint', 'AWS::CodeBuild::Project', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::ECR::Repository', 'AWS::Logs::LogGroup', 'AWS::Events::Rule']));
      const results = await sim.expectRows(rows);
      const refused = results.filter((r) => r.decision !== 'Allowed');
      expect(refused.filter((r) => (r.row as DeployCallRow).operation !== 'runtime').map((r) => r.row.action).sort())
        .toEqual(['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']);
      // kms:Decrypt, kms:Encrypt, kms:GenerateDataKey on the runner key by a train or seal build command (no kms:ViaService)
      const runnerKey = sim.arn(sim.idOf('AWS::KMS::Key', 'RunnerKey'));
      const direct = refused.filter((r) => (r.row as DeployCallRow).operation === 'runtime');
      expect(direct.map((r) => `${(r.row as DeployCallRow).caller}: ${r.row.action} ${r.decision}`).sort()).toEqual(
        ['seal', 'train'].flatMap((k) => ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'].map((a) => `a ${k} build command (${k} role): ${a} ImplicitlyDenied`)));
      for (const r of direct) expect(r.row.resource).toBe(runnerKey);
    });
  });

  describe('sealing weights for the enclave tier (weightsKey)', () => {
    const PCRS = { pcr0: 'a1'.repeat(48), pcr1: 'b2'.repeat(48), pcr2: 'c3'.repeat(48), pcr8: 'd4'.repeat(48) };
    const TRAIN_BUILD = `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/Stack-Runner-1156DF1C-train:11111111-2222-4333-8444-555555555555`;
    function sealing(overrides: Partial<HardenedBuildRunnerProps> = {}, keyPcr8 = [PCRS.pcr8], withSource = true) {
      let weightsKey: ModelWeightsKey | undefined;
      const built = setup({
        get weightsKey() { return weightsKey; },
        enclaveMeasurements: PCRS,
        ...overrides,
      } as Partial<HardenedBuildRunnerProps>, withSource, (stack) => { weightsKey = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: keyPcr8 }); });
      return built;
    }

    test('the seal role makes data keys (never decrypts) and uploads only under sealed/<model>/; the buildspec seals, uploads and publishes', () => {
      const { template, runner } = sealing();
      expect(runner.sealedWeightsPrefix).toBe('sealed/fraud-detector/');
      const statements = policyOf(template, 'RunnerRole');
      expect(statements).toEqual(expect.arrayContaining([
        { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: getAtt('WeightsKey') },
        { Sid: 'UploadSealedWeights', Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: objectsOf('RunnerStaging', '/sealed/fraud-detector/*') },
      ]));
      const onWeightsKey = statements.filter((x) => JSON.stringify(x.Resource).includes('WeightsKey'));
      expect(onWeightsKey.flatMap((x) => [x.Action].flat())).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
      // the weights key policy names the seal role as its one sealer
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowSealersToEncrypt', Principal: { AWS: mGetAtt('RunnerRole') } })]),
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: mRef('RunnerStaging'),
        PolicyDocument: {
          Statement: Match.arrayWith([
            denyStagingWritesExcept([mGetAtt('RunnerTrainRole'), mGetAtt('RunnerRole')]),
            {
              Sid: 'DenySealRoleWritesOutsideSealedWeights',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
              NotResource: join(mGetAtt('RunnerStaging'), '/sealed/fraud-detector/*'),
              Condition: { ArnEquals: { 'aws:PrincipalArn': mGetAtt('RunnerRole') } },
            },
          ]),
        },
      });
      const seal = projects(template).seal.Properties;
      expect(seal.Environment.EnvironmentVariables).toEqual(expect.arrayContaining([{ Name: 'WEIGHTS_KEY_ARN', Type: 'PLAINTEXT', Value: getAtt('WeightsKey') }]));
      const commands: string[] = JSON.parse(seal.Source.BuildSpec).phases.build.commands;
      const at = (re: RegExp) => commands.findIndex((c) => re.test(c));
      expect(commands[at(/enclave-measurements\.json"$/)]).toBe(
        `printf '%s' '${JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: PCRS.pcr0, PCR1: PCRS.pcr1, PCR2: PCRS.pcr2, PCR8: PCRS.pcr8 } })}' > "$WORK/enclave-measurements.json"`);
      expect(commands[at(/ seal-weights /)]).toContain('seal-weights "$MODELSEAL_SIGNER" "$OUT/model" "$WORK/sealed" --key-arn "$WEIGHTS_KEY_ARN" --enclave-measurements "$WORK/enclave-measurements.json" --digest "sha256:$ROOT"');
      expect(commands[at(/^aws s3 cp "\$WORK\/sealed"/)]).toBe('aws s3 cp "$WORK/sealed" "${MODEL_STAGING_URI}sealed/${MODEL_NAME}/${VERSION}/" --recursive --only-show-errors');
      // after signing the model, before publishing; the sealed signature and attestation are published with the rest
      expect(at(/ sign "\$MODELSEAL_SIGNER"/)).toBeLessThan(at(/ seal-weights /));
      expect(at(/ seal-weights /)).toBeLessThan(at(/ publish --store/));
      expect(commands).toContain('PUBLISH+=("$WORK/sealed.sig.json" "$WORK/enclave-seal.json")');
      // the KMS endpoint lets a build ask for data keys under the weights key, nothing more
      const sim = TemplateSimulator.fromStack(Stack.of(runner));
      const kmsEndpoint = sim.idsOfType('AWS::EC2::VPCEndpoint').map((e) => sim.props(e)).find((e) => e.ServiceName.endsWith('.kms'))!;
      expect(kmsEndpoint.PolicyDocument.Statement[1]).toEqual({
        Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:GenerateDataKey', Resource: sim.arn(sim.idOf('AWS::KMS::Key', 'WeightsKey')),
      });
    });

    test('without weightsKey: no sealing command, no weights-key variable, the staging bucket written by the train role alone', () => {
      const { template, runner } = setup();
      expect(runner.sealedWeightsPrefix).toBeUndefined();
      const seal = projects(template).seal.Properties;
      expect(seal.Source.BuildSpec).not.toContain('seal-weights');
      expect(JSON.stringify(seal.Environment.EnvironmentVariables)).not.toContain('WEIGHTS_KEY_ARN');
    });

    test('evaluated: the seal role asks for data keys and uploads sealed weights; it cannot decrypt them, write a staged model or another folder; the train role cannot write sealed weights', async () => {
      const { stack } = sealing();
      const sim = TemplateSimulator.fromStack(stack);
      const seal = sim.role(sim.idOf('AWS::IAM::Role', 'RunnerRole'));
      const train = sim.role(sim.idOf('AWS::IAM::Role', 'RunnerTrainRole'));
      const staging = sim.arn(sim.idOf('AWS::S3::Bucket', 'RunnerStagingC'));
      const weightsKey = sim.arn(sim.idOf('AWS::KMS::Key', 'WeightsKey'));
      const endpoint = (suffix: string) => [sim.idsOfType('AWS::EC2::VPCEndpoint').find((e) => String(sim.props(e).ServiceName).endsWith(`.${suffix}`))!];
      const session = { 'codebuild:buildArn': TRAIN_BUILD };
      const results = await sim.expectRows([
        { name: 'seal: a data key', principal: seal, action: 'kms:GenerateDataKey', resource: weightsKey, via: endpoint('kms'), expect: 'Allowed' },
        { name: 'seal: decrypt a data key', principal: seal, action: 'kms:Decrypt', resource: weightsKey, via: endpoint('kms'), expect: 'Denied' },
        { name: 'seal: upload sealed weights', principal: seal, action: 's3:PutObject', resource: `${staging}/sealed/fraud-detector/7/modelseal-sealed.json`, via: endpoint('s3'), expect: 'Allowed' },
        { name: 'seal: upload under another model\'s folder', principal: seal, action: 's3:PutObject', resource: `${staging}/sealed/credit-scorer/7/modelseal-sealed.json`, expect: 'ExplicitlyDenied' },
        { name: 'seal: write a staged model', principal: seal, action: 's3:PutObject', resource: `${staging}/${TRAIN_BUILD}/model/weights.bin`, expect: 'ExplicitlyDenied' },
        { name: 'train: write sealed weights', principal: train, action: 's3:PutObject', resource: `${staging}/sealed/fraud-detector/7/modelseal-sealed.json`, session, expect: 'ExplicitlyDenied' },
        { name: 'train: a data key', principal: train, action: 'kms:GenerateDataKey', resource: weightsKey, session, expect: 'Denied' },
      ]);
      const decisive = (name: string) => results.find((r) => r.row.name === name)!.decisive;
      expect(decisive('seal: write a staged model')).toEqual([expect.stringMatching(/: DenySealRoleWritesOutsideSealedWeights$/)]);
    });

    test('evaluated: an EnclaveServingTier pointed at the staging bucket reads the sealed weights through S3 (runner key through S3 only), and cannot read staged models', async () => {
      let weightsKey: ModelWeightsKey | undefined;
      const props = { get weightsKey() { return weightsKey; }, enclaveMeasurements: PCRS } as Partial<HardenedBuildRunnerProps>;
      const { stack, runner } = setup(props, true,
        (st) => { weightsKey = new ModelWeightsKey(st, 'WeightsKey', { enclavePcr8: [PCRS.pcr8] }); });
      const signingKey = stack.node.findChild('Key') as ModelSigningKey;
      new EnclaveServingTier(stack, 'Serving', {
        vpc: runner.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        weightsKey: weightsKey!,
        store: stack.node.findChild('Store') as AttestationStore,
        artifactsBucket: runner.stagingBucket,
        enclaveImagePrefix: 'enclave-images/fraud-detector/3/',
        sealedWeightsPrefix: `${runner.sealedWeightsPrefix}7/`,
        trustPolicy: JSON.stringify({ apiVersion: 'modelseal.dev/v1', kind: 'TrustPolicy', signers: [{ name: 'ci', kmsKeyArn: signingKey.keyArn }], require: { allOf: ['ci'] } }),
        trustPolicySigningKeys: [signingKey],
      });
      const sim = TemplateSimulator.fromStack(stack);
      const host = sim.role(sim.idOf('AWS::IAM::Role', 'ServingInstanceRole'));
      const staging = sim.arn(sim.idOf('AWS::S3::Bucket', 'RunnerStagingC'));
      const runnerKey = sim.arn(sim.idOf('AWS::KMS::Key', 'RunnerKey'));
      await sim.expectRows([
        { name: 'host: read a sealed file', principal: host, action: 's3:GetObject', resource: `${staging}/sealed/fraud-detector/7/modelseal-sealed.json`, expect: 'Allowed' },
        { name: 'host: S3 decrypts it with the runner key', principal: host, action: 'kms:Decrypt', resource: runnerKey, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT }, expect: 'Allowed' },
        { name: 'host: decrypt with the runner key outside S3', principal: host, action: 'kms:Decrypt', resource: runnerKey, expect: 'ImplicitlyDenied' },
        { name: 'host: read a staged (plaintext) model', principal: host, action: 's3:GetObject', resource: `${staging}/${TRAIN_BUILD}/model/weights.bin`, expect: 'ImplicitlyDenied' },
        { name: 'host: read another build number\'s sealed weights', principal: host, action: 's3:GetObject', resource: `${staging}/sealed/fraud-detector/8/modelseal-sealed.json`, expect: 'ImplicitlyDenied' },
      ]);
    });

    test('cdk-nag stays clean with sealing on', () => {
      // without the test's own source bucket, which is not the runner's
      expectNagClean(sealing({}, [PCRS.pcr8], false).stack);
    });

    test('fails when weightsKey has no measurements, measurements have no key, a PCR is malformed or all zeros, or the key would never decrypt them', () => {
      expect(() => sealing({ enclaveMeasurements: undefined })).toThrow(/HardenedBuildRunner 'Stack\/Runner': weightsKey needs enclaveMeasurements/);
      expect(() => setup({ enclaveMeasurements: PCRS })).toThrow(/enclaveMeasurements applies only with weightsKey/);
      expect(() => sealing({ enclaveMeasurements: { ...PCRS, pcr1: 'xyz' } })).toThrow(/enclaveMeasurements\.pcr1 holds "xyz", which is not a PCR value/);
      expect(() => sealing({ enclaveMeasurements: { ...PCRS, pcr2: '0'.repeat(96) } })).toThrow(/enclaveMeasurements\.pcr2 holds an all-zero PCR value/);
      expect(() => sealing({ enclaveMeasurements: { ...PCRS, pcr8: undefined } })).toThrow(/enclaveMeasurements\.pcr8 is absent, which weightsKey does not let decrypt/);
      expect(() => sealing({}, ['e5'.repeat(48)])).toThrow(new RegExp(`enclaveMeasurements\\.pcr8 is ${PCRS.pcr8}, which weightsKey does not let decrypt \\(its key policy allows PCR8 ${'e5'.repeat(48)}\\)`));
      // upper-case hex as some tools print it is the same value
      expect(() => sealing({ enclaveMeasurements: { ...PCRS, pcr8: PCRS.pcr8.toUpperCase() } })).not.toThrow();
    });
  });

  describe('cdk-nag', () => {
    test('AwsSolutions and NIST 800-53 R5: zero unacknowledged findings on the runner', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      bareRunner(stack, {
        servingImageSigning: true,
        modelCard: ModelCard.fromFile(CARD),
        s3PrefixListId: 'pl-6ca54005',
      });
      expectNagClean(stack);
    });

    test('acknowledgements stay on what the runner owns: a stack singleton it uses and what you add under it are not acknowledged', () => {
      const { stack, runner } = setup({ s3PrefixListId: undefined }, false);
      // a bucket you add under the construct later gets no acknowledgement from it
      new s3.Bucket(runner, 'AddedLater');
      const findings = nagFindings(stack).filter((f) => !f.paths.every((p) => p.startsWith('Stack/Key') || p.startsWith('Stack/Store')));
      const paths = [...new Set(findings.flatMap((f) => f.paths))].sort();
      expect(paths).toEqual(expect.arrayContaining(['Stack/AWS679f53fac002430cb0da5b7982bd2287/Resource', 'Stack/Runner/AddedLater/Resource']));
      expect(paths.filter((p) => !p.startsWith('Stack/AWS679f53fac002430cb0da5b7982bd2287') && !p.startsWith('Stack/Runner/AddedLater'))).toEqual([]);
    });
  });

  describe('fails when', () => {
    test('fails when the train image is referenced by tag, unless allowed (then the seal accepts it, and the provenance says so)', () => {
      expect(() => setup({ buildImage: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer:latest' }))
        .toThrow(/HardenedBuildRunner 'Stack\/Runner': buildImage must be pinned by digest .* got '111122223333.dkr.ecr.eu-west-1.amazonaws.com\/trainer:latest': a tag can be moved/);
      const { template } = setup({ buildImage: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer:dev', allowUnpinnedBuildImage: true });
      const build: string[] = JSON.parse(projects(template).seal.Properties.Source.BuildSpec).phases.build.commands;
      expect(build.find((c) => c.includes(' seal prepare '))).toContain('--allow-unpinned-builder');
      expect(build.find((c) => c.includes(' attest provenance '))).toContain('--allow-unpinned-builder');
    });
    test('fails when the build commands are empty', () => {
      expect(() => setup({ buildCommands: [] })).toThrow(/buildCommands must hold at least one command/);
      expect(() => setup({ buildCommands: ['  '] })).toThrow(/buildCommands must hold at least one command/);
    });
    test('fails when a timeout is not whole minutes, naming the prop', () => {
      expect(() => setup({ timeout: Duration.seconds(90) })).toThrow("HardenedBuildRunner 'Stack/Runner': timeout must be whole minutes (CodeBuild timeouts are in minutes), got 1 minute 30 seconds");
      expect(() => setup({ sealTimeout: Duration.millis(300_500) })).toThrow(/sealTimeout must be whole minutes/);
      expect(() => setup({ queuedTimeout: Duration.minutes(2) })).toThrow(/queuedTimeout \(minutes\) must be an integer between 5 and 480, got 2/);
    });
    test('fails when the VPC has no isolated subnets, or is yours without endpoints and without an endpoint group', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack');
      const base = { signingKey: new ModelSigningKey(stack, 'Key'), store: new AttestationStore(stack, 'Store'), buildImage: IMAGE, buildCommands: ['make'], modelName: 'm' };
      const pub = new ec2.Vpc(stack, 'Public', { natGateways: 0, subnetConfiguration: [{ name: 'pub', subnetType: ec2.SubnetType.PUBLIC }] });
      expect(() => new HardenedBuildRunner(stack, 'A', { ...base, vpc: pub, createVpcEndpoints: true }))
        .toThrow("HardenedBuildRunner 'Stack/A': vpc must have isolated subnets (no route to an internet or NAT gateway), got a VPC with 0 isolated subnets");
      const iso = new ec2.Vpc(stack, 'Iso', { natGateways: 0, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      expect(() => new HardenedBuildRunner(stack, 'B', { ...base, vpc: iso }))
        .toThrow(/'Stack\/B': vpc is yours and createVpcEndpoints is off, so name its endpoints: endpointSecurityGroup or endpointPrefixListId \(the builds never get HTTPS to the whole VPC CIDR\)/);
      expect(() => new HardenedBuildRunner(stack, 'C', { ...base, endpointPrefixListId: 'pl-0123456789abcdef0' }))
        .toThrow(/'Stack\/C': endpointSecurityGroup and endpointPrefixListId apply only to a VPC you pass/);
    });
    test('fails when a timestamp authority has no peer, a bad URL, or a peer without a URL', () => {
      expect(() => setup({ timestampUrl: 'https://tsa.example/tsr' })).toThrow(/timestampUrl needs timestampSecurityGroup or timestampPrefixListId/);
      expect(() => setup({ timestampUrl: 'ftp://tsa.example', timestampPrefixListId: 'pl-0123456789abcdef0' }))
        .toThrow("HardenedBuildRunner 'Stack/Runner': timestampUrl must be an http:// or https:// URL of an RFC 3161 timestamp authority, known at synth, got 'ftp://tsa.example'");
      expect(() => setup({ timestampPrefixListId: 'pl-0123456789abcdef0' })).toThrow(/timestampSecurityGroup and timestampPrefixListId apply only with timestampUrl/);
    });
    test('fails when a GPU build is asked with an image outside ECR, a card input without a source, a bad marker, an unpinned seal image', () => {
      expect(() => setup({ gpu: true, buildImage: `docker.io/library/python@sha256:${'b'.repeat(64)}` })).toThrow(/buildImage must be an ECR image for a GPU build/);
      expect(() => setup({ modelCard: ModelCard.fromInput('card.yaml') }, false)).toThrow(/modelCard is ModelCard.fromInput\('card.yaml'\), which needs modelSourceBucket/);
      expect(() => setup({ startOnUpload: true, startOnUploadMarker: '../x' })).toThrow(/startOnUploadMarker must be one file name/);
      expect(() => setup({ sealImage: 'aws/codebuild/standard:7.0' })).toThrow(/sealImage must be pinned by digest/);
      expect(() => ModelCard.fromInput('../card.yaml')).toThrow(/ModelCard.fromInput: the name must be a key relative to modelSourcePrefix/);
      expect(() => ModelCard.fromFile('no/such/card.yaml')).toThrow(/ModelCard.fromFile: cannot read the model card 'no\/such\/card.yaml'/);
    });
    test('fails when startOnUpload has an imported bucket without EventBridge, or no source bucket', () => {
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
        s3PrefixListId: 'pl-6ca54005',
      };
      expect(() => new HardenedBuildRunner(stack, 'Runner', props)).toThrow(/modelSourceBucket is imported, so its EventBridge notifications cannot be checked/);
      expect(() => new HardenedBuildRunner(stack, 'Runner2', { ...props, modelSourceEventBridgeEnabled: true })).not.toThrow();
      expect(() => setup({ startOnUpload: true }, false)).toThrow(/startOnUpload needs modelSourceBucket/);
    });
    test('fails when availabilityZones is empty, malformed, of another region, repeated, or given with a vpc', () => {
      const app = new App();
      const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
      const base = { signingKey: new ModelSigningKey(stack, 'Key'), store: new AttestationStore(stack, 'Store'), buildImage: IMAGE, buildCommands: ['python train.py'], modelName: 'fraud-detector', s3PrefixListId: 'pl-6ca54005' };
      expect(() => new HardenedBuildRunner(stack, 'A', { ...base, availabilityZones: [] })).toThrow("HardenedBuildRunner 'Stack/A': availabilityZones must name at least one zone, got []");
      expect(() => new HardenedBuildRunner(stack, 'B', { ...base, availabilityZones: ['euw1-az1'] })).toThrow("HardenedBuildRunner 'Stack/B': availabilityZones must hold zone names like eu-west-1a, got 'euw1-az1'");
      expect(() => new HardenedBuildRunner(stack, 'C', { ...base, availabilityZones: ['us-east-1a'] })).toThrow("HardenedBuildRunner 'Stack/C': availabilityZones must be zones of the stack's region eu-west-1, got 'us-east-1a'");
      expect(() => new HardenedBuildRunner(stack, 'D', { ...base, availabilityZones: ['eu-west-1a', 'eu-west-1a'] })).toThrow(/'Stack\/D': availabilityZones must not repeat a zone/);
      const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a'], subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      expect(() => new HardenedBuildRunner(stack, 'E', { ...base, vpc, availabilityZones: ['eu-west-1a'] })).toThrow(/'Stack\/E': availabilityZones applies only to the runner's own VPC/);
    });
    test('fails when limits or names are out of range', () => {
      expect(() => setup({ concurrentBuildLimit: 0 })).toThrow(/concurrentBuildLimit must be an integer between 1 and 1000, got 0/);
      expect(() => setup({ s3PrefixListId: 'sg-123' })).toThrow(/s3PrefixListId must be a prefix list id like pl-6ca54005, got 'sg-123'/);
      expect(() => setup({ modelName: '../etc' })).toThrow('HardenedBuildRunner \'Stack/Runner\': modelName \'../etc\' contains ".."; a name is 1-200 characters');
      // the rule `modelseal ref set` applies at the end of every seal, so a bad name fails at synth, not after training
      expect(() => setup({ modelName: 'fraud//v2' })).toThrow(/modelName 'fraud\/\/v2' has a part that is empty/);
    });
  });
});
