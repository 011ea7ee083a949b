/**
 * The examples contract (../shared/BRIEF.md "Contracts every construct and example keeps"), checked on every folder
 * under examples/: each is its own app (cdk.json, or cdk8s.yaml), at most two levels deep, synthesizes offline with
 * no credentials, no explicit env and no lookups, and keeps the security invariants — evaluated by the IAM simulator,
 * not matched as text. This is the only test file that synthesizes with aws-cdk-lib's built-in CloudFormation
 * validation on (and the cdk-nag plugins the apps register).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ensureCliBundle } from './helpers/cli-bundle';
import { EXAMPLES_DIR, exampleContext, synthExampleStack } from './helpers/examples';
import { SimRow, TemplateSimulator, ADMINISTRATOR_ACCESS, ACCOUNT } from './helpers/iam-sim';
import { expectNagClean } from './helpers/nag';
import { ModelSealExampleStack } from '../examples/core-stack/modelseal-stack';
import { ENCLAVE_PCR8, EnclaveServingStack } from '../examples/enclave-serving/enclave-serving-stack';
import { FullPipelineStack } from '../examples/full-pipeline/full-pipeline-stack';
import { ModelSealSandboxStack, SANDBOX_EXPIRATION_DAYS, SANDBOX_RETENTION_DAYS } from '../examples/sandbox/sandbox-stack';

/** Every IAM-shaped policy document in a template: IAM policies, key policies, bucket policies, role trust policies. */
function policyDocuments(template: any): { where: string; doc: any }[] {
  const docs: { where: string; doc: any }[] = [];
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    const p = r.Properties ?? {};
    for (const key of ['PolicyDocument', 'KeyPolicy', 'AssumeRolePolicyDocument', 'RepositoryPolicyText']) {
      if (p[key]) docs.push({ where: `${id}.${key}`, doc: p[key] });
    }
    for (const inline of p.Policies ?? []) docs.push({ where: `${id}.Policies`, doc: inline.PolicyDocument });
  }
  return docs;
}

/** Allow statements with a wildcard in an action (not even `service:Prefix*`), or a NotAction. */
function wildcardAllows(template: any): string[] {
  const offenders: string[] = [];
  for (const { where, doc } of policyDocuments(template)) {
    for (const s of [doc.Statement].flat()) {
      if (s.Effect !== 'Allow') continue;
      for (const a of [s.Action ?? []].flat()) if (String(a).includes('*')) offenders.push(`${where}: ${a}`);
      if (s.NotAction) offenders.push(`${where}: NotAction in an Allow`);
    }
  }
  return offenders;
}

/** Example folders: every folder under examples/ (one or two levels) with a cdk.json or cdk8s.yaml. */
function exampleFolders(): { folder: string; kind: 'cdk' | 'cdk8s' }[] {
  const out: { folder: string; kind: 'cdk' | 'cdk8s' }[] = [];
  const visit = (rel: string, depth: number) => {
    const dir = path.join(EXAMPLES_DIR, rel);
    if (fs.existsSync(path.join(dir, 'cdk.json'))) { out.push({ folder: rel, kind: 'cdk' }); return; }
    if (fs.existsSync(path.join(dir, 'cdk8s.yaml'))) { out.push({ folder: rel, kind: 'cdk8s' }); return; }
    if (depth === 2) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && !['cdk.out', 'dist', 'node_modules'].includes(e.name)) visit(path.join(rel, e.name), depth + 1);
    }
  };
  visit('', 0);
  return out;
}

/** Runs an example's app in this process, as `cdk synth` would (its context, an output folder), and reads the result. */
function synthApp(folder: string): cxapi.CloudAssembly {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-example-'));
  const saved = { ...process.env };
  // what the CDK CLI hands an app; no credentials, no account or region
  for (const k of Object.keys(process.env)) if (/^(AWS_|CDK_DEFAULT_)/.test(k)) delete process.env[k];
  delete process.env.CDK_VALIDATION; // validation on, as in `cdk synth`
  process.env.CDK_OUTDIR = outdir;
  process.env.CDK_CONTEXT_JSON = JSON.stringify(exampleContext(folder));
  try {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, folder, 'cdk.json'), 'utf8'));
    const entry = /(\S+\.ts)\s*$/.exec(cdkJson.app)?.[1];
    if (!entry) throw new Error(`examples/${folder}/cdk.json: app must run a .ts entry point, got '${cdkJson.app}'`);
    jest.isolateModules(() => { jest.requireActual(path.join(EXAMPLES_DIR, folder, entry)); });
    return new cxapi.CloudAssembly(outdir);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** Rows every store and every signing key of a template must pass, whatever the example. */
function invariantRows(sim: TemplateSimulator): SimRow[] {
  const admin = sim.principal(`arn:aws:iam::${ACCOUNT}:role/Admin`, 'an account administrator', [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]);
  const rows: SimRow[] = [];
  for (const id of sim.idsOfType('AWS::S3::Bucket')) {
    const tags = sim.props(id).Tags ?? [];
    if (!tags.some((t: any) => t.Key === 'modelseal:role' && t.Value === 'attestation-store')) continue;
    const bucket = sim.arn(id);
    const object = `${bucket}/bundles/sha256/${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`;
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:BypassGovernanceRetention',
      's3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags']) {
      rows.push({ name: `${id}: nobody may ${action}`, principal: admin, action, resource: object, expect: 'ExplicitlyDenied' });
    }
    for (const action of ['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration']) {
      rows.push({ name: `${id}: nobody may ${action}`, principal: admin, action, resource: bucket, expect: 'ExplicitlyDenied' });
    }
    rows.push({
      name: `${id}: nobody may overwrite (PutObject without If-None-Match)`,
      principal: admin,
      action: 's3:PutObject',
      resource: object,
      context: { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:ObjectCreationOperation': 'true' },
      expect: 'ExplicitlyDenied',
    });
  }
  for (const id of sim.idsOfType('AWS::KMS::Key')) {
    if (sim.props(id).KeyUsage !== 'SIGN_VERIFY') continue;
    const algorithm = sim.props(id).KeySpec === 'ECC_NIST_P384' ? 'ECDSA_SHA_384' : 'ECDSA_SHA_256';
    rows.push({
      name: `${id}: a principal not granted Sign is refused, even an administrator with a well-formed request`,
      principal: admin,
      action: 'kms:Sign',
      resource: sim.arn(id),
      context: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': algorithm },
      expect: 'ExplicitlyDenied',
    });
  }
  // every weights key: no principal decrypts without an attestation, and no administrator makes data keys
  for (const id of sim.idsOfType('AWS::KMS::Key')) {
    if (!(sim.props(id).Tags ?? []).some((t: any) => t.Key === 'modelseal:role' && t.Value === 'weights-key')) continue;
    rows.push({ name: `${id}: nobody decrypts the weights key without an attestation`, principal: admin, action: 'kms:Decrypt', resource: sim.arn(id), expect: 'ExplicitlyDenied' });
    rows.push({ name: `${id}: an administrator makes no data key`, principal: admin, action: 'kms:GenerateDataKey', resource: sim.arn(id), expect: 'ExplicitlyDenied' });
  }
  return rows;
}

describe('examples contract', () => {
  const folders = exampleFolders();

  test('every example is its own folder (at most two levels deep) with a cdk.json or cdk8s.yaml', () => {
    expect(folders.map((f) => f.folder).sort()).toEqual(expect.arrayContaining(['core-stack', 'sandbox', 'enclave-serving', 'full-pipeline', 'existing-app']));
    const loose = fs.readdirSync(EXAMPLES_DIR, { withFileTypes: true }).filter((e) => e.isFile() && e.name !== 'README.md').map((e) => e.name);
    expect(loose).toEqual([]);
    for (const { folder } of folders) expect(folder.split(path.sep).length).toBeLessThanOrEqual(2);
    // CDK apps are synthesized below; each cdk8s app (cdk8s.yaml) runs `cdk8s synth` in its own test file, which
    // must exist: a new cdk8s example fails here until its synth check is added
    const cdk8sExamples = folders.filter((f) => f.kind === 'cdk8s').map((f) => f.folder);
    expect(cdk8sExamples).toEqual(expect.arrayContaining(['policies-only']));
    for (const folder of cdk8sExamples) {
      const check = path.join(__dirname, `examples-${folder.split(path.sep).join('-')}.test.ts`);
      expect([folder, fs.existsSync(check)]).toEqual([folder, true]);
    }
  });

  test.each(folders.filter((f) => f.kind === 'cdk').map((f) => f.folder))(
    'examples/%s synthesizes offline (no env, no lookups) and keeps the security invariants', async (folder) => {
      ensureCliBundle();
      const assembly = synthApp(folder);
      expect(assembly.manifest.missing ?? []).toEqual([]); // no context lookup
      expect(assembly.stacks.length).toBeGreaterThan(0);
      for (const stack of assembly.stacks) {
        expect(stack.environment.account).toBe(cxapi.UNKNOWN_ACCOUNT);
        expect(stack.environment.region).toBe(cxapi.UNKNOWN_REGION);
        expect(wildcardAllows(stack.template)).toEqual([]);
        const sim = new TemplateSimulator(stack.template, stack.stackName);
        const rows = invariantRows(sim);
        const stores = sim.idsOfType('AWS::S3::Bucket').filter((b) => sim.props(b).ObjectLockEnabled);
        const signingKeys = sim.idsOfType('AWS::KMS::Key').filter((k) => sim.props(k).KeyUsage === 'SIGN_VERIFY');
        // every Object Lock bucket is a tagged store, so every store is checked; each store and key got its rows
        expect(rows.filter((r) => r.name.includes('nobody may')).length).toBe(stores.length * 12);
        expect(rows.filter((r) => r.action === 'kms:Sign').length).toBe(signingKeys.length);
        const weightsKeys = sim.idsOfType('AWS::KMS::Key').filter((k) => (sim.props(k).Tags ?? []).some((t: any) => t.Value === 'weights-key'));
        expect(rows.filter((r) => r.action === 'kms:Decrypt' || r.action === 'kms:GenerateDataKey').length).toBe(weightsKeys.length * 2);
        await sim.expectRows(rows);
      }
    });
});

/** Synthesizes one example stack with aws-cdk-lib's built-in validation and the cdk-nag plugins on, as its app does. */
function synthValidated<T extends Stack>(folder: string, stackName: string, make: (app: App) => T): { stack: T; template: any } {
  ensureCliBundle(); // the runner ships it as an asset
  const previous = process.env.CDK_VALIDATION;
  delete process.env.CDK_VALIDATION; // validation on
  try {
    const app = new App({ context: exampleContext(folder) });
    const stack = make(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
    return { stack, template: app.synth().getStackByName(stackName).template };
  } finally {
    process.env.CDK_VALIDATION = previous;
  }
}

describe('examples/core-stack', () => {
  let template: any;
  let stack: ModelSealExampleStack;

  beforeAll(() => {
    ({ stack, template } = synthValidated('core-stack', 'ModelSealExample', (app) => new ModelSealExampleStack(app, 'ModelSealExample')));
  });

  test('synthesizes with built-in validation and cdk-nag plugins on', () => {
    const t = Template.fromJSON(template);
    t.resourceCountIs('AWS::KMS::Key', 3); // signing key, store key, runner key
    t.resourceCountIs('AWS::S3::Bucket', 5); // store, its access logs, training data, the runner's staging and its access logs
    t.resourceCountIs('AWS::CodeBuild::Project', 2); // train, seal
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings', () => {
    expectNagClean(stack);
  });

  test('no Allow statement in any policy has a wildcard action (not even service:Prefix*)', () => {
    expect(policyDocuments(template).length).toBeGreaterThanOrEqual(6);
    expect(wildcardAllows(template)).toEqual([]);
  });

  test('stable logical IDs: the resources that hold state or identity keep the IDs they were first deployed with', () => {
    // A changed ID makes CloudFormation replace the resource: a new signing key is a signer no trust policy knows,
    // and a retained COMPLIANCE store would be orphaned beside a new empty one. Never update these values.
    const pinned: Record<string, string> = {
      SigningKeyEEFC2790: 'AWS::KMS::Key',
      SigningKeyAlias0D6B8E22: 'AWS::KMS::Alias',
      StoreC1F82936: 'AWS::S3::Bucket',
      StorePolicy1828B04C: 'AWS::S3::BucketPolicy',
      StoreKey7A3C02BD: 'AWS::KMS::Key',
      StoreAccessLogs087BBF22: 'AWS::S3::Bucket',
      RunnerKey2F3D541B: 'AWS::KMS::Key',
      RunnerLogs696CEF90: 'AWS::Logs::LogGroup',
      RunnerFlowLogsC738DA28: 'AWS::Logs::LogGroup',
      RunnerServingImages18E880D5: 'AWS::ECR::Repository',
      // the seal role: the signing identity that key policies name (the train role is new beside it)
      RunnerRole4782C5F2: 'AWS::IAM::Role',
      RunnerStagingCFE0D4FE: 'AWS::S3::Bucket',
      RunnerStagingAccessLogsEBB10F39: 'AWS::S3::Bucket',
    };
    for (const [id, type] of Object.entries(pinned)) {
      expect({ id, type: template.Resources[id]?.Type }).toEqual({ id, type });
    }
    // and they stay retained when they leave the stack
    for (const id of ['SigningKeyEEFC2790', 'StoreC1F82936', 'StoreKey7A3C02BD', 'StoreAccessLogs087BBF22', 'RunnerKey2F3D541B', 'RunnerStagingCFE0D4FE', 'RunnerStagingAccessLogsEBB10F39']) {
      expect(template.Resources[id].DeletionPolicy).toBe('Retain');
    }
  });

  test('role tags: every bucket, key and build project the constructs create says what it is', () => {
    const roles: Record<string, string> = {};
    for (const [id, r] of Object.entries<any>(template.Resources)) {
      if (!['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::CodeBuild::Project', 'AWS::ECR::Repository'].includes(r.Type)) continue;
      roles[id] = (r.Properties.Tags ?? []).find((t: any) => t.Key === 'modelseal:role')?.Value ?? '(none)';
    }
    expect(roles).toEqual({
      SigningKeyEEFC2790: 'signing-key',
      StoreC1F82936: 'attestation-store',
      StoreKey7A3C02BD: 'store-key',
      StoreAccessLogs087BBF22: 'access-logs',
      RunnerKey2F3D541B: 'runner-key',
      RunnerProject5D2C85B4: 'train',
      RunnerSealProjectEECBE8FD: 'seal',
      RunnerStagingCFE0D4FE: 'model-staging',
      RunnerStagingAccessLogsEBB10F39: 'access-logs',
      RunnerServingImages18E880D5: 'serving-images',
      TrainingData3FDB6D34: '(none)', // the example's own bucket, not created by a construct
    });
  });
});

describe('examples/sandbox', () => {
  let stack: ModelSealSandboxStack;
  let template: any;

  beforeAll(() => {
    const previous = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION;
    try {
      const app = new App({ context: exampleContext('sandbox') });
      stack = new ModelSealSandboxStack(app, 'ModelSealSandbox');
      template = app.synth().getStackByName('ModelSealSandbox').template;
    } finally {
      process.env.CDK_VALIDATION = previous;
    }
  });

  test('is loudly not for production: GOVERNANCE, one day, expiration rules at creation, a warning, a description', () => {
    const t = Template.fromJSON(template);
    t.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: SANDBOX_RETENTION_DAYS } } },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'SandboxExpireAttestations',
            Status: 'Enabled',
            ExpirationInDays: SANDBOX_EXPIRATION_DAYS,
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
          { Id: 'SandboxRemoveExpiredDeleteMarkers', Status: 'Enabled', ExpiredObjectDeleteMarker: true },
        ],
      },
    });
    expect(template.Description).toMatch(/SANDBOX - NOT FOR PRODUCTION/);
    const warnings = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data)));
    expect(warnings.some((w) => /SANDBOX store, not for production/.test(w))).toBe(true);
    expect(fs.readFileSync(path.join(EXAMPLES_DIR, 'sandbox', 'README.md'), 'utf8')).toMatch(/^# SANDBOX — NOT FOR PRODUCTION/);
  });

  test('the append-only bucket policy is the production one, statement for statement', () => {
    const core = synthExampleStack('core-stack', 'ModelSealExample', (app) => new ModelSealExampleStack(app, 'ModelSealExample')).template;
    expect(template.Resources.StorePolicy1828B04C.Properties.PolicyDocument).toEqual(core.Resources.StorePolicy1828B04C.Properties.PolicyDocument);
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings', () => {
    expectNagClean(stack);
  });
});

describe('examples/enclave-serving', () => {
  let stack: EnclaveServingStack;
  let template: any;

  beforeAll(() => {
    ensureCliBundle(); // the tier ships it as an asset
    const previous = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION;
    try {
      const app = new App({ context: exampleContext('enclave-serving') });
      stack = new EnclaveServingStack(app, 'ModelSealEnclaveServing');
      template = app.synth().getStackByName('ModelSealEnclaveServing').template;
    } finally {
      process.env.CDK_VALIDATION = previous;
    }
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings', () => {
    expectNagClean(stack);
  });

  test('stable logical IDs: the weights key, its alias and the store keep the IDs they were first deployed with', () => {
    // A replaced weights key cannot decrypt any weights sealed before: never update these values.
    const pinned: Record<string, string> = {
      WeightsKey04EA1633: 'AWS::KMS::Key',
      WeightsKeyAlias5CA52B93: 'AWS::KMS::Alias',
      SigningKeyEEFC2790: 'AWS::KMS::Key',
      StoreC1F82936: 'AWS::S3::Bucket',
      StoreKey7A3C02BD: 'AWS::KMS::Key',
      StoreAccessLogs087BBF22: 'AWS::S3::Bucket',
      ServingInstanceRole298257F6: 'AWS::IAM::Role',
    };
    for (const [id, type] of Object.entries(pinned)) {
      expect({ id, type: template.Resources[id]?.Type }).toEqual({ id, type });
    }
    expect(template.Resources.WeightsKey04EA1633.DeletionPolicy).toBe('Retain');
  });

  test('role tags: the weights key says what it is', () => {
    const roles: Record<string, string> = {};
    for (const [id, r] of Object.entries<any>(template.Resources)) {
      if (!['AWS::S3::Bucket', 'AWS::KMS::Key'].includes(r.Type)) continue;
      roles[id] = (r.Properties.Tags ?? []).find((t: any) => t.Key === 'modelseal:role')?.Value ?? '(none)';
    }
    expect(roles).toEqual({
      WeightsKey04EA1633: 'weights-key',
      SigningKeyEEFC2790: 'signing-key',
      StoreC1F82936: 'attestation-store',
      StoreKey7A3C02BD: 'store-key',
      StoreAccessLogs087BBF22: 'access-logs',
      Artifacts82DD59A1: '(none)', // the example's own bucket, not created by a construct
    });
  });

  test('the sealed weights must carry the seal build\'s attestation naming the example\'s enclave image', () => {
    const sim = new TemplateSimulator(template, 'ModelSealEnclaveServing');
    const script = Buffer.from(sim.props('ServingLaunchTemplate049FC843').LaunchTemplateData.UserData, 'base64').toString('utf8');
    const encoded = /^echo '([A-Za-z0-9+/=]+)' \| base64 -d > \/etc\/modelseal\/sealed-weights-policy\.json$/m.exec(script)![1];
    const policy = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    expect(policy.signers).toEqual([{ name: 'ci', kmsKeyArn: sim.arn('SigningKeyEEFC2790') }]);
    expect(policy.attestations).toEqual([{
      predicateType: 'https://modelseal.dev/enclave-seal/v1',
      signers: ['ci'],
      conditions: [{ name: 'enclave-image', expression: `predicate.enclave.pcrs.PCR8 == '${ENCLAVE_PCR8}'`, message: 'sealed for another enclave image' }],
    }]);
  });
});

describe('examples/full-pipeline', () => {
  let template: any;
  let stack: FullPipelineStack;

  beforeAll(() => {
    ({ stack, template } = synthValidated('full-pipeline', 'FullPipeline', (app) => new FullPipelineStack(app, 'FullPipeline')));
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings', () => {
    expectNagClean(stack);
  });

  test('no Allow statement in any policy has a wildcard action', () => {
    expect(wildcardAllows(template)).toEqual([]);
  });

  test('stable logical IDs: the keys of every party, the store and its key and logs, the runner key', () => {
    // Never update these values: a changed ID replaces the resource (a new signing key is a signer no policy knows).
    const pinned: Record<string, string> = {
      PipelineCiSigningKeyE578CC4E: 'AWS::KMS::Key',
      PipelineComplianceSigningKeyB3A377DE: 'AWS::KMS::Key',
      PipelineSecuritySigningKeyF7D1B9A6: 'AWS::KMS::Key',
      PipelineStore01863E2F: 'AWS::S3::Bucket',
      PipelineStoreKeyB6B91842: 'AWS::KMS::Key',
      PipelineStoreAccessLogs8381F624: 'AWS::S3::Bucket',
      PipelineRunnerKey0878C16B: 'AWS::KMS::Key',
      PipelineClusterKeyBB7B0828: 'AWS::KMS::Key',
    };
    for (const [id, type] of Object.entries(pinned)) expect({ id, type: template.Resources[id]?.Type }).toEqual({ id, type });
    for (const id of ['PipelineCiSigningKeyE578CC4E', 'PipelineComplianceSigningKeyB3A377DE', 'PipelineSecuritySigningKeyF7D1B9A6', 'PipelineStore01863E2F']) {
      expect(template.Resources[id].DeletionPolicy).toBe('Retain');
    }
  });

  test('role tags: every key, bucket and build project says what it is', () => {
    const roles: Record<string, string> = {};
    for (const [id, r] of Object.entries<any>(template.Resources)) {
      if (!['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::CodeBuild::Project'].includes(r.Type)) continue;
      roles[id] = (r.Properties.Tags ?? []).find((t: any) => t.Key === 'modelseal:role')?.Value ?? '(none)';
    }
    expect(Object.values(roles)).not.toContain('(none)');
    expect(Object.values(roles).sort()).toEqual(expect.arrayContaining(['access-logs', 'attestation-store', 'cluster-key', 'runner-key', 'signing-key', 'store-key', 'train']));
  });

  test('the workloads are applied after the admission objects, and carry the model digest and the derived trust policy', () => {
    const manifests = Object.entries<any>(template.Resources).filter(([, r]) => r.Type === 'Custom::AWSCDK-EKS-KubernetesResource');
    const [workloadsId, workloads] = manifests.find(([id]) => id.startsWith('PipelineWorkloadsManifest'))!;
    const admissionId = manifests.find(([id]) => id.startsWith('PipelineAdmissionManifest'))![0];
    expect(workloads.DependsOn).toContain(admissionId);
    const text = JSON.stringify(workloads.Properties.Manifest);
    expect(text).toContain('modelseal.dev/model-digest');
    expect(text).toContain('InferenceService');
    expect(text).toMatch(/PipelineCiSigningKeyE578CC4E/);
    void workloadsId;
  });
});
