/**
 * The SLSA v1 provenance attestation of a model build: which builder, running which image, turned which inputs into
 * the model whose OMS root digest is the statement's subject.
 *
 * @see https://slsa.dev/spec/v1.0/provenance
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { BuildFacts, variableOf } from './build-facts';
import type { ResolvedObject } from './s3-versions';
import { isHexDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';
import { STATEMENT_TYPE } from '../codec/statement';
import { hashModel } from '../engine/hashing';
import { signStatement, SignedStatement } from '../engine/sign-statement';
import type { Signer } from '../engine/signer';

/** The in-toto predicate type of SLSA provenance v1. */
export const SLSA_PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/** The build type ModelSeal's hardened runner records; its external parameters are documented in docs/PROVENANCE.md. */
export const MODELSEAL_BUILD_TYPE = 'https://modelseal.dev/build/hardened-runner/v1';

/** The builder id of the hardened CodeBuild runner. */
export const MODELSEAL_BUILDER_ID = 'https://modelseal.dev/builders/codebuild-hardened-runner/v1';

/**
 * The build type of a model trained by one CodeBuild build and sealed by another (`HardenedBuildRunner`): the
 * external and internal parameters and the dependencies it records are documented in docs/PROVENANCE.md.
 */
export const MODELSEAL_SEALED_BUILD_TYPE = 'https://modelseal.dev/build/codebuild-train-seal/v1';

const IMAGE_WITH_DIGEST = /^(?<repo>[^@\s]+)@sha256:(?<digest>[a-f0-9]{64})$/;

/**
 * Refuses a builder image that is not pinned by digest, unless the caller accepts it: a tag can be moved to other
 * bytes after review, so the provenance would name an image nobody checked.
 *
 * @throws UsageError naming the image and the flag that accepts it
 */
export function requirePinnedImage(image: string, allowUnpinned: boolean | undefined, what = 'the builder image'): void {
  if (!IMAGE_WITH_DIGEST.test(image) && !allowUnpinned) {
    throw new UsageError(`provenance: ${what} ${JSON.stringify(image)} is not pinned by digest (<repository>@sha256:<64 hex>): ` +
      'a tag can be moved to other bytes after review, so the provenance would name an image nobody checked; ' +
      'pin it, or pass --allow-unpinned-builder to record it with a warning');
  }
}

/** The resource descriptor of an image: `oci://<repository>` with its digest, or, unpinned, with a warning. */
function imageDescriptor(image: string, name?: string): ResourceDescriptor {
  const m = IMAGE_WITH_DIGEST.exec(image);
  return m?.groups
    ? { uri: `oci://${m.groups.repo}`, ...(name ? { name } : {}), digest: { sha256: m.groups.digest } }
    : { uri: `oci://${image}`, ...(name ? { name } : {}), digest: {}, annotations: { warning: 'the build image was not pinned by digest' } };
}

/** Inputs of {@link buildProvenance}. */
export interface ProvenanceOptions {
  /** The model's OMS root digest (64 lower-case hex). */
  readonly rootDigest: string;
  /** The subject name (the model's name). */
  readonly subjectName: string;
  /** The build image, `repo@sha256:<digest>` (a tag is recorded without a digest, and says so). */
  readonly builderImage: string;
  /** The build's id (the CodeBuild build ARN). */
  readonly buildId: string;
  /** Where the training inputs came from (e.g. `s3://bucket/prefix/`), recorded as an external parameter. */
  readonly source?: string;
  /** The object key whose upload started the build, recorded as an external parameter. */
  readonly triggerKey?: string;
  /** The directory holding the training inputs; every file becomes a resolved dependency with its SHA-256. */
  readonly inputDir?: string;
  /** When the build started. @default - not recorded */
  readonly startedOn?: Date;
  /** When the build finished. @default - now */
  readonly finishedOn?: Date;
  /** Record a builder image that is not pinned by digest (with a warning) instead of refusing it. @default false */
  readonly allowUnpinnedBuilder?: boolean;
}

/** A SLSA ResourceDescriptor. */
export interface ResourceDescriptor {
  readonly uri?: string;
  readonly name?: string;
  readonly digest?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/**
 * Builds the SLSA v1 provenance statement for a model build.
 *
 * Every training input under `inputDir` is hashed (with the same streaming, parallel hashing as the model) and listed
 * in `resolvedDependencies`, together with the builder image by digest, so a reviewer can tell exactly which data and
 * which toolchain produced the model.
 *
 * @throws UsageError for a malformed digest, an unpinned builder image (unless allowed) or an unreadable input directory
 */
export async function buildProvenance(opts: ProvenanceOptions): Promise<Record<string, unknown>> {
  checkRootDigest(opts.rootDigest);
  if (!opts.buildId.trim()) {
    throw new UsageError('provenance: --build-id must not be empty');
  }
  requirePinnedImage(opts.builderImage, opts.allowUnpinnedBuilder);
  const dependencies: ResourceDescriptor[] = [];
  const image = imageDescriptor(opts.builderImage);
  dependencies.push(image);
  if (opts.inputDir) {
    dependencies.push(...await inputDescriptors(opts.inputDir, opts.source));
  }
  return statementOf(opts.rootDigest, opts.subjectName, {
    buildDefinition: {
      buildType: MODELSEAL_BUILD_TYPE,
      externalParameters: {
        modelName: opts.subjectName,
        ...(opts.source ? { source: opts.source } : {}),
        ...(opts.triggerKey ? { triggerKey: opts.triggerKey } : {}),
      },
      internalParameters: { builderImage: opts.builderImage },
      resolvedDependencies: dependencies,
    },
    runDetails: {
      builder: { id: MODELSEAL_BUILDER_ID, builderDependencies: [image] },
      metadata: {
        invocationId: opts.buildId,
        ...(opts.startedOn ? { startedOn: opts.startedOn.toISOString() } : {}),
        finishedOn: (opts.finishedOn ?? new Date()).toISOString(),
      },
    },
  });
}

/** Inputs of {@link buildSealedProvenance}. */
export interface SealedProvenanceOptions {
  /** The model's OMS root digest (64 lower-case hex). */
  readonly rootDigest: string;
  /** The subject name (the model's name). */
  readonly subjectName: string;
  /** What CodeBuild and S3 said, read by the seal step. */
  readonly facts: BuildFacts;
  /**
   * The builder id: the seal project's ARN.
   *
   * @default - the seal build's project ARN from the facts
   */
  readonly builderId?: string;
  /** The modelseal version that sealed the build. */
  readonly toolVersion?: string;
  /** Record a train image that is not pinned by digest (with a warning) instead of refusing it. @default false */
  readonly allowUnpinnedBuilder?: boolean;
}

/**
 * Builds the SLSA v1 provenance of a model trained by one CodeBuild build and sealed by another, from the facts the
 * seal read itself: `builder.id` is the seal project, the build definition names the train project, its image (by
 * digest) and buildspec digest, and every input object version that was current when the train build started
 * (`resolvedDependencies`, each with its S3 version id and SHA-256); `runDetails.metadata` is the train build's id and
 * times; the staged model versions the seal hashed are the byproducts.
 *
 * @throws UsageError for a malformed digest, a missing builder id or an unpinned train image (unless allowed)
 * @see https://slsa.dev/spec/v1.0/provenance
 */
export function buildSealedProvenance(opts: SealedProvenanceOptions): Record<string, unknown> {
  checkRootDigest(opts.rootDigest);
  const { trainBuild, sealBuild } = opts.facts;
  const builderId = opts.builderId ?? sealBuild?.projectArn;
  if (!builderId) {
    throw new UsageError('provenance: the builder id (the seal project ARN) is unknown: the build facts have no seal build; pass --builder-id');
  }
  requirePinnedImage(trainBuild.image, opts.allowUnpinnedBuilder, 'the train build image');
  const overrides = Object.fromEntries(trainBuild.overrides.map((n) => [n, variableOf(trainBuild, n) ?? '']));
  const triggerKey = variableOf(trainBuild, 'MODELSEAL_SOURCE_KEY');
  const dependencies: ResourceDescriptor[] = [
    imageDescriptor(trainBuild.image, 'train-image'),
    ...opts.facts.inputs.map((o) => s3Descriptor(o)),
  ];
  const builderDependencies: ResourceDescriptor[] = [
    ...(sealBuild ? [sealBuild.image.includes('@sha256:') ? imageDescriptor(sealBuild.image, 'seal-image')
      : { uri: `codebuild-image:${sealBuild.image}`, name: 'seal-image', annotations: { note: 'an AWS-managed CodeBuild image, named by CodeBuild' } }] : []),
    ...(opts.facts.cliSha256 ? [{ uri: 'modelseal-cli.js', name: 'modelseal-cli', digest: { sha256: opts.facts.cliSha256 } }] : []),
  ];
  return statementOf(opts.rootDigest, opts.subjectName, {
    buildDefinition: {
      buildType: MODELSEAL_SEALED_BUILD_TYPE,
      externalParameters: {
        modelName: opts.subjectName,
        trainProject: trainBuild.projectArn,
        ...(opts.facts.source ? { source: opts.facts.source } : {}),
        ...(triggerKey ? { triggerKey } : {}),
        ...(opts.facts.servingImage ? { servingImage: opts.facts.servingImage } : {}),
        ...(trainBuild.overrides.length > 0 ? { overrides } : {}),
      },
      internalParameters: {
        trainImage: trainBuild.image,
        ...(trainBuild.buildspecSha256 ? { trainBuildspecSha256: trainBuild.buildspecSha256 } : {}),
        trainBuildNumber: trainBuild.buildNumber,
        ...(trainBuild.initiator ? { trainInitiator: trainBuild.initiator } : {}),
        ...(trainBuild.serviceRole ? { trainServiceRole: trainBuild.serviceRole } : {}),
        ...(trainBuild.resolvedSourceVersion ? { trainResolvedSourceVersion: trainBuild.resolvedSourceVersion } : {}),
        ...(sealBuild ? { sealBuild: sealBuild.arn } : {}),
        ...(opts.facts.modelCard ? { modelCard: s3Descriptor(opts.facts.modelCard) } : {}),
      },
      resolvedDependencies: dependencies,
    },
    runDetails: {
      builder: {
        id: builderId,
        builderDependencies,
        ...(opts.toolVersion ? { version: { modelseal: opts.toolVersion } } : {}),
      },
      metadata: {
        invocationId: trainBuild.arn,
        startedOn: trainBuild.startTime,
        ...(trainBuild.endTime ? { finishedOn: trainBuild.endTime } : {}),
      },
      byproducts: opts.facts.stagedModel.files.map((o) => s3Descriptor(o)),
    },
  });
}

/** An S3 object version as a resource descriptor: `s3://bucket/key`, its SHA-256, its version id and date. */
function s3Descriptor(o: ResolvedObject): ResourceDescriptor {
  return { uri: o.uri, name: o.name, digest: { sha256: o.sha256 }, annotations: { versionId: o.versionId, lastModified: o.lastModified } };
}

/** @throws UsageError unless `root` is 64 lower-case hex characters */
function checkRootDigest(root: string): void {
  if (!isHexDigest(root)) throw new UsageError(`provenance: the root digest must be 64 lower-case hex characters, got '${root}'`);
}

/** An in-toto Statement v1 with the SLSA provenance predicate, over one subject (the model and its root digest). */
function statementOf(rootDigest: string, subjectName: string, predicate: Record<string, unknown>): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName, digest: { sha256: rootDigest } }],
    predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
    predicate,
  };
}

/** Builds the sealed provenance statement and signs it into a Sigstore bundle with `signer`. */
export async function attestSealedProvenance(
  signer: Signer, opts: SealedProvenanceOptions,
): Promise<SignedStatement & { statement: Record<string, unknown> }> {
  const statement = buildSealedProvenance(opts);
  return { ...(await signStatement(statement, signer)), statement };
}

/** Builds the provenance statement and signs it into a Sigstore bundle with `signer`. */
export async function attestProvenance(signer: Signer, opts: ProvenanceOptions): Promise<SignedStatement & { statement: Record<string, unknown> }> {
  const statement = await buildProvenance(opts);
  return { ...(await signStatement(statement, signer)), statement };
}

async function inputDescriptors(inputDir: string, source: string | undefined): Promise<ResourceDescriptor[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(inputDir);
  } catch (e) {
    throw new UsageError(`provenance: cannot read the input directory ${inputDir}: ${(e as Error).message}`);
  }
  if (entries.length === 0) return [];
  const manifest = await hashModel(inputDir, { ignoreGitPaths: true });
  const base = source ? source.replace(/\/?$/, '/') : `file://${path.resolve(inputDir)}/`;
  return manifest.resources.map((r) => ({ uri: `${base}${r.name}`, name: r.name, digest: { sha256: r.digest } }));
}
