import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AttestationRetentionMode, AttestationStore } from '../../src';
import { STORE_DENIED_MUTATIONS } from '../../src/aws/perms';
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
            Match.objectLike({ Sid: 'AllowKeyAdministration', Effect: 'Allow', Action: Match.arrayWith(['kms:PutKeyPolicy']) }),
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

  test('grantPublish: PutObject on the store prefixes and GenerateDataKey through S3 for this bucket; nothing else', () => {
    const { stack } = setup();
    const store = new AttestationStore(stack, 'Store');
    const role = new iam.Role(stack, 'Ci', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    store.grantPublish(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Ci') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: PREFIXES.map(prefixArn) },
          {
            Effect: 'Allow',
            Action: 'kms:GenerateDataKey',
            Resource: KEY_ARN,
            Condition: {
              StringEquals: {
                'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
                'kms:EncryptionContext:aws:s3:arn': STORE_ARN,
              },
            },
          },
        ],
      },
    });
  });

  test('grantRead: Get on the prefixes, List limited to the prefixes, Decrypt through S3', () => {
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
            Action: 's3:ListBucket',
            Resource: STORE_ARN,
            Condition: { StringLike: { 's3:prefix': PREFIXES.map((p) => `${p}*`) } },
          },
          Match.objectLike({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN }),
        ],
      },
    });
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
    test('fails when retentionMode is not a known mode', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'Store', { retentionMode: 'NONE' as AttestationRetentionMode }))
        .toThrow(/retentionMode must be COMPLIANCE or GOVERNANCE, got NONE/);
    });
  });
});
