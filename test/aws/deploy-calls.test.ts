/**
 * The deploy-call table, evaluated: every call CloudFormation's handlers make on the example stacks' resources as the
 * deploying role (the CDK bootstrap's CloudFormation execution role with AdministratorAccess), and every call AWS
 * services make on the user's behalf as the role they use. docs/DEPLOYMENT.md's table is generated from these rows.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelSealExampleStack } from '../../examples/core-stack/modelseal-stack';
import { ModelSealSandboxStack } from '../../examples/sandbox/sandbox-stack';
import { SYMMETRIC_KEY_ADMIN_ACTIONS } from '../../src/aws/perms';
import { REPO_ROOT } from '../helpers/cli-bundle';
import { DeployCallRow, deployCallRows, DOC_END as END, DOC_START as START, renderDeployCallTables } from '../helpers/deploy-calls';
import { synthExampleStack } from '../helpers/examples';
import { REGION, TemplateSimulator } from '../helpers/iam-sim';

const DOC = path.join(REPO_ROOT, 'docs', 'DEPLOYMENT.md');

let core: TemplateSimulator;
let sandbox: TemplateSimulator;

beforeAll(() => {
  core = new TemplateSimulator(
    synthExampleStack('core-stack', 'ModelSealExample', (app) => new ModelSealExampleStack(app, 'ModelSealExample')).template, 'ModelSealExample');
  sandbox = new TemplateSimulator(
    synthExampleStack('sandbox', 'ModelSealSandbox', (app) => new ModelSealSandboxStack(app, 'ModelSealSandbox')).template, 'ModelSealSandbox');
});

describe('deploy calls of the core-stack example', () => {
  test('every handler call is allowed for the role that makes it; store updates that break append-only are refused', async () => {
    const rows = deployCallRows(core);
    const results = await core.expectRows(rows);

    // the table covers each resource type under a restrictive resource policy
    const types = new Set(rows.map((r) => r.resourceType));
    for (const t of ['AWS::KMS::Key', 'AWS::KMS::Alias', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::EC2::VPCEndpoint',
      'AWS::CodeBuild::Project', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::ECR::Repository', 'AWS::Logs::LogGroup']) {
      expect(types).toContain(t);
    }
    // the deploy that failed before: the key handler enables rotation right after CreateKey, on both symmetric keys
    const rotation = results.filter((r) => r.row.action === 'kms:EnableKeyRotation' && (r.row as DeployCallRow).operation === 'create');
    expect(rotation.map((r) => (r.row as DeployCallRow).resourceId).sort()).toEqual(['RunnerKey2F3D541B', 'StoreKey7A3C02BD']);
    for (const r of rotation) expect(r.decisive).toContain(`${(r.row as DeployCallRow).resourceId}: AllowKeyAdministration`);

    // the refused updates are exactly the ones documented as impossible by design, each refused by the store's Deny
    const refused = results.filter((r) => r.decision !== 'Allowed');
    const refusedUpdates = refused.filter((r) => (r.row as DeployCallRow).operation === 'update');
    expect(refusedUpdates.map((r) => `${(r.row as DeployCallRow).resourceId} ${r.row.action}`).sort()).toEqual([
      'StoreC1F82936 s3:PutBucketObjectLockConfiguration',
      'StoreC1F82936 s3:PutBucketVersioning',
      'StoreC1F82936 s3:PutLifecycleConfiguration',
    ]);
    for (const r of refusedUpdates) expect(r.decisive).toEqual(['StorePolicy1828B04C: DenyDeletesAndLockChanges']);

    // the runner key: CodeBuild and S3 use it with the build roles; a build command calling KMS itself does not
    const runnerKey = core.arn('RunnerKey2F3D541B');
    const direct = refused.filter((r) => (r.row as DeployCallRow).operation === 'runtime');
    expect(direct.map((r) => `${(r.row as DeployCallRow).caller} ${r.row.action} ${r.decision}`).sort()).toEqual([
      'a seal build command (seal role) kms:Decrypt ImplicitlyDenied',
      'a seal build command (seal role) kms:Encrypt ImplicitlyDenied',
      'a seal build command (seal role) kms:GenerateDataKey ImplicitlyDenied',
      'a train build command (train role) kms:Decrypt ImplicitlyDenied',
      'a train build command (train role) kms:Encrypt ImplicitlyDenied',
      'a train build command (train role) kms:GenerateDataKey ImplicitlyDenied',
    ]);
    for (const r of direct) expect(r.row.resource).toBe(runnerKey);
    const viaCodeBuild = results.filter((r) => r.row.resource === runnerKey && r.row.context?.['kms:ViaService'] === `codebuild.${REGION}.amazonaws.com`);
    expect(viaCodeBuild.map((r) => `${(r.row as DeployCallRow).caller} ${r.row.action} ${r.decision}`).sort()).toEqual([
      'CodeBuild (seal role) kms:Decrypt Allowed',
      'CodeBuild (seal role) kms:GenerateDataKey Allowed',
      'CodeBuild (train role) kms:Decrypt Allowed',
      'CodeBuild (train role) kms:GenerateDataKey Allowed',
    ]);
  });

  test('a key policy whose admin list lacks kms:EnableKeyRotation fails the table, printing the decisive statements', async () => {
    const broken = core.withChange((t) => {
      const admin = t.Resources.StoreKey7A3C02BD.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'AllowKeyAdministration');
      admin.Action = admin.Action.filter((a: string) => a !== 'kms:EnableKeyRotation');
    });
    const rows = deployCallRows(broken).filter((r) => r.resourceId === 'StoreKey7A3C02BD');
    let message = '';
    try {
      await broken.expectRows(rows);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^2 of \d+ rows did not get the expected decision/);
    expect(message).toContain("row 'StoreKey7A3C02BD create kms:EnableKeyRotation as deploy role': deploy role kms:EnableKeyRotation " +
      `on ${core.arn('StoreKey7A3C02BD')} -> ImplicitlyDenied (expected Allowed)`);
    expect(message).toContain('identity policy: Allowed; key policy: ImplicitlyDenied');
    // the statement that decided (the deploying role's own Allow) and the key policy that does not allow it
    expect(message).toContain('ALLOW identity policy AdministratorAccess\n');
    expect(message).toContain('the key policy of StoreKey7A3C02BD has no Allow for it');
    // and the same row passes on the key policy as built
    const fixed = await core.evaluate(rows.find((r) => r.action === 'kms:EnableKeyRotation' && r.operation === 'create')!);
    expect(fixed.decision).toBe('Allowed');
    expect(SYMMETRIC_KEY_ADMIN_ACTIONS).toEqual(expect.arrayContaining(['kms:EnableKeyRotation', 'kms:DisableKeyRotation',
      'kms:GetKeyRotationStatus', 'kms:RotateKeyOnDemand', 'kms:ListKeyRotations']));
  });

  test('a Deny that refuses a handler call is printed as the decisive statement', async () => {
    const denied = core.withChange((t) => {
      t.Resources.StoreKey7A3C02BD.Properties.KeyPolicy.Statement.push({
        Sid: 'DenyRotationChanges', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:EnableKeyRotation', Resource: '*',
      });
    });
    const row = deployCallRows(denied).find((r) => r.resourceId === 'StoreKey7A3C02BD' && r.action === 'kms:EnableKeyRotation')!;
    const result = await denied.evaluate(row);
    expect(result.ok).toBe(false);
    expect(result.decision).toBe('ExplicitlyDenied');
    expect(result.decisive).toEqual(['StoreKey7A3C02BD: DenyRotationChanges']);
    expect(result.explanation).toContain('DENY  key policy StoreKey7A3C02BD: DenyRotationChanges');
    expect(result.explanation).toContain('"Sid": "DenyRotationChanges"');
  });
});

describe('deploy calls of the sandbox example', () => {
  test('every handler call is allowed; the lifecycle rule is set at creation, before the bucket policy exists', async () => {
    const rows = deployCallRows(sandbox);
    await sandbox.expectRows(rows);

    const store = 'StoreC1F82936';
    const create = rows.find((r) => r.resourceId === store && r.operation === 'create' && r.action === 's3:PutLifecycleConfiguration')!;
    expect(create.creating).toBe(store);
    // the ordering that makes it work: the bucket policy refers to the bucket, so CloudFormation creates it after
    const policyId = 'StorePolicy1828B04C';
    expect(sandbox.template.Resources[policyId].Properties.Bucket).toEqual({ Ref: store });
    // the same call once the policy is in force (any later stack update) is refused
    const later = await sandbox.evaluate({ ...create, name: 'the lifecycle rule, once the store exists', creating: undefined, expect: 'ExplicitlyDenied' });
    expect(later.ok).toBe(true);
    expect(later.decisive).toEqual([`${policyId}: DenyDeletesAndLockChanges`]);
  });
});

describe('docs/DEPLOYMENT.md', () => {
  test('the deploy-call table is the one the rows produce (regenerate: npx projen docs:deployment)', async () => {
    const results = await core.evaluateAll(deployCallRows(core));
    const doc = fs.readFileSync(DOC, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const current = doc.slice(start + START.length, end).trim();
    expect(current).toEqual(renderDeployCallTables(core, results).trim());
  });
});
