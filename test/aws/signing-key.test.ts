import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelSigningAlgorithm, ModelSigningKey, ModelSigningKeySpec } from '../../src';
import { KEY_ADMIN_ACTIONS } from '../../src/aws/perms';
import { deployCallRows } from '../helpers/deploy-calls';
import { ACCOUNT, ADMINISTRATOR_ACCESS, TemplateSimulator } from '../helpers/iam-sim';
import { expectNagClean } from '../helpers/nag';

function setup() {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  return { app, stack };
}

function ciRole(stack: Stack, id = 'Ci') {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
}

const ROLE_ARN = (id: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}`), 'Arn'] });

describe('ModelSigningKey', () => {
  test('defaults: P-256 SIGN_VERIFY key, alias, retained, 30-day deletion window', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    const t = Template.fromStack(stack);

    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::KMS::Key', {
      Properties: {
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        PendingWindowInDays: 30,
        Enabled: true,
        EnableKeyRotation: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    // the alias is deleted with the stack (the key is not), so a redeploy after a rollback can create it again
    t.hasResource('AWS::KMS::Alias', {
      Properties: { AliasName: Match.stringLikeRegexp('^alias/modelseal/'), TargetKeyId: { Ref: Match.stringLikeRegexp('^Key') } },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('key policy: listed admin actions for the account root, no kms:* and no Sign for admins', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    const policy = Template.fromStack(stack).findResources('AWS::KMS::Key');
    const statements = Object.values(policy)[0].Properties.KeyPolicy.Statement as any[];

    const admin = statements.find((s) => s.Sid === 'AllowKeyAdministration');
    expect(admin.Effect).toBe('Allow');
    expect(admin.Action).toEqual(KEY_ADMIN_ACTIONS);
    expect(admin.Action).toContain('kms:PutKeyPolicy');
    expect(admin.Action).not.toContain('kms:Sign');
    expect(admin.Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } });
    for (const s of statements.filter((x) => x.Effect === 'Allow')) {
      for (const a of [s.Action].flat()) {
        expect(a).not.toMatch(/^(\*|kms:\*)$/);
        expect(a).not.toContain('*');
      }
    }
    // PutKeyPolicy appears in no other Allow statement
    const putters = statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('kms:PutKeyPolicy'));
    expect(putters.map((s) => s.Sid)).toEqual(['AllowKeyAdministration']);
  });

  test('key policy: Deny statements for ungranted signers, non-DIGEST messages and other algorithms', () => {
    const { stack } = setup();
    const key = new ModelSigningKey(stack, 'Key');
    key.grantSign(ciRole(stack));

    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenySignToPrincipalsNotGranted',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Resource: '*',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROLE_ARN('Ci')] } },
          },
          {
            Sid: 'DenySignUnlessDigest',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Resource: '*',
            Condition: { StringNotEquals: { 'kms:MessageType': 'DIGEST' } },
          },
          {
            Sid: 'DenySignWithOtherAlgorithms',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Resource: '*',
            Condition: { StringNotEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
          },
        ]),
      },
    });
  });

  test('with no signer granted, Sign is denied to every principal (no exemption condition)', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([{
          Sid: 'DenySignToPrincipalsNotGranted',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'kms:Sign',
          Resource: '*',
        }]),
      },
    });
  });

  test('grantSign: key policy and IAM policy allow Sign only for DIGEST with the key algorithm', () => {
    const { stack } = setup();
    const key = new ModelSigningKey(stack, 'Key', { keySpec: ModelSigningKeySpec.ECC_NIST_P384 });
    const role = ciRole(stack);
    const other = ciRole(stack, 'Lead');
    key.grantSign(role);
    key.grantSign(other);
    key.grantSign(role); // idempotent for the Deny list
    const t = Template.fromStack(stack);

    const conditions = { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_384' } };
    t.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'ECC_NIST_P384',
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'DenySignToPrincipalsNotGranted',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROLE_ARN('Ci'), ROLE_ARN('Lead')] } },
          }),
          Match.objectLike({
            Sid: 'DenySignWithOtherAlgorithms',
            Condition: { StringNotEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_384' } },
          }),
          { Effect: 'Allow', Principal: { AWS: ROLE_ARN('Ci') }, Action: 'kms:Sign', Resource: '*', Condition: conditions },
          { Effect: 'Allow', Principal: { AWS: ROLE_ARN('Ci') }, Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: '*' },
        ]),
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Ci') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'kms:Sign', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] }, Condition: conditions },
          { Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
        ],
      },
    });
  });

  test('key policy with one signer: exactly these six statements, nothing else', () => {
    const { stack } = setup();
    const key = new ModelSigningKey(stack, 'Key');
    key.grantSign(ciRole(stack));
    const policy = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'))[0] as any;
    const root = { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } };
    const ci = { 'Fn::GetAtt': [expect.stringMatching(/^Ci/), 'Arn'] };
    expect(policy.Properties.KeyPolicy.Statement).toEqual([
      { Sid: 'AllowKeyAdministration', Effect: 'Allow', Principal: root, Action: KEY_ADMIN_ACTIONS, Resource: '*' },
      { Sid: 'DenySignToPrincipalsNotGranted', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign', Resource: '*', Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ci] } } },
      { Sid: 'DenySignUnlessDigest', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign', Resource: '*', Condition: { StringNotEquals: { 'kms:MessageType': 'DIGEST' } } },
      { Sid: 'DenySignWithOtherAlgorithms', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign', Resource: '*', Condition: { StringNotEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } } },
      { Effect: 'Allow', Principal: { AWS: ci }, Action: 'kms:Sign', Resource: '*', Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } } },
      { Effect: 'Allow', Principal: { AWS: ci }, Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: '*' },
    ]);
  });

  test('grantVerify: GetPublicKey, DescribeKey and Verify, never Sign', () => {
    const { stack } = setup();
    const key = new ModelSigningKey(stack, 'Key');
    const role = ciRole(stack, 'Verifier');
    key.grantVerify(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'],
          Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
        }],
      },
    });
  });

  test('signers prop grants like grantSign', () => {
    const { stack } = setup();
    const role = ciRole(stack);
    new ModelSigningKey(stack, 'Key', { signers: [role] });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DenySignToPrincipalsNotGranted',
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROLE_ARN('Ci')] } },
        })]),
      },
    });
  });

  test('explicit admins replace the account root', () => {
    const { stack } = setup();
    const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    new ModelSigningKey(stack, 'Key', { admins: [admin], aliasName: 'alias/models/prod' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowKeyAdministration', Principal: { AWS: ROLE_ARN('Admin') } })]) },
    });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/models/prod' });
  });

  test('fromKeyArn: grantSign adds conditioned IAM permissions only', () => {
    const { stack } = setup();
    const key = ModelSigningKey.fromKeyAttributes(stack, 'Imported', {
      keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      signingAlgorithm: ModelSigningAlgorithm.ECDSA_SHA_384,
    });
    expect(key.keyId).toBe('1234abcd-12ab-34cd-56ef-1234567890ab');
    key.grantSign(ciRole(stack));
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 0);
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const policy = Object.values(t.findResources('AWS::IAM::Policy'))[0] as any;
    // kms:Sign appears only with its conditions
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: arn,
        Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_384' } },
      },
      { Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetPublicKey'], Resource: arn },
    ]);
  });

  test('role tag: signing-key', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', { Tags: [{ Key: 'modelseal:role', Value: 'signing-key' }] });
  });

  test('fromKeyArn(...).grantSign() warns at synth that no Deny statement protects the imported key', () => {
    const { stack } = setup();
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const imported = ModelSigningKey.fromKeyArn(stack, 'Imported', arn);
    imported.grantVerify(ciRole(stack, 'Verifier'));
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue()); // verify needs no Deny
    imported.grantSign(ciRole(stack));
    Annotations.fromStack(stack).hasWarning('/Stack/Imported', Match.stringLikeRegexp(
      `grantSign\\(\\) on the imported key ${arn}: no Deny statement protects it .*denies kms:Sign to principals not granted`));
    // a key defined here carries its Deny statements: no warning
    const own = setup();
    new ModelSigningKey(own.stack, 'Key').grantSign(ciRole(own.stack));
    Annotations.fromStack(own.stack).hasNoWarning('*', Match.anyValue());
  });

  describe('evaluated by the IAM simulator', () => {
    function evaluated(keySpec = ModelSigningKeySpec.ECC_NIST_P256) {
      const { stack } = setup();
      const key = new ModelSigningKey(stack, 'Key', { keySpec });
      key.grantSign(ciRole(stack));
      key.grantVerify(ciRole(stack, 'Verifier'));
      const sim = TemplateSimulator.fromStack(stack);
      return {
        sim,
        keyArn: sim.arn(sim.idOf('AWS::KMS::Key', 'Key')),
        keyId: sim.idOf('AWS::KMS::Key', 'Key'),
        ci: sim.role(sim.idOf('AWS::IAM::Role', 'Ci')),
        verifier: sim.role(sim.idOf('AWS::IAM::Role', 'Verifier')),
        admin: sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]),
      };
    }
    const sign = (algorithm: string, messageType = 'DIGEST') => ({ 'kms:MessageType': messageType, 'kms:SigningAlgorithm': algorithm });

    test('only granted roles sign, only digests, only with the key algorithm', async () => {
      const { sim, keyArn, keyId, ci, verifier, admin } = evaluated();
      const results = await sim.expectRows([
        { name: 'the granted role signs a digest', principal: ci, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_256'), expect: 'Allowed' },
        { name: 'a raw message', principal: ci, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_256', 'RAW'), expect: 'ExplicitlyDenied' },
        { name: 'another algorithm', principal: ci, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_384'), expect: 'ExplicitlyDenied' },
        { name: 'a verifier', principal: verifier, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_256'), expect: 'ExplicitlyDenied' },
        { name: 'an administrator', principal: admin, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_256'), expect: 'ExplicitlyDenied' },
        { name: 'the verifier verifies', principal: verifier, action: 'kms:Verify', resource: keyArn, expect: 'Allowed' },
        { name: 'the verifier reads the public key', principal: verifier, action: 'kms:GetPublicKey', resource: keyArn, expect: 'Allowed' },
        { name: 'the signer reads the public key (key hint)', principal: ci, action: 'kms:GetPublicKey', resource: keyArn, expect: 'Allowed' },
        { name: 'the signer cannot change the policy', principal: ci, action: 'kms:PutKeyPolicy', resource: keyArn, expect: 'ImplicitlyDenied' },
        { name: 'the administrator administers', principal: admin, action: 'kms:PutKeyPolicy', resource: keyArn, expect: 'Allowed' },
        { name: 'the administrator cannot verify', principal: admin, action: 'kms:Verify', resource: keyArn, expect: 'ImplicitlyDenied' },
      ]);
      expect(results[1].decisive).toEqual([`${keyId}: DenySignUnlessDigest`]);
      expect(results[2].decisive).toEqual([`${keyId}: DenySignWithOtherAlgorithms`]);
      expect(results[3].decisive).toEqual([`${keyId}: DenySignToPrincipalsNotGranted`]);
      expect(results[4].decisive).toEqual([`${keyId}: DenySignToPrincipalsNotGranted`]);
    });

    test('a P-384 key signs only with ECDSA_SHA_384', async () => {
      const { sim, keyArn, ci } = evaluated(ModelSigningKeySpec.ECC_NIST_P384);
      await sim.expectRows([
        { name: 'SHA-384', principal: ci, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_384'), expect: 'Allowed' },
        { name: 'SHA-256', principal: ci, action: 'kms:Sign', resource: keyArn, context: sign('ECDSA_SHA_256'), expect: 'ExplicitlyDenied' },
      ]);
    });

    test('with no signer granted, nobody signs', async () => {
      const { stack } = setup();
      new ModelSigningKey(stack, 'Key');
      const sim = TemplateSimulator.fromStack(stack);
      const admin = sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]);
      await sim.expectRows([{
        name: 'admin',
        principal: admin,
        action: 'kms:Sign',
        resource: sim.arn(sim.idOf('AWS::KMS::Key', 'Key')),
        context: sign('ECDSA_SHA_256'),
        expect: 'ExplicitlyDenied',
      }]);
    });

    test('every CloudFormation handler call on the key and its alias is allowed for the deploying role', async () => {
      const { sim } = evaluated();
      const rows = deployCallRows(sim);
      expect(rows.filter((r) => r.resourceType === 'AWS::KMS::Alias').length).toBe(7);
      // an asymmetric key cannot rotate: the handler makes no rotation call on it
      expect(rows.filter((r) => /Rotation$/.test(r.action) && r.action !== 'kms:GetKeyRotationStatus')).toEqual([]);
      await sim.expectRows(rows);
    });
  });

  test('key administrators of a signing key get no rotation actions (asymmetric keys cannot rotate)', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    const statements = Object.values<any>(Template.fromStack(stack).findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement as any[];
    const admin = statements.find((x) => x.Sid === 'AllowKeyAdministration').Action;
    for (const a of ['kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:RotateKeyOnDemand', 'kms:ListKeyRotations']) expect(admin).not.toContain(a);
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 are clean on the key', () => {
    const { stack } = setup();
    new ModelSigningKey(stack, 'Key');
    expectNagClean(stack);
  });

  describe('a shared key stack and signer roles in other stacks', () => {
    function twoStacks(roleName?: string) {
      const app = new App();
      const keys = new Stack(app, 'Keys', { env: { account: ACCOUNT, region: 'eu-west-1' } });
      const team = new Stack(app, 'TeamA', { env: { account: ACCOUNT, region: 'eu-west-1' } });
      const key = new ModelSigningKey(keys, 'Key');
      const role = new iam.Role(team, 'Sealer', { roleName, assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
      return { app, keys, team, key, role };
    }
    const literal = `arn:aws:iam::${ACCOUNT}:role/team-a-sealer`;

    test('a role with a fixed name: the key policy names its literal ARN, the app synthesizes (no cyclic reference)', async () => {
      const { app, keys, key, role } = twoStacks('team-a-sealer');
      key.grantSign(role);
      const assembly = app.synth();
      const statements = assembly.getStackByName('Keys').template.Resources[keys.getLogicalId(key.node.defaultChild as any)].Properties.KeyPolicy.Statement;
      const root = { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:root`]] } };
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Principal: root,
        Action: 'kms:Sign',
        Resource: '*',
        Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' }, ArnEquals: { 'aws:PrincipalArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:role/team-a-sealer`]] } } },
      });
      expect(statements.find((x: any) => x.Sid === 'DenySignToPrincipalsNotGranted').Condition.ArnNotEquals['aws:PrincipalArn'])
        .toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:role/team-a-sealer`]] }]);
      // nothing in the key stack refers to the team stack
      expect(JSON.stringify(assembly.getStackByName('Keys').template)).not.toContain('ImportValue');

      // evaluated: the named role (with the IAM statements its stack got) signs digests; another role with the same IAM policy cannot
      const sim = TemplateSimulator.fromStack(keys);
      const keyArn = sim.arn(sim.idOf('AWS::KMS::Key', 'Key'));
      const iamPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Sign', Resource: keyArn, Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } } }] };
      const sealer = sim.principal(literal, 'the team\'s seal role', [{ name: 'Sign', policy: iamPolicy }]);
      const other = sim.principal(`arn:aws:iam::${ACCOUNT}:role/team-b-sealer`, 'another role with the same IAM policy', [{ name: 'Sign', policy: iamPolicy }]);
      const digest = { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' };
      await sim.expectRows([
        { name: 'the named role signs a digest', principal: sealer, action: 'kms:Sign', resource: keyArn, context: digest, expect: 'Allowed' },
        { name: 'the named role, a raw message', principal: sealer, action: 'kms:Sign', resource: keyArn, context: { ...digest, 'kms:MessageType': 'RAW' }, expect: 'ExplicitlyDenied' },
        { name: 'another role', principal: other, action: 'kms:Sign', resource: keyArn, context: digest, expect: 'ExplicitlyDenied' },
      ]);
    });

    test('a role with a generated name: a clear error naming the ways out', () => {
      const { key, role } = twoStacks();
      expect(() => key.grantSign(role)).toThrow("ModelSigningKey 'Keys/Key': grantSign(grantee) got TeamA/Sealer, a role of stack TeamA with a generated name, "
        + 'while the key is in stack Keys: the key policy would name the role\'s ARN and the role\'s policy the key\'s ARN, a cyclic reference. '
        + 'Give the role a fixed name (iam.Role roleName, or HardenedBuildRunner sealRoleName), pass it imported by ARN (iam.Role.fromRoleArn), '
        + 'or define it in the key\'s stack');
    });

    test('grantVerify to a role of another stack: IAM statement there, verify actions (never Sign) for its account in the key policy', () => {
      const { app, keys, key, role } = twoStacks();
      key.grantVerify(role);
      key.grantVerify(role);
      const assembly = app.synth();
      const statements = assembly.getStackByName('Keys').template.Resources[keys.getLogicalId(key.node.defaultChild as any)].Properties.KeyPolicy.Statement;
      const verify = statements.filter((x: any) => x.Effect === 'Allow' && [x.Action].flat().includes('kms:Verify'));
      expect(verify).toEqual([{ Effect: 'Allow', Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:root`]] } }, Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'], Resource: '*' }]);
    });
  });

  describe('fails when', () => {
    test('fails when the signing algorithm does not match the key spec', () => {
      const { stack } = setup();
      expect(() => new ModelSigningKey(stack, 'Key', {
        keySpec: ModelSigningKeySpec.ECC_NIST_P384,
        signingAlgorithm: ModelSigningAlgorithm.ECDSA_SHA_256,
      })).toThrow("ModelSigningKey 'Stack/Key': signingAlgorithm ECDSA_SHA_256 does not match keySpec ECC_NIST_P384; use ECDSA_SHA_384");
    });

    test('fails when the pending window is outside 7-30 days', () => {
      const { stack } = setup();
      expect(() => new ModelSigningKey(stack, 'Key', { pendingWindow: Duration.days(3) }))
        .toThrow(/pendingWindow \(days\) must be an integer between 7 and 30, got 3/);
    });

    test('fails when the alias is not an alias/ name or is reserved', () => {
      const { stack } = setup();
      expect(() => new ModelSigningKey(stack, 'A', { aliasName: 'models' })).toThrow(/aliasName must start with 'alias\/'.*got 'models'/);
      expect(() => new ModelSigningKey(stack, 'B', { aliasName: 'alias/aws/x' })).toThrow(/aliasName .*got 'alias\/aws\/x'/);
    });

    test('fails when grantSign is given the whole account', () => {
      const { stack } = setup();
      const key = new ModelSigningKey(stack, 'Key');
      expect(() => key.grantSign(new iam.AccountRootPrincipal())).toThrow(/grantSign\(grantee\) needs an IAM role or user/);
    });

    test('fails when grantSign is given a service principal', () => {
      const { stack } = setup();
      const key = new ModelSigningKey(stack, 'Key');
      expect(() => key.grantSign(new iam.ServicePrincipal('lambda.amazonaws.com'))).toThrow(/needs an IAM role or user/);
    });

    test('fails when an imported key has no keyArn or an unknown signingAlgorithm (as plain JavaScript can)', () => {
      const { stack } = setup();
      expect(() => ModelSigningKey.fromKeyAttributes(stack, 'A', {} as any))
        .toThrow("ModelSigningKey.fromKeyAttributes 'Stack/A': keyArn is required (arn:<partition>:kms:<region>:<account>:key/<key-id>), got undefined");
      expect(() => ModelSigningKey.fromKeyArn(stack, 'B', undefined as any)).toThrow(/'Stack\/B': keyArn is required/);
      expect(() => ModelSigningKey.fromKeyAttributes(stack, 'C', {
        keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        signingAlgorithm: 'RSASSA_PSS_SHA_256' as ModelSigningAlgorithm,
      })).toThrow(/'Stack\/C': signingAlgorithm must be one of ECDSA_SHA_256, ECDSA_SHA_384, got "RSASSA_PSS_SHA_256"/);
      expect(() => ModelSigningKey.fromKeyAttributes(stack, 'D', undefined as any)).toThrow(/'Stack\/D': attributes \{ keyArn \} are required, got undefined/);
    });
    test('fails when an imported key ARN is an alias or malformed', () => {
      const { stack } = setup();
      expect(() => ModelSigningKey.fromKeyArn(stack, 'I', 'arn:aws:kms:eu-west-1:111122223333:alias/x'))
        .toThrow(/keyArn must look like arn:<partition>:kms:<region>:<account>:key\/<key-id>, got 'arn:aws:kms:eu-west-1:111122223333:alias\/x'/);
    });
  });
});
