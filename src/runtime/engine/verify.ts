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
import type { Manifest, ManifestResource, Serialization } from './types';
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
  /**
   * The older formats this bundle uses (empty for a current OMS v1.0 bundle): `publicKey.rawBytes` verification
   * material, the model_signing v0.2 PAE encoding, the `Digests/v0.1` predicate. `verify` accepts them with a
   * warning; admission decisions count them only when the trust policy allows legacy formats.
   */
  readonly legacyFormats: string[];
}

/** Options of {@link verifyModel}. */
export interface VerifyModelOptions extends ModelHashOptions, BundleVerifyOptions {
  /** Accept files on disk that the signature does not cover (they are reported, not hashed). @default false */
  readonly ignoreUnsignedFiles?: boolean;
}

/** The outcome of a successful {@link verifyModel}. */
export interface VerifyResult extends VerifiedBundle, ModelFilesResult {}

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
  /** The older formats of the bundle's signing layer (see {@link VerifiedBundle.legacyFormats}). */
  readonly legacyFormats: string[];
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
  const legacyFormats: string[] = [];
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
      checkKeyMaterial(material, publicKey, source, warnings, legacyFormats);
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
      legacyFormats.push('the model_signing v0.2 PAE encoding');
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
    legacyFormats,
  };
}

/** The key checks of `verify key`: the bundle's hint, embedded key and keyDetails against the given key. */
function checkKeyMaterial(
  material: Extract<BundleKeyMaterial, { kind: 'publicKey' }>, publicKey: KeyObject, source: string, warnings: string[], legacyFormats: string[],
): void {
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
    legacyFormats.push('publicKey.rawBytes verification material (model_signing v1.0.x)');
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
  const legacyFormats = [...signer.legacyFormats];
  const computed = rootDigest(statement.manifest.resources);
  if (statement.rootDigest !== undefined && statement.rootDigest !== computed) {
    throw new VerificationError(
      `root digest mismatch in ${source}: the subject says sha256:${statement.rootDigest} but the listed resources hash to sha256:${computed}`);
  }
  if (statement.legacy) {
    warnings.push(`${source} uses the legacy predicate ${statement.predicateType}; re-sign it to get a root digest`);
    legacyFormats.push(`the legacy predicate ${statement.predicateType}`);
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
    legacyFormats,
  };
}

/**
 * Verifies a model on disk against a bundle file.
 *
 * After {@link verifyBundle}, the files on disk are compared with the signed manifest by {@link verifyModelFiles}:
 * every difference (changed, missing and unsigned files) is listed in one error.
 *
 * @throws VerificationError ({@link ModelMismatchError} for file differences) when anything does not verify;
 *   UsageError for unreadable inputs
 */
export async function verifyModel(
  modelPath: string,
  signaturePath: string,
  trust: VerificationTrust,
  opts: VerifyModelOptions = {},
): Promise<VerifyResult> {
  const data = await readBundleFile(signaturePath, opts.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  const verified = await verifyBundle(data, trust, { ...opts, source: opts.source ?? signaturePath });
  const files = await verifyModelFiles(modelPath, verified.statement.manifest, { ...opts, signaturePath });
  return { ...verified, ...files };
}

/** Options of {@link verifyModelFiles}. */
export interface ModelFilesOptions extends ModelHashOptions {
  /** Accept files on disk that the manifest does not cover (they are reported, not hashed). @default false */
  readonly ignoreUnsignedFiles?: boolean;
  /**
   * Digests already computed from these files (resource name → hex, `files` method and the manifest's hash type
   * only), e.g. by the hashing that found the root digest; they are not hashed again.
   *
   * @default - every listed file is hashed
   */
  readonly knownDigests?: ReadonlyMap<string, string>;
}

/** What {@link verifyModelFiles} checked. */
export interface ModelFilesResult {
  /** Number of resources checked. */
  readonly resourceCount: number;
  /** Files on disk the manifest does not cover, accepted because of `ignoreUnsignedFiles`. */
  readonly unsignedFiles: string[];
}

/** Every way the files on disk differ from a manifest. */
export interface FileDifferences {
  /** Files whose bytes differ: the name and what differs (`signed sha256:…, on disk sha256:…`, or the sizes). */
  readonly changed: readonly { readonly name: string; readonly detail: string }[];
  /** Files the manifest lists that are not on disk. */
  readonly missing: readonly string[];
  /**
   * Files on disk that the manifest does not list (names that are not valid UTF-8 escaped as `\xHH`); empty when
   * `ignoreUnsignedFiles` accepted them.
   */
  readonly unsigned: readonly string[];
}

/** The files on disk do not match the manifest; `differences` lists every difference found. */
export class ModelMismatchError extends VerificationError {
  public constructor(public readonly modelPath: string, public readonly differences: FileDifferences) {
    super(describeDifferences(modelPath, differences));
  }
}

/**
 * Verifies the files of a model on disk against a verified manifest.
 *
 * The model is listed with the manifest's serialization (its `ignore_paths` on top of the caller's ignore paths and
 * the git paths, its `allow_symlinks`; for `shards`, cut with its `shard_size`) and compared file by file: files the
 * manifest lists but the disk lacks are missing, files on disk it does not list are unsigned (accepted only with
 * `ignoreUnsignedFiles`), and every file present on both sides is hashed in payload order and compared (for
 * `shards`, a file whose shards differ in number or range has a different size and is changed: bytes appended to a
 * signed file are never accepted as an unsigned file). Every difference is collected before anything is thrown.
 *
 * @throws ModelMismatchError listing every changed, missing and unsigned file; VerificationError for a listing or
 *   hashing failure (a forbidden symlink, an unreadable file); UsageError when the model path cannot be read
 */
export async function verifyModelFiles(modelPath: string, manifest: Manifest, opts: ModelFilesOptions = {}): Promise<ModelFilesResult> {
  try {
    await fs.stat(modelPath);
  } catch (e) {
    throw new UsageError(`cannot read model ${modelPath}: ${(e as Error).message}`);
  }
  const { resources, serialization } = manifest;
  const listOpts: ModelHashOptions = {
    ignorePaths: opts.ignorePaths,
    ignoreGitPaths: opts.ignoreGitPaths,
    modelIgnorePaths: [...(opts.modelIgnorePaths ?? []), ...serialization.ignore_paths],
    allowSymlinks: serialization.allow_symlinks,
    signaturePath: opts.signaturePath,
  };
  let onDisk: string[];
  try {
    onDisk = serialization.method === 'shards'
      ? await listModelShards(modelPath, serialization.shard_size!, listOpts)
      : await listModelFiles(modelPath, listOpts);
  } catch (e) {
    throw e instanceof UsageError ? new VerificationError(e.message) : e;
  }
  const signedByFile = groupByFile(resources.map((r) => r.name), serialization.method);
  const diskByFile = groupByFile(onDisk, serialization.method);
  const changed: { name: string; detail: string }[] = [];
  const missing: string[] = [];
  const unsigned = [...diskByFile.keys()].filter((f) => !signedByFile.has(f));
  const toHash: ManifestResource[] = [];
  const byName = new Map(resources.map((r) => [r.name, r]));
  for (const [file, names] of signedByFile) {
    const disk = diskByFile.get(file);
    if (disk === undefined) {
      missing.push(file);
    } else if (serialization.method === 'shards' && disk.join('\n') !== names.join('\n')) {
      const [was, now] = [shardEnd(names), shardEnd(disk)];
      const what = now > was ? 'has bytes beyond its signed shards' : now < was ? 'is shorter than signed' : 'is cut into other shards than signed';
      changed.push({ name: file, detail: `${what}: signed ${was} bytes, ${now} bytes on disk` });
    } else {
      toHash.push(...names.map((n) => byName.get(n)!));
    }
  }
  const known = serialization.method === 'files' ? opts.knownDigests : undefined;
  const unknown = toHash.filter((r) => known?.get(r.name) === undefined);
  const hashed = unknown.length === 0 ? []
    : await hashResources(modelPath, unknown, serialization, { workers: opts.workers, onProgress: opts.onProgress });
  const actual = new Map<string, string>(hashed.map((r) => [r.name, r.digest]));
  const changedFiles = new Set<string>();
  for (const r of toHash) {
    const got = known?.get(r.name) ?? actual.get(r.name)!;
    if (got !== r.digest) {
      const file = fileOf(r.name, serialization.method);
      if (!changedFiles.has(file)) {
        changedFiles.add(file);
        changed.push({ name: file, detail: `signed ${serialization.hash_type}:${r.digest}, on disk ${serialization.hash_type}:${got}${file !== r.name ? ` (shard ${r.name})` : ''}` });
      }
    }
  }
  const differences: FileDifferences = { changed, missing, unsigned: opts.ignoreUnsignedFiles ? [] : unsigned };
  if (changed.length > 0 || missing.length > 0 || differences.unsigned.length > 0) {
    throw new ModelMismatchError(modelPath, differences);
  }
  return { resourceCount: resources.length, unsignedFiles: unsigned };
}

/** Resource (or on-disk) names grouped by the file they belong to, in order. */
function groupByFile(names: readonly string[], method: Serialization['method']): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of names) {
    const f = fileOf(n, method);
    const list = out.get(f);
    if (list) {
      list.push(n);
    } else {
      out.set(f, [n]);
    }
  }
  return out;
}

/** The file a resource name belongs to: itself for `files`, the `path` of `path:start:end` for `shards`. */
function fileOf(name: string, method: Serialization['method']): string {
  const m = method === 'shards' ? /^(.*):(\d+):(\d+)$/s.exec(name) : null;
  return m ? m[1] : name;
}

/** The end offset of a file's last shard (its size as the shards describe it). */
function shardEnd(names: readonly string[]): number {
  return Math.max(0, ...names.map((n) => Number(/:(\d+)$/.exec(n)?.[1] ?? 0)));
}

const SHOWN = 10;

function describeDifferences(modelPath: string, d: FileDifferences): string {
  const list = (items: readonly string[]) => items.slice(0, SHOWN).join(', ') + (items.length > SHOWN ? `, … (${items.length} in all)` : '');
  const parts: string[] = [];
  if (d.changed.length > 0) {
    parts.push(`${d.changed.length} changed file(s): ${list(d.changed.map((c) => `${c.name} (${c.detail})`))}`);
  }
  if (d.missing.length > 0) {
    parts.push(`${d.missing.length} missing file(s): ${list(d.missing)}`);
  }
  if (d.unsigned.length > 0) {
    parts.push(`${d.unsigned.length} file(s) the signature does not cover: ${list(d.unsigned)} `
      + '(ignore them with --ignore-paths or accept them with --ignore-unsigned-files)');
  }
  return `${modelPath} does not match the signature: ${parts.join('; ')}`;
}
