/**
 * The SLSA v1 provenance attestation of a model build: which builder, running which image, turned which inputs into
 * the model whose OMS root digest is the statement's subject.
 *
 * @see https://slsa.dev/spec/v1.0/provenance
 */
import { promises as fs } from 'fs';
import * as path from 'path';
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

const IMAGE_WITH_DIGEST = /^(?<repo>[^@\s]+)@sha256:(?<digest>[a-f0-9]{64})$/;

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
}

/** A SLSA ResourceDescriptor. */
export interface ResourceDescriptor {
  readonly uri?: string;
  readonly name?: string;
  readonly digest: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/**
 * Builds the SLSA v1 provenance statement for a model build.
 *
 * Every training input under `inputDir` is hashed (with the same streaming, parallel hashing as the model) and listed
 * in `resolvedDependencies`, together with the builder image by digest, so a reviewer can tell exactly which data and
 * which toolchain produced the model.
 *
 * @throws UsageError for a malformed digest or an unreadable input directory
 */
export async function buildProvenance(opts: ProvenanceOptions): Promise<Record<string, unknown>> {
  if (!isHexDigest(opts.rootDigest)) {
    throw new UsageError(`provenance: the root digest must be 64 lower-case hex characters, got '${opts.rootDigest}'`);
  }
  if (!opts.buildId.trim()) {
    throw new UsageError('provenance: --build-id must not be empty');
  }
  const dependencies: ResourceDescriptor[] = [];
  const image = IMAGE_WITH_DIGEST.exec(opts.builderImage);
  const imageDescriptor: ResourceDescriptor = image?.groups
    ? { uri: `oci://${image.groups.repo}`, digest: { sha256: image.groups.digest } }
    : { uri: `oci://${opts.builderImage}`, digest: {}, annotations: { warning: 'the build image was not pinned by digest' } };
  dependencies.push(imageDescriptor);
  if (opts.inputDir) {
    dependencies.push(...await inputDescriptors(opts.inputDir, opts.source));
  }
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: opts.subjectName, digest: { sha256: opts.rootDigest } }],
    predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
    predicate: {
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
        builder: { id: MODELSEAL_BUILDER_ID, builderDependencies: [imageDescriptor] },
        metadata: {
          invocationId: opts.buildId,
          ...(opts.startedOn ? { startedOn: opts.startedOn.toISOString() } : {}),
          finishedOn: (opts.finishedOn ?? new Date()).toISOString(),
        },
      },
    },
  };
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
