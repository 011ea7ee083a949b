/**
 * Co-signing without the model bytes, and verifying any DSSE-signed in-toto statement (not only OMS model
 * signatures).
 *
 * A co-signer (compliance, a lead data scientist) signs exactly the statement bytes CI signed: the statement is the
 * manifest (every file's name and digest, the serialization options) and its subject the root digest over the file
 * contents, so the co-signer agrees to exactly that manifest and never needs the tens of GB of model. Before signing, the original bundle's signature must verify, so nobody co-signs a forged statement.
 */
import { verify as cryptoVerify, KeyObject, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { BundleJson, DEFAULT_MAX_BUNDLE_BYTES, parseBundle } from './bundle';
import { assertDerSignature, curveOf, hashForCurve, keyHint } from './keys';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './pae';
import { signPayload } from './sign-statement';
import type { Signer } from './signer';
import { LEGACY_PREDICATE_TYPE, ParsedStatement, PREDICATE_TYPE } from './statement';
import { SigningMethod, verifyBundle, verifyBundleSignature, VerificationTrust } from './verify';
import { UsageError, VerificationError } from '../codec/errors';
import { decodeStatement, subjectDigests } from '../codec/statement';

/** A DSSE bundle whose signature verified, with its statement decoded (any predicate type). */
export interface VerifiedStatement {
  /** The exact DSSE payload bytes that were signed. */
  readonly payload: Buffer;
  /** The decoded in-toto statement. */
  readonly statement: Record<string, unknown>;
  /** `predicateType` of the statement. */
  readonly predicateType: string;
  /** The `sha256` digests of the statement's subjects (lower-case hex), in order. */
  readonly subjectDigests: string[];
  /** The `predicate` member (undefined when absent). */
  readonly predicate: unknown;
  /** How the bundle was signed. */
  readonly method: SigningMethod;
  /** The key that verified the signature (the leaf's for certificates). */
  readonly publicKey: KeyObject;
  /** Its OMS key hint. */
  readonly keyHint: string;
  /** The leaf certificate, for certificate and keyless bundles. */
  readonly leafCertificate?: X509Certificate;
  /** The signer identity and OIDC issuer, for keyless bundles. */
  readonly sigstoreIdentity?: { readonly subjectAltNames: string[]; readonly issuer: string };
  /** The verified signing times (RFC 3161 genTime; keyless: Rekor integrated time); empty without any. */
  readonly signedAt: Date[];
  /** Non-fatal notes. */
  readonly warnings: string[];
  /** The older formats the bundle uses (see `VerifiedBundle.legacyFormats`); empty for current bundles. */
  readonly legacyFormats: string[];
  /** For OMS model signatures: the parsed statement (its manifest) as verified. */
  readonly oms?: ParsedStatement;
}

/** Options of {@link verifyStatementBundle}. */
export interface StatementVerifyOptions {
  /** Names the bundle in errors. @default 'bundle' */
  readonly source?: string;
  /** Bundle size limit in bytes. @default 64 MiB */
  readonly maxBundleBytes?: number;
  /** The verifier's current time (certificates are checked at it unless a trusted timestamp gives the signing time). @default - the current time */
  readonly at?: Date;
}

/**
 * Verifies a Sigstore bundle holding any in-toto statement, against a public key or certificate trust anchors.
 *
 * OMS model signatures (`https://model_signing/signature/v1.0` and the legacy type) go through the engine's
 * {@link verifyBundle}, which also checks that the subject digest matches the listed resources. Other statements
 * (SBOMs, revocations) get the same key, certificate-chain and DSSE signature checks, then a structural check of
 * the statement (`_type`, `predicateType`, subjects with sha256 digests).
 *
 * @throws VerificationError when the bundle does not verify; UsageError when the trust input is unusable
 */
export async function verifyStatementBundle(data: Buffer, trust: VerificationTrust, opts: StatementVerifyOptions = {}): Promise<VerifiedStatement> {
  const source = opts.source ?? 'bundle';
  const bundle = parseBundle(data, source, opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  const statement = decodeStatement(bundle.payload, source);
  const predicateType = statement.predicateType;
  if (predicateType === PREDICATE_TYPE || predicateType === LEGACY_PREDICATE_TYPE) {
    const v = await verifyBundle(data, trust, { source, maxBundleBytes: opts.maxBundleBytes, at: opts.at });
    const leaf = bundle.material.kind === 'x509CertificateChain' ? bundle.material.certificates[0]
      : bundle.material.kind === 'certificate' ? bundle.material.certificate : undefined;
    return {
      payload: bundle.payload,
      statement,
      predicateType,
      subjectDigests: v.statement.rootDigest !== undefined ? [v.statement.rootDigest] : [v.rootDigest],
      predicate: statement.predicate,
      method: v.method,
      publicKey: v.publicKey,
      keyHint: v.keyHint,
      ...(leaf ? { leafCertificate: new X509Certificate(leaf) } : {}),
      ...(v.sigstoreIdentity ? { sigstoreIdentity: v.sigstoreIdentity } : {}),
      signedAt: v.signedAt,
      warnings: v.warnings,
      legacyFormats: v.legacyFormats,
      oms: v.statement,
    };
  }
  const v = await verifyBundleSignature(bundle, trust, source, { at: opts.at });
  return {
    payload: bundle.payload,
    statement,
    predicateType,
    subjectDigests: subjectDigests(statement, source),
    predicate: statement.predicate,
    method: v.method,
    publicKey: v.publicKey,
    keyHint: v.keyHint,
    ...(v.leafCertificate ? { leafCertificate: v.leafCertificate } : {}),
    ...(v.sigstoreIdentity ? { sigstoreIdentity: v.sigstoreIdentity } : {}),
    signedAt: v.signedAt,
    warnings: v.warnings,
    legacyFormats: v.legacyFormats,
  };
}

/** Options of {@link cosignBundle}. */
export interface CosignOptions {
  /**
   * What the original bundle must verify with: the original signer's public key, or certificate trust anchors.
   *
   * @default - the key the bundle itself carries (`publicKey.rawBytes`, or the leaf certificate's key); a bundle
   * that names its key only by hint cannot be verified without this, and is refused
   */
  readonly trust?: VerificationTrust;
  /** Names the original bundle in errors. @default 'bundle' */
  readonly source?: string;
  /** Where to write the co-signature bundle. @default - not written */
  readonly signaturePath?: string;
  /** Bundle size limit in bytes. @default 64 MiB */
  readonly maxBundleBytes?: number;
}

/** What {@link cosignBundle} produced. */
export interface CosignResult {
  /** The co-signature bundle. */
  readonly bundle: BundleJson;
  /** The co-signature bundle as written (compact JSON). */
  readonly bundleText: string;
  /** The statement bytes both bundles sign. */
  readonly payload: Buffer;
  /** The co-signer's key hint. */
  readonly keyHint: string;
  /** The original bundle, as verified. */
  readonly original: VerifiedStatement;
  /**
   * Whether the original signer's identity was checked against a key or trust anchors the caller supplied. False
   * when only the bundle's own embedded key was used: the statement is intact, but who signed it is unproven.
   */
  readonly originalSignerTrusted: boolean;
  /** Non-fatal notes. */
  readonly warnings: string[];
}

/**
 * Verifies `original` (a bundle), then signs the very same DSSE payload bytes with `signer`.
 *
 * The payload is never re-serialized: a statement written by another implementation may differ in whitespace,
 * and re-encoding it would produce a co-signature over different bytes. The co-signature uses the signer's own
 * verification material, exactly as `sign` would.
 *
 * @throws VerificationError when the original does not verify; UsageError when it names its key only by hint and no
 *   trust was given, or when the signer returns an unusable signature
 */
export async function cosignBundle(original: Buffer, signer: Signer, opts: CosignOptions = {}): Promise<CosignResult> {
  const source = opts.source ?? 'bundle';
  const warnings: string[] = [];
  const maxBundleBytes = opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  let verified: VerifiedStatement;
  if (opts.trust) {
    verified = await verifyStatementBundle(original, opts.trust, { source, maxBundleBytes });
  } else {
    const m = parseBundle(original, source, maxBundleBytes).material;
    if (m.kind === 'publicKey' && m.rawKey) {
      verified = await verifyStatementBundle(original, { publicKey: m.rawKey }, { source, maxBundleBytes });
    } else if (m.kind === 'publicKey') {
      throw new UsageError(
        `${source} names its signing key only by hint ${m.hint}; pass the original signer's public key with --verify-key PEM so its signature can be checked before co-signing`);
    } else if (m.kind === 'x509CertificateChain') {
      // Without anchors only the leaf's own key can be used; the chain is not checked, and the caller is told so.
      verified = verifyWithLeafKey(original, source);
    } else {
      throw new VerificationError(`${source} is a Sigstore keyless bundle; co-signing needs a key- or certificate-signed bundle`);
    }
    warnings.push(`${source} was verified only with the key it carries itself; pass --verify-key (or --verify-certificate-chain) to check who signed it`);
  }
  warnings.push(...verified.warnings);
  const signed = await signPayload(verified.payload, signer);
  if (opts.signaturePath) {
    try {
      await fs.writeFile(opts.signaturePath, signed.bundleText);
    } catch (e) {
      throw new UsageError(`cannot write signature ${opts.signaturePath}: ${(e as Error).message}`);
    }
  }
  if (signed.keyHint === verified.keyHint) {
    warnings.push(`the co-signing key ${signed.keyHint} is the key that signed ${source}; the co-signature adds no second party`);
  }
  return { ...signed, payload: verified.payload, original: verified, originalSignerTrusted: opts.trust !== undefined, warnings };
}

/** A certificate bundle checked with its leaf key only (no anchors): signature and statement, not the chain. */
function verifyWithLeafKey(data: Buffer, source: string): VerifiedStatement {
  const bundle = parseBundle(data, source);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate((bundle.material as { certificates: Buffer[] }).certificates[0]);
  } catch (e) {
    throw new VerificationError(`${source} leaf certificate is not a valid X.509 certificate: ${(e as Error).message}`);
  }
  const leafKey = leaf.publicKey;
  const statement = decodeStatement(bundle.payload, source);
  const curve = curveOf(leafKey);
  assertDerSignature(bundle.signature, curve);
  if (!cryptoVerify(hashForCurve(curve), pae(IN_TOTO_PAYLOAD_TYPE, bundle.payload), { key: leafKey, dsaEncoding: 'der' }, bundle.signature)) {
    throw new VerificationError(
      `signature in ${source} does not verify with its leaf certificate's ${curve} key ${keyHint(leafKey)}: the statement or signature was altered`);
  }
  return {
    payload: bundle.payload,
    statement,
    predicateType: statement.predicateType,
    subjectDigests: subjectDigests(statement, source),
    predicate: statement.predicate,
    method: 'certificate',
    publicKey: leafKey,
    keyHint: keyHint(leafKey),
    leafCertificate: leaf,
    signedAt: [],
    warnings: [],
    legacyFormats: [],
  };
}
