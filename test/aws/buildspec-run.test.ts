/**
 * Runs the build runner's buildspec commands on this machine — the very commands CodeBuild runs, taken from the
 * synthesized template — with a local key and a local store swapped in through the environment variables the
 * buildspec already reads. The bundle they publish must verify, and the policy check must pass.
 */
import { execFileSync, spawnSync } from 'child_process';
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttestationStore, HardenedBuildRunner, ModelSigningKey } from '../../src';
import { ensureCliBundle, REPO_ROOT } from '../helpers/cli-bundle';

const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'b'.repeat(64)}`;
const BUILD_COMMANDS = [
  'mkdir -p model',
  'cp inputs/transactions.csv model/training-sample.csv',
  'printf "weights-%s" "$(wc -c < inputs/transactions.csv)" > model/weights.bin',
];

let cli: string;
let work: string;
let spec: { phases: Record<string, { commands: string[] }> };
let templateEnv: Record<string, string>;

beforeAll(() => {
  cli = ensureCliBundle();
  const app = new App();
  const stack = new Stack(app, 'Stack');
  new HardenedBuildRunner(stack, 'Runner', {
    signingKey: new ModelSigningKey(stack, 'Key'),
    store: new AttestationStore(stack, 'Store'),
    buildImage: IMAGE,
    buildCommands: BUILD_COMMANDS,
    modelName: 'fraud-detector',
    s3PrefixListId: 'pl-6ca54005',
  });
  const project = Object.values(Template.fromStack(stack).findResources('AWS::CodeBuild::Project'))[0] as any;
  spec = JSON.parse(project.Properties.Source.BuildSpec);
  templateEnv = {};
  for (const v of project.Properties.Environment.EnvironmentVariables) {
    if (typeof v.Value === 'string') templateEnv[v.Name] = v.Value;
  }
});

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-buildspec-'));
  fs.mkdirSync(path.join(work, 'inputs'));
  fs.writeFileSync(path.join(work, 'inputs', 'transactions.csv'), 'id,amount,fraud\n1,12.50,0\n2,999.99,1\n');
  fs.copyFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'sbom', 'model-card.yaml'), path.join(work, 'model-card.yaml'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(work, 'ci.key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(work, 'ci.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** The environment CodeBuild would have, with the signer and store swapped for local ones. */
function buildEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: work,
    ...templateEnv,
    MODELSEAL_SIGNER: 'key',
    MODELSEAL_PRIVATE_KEY: path.join(work, 'ci.key.pem'),
    MODELSEAL_STORE: `file://${path.join(work, 'store')}`,
    // what CodeBuild sets: the CLI asset is the build's source directory
    CODEBUILD_SRC_DIR: path.dirname(cli),
    CODEBUILD_BUILD_NUMBER: '7',
    CODEBUILD_BUILD_ARN: 'arn:aws:codebuild:eu-west-1:111122223333:build/fraud:7',
  };
}

/** Runs the phases as CodeBuild does: in order, in one bash, stopping at the first failing command. */
function runBuildSpec(extraBuildCommand?: string) {
  const commands = [...spec.phases.pre_build.commands, ...spec.phases.build.commands];
  if (extraBuildCommand) commands.splice(spec.phases.pre_build.commands.length, 0, extraBuildCommand);
  const script = ['set -e', ...commands].join('\n');
  return spawnSync('bash', ['-c', script], { cwd: work, env: buildEnv(), encoding: 'utf8', timeout: 120_000 });
}

function modelseal(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
}

test('the template buildspec reads the runner environment: kms signer and s3 store by default', () => {
  expect(templateEnv.MODELSEAL_SIGNER).toBe('kms');
  expect(templateEnv.MODEL_PATH).toBe('model');
  expect(templateEnv.MODEL_CARD).toBe('model-card.yaml');
  expect(templateEnv.MODELSEAL).toBeUndefined(); // resolved in the buildspec, where $CODEBUILD_SRC_DIR expands
  expect(templateEnv.MODEL_VERSION).toBeUndefined();
  const build = spec.phases.build.commands;
  expect(build[0]).toBe('set -euo pipefail');
  const first = build.indexOf(BUILD_COMMANDS[0]);
  expect(build.slice(first, first + BUILD_COMMANDS.length)).toEqual(BUILD_COMMANDS);
});

test('the buildspec builds, signs, attests and publishes; what it publishes verifies and meets the policy', () => {
  const run = runBuildSpec();
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  const root = /model root digest: sha256:([0-9a-f]{64})/.exec(run.stdout)?.[1];
  expect(root).toBeDefined();

  // the ref points at the signed digest
  const ref = modelseal('ref', 'get', '--store', `file://${path.join(work, 'store')}`, 'fraud-detector', '7');
  expect(ref.stdout.trim()).toBe(`sha256:${root}`);

  // the store holds the model signature, the SBOM and the provenance, under the brief's layout
  const keys = execFileSync('find', ['store', '-type', 'f'], { cwd: work, encoding: 'utf8' }).trim().split('\n').sort();
  expect(keys.filter((k) => k.startsWith(`store/bundles/sha256/${root}/`))).toHaveLength(1);
  expect(keys.filter((k) => k.startsWith(`store/attestations/sha256/${root}/cyclonedx-bom/`))).toHaveLength(1);
  expect(keys.filter((k) => k.startsWith(`store/attestations/sha256/${root}/slsa-provenance-v1/`))).toHaveLength(1);

  // fetch the published bundle back and verify the model with it
  const fetched = modelseal('fetch', '--store', `file://${path.join(work, 'store')}`, '--out', 'fetched', `sha256:${root}`);
  expect(fetched.status).toBe(0);
  const bundle = keys.find((k) => k.startsWith('store/bundles/'))!.replace(/^store\//, 'fetched/');
  const verify = modelseal('verify', 'key', 'model', '--signature', bundle, '--public-key', 'ci.pub.pem');
  expect({ status: verify.status, err: verify.stderr }).toEqual({ status: 0, err: expect.any(String) });

  // the provenance names the builder image digest and the training input with its digest
  const provenanceKey = keys.find((k) => k.includes('/slsa-provenance-v1/'))!;
  const provenance = JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(path.join(work, provenanceKey), 'utf8')).dsseEnvelope.payload, 'base64').toString());
  expect(provenance.subject[0].digest.sha256).toBe(root);
  const deps = provenance.predicate.buildDefinition.resolvedDependencies;
  expect(deps[0]).toEqual({ uri: `oci://${IMAGE.split('@')[0]}`, digest: { sha256: 'b'.repeat(64) } });
  expect(deps.map((d: { name?: string }) => d.name)).toContain('transactions.csv');
  expect(provenance.predicate.runDetails.metadata.invocationId).toBe('arn:aws:codebuild:eu-west-1:111122223333:build/fraud:7');

  // a trust policy that needs the CI signature and an SBOM with accuracy >= 0.9 is met
  fs.writeFileSync(path.join(work, 'policy.yaml'), [
    'apiVersion: modelseal.dev/v1',
    'kind: TrustPolicy',
    'signers:',
    '  - name: ci',
    '    publicKey: ci.pub.pem',
    'require:',
    '  allOf: [ci]',
    'attestations:',
    '  - predicateType: https://cyclonedx.org/bom',
    '    signers: [ci]',
    '    conditions:',
    '      - name: accuracy',
    '        expression: predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics.exists(m, m.type == "accuracy" && double(m.value) >= 0.9)',
    '',
  ].join('\n'));
  const check = modelseal('check', '--store', `file://${path.join(work, 'store')}`, '--policy', 'policy.yaml', `sha256:${root}`);
  expect({ status: check.status, out: check.stdout }).toEqual({ status: 0, out: expect.any(String) });
});

test('a failing build command stops the build before anything is signed or published', () => {
  const run = runBuildSpec('false # the training step failed');
  expect(run.status).not.toBe(0);
  expect(fs.existsSync(path.join(work, 'store'))).toBe(false);
});

test('a training pipeline that fails inside a pipe still stops the build (pipefail)', () => {
  const run = runBuildSpec('false | tee train.log');
  expect(run.status).not.toBe(0);
  expect(fs.existsSync(path.join(work, 'store'))).toBe(false);
  expect(fs.existsSync(path.join(work, '.modelseal', 'model.sig.json'))).toBe(false);
});

test('a build that cannot sign fails instead of publishing unsigned evidence', () => {
  fs.writeFileSync(path.join(work, 'ci.key.pem'), 'not a key');
  const run = runBuildSpec();
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/key/i);
  expect(fs.existsSync(path.join(work, 'store'))).toBe(false);
});
