import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AttestationRetentionMode, AttestationStore } from '../../src';
import { STORE_DENIED_MUTATIONS, SYMMETRIC_KEY_ADMIN_ACTIONS } from '../../src/aws/perms';
import { deployCallRows } from '../helpers/deploy-calls';
import { ACCOUNT, ADMINISTRATOR_ACCESS, REGION, SimPrincipal, SimRow, TemplateSimulator } from '../helpers/iam-sim';
import { expectNagClean } from '../helpers/nag';

function setup() {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  return { app, stack };
}

const STORE_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store'), 'Arn'] };
const STORE_OBJECTS = { 'Fn::Join': ['', [STORE_ARN, '/*']] };
const KEY_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^StoreKey'), 'Arn'] };
const prefixArn = (p: string) => ({ 'Fn::Join': ['', [STORE_ARN, `/${p}*`]] });
const PREFIXES = ['bundles/', 'attestations/', 'notation/', 'revocations/', 'refs/'];

function storeBucket(t: Template): any {
  const buckets = t.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
  expect(Object.keys(buckets)).toHaveLength(1);
  return Object.values(buckets)[0];
}

describe('AttestationStore', () => {
  test('Object Lock COMPLIANCE 3650 days, versioned, SSE-KMS with its own key and bucket keys, retained', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    const t = Template.fromStack(stack);

    t.resourceCountIs('AWS::S3::Bucket', 2);
    const bucket = storeBucket(t);
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      },
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: {
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^StoreKey/), 'Arn'] },
      },
    }]);
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: expect.stringMatching(/^StoreAccessLogs/) },
      LogFilePrefix: 'attestation-store/',
    });
  });

  test('store key: symmetric, rotation on, custom policy without kms:* and use only through S3', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::KMS::Key', {
      Properties: {
        EnableKeyRotation: true,
        KeySpec: Match.absent(),
        KeyPolicy: {
          Statement: [
            // administration and rotation (CloudFormation enables rotation right after CreateKey), never use
            Match.objectLike({ Sid: 'AllowKeyAdministration', Effect: 'Allow', Action: SYMMETRIC_KEY_ADMIN_ACTIONS }),
            {
              Sid: 'AllowUseThroughS3ByAccountPrincipals',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
              Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
              Resource: '*',
              Condition: {
                StringEquals: {
                  'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
                  'kms:CallerAccount': { Ref: 'AWS::AccountId' },
                },
              },
            },
          ],
        },
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('bucket policy: append-only for everyone (deletes, retention, legal hold, bypass, lock config denied)', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    Template.fromStack(stack).hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^Store') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyDeletesAndLockChanges',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: STORE_DENIED_MUTATIONS,
            Resource: [STORE_ARN, STORE_OBJECTS],
          },
          {
            Sid: 'DenyUploadsNotEncryptedWithStoreKey',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: STORE_OBJECTS,
            Condition: {
              StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN },
              Bool: { 's3:ObjectCreationOperation': 'true' },
            },
          },
          {
            Sid: 'DenyUploadsNotSseKms',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: STORE_OBJECTS,
            Condition: {
              StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
              Bool: { 's3:ObjectCreationOperation': 'true' },
            },
          },
          {
            Sid: 'DenyOverwrites',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: STORE_OBJECTS,
            Condition: {
              Null: { 's3:if-none-match': 'true' },
              Bool: { 's3:ObjectCreationOperation': 'true' },
            },
          },
        ]),
      },
    });
    expect(STORE_DENIED_MUTATIONS).toEqual([
      's3:BypassGovernanceRetention', 's3:DeleteObject', 's3:DeleteObjectVersion',
      's3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration',
      's3:PutObjectLegalHold', 's3:PutObjectRetention',
      // replication writes skip the conditional-write and SSE conditions of the upload denials
      's3:ReplicateDelete', 's3:ReplicateObject', 's3:ReplicateTags',
    ]);
  });

  test('bucket policy: TLS enforced, minimum TLS 1.2', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    Template.fromStack(stack).hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^Store[A-F0-9]+$') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('access log bucket: SSE-S3, versioned, BPA, TLS, lifecycle expiry, log delivery from the store only', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store', { accessLogsRetentionDays: 90 });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        ObjectLockEnabled: Match.absent(),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: 90, NoncurrentVersionExpiration: { NoncurrentDays: 1 } })],
        },
      },
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^StoreAccessLogs') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          {
            Sid: 'AllowServerAccessLogDelivery',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^StoreAccessLogs'), 'Arn'] }, '/attestation-store/*']] },
            Condition: {
              ArnLike: { 'aws:SourceArn': STORE_ARN },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
  });

  test('GOVERNANCE only when chosen, with the given days', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store', { retentionMode: AttestationRetentionMode.GOVERNANCE, retentionDays: 30, removalPolicy: RemovalPolicy.DESTROY });
    const bucket = storeBucket(Template.fromStack(stack));
    expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 30 });
  });

  const VIA_S3 = {
    StringEquals: {
      'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      'kms:EncryptionContext:aws:s3:arn': STORE_ARN,
    },
  };

  test('grantPublish: PutObject on bundles/, attestations/ and notation/ only, GenerateDataKey through S3 for this bucket', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    store.grantPublish(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Ci') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: ['bundles/', 'attestations/', 'notation/'].map(prefixArn) },
          { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: KEY_ARN, Condition: VIA_S3 },
        ],
      },
    });
  });

  test('grantRevoke: PutObject on revocations/ only', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const role = new iam.Role(stack, 'Compliance', { assumedBy: new iam.AccountRootPrincipal() });
    store.grantRevoke(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Compliance') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: prefixArn('revocations/') },
          { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: KEY_ARN, Condition: VIA_S3 },
        ],
      },
    });
  });

  test('grantSetRef: PutObject on refs/<model>/* and a Deny on refs/<model>/*/* (the references of models named under it)', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    store.grantSetRef(role, 'fraud/detector');
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Ci') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: prefixArn('refs/fraud/detector/') },
          { Effect: 'Deny', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [STORE_ARN, '/refs/fraud/detector/*/*']] } },
          { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: KEY_ARN, Condition: VIA_S3 },
        ],
      },
    });
  });

  test('grantRead: Get and GetVersion on the prefixes, List and ListVersions limited to the prefixes, Decrypt through S3', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const role = new iam.Role(stack, 'Verifier', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    store.grantRead(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: PREFIXES.map(prefixArn) },
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket', 's3:ListBucketVersions'],
            Resource: STORE_ARN,
            Condition: { StringLike: { 's3:prefix': PREFIXES.map((p) => `${p}*`) } },
          },
          { Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN, Condition: VIA_S3 },
        ],
      },
    });
  });

  test('prefix: the store URI and every grant name the prefix; the bucket policy still covers the whole bucket', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store', { prefix: 'team-a/models' });
    expect(store.prefix).toBe('team-a/models/');
    expect(stack.resolve(store.storeUri)).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^Store/) }, '/team-a/models/']] });
    const role = new iam.Role(stack, 'Verifier', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    store.grantRead(role);
    store.grantSetRef(role, 'fraud');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: PREFIXES.map((p) => prefixArn(`team-a/models/${p}`)) },
          Match.objectLike({ Action: ['s3:ListBucket', 's3:ListBucketVersions'], Condition: { StringLike: { 's3:prefix': PREFIXES.map((p) => `team-a/models/${p}*`) } } }),
          { Effect: 'Allow', Action: 's3:PutObject', Resource: prefixArn('team-a/models/refs/fraud/') },
          { Effect: 'Deny', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [STORE_ARN, '/team-a/models/refs/fraud/*/*']] } },
        ]),
      },
    });
    const deny = Object.values<any>(t.findResources('AWS::S3::BucketPolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .find((st) => st.Sid === 'DenyOverwrites');
    expect(deny.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['StoreC1F82936', 'Arn'] }, '/*']] });
  });

  test('a grantee in another account gets the statements in the bucket policy and in the store key policy', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const verifier = iam.Role.fromRoleArn(stack, 'Verifier', 'arn:aws:iam::210987654321:role/verifier', { mutable: false });
    const grant = store.grantRead(verifier);
    expect(grant.success).toBe(true);
    const t = Template.fromStack(stack);
    const principal = { AWS: 'arn:aws:iam::210987654321:role/verifier' };
    const storeArn = { 'Fn::GetAtt': ['StoreC1F82936', 'Arn'] };
    const objectsUnder = (p: string) => ({ 'Fn::Join': ['', [storeArn, `/${p}*`]] });
    const bucketStatements = Object.values<any>(t.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: Match.stringLikeRegexp('^StoreC') } } }))[0]
      .Properties.PolicyDocument.Statement.filter((st: any) => st.Principal?.AWS === principal.AWS);
    expect(bucketStatements).toEqual([
      { Effect: 'Allow', Principal: principal, Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: PREFIXES.map(objectsUnder) },
      {
        Effect: 'Allow',
        Principal: principal,
        Action: ['s3:ListBucket', 's3:ListBucketVersions'],
        Resource: storeArn,
        Condition: { StringLike: { 's3:prefix': PREFIXES.map((p) => `${p}*`) } },
      },
    ]);
    const keyStatements = (Object.values<any>(t.findResources('AWS::KMS::Key'))[0]).Properties.KeyPolicy.Statement;
    // the key policy cannot name the bucket ARN (the bucket refers to the key: a cycle); it limits the grantee to S3
    expect(keyStatements.filter((st: any) => st.Principal?.AWS === principal.AWS)).toEqual([{
      Effect: 'Allow',
      Principal: principal,
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    }]);
    // the same-account grant adds nothing to the resource policies
    const local = setup();
    const localStore = new AttestationStore(local.stack, 'Store');
    localStore.grantRead(new iam.Role(local.stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }));
    const localPolicy = Object.values<any>(Template.fromStack(local.stack).findResources('AWS::S3::BucketPolicy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(localPolicy.filter((st: any) => st.Effect === 'Allow' && st.Principal?.AWS)).toEqual([]);
  });

  test('fromBucketAttributes: grants name the imported bucket and key', () => {
    const { stack } = setup();
    const store = AttestationStore.fromBucketAttributes(stack, 'Imported', {
      bucketName: 'team-attestations',
      encryptionKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    expect(stack.resolve(store.storeUri)).toBe('s3://team-attestations');
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    store.grantPublish(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Resource: Match.arrayWith([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::team-attestations/bundles/*']] }]),
          }),
          Match.objectLike({ Action: 'kms:GenerateDataKey', Resource: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
        ]),
      },
    });
  });

  test('fromStoreUri: an s3://bucket/prefix/ store gets grants scoped to its prefix', () => {
    const { stack } = setup();
    const store = AttestationStore.fromStoreUri(stack, 'Imported', 's3://team-attestations/prod/models/',
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(store.prefix).toBe('prod/models/');
    expect(stack.resolve(store.storeUri)).toBe('s3://team-attestations/prod/models/');
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    store.grantRead(role);
    const bucket = (key: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::team-attestations${key}`]] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: PREFIXES.map((p) => bucket(`/prod/models/${p}*`)) },
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket', 's3:ListBucketVersions'],
            Resource: bucket(''),
            Condition: { StringLike: { 's3:prefix': PREFIXES.map((p) => `prod/models/${p}*`) } },
          },
          Match.objectLike({ Action: 'kms:Decrypt' }),
        ],
      },
    });
    expect(stack.resolve(AttestationStore.fromStoreUri(stack, 'Root', 's3://team-attestations',
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab').storeUri)).toBe('s3://team-attestations');
  });

  test('role tags: the store, its key and its log bucket', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    const t = Template.fromStack(stack);
    const role = (r: any) => r.Properties.Tags?.find((x: any) => x.Key === 'modelseal:role')?.Value;
    expect(role(storeBucket(t))).toBe('attestation-store');
    expect(Object.values(t.findResources('AWS::KMS::Key')).map(role)).toEqual(['store-key']);
    expect(Object.values(t.findResources('AWS::S3::Bucket')).map(role).sort()).toEqual(['access-logs', 'attestation-store']);
  });

  test('sandboxExpirationDays: expiration rules set at creation, the append-only policy unchanged, a warning', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store', { retentionMode: AttestationRetentionMode.GOVERNANCE, retentionDays: 1, sandboxExpirationDays: 3 });
    const t = Template.fromStack(stack);
    expect(storeBucket(t).Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'SandboxExpireAttestations',
          Status: 'Enabled',
          ExpirationInDays: 3,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        { Id: 'SandboxRemoveExpiredDeleteMarkers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
      ],
    });
    const deny = Object.values<any>(t.findResources('AWS::S3::BucketPolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .find((st) => st.Sid === 'DenyDeletesAndLockChanges');
    expect(deny.Action).toEqual(STORE_DENIED_MUTATIONS);
    Annotations.fromStack(stack).hasWarning('/Stack/Store', Match.stringLikeRegexp('SANDBOX store, not for production: every attestation expires after 3 days'));
    // a production store has neither
    const prod = setup();
    new AttestationStore(prod.stack, 'Store');
    expect(storeBucket(Template.fromStack(prod.stack)).Properties.LifecycleConfiguration).toBeUndefined();
    Annotations.fromStack(prod.stack).hasNoWarning('*', Match.anyValue());
  });

  describe('evaluated by the IAM simulator', () => {
    const OTHER_ACCOUNT = '210987654321';
    function evaluated(props: { prefix?: string } = {}) {
      const { stack } = setup();
      const store = new AttestationStore(stack, 'Store', props);
      const publisher = new iam.Role(stack, 'Publisher', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
      const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      const revoker = new iam.Role(stack, 'Revoker', { assumedBy: new iam.AccountRootPrincipal() });
      const refSetter = new iam.Role(stack, 'RefSetter', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
      store.grantPublish(publisher);
      store.grantRead(reader);
      store.grantRevoke(revoker);
      store.grantSetRef(refSetter, 'fraud');
      store.grantRead(iam.Role.fromRoleArn(stack, 'RemoteVerifier', `arn:aws:iam::${OTHER_ACCOUNT}:role/verifier`, { mutable: false }));
      const sim = TemplateSimulator.fromStack(stack);
      const bucketId = sim.idOf('AWS::S3::Bucket', 'StoreC');
      const keyArn = sim.arn(sim.idOf('AWS::KMS::Key', 'StoreKey'));
      const bucket = sim.arn(bucketId);
      const root = 'a'.repeat(64);
      const keyOf = (k: string) => `${bucket}/${store.prefix}${k}`;
      return {
        sim,
        bucket,
        keyArn,
        keyOf,
        object: keyOf(`bundles/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`),
        attestation: keyOf(`attestations/sha256/${root}/cyclonedx-bom/${'b'.repeat(64)}/${'c'.repeat(64)}.json`),
        notation: keyOf(`notation/sha256/${root}/${'c'.repeat(64)}.jws`),
        revocation: keyOf(`revocations/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.json`),
        publisher: sim.role(sim.idOf('AWS::IAM::Role', 'Publisher')),
        reader: sim.role(sim.idOf('AWS::IAM::Role', 'Reader')),
        revoker: sim.role(sim.idOf('AWS::IAM::Role', 'Revoker')),
        refSetter: sim.role(sim.idOf('AWS::IAM::Role', 'RefSetter')),
        // the other account's own IAM policy allows what its verifier needs; the store's policies must allow it too
        remote: sim.principal(`arn:aws:iam::${OTHER_ACCOUNT}:role/verifier`, 'a verifier in another account', [{
          name: 'remote-verifier-policy',
          policy: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions', 's3:PutObject'], Resource: [bucket, `${bucket}/*`] },
              { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn },
            ],
          },
        }]),
        stranger: sim.principal(`arn:aws:iam::${OTHER_ACCOUNT}:role/stranger`, 'another role of that account', [{
          name: 'stranger-policy',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 'kms:Decrypt'], Resource: '*' }] },
        }]),
        admin: sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]),
        viaS3: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket },
      };
    }
    const upload = (keyArn: string, extra: Record<string, string> = {}) => ({
      's3:x-amz-server-side-encryption': 'aws:kms',
      's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn,
      's3:if-none-match': '*',
      's3:ObjectCreationOperation': 'true',
      ...extra,
    });

    test('nobody deletes, overwrites, replicates into or changes retention in the store, not even an administrator', async () => {
      const { sim, bucket, object, admin, publisher, keyArn } = evaluated();
      const rows: SimRow[] = [];
      for (const principal of [admin, publisher]) {
        for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:BypassGovernanceRetention',
          's3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags']) {
          rows.push({ name: `${principal.label} ${action}`, principal, action, resource: object, expect: 'ExplicitlyDenied' });
        }
        for (const action of ['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']) {
          rows.push({ name: `${principal.label} ${action}`, principal, action, resource: bucket, expect: 'ExplicitlyDenied' });
        }
        const { 's3:if-none-match': _, ...unconditional } = upload(keyArn);
        rows.push({ name: `${principal.label} overwrites (no If-None-Match)`, principal, action: 's3:PutObject', resource: object, context: unconditional, expect: 'ExplicitlyDenied' });
      }
      // a replication role of another bucket, allowed by its own policy: the store's Deny still refuses it
      const replication = sim.principal(`arn:aws:iam::${ACCOUNT}:role/replication`, 'a replication role', [{
        name: 'replication-policy',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], Resource: `${bucket}/*` }] },
      }]);
      for (const action of ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags']) {
        rows.push({ name: `replication ${action}`, principal: replication, action, resource: object, expect: 'ExplicitlyDenied' });
      }
      const results = await sim.expectRows(rows);
      for (const r of results) {
        expect(r.decisive).toEqual([r.row.action === 's3:PutObject' ? 'StorePolicy1828B04C: DenyOverwrites' : 'StorePolicy1828B04C: DenyDeletesAndLockChanges']);
      }
    });

    test('split write authority: publishers add evidence, revokers revoke, a ref setter sets its own model\'s refs; nothing more', async () => {
      const { sim, bucket, object, attestation, notation, revocation, keyOf, publisher, revoker, refSetter, reader, keyArn, viaS3 } = evaluated();
      const put = (name: string, principal: SimPrincipal, resource: string, expected: SimRow['expect']): SimRow =>
        ({ name, principal, action: 's3:PutObject', resource, context: upload(keyArn), expect: expected });
      const other = 'arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000';
      const results = await sim.expectRows([
        put('publisher: a bundle', publisher, object, 'Allowed'),
        put('publisher: an attestation', publisher, attestation, 'Allowed'),
        put('publisher: a Notation signature', publisher, notation, 'Allowed'),
        { name: 'publisher: S3 gets a data key', principal: publisher, action: 'kms:GenerateDataKey', resource: keyArn, context: viaS3, expect: 'Allowed' },
        { name: 'publisher: a data key outside S3', principal: publisher, action: 'kms:GenerateDataKey', resource: keyArn, expect: 'Denied' },
        put('publisher: a revocation (could veto a digest)', publisher, revocation, 'ImplicitlyDenied'),
        put('publisher: a reference (could squat a name)', publisher, keyOf('refs/fraud/7'), 'ImplicitlyDenied'),
        put('publisher: outside the layout', publisher, `${bucket}/other/x`, 'ImplicitlyDenied'),
        { name: 'publisher: another key', principal: publisher, action: 's3:PutObject', resource: object, context: upload(keyArn, { 's3:x-amz-server-side-encryption-aws-kms-key-id': other }), expect: 'ExplicitlyDenied' },
        { name: 'publisher: SSE-S3', principal: publisher, action: 's3:PutObject', resource: object, context: upload(keyArn, { 's3:x-amz-server-side-encryption': 'AES256' }), expect: 'ExplicitlyDenied' },
        { name: 'publisher cannot read', principal: publisher, action: 's3:GetObject', resource: object, expect: 'ImplicitlyDenied' },
        put('revoker: a revocation', revoker, revocation, 'Allowed'),
        put('revoker: a bundle', revoker, object, 'ImplicitlyDenied'),
        put('revoker: a reference', revoker, keyOf('refs/fraud/7'), 'ImplicitlyDenied'),
        put('ref setter: its model\'s reference', refSetter, keyOf('refs/fraud/7'), 'Allowed'),
        put('ref setter: another model\'s reference', refSetter, keyOf('refs/credit/7'), 'ImplicitlyDenied'),
        put('ref setter: a model whose name starts the same', refSetter, keyOf('refs/fraudulent/7'), 'ImplicitlyDenied'),
        put('ref setter: the reference of a model named under its own (fraud/v2, version 7)', refSetter, keyOf('refs/fraud/v2/7'), 'ExplicitlyDenied'),
        put('ref setter: a bundle', refSetter, object, 'ImplicitlyDenied'),
        put('ref setter: a revocation', refSetter, revocation, 'ImplicitlyDenied'),
        put('reader: anything', reader, object, 'ImplicitlyDenied'),
      ]);
      expect(results.find((r) => r.row.name.startsWith('publisher: another key'))!.decisive).toEqual(['StorePolicy1828B04C: DenyUploadsNotEncryptedWithStoreKey']);
      expect(results.find((r) => r.row.name.startsWith('publisher: SSE-S3'))!.decisive).toEqual(['StorePolicy1828B04C: DenyUploadsNotSseKms']);
      expect(results.find((r) => r.row.name.includes('named under its own'))!.decisive).toEqual([expect.stringMatching(/^RefSetterDefaultPolicy[A-F0-9]+: \[s3:PutObject\]$/)]);
    });

    test('a reader reads every version of every key under the prefixes, but not the whole bucket, and cannot write', async () => {
      const { sim, bucket, object, keyOf, reader, keyArn, viaS3 } = evaluated();
      await sim.expectRows([
        { name: 'read', principal: reader, action: 's3:GetObject', resource: object, expect: 'Allowed' },
        { name: 'read a version', principal: reader, action: 's3:GetObjectVersion', resource: keyOf('refs/fraud/7'), context: { 's3:versionid': '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' }, expect: 'Allowed' },
        { name: 'list a prefix', principal: reader, action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'bundles/sha256/' }, expect: 'Allowed' },
        { name: 'list the versions and delete markers of a ref', principal: reader, action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': 'refs/fraud/7' }, expect: 'Allowed' },
        { name: 'list the whole bucket', principal: reader, action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': '' }, expect: 'ImplicitlyDenied' },
        { name: 'list the versions of the whole bucket', principal: reader, action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': '' }, expect: 'ImplicitlyDenied' },
        { name: 'S3 decrypts for it', principal: reader, action: 'kms:Decrypt', resource: keyArn, context: viaS3, expect: 'Allowed' },
        { name: 'decrypt outside S3', principal: reader, action: 'kms:Decrypt', resource: keyArn, expect: 'Denied' },
        { name: 'write', principal: reader, action: 's3:PutObject', resource: object, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'delete', principal: reader, action: 's3:DeleteObject', resource: object, expect: 'ExplicitlyDenied' },
      ]);
    });

    test('a verifier in another account reads through the bucket and key policies; other roles of its account do not; it cannot write', async () => {
      const { sim, bucket, object, remote, stranger, keyArn, viaS3 } = evaluated();
      const results = await sim.expectRows([
        { name: 'remote read', principal: remote, action: 's3:GetObject', resource: object, expect: 'Allowed' },
        { name: 'remote list versions', principal: remote, action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': 'refs/' }, expect: 'Allowed' },
        { name: 'remote: S3 decrypts for it', principal: remote, action: 'kms:Decrypt', resource: keyArn, context: viaS3, expect: 'Allowed' },
        { name: 'remote: decrypt outside S3', principal: remote, action: 'kms:Decrypt', resource: keyArn, expect: 'ImplicitlyDenied' },
        { name: 'remote: write', principal: remote, action: 's3:PutObject', resource: object, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'remote: a data key', principal: remote, action: 'kms:GenerateDataKey', resource: keyArn, context: viaS3, expect: 'ImplicitlyDenied' },
        { name: 'stranger read', principal: stranger, action: 's3:GetObject', resource: object, expect: 'ImplicitlyDenied' },
        { name: 'stranger: S3 decrypts for it', principal: stranger, action: 'kms:Decrypt', resource: keyArn, context: viaS3, expect: 'ImplicitlyDenied' },
      ]);
      // allowed by both sides: the other account's own policy, and the store's bucket policy / key policy
      expect(results[0].decisive).toEqual(expect.arrayContaining(['remote-verifier-policy: [s3:GetObject s3:GetObjectVersion s3:ListBucket s3:ListBucketVersions s3:PutObject]']));
      expect(results[0].decisive.some((d) => d.startsWith('StorePolicy1828B04C'))).toBe(true);
      expect(results[2].decisive.some((d) => d.startsWith('StoreKey7A3C02BD'))).toBe(true);
    });

    test('a store under a prefix: grants reach its keys only, never the rest of the bucket', async () => {
      const { sim, bucket, keyOf, publisher, reader, refSetter, keyArn } = evaluated({ prefix: 'team-a/' });
      const root = 'a'.repeat(64);
      const bundle = keyOf(`bundles/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`);
      const outside = `${bucket}/bundles/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`;
      await sim.expectRows([
        { name: 'publish under the prefix', principal: publisher, action: 's3:PutObject', resource: bundle, context: upload(keyArn), expect: 'Allowed' },
        { name: 'publish at the bucket root', principal: publisher, action: 's3:PutObject', resource: outside, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'set a ref under the prefix', principal: refSetter, action: 's3:PutObject', resource: keyOf('refs/fraud/7'), context: upload(keyArn), expect: 'Allowed' },
        { name: 'set a ref at the bucket root', principal: refSetter, action: 's3:PutObject', resource: `${bucket}/refs/fraud/7`, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'read under the prefix', principal: reader, action: 's3:GetObject', resource: bundle, expect: 'Allowed' },
        { name: 'read at the bucket root', principal: reader, action: 's3:GetObject', resource: outside, expect: 'ImplicitlyDenied' },
        { name: 'list under the prefix', principal: reader, action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': 'team-a/refs/fraud/' }, expect: 'Allowed' },
        { name: 'list at the bucket root', principal: reader, action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'refs/' }, expect: 'ImplicitlyDenied' },
      ]);
    });

    test('key administrators rotate the store key and never use it', async () => {
      const { sim, keyArn, admin } = evaluated();
      await sim.expectRows([
        ...['kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:GetKeyRotationStatus', 'kms:RotateKeyOnDemand', 'kms:ListKeyRotations', 'kms:PutKeyPolicy']
          .map((action): SimRow => ({ name: action, principal: admin, action, resource: keyArn, expect: 'Allowed' })),
        ...['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:CreateGrant']
          .map((action): SimRow => ({ name: action, principal: admin, action, resource: keyArn, expect: 'ImplicitlyDenied' })),
      ]);
    });

    test('every CloudFormation handler call on the store is allowed for the deploying role, except the updates refused by design', async () => {
      const { sim } = evaluated();
      const results = await sim.expectRows(deployCallRows(sim));
      expect(results.filter((r) => r.decision !== 'Allowed').map((r) => r.row.action).sort())
        .toEqual(['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']);
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 are clean on the store; acknowledgements carry reasons', () => {
    const { stack } = setup();
    new AttestationStore(stack, 'Store');
    expectNagClean(stack);
  });

  describe('fails when', () => {
    test('fails when retentionDays is 0', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'Store', { retentionDays: 0 }))
        .toThrow("AttestationStore 'Stack/Store': retentionDays must be an integer between 1 and 36500, got 0");
    });
    test('fails when retentionDays is not an integer or too large', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'A', { retentionDays: 1.5 })).toThrow(/retentionDays .* got 1.5/);
      expect(() => new AttestationStore(stack, 'B', { retentionDays: 36501 })).toThrow(/retentionDays .* got 36501/);
    });
    test('fails when accessLogsRetentionDays is negative', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'Store', { accessLogsRetentionDays: -1 })).toThrow(/accessLogsRetentionDays .* got -1/);
    });
    test('fails when sandboxExpirationDays is used on a COMPLIANCE store, within the retention, or out of range', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'A', { sandboxExpirationDays: 3 }))
        .toThrow("AttestationStore 'Stack/A': sandboxExpirationDays is for sandbox stores only and needs retentionMode GOVERNANCE, got COMPLIANCE");
      expect(() => new AttestationStore(stack, 'B', { retentionMode: AttestationRetentionMode.GOVERNANCE, retentionDays: 5, sandboxExpirationDays: 5 }))
        .toThrow("AttestationStore 'Stack/B': sandboxExpirationDays must be greater than retentionDays (5) so nothing expires while it is locked, got 5");
      expect(() => new AttestationStore(stack, 'C', { retentionMode: AttestationRetentionMode.GOVERNANCE, retentionDays: 1, sandboxExpirationDays: 1.5 }))
        .toThrow(/sandboxExpirationDays must be an integer between 2 and 3650, got 1.5/);
    });
    test('fails when fromBucketAttributes is called without encryptionKeyArn (as plain JavaScript can)', () => {
      const { stack } = setup();
      expect(() => AttestationStore.fromBucketAttributes(stack, 'Imported', { bucketName: 'team-attestations' } as any))
        .toThrow("AttestationStore.fromBucketAttributes 'Stack/Imported': encryptionKeyArn is required (the ARN of the store's SSE-KMS key, " +
          'arn:<partition>:kms:<region>:<account>:key/<key-id>), got undefined');
    });
    test('fails when fromBucketAttributes gets no bucketName, a bad bucket name, an alias or no attributes', () => {
      const { stack } = setup();
      const key = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      expect(() => AttestationStore.fromBucketAttributes(stack, 'A', { encryptionKeyArn: key } as any))
        .toThrow("AttestationStore.fromBucketAttributes 'Stack/A': bucketName is required (the name of the store's bucket), got undefined");
      expect(() => AttestationStore.fromBucketAttributes(stack, 'B', { bucketName: 'Team_Attestations', encryptionKeyArn: key }))
        .toThrow(/'Stack\/B': bucketName must be 3 to 63 lowercase letters, digits, dots and hyphens.*got 'Team_Attestations'/);
      expect(() => AttestationStore.fromBucketAttributes(stack, 'C', { bucketName: 'team-attestations', encryptionKeyArn: 'arn:aws:kms:eu-west-1:111122223333:alias/store' }))
        .toThrow(/'Stack\/C': encryptionKeyArn must look like arn:<partition>:kms:<region>:<account>:key\/<key-id>, got 'arn:aws:kms:eu-west-1:111122223333:alias\/store'/);
      expect(() => AttestationStore.fromBucketAttributes(stack, 'D', undefined as any))
        .toThrow("AttestationStore.fromBucketAttributes 'Stack/D': attributes { bucketName, encryptionKeyArn } are required, got undefined");
      expect(() => AttestationStore.fromBucketAttributes(stack, 'E', { bucketName: 'team-attestations', encryptionKeyArn: 42 } as any))
        .toThrow(/encryptionKeyArn is required .* got number 42/);
    });
    test('fails when a prefix is malformed, with the construct, the prop and the rule', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'A', { prefix: '../x' }))
        .toThrow(/^AttestationStore 'Stack\/A': prefix '\.\.\/x' has a part that is empty, does not start with a letter or digit.*; a prefix is '' or up to 200 characters/);
      expect(() => new AttestationStore(stack, 'B', { prefix: '/abs' })).toThrow(/prefix '\/abs' starts with "\/"/);
      expect(() => new AttestationStore(stack, 'C', { prefix: 'a//b' })).toThrow(/prefix 'a\/\/b' has a part that is empty/);
      expect(() => new AttestationStore(stack, 'D', { prefix: 'x'.repeat(200) })).toThrow(/is 201 characters, over the 200-character limit/);
      const key = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      expect(() => AttestationStore.fromBucketAttributes(stack, 'E', { bucketName: 'team-attestations', encryptionKeyArn: key, prefix: 'a b' }))
        .toThrow(/fromBucketAttributes 'Stack\/E': prefix 'a b' has a part/);
      expect(() => AttestationStore.fromStoreUri(stack, 'F', 'https://team-attestations/x', key))
        .toThrow("AttestationStore.fromStoreUri 'Stack/F': storeUri must be s3://<bucket> or s3://<bucket>/<prefix>/, known at synth, got string \"https://team-attestations/x\"");
      expect(() => AttestationStore.fromStoreUri(stack, 'G', 's3://Team/x', key)).toThrow(/bucketName must be 3 to 63 lowercase letters.*got 'Team'/);
    });

    test('fails when grantSetRef gets a name `modelseal ref set` would refuse, or nested names for one grantee', () => {
      const { stack } = setup();
      const store = new AttestationStore(stack, 'Store');
      const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
      expect(() => store.grantSetRef(role, '../other')).toThrow("AttestationStore 'Stack/Store': grantSetRef model name '../other' contains \"..\"; a name is 1-200 characters");
      expect(() => store.grantSetRef(role, 'fraud/*')).toThrow(/grantSetRef model name 'fraud\/\*' has a part that is empty, does not start with a letter or digit, or uses a character outside/);
      expect(() => store.grantSetRef(role, '')).toThrow(/grantSetRef model name '' is empty/);
      expect(() => store.grantSetRef(role, undefined as any)).toThrow("AttestationStore 'Stack/Store': grantSetRef needs a model name, got undefined");
      store.grantSetRef(role, 'fraud');
      store.grantSetRef(role, 'fraud'); // the same name again is fine
      store.grantSetRef(role, 'credit');
      expect(() => store.grantSetRef(role, 'fraud/v2'))
        .toThrow(/grantSetRef\('fraud\/v2'\) for a grantee that already sets the references of 'fraud': one name is under the other/);
      // another role may hold the nested name
      store.grantSetRef(new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') }), 'fraud/v2');
    });

    test('fails when retentionMode is not a known mode', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'Store', { retentionMode: 'NONE' as AttestationRetentionMode }))
        .toThrow(/retentionMode must be COMPLIANCE or GOVERNANCE, got NONE/);
    });
  });
});
