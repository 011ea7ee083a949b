/**
 * The seal step's own checks, in-process, against CodeBuild and S3 mocked with aws-sdk-client-mock over one in-memory
 * state (test/helpers/fake-aws.ts): what it accepts, what it refuses and why, and the provenance it leads to.
 */
import { createHash, generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Build, Project } from '@aws-sdk/client-codebuild';
import { sealCommand } from '../../../src/runtime/cli/commands/seal';
import { readBuildFacts } from '../../../src/runtime/provenance/build-facts';
import { buildSealedProvenance, MODELSEAL_SEALED_BUILD_TYPE } from '../../../src/runtime/provenance/slsa';
import { runCli } from '../../helpers/cli';
import { FakeAws } from '../../helpers/fake-aws';

const ACCOUNT = '111122223333';
const TRAIN_PROJECT = 'RunnerTrain-abc';
const SEAL_PROJECT = 'RunnerSeal-def';
const TRAIN_UUID = '11111111-2222-4333-8444-555555555555';
const SEAL_UUID = '99999999-8888-4777-8666-555555555555';
const TRAIN_ARN = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:build/${TRAIN_PROJECT}:${TRAIN_UUID}`;
const SEAL_ARN = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:build/${SEAL_PROJECT}:${SEAL_UUID}`;
const IMAGE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'a'.repeat(64)}`;
const TRAIN_BUILDSPEC = '{"version":"0.2","phases":{"build":{"commands":["python train.py"]}}}';
const SEAL_BUILDSPEC = '{"version":"0.2","phases":{"build":{"commands":["modelseal seal prepare"]}}}';
const TRAIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/Stack-RunnerTrainRole-1`;
const STAGING = 'runner-staging';
const DATA = 'training-data';
const T = (s: string) => new Date(`2026-11-30T${s}Z`);
const START = T('06:10:00.400');
const END = T('06:30:00.700');
const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

const trainEnv: { name: string; type: 'PLAINTEXT'; value: string }[] = [
  { name: 'MODEL_PATH', type: 'PLAINTEXT' as const, value: 'model' },
  { name: 'MODEL_STAGING_URI', type: 'PLAINTEXT' as const, value: `s3://${STAGING}/` },
];

/** A train build's environment as CodeBuild reports it, without overrides. */
const ENV = { type: 'LINUX_CONTAINER' as const, computeType: 'BUILD_GENERAL1_LARGE' as const, image: IMAGE, privilegedMode: false, environmentVariables: trainEnv };

function world(opts: { trainBuild?: Partial<Build>; env?: { name: string; type: 'PLAINTEXT'; value: string }[]; sealEnv?: { name: string; type: 'PLAINTEXT'; value: string }[] } = {}) {
  const aws = new FakeAws(2); // two entries per ListObjectVersions page: paging is exercised
  const trainProject: Project = {
    name: TRAIN_PROJECT,
    arn: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${TRAIN_PROJECT}`,
    source: { type: 'NO_SOURCE', buildspec: TRAIN_BUILDSPEC },
    environment: { type: 'LINUX_CONTAINER', image: IMAGE, computeType: 'BUILD_GENERAL1_LARGE', environmentVariables: trainEnv },
    serviceRole: TRAIN_ROLE,
  };
  aws.projects.set(TRAIN_PROJECT, trainProject);
  aws.builds.set(`${TRAIN_PROJECT}:${TRAIN_UUID}`, {
    id: `${TRAIN_PROJECT}:${TRAIN_UUID}`,
    arn: TRAIN_ARN,
    buildNumber: 7,
    projectName: TRAIN_PROJECT,
    buildStatus: 'SUCCEEDED',
    buildComplete: true,
    startTime: START,
    endTime: END,
    initiator: 'Stack-RunnerUploadTriggerRole-2/events',
    serviceRole: TRAIN_ROLE,
    source: { type: 'NO_SOURCE', buildspec: TRAIN_BUILDSPEC },
    environment: {
      type: 'LINUX_CONTAINER',
      image: IMAGE,
      privilegedMode: false,
      computeType: 'BUILD_GENERAL1_LARGE',
      environmentVariables: opts.env ?? [...trainEnv, { name: 'MODELSEAL_SOURCE_KEY', type: 'PLAINTEXT', value: 'fraud/_SUCCESS' }],
    },
    ...opts.trainBuild,
  });
  const sealEnv = [{ name: 'MODEL_NAME', type: 'PLAINTEXT' as const, value: 'fraud-detector' }];
  aws.projects.set(SEAL_PROJECT, {
    name: SEAL_PROJECT,
    source: { type: 'S3', buildspec: SEAL_BUILDSPEC },
    environment: { type: 'LINUX_CONTAINER', computeType: 'BUILD_GENERAL1_LARGE', image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0', environmentVariables: sealEnv },
  });
  aws.builds.set(`${SEAL_PROJECT}:${SEAL_UUID}`, {
    id: `${SEAL_PROJECT}:${SEAL_UUID}`,
    arn: SEAL_ARN,
    buildNumber: 3,
    projectName: SEAL_PROJECT,
    buildStatus: 'IN_PROGRESS',
    startTime: T('06:31:00'),
    source: { type: 'S3', buildspec: SEAL_BUILDSPEC },
    environment: {
      type: 'LINUX_CONTAINER',
      computeType: 'BUILD_GENERAL1_LARGE',
      image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      environmentVariables: opts.sealEnv ?? [...sealEnv, { name: 'TRAIN_BUILD_ID', type: 'PLAINTEXT', value: TRAIN_ARN }],
    },
  });

  // inputs: v1 of the data before the start, the marker, and a newer data version long after the build
  aws.put(DATA, 'fraud/transactions.csv', 'id,amount\n1,10\n', T('05:00:00'));
  aws.put(DATA, 'fraud/transactions.csv', 'id,amount\n1,10\n2,20\n', T('06:00:00'));
  aws.put(DATA, 'fraud/model-card.yaml', 'name: fraud-detector\n', T('06:00:00'));
  aws.put(DATA, 'fraud/old.csv', 'gone', T('05:00:00'));
  aws.deleteMarker(DATA, 'fraud/old.csv', T('05:30:00'));
  aws.put(DATA, 'fraud/_SUCCESS', '', T('06:09:59'));
  aws.put(DATA, 'fraud/transactions.csv', 'id,amount\n1,10\n2,20\n3,30\n', T('07:00:00'));
  // the staged model: a checkpoint rewritten during the build (the newest before the end counts), a second file
  const staged = `${TRAIN_ARN}/model/`;
  aws.put(STAGING, `${staged}weights.bin`, 'first', T('06:20:00'));
  aws.put(STAGING, `${staged}weights.bin`, 'final-weights', T('06:29:00'));
  aws.put(STAGING, `${staged}config/params.json`, '{"lr":0.1}', T('06:29:30'));
  return aws;
}

let work: string;
beforeEach(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-seal-')); });
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const BASE = [
  'prepare', '--train-build', TRAIN_ARN, '--train-project', TRAIN_PROJECT, '--train-image', IMAGE,
  '--train-buildspec-sha256', sha256(TRAIN_BUILDSPEC), '--train-role-arn', TRAIN_ROLE,
  '--allow-override', 'MODELSEAL_SOURCE_KEY', '--allow-override', 'SERVING_IMAGE_DIGEST',
  '--staging', `s3://${STAGING}/`, '--source', `s3://${DATA}/fraud/`, '--self-build', `${SEAL_PROJECT}:${SEAL_UUID}`,
];

async function prepare(aws: FakeAws, extra: string[] = []) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } };
  const clients = aws.mockClients();
  // a flag in `extra` that BASE has replaces BASE's value
  const base = [...BASE];
  for (let i = 0; i < extra.length; i++) {
    const at = extra[i].startsWith('--') && extra[i] !== '--allow-override' ? base.indexOf(extra[i]) : -1;
    if (at >= 0 && i + 1 < extra.length && !extra[i + 1].startsWith('--')) base.splice(at, 2);
  }
  const args = [...base, '--out', path.join(work, 'out'), ...extra];
  try {
    const code = await sealCommand(args, io, clients);
    return { code, stdout, stderr, error: undefined as Error | undefined };
  } catch (e) {
    return { code: (e as { exitCode?: number }).exitCode ?? -1, stdout, stderr, error: e as Error };
  }
}

describe('seal prepare', () => {
  test('takes the staged versions as of the train end and the input versions as of its start, from S3, and CodeBuild\'s facts', async () => {
    const run = await prepare(world(), ['--model-card-input', 'model-card.yaml', '--json']);
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ ok: true, trainBuild: TRAIN_ARN, buildNumber: 7, files: 2, inputs: 3 });

    // exactly the staged bytes, newest version before the end
    const modelDir = path.join(work, 'out', 'model');
    expect(fs.readFileSync(path.join(modelDir, 'weights.bin'), 'utf8')).toBe('final-weights');
    expect(fs.readFileSync(path.join(modelDir, 'config', 'params.json'), 'utf8')).toBe('{"lr":0.1}');
    expect(fs.readFileSync(path.join(work, 'out', 'model-card.yaml'), 'utf8')).toBe('name: fraud-detector\n');

    const facts = await readBuildFacts(path.join(work, 'out', 'build-facts.json'));
    expect(facts.trainBuild).toMatchObject({
      arn: TRAIN_ARN,
      project: TRAIN_PROJECT,
      projectArn: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${TRAIN_PROJECT}`,
      buildNumber: 7,
      image: IMAGE,
      buildspecSha256: sha256(TRAIN_BUILDSPEC),
      startTime: START.toISOString(),
      endTime: END.toISOString(),
      initiator: 'Stack-RunnerUploadTriggerRole-2/events',
      overrides: ['MODELSEAL_SOURCE_KEY'],
    });
    expect(facts.sealBuild).toMatchObject({ arn: SEAL_ARN, projectArn: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${SEAL_PROJECT}`, overrides: ['TRAIN_BUILD_ID'] });
    // the inputs as of the start: v2 of the data (not v1, not the 07:00 v3), the card, the marker; old.csv was deleted
    expect(facts.inputs.map((i) => [i.name, i.sha256, i.lastModified])).toEqual([
      ['_SUCCESS', sha256(''), '2026-11-30T06:09:59.000Z'],
      ['model-card.yaml', sha256('name: fraud-detector\n'), '2026-11-30T06:00:00.000Z'],
      ['transactions.csv', sha256('id,amount\n1,10\n2,20\n'), '2026-11-30T06:00:00.000Z'],
    ]);
    for (const i of facts.inputs) expect(i.versionId).toMatch(/^v\d{6}-/);
    expect(facts.stagedModel.uri).toBe(`s3://${STAGING}/${TRAIN_ARN}/model/`);
    expect(facts.stagedModel.files.map((x) => [x.name, x.sha256])).toEqual([
      ['config/params.json', sha256('{"lr":0.1}')],
      ['weights.bin', sha256('final-weights')],
    ]);
    expect(facts.modelCard).toMatchObject({ name: 'model-card.yaml', sha256: sha256('name: fraud-detector\n') });
  });

  test('the provenance built from the facts: builder is the seal project, dependencies are S3 versions with SHA-256', async () => {
    await prepare(world(), ['--cli-sha256', 'c'.repeat(64)]);
    const facts = await readBuildFacts(path.join(work, 'out', 'build-facts.json'));
    const st = buildSealedProvenance({ rootDigest: 'd'.repeat(64), subjectName: 'fraud-detector', facts, toolVersion: '0.0.0' }) as any;
    expect(st.predicate.buildDefinition.buildType).toBe(MODELSEAL_SEALED_BUILD_TYPE);
    expect(st.predicate.runDetails.builder.id).toBe(`arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${SEAL_PROJECT}`);
    expect(st.predicate.runDetails.builder.builderDependencies).toEqual([
      { uri: 'codebuild-image:aws/codebuild/amazonlinux-x86_64-standard:5.0', name: 'seal-image', annotations: { note: 'an AWS-managed CodeBuild image, named by CodeBuild' } },
      { uri: 'modelseal-cli.js', name: 'modelseal-cli', digest: { sha256: 'c'.repeat(64) } },
    ]);
    expect(st.predicate.buildDefinition.externalParameters).toEqual({
      modelName: 'fraud-detector',
      trainProject: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${TRAIN_PROJECT}`,
      source: `s3://${DATA}/fraud/`,
      triggerKey: 'fraud/_SUCCESS',
      overrides: { MODELSEAL_SOURCE_KEY: 'fraud/_SUCCESS' },
    });
    const deps = st.predicate.buildDefinition.resolvedDependencies;
    expect(deps[0]).toEqual({ uri: `oci://${IMAGE.split('@')[0]}`, name: 'train-image', digest: { sha256: 'a'.repeat(64) } });
    expect(deps.find((d: any) => d.name === 'transactions.csv')).toEqual({
      uri: `s3://${DATA}/fraud/transactions.csv`,
      name: 'transactions.csv',
      digest: { sha256: sha256('id,amount\n1,10\n2,20\n') },
      annotations: { versionId: facts.inputs.find((i) => i.name === 'transactions.csv')!.versionId, lastModified: '2026-11-30T06:00:00.000Z' },
    });
    expect(st.predicate.runDetails.metadata).toEqual({ invocationId: TRAIN_ARN, startedOn: START.toISOString(), finishedOn: END.toISOString() });
    expect(st.predicate.runDetails.byproducts.map((b: any) => b.name)).toEqual(['config/params.json', 'weights.bin']);
    expect(st.predicate.buildDefinition.internalParameters).toMatchObject({
      trainImage: IMAGE, trainBuildspecSha256: sha256(TRAIN_BUILDSPEC), trainBuildNumber: 7, sealBuild: SEAL_ARN, trainServiceRole: TRAIN_ROLE,
    });
  });

  describe('refuses', () => {
    const refused = async (aws: FakeAws, reason: RegExp, extra: string[] = []) => {
      const run = await prepare(aws, extra);
      expect(run.error?.message).toMatch(reason);
      expect(run.code).toBe(1);
      // nothing to sign was left behind
      expect(fs.existsSync(path.join(work, 'out', 'build-facts.json'))).toBe(false);
    };
    test('a train build that failed or has not finished', async () => {
      await refused(world({ trainBuild: { buildStatus: 'FAILED' } }), new RegExp(`^train build ${TRAIN_ARN} is not sealed: its status is FAILED, not SUCCEEDED$`));
      await refused(world({ trainBuild: { buildStatus: 'IN_PROGRESS', endTime: undefined } }), /its status is IN_PROGRESS, not SUCCEEDED; it has not finished \(no end time\)/);
    });
    test('a build of another project (a train build id swapped for any build)', async () => {
      const aws = world();
      const other = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:build/Other:${TRAIN_UUID}`;
      aws.builds.set(`Other:${TRAIN_UUID}`, { ...aws.builds.get(`${TRAIN_PROJECT}:${TRAIN_UUID}`)!, id: `Other:${TRAIN_UUID}`, arn: other, projectName: 'Other' });
      await refused(aws, new RegExp(`^train build ${other} is not sealed: it belongs to project Other, not the train project ${TRAIN_PROJECT}`), ['--train-build', other]);
    });
    test('a build started with an image, buildspec or role override, or privileged', async () => {
      await refused(world({ trainBuild: { environment: { ...ENV, image: `${IMAGE.split('@')[0]}@sha256:${'b'.repeat(64)}` } } }),
        /it ran image .*@sha256:b{64}, not the synthesized .*@sha256:a{64} \(an image override\)/);
      await refused(world({ trainBuild: { source: { type: 'NO_SOURCE', buildspec: '{"version":"0.2","phases":{"build":{"commands":["curl evil | sh"]}}}' } } }),
        new RegExp(`its buildspec has SHA-256 [0-9a-f]{64}, not the synthesized ${sha256(TRAIN_BUILDSPEC)} \\(a buildspec override\\)`));
      await refused(world({ trainBuild: { serviceRole: `arn:aws:iam::${ACCOUNT}:role/Stack-RunnerSealRole` } }),
        new RegExp(`it ran as arn:aws:iam::${ACCOUNT}:role/Stack-RunnerSealRole, not the train role ${TRAIN_ROLE}`));
      await refused(world({ trainBuild: { environment: { ...ENV, privilegedMode: true } } }), /it ran in privileged mode/);
    });
    test('a build started with a variable override that is not allowed (here: another staging location)', async () => {
      await refused(world({ env: [{ name: 'MODEL_PATH', type: 'PLAINTEXT', value: 'model' }, { name: 'MODEL_STAGING_URI', type: 'PLAINTEXT', value: 's3://elsewhere/' }] }),
        /it was started with overrides of MODEL_STAGING_URI \(allowed: MODELSEAL_SOURCE_KEY, SERVING_IMAGE_DIGEST\)/);
    });
    test('an image not pinned by digest, unless allowed', async () => {
      const tagged = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/trainer:latest`;
      const aws = () => {
        const w = world({ trainBuild: { environment: { ...ENV, image: tagged } } });
        w.projects.get(TRAIN_PROJECT)!.environment!.image = tagged;
        return w;
      };
      await refused(aws(), /its image .*trainer:latest is not pinned by digest/, ['--train-image', tagged]);
      fs.rmSync(path.join(work, 'out'), { recursive: true, force: true });
      const ok = await prepare(aws(), ['--train-image', tagged, '--allow-unpinned-builder']);
      expect(ok.code).toBe(0);
    });
    test('a staged model that changed after the train build ended (a later build writing into an earlier one\'s prefix)', async () => {
      const aws = world();
      aws.put(STAGING, `${TRAIN_ARN}/model/extra.pkl`, 'evil', T('06:30:05'));
      await refused(aws, new RegExp(`^the staged model of ${TRAIN_ARN} changed after the build ended \\(2026-11-30T06:30:00.700Z\\): ` +
        `${TRAIN_ARN}/model/extra.pkl version v\\d+-[0-9a-f]+ at 2026-11-30T06:30:05.000Z$`));
    });
    test('a staged file hidden by a delete marker after the end', async () => {
      const aws = world();
      aws.deleteMarker(STAGING, `${TRAIN_ARN}/model/weights.bin`, T('06:40:00'));
      await refused(aws, /changed after the build ended .*weights\.bin delete marker dm\d+ at 2026-11-30T06:40:00.000Z/);
    });
    test('inputs that changed while the train build ran: the provenance could not say which version it read', async () => {
      const aws = world();
      aws.put(DATA, 'fraud/transactions.csv', 'changed', T('06:15:00'));
      await refused(aws, /^inputs under s3:\/\/training-data\/fraud\/ changed while the train build ran \(2026-11-30T06:10:00.400Z to 2026-11-30T06:30:00.700Z\).*transactions\.csv version v\d+-[0-9a-f]+ at 2026-11-30T06:15:00.000Z$/);
    });
    test('a train build that staged nothing', async () => {
      const aws = new FakeAws();
      const w = world();
      for (const [k, v] of w.projects) aws.projects.set(k, v);
      for (const [k, v] of w.builds) aws.builds.set(k, v);
      await refused(aws, new RegExp(`^the train build ${TRAIN_ARN} staged no model under s3://${STAGING}/${TRAIN_ARN}/model/$`));
    });
    test('a staged key that would escape the model directory', async () => {
      const aws = world();
      aws.put(STAGING, `${TRAIN_ARN}/model/../../etc/cron.d/x`, 'evil', T('06:29:00'));
      await refused(aws, /key ".*\/model\/\.\.\/\.\.\/etc\/cron\.d\/x" does not name a safe relative file/);
    });
    test('a seal build started with a variable override other than the train build id', async () => {
      const aws = world({ sealEnv: [{ name: 'MODEL_NAME', type: 'PLAINTEXT', value: 'someone-elses-model' }, { name: 'TRAIN_BUILD_ID', type: 'PLAINTEXT', value: TRAIN_ARN }] });
      await refused(aws, new RegExp(`^seal build ${SEAL_ARN} refuses to run: it was started with overrides of MODEL_NAME \\(allowed: TRAIN_BUILD_ID\\)$`));
    });
    test('a train build CodeBuild does not know', async () => {
      await refused(world(), /^CodeBuild does not know build .*:00000000-0000-4000-8000-000000000000 \(BatchGetBuilds: not found\)$/,
        ['--train-build', `${TRAIN_PROJECT}:00000000-0000-4000-8000-000000000000`]);
    });
    test('a serving image digest that is not sha256:<hex>', async () => {
      await refused(world({ env: [...trainEnv, { name: 'SERVING_IMAGE_DIGEST', type: 'PLAINTEXT', value: 'latest; rm -rf /' }] }),
        /SERVING_IMAGE_DIGEST must be sha256:<64 hex>, got "latest; rm -rf \/"/, ['--serving-image-repository', `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/serving`]);
    });
  });

  test('usage errors: missing flags, a non-empty output directory', async () => {
    const aws = world();
    const io = { stdout: { write: () => true }, stderr: { write: () => true } };
    await expect(sealCommand(['prepare', '--train-build', TRAIN_ARN], io, aws.mockClients())).rejects.toThrow('seal prepare needs --train-buildspec-sha256');
    fs.mkdirSync(path.join(work, 'out'));
    fs.writeFileSync(path.join(work, 'out', 'leftover'), 'x');
    const run = await prepare(aws);
    expect(run.code).toBe(2);
    expect(run.error?.message).toMatch(/--out .* is not empty; the model directory is signed as a whole/);
    await expect(sealCommand(['finish'], io, aws.mockClients())).rejects.toThrow('seal: unknown step "finish"; expected prepare');
  });
});

describe('attest provenance', () => {
  let keyFile: string;
  beforeEach(() => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keyFile = path.join(work, 'ci.key.pem');
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  test('refuses a builder image that is not pinned by digest (exit 2), unless --allow-unpinned-builder', async () => {
    const args = ['attest', 'provenance', 'key', '--private-key', keyFile, '--digest', `sha256:${'c'.repeat(64)}`, '--name', 'm',
      '--builder-image', 'python:3.12', '--build-id', 'b1', '--signature', path.join(work, 'p.json')];
    const refusedRun = await runCli(...args);
    expect(refusedRun.code).toBe(2);
    expect(refusedRun.stderr).toContain('provenance: the builder image "python:3.12" is not pinned by digest (<repository>@sha256:<64 hex>)');
    expect(refusedRun.stderr).toContain('pass --allow-unpinned-builder');
    expect(fs.existsSync(path.join(work, 'p.json'))).toBe(false);
    const allowed = await runCli(...args, '--allow-unpinned-builder');
    expect(allowed.code).toBe(0);
    const payload = JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(path.join(work, 'p.json'), 'utf8')).dsseEnvelope.payload, 'base64').toString());
    expect(payload.predicate.buildDefinition.resolvedDependencies[0]).toEqual({
      uri: 'oci://python:3.12', digest: {}, annotations: { warning: 'the build image was not pinned by digest' },
    });
  });

  test('--build-facts signs the sealed provenance; it cannot be mixed with the flags it replaces', async () => {
    await prepare(world());
    const facts = path.join(work, 'out', 'build-facts.json');
    const out = path.join(work, 'prov.json');
    const run = await runCli('attest', 'provenance', 'key', '--private-key', keyFile, '--digest', `sha256:${'c'.repeat(64)}`, '--name', 'fraud-detector',
      '--build-facts', facts, '--signature', out, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, resolvedDependencies: 4 });
    const payload = JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(out, 'utf8')).dsseEnvelope.payload, 'base64').toString());
    expect(payload.predicate.runDetails.builder.id).toBe(`arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${SEAL_PROJECT}`);
    const mixed = await runCli('attest', 'provenance', 'key', '--private-key', keyFile, '--digest', `sha256:${'c'.repeat(64)}`, '--name', 'm',
      '--build-facts', facts, '--builder-image', IMAGE);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('attest provenance key: --build-facts replaces --builder-image; give one or the other');
    fs.writeFileSync(path.join(work, 'bad.json'), JSON.stringify({ _type: 'https://modelseal.dev/build-facts/v1', trainBuild: {} }));
    const bad = await runCli('attest', 'provenance', 'key', '--private-key', keyFile, '--digest', `sha256:${'c'.repeat(64)}`, '--name', 'm',
      '--build-facts', path.join(work, 'bad.json'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.json: trainBuild is not a CodeBuild build record');
  });
});
