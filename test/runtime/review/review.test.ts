/**
 * `modelseal review`: every rule fires on the one problem seeded into an otherwise clean app, and only there; the
 * sections read what the templates and manifests say; the formats, the baseline and the exit codes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { buildReview } from '../../../src/runtime/review/review';
import { isUnscopedAction, RULES } from '../../../src/runtime/review/rules';
import { runCli } from '../../helpers/cli';

const PIN = '@sha256:' + 'a'.repeat(64);
const ROLE_TAG = (role: string) => [{ Key: 'modelseal:role', Value: role }];
const storeObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Store', 'Arn'] }, '/bundles/*']] };

/** A small app that passes every rule: a write-once store, conditioned signing, pinned images, a fail-closed webhook. */
function cleanTemplate(): any {
  return {
    Resources: {
      Store: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          Tags: ROLE_TAG('attestation-store'),
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['StoreKey', 'Arn'] } } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          VersioningConfiguration: { Status: 'Enabled' },
          ObjectLockEnabled: true,
          ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } } },
        },
      },
      StorePolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: { Ref: 'Store' },
          PolicyDocument: {
            Statement: [{
              Sid: 'DenyOverwrite',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:PutObject',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Store', 'Arn'] }, '/*']] },
              Condition: { Null: { 's3:if-none-match': 'true' } },
            }],
          },
        },
      },
      StoreKey: {
        Type: 'AWS::KMS::Key',
        Properties: {
          Tags: ROLE_TAG('store-key'),
          EnableKeyRotation: true,
          KeyPolicy: { Statement: [{ Sid: 'Admin', Effect: 'Allow', Principal: { AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] } }, Action: ['kms:DescribeKey', 'kms:PutKeyPolicy'], Resource: '*' }] },
        },
        DeletionPolicy: 'Retain',
      },
      SigningKey: {
        Type: 'AWS::KMS::Key',
        Properties: {
          Tags: ROLE_TAG('signing-key'),
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'SIGN_VERIFY',
          KeyPolicy: {
            Statement: [{
              Sid: 'Sign',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::GetAtt': ['CiRole', 'Arn'] } },
              Action: 'kms:Sign',
              Resource: '*',
              Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
            }],
          },
        },
      },
      CiRole: {
        Type: 'AWS::IAM::Role',
        Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' }, Action: 'sts:AssumeRole' }] } },
      },
      CiPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'CiRole' }],
          PolicyDocument: {
            Statement: [
              { Effect: 'Allow', Action: 's3:PutObject', Resource: storeObjects },
              { Effect: 'Allow', Action: 'kms:Sign', Resource: { 'Fn::GetAtt': ['SigningKey', 'Arn'] }, Condition: { StringEquals: { 'kms:MessageType': 'DIGEST' } } },
              { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken', 'ec2:DescribeSubnets'], Resource: '*' },
            ],
          },
        },
      },
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { KmsKeyId: { 'Fn::GetAtt': ['StoreKey', 'Arn'] } } },
      BuildSg: {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: { SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationPrefixListId: 'pl-12345678', Description: 'S3 gateway endpoint' }] },
      },
      Build: {
        Type: 'AWS::CodeBuild::Project',
        Properties: { Tags: ROLE_TAG('train'), EncryptionKey: { 'Fn::GetAtt': ['StoreKey', 'Arn'] }, Environment: { Image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer${PIN}` } },
      },
    },
  };
}

const cleanPolicy = {
  apiVersion: 'modelseal.dev/v1',
  kind: 'TrustPolicy',
  signers: [{ name: 'ci', kmsKeyArn: '${SigningKey.Arn}' }, { name: 'compliance', publicKey: 'compliance.pub.pem' }, { name: 'security', publicKey: 'security.pub.pem' }],
  require: { allOf: ['ci', 'compliance'] },
  attestations: [{ predicateType: 'https://cyclonedx.org/bom', signers: ['ci'] }],
  revokers: ['security'],
};

function cleanObjects(): any[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'modelseal-verifier-policy', namespace: 'modelseal-system' }, data: { 'policy.yaml': stringify(cleanPolicy) } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'server', namespace: 'models' },
      spec: { template: { spec: { initContainers: [{ name: 'modelseal-pull', image: `ghcr.io/modelseal/modelseal${PIN}` }], containers: [{ name: 'server', image: `ghcr.io/acme/server${PIN}` }] } } },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'modelseal' },
      webhooks: [{ name: 'models.modelseal.dev', failurePolicy: 'Fail', timeoutSeconds: 5, clientConfig: { service: { namespace: 'modelseal-system', name: 'modelseal-verifier', path: '/validate' } }, rules: [{ operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] }],
    },
  ];
}

function write(template: any, objects: any[]): { cdkOut: string; k8s: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-review-'));
  const cdkOut = path.join(dir, 'cdk.out');
  const k8s = path.join(dir, 'k8s');
  fs.mkdirSync(cdkOut);
  fs.mkdirSync(k8s);
  fs.writeFileSync(path.join(cdkOut, 'App.template.json'), JSON.stringify(template));
  fs.writeFileSync(path.join(k8s, 'app.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  return { cdkOut, k8s };
}

function review(template: any, objects: any[]) {
  const w = write(template, objects);
  return buildReview({ cdkOut: w.cdkOut, k8sDir: w.k8s });
}

const firing = (template: any, objects: any[]) => review(template, objects).findings.map((f) => `${f.rule} @ ${f.where}`);

describe('modelseal review rules', () => {
  test('the clean app raises no finding', () => {
    expect(review(cleanTemplate(), cleanObjects()).findings).toEqual([]);
  });

  const seeded: [string, (t: any, o: any[]) => void, string[]][] = [
    ['wildcard-action', (t) => { t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'logs:*', Resource: { 'Fn::GetAtt': ['Logs', 'Arn'] } }); },
      ['wildcard-action @ App/CiPolicy']],
    ['wildcard-action (NotAction)', (t) => { t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', NotAction: 'iam:*', Resource: { 'Fn::GetAtt': ['Logs', 'Arn'] } }); },
      ['wildcard-action @ App/CiPolicy']],
    ['wildcard-resource', (t) => { t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }); },
      ['wildcard-resource @ App/CiPolicy']],
    ['unconditioned-sensitive (kms:Decrypt)', (t) => { t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['StoreKey', 'Arn'] } }); },
      ['unconditioned-sensitive @ App/CiPolicy']],
    ['unconditioned-sensitive (kms:Sign in a key policy)', (t) => { delete t.Resources.SigningKey.Properties.KeyPolicy.Statement[0].Condition; },
      ['unconditioned-sensitive @ App/SigningKey']],
    ['unconditioned-sensitive (s3:PutObject on a store that does not enforce write-once)', (t) => { t.Resources.StorePolicy.Properties.PolicyDocument.Statement = [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:DeleteObject', Resource: '*' }]; },
      ['unconditioned-sensitive @ App/CiPolicy']],
    ['public-access (policy)', (t) => { t.Resources.StorePolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: storeObjects }); },
      ['public-access @ App/StorePolicy']],
    ['public-access (Block Public Access off)', (t) => { t.Resources.Store.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets = false; },
      ['public-access @ App/Store']],
    ['fail-open-webhook', (_t, o) => { o[2].webhooks[0].failurePolicy = 'Ignore'; },
      ['fail-open-webhook @ app.yaml#ValidatingWebhookConfiguration/modelseal/models.modelseal.dev']],
    ['fail-open-webhook (Gatekeeper chart defaults)', (t) => { t.Resources.Gatekeeper = { Type: 'Custom::AWSCDK-EKS-HelmChart', Properties: { Chart: 'gatekeeper', Values: '{"replicas":3}' } }; },
      ['fail-open-webhook @ App/Gatekeeper']],
    ['unpinned-image (pod)', (_t, o) => { o[1].spec.template.spec.containers[0].image = 'ghcr.io/acme/server:1.0'; },
      ['unpinned-image @ app.yaml#Deployment/models/server']],
    ['unpinned-image (build)', (t) => { t.Resources.Build.Properties.Environment.Image = 'aws/codebuild/standard:7.0'; },
      ['unpinned-image @ App/Build']],
    ['missing-encryption (bucket)', (t) => { delete t.Resources.Store.Properties.BucketEncryption; },
      ['missing-encryption @ App/Store']],
    ['missing-encryption (log group)', (t) => { delete t.Resources.Logs.Properties.KmsKeyId; },
      ['missing-encryption @ App/Logs']],
    ['signer-revoker', (_t, o) => { o[0].data['policy.yaml'] = stringify({ ...cleanPolicy, revokers: ['security', 'compliance'] }); },
      ['signer-revoker @ app.yaml#ConfigMap/modelseal-system/modelseal-verifier-policy:policy.yaml']],
  ];

  test.each(seeded)('%s fires on its problem and nothing else does', (_name, seed, expected) => {
    const t = cleanTemplate();
    const o = cleanObjects();
    seed(t, o);
    expect(firing(t, o)).toEqual(expected);
  });

  test('every rule is exercised by a seeded problem', () => {
    const exercised = new Set(seeded.map(([name]) => name.split(' ')[0]));
    expect(RULES.map((r) => r.id).filter((id) => !exercised.has(id))).toEqual([]);
  });

  test('actions with no resource-level permission are known; scoped ones and wildcards are not', () => {
    expect(isUnscopedAction('ecr:GetAuthorizationToken')).toBe(true);
    expect(isUnscopedAction('ec2:DescribeSubnets')).toBe(true);
    expect(isUnscopedAction('s3:GetObject')).toBe(false);
    expect(isUnscopedAction('ec2:Describe*')).toBe(false);
  });
});

describe('modelseal review sections', () => {
  const r = review(cleanTemplate(), cleanObjects());

  test('statements name the document, the principals (attached roles for identity policies) and the rendered resources', () => {
    expect(r.statements).toContainEqual({
      where: 'App/CiPolicy',
      document: 'identity',
      effect: 'Allow',
      principals: ['${CiRole}'],
      actions: ['kms:Sign'],
      notActions: [],
      resources: ['${SigningKey.Arn}'],
      conditions: ['StringEquals kms:MessageType=DIGEST'],
    });
    expect(r.statements).toContainEqual(expect.objectContaining({ where: 'App/StorePolicy', document: 'bucket', sid: 'DenyOverwrite', principals: ['AWS:*'], resources: ['${Store.Arn}/*'] }));
  });

  test('keys, buckets, network, admission, images and the trust policy', () => {
    expect(r.keys).toContainEqual({ where: 'App/SigningKey', role: 'signing-key', spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', rotation: false, removal: 'Delete' });
    expect(r.buckets).toEqual([{
      where: 'App/Store',
      role: 'attestation-store',
      encryption: 'aws:kms ${StoreKey.Arn}',
      blockPublicAccess: true,
      versioning: true,
      objectLock: 'COMPLIANCE 3650 days',
      accessLogs: 'none',
    }]);
    expect(r.network).toEqual([{ where: 'App/BuildSg', kind: 'egress', detail: 'tcp 443 to pl-12345678 (S3 gateway endpoint)' }]);
    expect(r.admission).toEqual([{
      where: 'app.yaml#ValidatingWebhookConfiguration/modelseal/models.modelseal.dev',
      kind: 'ValidatingWebhookConfiguration',
      failurePolicy: 'Fail',
      timeoutSeconds: '5',
      detail: 'service modelseal-system/modelseal-verifier/validate; CREATE/UPDATE pods',
    }]);
    expect(r.images.map((i) => `${i.where} ${i.container} ${i.pinned}`)).toEqual([
      'App/Build build true', 'app.yaml#Deployment/models/server modelseal-pull true', 'app.yaml#Deployment/models/server server true',
    ]);
    expect(r.trustPolicies).toEqual([{
      where: 'app.yaml#ConfigMap/modelseal-system/modelseal-verifier-policy:policy.yaml',
      signers: ['ci: kmsKeyArn ${SigningKey.Arn}', 'compliance: publicKey compliance.pub.pem', 'security: publicKey security.pub.pem'],
      require: 'allOf [ci, compliance]',
      attestations: ['https://cyclonedx.org/bom by allOf [ci]'],
      revokers: ['security'],
    }]);
  });

  test('objects a template embeds in a KubernetesManifest are reviewed like a manifest folder', () => {
    const t = cleanTemplate();
    t.Resources.Manifest = {
      Type: 'Custom::AWSCDK-EKS-KubernetesResource',
      Properties: { Manifest: { 'Fn::Join': ['', ['[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},"spec":{"containers":[{"name":"c","image":"', { 'Fn::GetAtt': ['Repo', 'RepositoryUri'] }, ':latest"}]}}]']] } },
    };
    const rep = buildReview({ cdkOut: write(t, []).cdkOut });
    expect(rep.images).toContainEqual({ where: 'App/Manifest#Pod/n/p', container: 'c', image: '${Repo.RepositoryUri}:latest', pinned: false });
    expect(rep.findings.map((f) => f.rule)).toEqual(['unpinned-image']);
  });
});

describe('modelseal review CLI', () => {
  test('exit 0 with a Markdown report whatever it flags; --fail-on high makes a high finding exit 1', async () => {
    const t = cleanTemplate();
    delete t.Resources.Logs.Properties.KmsKeyId;
    const { cdkOut, k8s } = write(t, cleanObjects());
    const md = await runCli('review', cdkOut, '--k8s', k8s);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('| high | missing-encryption | App/Logs | log group without KmsKeyId |');
    expect(md.stdout).toContain('## Trust policies');
    const fail = await runCli('review', cdkOut, '--k8s', k8s, '--fail-on', 'high');
    expect(fail.code).toBe(1);
    expect(fail.stderr).toContain('1 finding(s) at or above high (--fail-on high): missing-encryption');
  });

  test('--fail-on high passes on a medium finding, --fail-on medium fails on it', async () => {
    const t = cleanTemplate();
    t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
    const { cdkOut } = write(t, []);
    expect((await runCli('review', cdkOut, '--fail-on', 'high')).code).toBe(0);
    expect((await runCli('review', cdkOut, '--fail-on', 'medium')).code).toBe(1);
  });

  test('--baseline prints only what changed, and --fail-on then counts only new findings', async () => {
    const before = write(cleanTemplate(), cleanObjects());
    const baseline = path.join(before.cdkOut, '..', 'baseline.json');
    expect((await runCli('review', before.cdkOut, '--k8s', before.k8s, '--format', 'json', '--out', baseline)).code).toBe(0);
    const same = await runCli('review', before.cdkOut, '--k8s', before.k8s, '--baseline', baseline);
    expect(same.stdout).toContain('No changes.');

    const t = cleanTemplate();
    t.Resources.CiPolicy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['StoreKey', 'Arn'] } });
    const after = write(t, cleanObjects());
    const diff = await runCli('review', after.cdkOut, '--k8s', after.k8s, '--baseline', baseline, '--format', 'json', '--fail-on', 'high');
    expect(diff.code).toBe(1);
    const changes = JSON.parse(diff.stdout).changes;
    expect(Object.keys(changes.sections)).toEqual(['statements']);
    expect(changes.sections.statements.added).toEqual([expect.objectContaining({ actions: ['kms:Decrypt'] })]);
    expect(changes.sections.statements.removed).toEqual([]);
    expect(changes.findings.added.map((f: any) => f.rule)).toEqual(['unconditioned-sensitive']);
  });

  test('the JSON report is stable: the same input gives the same bytes', async () => {
    const { cdkOut, k8s } = write(cleanTemplate(), cleanObjects());
    const a = await runCli('review', cdkOut, '--k8s', k8s, '--format', 'json');
    const b = await runCli('review', cdkOut, '--k8s', k8s, '--format', 'json');
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout).reviewVersion).toBe(1);
  });

  test.each([
    [['review'], /review needs exactly one CDK_OUT; got none/],
    [['review', '/nonexistent/cdk.out'], /CDK_OUT '\/nonexistent\/cdk.out' does not exist/],
    [['review', os.tmpdir(), '--format', 'html'], /--format must be md or json, got 'html'/],
    [['review', os.tmpdir(), '--fail-on', 'low'], /--fail-on must be high or medium, got 'low'/],
  ])('fails with exit 2 when %j', async (argv, message) => {
    const run = await runCli(...(argv as string[]));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test('fails with exit 2 when CDK_OUT holds no template, or a manifest is not YAML', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-review-empty-'));
    expect((await runCli('review', empty)).stderr).toMatch(/no \*\.template\.json in/);
    const { cdkOut, k8s } = write(cleanTemplate(), []);
    fs.writeFileSync(path.join(k8s, 'bad.yaml'), 'a: [unclosed');
    const bad = await runCli('review', cdkOut, '--k8s', k8s);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml: not YAML or JSON/);
  });
});
