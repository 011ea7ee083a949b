/**
 * What CodeBuild itself says about a build (`BatchGetBuilds`) and its project (`BatchGetProjects`): the facts the
 * seal step records in the provenance and checks before it signs, never anything the build wrote.
 *
 * @see https://docs.aws.amazon.com/codebuild/latest/APIReference/API_BatchGetBuilds.html
 * @see https://docs.aws.amazon.com/codebuild/latest/APIReference/API_Build.html
 */
import { createHash } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { BatchGetBuildsCommand, BatchGetProjectsCommand, type Build, CodeBuildClient, type EnvironmentVariable, type Project } from '@aws-sdk/client-codebuild';
import { UsageError, VerificationError } from '../codec/errors';

/** An environment variable of a build: a plain value, or the name of a parameter or secret (never its value). */
export interface BuildVariable {
  readonly name: string;
  /** `PLAINTEXT`, `PARAMETER_STORE` or `SECRETS_MANAGER`. */
  readonly type: string;
  /** The value for `PLAINTEXT`; the parameter name or secret reference otherwise. */
  readonly value: string;
}

/** The facts of one CodeBuild build, as CodeBuild reports them. */
export interface CodeBuildFacts {
  /** `<project>:<uuid>` */
  readonly id: string;
  /** `arn:<partition>:codebuild:<region>:<account>:build/<project>:<uuid>` */
  readonly arn: string;
  readonly project: string;
  /** `arn:<partition>:codebuild:<region>:<account>:project/<project>` */
  readonly projectArn: string;
  readonly buildNumber: number;
  readonly status: string;
  /** Who started the build: an IAM principal, or `codebuild-<...>`/an EventBridge rule role for automatic starts. */
  readonly initiator?: string;
  readonly image: string;
  readonly environmentType?: string;
  readonly computeType?: string;
  readonly privilegedMode: boolean;
  readonly serviceRole?: string;
  /** Hex SHA-256 of the buildspec the build ran (inline buildspecs), as CodeBuild returns it. */
  readonly buildspecSha256?: string;
  readonly sourceType?: string;
  readonly sourceLocation?: string;
  readonly sourceVersion?: string;
  readonly resolvedSourceVersion?: string;
  /** ISO 8601 */
  readonly startTime: string;
  /** ISO 8601; absent while the build runs. */
  readonly endTime?: string;
  readonly environmentVariables: readonly BuildVariable[];
  /** Variables whose value differs from the project's definition: StartBuild overrides. */
  readonly overrides: readonly string[];
}

/** What the seal step requires of the train build before it signs anything. */
export interface TrainBuildExpectations {
  /** The train project's name. */
  readonly project: string;
  /** The image the train project was synthesized with, exactly. */
  readonly image: string;
  /** Hex SHA-256 of the train buildspec as synthesized. */
  readonly buildspecSha256: string;
  /** The train role's ARN; a build that ran with another role (a serviceRoleOverride) is refused. @default - not checked */
  readonly serviceRoleArn?: string;
  /** Variables a train build may be started with (StartBuild overrides); any other override is refused. */
  readonly allowedOverrides: readonly string[];
  /** Accept a build whose image is not pinned by digest. @default false */
  readonly allowUnpinnedImage?: boolean;
}

const BUILD_ARN = /^arn:(aws[a-z-]*):codebuild:([a-z0-9-]+):(\d{12}):build\/([A-Za-z0-9][A-Za-z0-9_-]{1,254}):([0-9a-f-]{36})$/;
const PINNED = /@sha256:[0-9a-f]{64}$/;

/** Hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads one build with `BatchGetBuilds`.
 *
 * @param id a build id (`<project>:<uuid>`) or a build ARN
 * @throws VerificationError when CodeBuild does not know the build; UsageError when it cannot be asked
 */
export async function getBuild(client: CodeBuildClient, id: string): Promise<Build> {
  let res;
  try {
    res = await client.send(new BatchGetBuildsCommand({ ids: [id] }));
  } catch (e) {
    throw new UsageError(`cannot read build ${id} with codebuild:BatchGetBuilds: ${(e as Error).name}: ${(e as Error).message}`);
  }
  const build = (res.builds ?? []).find((b) => b.id === id || b.arn === id);
  if (!build) throw new VerificationError(`CodeBuild does not know build ${id} (BatchGetBuilds: not found)`);
  return build;
}

/**
 * Reads one project with `BatchGetProjects`.
 *
 * @throws VerificationError when CodeBuild does not know the project; UsageError when it cannot be asked
 */
export async function getProject(client: CodeBuildClient, name: string): Promise<Project> {
  let res;
  try {
    res = await client.send(new BatchGetProjectsCommand({ names: [name] }));
  } catch (e) {
    throw new UsageError(`cannot read project ${name} with codebuild:BatchGetProjects: ${(e as Error).name}: ${(e as Error).message}`);
  }
  const project = (res.projects ?? []).find((p) => p.name === name || p.arn === name);
  if (!project) throw new VerificationError(`CodeBuild does not know project ${name} (BatchGetProjects: not found)`);
  return project;
}

function variables(vars: readonly EnvironmentVariable[] | undefined): BuildVariable[] {
  return (vars ?? []).map((v) => ({ name: v.name ?? '', type: v.type ?? 'PLAINTEXT', value: v.value ?? '' }));
}

/** The facts of `build`; `project` is its project's definition, against which overrides are found. */
export function buildFacts(build: Build, project: Project): CodeBuildFacts {
  const where = `build ${build.id ?? build.arn ?? '(no id)'}`;
  const arn = build.arn ?? '';
  const m = BUILD_ARN.exec(arn);
  if (!m) throw new VerificationError(`${where}: CodeBuild returned the build ARN ${JSON.stringify(arn)}, not arn:<partition>:codebuild:<region>:<account>:build/<project>:<uuid>`);
  if (!(build.startTime instanceof Date)) throw new VerificationError(`${where}: CodeBuild returned no start time`);
  if (typeof build.buildNumber !== 'number') throw new VerificationError(`${where}: CodeBuild returned no build number`);
  const env = variables(build.environment?.environmentVariables);
  const defined = new Map(variables(project.environment?.environmentVariables).map((v) => [v.name, v]));
  const overrides = env.filter((v) => {
    const d = defined.get(v.name);
    return !d || d.value !== v.value || d.type !== v.type;
  }).map((v) => v.name).sort();
  return {
    id: build.id ?? `${m[4]}:${m[5]}`,
    arn,
    project: build.projectName ?? m[4],
    projectArn: `arn:${m[1]}:codebuild:${m[2]}:${m[3]}:project/${m[4]}`,
    buildNumber: build.buildNumber,
    status: build.buildStatus ?? 'UNKNOWN',
    ...(build.initiator ? { initiator: build.initiator } : {}),
    image: build.environment?.image ?? '',
    ...(build.environment?.type ? { environmentType: build.environment.type } : {}),
    ...(build.environment?.computeType ? { computeType: build.environment.computeType } : {}),
    privilegedMode: build.environment?.privilegedMode === true,
    ...(build.serviceRole ? { serviceRole: build.serviceRole } : {}),
    ...(build.source?.buildspec !== undefined ? { buildspecSha256: sha256Text(build.source.buildspec) } : {}),
    ...(build.source?.type ? { sourceType: build.source.type } : {}),
    ...(build.source?.location ? { sourceLocation: build.source.location } : {}),
    ...(build.sourceVersion ? { sourceVersion: build.sourceVersion } : {}),
    ...(build.resolvedSourceVersion ? { resolvedSourceVersion: build.resolvedSourceVersion } : {}),
    startTime: build.startTime.toISOString(),
    ...(build.endTime instanceof Date ? { endTime: build.endTime.toISOString() } : {}),
    environmentVariables: env,
    overrides,
  };
}

/**
 * Checks that the train build is one the seal may sign for: a finished, successful build of the train project, with
 * the synthesized image and buildspec, the train role, no privileged mode, and no StartBuild override beyond the
 * allowed variables.
 *
 * @throws VerificationError naming the build and every requirement it misses
 */
export function checkTrainBuild(facts: CodeBuildFacts, expect: TrainBuildExpectations): void {
  const problems: string[] = [];
  if (facts.project !== expect.project) problems.push(`it belongs to project ${facts.project}, not the train project ${expect.project}`);
  if (facts.status !== 'SUCCEEDED') problems.push(`its status is ${facts.status}, not SUCCEEDED`);
  if (!facts.endTime) problems.push('it has not finished (no end time)');
  if (facts.image !== expect.image) problems.push(`it ran image ${facts.image}, not the synthesized ${expect.image} (an image override)`);
  if (!PINNED.test(facts.image) && !expect.allowUnpinnedImage) problems.push(`its image ${facts.image} is not pinned by digest`);
  if (facts.buildspecSha256 !== expect.buildspecSha256) {
    problems.push(`its buildspec has SHA-256 ${facts.buildspecSha256 ?? '(none)'}, not the synthesized ${expect.buildspecSha256} (a buildspec override)`);
  }
  if (expect.serviceRoleArn && facts.serviceRole !== expect.serviceRoleArn) {
    problems.push(`it ran as ${facts.serviceRole ?? '(no role)'}, not the train role ${expect.serviceRoleArn}`);
  }
  if (facts.privilegedMode) problems.push('it ran in privileged mode');
  const refused = facts.overrides.filter((n) => !expect.allowedOverrides.includes(n));
  if (refused.length > 0) {
    problems.push(`it was started with overrides of ${refused.join(', ')} (allowed: ${expect.allowedOverrides.join(', ') || 'none'})`);
  }
  if (problems.length > 0) {
    throw new VerificationError(`train build ${facts.arn || facts.id} is not sealed: ${problems.join('; ')}`);
  }
}

/**
 * Checks the seal build's own definition: its buildspec and image are its project's, and the only variable that
 * differs from the project is the one the trigger sets (the train build id). A seal build started with other
 * overrides stops here, before it reads or signs anything.
 *
 * (A buildspec or image override would replace or wrap this very check, which is why the construct also keeps
 * StartBuild on the seal project to its trigger role: this check is the second line, for variable overrides.)
 *
 * @throws VerificationError naming every difference
 */
export function checkOwnBuild(build: Build, project: Project, allowedOverrides: readonly string[]): CodeBuildFacts {
  const facts = buildFacts(build, project);
  const problems: string[] = [];
  if (facts.project !== project.name) problems.push(`it belongs to project ${facts.project}, not ${project.name}`);
  if ((build.source?.buildspec ?? '') !== (project.source?.buildspec ?? '')) problems.push('its buildspec differs from its project\'s');
  if ((build.environment?.image ?? '') !== (project.environment?.image ?? '')) problems.push(`its image ${facts.image} differs from its project's`);
  const refused = facts.overrides.filter((n) => !allowedOverrides.includes(n));
  if (refused.length > 0) problems.push(`it was started with overrides of ${refused.join(', ')} (allowed: ${allowedOverrides.join(', ')})`);
  if (problems.length > 0) throw new VerificationError(`seal build ${facts.arn} refuses to run: ${problems.join('; ')}`);
  return facts;
}
