/**
 * The trust-policy decision: given everything the store holds for a root digest, is it signed by the parties the
 * policy demands, accompanied by the evidence it demands, and not revoked?
 *
 * Fails closed throughout. An object that does not verify, a key the policy does not know, a statement about
 * another digest, a CEL error: none of them ever counts toward a requirement, and each is reported with its reason.
 * Anything unexpected (a bug, a KMS outage while resolving a policy key) denies.
 */
import { KeyObject, X509Certificate } from 'crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SignerClient } from '@aws-sdk/client-signer';
import type { CertificateIdentity, PolicyAttestation, PolicyRequirement, TrustPolicy } from './load';
import { parseRevocationPredicate, REVOCATION_PREDICATE_TYPE } from './revocation';
import { parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { decodeStatement } from '../codec/statement';
import { parseBundle } from '../engine/bundle';
import { CODE_SIGNING_EKU, verifyCertificateChain } from '../engine/certificates';
import { verifyStatementBundle, VerifiedStatement } from '../engine/cosign';
import { keyHint } from '../engine/keys';
import { LEGACY_PREDICATE_TYPE, PREDICATE_TYPE } from '../engine/statement';
import { verifyNotationSignature } from '../signers/aws-signer';
import { kmsPublicKey } from '../signers/kms';
import { fetchAttestationSet } from '../store/attestation-set';
import type { AttestationSet, ObjectStore, StoredObject } from '../store/types';

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
  /** The verification instant for Notation signatures. @default new Date() */
  readonly now?: Date;
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
  /** The root digest checked (hex). */
  readonly root: string;
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
  readonly signer?: string;
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
  const hex = parseRootDigest(root);
  let set: AttestationSet;
  try {
    set = await fetchAttestationSet(store, hex);
  } catch (e) {
    if (e instanceof VerificationError) {
      return denyAll(policy, hex, `the store's attestation set for sha256:${hex} failed its integrity check: ${e.message}`);
    }
    throw e;
  }
  return checkPolicy(policy, set, opts);
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

  for (const r of set.rejected ?? []) {
    notes.push(`${r.key}: not counted: ${r.reason}`);
  }
  const keys = await resolveKeys(policy, opts, reasons);
  const certIdentities = policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'certificate' ? [{ signer: s.name, identity: k.identity }] : [])));
  const awsSigners = policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'awsSigner' ? [{ signer: s.name, key: k }] : [])));

  const record = (obj: StoredObject, kind: ObjectGroup, id: Identified, counted: boolean, reason = id.reason): SignatureFinding => {
    const f: SignatureFinding = {
      key: obj.key,
      kind,
      ...(id.predicateType !== undefined ? { predicateType: id.predicateType } : {}),
      ...(id.signer !== undefined ? { signer: id.signer } : {}),
      ...(id.keyHint !== undefined ? { keyHint: id.keyHint } : {}),
      verified: id.statement !== undefined,
      counted,
      reason,
    };
    signatures.push(f);
    if (!counted && kind !== 'revocation') {
      notes.push(`${obj.key}: not counted: ${reason}`);
    }
    return f;
  };
  const identifySafely = (obj: StoredObject): Identified => {
    try {
      return identify(obj, keys, certIdentities);
    } catch (e) {
      if (e instanceof VerificationError || e instanceof UsageError) {
        return { reason: e.message };
      }
      reasons.push(`unexpected error while verifying ${obj.key} (failing closed): ${(e as Error)?.message ?? String(e)}`);
      return { reason: `unexpected error: ${(e as Error)?.message ?? String(e)}` };
    }
  };
  const aboutRoot = (st: VerifiedStatement): string | undefined =>
    st.subjectDigests.length === 1 && st.subjectDigests[0] === root
      ? undefined
      : `the statement is about ${st.subjectDigests.map((d) => `sha256:${d}`).join(', ')}, not sha256:${root}`;

  // Model signatures.
  const modelSigners = new Set<string>();
  for (const obj of set.bundles) {
    const id = identifySafely(obj);
    if (!id.statement || !id.signer) {
      record(obj, 'bundle', id, false);
      continue;
    }
    if (id.statement.predicateType !== PREDICATE_TYPE && id.statement.predicateType !== LEGACY_PREDICATE_TYPE) {
      record(obj, 'bundle', id, false, `predicateType ${id.statement.predicateType} is not an OMS model signature`);
      continue;
    }
    const off = aboutRoot(id.statement);
    if (off) {
      record(obj, 'bundle', id, false, off);
      continue;
    }
    modelSigners.add(id.signer);
    record(obj, 'bundle', id, true);
  }

  // AWS Signer (Notation) co-signatures count as model signatures of the signer whose profile signed them.
  for (const obj of set.notation) {
    if (awsSigners.length === 0) {
      record(obj, 'notation', { reason: 'the policy names no awsSigner key, so Notation signatures are not checked' }, false);
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
    if (matched) {
      modelSigners.add(matched.signer);
      signatures.push({ key: obj.key, kind: 'notation', signer: matched.signer, verified: true, counted: true, reason: `verified: AWS Signer ${matched.profile} (signer ${matched.signer})` });
    } else {
      signatures.push({ key: obj.key, kind: 'notation', verified: false, counted: false, reason: failures.join('; ') });
      notes.push(`${obj.key}: not counted: ${failures.join('; ')}`);
    }
  }

  const requirements: RequirementResult[] = [];
  const requireResult = requirementResult('require', policy.require, modelSigners);
  requirements.push(requireResult);
  if (!requireResult.met) {
    reasons.push(describeUnmet('model signatures', requireResult));
  }

  // Attestations.
  const verifiedAttestations: { obj: StoredObject; signer: string; statement: VerifiedStatement }[] = [];
  for (const obj of set.attestations) {
    const id = identifySafely(obj);
    if (!id.statement || !id.signer) {
      record(obj, 'attestation', id, false);
      continue;
    }
    const off = aboutRoot(id.statement);
    if (off) {
      record(obj, 'attestation', id, false, off);
      continue;
    }
    record(obj, 'attestation', id, true);
    verifiedAttestations.push({ obj, signer: id.signer, statement: id.statement });
  }
  const attestations: AttestationResult[] = [];
  policy.attestations.forEach((req, i) => {
    const r = evaluateAttestation(req, i, policy, verifiedAttestations);
    requirements.push(r.requirement);
    attestations.push(...r.results);
    reasons.push(...r.reasons);
  });

  // Revocations.
  const revocations: RevocationResult[] = [];
  for (const obj of set.revocations) {
    const id = identifySafely(obj);
    const ignore = (why: string, extra: Partial<RevocationResult> = {}) => {
      record(obj, 'revocation', id, false, why);
      revocations.push({ key: obj.key, ...(id.signer ? { by: id.signer } : {}), ...(id.keyHint ? { keyHint: id.keyHint } : {}), ...extra, status: 'ignored', ignoredBecause: why });
      notes.push(`revocation ${obj.key} ignored: ${why}`);
    };
    if (!id.statement || !id.signer) {
      ignore(id.reason);
      continue;
    }
    if (id.statement.predicateType !== REVOCATION_PREDICATE_TYPE) {
      ignore(`predicateType ${id.statement.predicateType} is not a revocation record`);
      continue;
    }
    const off = aboutRoot(id.statement);
    if (off) {
      ignore(off);
      continue;
    }
    let pred;
    try {
      pred = parseRevocationPredicate(id.statement.predicate, obj.key);
    } catch (e) {
      if (policy.revokers.includes(id.signer)) {
        // A revoker signed it: whatever its shape, it says "revoke". Fail closed rather than ignore it.
        record(obj, 'revocation', id, true, `verified: revoked by ${id.signer} (malformed record)`);
        revocations.push({ key: obj.key, by: id.signer, ...(id.keyHint ? { keyHint: id.keyHint } : {}), status: 'honoured' });
        reasons.push(`sha256:${root} was revoked by ${id.signer} with a malformed record (${(e as Error).message})`);
      } else {
        ignore((e as Error).message);
      }
      continue;
    }
    const details = { at: pred.revokedAt, reason: pred.reason };
    if (!policy.revokers.includes(id.signer)) {
      ignore(`signer ${id.signer} is not a revoker (revokers: ${policy.revokers.length ? policy.revokers.join(', ') : 'none'})`, details);
      continue;
    }
    record(obj, 'revocation', id, true, `verified: revoked by ${id.signer}`);
    revocations.push({ key: obj.key, by: id.signer, ...(id.keyHint ? { keyHint: id.keyHint } : {}), ...details, status: 'honoured' });
    reasons.push(`sha256:${root} was revoked by ${id.signer} at ${pred.revokedAt}: ${pred.reason}`);
  }

  return {
    decision: reasons.length === 0 ? 'allow' : 'deny',
    root,
    policy: policy.source,
    reasons,
    notes,
    signatures,
    requirements,
    attestations,
    revocations,
  };
}

/** Loads every key the policy names; KMS keys are read with GetPublicKey now. A key that cannot be read denies. */
async function resolveKeys(policy: TrustPolicy, opts: CheckOptions, reasons: string[]): Promise<Map<string, KnownKey>> {
  const byHint = new Map<string, KnownKey>();
  const add = (key: KeyObject, signer: string, source: string) => {
    const hint = keyHint(key);
    const known = byHint.get(hint);
    if (known) {
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

/** Finds which policy signer an object is from and verifies it; throws VerificationError when it does not verify. */
function identify(obj: StoredObject, keys: Map<string, KnownKey>, certs: { signer: string; identity: CertificateIdentity }[]): Identified {
  const bundle = parseBundle(obj.body, obj.key);
  const predicateType = predicateTypeOf(bundle.payload);
  const base = predicateType !== undefined ? { predicateType } : {};
  const m = bundle.material;
  if (m.kind === 'publicKey') {
    const hint = m.hint ?? keyHint(m.rawKey!);
    const known = keys.get(hint);
    if (!known) {
      return { ...base, keyHint: hint, reason: `unknown key ${hint}: no signer in the policy has this key` };
    }
    if (known.signers.size > 1) {
      return { ...base, keyHint: hint, reason: `key ${hint} belongs to several signers (${[...known.signers].join(', ')}); it counts for none of them` };
    }
    const signer = [...known.signers][0];
    try {
      const statement = verifyStatementBundle(obj.body, { publicKey: known.key }, { source: obj.key });
      return { ...base, signer, keyHint: hint, statement, reason: `verified: signed by ${signer} (key ${hint})` };
    } catch (e) {
      if (e instanceof VerificationError || e instanceof UsageError) {
        return { ...base, signer, keyHint: hint, reason: `signature by ${signer}'s key ${hint} does not verify (tampered?): ${e.message}` };
      }
      throw e;
    }
  }
  if (m.kind === 'x509CertificateChain') {
    let chainOk = false;
    const mismatches: string[] = [];
    const matched: { signer: string; identity: CertificateIdentity; leaf: X509Certificate }[] = [];
    for (const c of certs) {
      try {
        verifyCertificateChain(m.certificates, c.identity.trustAnchors);
      } catch {
        continue;
      }
      chainOk = true;
      const leaf = new X509Certificate(m.certificates[0]);
      const why = identityMismatch(leaf, c.identity);
      if (why) {
        mismatches.push(`${c.signer}: ${why}`);
      } else {
        matched.push({ signer: c.signer, identity: c.identity, leaf });
      }
    }
    if (!chainOk) {
      return { ...base, reason: 'unknown certificate: its chain does not lead to any trust anchor in the policy' };
    }
    const names = [...new Set(matched.map((x) => x.signer))];
    if (names.length === 0) {
      return { ...base, reason: `unknown certificate identity: ${mismatches.join('; ')}` };
    }
    if (names.length > 1) {
      return { ...base, reason: `certificate identity matches several signers (${names.join(', ')}); it counts for none of them` };
    }
    const { signer, identity, leaf } = matched[0];
    const hint = keyHint(leaf.publicKey);
    try {
      const statement = verifyStatementBundle(obj.body, { trustAnchors: identity.trustAnchors }, { source: obj.key });
      return { ...base, signer, keyHint: hint, statement, reason: `verified: signed by ${signer} (certificate ${identity.field} ${identity.value})` };
    } catch (e) {
      if (e instanceof VerificationError || e instanceof UsageError) {
        return { ...base, signer, keyHint: hint, reason: `signature by ${signer}'s certificate does not verify (tampered?): ${e.message}` };
      }
      throw e;
    }
  }
  return { ...base, reason: 'Sigstore keyless bundles are not supported by the trust policy (no Fulcio/Rekor trust root offline)' };
}

/** Why a verified leaf certificate does not carry the identity, or undefined when it does. */
export function identityMismatch(leaf: X509Certificate, identity: CertificateIdentity): string | undefined {
  if (!(leaf.keyUsage ?? []).includes(CODE_SIGNING_EKU)) {
    return `certificate ${leaf.subject.replace(/\n/g, ', ')} lacks the code-signing extended key usage`;
  }
  const sans = parseSubjectAltNames(leaf.subjectAltName);
  let ok: boolean;
  switch (identity.field) {
    case 'email':
      ok = sans.some((s) => s.type === 'email' && s.value === identity.value);
      break;
    case 'uri':
      ok = sans.some((s) => s.type === 'URI' && s.value === identity.value);
      break;
    case 'subjectAlternativeName':
      ok = sans.some((s) => s.value === identity.value);
      break;
    case 'commonName':
      ok = subjectCommonNames(leaf.subject).includes(identity.value);
      break;
  }
  if (ok) {
    return undefined;
  }
  const have = identity.field === 'commonName'
    ? `CN ${JSON.stringify(subjectCommonNames(leaf.subject).join(', '))}`
    : `subject alternative names ${JSON.stringify(leaf.subjectAltName ?? '')}`;
  return `certificate has ${have}, not ${identity.field} ${JSON.stringify(identity.value)}`;
}

/** Parses node's `subjectAltName` text (`DNS:a, email:b, URI:"c,d"`): values with special characters are JSON-quoted. */
function parseSubjectAltNames(text: string | undefined): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  if (!text) {
    return out;
  }
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    out.push({ type: m[1], value: unquote(m[2]) });
  }
  return out;
}

function subjectCommonNames(subject: string): string[] {
  return subject.split('\n').filter((l) => l.startsWith('CN=')).map((l) => unquote(l.slice(3)));
}

function unquote(v: string): string {
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v;
    }
  }
  return v;
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
  return { decision: 'deny', root, policy: policy.source, reasons: [reason], notes: [], signatures: [], requirements: [], attestations: [], revocations: [] };
}
