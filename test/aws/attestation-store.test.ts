import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AttestationRetentionMode, AttestationStore } from '../../src';
import { STORE_DENIED_MUTATIONS, SYMMETRIC_KEY_ADMIN_ACTIONS } from '../../src/aws/perms';
import { deployCallRows } from '../helpers/deploy-calls';
import { ACCOUNT, ADMINISTRATOR_ACCESS, REGION, SimRow, TemplateSimulator } from '../helpers/iam-sim';
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
    function evaluated() {
      const { stack } = setup();
      const store = new AttestationStore(stack, 'Store');
      const publisher = new iam.Role(stack, 'Publisher', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
      const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      store.grantPublish(publisher);
      store.grantRead(reader);
      const sim = TemplateSimulator.fromStack(stack);
      const bucketId = sim.idOf('AWS::S3::Bucket', 'StoreC');
      const keyArn = sim.arn(sim.idOf('AWS::KMS::Key', 'StoreKey'));
      const bucket = sim.arn(bucketId);
      return {
        sim,
        bucket,
        keyArn,
        object: `${bucket}/bundles/sha256/${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`,
        publisher: sim.role(sim.idOf('AWS::IAM::Role', 'Publisher')),
        reader: sim.role(sim.idOf('AWS::IAM::Role', 'Reader')),
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

    test('nobody deletes, overwrites or changes retention in the store, not even an administrator', async () => {
      const { sim, bucket, object, admin, publisher, keyArn } = evaluated();
      const rows: SimRow[] = [];
      for (const principal of [admin, publisher]) {
        for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:BypassGovernanceRetention']) {
          rows.push({ name: `${principal.label} ${action}`, principal, action, resource: object, expect: 'ExplicitlyDenied' });
        }
        for (const action of ['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']) {
          rows.push({ name: `${principal.label} ${action}`, principal, action, resource: bucket, expect: 'ExplicitlyDenied' });
        }
        const { 's3:if-none-match': _, ...unconditional } = upload(keyArn);
        rows.push({ name: `${principal.label} overwrites (no If-None-Match)`, principal, action: 's3:PutObject', resource: object, context: unconditional, expect: 'ExplicitlyDenied' });
      }
      const results = await sim.expectRows(rows);
      for (const r of results) {
        expect(r.decisive).toEqual([r.row.action === 's3:PutObject' ? 'StorePolicy1828B04C: DenyOverwrites' : 'StorePolicy1828B04C: DenyDeletesAndLockChanges']);
      }
    });

    test('a publisher uploads conditional SSE-KMS objects under the prefixes, and nothing else', async () => {
      const { sim, bucket, object, publisher, keyArn, viaS3 } = evaluated();
      const other = 'arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000';
      const results = await sim.expectRows([
        { name: 'upload', principal: publisher, action: 's3:PutObject', resource: object, context: upload(keyArn), expect: 'Allowed' },
        { name: 'S3 gets a data key for it', principal: publisher, action: 'kms:GenerateDataKey', resource: keyArn, context: viaS3, expect: 'Allowed' },
        { name: 'a data key outside S3', principal: publisher, action: 'kms:GenerateDataKey', resource: keyArn, expect: 'Denied' },
        { name: 'another key', principal: publisher, action: 's3:PutObject', resource: object, context: upload(keyArn, { 's3:x-amz-server-side-encryption-aws-kms-key-id': other }), expect: 'ExplicitlyDenied' },
        { name: 'SSE-S3', principal: publisher, action: 's3:PutObject', resource: object, context: upload(keyArn, { 's3:x-amz-server-side-encryption': 'AES256' }), expect: 'ExplicitlyDenied' },
        { name: 'outside the prefixes', principal: publisher, action: 's3:PutObject', resource: `${bucket}/other/x`, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'a publisher cannot read', principal: publisher, action: 's3:GetObject', resource: object, expect: 'ImplicitlyDenied' },
      ]);
      expect(results[3].decisive).toEqual(['StorePolicy1828B04C: DenyUploadsNotEncryptedWithStoreKey']);
      expect(results[4].decisive).toEqual(['StorePolicy1828B04C: DenyUploadsNotSseKms']);
    });

    test('a reader can read but not write', async () => {
      const { sim, bucket, object, reader, keyArn, viaS3 } = evaluated();
      await sim.expectRows([
        { name: 'read', principal: reader, action: 's3:GetObject', resource: object, expect: 'Allowed' },
        { name: 'read a version', principal: reader, action: 's3:GetObjectVersion', resource: object, expect: 'Allowed' },
        { name: 'list a prefix', principal: reader, action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'bundles/sha256/' }, expect: 'Allowed' },
        { name: 'list the whole bucket', principal: reader, action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': '' }, expect: 'ImplicitlyDenied' },
        { name: 'S3 decrypts for it', principal: reader, action: 'kms:Decrypt', resource: keyArn, context: viaS3, expect: 'Allowed' },
        { name: 'decrypt outside S3', principal: reader, action: 'kms:Decrypt', resource: keyArn, expect: 'Denied' },
        { name: 'write', principal: reader, action: 's3:PutObject', resource: object, context: upload(keyArn), expect: 'ImplicitlyDenied' },
        { name: 'delete', principal: reader, action: 's3:DeleteObject', resource: object, expect: 'ExplicitlyDenied' },
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
    test('fails when retentionMode is not a known mode', () => {
      const { stack } = setup();
      expect(() => new AttestationStore(stack, 'Store', { retentionMode: 'NONE' as AttestationRetentionMode }))
        .toThrow(/retentionMode must be COMPLIANCE or GOVERNANCE, got NONE/);
    });
  });
});
