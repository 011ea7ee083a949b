/**
 * The build-facts document the seal step writes (`modelseal seal prepare`) and the provenance command reads
 * (`modelseal attest provenance --build-facts`): what CodeBuild says about the train build, the input versions that
 * were current when it started, the staged model versions the seal hashed. Everything in it comes from CodeBuild and
 * S3 answers, read inside the seal build, never from the training.
 */
import { promises as fs } from 'fs';
import type { BuildVariable, CodeBuildFacts } from './codebuild-facts';
import type { ResolvedObject } from './s3-versions';
import { UsageError } from '../codec/errors';
import { isJsonObject } from '../codec/json';

/** The `_type` of a build-facts document. */
export const BUILD_FACTS_TYPE = 'https://modelseal.dev/build-facts/v1';

/** The build-facts document. */
export interface BuildFacts {
  readonly _type: typeof BUILD_FACTS_TYPE;
  /** The train build, from BatchGetBuilds. */
  readonly trainBuild: CodeBuildFacts;
  /** The seal's own build, from BatchGetBuilds (when the seal ran in CodeBuild). */
  readonly sealBuild?: CodeBuildFacts;
  /** Where the inputs came from, `s3://bucket/prefix/`. */
  readonly source?: string;
  /** Every input object that was current when the train build started: key, version id, SHA-256. */
  readonly inputs: readonly ResolvedObject[];
  /** The staged model: the exact versions the seal downloaded and signed. */
  readonly stagedModel: { readonly uri: string; readonly files: readonly ResolvedObject[] };
  /** The model card the SBOM was built from, when it is one of the inputs. */
  readonly modelCard?: ResolvedObject;
  /** The serving image named by the train build's `SERVING_IMAGE_DIGEST`, `<repository>@sha256:<hex>`. */
  readonly servingImage?: string;
  /** Hex SHA-256 of the modelseal CLI bundle the seal ran (checked before it ran). */
  readonly cliSha256?: string;
}

const HEX = /^[0-9a-f]{64}$/;

function fail(file: string, problem: string): never {
  throw new UsageError(`build facts ${file}: ${problem}`);
}

function checkResolved(file: string, what: string, v: unknown): void {
  if (!isJsonObject(v) || typeof v.uri !== 'string' || typeof v.name !== 'string' || typeof v.versionId !== 'string' ||
    typeof v.sha256 !== 'string' || !HEX.test(v.sha256) || typeof v.size !== 'number' || typeof v.lastModified !== 'string') {
    fail(file, `${what} must be {uri, name, versionId, lastModified, size, sha256}, got ${JSON.stringify(v)}`);
  }
}

function checkBuild(file: string, what: string, v: unknown): void {
  if (!isJsonObject(v) || typeof v.arn !== 'string' || typeof v.id !== 'string' || typeof v.project !== 'string' ||
    typeof v.projectArn !== 'string' || typeof v.buildNumber !== 'number' || typeof v.image !== 'string' ||
    typeof v.startTime !== 'string' || !Array.isArray(v.environmentVariables) || !Array.isArray(v.overrides)) {
    fail(file, `${what} is not a CodeBuild build record (arn, id, project, projectArn, buildNumber, image, startTime, environmentVariables, overrides)`);
  }
}

/**
 * Reads and checks a build-facts document.
 *
 * @throws UsageError naming the file and the first field that is missing or malformed
 */
export async function readBuildFacts(file: string): Promise<BuildFacts> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read build facts ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(file, `not JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(doc) || doc._type !== BUILD_FACTS_TYPE) fail(file, `_type must be ${BUILD_FACTS_TYPE}`);
  checkBuild(file, 'trainBuild', doc.trainBuild);
  if (doc.sealBuild !== undefined) checkBuild(file, 'sealBuild', doc.sealBuild);
  if (!Array.isArray(doc.inputs)) fail(file, 'inputs must be an array');
  doc.inputs.forEach((v, i) => checkResolved(file, `inputs[${i}]`, v));
  if (!isJsonObject(doc.stagedModel) || typeof doc.stagedModel.uri !== 'string' || !Array.isArray(doc.stagedModel.files)) {
    fail(file, 'stagedModel must be {uri, files}');
  }
  (doc.stagedModel.files as unknown[]).forEach((v, i) => checkResolved(file, `stagedModel.files[${i}]`, v));
  if (doc.modelCard !== undefined) checkResolved(file, 'modelCard', doc.modelCard);
  if (doc.servingImage !== undefined && (typeof doc.servingImage !== 'string' || !/@sha256:[0-9a-f]{64}$/.test(doc.servingImage))) {
    fail(file, `servingImage must be <repository>@sha256:<64 hex>, got ${JSON.stringify(doc.servingImage)}`);
  }
  if (doc.cliSha256 !== undefined && (typeof doc.cliSha256 !== 'string' || !HEX.test(doc.cliSha256))) fail(file, 'cliSha256 must be 64 hex');
  return doc as unknown as BuildFacts;
}

/** The value of a plain-text variable of a build, if it has one. */
export function variableOf(build: CodeBuildFacts, name: string): string | undefined {
  const v = build.environmentVariables.find((e: BuildVariable) => e.name === name);
  return v && v.type === 'PLAINTEXT' && v.value !== '' ? v.value : undefined;
}
