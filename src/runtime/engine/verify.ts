/**
 * Verifying an OMS v1.0 bundle and the model files it covers. Every check fails closed with a
 * {@link VerificationError} that names what did not match.
 */
import { createPublicKey, KeyObject, verify as cryptoVerify, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { DEFAULT_MAX_BUNDLE_BYTES, parseBundle, ParsedBundle, readBundleFile } from './bundle';
import { verifyCertificateChain } from './certificates';
import { hashResources, listModelFiles, listModelShards, ModelHashOptions, rootDigest } from './hashing';
import { assertDerSignature, Curve, curveOf, hashForCurve, keyHint, sameKey } from './keys';
import { IN_TOTO_PAYLOAD_TYPE, pae, paeCompat } from './pae';
import { ParsedStatement, parseStatement } from './statement';
import { curveOfKeyDetails } from '../codec/curves';
import { UsageError, VerificationError } from '../codec/errors';

/**
 * What the verifier trusts: one public key (bundles signed with `sign key`, `sign kms`, `sign pkcs11-key`), or
 * certificate trust anchors (bundles signed with `sign certificate`). Exactly one of the two must be set.
 */
export interface VerificationTrust {
  /** The public key the bundle must be signed with. */
  readonly publicKey?: KeyObject;
  /** Trusted CA certificates the bundle's chain must lead to. */
  readonly trustAnchors?: readonly X509Certificate[];
}

/** Options of {@link verifyBundle}. */
export interface BundleVerifyOptions {
  /** Names the bundle in errors. @default 'bundle' */
  readonly source?: string;
  /** Bundle size limit in bytes. @default 64 MiB */
  readonly maxBundleBytes?: number;
  /** Instant the certificate chain must be valid at. @default - the leaf's notBefore */
  readonly at?: Date;
}

/** A bundle whose signature verified; its statement is authentic but the files are not checked yet. */
export interface VerifiedBundle {
  /** The signed statement. */
  readonly statement: ParsedStatement;
  /** How the bundle was signed. */
  readonly method: 'key' | 'certificate';
  /** The verifying public key (the leaf's for certificates). */
  readonly publicKey: KeyObject;
  /** Its curve. */
  readonly curve: Curve;
  /** Its OMS key hint. */
  readonly keyHint: string;
  /** The leaf certificate's subject, for certificate bundles. */
  readonly certificateSubject?: string;
  /** The root digest of the resources, in payload order (equal to the subject digest for v1.0 statements). */
  readonly rootDigest: string;
  /** Non-fatal notes (older formats). */
  readonly warnings: string[];
}

/** Options of {@link verifyModel}. */
export interface VerifyModelOptions extends ModelHashOptions, BundleVerifyOptions {
  /** Accept files on disk that the signature does not cover (they are reported, not hashed). @default false */
  readonly ignoreUnsignedFiles?: boolean;
}

/** The outcome of a successful {@link verifyModel}. */
export interface VerifyResult extends VerifiedBundle {
  /** Number of resources checked. */
  readonly resourceCount: number;
  /** Files on disk the signature does not cover, accepted because of `ignoreUnsignedFiles`. */
  readonly unsignedFiles: string[];
}

/** The key a bundle's DSSE signature verified with, and how that key was bound to the caller's trust. */
export interface VerifiedSigner {
  /** How the bundle was signed. */
  readonly method: 'key' | 'certificate';
  /** The verifying public key (the leaf's for certificates). */
  readonly publicKey: KeyObject;
  /** Its curve. */
  readonly curve: Curve;
  /** Its OMS key hint. */
  readonly keyHint: string;
  /** The leaf certificate, for certificate bundles. */
  readonly leafCertificate?: X509Certificate;
  /** Non-fatal notes (older formats). */
  readonly warnings: string[];
}

/**
 * Checks that a parsed bundle's verification material matches the caller's trust (the given key, or a chain to
 * the trust anchors) and that its DSSE signature verifies, for a statement of any predicate type.
 *
 * @param allowLegacyPae also accept the mis-encoded PAE of model_signing v0.2 (only for its legacy statements)
 * @throws VerificationError when the key does not match or the signature does not verify
 */
export function verifyBundleSignature(
  bundle: ParsedBundle, trust: VerificationTrust, source: string, opts: { at?: Date; allowLegacyPae?: boolean } = {},
): VerifiedSigner {
  if ((trust.publicKey === undefined) === (trust.trustAnchors === undefined)) {
    throw new UsageError('verification needs exactly one of a public key or certificate trust anchors');
  }
  const material = bundle.material;
  const warnings: string[] = [];
  let publicKey: KeyObject;
  let leafCertificate: X509Certificate | undefined;

  if (material.kind === 'certificate') {
    throw new VerificationError(
      `${source} is a Sigstore keyless bundle (Fulcio certificate, ${material.tlogEntries} Rekor entr${material.tlogEntries === 1 ? 'y' : 'ies'}); ` +
      'keyless verification needs the Sigstore trust root (Fulcio and Rekor keys), which this offline verifier does not have. ' +
      'Sign with a key or a certificate instead, or verify with the reference `model_signing verify sigstore`');
  }
  if (trust.publicKey) {
    if (material.kind !== 'publicKey') {
      throw new VerificationError(
        `${source} is signed with a certificate chain (x509CertificateChain), not a bare key; verify it with \`verify certificate --certificate-chain <CA.pem>\``);
    }
    publicKey = trust.publicKey.type === 'private' ? createPublicKey(trust.publicKey) : trust.publicKey;
    const curve = curveOf(publicKey, 'public key');
    const mine = keyHint(publicKey);
    if (material.hint !== undefined && material.hint !== mine) {
      throw new VerificationError(
        `key mismatch: ${source} was signed by the key with hint ${material.hint}, but the ${curve} public key given has hint ${mine}; verify with the public key that signed it`);
    }
    if (material.rawKey && !sameKey(material.rawKey, publicKey)) {
      throw new VerificationError(
        `key mismatch: ${source} embeds a ${curveOf(material.rawKey)} public key (publicKey.rawBytes) that is not the ${curve} public key given`);
    }
    if (material.keyDetails !== undefined) {
      const declared = curveOfKeyDetails(material.keyDetails)?.name;
      if (declared !== curve) {
        throw new VerificationError(
          `key mismatch: ${source} declares keyDetails ${material.keyDetails} but the public key given is on ${curve}`);
      }
    }
    if (material.hint === undefined) {
      warnings.push(`${source} uses the older verification material format (publicKey.rawBytes); re-sign it to record a key hint`);
    }
  } else {
    if (material.kind !== 'x509CertificateChain') {
      throw new VerificationError(
        `${source} is signed with a bare key (verificationMaterial.publicKey), not a certificate; verify it with \`verify key --public-key <key.pem>\``);
    }
    publicKey = verifyCertificateChain(material.certificates, trust.trustAnchors!, { at: opts.at });
    leafCertificate = new X509Certificate(material.certificates[0]);
  }

  const curve = curveOf(publicKey);
  const hash = hashForCurve(curve);
  try {
    assertDerSignature(bundle.signature, curve);
  } catch (e) {
    throw new VerificationError(`${source}: ${(e as Error).message}`);
  }
  const key = { key: publicKey, dsaEncoding: 'der' as const };
  let ok = cryptoVerify(hash, pae(IN_TOTO_PAYLOAD_TYPE, bundle.payload), key, bundle.signature);
  if (!ok && opts.allowLegacyPae) {
    // model_signing v0.2.0 signed a mis-encoded PAE; only its legacy statements can carry such signatures.
    ok = cryptoVerify(hash, paeCompat(IN_TOTO_PAYLOAD_TYPE, bundle.payload), key, bundle.signature);
    if (ok) {
      warnings.push(`${source} was signed by model_signing v0.2 (legacy PAE encoding); re-sign it`);
    }
  }
  if (!ok) {
    throw new VerificationError(
      `signature in ${source} does not verify with the ${curve} key ${keyHint(publicKey)}: the statement or signature was altered, or another key signed it`);
  }
  return {
    method: leafCertificate ? 'certificate' : 'key',
    publicKey,
    curve,
    keyHint: keyHint(publicKey),
    ...(leafCertificate ? { leafCertificate } : {}),
    warnings,
  };
}

/**
 * Verifies a bundle's structure, key or certificate chain, signature and root digest, without touching the model.
 *
 * @throws VerificationError when anything does not verify; UsageError when the trust input itself is unusable
 */
export function verifyBundle(data: Buffer, trust: VerificationTrust, opts: BundleVerifyOptions = {}): VerifiedBundle {
  const source = opts.source ?? 'bundle';
  const bundle = parseBundle(data, source, opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  const statement = parseStatement(bundle.payload);
  const signer = verifyBundleSignature(bundle, trust, source, { at: opts.at, allowLegacyPae: statement.legacy });
  const warnings = [...signer.warnings];
  const computed = rootDigest(statement.manifest.resources);
  if (statement.rootDigest !== undefined && statement.rootDigest !== computed) {
    throw new VerificationError(
      `root digest mismatch in ${source}: the subject says sha256:${statement.rootDigest} but the listed resources hash to sha256:${computed}`);
  }
  if (statement.legacy) {
    warnings.push(`${source} uses the legacy predicate ${statement.predicateType}; re-sign it to get a root digest`);
  }
  return {
    statement,
    method: signer.method,
    publicKey: signer.publicKey,
    curve: signer.curve,
    keyHint: signer.keyHint,
    ...(signer.leafCertificate ? { certificateSubject: signer.leafCertificate.subject.replace(/\n/g, ', ') } : {}),
    rootDigest: computed,
    warnings,
  };
}

/**
 * Verifies a model on disk against a bundle file.
 *
 * After {@link verifyBundle}, every resource the payload lists is hashed from disk in payload order (never
 * re-sorted) and compared; then the model's files (minus the CLI's ignore paths, the payload's recorded
 * `ignore_paths`, the git paths unless disabled, and the signature file itself) must all be listed, unless
 * `ignoreUnsignedFiles` is set.
 *
 * @throws VerificationError naming the first file that does not verify; UsageError for unreadable inputs
 */
export async function verifyModel(
  modelPath: string,
  signaturePath: string,
  trust: VerificationTrust,
  opts: VerifyModelOptions = {},
): Promise<VerifyResult> {
  const data = await readBundleFile(signaturePath, opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  const verified = verifyBundle(data, trust, { ...opts, source: opts.source ?? signaturePath });
  try {
    await fs.stat(modelPath);
  } catch (e) {
    throw new UsageError(`cannot read model ${modelPath}: ${(e as Error).message}`);
  }
  const { resources, serialization } = verified.statement.manifest;
  const listOpts: ModelHashOptions = {
    ignorePaths: opts.ignorePaths,
    ignoreGitPaths: opts.ignoreGitPaths,
    modelIgnorePaths: [...(opts.modelIgnorePaths ?? []), ...serialization.ignore_paths],
    allowSymlinks: serialization.allow_symlinks,
    signaturePath,
  };
  let onDisk: string[];
  try {
    onDisk = serialization.method === 'shards'
      ? await listModelShards(modelPath, serialization.shard_size!, listOpts)
      : await listModelFiles(modelPath, listOpts);
  } catch (e) {
    throw e instanceof UsageError ? new VerificationError(e.message) : e;
  }
  const signed = new Set(resources.map((r) => r.name));
  const unsigned = onDisk.filter((n) => !signed.has(n));
  if (serialization.method === 'shards') {
    // --ignore-unsigned-files accepts whole files the signature never mentions, never bytes appended to a signed
    // file (readers such as zip-based checkpoints look at the end of a file first).
    const fileOf = (shard: string) => shard.slice(0, shard.lastIndexOf(':', shard.lastIndexOf(':') - 1));
    const signedFiles = new Set(resources.map((r) => fileOf(r.name)));
    const grown = unsigned.filter((n) => signedFiles.has(fileOf(n)));
    if (grown.length > 0) {
      throw new VerificationError(
        `${modelPath}: ${fileOf(grown[0])} has bytes beyond its signed shards (unsigned shard ${grown[0]}${grown.length > 1 ? `, ${grown.length - 1} more` : ''}); the file was changed after signing`);
    }
  }
  if (unsigned.length > 0 && !opts.ignoreUnsignedFiles) {
    const shown = unsigned.slice(0, 10).join(', ') + (unsigned.length > 10 ? `, … (${unsigned.length} in all)` : '');
    throw new VerificationError(
      `${modelPath} has ${unsigned.length} file(s) the signature does not cover: ${shown}; ` +
      'ignore them with --ignore-paths or accept them with --ignore-unsigned-files');
  }
  const actual = await hashResources(modelPath, resources, serialization, { workers: opts.workers, onProgress: opts.onProgress });
  const bad = resources.filter((r, i) => actual[i].digest !== r.digest);
  if (bad.length > 0) {
    const first = bad[0];
    const got = actual[resources.indexOf(first)].digest;
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more: ${bad.slice(1, 6).map((r) => r.name).join(', ')}${bad.length > 6 ? ', …' : ''})` : '';
    throw new VerificationError(
      `file ${first.name} does not match the signature: signed sha256:${first.digest}, on disk sha256:${got}${more}`);
  }
  return { ...verified, resourceCount: resources.length, unsignedFiles: unsigned };
}
