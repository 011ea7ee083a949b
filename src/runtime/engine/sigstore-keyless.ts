/**
 * Sigstore keyless bundles (a Fulcio certificate plus Rekor transparency-log entries), verified offline against a
 * Sigstore trusted root: the default method of the reference `model_signing sign sigstore`.
 *
 * The Sigstore layer is `@sigstore/verify` 3.x (the line that runs on Node 20): the Fulcio chain at every verified
 * time (Rekor `integratedTime` of entries with an inclusion promise, RFC 3161 `genTime` of TSA tokens), the embedded
 * SCTs against the CT log keys, every Rekor entry's inclusion promise or proof against the log keys and its body
 * against the signature, every RFC 3161 timestamp, and the DSSE signature. The signer identity is matched here, on
 * the certificate's parsed subject alternative names and Fulcio issuer extension, exactly (or by a regular
 * expression anchored at both ends): never with the library's policy, whose identity is an unanchored regular
 * expression (`"stefa"` would match `stefanb@…`). The OMS statement and the files are the engine's job.
 *
 * `@sigstore/*` load on first use: commands that never see a keyless bundle do not pay for them at start-up.
 *
 * @see https://github.com/sigstore/sigstore-js/tree/main/packages/verify
 * @see https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto (TrustedRoot)
 */
import { createHash, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import type * as SigstoreBundle from '@sigstore/bundle';
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';
import type { ParsedBundle } from './bundle';
import { describeIdentityRule, describeSubjectAltNames, fulcioIssuer, IdentityRule, matchesIdentity, subjectAltNames, SubjectAltName } from './x509-identity';
import { certificateName, validateCertificatePath } from './x509-path';
import { UsageError, VerificationError } from '../codec/errors';
import { isJsonObject } from '../codec/json';
import { parseRfc3339 } from '../codec/time';

/** The media type of a Sigstore trusted root (protobuf-specs `TrustedRoot`). */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/**
 * Where the shipped trusted root comes from: the `trusted_root.json` target embedded in the `seeds.json` of the npm
 * package `@sigstore/tuf` 5.0.1 (Apache-2.0), the offline seed sigstore-js ships for its TUF client, copied
 * unchanged (`src/runtime/engine/sigstore/trusted_root.json`).
 */
export const SHIPPED_TRUSTED_ROOT_ORIGIN = 'the Sigstore public-good trusted root from the @sigstore/tuf 5.0.1 seed (npm, published 2026-11-05)';
/** When the shipped root was published in its source (the @sigstore/tuf 5.0.1 release): its age counts from here. */
export const SHIPPED_TRUSTED_ROOT_DATE = new Date('2026-11-05T00:19:12Z');
/** SHA-256 of the shipped file, checked by a test against the copy in ../shared. */
export const SHIPPED_TRUSTED_ROOT_SHA256 = '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66';
/** Age after which using the shipped root draws a warning: keys rotate and logs shard (Rekor's 2025 shard came in 2025-09). */
export const DEFAULT_TRUSTED_ROOT_MAX_AGE_DAYS = 180;

/** A Sigstore trusted root, read and checked for shape. */
export interface SigstoreTrustedRoot {
  /** The JSON document (protobuf JSON of `TrustedRoot`). */
  readonly json: Record<string, unknown>;
  /** Where it came from: a file path, or {@link SHIPPED_TRUSTED_ROOT_ORIGIN}. */
  readonly source: string;
  /** Whether it is the root shipped in the package. */
  readonly shipped: boolean;
  /** SHA-256 of its bytes (hex). */
  readonly sha256: string;
  /** The latest `validFor.start` of any key or certificate authority in it: the newest material it knows. */
  readonly newestKeyStart?: Date;
}

/** What `verify sigstore` and a trust policy's `sigstore` signer require of a keyless bundle. */
export interface SigstoreTrust {
  /** The trusted root (Fulcio CAs, Rekor and CT log keys, TSAs). */
  readonly trustedRoot: SigstoreTrustedRoot;
  /** The identity the certificate must name in a subject alternative name: exact, or an anchored regex. */
  readonly identity: IdentityRule;
  /** The OIDC issuer the certificate must record (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1), exactly. */
  readonly issuer: string;
}

/** A keyless bundle whose Sigstore layer and identity verified. */
export interface VerifiedKeyless {
  /** The Fulcio leaf certificate. */
  readonly certificate: X509Certificate;
  /** Its subject alternative names. */
  readonly subjectAltNames: SubjectAltName[];
  /** The OIDC issuer it records. */
  readonly issuer: string;
  /** The Rekor `integratedTime` of each entry, in bundle order: when the log saw the signature. */
  readonly integratedTimes: Date[];
}

/* eslint-disable @typescript-eslint/no-require-imports, import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library */
const sigstore = () => ({
  bundle: require('@sigstore/bundle') as typeof SigstoreBundle,
  specs: require('@sigstore/protobuf-specs') as typeof ProtobufSpecs,
  verify: require('@sigstore/verify') as typeof SigstoreVerify,
});

let shipped: SigstoreTrustedRoot | undefined;

/** The root shipped in the package (bundled into the CLI by esbuild); one object per process. */
export function shippedTrustedRoot(): SigstoreTrustedRoot {
  shipped ??= checkTrustedRoot(JSON.parse(JSON.stringify(require('./sigstore/trusted_root.json'))), SHIPPED_TRUSTED_ROOT_ORIGIN, true, SHIPPED_TRUSTED_ROOT_SHA256);
  return shipped;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Reads a trusted root file (`--trusted-root`, a policy's `trustedRoot`): for a private Sigstore instance or a fresher
 * copy of the public one (`cosign initialize` and sigstore-js keep one from TUF).
 *
 * @throws UsageError when the file cannot be read, is not JSON, or is not a trusted root
 */
export async function readTrustedRoot(file: string): Promise<SigstoreTrustedRoot> {
  let data: Buffer;
  try {
    data = await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read Sigstore trusted root ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new UsageError(`Sigstore trusted root ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return checkTrustedRoot(doc, file, false, createHash('sha256').update(data).digest('hex'));
}

function checkTrustedRoot(doc: unknown, source: string, isShipped: boolean, sha256: string): SigstoreTrustedRoot {
  if (!isJsonObject(doc) || doc.mediaType !== TRUSTED_ROOT_MEDIA_TYPE) {
    throw new UsageError(
      `Sigstore trusted root ${source} is not a trusted root: mediaType is ${JSON.stringify(isJsonObject(doc) ? doc.mediaType : undefined)}; expected "${TRUSTED_ROOT_MEDIA_TYPE}"`);
  }
  for (const list of ['tlogs', 'certificateAuthorities', 'ctlogs', 'timestampAuthorities']) {
    if (doc[list] !== undefined && !Array.isArray(doc[list])) {
      throw new UsageError(`Sigstore trusted root ${source}: ${list} is not an array`);
    }
  }
  const starts: Date[] = [];
  for (const list of ['tlogs', 'certificateAuthorities', 'ctlogs', 'timestampAuthorities']) {
    for (const entry of (doc[list] as unknown[] | undefined) ?? []) {
      const e = isJsonObject(entry) ? entry : {};
      const validFor = isJsonObject(e.publicKey) ? e.publicKey.validFor : e.validFor;
      const start = isJsonObject(validFor) ? validFor.start : undefined;
      if (start !== undefined) {
        starts.push(parseRfc3339(start, `Sigstore trusted root ${source} ${list} validFor.start`, UsageError));
      }
    }
  }
  const newest = starts.length ? new Date(Math.max(...starts.map((d) => d.getTime()))) : undefined;
  return { json: doc, source, shipped: isShipped, sha256, ...(newest ? { newestKeyStart: newest } : {}) };
}

/**
 * A warning when the shipped root is older than `maxAgeDays` at `now` (undefined otherwise, and for roots given by
 * the user, whose age ModelSeal cannot know).
 */
export function trustedRootAgeWarning(root: SigstoreTrustedRoot, now: Date, maxAgeDays = DEFAULT_TRUSTED_ROOT_MAX_AGE_DAYS): string | undefined {
  if (!root.shipped) {
    return undefined;
  }
  const days = Math.floor((now.getTime() - SHIPPED_TRUSTED_ROOT_DATE.getTime()) / 86_400_000);
  if (days <= maxAgeDays) {
    return undefined;
  }
  return `the Sigstore trusted root in use is ${root.source}, ${days} days old (over ${maxAgeDays}); keys rotate and new log shards ` +
    'appear, so bundles made since may not verify with it: pass a current root with --trusted-root FILE (for example the ' +
    'trusted_root.json that `cosign initialize` or sigstore-js fetch from the Sigstore TUF repository)';
}

const trustMaterials = new WeakMap<SigstoreTrustedRoot, SigstoreVerify.TrustMaterial>();

function trustMaterialOf(root: SigstoreTrustedRoot): SigstoreVerify.TrustMaterial {
  let tm = trustMaterials.get(root);
  if (!tm) {
    const { specs, verify } = sigstore();
    try {
      // TrustedRoot.fromJSON is required: the raw JSON makes every verification fail with TIMESTAMP_ERROR
      tm = verify.toTrustMaterial(specs.TrustedRoot.fromJSON(root.json));
    } catch (e) {
      throw new UsageError(`Sigstore trusted root ${root.source} cannot be used: ${(e as Error).message}`);
    }
    trustMaterials.set(root, tm);
  }
  return tm;
}

/** What each @sigstore/verify error code means for a user, after its own message. */
const HINTS: Record<string, string> = {
  TLOG_INCLUSION_PROMISE_ERROR: 'the Rekor entry\'s inclusion promise does not verify with the log keys of the trusted root (is the bundle\'s log in it?)',
  TLOG_INCLUSION_PROOF_ERROR: 'the Rekor entry\'s inclusion proof does not verify with the log keys of the trusted root (is the bundle\'s log in it?)',
  TLOG_MISSING_INCLUSION_ERROR: 'the Rekor entry carries neither an inclusion promise nor an inclusion proof',
  TLOG_BODY_ERROR: 'the Rekor entry records another signature or payload than the bundle\'s: the bundle was altered',
  TLOG_ERROR: 'the bundle has too few Rekor entries',
  CERTIFICATE_ERROR: 'the Fulcio certificate does not verify with the trusted root (its CA, or the SCT from a CT log the root lists)',
  TIMESTAMP_ERROR: 'a timestamp does not verify with the trusted root (a Rekor entry without an inclusion promise gives no time; an RFC 3161 token needs its TSA in the root)',
  SIGNATURE_ERROR: 'the DSSE signature does not verify with the certificate\'s key: the statement or signature was altered',
  PUBLIC_KEY_ERROR: 'the bundle names a key the trusted root does not hold',
};

/**
 * Verifies a keyless bundle's Sigstore layer offline and requires the identity and issuer of `trust`.
 *
 * @param bundleJson the bundle document, as parsed from the file
 * @param bundle the same bundle, parsed by the engine (its payload must be the bytes sigstore-js verified)
 * @throws VerificationError naming the failed check; UsageError when the trusted root is unusable
 */
export async function verifyKeylessBundle(
  bundleJson: Record<string, unknown>, bundle: ParsedBundle, trust: SigstoreTrust, source: string,
): Promise<VerifiedKeyless> {
  const { bundle: sb, verify } = sigstore();
  let parsed: SigstoreBundle.Bundle;
  try {
    parsed = sb.bundleFromJSON(bundleJson);
  } catch (e) {
    throw new VerificationError(`${source} is not a valid Sigstore keyless bundle: ${(e as Error).message}`);
  }
  try {
    new verify.Verifier(trustMaterialOf(trust.trustedRoot), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 })
      .verify(verify.toSignedEntity(parsed));
  } catch (e) {
    if (e instanceof UsageError) {
      throw e;
    }
    const err = e as { code?: string; message?: string; cause?: { message?: string } };
    const cause = err.cause?.message ? ` (${err.cause.message})` : '';
    const hint = err.code && HINTS[err.code] ? `: ${HINTS[err.code]}` : '';
    throw new VerificationError(
      `${source} does not verify with the Sigstore trusted root ${trust.trustedRoot.source}: ${err.code ?? 'error'} ${err.message ?? String(e)}${cause}${hint}`);
  }
  if (parsed.content.$case !== 'dsseEnvelope' || !Buffer.from(parsed.content.dsseEnvelope.payload).equals(bundle.payload)) {
    throw new VerificationError(`${source}: the statement sigstore-js verified is not the DSSE payload the engine read`);
  }
  const material = parsed.verificationMaterial.content;
  if (material.$case !== 'certificate') {
    throw new VerificationError(`${source} is not a keyless bundle: its verification material is ${material.$case}, not a Fulcio certificate`);
  }
  const certificate = new X509Certificate(Buffer.from(material.certificate.rawBytes));
  const sans = subjectAltNames(certificate);
  const issuer = fulcioIssuer(certificate);
  if (issuer === undefined) {
    throw new VerificationError(`${source}: certificate ${certificateName(certificate)} records no OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1)`);
  }
  if (!sans.some((s) => matchesIdentity(s.value, trust.identity))) {
    throw new VerificationError(
      `${source} is signed by another identity: the certificate names ${describeSubjectAltNames(sans)}, not ${describeIdentityRule(trust.identity)}`);
  }
  if (issuer !== trust.issuer) {
    throw new VerificationError(
      `${source} is signed through another identity provider: the certificate's OIDC issuer is ${JSON.stringify(issuer)}, not ${JSON.stringify(trust.issuer)}`);
  }
  const integratedTimes = parsed.verificationMaterial.tlogEntries.map((t) => new Date(Number(t.integratedTime) * 1000));
  return { certificate, subjectAltNames: sans, issuer, integratedTimes };
}

/**
 * Whether a Fulcio certificate was issued to `trust`'s identity and issuer by a certificate authority of its trusted
 * root, without the rest of the bundle: the chain is checked at the middle of the certificate's own (short) validity,
 * not at a verified time. For attributing a keyless record that does not verify as a whole (a damaged revocation),
 * never for accepting a signature: only Fulcio can issue a certificate naming the identity, so the identity's owner
 * made it.
 */
export async function issuedByFulcioTo(certificate: X509Certificate, trust: SigstoreTrust): Promise<boolean> {
  let issuer: string | undefined;
  try {
    issuer = fulcioIssuer(certificate);
  } catch {
    return false;
  }
  if (issuer !== trust.issuer || !subjectAltNames(certificate).some((s) => matchesIdentity(s.value, trust.identity))) {
    return false;
  }
  const cas = (trust.trustedRoot.json.certificateAuthorities as { certChain?: { certificates?: { rawBytes?: string }[] } }[] | undefined) ?? [];
  const anchors: X509Certificate[] = [];
  for (const ca of cas) {
    for (const c of ca.certChain?.certificates ?? []) {
      try {
        anchors.push(new X509Certificate(Buffer.from(c.rawBytes ?? '', 'base64')));
      } catch {
        // an unreadable CA certificate anchors nothing
      }
    }
  }
  const from = new Date(certificate.validFrom).getTime();
  const to = new Date(certificate.validTo).getTime();
  try {
    await validateCertificatePath(certificate, [], anchors, {
      at: new Date(from + Math.floor((to - from) / 2)), atSource: 'the middle of its validity', purpose: 'codeSigning',
    });
    return true;
  } catch {
    return false;
  }
}
