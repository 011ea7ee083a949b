/**
 * Verifying an OMS v1.0 bundle and the model files it covers. Every check fails closed with a
 * {@link VerificationError} that names what did not match.
 */
import { createPublicKey, KeyObject, verify as cryptoVerify, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { BundleKeyMaterial, DEFAULT_MAX_BUNDLE_BYTES, parseBundle, ParsedBundle, readBundleFile } from './bundle';
import { verifyCertificateChain } from './certificates';
import { hashResources, listModelFiles, listModelShards, ModelHashOptions, rootDigest } from './hashing';
import { assertDerSignature, Curve, curveOf, hashForCurve, keyHint, sameKey } from './keys';
import { IN_TOTO_PAYLOAD_TYPE, pae, paeCompat } from './pae';
import { SigstoreTrust, verifyKeylessBundle } from './sigstore-keyless';
import { ParsedStatement, parseStatement } from './statement';
import { verifyTimestamp } from './timestamp';
import { curveOfKeyDetails } from '../codec/curves';
import { UsageError, VerificationError } from '../codec/errors';

/**
 * What the verifier trusts: one public key (bundles signed with `sign key`, `sign kms`, `sign pkcs11-key`),
 * certificate trust anchors (bundles signed with `sign certificate`), or a Sigstore trusted root and signer identity
 * (keyless bundles of `model_signing sign sigstore`). Exactly one of the three must be set.
 */
export interface VerificationTrust {
  /** The public key the bundle must be signed with. */
  readonly publicKey?: KeyObject;
  /** Trusted CA certificates the bundle's chain must lead to. */
  readonly trustAnchors?: readonly X509Certificate[];
  /** Sigstore keyless: the trusted root, and the identity and OIDC issuer the Fulcio certificate must name. */
  readonly sigstore?: SigstoreTrust;
  /**
   * Trusted RFC 3161 timestamp authority certificates (roots, or the TSA certificates themselves). With them, the
   * bundle's timestamps are verified and its certificates are checked at the timestamps' time instead of now.
   *
   * @default - none: timestamps in key and certificate bundles are not verified, and certificates are checked now
   */
  readonly timestampAuthorities?: readonly X509Certificate[];
}

/** Options of {@link verifyBundle}. */
export interface BundleVerifyOptions {
  /** Names the bundle in errors. @default 'bundle' */
  readonly source?: string;
  /** Bundle size limit in bytes. @default 64 MiB */
  readonly maxBundleBytes?: number;
  /**
   * The verifier's current time: certificates are checked at it unless a trusted RFC 3161 timestamp gives the
   * signing time.
   *
   * @default - the current time
   */
  readonly at?: Date;
}

/** How a bundle was signed. */
export type SigningMethod = 'key' | 'certificate' | 'sigstore';

/** A bundle whose signature verified; its statement is authentic but the files are not checked yet. */
export interface VerifiedBundle {
  /** The signed statement. */
  readonly statement: ParsedStatement;
  /** How the bundle was signed. */
  readonly method: SigningMethod;
  /** The verifying public key (the leaf's for certificates). */
  readonly publicKey: KeyObject;
  /** Its curve. */
  readonly curve: Curve;
  /** Its OMS key hint. */
  readonly keyHint: string;
  /** The leaf certificate's subject, for certificate bundles. */
  readonly certificateSubject?: string;
  /** The signer identity and OIDC issuer, for keyless bundles. */
  readonly sigstoreIdentity?: { readonly subjectAltNames: string[]; readonly issuer: string };
  /** The times of the verified RFC 3161 timestamps (keyless: the Rekor integrated times), in bundle order. */
  readonly signedAt: Date[];
  /** The instant(s) the certificates were checked at, and why. */
  readonly checkedAt: CheckTime;
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

/** When certificates were checked: now, or at the time(s) of verified timestamps. */
export interface CheckTime {
  /** The instants. */
  readonly times: Date[];
  /** `current time`, `rfc3161` (trusted timestamps), or `transparency log` (keyless: checked by sigstore-js). */
  readonly source: 'current time' | 'rfc3161' | 'transparency log';
}

/** The key a bundle's DSSE signature verified with, and how that key was bound to the caller's trust. */
export interface VerifiedSigner {
  /** How the bundle was signed. */
  readonly method: SigningMethod;
  /** The verifying public key (the leaf's for certificates). */
  readonly publicKey: KeyObject;
  /** Its curve. */
  readonly curve: Curve;
  /** Its OMS key hint. */
  readonly keyHint: string;
  /** The leaf certificate, for certificate and keyless bundles. */
  readonly leafCertificate?: X509Certificate;
  /** The signer identity and OIDC issuer, for keyless bundles. */
  readonly sigstoreIdentity?: { readonly subjectAltNames: string[]; readonly issuer: string };
  /** The verified signing times (RFC 3161 genTime; keyless: Rekor integrated time). */
  readonly signedAt: Date[];
  /** When the certificates were checked. */
  readonly checkedAt: CheckTime;
  /** Non-fatal notes (older formats, unverified timestamps). */
  readonly warnings: string[];
}

/** Options of {@link verifyBundleSignature}. */
export interface SignatureVerifyOptions {
  /** The verifier's current time. @default - the current time */
  readonly at?: Date;
  /** Also accept the signatures of model_signing v0.2 (only for its legacy statements). */
  readonly allowLegacyPae?: boolean;
}

/**
 * Checks that a parsed bundle's verification material matches the caller's trust (the given key, a chain to the
 * trust anchors, or a Sigstore keyless signer) and that its DSSE signature verifies, for a statement of any
 * predicate type.
 *
 * The time rule (docs/SIGNING.md): certificates are checked at the current time, unless the bundle carries RFC 3161
 * timestamps and the caller trusts timestamp authorities; then every timestamp must verify (imprint over the
 * signature bytes, TSA chain, its own validity) and the certificates are checked at each timestamp's time.
 *
 * @throws VerificationError when the key does not match or the signature does not verify
 */
export async function verifyBundleSignature(
  bundle: ParsedBundle, trust: VerificationTrust, source: string, opts: SignatureVerifyOptions = {},
): Promise<VerifiedSigner> {
  const kinds = [trust.publicKey, trust.trustAnchors, trust.sigstore].filter((t) => t !== undefined).length;
  if (kinds !== 1) {
    throw new UsageError('verification needs exactly one of a public key, certificate trust anchors or a Sigstore identity');
  }
  const material = bundle.material;
  const now = opts.at ?? new Date();
  const warnings: string[] = [];
  let publicKey: KeyObject;
  let leafCertificate: X509Certificate | undefined;
  let sigstoreIdentity: VerifiedSigner['sigstoreIdentity'];
  let signedAt: Date[] = [];
  let checkedAt: CheckTime = { times: [now], source: 'current time' };

  if (material.kind === 'certificate') {
    if (!trust.sigstore) {
      throw new VerificationError(
        `${source} is a Sigstore keyless bundle (Fulcio certificate, ${material.tlogEntries} Rekor entr${material.tlogEntries === 1 ? 'y' : 'ies'}); ` +
        'verify it with `verify sigstore --identity ID --identity-provider ISSUER` (or a trust policy signer of kind sigstore)');
    }
    const keyless = await verifyKeylessBundle(bundle.json, bundle, trust.sigstore, source);
    leafCertificate = keyless.certificate;
    publicKey = keyless.certificate.publicKey;
    sigstoreIdentity = { subjectAltNames: keyless.subjectAltNames.map((s) => s.value), issuer: keyless.issuer };
    signedAt = keyless.integratedTimes;
    checkedAt = { times: keyless.integratedTimes, source: 'transparency log' };
  } else if (trust.sigstore) {
    throw new VerificationError(
      `${source} is not a Sigstore keyless bundle (its verification material is ${material.kind}); verify it with \`verify ${material.kind === 'publicKey' ? 'key' : 'certificate'}\``);
  } else {
    const times = await certificateCheckTimes(bundle, trust, source, now);
    warnings.push(...times.warnings);
    if (times.stamped) {
      signedAt = times.times;
      checkedAt = { times: times.times, source: 'rfc3161' };
    }
    if (trust.publicKey) {
      if (material.kind !== 'publicKey') {
        throw new VerificationError(
          `${source} is signed with a certificate chain (x509CertificateChain), not a bare key; verify it with \`verify certificate --certificate-chain <CA.pem>\``);
      }
      publicKey = trust.publicKey.type === 'private' ? createPublicKey(trust.publicKey) : trust.publicKey;
      checkKeyMaterial(material, publicKey, source, warnings);
    } else {
      if (material.kind !== 'x509CertificateChain') {
        throw new VerificationError(
          `${source} is signed with a bare key (verificationMaterial.publicKey), not a certificate; verify it with \`verify key --public-key <key.pem>\``);
      }
      for (const at of times.times) {
        await verifyCertificateChain(material.certificates, trust.trustAnchors!, { at, atSource: times.atSource });
      }
      leafCertificate = new X509Certificate(material.certificates[0]);
      publicKey = leafCertificate.publicKey;
    }
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
    // model_signing v0.2.0 signed a mis-encoded PAE, and hashed it with SHA-256 whatever the curve; only its legacy
    // statements can carry such signatures.
    const legacy = paeCompat(IN_TOTO_PAYLOAD_TYPE, bundle.payload);
    const legacyHash = [hash, 'sha256' as const].find((h) => cryptoVerify(h, legacy, key, bundle.signature));
    ok = legacyHash !== undefined;
    if (ok) {
      const sha256OnLargerCurve = legacyHash !== hash ? ` and SHA-256 with its ${curve} key` : '';
      warnings.push(`${source} was signed by model_signing v0.2 (legacy PAE encoding${sha256OnLargerCurve}); re-sign it`);
    }
  }
  if (!ok) {
    throw new VerificationError(
      `signature in ${source} does not verify with the ${curve} key ${keyHint(publicKey)}: the statement or signature was altered, or another key signed it`);
  }
  return {
    method: material.kind === 'certificate' ? 'sigstore' : leafCertificate ? 'certificate' : 'key',
    publicKey,
    curve,
    keyHint: keyHint(publicKey),
    ...(leafCertificate ? { leafCertificate } : {}),
    ...(sigstoreIdentity ? { sigstoreIdentity } : {}),
    signedAt,
    checkedAt,
    warnings,
  };
}

/** The key checks of `verify key`: the bundle's hint, embedded key and keyDetails against the given key. */
function checkKeyMaterial(material: Extract<BundleKeyMaterial, { kind: 'publicKey' }>, publicKey: KeyObject, source: string, warnings: string[]): void {
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
}

/** When a key or certificate bundle's certificates are checked (see {@link certificateCheckTimes}). */
export interface CertificateCheckTimes {
  /** The instants: the verified timestamps' genTimes, or `[now]`. */
  readonly times: Date[];
  /** Whether they come from trusted RFC 3161 timestamps. */
  readonly stamped: boolean;
  /** Says in errors where the times came from. */
  readonly atSource: string;
  /** Why timestamps were not used, when the bundle has some. */
  readonly warnings: string[];
}

/**
 * The time rule for key and certificate bundles: verifies every RFC 3161 timestamp against the trusted TSAs and
 * returns their times. Without trusted TSAs the timestamps are evidence of nothing: they are reported, and
 * certificates are checked now. With them, a timestamp that does not verify fails the bundle (it claims a time nobody
 * can vouch for). `check` and `verify` both decide the time here.
 *
 * @throws VerificationError when a timestamp does not verify against the trusted TSAs
 */
export async function certificateCheckTimes(
  bundle: ParsedBundle, trust: Pick<VerificationTrust, 'timestampAuthorities'>, source: string, now: Date,
): Promise<CertificateCheckTimes> {
  if (bundle.timestamps.length === 0) {
    return { times: [now], stamped: false, atSource: 'the current time; the bundle has no timestamp', warnings: [] };
  }
  if (!trust.timestampAuthorities || trust.timestampAuthorities.length === 0) {
    return {
      times: [now],
      stamped: false,
      atSource: 'the current time; the bundle\'s timestamps are not verified without a trusted timestamp authority',
      warnings: [`${source} carries ${bundle.timestamps.length} RFC 3161 timestamp(s) that were not verified (no timestamp authority is trusted; ` +
        'pass --timestamp-authority-cert); certificates were checked at the current time'],
    };
  }
  const times: Date[] = [];
  for (const [i, der] of bundle.timestamps.entries()) {
    const t = await verifyTimestamp(der, bundle.signature, trust.timestampAuthorities, `${source} timestamp #${i}`, now);
    times.push(t.genTime);
  }
  return { times, stamped: true, atSource: 'the time of the bundle\'s trusted RFC 3161 timestamp', warnings: [] };
}

/**
 * Verifies a bundle's structure, key or certificate chain, signature and root digest, without touching the model.
 *
 * @throws VerificationError when anything does not verify; UsageError when the trust input itself is unusable
 */
export async function verifyBundle(data: Buffer, trust: VerificationTrust, opts: BundleVerifyOptions = {}): Promise<VerifiedBundle> {
  const source = opts.source ?? 'bundle';
  const bundle = parseBundle(data, source, opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  const statement = parseStatement(bundle.payload);
  const signer = await verifyBundleSignature(bundle, trust, source, { at: opts.at, allowLegacyPae: statement.legacy });
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
    ...(signer.leafCertificate && signer.method === 'certificate' ? { certificateSubject: signer.leafCertificate.subject.replace(/\n/g, ', ') } : {}),
    ...(signer.sigstoreIdentity ? { sigstoreIdentity: signer.sigstoreIdentity } : {}),
    signedAt: signer.signedAt,
    checkedAt: signer.checkedAt,
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
  const verified = await verifyBundle(data, trust, { ...opts, source: opts.source ?? signaturePath });
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
    const alg = serialization.hash_type;
    throw new VerificationError(
      `file ${first.name} does not match the signature: signed ${alg}:${first.digest}, on disk ${alg}:${got}${more}`);
  }
  return { ...verified, resourceCount: resources.length, unsignedFiles: unsigned };
}
