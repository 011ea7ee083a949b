/**
 * `modelseal seal prepare ...`: the first step of the hardened runner's seal build. It reads the train build's facts
 * from CodeBuild (`BatchGetBuilds`, `BatchGetProjects`) and refuses a build the seal must not sign for; it downloads
 * the exact object versions the train build staged (as of its end), and resolves every input object version that was
 * current when it started (as of its start), hashing each; it writes the model directory and a build-facts document
 * that `modelseal attest provenance --build-facts` turns into the SLSA provenance. Nothing it records comes from the
 * training code.
 *
 * Exit codes: 0 ready to sign; 1 the train build or its staged model is refused (not successful, overridden, changed
 * after it ended, inputs changed while it ran); 2 bad usage, or CodeBuild or S3 cannot be asked.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { S3Client } from '@aws-sdk/client-s3';
import { UsageError, VerificationError } from '../../codec/errors';
import { BUILD_FACTS_TYPE, BuildFacts, variableOf } from '../../provenance/build-facts';
import { buildFacts, checkOwnBuild, checkTrainBuild, CodeBuildFacts, getBuild, getProject } from '../../provenance/codebuild-facts';
import {
  changedAfter, listVersions, parseS3Location, readVersion, readVersions, ResolvedObject, versionsAsOf,
} from '../../provenance/s3-versions';
import { FlagSpec, parseArgs, printHelp } from '../args';
import type { ProgressStream } from '../progress';

/** The variable the seal trigger sets: the only one a seal build may be started with. */
export const TRAIN_BUILD_VARIABLE = 'TRAIN_BUILD_ID';

const PREPARE_FLAGS: Record<string, FlagSpec> = {
  'train-build': { type: 'string', metavar: 'ID', help: `The train build id or ARN (default: $${TRAIN_BUILD_VARIABLE}).` },
  'train-project': { type: 'string', metavar: 'NAME', help: 'The train project\'s name (required).' },
  'train-image': { type: 'string', metavar: 'IMAGE', help: 'The image the train project was synthesized with (required).' },
  'train-buildspec-sha256': { type: 'string', metavar: 'HEX', help: 'SHA-256 of the synthesized train buildspec (required).' },
  'train-role-arn': { type: 'string', metavar: 'ARN', help: 'The train role; a build that ran with another role is refused.' },
  'allow-override': { type: 'string', multiple: true, metavar: 'NAME', help: 'A variable a train build may be started with (StartBuild override).' },
  'allow-unpinned-builder': { type: 'boolean', help: 'Accept a train image that is not pinned by digest.' },
  'staging': { type: 'string', metavar: 's3://BUCKET/', help: 'The staging location; the model is under <prefix><train build ARN>/model/ (required).' },
  'source': { type: 'string', metavar: 's3://BUCKET/PREFIX/', help: 'The training inputs; each version current at the train start is hashed.' },
  'model-card-input': { type: 'string', metavar: 'NAME', help: 'A file under --source to use as the model card (its version as of the train start).' },
  'serving-image-repository': { type: 'string', metavar: 'URI', help: 'The serving image repository; with the train build\'s SERVING_IMAGE_DIGEST it names the serving image.' },
  'self-build': { type: 'string', metavar: 'ID', help: 'This seal build\'s id ($CODEBUILD_BUILD_ID): checked against its project before anything is read.' },
  'cli-sha256': { type: 'string', metavar: 'HEX', help: 'SHA-256 of the CLI bundle (checked by the buildspec), recorded in the provenance.' },
  'out': { type: 'string', metavar: 'DIR', help: 'Where to write model/, model-card.* and build-facts.json (required; new or empty).' },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region (default: from the environment).' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const HEX = /^[0-9a-f]{64}$/;
const SERVING_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Where the command writes. */
export interface SealCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

/** Clients the command uses (tests inject mocked ones). */
export interface SealClients {
  readonly codebuild?: CodeBuildClient;
  readonly s3?: S3Client;
}

/**
 * Runs `modelseal seal ...` with the arguments after `seal`; returns the exit code.
 *
 * @throws UsageError for bad usage (exit 2); VerificationError when the train build is refused (exit 1)
 */
export async function sealCommand(argv: readonly string[], io: SealCommandIo, clients: SealClients = {}): Promise<number> {
  const what = argv[0];
  if (what === undefined || what === '--help' || what === '-h') {
    io.stdout.write('Usage: modelseal seal prepare --train-project NAME --train-image IMAGE --train-buildspec-sha256 HEX --staging s3://BUCKET/ --out DIR [options]\n');
    return what === undefined ? 2 : 0;
  }
  if (what !== 'prepare') throw new UsageError(`seal: unknown step "${what}"; expected prepare`);
  return prepareCommand(argv.slice(1), io, clients);
}

async function prepareCommand(argv: readonly string[], io: SealCommandIo, clients: SealClients): Promise<number> {
  const args = parseArgs(argv, PREPARE_FLAGS, 'seal prepare');
  const f = args.flags;
  if (f.help) {
    return printHelp(io.stdout, 'seal prepare --train-project NAME --train-image IMAGE --train-buildspec-sha256 HEX --staging s3://BUCKET/ --out DIR [options]',
      'Check a train build with CodeBuild, download the exact model versions it staged, and resolve the versions of its inputs as of its start.', PREPARE_FLAGS);
  }
  if (args.positionals.length > 0) throw new UsageError(`seal prepare takes no positional arguments; got ${args.positionals.join(' ')}`);
  const need = (flag: string): string => {
    const v = f[flag] as string | undefined;
    if (!v) throw new UsageError(`seal prepare needs --${flag}`);
    return v;
  };
  const trainBuildId = (f['train-build'] as string | undefined) || process.env[TRAIN_BUILD_VARIABLE];
  if (!trainBuildId) throw new UsageError(`seal prepare needs --train-build or $${TRAIN_BUILD_VARIABLE}`);
  const buildspecSha256 = need('train-buildspec-sha256');
  if (!HEX.test(buildspecSha256)) throw new UsageError(`seal prepare: --train-buildspec-sha256 must be 64 lower-case hex, got ${JSON.stringify(buildspecSha256)}`);
  const cliSha256 = f['cli-sha256'] as string | undefined;
  if (cliSha256 !== undefined && !HEX.test(cliSha256)) throw new UsageError(`seal prepare: --cli-sha256 must be 64 lower-case hex, got ${JSON.stringify(cliSha256)}`);
  const staging = parseS3Location(need('staging'), '--staging');
  const source = f.source ? parseS3Location(f.source as string, '--source') : undefined;
  const cardName = f['model-card-input'] as string | undefined;
  if (cardName !== undefined && !source) throw new UsageError('seal prepare: --model-card-input names a file under --source, which is not given');
  const out = path.resolve(need('out'));
  const modelDir = path.join(out, 'model');
  await prepareOutDir(out);

  const region = f.region as string | undefined;
  const codebuild = clients.codebuild ?? new CodeBuildClient(region ? { region } : {});
  const s3 = clients.s3 ?? new S3Client({ ...(region ? { region } : {}), followRegionRedirects: true });

  // 1. the seal build itself: no variable overrides beyond the trigger's
  let sealBuild: CodeBuildFacts | undefined;
  const self = f['self-build'] as string | undefined;
  if (self) {
    const own = await getBuild(codebuild, self);
    sealBuild = checkOwnBuild(own, await getProject(codebuild, own.projectName ?? ''), [TRAIN_BUILD_VARIABLE]);
  }

  // 2. the train build, as CodeBuild reports it
  const trainProject = need('train-project');
  const train = buildFacts(await getBuild(codebuild, trainBuildId), await getProject(codebuild, trainProject));
  checkTrainBuild(train, {
    project: trainProject,
    image: need('train-image'),
    buildspecSha256,
    serviceRoleArn: (f['train-role-arn'] as string | undefined) || undefined,
    allowedOverrides: (f['allow-override'] as string[] | undefined) ?? [],
    allowUnpinnedImage: f['allow-unpinned-builder'] === true,
  });
  const started = new Date(train.startTime);
  const ended = new Date(train.endTime!);

  // 3. the staged model: the versions current when the train build ended; nothing may have changed since
  const stagedPrefix = `${staging.prefix}${train.arn}/model/`;
  const staged = await listVersions(s3, staging.bucket, stagedPrefix);
  const late = changedAfter(staged, ended);
  if (late.length > 0) {
    throw new VerificationError(`the staged model of ${train.arn} changed after the build ended (${train.endTime}): ` +
      `${late.map((v) => `${v.key} ${v.isDeleteMarker ? 'delete marker' : 'version'} ${v.versionId} at ${v.lastModified.toISOString()}`).join('; ')}`);
  }
  const stagedVersions = versionsAsOf(staged, ended);
  if (stagedVersions.length === 0) {
    throw new VerificationError(`the train build ${train.arn} staged no model under s3://${staging.bucket}/${stagedPrefix}`);
  }
  const files = await readVersions(s3, staging.bucket, stagedVersions, stagedPrefix, modelDir);

  // 4. the inputs: the versions current when the train build started; none may have changed while it ran
  let inputs: ResolvedObject[] = [];
  let modelCard: ResolvedObject | undefined;
  if (source) {
    const all = await listVersions(s3, source.bucket, source.prefix);
    const changed = changedAfter(all, started, ended);
    if (changed.length > 0) {
      throw new VerificationError(`inputs under s3://${source.bucket}/${source.prefix} changed while the train build ran ` +
        `(${train.startTime} to ${train.endTime}), so the provenance could not say which version it read: ` +
        `${changed.map((v) => `${v.key} ${v.isDeleteMarker ? 'delete marker' : 'version'} ${v.versionId} at ${v.lastModified.toISOString()}`).join('; ')}`);
    }
    const asOfStart = versionsAsOf(all, started);
    inputs = await readVersions(s3, source.bucket, asOfStart, source.prefix);
    if (cardName !== undefined) {
      const card = asOfStart.find((v) => v.key === `${source.prefix}${cardName}`);
      if (!card) throw new VerificationError(`the model card ${cardName} was not under s3://${source.bucket}/${source.prefix} when the train build started`);
      modelCard = await readVersion(s3, source.bucket, card, source.prefix, path.join(out, `model-card${path.extname(cardName) || '.yaml'}`));
    }
  }

  // 5. the serving image the train build was started with, if any
  let servingImage: string | undefined;
  const repository = f['serving-image-repository'] as string | undefined;
  const servingDigest = variableOf(train, 'SERVING_IMAGE_DIGEST');
  if (servingDigest !== undefined) {
    if (!SERVING_DIGEST.test(servingDigest)) {
      throw new VerificationError(`train build ${train.arn}: SERVING_IMAGE_DIGEST must be sha256:<64 hex>, got ${JSON.stringify(servingDigest)}`);
    }
    if (!repository) throw new VerificationError(`train build ${train.arn} names a serving image digest, but the runner has no serving-image repository`);
    servingImage = `${repository}@${servingDigest}`;
  }

  const facts: BuildFacts = {
    _type: BUILD_FACTS_TYPE,
    trainBuild: train,
    ...(sealBuild ? { sealBuild } : {}),
    ...(source ? { source: `s3://${source.bucket}/${source.prefix}` } : {}),
    inputs,
    stagedModel: { uri: `s3://${staging.bucket}/${stagedPrefix}`, files },
    ...(modelCard ? { modelCard } : {}),
    ...(servingImage ? { servingImage } : {}),
    ...(cliSha256 ? { cliSha256 } : {}),
  };
  const factsFile = path.join(out, 'build-facts.json');
  await fs.writeFile(factsFile, JSON.stringify(facts, null, 2) + '\n', { flag: 'wx' });

  const bytes = files.reduce((n, x) => n + x.size, 0);
  if (f.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'seal prepare',
      trainBuild: train.arn,
      buildNumber: train.buildNumber,
      modelDir,
      files: files.length,
      bytes,
      inputs: inputs.length,
      buildFacts: factsFile,
      ...(modelCard ? { modelCard: path.join(out, `model-card${path.extname(cardName!) || '.yaml'}`) } : {}),
      ...(servingImage ? { servingImage } : {}),
    }) + '\n');
  } else {
    io.stdout.write(`train build ${train.arn} (#${train.buildNumber}) accepted: ${files.length} staged files (${bytes} bytes) in ${modelDir}, ` +
      `${inputs.length} inputs resolved as of ${train.startTime}; facts in ${factsFile}\n`);
  }
  return 0;
}

/** The output directory must be new or empty: the model directory is signed as a whole. */
async function prepareOutDir(out: string): Promise<void> {
  try {
    const entries = await fs.readdir(out);
    if (entries.length > 0) throw new UsageError(`seal prepare: --out ${out} is not empty; the model directory is signed as a whole, so it must start empty`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`seal prepare: cannot read --out ${out}: ${(e as Error).message}`);
    await fs.mkdir(out, { recursive: true });
  }
}
