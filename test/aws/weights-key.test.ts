import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelWeightsKey } from '../../src';
import { SYMMETRIC_KEY_ADMIN_ACTIONS } from '../../src/aws/perms';
import { ACCOUNT, ADMINISTRATOR_ACCESS, SimRow, TemplateSimulator } from '../helpers/iam-sim';

const PCR8 = 'a1'.repeat(48);
const PCR0 = 'b2'.repeat(48);
const OTHER = 'c3'.repeat(48);

function setup(props: ConstructorParameters<typeof ModelWeightsKey>[2] = { enclavePcr8: [PCR8] }) {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  const key = new ModelWeightsKey(stack, 'WeightsKey', props);
  const host = new iam.Role(stack, 'HostRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const sealer = new iam.Role(stack, 'SealRole', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  key.grantDecryptInEnclave(host);
  key.grantEncrypt(sealer);
  const ids = {
    key: stack.getLogicalId(key.node.defaultChild as CfnElement),
    host: stack.getLogicalId(host.node.defaultChild as CfnElement),
    sealer: stack.getLogicalId(sealer.node.defaultChild as CfnElement),
  };
  return { app, stack, key, host, sealer, ids };
}

/** The logical IDs setup() produces (the key's is pinned: a changed ID replaces the key, and sealed weights with it). */
const KEY_ID = 'WeightsKey04EA1633';

describe('ModelWeightsKey', () => {
  test('the key policy, statement for statement: administration only, decrypt only with a matching PCR8, new data keys only for sealers', () => {
    const { stack, ids } = setup();
    expect(ids.key).toBe(KEY_ID);
    const hostArn = { 'Fn::GetAtt': [ids.host, 'Arn'] };
    const sealerArn = { 'Fn::GetAtt': [ids.sealer, 'Arn'] };
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EnableKeyRotation: true,
      PendingWindowInDays: 30,
      Tags: [{ Key: 'modelseal:role', Value: 'weights-key' }],
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowKeyAdministration',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
            Action: SYMMETRIC_KEY_ADMIN_ACTIONS,
            Resource: '*',
          },
          {
            Sid: 'DenyDecryptWithoutAttestation',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Decrypt',
            Resource: '*',
            Condition: { Null: { 'kms:RecipientAttestation:PCR8': 'true' } },
          },
          {
            Sid: 'DenyDecryptToOtherEnclaveImages',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Decrypt',
            Resource: '*',
            Condition: { StringNotEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } },
          },
          {
            Sid: 'DenyNewDataKeysExceptSealers',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptTo'],
            Resource: '*',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': [sealerArn] } },
          },
          {
            Sid: 'DenyReEncryptFromAndGrants',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['kms:CreateGrant', 'kms:ReEncryptFrom'],
            Resource: '*',
          },
          {
            Sid: 'AllowDecryptInAttestedEnclave',
            Effect: 'Allow',
            Principal: { AWS: hostArn },
            Action: 'kms:Decrypt',
            Resource: '*',
            Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } },
          },
          {
            Sid: 'AllowSealersToEncrypt',
            Effect: 'Allow',
            Principal: { AWS: sealerArn },
            Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
            Resource: '*',
          },
        ],
      },
    });
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::KMS::Alias', {
      Properties: { AliasName: 'alias/modelseal/Stack-WeightsKey-F331047A', TargetKeyId: { Ref: KEY_ID } },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('the grantees\' IAM statements carry the same conditions; the sealer never gets kms:Decrypt', () => {
    const { stack, ids } = setup();
    const t = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [KEY_ID, 'Arn'] };
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: ids.host }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } } }] },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: ids.sealer }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn }] },
    });
  });

  test('PCR0 pinning is the strict option: both PCRs must match, each mismatch has its own Deny', () => {
    const { stack } = setup({ enclavePcr8: [PCR8], enclavePcr0: [PCR0.toUpperCase()] });
    const statements = Template.fromStack(stack).findResources('AWS::KMS::Key')[KEY_ID].Properties.KeyPolicy.Statement;
    const bySid = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
    expect(bySid.AllowDecryptInAttestedEnclave.Condition).toEqual({
      StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8], 'kms:RecipientAttestation:ImageSha384': [PCR0] },
    });
    expect(bySid.DenyDecryptToOtherImageMeasurements.Condition).toEqual({ StringNotEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': [PCR0] } });
    expect(bySid.DenyDecryptToOtherEnclaveImages.Condition).toEqual({ StringNotEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } });
    expect(bySid.DenyDecryptWithoutAttestation.Condition).toEqual({ Null: { 'kms:RecipientAttestation:PCR8': 'true' } });
  });

  test('bound by PCR0 only, absence is tested on ImageSha384', () => {
    const { stack } = setup({ enclavePcr0: [PCR0] });
    const statements = Template.fromStack(stack).findResources('AWS::KMS::Key')[KEY_ID].Properties.KeyPolicy.Statement;
    expect(statements.find((s: any) => s.Sid === 'DenyDecryptWithoutAttestation').Condition).toEqual({ Null: { 'kms:RecipientAttestation:ImageSha384': 'true' } });
    expect(statements.map((s: any) => s.Sid)).not.toContain('DenyDecryptToOtherEnclaveImages');
  });

  test('with no sealer yet, new data keys are denied to every principal', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: [PCR8] });
    const statements = Template.fromStack(stack).findResources('AWS::KMS::Key')[KEY_ID].Properties.KeyPolicy.Statement;
    expect(statements.find((s: any) => s.Sid === 'DenyNewDataKeysExceptSealers').Condition).toBeUndefined();
    expect(statements.map((s: any) => s.Sid)).toEqual(['AllowKeyAdministration', 'DenyDecryptWithoutAttestation', 'DenyDecryptToOtherEnclaveImages',
      'DenyNewDataKeysExceptSealers', 'DenyReEncryptFromAndGrants']);
  });

  describe('fails when', () => {
    const make = (props: any) => () => new ModelWeightsKey(new Stack(new App(), 'Stack'), 'WeightsKey', props);
    test('no PCR is given', () => {
      expect(make({})).toThrow("ModelWeightsKey 'Stack/WeightsKey': enclavePcr8 or enclavePcr0 is required: the key decrypts only for the enclave images they name");
    });
    test('a PCR is not 96 hex characters', () => {
      expect(make({ enclavePcr8: ['ab'.repeat(47)] })).toThrow(`ModelWeightsKey 'Stack/WeightsKey': enclavePcr8 holds "${'ab'.repeat(47)}", which is not a PCR value: expected 96 hex characters`);
      expect(make({ enclavePcr0: ['zz'.repeat(48)] })).toThrow(/enclavePcr0 holds "(zz){48}", which is not a PCR value/);
    });
    test('a PCR is all zeros (what a debug-mode enclave measures)', () => {
      expect(make({ enclavePcr8: ['0'.repeat(96)] })).toThrow("ModelWeightsKey 'Stack/WeightsKey': enclavePcr8 holds an all-zero PCR value: that is what a debug-mode enclave measures");
    });
    test('a PCR is listed twice, in any case', () => {
      expect(make({ enclavePcr8: [PCR8, PCR8.toUpperCase()] })).toThrow(`enclavePcr8 lists ${PCR8} twice`);
    });
    test('the pending window or the alias is out of range', () => {
      expect(make({ enclavePcr8: [PCR8], pendingWindow: Duration.days(3) })).toThrow(/pendingWindow \(days\) must be an integer between 7 and 30, got 3/);
      expect(make({ enclavePcr8: [PCR8], aliasName: 'alias/aws/weights' })).toThrow(/aliasName must start with 'alias\/' \(not 'alias\/aws\/'\)/);
    });
    test('one role would both make data keys and decrypt', () => {
      const stack = new Stack(new App(), 'Stack');
      const key = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: [PCR8] });
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
      key.grantEncrypt(role);
      expect(() => key.grantDecryptInEnclave(role)).toThrow(/grantDecryptInEnclave\(grantee\) .* already makes data keys \(grantEncrypt\); a principal that decrypts must never make data keys/);
    });
    test('the grantee is an account, not one role or user', () => {
      const stack = new Stack(new App(), 'Stack');
      const key = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: [PCR8] });
      expect(() => key.grantDecryptInEnclave(new iam.AccountRootPrincipal())).toThrow(/grantDecryptInEnclave\(grantee\) needs an IAM role or user with one ARN/);
    });
  });

  test('an imported key: IAM statements with the conditions, and a warning that its key policy must do the rest', () => {
    const stack = new Stack(new App(), 'Stack');
    const key = ModelWeightsKey.fromKeyAttributes(stack, 'Imported', {
      keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', enclavePcr8: [PCR8.toUpperCase()],
    });
    expect(key.enclavePcr8).toEqual([PCR8]);
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    key.grantDecryptInEnclave(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'kms:Decrypt', Resource: key.keyArn, Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } } }] },
    });
    Annotations.fromStack(stack).hasWarning('/Stack/Imported', Match.stringLikeRegexp('only IAM statements are added'));
    expect(() => ModelWeightsKey.fromKeyAttributes(stack, 'Bad', { keyArn: 'alias/weights', enclavePcr8: [PCR8] }))
      .toThrow("ModelWeightsKey.fromKeyAttributes 'Stack/Bad': keyArn must look like arn:<partition>:kms:<region>:<account>:key/<key-id>, got \"alias/weights\"");
    expect(() => ModelWeightsKey.fromKeyAttributes(stack, 'NoPcr', { keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }))
      .toThrow(/enclavePcr8 or enclavePcr0 is required/);
  });
});

describe('ModelWeightsKey evaluated (IAM policy simulator)', () => {
  let sim: TemplateSimulator;
  let keyArn: string;
  let ids: ReturnType<typeof setup>['ids'];
  beforeAll(() => {
    const made = setup();
    ids = made.ids;
    sim = TemplateSimulator.fromStack(made.stack);
    keyArn = sim.arn(KEY_ID);
  });
  const attested = (pcr8: string) => ({ 'kms:RecipientAttestation:PCR8': pcr8, 'kms:RecipientAttestation:ImageSha384': PCR0 });

  test('the host decrypts only in an attested enclave; nobody else decrypts; only the sealer makes data keys', async () => {
    const host = sim.role(ids.host);
    const sealer = sim.role(ids.sealer);
    const admin = sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]);
    const rows: SimRow[] = [
      { name: 'host, no attestation', principal: host, action: 'kms:Decrypt', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'host, attested image', principal: host, action: 'kms:Decrypt', resource: keyArn, context: attested(PCR8), expect: 'Allowed' },
      { name: 'host, attested image, PCR in upper case', principal: host, action: 'kms:Decrypt', resource: keyArn, context: attested(PCR8.toUpperCase()), expect: 'Allowed' },
      { name: 'host, another signed image', principal: host, action: 'kms:Decrypt', resource: keyArn, context: attested(OTHER), expect: 'ExplicitlyDenied' },
      { name: 'host, a debug-mode enclave', principal: host, action: 'kms:Decrypt', resource: keyArn, context: attested('0'.repeat(96)), expect: 'ExplicitlyDenied' },
      { name: 'host makes a data key', principal: host, action: 'kms:GenerateDataKey', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'host makes a data key, attested', principal: host, action: 'kms:GenerateDataKey', resource: keyArn, context: attested(PCR8), expect: 'ExplicitlyDenied' },
      { name: 'host re-encrypts from the key', principal: host, action: 'kms:ReEncryptFrom', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'sealer makes a data key', principal: sealer, action: 'kms:GenerateDataKey', resource: keyArn, expect: 'Allowed' },
      { name: 'sealer encrypts', principal: sealer, action: 'kms:Encrypt', resource: keyArn, expect: 'Allowed' },
      { name: 'sealer decrypts', principal: sealer, action: 'kms:Decrypt', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'sealer decrypts with an attestation', principal: sealer, action: 'kms:Decrypt', resource: keyArn, context: attested(PCR8), expect: 'ImplicitlyDenied' },
      { name: 'admin decrypts with an attestation', principal: admin, action: 'kms:Decrypt', resource: keyArn, context: attested(PCR8), expect: 'ImplicitlyDenied' },
      { name: 'admin makes a data key', principal: admin, action: 'kms:GenerateDataKey', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'admin creates a grant', principal: admin, action: 'kms:CreateGrant', resource: keyArn, expect: 'ExplicitlyDenied' },
      { name: 'admin administers', principal: admin, action: 'kms:PutKeyPolicy', resource: keyArn, expect: 'Allowed' },
    ];
    const results = await sim.expectRows(rows);
    const decisive = Object.fromEntries(results.map((r) => [r.row.name, r.decisive]));
    expect(decisive['host, no attestation']).toEqual(expect.arrayContaining([`${KEY_ID}: DenyDecryptWithoutAttestation`, `${KEY_ID}: DenyDecryptToOtherEnclaveImages`]));
    expect(decisive['host, another signed image']).toEqual([`${KEY_ID}: DenyDecryptToOtherEnclaveImages`]);
    expect(decisive['host makes a data key']).toEqual([`${KEY_ID}: DenyNewDataKeysExceptSealers`]);
    expect(decisive['host, attested image']).toEqual(expect.arrayContaining([`${KEY_ID}: AllowDecryptInAttestedEnclave`]));
  });
});
