/**
 * The trust-policy decision: given everything the store holds for a root digest, did the parties the policy demands
 * sign one and the same manifest (engine/manifest.ts: names, digests and serialization options; the root digest binds
 * only the contents), is it accompanied by the evidence the policy demands, and is it not revoked by a revoker?
 *
 * Fails closed throughout. An object that does not verify, a key the policy does not know, a statement about
 * another digest, a CEL error: none of them ever counts toward a requirement, and each is reported with its reason.
 * Anything unexpected (a bug, a KMS outage while resolving a policy key) denies.
 */
import { KeyObject, verify as cryptoVerify, X509Certificate } from 'crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SignerClient } from '@aws-sdk/client-signer';
import type { CertificateIdentity, PolicyAttestation, PolicyRequirement, TrustPolicy } from './load';
import { parseRevocationPredicate, REVOCATION_PREDICATE_TYPE } from './revocation';
import { STORE_FOLDERS } from '../../shared/store-layout';
import { parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { compareCodeUnits } from '../codec/jcs';
import { decodeStatement, subjectDigests } from '../codec/statement';
import { parseBundle, ParsedBundle } from '../engine/bundle';
import { CODE_SIGNING_EKU, verifyCertificateChain } from '../engine/certificates';
import { verifyStatementBundle, VerifiedStatement } from '../engine/cosign';
import { assertDerSignature, curveOf, hashForCurve, keyHint } from '../engine/keys';
import { statementManifestDigest } from '../engine/manifest';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../engine/pae';
import { issuedByFulcioTo, SigstoreTrust, trustedRootAgeWarning } from '../engine/sigstore-keyless';
import { certificateCheckTimes, VerificationTrust } from '../engine/verify';
import { describeIdentityRule, describeSubjectAltNames, subjectAltNames } from '../engine/x509-identity';
import { toPkijs } from '../engine/x509-path';
import { verifyNotationSignature } from '../signers/aws-signer';
import { kmsPublicKey } from '../signers/kms';
import { fetchAttestationSet, FetchOptions } from '../store/attestation-set';
import type { AttestationSet, FetchStats, ObjectStore, StoredObject } from '../store/types';

/** Options of {@link checkPolicy}. */
export interface CheckOptions {
  /** KMS client used to resolve `kmsKeyArn` keys (tests inject a mock). @default - a client per key's region */
  readonly kmsClient?: KMSClient;
  /**
   * Resolves a `kmsKeyArn` to its public key instead of a GetPublicKey call per check: the verifier service passes a
   * cache, so each key is fetched once. A rejection denies like a failed GetPublicKey.
   *
   * @default - GetPublicKey with `kmsClient`
   */
  readonly kmsPublicKey?: (keyArn: string) => Promise<KeyObject>;
  /** AWS Signer client for Notation revocation checks (tests inject a mock). @default - a client per profile's region */
  readonly signerClient?: SignerClient;
  /**
   * The verifier's current time: for Notation signatures, and for certificates of bundles without a trusted RFC 3161
   * timestamp (the time rule of docs/SIGNING.md).
   *
   * @default new Date()
   */
  readonly now?: Date;
  /**
   * Limits of the store read (per-object size, objects and bytes per root) and its abort signal (the verifier's
   * deadline); the policy's own key hints are always read first.
   *
   * @default - the defaults of store/attestation-set.ts (1 MiB per object, 256 objects and 16 MiB per root)
   */
  readonly fetch?: Omit<FetchOptions, 'preferSigners'>;
}

/** Which store folder an object came from. */
export type ObjectGroup = 'bundle' | 'attestation' | 'notation' | 'revocation';

/** What was found out about one stored object. */
export interface SignatureFinding {
  /** The store key. */
  readonly key: string;
  /** The folder it came from. */
  readonly kind: ObjectGroup;
  /** The statement's predicate type, when the bundle could be read. */
  readonly predicateType?: string;
  /** The policy signer it was verified as; absent for unknown keys and unreadable objects. */
  readonly signer?: string;
  /** The signing key's hint (the leaf's, for certificates), when known. */
  readonly keyHint?: string;
  /** True when the signature was checked and verified with a key the policy names. */
  readonly verified: boolean;
  /** True when the object counts toward a requirement (verified, and about this root). */
  readonly counted: boolean;
  /** Why it verified or why not, in one line. */
  readonly reason: string;
  /** For OMS model signatures that verified: the manifest digest (`sha256:<hex>`) the signature is over. */
  readonly manifest?: string;
}

/** A signer requirement and how far it was met. */
export interface RequirementResult {
  /** `require`, or `attestations[i] <predicateType>`. */
  readonly name: string;
  readonly mode: 'allOf' | 'atLeast';
  readonly atLeast: number;
  readonly of: readonly string[];
  /** Distinct signers (of `of`) whose verified signatures count. */
  readonly signedBy: string[];
  /** Signers of `of` with no counting signature. */
  readonly missing: string[];
  readonly met: boolean;
  /**
   * For the model-signature requirement: the manifest (`sha256:<hex>`) it was evaluated on, i.e. the one chosen, or
   * when none meets it the one that came closest. Signatures over different manifests never add up.
   */
  readonly manifest?: string;
}

/** One manifest that verified model signatures for this root are over, and who signed it. */
export interface ManifestResult {
  /** `sha256:<hex>` of the canonical manifest (engine/manifest.ts). */
  readonly digest: string;
  /** Number of resources (files or shards) it lists. */
  readonly resources: number;
  /** Distinct policy signers whose verified signatures (OMS bundles, AWS Signer co-signatures) count for it. */
  readonly signedBy: string[];
  /** Whether these signers meet the policy's `require`. */
  readonly meetsRequirement: boolean;
  /** Whether the decision chose it (at most one manifest is chosen: the smallest digest of those that meet it). */
  readonly chosen: boolean;
}

/** One condition's outcome on one attestation. */
export interface ConditionResult {
  readonly name: string;
  readonly passed: boolean;
  readonly message: string;
}

/** The conditions evaluated on one verified attestation. */
export interface AttestationResult {
  readonly predicateType: string;
  readonly key: string;
  readonly signer: string;
  readonly conditions: ConditionResult[];
}

/** What was made of one revocation record. */
export interface RevocationResult {
  readonly key: string;
  /** The signer it verified as, if any. */
  readonly by?: string;
  readonly keyHint?: string;
  /** `revokedAt` from the record, when it could be read. */
  readonly at?: string;
  /** `reason` from the record, when it could be read. */
  readonly reason?: string;
  /** `honoured` denies the digest; `ignored` is reported only. */
  readonly status: 'honoured' | 'ignored';
  /** Why it was ignored. */
  readonly ignoredBecause?: string;
}

/** The outcome of a policy check. */
export interface CheckReport {
  readonly decision: 'allow' | 'deny';
  /** What reading the store cost (objects listed and fetched, bytes fetched, objects refused unread), for checks of a store. */
  readonly store?: FetchStats;
  /** The root digest checked (hex). */
  readonly root: string;
  /**
   * The manifest that met the policy, `sha256:<hex>` of its canonical form (engine/manifest.ts); the model files
   * must match exactly this manifest. Undefined when denied, and when the signatures that met the policy bind only
   * the root digest (AWS Signer co-signatures with no OMS bundle beside them).
   */
  readonly manifest: string | undefined;
  /** Every manifest verified model signatures are over, with who signed it. */
  readonly manifests: ManifestResult[];
  /** The policy's source. */
  readonly policy: string;
  /** Why the digest is denied (empty when allowed). */
  readonly reasons: string[];
  /** Things that were found and did not count: unknown keys, signatures that do not verify, ignored revocations. */
  readonly notes: string[];
  readonly signatures: SignatureFinding[];
  readonly requirements: RequirementResult[];
  readonly attestations: AttestationResult[];
  readonly revocations: RevocationResult[];
}

/** A policy key ready to verify with. */
interface KnownKey {
  readonly key: KeyObject;
  readonly signers: Set<string>;
  readonly source: string;
}

interface Identified {
  /** The policy signers the object's key or certificate identifies (one, normally; several is a policy error). */
  readonly signers: string[];
  readonly keyHint?: string;
  readonly statement?: VerifiedStatement;
  readonly predicateType?: string;
  readonly reason: string;
}

/**
 * Fetches the attestation set for `root` from `store` and checks it against `policy`.
 *
 * A store object that fails its integrity check (bytes that do not match the content address) denies: the set is
 * not trustworthy. Store access and availability errors propagate (the question could not be asked).
 */
export async function checkStore(policy: TrustPolicy, store: ObjectStore, root: string, opts: CheckOptions = {}): Promise<CheckReport> {
  return (await checkStoreWithSet(policy, store, root, opts)).report;
}

/**
 * {@link checkStore}, also returning the attestation set the decision was made on (undefined when it could not be
 * read intact), so that a caller can take the chosen manifest from it (policy/decision.ts).
 */
export async function checkStoreWithSet(
  policy: TrustPolicy, store: ObjectStore, root: string, opts: CheckOptions = {},
): Promise<{ report: CheckReport; set?: AttestationSet }> {
  const hex = parseRootDigest(root);
  let set: AttestationSet;
  try {
    set = await fetchAttestationSet(store, hex, { ...opts.fetch, preferSigners: policyKeyHints(policy) });
  } catch (e) {
    if (e instanceof VerificationError) {
      return { report: denyAll(policy, hex, `the store's attestation set for sha256:${hex} failed its integrity check: ${e.message}`) };
    }
    throw e;
  }
  const report = await checkPolicy(policy, set, opts);
  return { report: set.stats ? { ...report, store: set.stats } : report, set };
}

/**
 * The key hints of the policy's bare public keys: their store folders are read first (store/attestation-set.ts). KMS
 * keys are not resolved before the read, and certificate or Sigstore signers have no folder known in advance.
 */
export function policyKeyHints(policy: TrustPolicy): string[] {
  return [...new Set(policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'publicKey' ? [k.hint] : []))))];
}

/**
 * Checks an attestation set against a trust policy. Never throws for anything found in the set; unexpected
 * failures become a deny with the reason.
 */
export async function checkPolicy(policy: TrustPolicy, set: AttestationSet, opts: CheckOptions = {}): Promise<CheckReport> {
  try {
    return await evaluate(policy, set, opts);
  } catch (e) {
    return denyAll(policy, set.root, `unexpected error while checking the policy (failing closed): ${(e as Error)?.message ?? String(e)}`);
  }
}

async function evaluate(policy: TrustPolicy, set: AttestationSet, opts: CheckOptions): Promise<CheckReport> {
  const root = set.root;
  const reasons: string[] = [];
  const notes: string[] = [];
  const signatures: SignatureFinding[] = [];

  const keys = await resolveKeys(policy, opts, reasons);
  const trustedRoots = new Set(policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'sigstore' ? [k.trust.trustedRoot] : []))));
  for (const trustedRoot of trustedRoots) {
    const old = trustedRootAgeWarning(trustedRoot, opts.now ?? new Date());
    if (old) {
      notes.push(old);
    }
  }
  const context: IdentifyContext = {
    keys,
    certs: policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'certificate' ? [{ signer: s.name, identity: k.identity }] : []))),
    sigstores: policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'sigstore' ? [{ signer: s.name, trust: k.trust }] : []))),
    timestampAuthorities: policy.timestampAuthorities,
    now: opts.now ?? new Date(),
  };
  const awsSigners = policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'awsSigner' ? [{ signer: s.name, key: k }] : [])));

  const record = (obj: StoredObject, kind: ObjectGroup, id: Identified, counted: boolean, reason = id.reason, manifest?: string) => {
    const f: SignatureFinding = {
      key: obj.key,
      kind,
      ...(id.predicateType !== undefined ? { predicateType: id.predicateType } : {}),
      ...(id.signers.length === 1 ? { signer: id.signers[0] } : {}),
      ...(id.keyHint !== undefined ? { keyHint: id.keyHint } : {}),
      verified: id.statement !== undefined,
      counted,
      reason,
      ...(manifest !== undefined ? { manifest } : {}),
    };
    signatures.push(f);
    if (!counted && kind !== 'revocation') {
      notes.push(`${obj.key}: not counted: ${reason}`);
    }
    return f;
  };
  const identifySafely = async (obj: StoredObject): Promise<Identified> => {
    try {
      return await identify(obj, context);
    } catch (e) {
      if (e instanceof VerificationError || e instanceof UsageError) {
        return { signers: [], reason: e.message };
      }
      reasons.push(`unexpected error while verifying ${obj.key} (failing closed): ${(e as Error)?.message ?? String(e)}`);
      return { signers: [], reason: `unexpected error: ${(e as Error)?.message ?? String(e)}` };
    }
  };
  const aboutRoot = (st: VerifiedStatement): string | undefined =>
    st.subjectDigests.length === 1 && st.subjectDigests[0] === root
      ? undefined
      : `the statement is about ${st.subjectDigests.map((d) => `sha256:${d}`).join(', ')}, not sha256:${root}`;
  const legacy = (st: VerifiedStatement): string | undefined => (st.legacyFormats.length > 0 && !policy.allowLegacyFormats
    ? `it uses an older format (${st.legacyFormats.join('; ')}); the trust policy counts only current OMS v1.0 bundles (set allowLegacyFormats: true to count them)`
    : undefined);
  // One public key is one party: a key that verified as two different signers makes the policy ambiguous.
  const keyOwners = new Map<string, Set<string>>();
  const oneParty = (id: Identified, obj: StoredObject): boolean => {
    if (id.signers.length > 1) {
      reasons.push(`${obj.key}: its key ${id.keyHint ?? ''} matches several signers of the policy (${id.signers.join(', ')}); one key must identify one party (failing closed)`);
      return false;
    }
    if (id.keyHint !== undefined) {
      const owners = keyOwners.get(id.keyHint) ?? new Set<string>();
      owners.add(id.signers[0]);
      keyOwners.set(id.keyHint, owners);
    }
    return true;
  };

  for (const r of set.rejected ?? []) {
    if (!r.key.startsWith(STORE_FOLDERS.revocations)) {
      notes.push(`${r.key}: not counted: ${r.reason}`);
    }
  }

  // Model signatures, grouped by the manifest they are over.
  const manifests = new Map<string, { resources: number; signers: Set<string> }>();
  for (const obj of set.bundles) {
    const id = await identifySafely(obj);
    if (!id.statement || id.signers.length === 0) {
      record(obj, 'bundle', id, false);
      continue;
    }
    if (!id.statement.oms) {
      record(obj, 'bundle', id, false, `predicateType ${id.statement.predicateType} is not an OMS model signature`);
      continue;
    }
    const why = aboutRoot(id.statement) ?? legacy(id.statement);
    if (why) {
      record(obj, 'bundle', id, false, why);
      continue;
    }
    let manifest: string;
    try {
      manifest = statementManifestDigest(id.statement.oms, id.statement.statement);
    } catch (e) {
      record(obj, 'bundle', id, false, `its manifest has no canonical form: ${(e as Error).message}`);
      continue;
    }
    if (!oneParty(id, obj)) {
      record(obj, 'bundle', id, false, `its key matches several signers (${id.signers.join(', ')})`, manifest);
      continue;
    }
    const group = manifests.get(manifest) ?? { resources: id.statement.oms.manifest.resources.length, signers: new Set<string>() };
    group.signers.add(id.signers[0]);
    manifests.set(manifest, group);
    record(obj, 'bundle', id, true, `${id.reason}; manifest ${manifest}`, manifest);
  }

  // AWS Signer (Notation) co-signatures sign the root digest only, not a manifest: they count for the one manifest
  // the OMS signatures of this root are over, and for none when those disagree.
  const rootOnly = new Set<string>();
  const ambiguity = manifests.size > 1
    ? `an AWS Signer co-signature signs only the root digest, and the OMS signatures of this root are over ${manifests.size} different manifests; it cannot say which one it endorses`
    : undefined;
  for (const obj of set.notation) {
    if (awsSigners.length === 0) {
      record(obj, 'notation', { signers: [], reason: 'the policy names no awsSigner key, so Notation signatures are not checked' }, false);
      continue;
    }
    const failures: string[] = [];
    let matched: { signer: string; profile: string } | undefined;
    for (const a of awsSigners) {
      try {
        const v = await verifyNotationSignature(obj.body, {
          root,
          trustedRoots: a.key.trustedRoots,
          profileArn: a.key.profileArn,
          ...(opts.signerClient ? { client: opts.signerClient } : {}),
          ...(opts.now ? { now: opts.now } : {}),
          source: obj.key,
        });
        matched = { signer: a.signer, profile: v.profileVersionArn };
        break;
      } catch (e) {
        if (!(e instanceof VerificationError || e instanceof UsageError)) {
          reasons.push(`unexpected error while verifying ${obj.key} (failing closed): ${(e as Error)?.message ?? String(e)}`);
        }
        failures.push(`${a.signer}: ${(e as Error)?.message ?? String(e)}`);
      }
    }
    if (!matched) {
      signatures.push({ key: obj.key, kind: 'notation', verified: false, counted: false, reason: failures.join('; ') });
      notes.push(`${obj.key}: not counted: ${failures.join('; ')}`);
      continue;
    }
    const verified = `verified: AWS Signer ${matched.profile} (signer ${matched.signer})`;
    if (ambiguity) {
      signatures.push({ key: obj.key, kind: 'notation', signer: matched.signer, verified: true, counted: false, reason: `${verified}; not counted: ${ambiguity}` });
      notes.push(`${obj.key}: not counted: ${ambiguity}`);
      continue;
    }
    const only = [...manifests.keys()][0];
    if (only === undefined) {
      rootOnly.add(matched.signer);
    } else {
      manifests.get(only)!.signers.add(matched.signer);
    }
    signatures.push({ key: obj.key, kind: 'notation', signer: matched.signer, verified: true, counted: true, reason: verified, ...(only ? { manifest: only } : {}) });
  }

  // The requirement is met by the signers of one manifest; several manifests meeting it: the smallest digest wins.
  const groups: { digest: string | undefined; signers: Set<string>; resources: number }[] = [...manifests.entries()]
    .map(([digest, g]) => ({ digest, signers: g.signers, resources: g.resources }));
  if (groups.length === 0) {
    groups.push({ digest: undefined, signers: rootOnly, resources: 0 });
  }
  const evaluated = groups.map((g) => ({ ...g, result: requirementResult('require', policy.require, g.signers) }))
    .sort((a, b) => compareCodeUnits(a.digest ?? '', b.digest ?? ''));
  const meeting = evaluated.filter((g) => g.result.met);
  const closest = [...evaluated].sort((a, b) => b.result.signedBy.length - a.result.signedBy.length)[0];
  const chosen = meeting[0];
  const shown = chosen ?? closest;
  const requirements: RequirementResult[] = [];
  const requireResult: RequirementResult = { ...shown.result, ...(shown.digest !== undefined ? { manifest: shown.digest } : {}) };
  requirements.push(requireResult);
  if (!chosen) {
    let why = describeUnmet('model signatures', requireResult);
    if (evaluated.length > 1) {
      why += `; signatures over different manifests never add up: ${evaluated.map((g) => `${g.digest} signed by ${g.result.signedBy.length ? g.result.signedBy.join(', ') : 'none'}`).join(', ')}`;
    }
    reasons.push(why);
  }
  for (const other of meeting.slice(1)) {
    notes.push(`manifest ${other.digest} also meets the signer requirement (signed by ${other.result.signedBy.join(', ')}); the decision uses ${chosen.digest}, the smallest digest, and the model files must match it`);
  }
  const manifestResults: ManifestResult[] = evaluated.filter((g) => g.digest !== undefined).map((g) => ({
    digest: g.digest!,
    resources: g.resources,
    signedBy: g.result.signedBy,
    meetsRequirement: g.result.met,
    chosen: g === chosen,
  }));

  // Attestations bind to the root digest (an SBOM or provenance describes the model's contents).
  const verifiedAttestations: { obj: StoredObject; signer: string; statement: VerifiedStatement }[] = [];
  for (const obj of set.attestations) {
    const id = await identifySafely(obj);
    if (!id.statement || id.signers.length === 0) {
      record(obj, 'attestation', id, false);
      continue;
    }
    const why = aboutRoot(id.statement) ?? legacy(id.statement);
    if (why) {
      record(obj, 'attestation', id, false, why);
      continue;
    }
    if (!oneParty(id, obj)) {
      record(obj, 'attestation', id, false, `its key matches several signers (${id.signers.join(', ')})`);
      continue;
    }
    record(obj, 'attestation', id, true);
    verifiedAttestations.push({ obj, signer: id.signers[0], statement: id.statement });
  }
  const attestations: AttestationResult[] = [];
  policy.attestations.forEach((req, i) => {
    const r = evaluateAttestation(req, i, policy, verifiedAttestations);
    requirements.push(r.requirement);
    attestations.push(...r.results);
    reasons.push(...r.reasons);
  });

  for (const [hint, owners] of keyOwners) {
    if (owners.size > 1) {
      reasons.push(`key ${hint} signed as ${[...owners].join(' and ')}: the policy names one key for several signers (one as a key, another through a certificate identity); one key must identify one party (failing closed)`);
    }
  }

  const revocations = await evaluateRevocations(policy, set, context, { identifySafely, record, reasons, notes, signatures });

  const decision = reasons.length === 0 ? 'allow' : 'deny';
  return {
    decision,
    root,
    manifest: decision === 'allow' ? chosen?.digest : undefined,
    manifests: manifestResults,
    policy: policy.source,
    reasons,
    notes,
    signatures,
    requirements,
    attestations,
    revocations,
  };
}

interface RevocationContext {
  readonly identifySafely: (obj: StoredObject) => Promise<Identified>;
  readonly record: (obj: StoredObject, kind: ObjectGroup, id: Identified, counted: boolean, reason?: string) => SignatureFinding;
  readonly reasons: string[];
  readonly notes: string[];
  readonly signatures: SignatureFinding[];
}

/**
 * Revocations: only records a revoker of the policy cryptographically signed count. A valid record signed by a
 * revoker denies. So does a record whose DSSE signature verifies under a revoker's key (for certificate revokers: the
 * chain validates to the identity's trust anchors, the leaf carries the identity, and the signature verifies under
 * the leaf's key; for Sigstore revokers: a CA of the trusted root issued the Fulcio certificate to the identity and
 * issuer, and the signature verifies under it) but that is otherwise unusable: a malformed predicate, a certificate
 * outside its validity, a missing transparency-log entry. A revoker signed it, so it says "revoke": fail closed. A
 * record a revoker signed about another subject, or a statement of another kind, is intact and says nothing about
 * this root: copied here by whoever may write `revocations/`, it is ignored (reported), so it cannot veto.
 *
 * Nothing else is attributed to a revoker: not a key hint (the bundle's `publicKey.hint` and the `<signer>` segment of
 * the store key are public and unverified), not a certificate alone (public certificates can be replayed with any
 * signature). Everything that does not verify under a revoker (junk, records by other signers or unknown keys,
 * forged records naming a revoker's hint) is reported as ignored with the reason, so that whoever can write to
 * `revocations/` cannot veto a digest.
 */
async function evaluateRevocations(
  policy: TrustPolicy,
  set: AttestationSet,
  trust: IdentifyContext,
  ctx: RevocationContext,
): Promise<RevocationResult[]> {
  const root = set.root;
  const revocations: RevocationResult[] = [];
  const revokers = new Set(policy.revokers);
  const failClosed = (key: string, by: string, hint: string, why: string) => {
    revocations.push({ key, by, keyHint: hint, status: 'honoured' });
    ctx.reasons.push(`sha256:${root} has a revocation object ${key} signed by revoker ${by} (its signature verifies under the key ${hint}) that cannot be used (${why}); failing closed: a record a revoker signed still revokes`);
  };
  const junk = (why: string) => `not signed by a revoker of the policy (no revoker's key verifies its signature): ${why}`;

  for (const obj of set.revocations) {
    const id = await ctx.identifySafely(obj);
    const ignore = (why: string, extra: Partial<RevocationResult> = {}) => {
      ctx.record(obj, 'revocation', id, false, why);
      revocations.push({ key: obj.key, ...(id.statement && id.signers.length === 1 ? { by: id.signers[0] } : {}), ...(id.keyHint ? { keyHint: id.keyHint } : {}), ...extra, status: 'ignored', ignoredBecause: why });
      ctx.notes.push(`revocation ${obj.key} ignored: ${why}`);
    };
    if (!id.statement || id.signers.length === 0) {
      const signed = await revokerSignatureOf(obj.body, trust, revokers);
      const elsewhere = signed === undefined || obj.body === undefined ? undefined : notARevocationOf(obj.body, root);
      if (signed !== undefined && elsewhere !== undefined) {
        ignore(`signed by revoker ${signed.by} but not a revocation of this root: ${elsewhere}`, { by: signed.by, keyHint: signed.keyHint });
      } else if (signed !== undefined) {
        ctx.record(obj, 'revocation', id, true, `signed by revoker ${signed.by} but not usable: ${id.reason}`);
        failClosed(obj.key, signed.by, signed.keyHint, id.reason);
      } else {
        ignore(junk(id.reason));
      }
      continue;
    }
    const revoker = id.signers.find((n) => revokers.has(n));
    if (revoker === undefined) {
      let details: Partial<RevocationResult> = {};
      try {
        const pred = parseRevocationPredicate(id.statement.predicate, obj.key);
        details = { at: pred.revokedAt, reason: pred.reason };
      } catch {
        // reported as ignored either way
      }
      ignore(`signer ${id.signers.join(', ')} is not a revoker (revokers: ${policy.revokers.length ? policy.revokers.join(', ') : 'none'})`, details);
      continue;
    }
    const off = revocationMismatch(id.statement.predicateType, id.statement.subjectDigests, root);
    if (off) {
      // intact bytes a revoker signed about something else (copied here by whoever may write revocations/): they say
      // nothing about this root, so they revoke nothing here
      ignore(`signed by revoker ${revoker} but not a revocation of this root: ${off}`);
      continue;
    }
    let pred;
    try {
      pred = parseRevocationPredicate(id.statement.predicate, obj.key);
    } catch (e) {
      // A revoker signed it: whatever its shape, it says "revoke". Fail closed rather than ignore it.
      ctx.record(obj, 'revocation', id, true, `verified: revoked by ${revoker} (malformed record)`);
      revocations.push({ key: obj.key, by: revoker, ...(id.keyHint ? { keyHint: id.keyHint } : {}), status: 'honoured' });
      ctx.reasons.push(`sha256:${root} was revoked by ${revoker} with a malformed record (${(e as Error).message})`);
      continue;
    }
    // Revocations count in every format (legacy ones too): denying is always the safe reading.
    ctx.record(obj, 'revocation', id, true, `verified: revoked by ${revoker}`);
    revocations.push({ key: obj.key, by: revoker, ...(id.keyHint ? { keyHint: id.keyHint } : {}), at: pred.revokedAt, reason: pred.reason, status: 'honoured' });
    ctx.reasons.push(`sha256:${root} was revoked by ${revoker} at ${pred.revokedAt}: ${pred.reason}`);
  }

  // A revocation the read budget left unread might be a revoker's record: it denies when it sits in a revoker's key
  // folder, or when a revoker signs with a certificate or Sigstore (whose folder cannot be known before reading).
  const revokerHints = new Set([...trust.keys].filter(([, k]) => [...k.signers].some((n) => revokers.has(n))).map(([h]) => h));
  const certRevoker = trust.certs.some((c) => revokers.has(c.signer)) || trust.sigstores.some((c) => revokers.has(c.signer));
  // Rejected objects keep their bytes under revocations/ (store/attestation-set.ts), so a revocation of this root a
  // revoker signed that was damaged in its layout still denies; a revoker's record about another root is ignored.
  for (const r of (set.rejected ?? []).filter((x) => x.key.startsWith(STORE_FOLDERS.revocations))) {
    const folder = /^revocations\/sha256\/[0-9a-f]{64}\/([0-9a-f]{64})\//.exec(r.key)?.[1];
    if (r.notRead === 'budget' && ((folder !== undefined && revokerHints.has(folder)) || certRevoker)) {
      const whose = folder !== undefined && revokerHints.has(folder) ? `it is in the folder of revoker ${[...trust.keys.get(folder)!.signers].join(', ')}'s key` : 'a revoker signs with a certificate or Sigstore, whose folder is not known before reading';
      ctx.signatures.push({ key: r.key, kind: 'revocation', verified: false, counted: true, reason: `not read (read budget spent) and possibly a revoker's record: ${whose}` });
      revocations.push({ key: r.key, status: 'honoured' });
      ctx.reasons.push(`sha256:${root} has a revocation object ${r.key} that was not read (${r.reason}); ${whose}, so it may be a revocation: failing closed`);
      continue;
    }
    const signed = await revokerSignatureOf(r.body, trust, revokers);
    const elsewhere = signed === undefined ? undefined : notARevocationOf(r.body!, root);
    if (signed !== undefined && elsewhere !== undefined) {
      const why = `signed by revoker ${signed.by} but not a revocation of this root: ${elsewhere}`;
      ctx.signatures.push({ key: r.key, kind: 'revocation', signer: signed.by, keyHint: signed.keyHint, verified: false, counted: false, reason: why });
      revocations.push({ key: r.key, by: signed.by, keyHint: signed.keyHint, status: 'ignored', ignoredBecause: why });
      ctx.notes.push(`revocation ${r.key} ignored: ${why}`);
    } else if (signed !== undefined) {
      ctx.signatures.push({ key: r.key, kind: 'revocation', signer: signed.by, keyHint: signed.keyHint, verified: false, counted: true, reason: `signed by revoker ${signed.by} but rejected by the store: ${r.reason}` });
      failClosed(r.key, signed.by, signed.keyHint, r.reason);
    } else {
      const why = junk(r.reason);
      ctx.signatures.push({ key: r.key, kind: 'revocation', verified: false, counted: false, reason: why });
      revocations.push({ key: r.key, status: 'ignored', ignoredBecause: why });
      ctx.notes.push(`revocation ${r.key} ignored: ${why}`);
    }
  }
  return revocations;
}

/**
 * Why a revoker-signed record is not a revocation of `root`: its statement is of another predicate type or about
 * other subjects. Undefined when it is a revocation of `root` or cannot be read that far (then a revoker signed
 * something unusable about this root, and it still denies).
 */
function notARevocationOf(body: Buffer, root: string): string | undefined {
  let st;
  try {
    st = decodeStatement(parseBundle(body, 'revocation').payload);
  } catch {
    return undefined;
  }
  if (st.predicateType !== REVOCATION_PREDICATE_TYPE) return revocationMismatch(st.predicateType, [], root);
  try {
    return revocationMismatch(st.predicateType, subjectDigests(st), root);
  } catch {
    return undefined;
  }
}

/** Why a statement of `predicateType` about `digests` is not a revocation of `root`; undefined when it is. */
function revocationMismatch(predicateType: string, digests: readonly string[], root: string): string | undefined {
  if (predicateType !== REVOCATION_PREDICATE_TYPE) return `predicateType ${predicateType} is not a revocation record`;
  return digests.length === 1 && digests[0] === root
    ? undefined
    : `the statement is about ${digests.map((d) => `sha256:${d}`).join(', ')}, not sha256:${root}`;
}

/**
 * Which revoker signed `body`, by cryptography alone: the DSSE signature (PAE of the payload, as
 * verifyBundleSignature computes it) verifies under a revoker's public key, under the leaf of a certificate chain
 * that validates to a revoker identity's trust anchors and carries its identity, or under a Fulcio certificate that a
 * CA of the trusted root issued to a revoker's Sigstore identity and issuer. Certificates are checked at the middle
 * of the leaf's own validity (attribution is about who signed, not about when: a revoker's record with an expired
 * certificate still denies). The bundle's key hint and the store key's signer segment are never used.
 *
 * @returns the revoker and the hint of the key that verified, or undefined (including for unreadable bytes)
 */
async function revokerSignatureOf(
  body: Buffer | undefined, trust: IdentifyContext, revokers: ReadonlySet<string>,
): Promise<{ by: string; keyHint: string } | undefined> {
  if (body === undefined || revokers.size === 0) {
    return undefined;
  }
  let bundle: ParsedBundle;
  try {
    bundle = parseBundle(body, 'revocation');
  } catch {
    return undefined;
  }
  const m = bundle.material;
  if (m.kind === 'publicKey') {
    for (const [hint, known] of trust.keys) {
      const by = [...known.signers].find((n) => revokers.has(n));
      if (by !== undefined && dsseSignatureVerifies(bundle, known.key)) {
        return { by, keyHint: hint };
      }
    }
    return undefined;
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(m.kind === 'certificate' ? m.certificate : m.certificates[0]);
  } catch {
    return undefined;
  }
  if (!dsseSignatureVerifies(bundle, leaf.publicKey)) {
    return undefined;
  }
  const hint = keyHint(leaf.publicKey);
  if (m.kind === 'certificate') {
    for (const sg of trust.sigstores.filter((x) => revokers.has(x.signer))) {
      if (await issuedByFulcioTo(leaf, sg.trust)) {
        return { by: sg.signer, keyHint: hint };
      }
    }
    return undefined;
  }
  const from = new Date(leaf.validFrom).getTime();
  const at = new Date(from + Math.floor((new Date(leaf.validTo).getTime() - from) / 2));
  for (const c of trust.certs.filter((x) => revokers.has(x.signer))) {
    try {
      await verifyCertificateChain(m.certificates, c.identity.trustAnchors, { at, atSource: 'the middle of the leaf certificate\'s validity' });
    } catch {
      continue;
    }
    if (!identityMismatch(leaf, c.identity)) {
      return { by: c.signer, keyHint: hint };
    }
  }
  return undefined;
}

/** Whether the bundle's DSSE signature verifies under `publicKey` (standard PAE, the curve's hash, DER ECDSA). */
function dsseSignatureVerifies(bundle: ParsedBundle, publicKey: KeyObject): boolean {
  try {
    const curve = curveOf(publicKey);
    assertDerSignature(bundle.signature, curve);
    return cryptoVerify(hashForCurve(curve), pae(IN_TOTO_PAYLOAD_TYPE, bundle.payload), { key: publicKey, dsaEncoding: 'der' }, bundle.signature);
  } catch {
    return false;
  }
}

/**
 * Loads every key the policy names; KMS keys are read with GetPublicKey now. A key that cannot be read denies, and
 * so does one public key named by two signers (known only now for KMS keys: loading the policy catches the others).
 */
async function resolveKeys(policy: TrustPolicy, opts: CheckOptions, reasons: string[]): Promise<Map<string, KnownKey>> {
  const byHint = new Map<string, KnownKey>();
  const add = (key: KeyObject, signer: string, source: string) => {
    const hint = keyHint(key);
    const known = byHint.get(hint);
    if (known) {
      if (!known.signers.has(signer)) {
        reasons.push(`the policy names key ${hint} for signers ${[...known.signers].join(', ')} (${known.source}) and ${signer} (${source}); one key must identify one party (failing closed)`);
      }
      known.signers.add(signer);
    } else {
      byHint.set(hint, { key, signers: new Set([signer]), source });
    }
  };
  for (const s of policy.signers) {
    for (const k of s.keys) {
      if (k.kind === 'publicKey') {
        add(k.key, s.name, k.source);
      } else if (k.kind === 'kms') {
        try {
          const key = opts.kmsPublicKey
            ? await opts.kmsPublicKey(k.keyArn)
            : await kmsPublicKey(k.keyArn, opts.kmsClient ? { client: opts.kmsClient } : {});
          add(key, s.name, k.keyArn);
        } catch (e) {
          reasons.push(`cannot read the public key of KMS key ${k.keyArn} (signer ${s.name}), failing closed: ${(e as Error)?.message ?? String(e)}`);
        }
      }
    }
  }
  return byHint;
}

/** What {@link identify} matches objects against. */
interface IdentifyContext {
  readonly keys: Map<string, KnownKey>;
  readonly certs: readonly { signer: string; identity: CertificateIdentity }[];
  readonly sigstores: readonly { signer: string; trust: SigstoreTrust }[];
  readonly timestampAuthorities: readonly X509Certificate[];
  readonly now: Date;
}

/**
 * Finds which policy signer(s) an object is from and verifies it. Returns no statement (with the reason) when it does
 * not verify or no signer has its key; several signers when one key, certificate or Sigstore identity matches more
 * than one. Certificates are checked with the time rule of docs/SIGNING.md (trusted RFC 3161 timestamps, else now).
 */
async function identify(obj: StoredObject, ctx: IdentifyContext): Promise<Identified> {
  const bundle = parseBundle(obj.body, obj.key);
  const predicateType = predicateTypeOf(bundle.payload);
  const base = predicateType !== undefined ? { predicateType } : {};
  const m = bundle.material;
  const verifyAs = async (signers: string[], trust: VerificationTrust, what: string, hint: string): Promise<Identified> => {
    const who = signers.join(', ');
    try {
      const statement = await verifyStatementBundle(obj.body, trust, { source: obj.key, at: ctx.now });
      const stamped = statement.signedAt.length > 0 && m.kind !== 'certificate' ? `, timestamped ${statement.signedAt.map((d) => d.toISOString()).join(', ')}` : '';
      return { ...base, signers, keyHint: hint, statement, reason: `verified: signed by ${who} (${what}${stamped})` };
    } catch (e) {
      if (e instanceof VerificationError || e instanceof UsageError) {
        return { ...base, signers, keyHint: hint, reason: `signature by ${who}'s ${what} does not verify (tampered?): ${e.message}` };
      }
      throw e;
    }
  };
  const tsa = ctx.timestampAuthorities.length > 0 ? { timestampAuthorities: ctx.timestampAuthorities } : {};
  if (m.kind === 'publicKey') {
    const hint = m.hint ?? keyHint(m.rawKey!);
    const known = ctx.keys.get(hint);
    if (!known) {
      return { ...base, signers: [], keyHint: hint, reason: `unknown key ${hint}: no signer in the policy has this key` };
    }
    return verifyAs([...known.signers], { publicKey: known.key, ...tsa }, `key ${hint}`, hint);
  }
  if (m.kind === 'x509CertificateChain') {
    // The same time rule as the signature check: the bundle's trusted timestamps, else now.
    const times = await certificateCheckTimes(bundle, tsa, obj.key, ctx.now);
    const chainFailures: string[] = [];
    const mismatches: string[] = [];
    const matched: { signer: string; identity: CertificateIdentity }[] = [];
    const leaf = new X509Certificate(m.certificates[0]);
    for (const c of ctx.certs) {
      try {
        for (const at of times.times) {
          await verifyCertificateChain(m.certificates, c.identity.trustAnchors, { at, atSource: times.atSource });
        }
      } catch (e) {
        chainFailures.push(`${c.signer}: ${(e as Error).message}`);
        continue;
      }
      const why = identityMismatch(leaf, c.identity);
      if (why) {
        mismatches.push(`${c.signer}: ${why}`);
      } else {
        matched.push(c);
      }
    }
    if (chainFailures.length === ctx.certs.length) {
      const detail = chainFailures.length ? `: ${chainFailures.join('; ')}` : '';
      return { ...base, signers: [], reason: `unknown certificate: its chain is accepted by no certificate identity in the policy${detail}` };
    }
    const signers = [...new Set(matched.map((x) => x.signer))];
    if (signers.length === 0) {
      return { ...base, signers: [], reason: `unknown certificate identity: ${mismatches.join('; ')}` };
    }
    const { identity } = matched[0];
    const hint = keyHint(leaf.publicKey);
    // the leaf's key may also be a bare key of a signer: one key is one party, whatever matched it
    const alsoKey = [...(ctx.keys.get(hint)?.signers ?? [])].filter((n) => !signers.includes(n));
    signers.push(...alsoKey);
    return verifyAs(signers, { trustAnchors: identity.trustAnchors, ...tsa }, `certificate ${identity.field} ${identity.value}`, hint);
  }
  // Sigstore keyless: every sigstore identity of the policy is tried; all that match are reported (several is a
  // policy error the caller fails closed on).
  const failures: string[] = [];
  const matched: Identified[] = [];
  const hint = keyHint(new X509Certificate(m.certificate).publicKey);
  for (const sg of ctx.sigstores) {
    const r = await verifyAs([sg.signer], { sigstore: sg.trust }, `Sigstore identity ${describeIdentityRule(sg.trust.identity)} (issuer ${sg.trust.issuer})`, hint);
    if (r.statement) {
      matched.push(r);
    } else {
      failures.push(r.reason);
    }
  }
  if (matched.length > 0) {
    const signers = [...new Set(matched.flatMap((x) => x.signers))];
    return signers.length === 1 ? matched[0] : { ...matched[0], signers, reason: `verified: signed by ${signers.join(', ')} (one Sigstore identity matches several signers)` };
  }
  return {
    ...base,
    signers: [],
    keyHint: hint,
    reason: ctx.sigstores.length === 0
      ? 'Sigstore keyless bundle: the policy names no sigstore signer'
      : `Sigstore keyless bundle of no policy signer: ${failures.join('; ')}`,
  };
}

/**
 * Why a verified leaf certificate does not carry the identity, or undefined when it does. Names are compared exactly
 * with the values parsed from the certificate (its subjectAltName GeneralNames, its subject's CN attributes).
 */
export function identityMismatch(leaf: X509Certificate, identity: CertificateIdentity): string | undefined {
  if (!(leaf.keyUsage ?? []).includes(CODE_SIGNING_EKU)) {
    return `certificate ${leaf.subject.replace(/\n/g, ', ')} lacks the code-signing extended key usage`;
  }
  const sans = subjectAltNames(leaf);
  const cns = subjectCommonNames(leaf);
  let ok: boolean;
  switch (identity.field) {
    case 'email':
      ok = sans.some((s) => s.type === 'email' && s.value === identity.value);
      break;
    case 'uri':
      ok = sans.some((s) => s.type === 'uri' && s.value === identity.value);
      break;
    case 'subjectAlternativeName':
      ok = sans.some((s) => s.value === identity.value);
      break;
    case 'commonName':
      ok = cns.includes(identity.value);
      break;
  }
  if (ok) {
    return undefined;
  }
  const have = identity.field === 'commonName' ? `CN ${JSON.stringify(cns.join(', '))}` : describeSubjectAltNames(sans);
  return `certificate has ${have}, not ${identity.field} ${JSON.stringify(identity.value)}`;
}

/** The values of the subject's commonName (2.5.4.3) attributes, as the DER holds them. */
function subjectCommonNames(cert: X509Certificate): string[] {
  return toPkijs(cert).subject.typesAndValues
    .filter((t) => t.type === '2.5.4.3')
    .map((t) => String((t.value as { valueBlock: { value: unknown } }).valueBlock.value));
}

/** The predicate type of a statement, for the report; undefined when the payload is not a statement at all. */
function predicateTypeOf(payload: Buffer): string | undefined {
  try {
    return decodeStatement(payload).predicateType;
  } catch {
    return undefined;
  }
}

function requirementResult(name: string, req: PolicyRequirement, signers: ReadonlySet<string>): RequirementResult {
  const signedBy = req.of.filter((n) => signers.has(n));
  const missing = req.of.filter((n) => !signers.has(n));
  return { name, mode: req.mode, atLeast: req.atLeast, of: [...req.of], signedBy, missing, met: signedBy.length >= req.atLeast };
}

function describeUnmet(what: string, r: RequirementResult): string {
  const need = r.mode === 'allOf' ? `all of [${r.of.join(', ')}]` : `at least ${r.atLeast} of [${r.of.join(', ')}]`;
  return `${what}: requirement not met: needs ${need}; verified: ${r.signedBy.length ? r.signedBy.join(', ') : 'none'}; missing: ${r.missing.join(', ')}`;
}

/**
 * A required attestation: enough distinct signers must have signed one, and every verified attestation of that
 * type by a signer that counts must pass every condition. Evidence is append-only, so a later passing attestation
 * does not hide an earlier failing one by the same party; to withdraw evidence, revoke the digest.
 */
function evaluateAttestation(
  req: PolicyAttestation,
  index: number,
  policy: TrustPolicy,
  verified: readonly { obj: StoredObject; signer: string; statement: VerifiedStatement }[],
): { requirement: RequirementResult; results: AttestationResult[]; reasons: string[] } {
  const name = `attestations[${index}] ${req.predicateType}`;
  const signers = req.signers ?? { mode: 'atLeast' as const, atLeast: 1, of: policy.signers.map((s) => s.name) };
  const relevant = verified.filter((v) => v.statement.predicateType === req.predicateType && signers.of.includes(v.signer));
  const results: AttestationResult[] = [];
  const reasons: string[] = [];
  for (const v of relevant) {
    const conditions = req.conditions.map((c): ConditionResult => {
      const out = c.program.evaluate(v.statement.predicate);
      if (out.passed) {
        return { name: c.name, passed: true, message: 'passed' };
      }
      return { name: c.name, passed: false, message: `${c.message ?? `condition '${c.name}' (${c.expression}) is not met`}: ${out.error}` };
    });
    results.push({ predicateType: req.predicateType, key: v.obj.key, signer: v.signer, conditions });
    for (const c of conditions.filter((x) => !x.passed)) {
      reasons.push(`${req.predicateType} attestation by ${v.signer} (${v.obj.key}) fails condition '${c.name}': ${c.message}`);
    }
  }
  const requirement = requirementResult(name, signers, new Set(relevant.map((v) => v.signer)));
  if (!requirement.met) {
    reasons.push(describeUnmet(`attestation ${req.predicateType}`, requirement));
  }
  return { requirement, results, reasons };
}

function denyAll(policy: TrustPolicy, root: string, reason: string): CheckReport {
  return {
    decision: 'deny', root, manifest: undefined, manifests: [], policy: policy.source, reasons: [reason], notes: [], signatures: [], requirements: [], attestations: [], revocations: [],
  };
}
