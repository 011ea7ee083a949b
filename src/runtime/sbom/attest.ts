/**
 * The AI SBOM attestation: a CycloneDX 1.6 BOM as the predicate of an in-toto Statement v1 whose subject is the
 * model's OMS root digest, signed into the same Sigstore bundle / DSSE envelope as the model signature.
 */
import * as path from 'path';
import { buildBom, BomOptions, CycloneDxBom, validateBom } from './cyclonedx';
import { isHexDigest, parseRootDigest } from '../codec/digest';
import { VerificationError } from '../codec/errors';
import { isJsonObject } from '../codec/json';
import { decodeStatement, STATEMENT_TYPE } from '../codec/statement';
import { hashModel, ModelHashOptions, rootDigest as computeRootDigest } from '../engine/hashing';
import { signStatement } from '../engine/sign-statement';
import type { Signer } from '../engine/signer';

/** The in-toto predicate type of a CycloneDX BOM. */
export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';

/** Inputs of {@link attestSbom}: the BOM inputs plus the statement's subject. */
export interface SbomAttestationOptions extends Omit<BomOptions, 'rootDigest'> {
  /** The model's OMS root digest (64 lower-case hex): the statement's subject and the model component's hash. */
  readonly rootDigest: string;
  /** The subject name; by convention the model directory's base name, as in the model's own signature. */
  readonly subjectName: string;
}

/** What {@link attestSbom} produced. */
export interface SbomAttestation {
  /** The validated BOM (the statement's predicate). */
  readonly bom: CycloneDxBom;
  /** The signed in-toto statement. */
  readonly statement: Record<string, unknown>;
  /** The Sigstore bundle v0.3 as JSON data. */
  readonly bundle: Record<string, unknown>;
  /** The bundle as written (compact JSON). */
  readonly bundleText: string;
  /** The subject digest. */
  readonly rootDigest: string;
  /** The subject name. */
  readonly subjectName: string;
  /** The signer's OMS key hint. */
  readonly keyHint: string;
}

/** An SBOM statement decoded from a DSSE payload. */
export interface ParsedSbomStatement {
  readonly subjectName: string;
  /** `subject[0].digest.sha256`. */
  readonly rootDigest: string;
  /** The CycloneDX BOM. */
  readonly bom: CycloneDxBom;
}

/**
 * Builds the in-toto statement that carries a BOM.
 *
 * The key order matches the OMS statement's (`_type`, `subject`, `predicateType`, `predicate`), so both
 * attestations of a model read alike.
 */
export function buildSbomStatement(subjectName: string, rootDigest: string, bom: CycloneDxBom): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName, digest: { sha256: rootDigest } }],
    predicateType: CYCLONEDX_PREDICATE_TYPE,
    predicate: bom,
  };
}

/**
 * Builds the BOM, validates it against the CycloneDX 1.6 schema, and signs it as an in-toto attestation.
 *
 * Nothing is signed unless the BOM validates.
 *
 * @throws ModelCardError / BomValidationError / UsageError naming the bad input; UsageError for a failing signer
 */
export async function attestSbom(signer: Signer, opts: SbomAttestationOptions): Promise<SbomAttestation> {
  const bom = buildBom(opts);
  validateBom(bom);
  const statement = buildSbomStatement(opts.subjectName, opts.rootDigest, bom);
  const signed = await signStatement(statement, signer);
  return {
    bom,
    statement,
    bundle: signed.bundle as unknown as Record<string, unknown>,
    bundleText: signed.bundleText,
    rootDigest: opts.rootDigest,
    subjectName: opts.subjectName,
    keyHint: signed.keyHint,
  };
}

/** Options of {@link attestModelSbom}. */
export interface ModelSbomOptions extends Omit<SbomAttestationOptions, 'rootDigest' | 'subjectName'>, ModelHashOptions {
  /**
   * The root digest, when it is already known (e.g. printed by `modelseal sign`), so tens of GB are not hashed
   * twice. `sha256:` prefix optional.
   *
   * @default - the model is hashed with the hash options given, which must match those it was signed with
   */
  readonly rootDigest?: string;
}

/**
 * Attests a model on disk: hashes it (unless its root digest is given) and calls {@link attestSbom} with the model
 * directory's base name as the subject name, as `signModel` names the model signature's subject.
 *
 * @throws UsageError for an unreadable model or a malformed `rootDigest`, and everything {@link attestSbom} throws
 */
export async function attestModelSbom(modelPath: string, signer: Signer, opts: ModelSbomOptions): Promise<SbomAttestation> {
  let root: string;
  if (opts.rootDigest !== undefined) {
    root = parseRootDigest(opts.rootDigest, 'root digest');
  } else {
    root = computeRootDigest((await hashModel(modelPath, opts)).resources);
  }
  return attestSbom(signer, { ...opts, rootDigest: root, subjectName: path.basename(path.resolve(modelPath)) });
}

/**
 * Decodes and checks an SBOM attestation's statement (a DSSE payload whose signature has already been verified).
 *
 * @throws VerificationError when it is not an in-toto Statement v1 with the CycloneDX predicate type, exactly one
 *   subject with a SHA-256 digest, and a CycloneDX BOM predicate
 */
export function parseSbomStatement(payload: Buffer): ParsedSbomStatement {
  const doc = decodeStatement(payload);
  if (doc.predicateType !== CYCLONEDX_PREDICATE_TYPE) {
    throw new VerificationError(`statement predicateType is ${JSON.stringify(doc.predicateType)}; expected "${CYCLONEDX_PREDICATE_TYPE}"`);
  }
  const subjects = doc.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1) {
    throw new VerificationError(`SBOM statement has ${Array.isArray(subjects) ? subjects.length : 'no'} subjects; expected exactly one (the model's root digest)`);
  }
  const s = subjects[0];
  const root = isJsonObject(s) && isJsonObject(s.digest) ? s.digest.sha256 : undefined;
  if (!isJsonObject(s) || typeof s.name !== 'string' || !isHexDigest(root)) {
    throw new VerificationError('SBOM statement subject must be {"name": string, "digest": {"sha256": <64 lower-case hex>}}');
  }
  const bom = doc.predicate;
  if (!isJsonObject(bom) || bom.bomFormat !== 'CycloneDX') {
    throw new VerificationError('SBOM statement predicate is not a CycloneDX BOM (bomFormat must be "CycloneDX")');
  }
  return { subjectName: s.name, rootDigest: root, bom };
}
