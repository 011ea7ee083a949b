/**
 * AWS Signer co-signatures: a Notary Project (Notation) JWS over an OCI descriptor whose digest is the OMS root digest,
 * made with `SignPayload` on a `Notation-OCI-SHA384-ECDSA` signing profile, and verified offline (JWS, certificate
 * chain, payload) plus online (`GetRevocationStatus`), so revoking the signing profile or the signing job revokes the
 * model.
 *
 * The stored object is the JWS envelope exactly as `SignPayload` returned it. It needs no wrapper: AWS Signer puts
 * the signing profile version ARN and the signing job ARN into the signed, critical protected header
 * (`com.amazonaws.signer.signingProfileVersion`, `com.amazonaws.signer.signingJob`), which is where the AWS Signer
 * Notation plugin reads them for its own revocation check. See docs/AWS-SIGNER.md.
 */
/* eslint-disable no-bitwise -- X.509 key usage is a bit string */
import { createHash, X509Certificate } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { GetRevocationStatusCommand, SignerClient, SignPayloadCommand } from '@aws-sdk/client-signer';
import { JWS_ECDSA_ALGORITHMS, parseFlattenedJws, verifyJwsEcdsa, type FlattenedJws } from './jws';
import { notationKey } from '../../shared/store-layout';
import { decodeBase64 } from '../codec/base64';
import { readTlv } from '../codec/der';
import { hexOfPrefixedDigest, parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { describeJson as describe, parseJson } from '../codec/json';
import { parseRfc3339 } from '../codec/time';
import {
  certificateName as certName, CODE_SIGNING_EKU, issuedBy, keyUsageBits, parseCertificates, verifyCertificateChain,
} from '../engine/certificates';

/** Media type of the Notary Project signature payload (the JWS `cty` and the SignPayload `payloadFormat`). */
export const NOTATION_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/**
 * Media type of the signed descriptor's target: a model identified by its OMS root digest.
 *
 * A dedicated vendor type (not an OCI image manifest type) so that a Notation signature over a container image can
 * never be mistaken for a model co-signature, and so `notation inspect` shows what was signed.
 */
export const MODEL_ARTIFACT_MEDIA_TYPE = 'application/vnd.modelseal.model.v1+json';

/** Annotation on the signed descriptor that repeats the OMS root digest (hex) for human readers. */
export const OMS_ROOT_ANNOTATION = 'dev.modelseal.oms.root';

/** The AWS Signer signing platform for Notation; also the `platformId` of `GetRevocationStatus`. */
export const NOTATION_PLATFORM_ID = 'Notation-OCI-SHA384-ECDSA';

/** Media type of the signature envelope (JWS JSON serialization). */
export const JWS_ENVELOPE_MEDIA_TYPE = 'application/jose+json';

/** The verification plugin AWS Signer names in its envelopes; ModelSeal performs that plugin's checks itself. */
export const AWS_SIGNER_VERIFICATION_PLUGIN = 'com.amazonaws.signer.notation.plugin';

const H = {
  alg: 'alg',
  cty: 'cty',
  crit: 'crit',
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  profileVersion: 'com.amazonaws.signer.signingProfileVersion',
  signingJob: 'com.amazonaws.signer.signingJob',
  profileAlias: 'com.amazonaws.signer.signingProfileAlias',
  x5c: 'x5c',
  signingAgent: 'io.cncf.notary.signingAgent',
} as const;

/** Protected header names ModelSeal understands, so they may appear in `crit`. */
const UNDERSTOOD_CRITICAL: readonly string[] = [
  H.signingScheme, H.authenticSigningTime, H.expiry, H.verificationPlugin, H.verificationPluginMinVersion,
  H.profileVersion, H.signingJob, H.profileAlias,
];

/** Registered JWS header names (RFC 7515 §4.1), which `crit` must not list. */
const REGISTERED_HEADERS: readonly string[] = ['alg', 'jku', 'jwk', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'typ', 'cty', 'crit'];

/** The two Notary signing schemes. */
export type NotarySigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

/** Longest x5c chain accepted (AWS Signer sends three certificates). */
const MAX_X5C = 10;

const EKU_ANY = '2.5.29.37.0';
const EKU_FORBIDDEN: Readonly<Record<string, string>> = {
  [EKU_ANY]: 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
};

const PROFILE_ARN = /^arn:(aws[a-z-]*):signer:([a-z0-9-]+):(\d{12}):\/signing-profiles\/([A-Za-z0-9_]{2,64})$/;
const PROFILE_VERSION_ARN = /^arn:(aws[a-z-]*):signer:([a-z0-9-]+):(\d{12}):\/signing-profiles\/([A-Za-z0-9_]{2,64})\/([A-Za-z0-9]{1,64})$/;
const JOB_ARN = /^arn:(aws[a-z-]*):signer:([a-z0-9-]+):(\d{12}):\/signing-jobs\/([A-Za-z0-9-]+)$/;

// ---------------------------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------------------------

/**
 * Builds the Notary payload that describes a model:
 * `{"targetArtifact":{"mediaType":"application/vnd.modelseal.model.v1+json","digest":"sha256:<root>","size":N,
 * "annotations":{"dev.modelseal.oms.root":"<root>"}}}`.
 *
 * The key order is fixed, so the same root and size always give the same bytes.
 *
 * @param root OMS root digest, hex (a `sha256:` prefix is accepted)
 * @param size total bytes of the model's signed files, or 0 when only the digest is known (the verifier ignores it)
 * @throws UsageError for a malformed root or size
 */
export function notationPayload(root: string, size = 0): Buffer {
  const hex = parseRootDigest(root);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new UsageError(`descriptor size ${size} is not a non-negative integer number of bytes`);
  }
  return Buffer.from(JSON.stringify({
    targetArtifact: {
      mediaType: MODEL_ARTIFACT_MEDIA_TYPE,
      digest: `sha256:${hex}`,
      size,
      annotations: { [OMS_ROOT_ANNOTATION]: hex },
    },
  }), 'utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------------------------

/** Input of {@link signModelWithAwsSigner}. */
export interface AwsSignerSignOptions {
  /** OMS root digest of the model (hex, or `sha256:<hex>`). */
  readonly root: string;
  /**
   * Descriptor `size`: total bytes of the model's signed files.
   *
   * @default 0 — the OMS root digest addresses the manifest of file digests, not a blob, so there is no exact byte
   *   count; verification does not read it.
   */
  readonly size?: number;
  /** Name of the AWS Signer signing profile (platform `Notation-OCI-SHA384-ECDSA`). */
  readonly profileName: string;
  /**
   * AWS account id that owns the profile, for cross-account signing.
   *
   * @default - the caller's account
   */
  readonly profileOwner?: string;
  /** The AWS Signer client to call. */
  readonly client: SignerClient;
}

/** Result of {@link signModelWithAwsSigner}. */
export interface AwsSignerSignResult {
  /** The JWS envelope bytes exactly as AWS Signer returned them: the object to store. */
  readonly envelope: Buffer;
  /** The Notary payload that was signed. */
  readonly payload: Buffer;
  /** OMS root digest (hex). */
  readonly root: string;
  /** Signing job id (`SignPayload` response). */
  readonly jobId: string;
  /** AWS account of the signing job (`SignPayload` response). */
  readonly jobOwner: string;
  /** `SignPayload` response metadata. */
  readonly metadata: Record<string, string>;
  /** Signing job ARN, from the envelope's signed header. */
  readonly jobArn: string;
  /** Signing profile version ARN, from the envelope's signed header. */
  readonly profileVersionArn: string;
  /** Store key of the envelope: `notation/sha256/<root>/<sha256 of envelope>.jws`. */
  readonly storeKey: string;
}

/**
 * Signs a model's OMS root digest with AWS Signer (`SignPayload`, payload format
 * `application/vnd.cncf.notary.payload.v1+json`) and returns the Notation JWS envelope to store.
 *
 * The returned envelope is checked for shape before it is returned: it must carry exactly the payload that was
 * sent and the AWS Signer job and profile headers. Its signature and chain are not verified here (that needs the
 * trusted root; use {@link verifyNotationSignature}).
 *
 * @throws UsageError for bad input, a failed `SignPayload` call (naming the profile and the AWS error), or an
 *   envelope that does not carry the payload that was sent
 */
export async function signModelWithAwsSigner(opts: AwsSignerSignOptions): Promise<AwsSignerSignResult> {
  const root = parseRootDigest(opts.root);
  if (!opts.profileName || !/^[A-Za-z0-9_]{2,64}$/.test(opts.profileName)) {
    throw new UsageError(`AWS Signer profile name ${JSON.stringify(opts.profileName)} is not valid; expected 2-64 letters, digits or underscores`);
  }
  if (opts.profileOwner !== undefined && !/^\d{12}$/.test(opts.profileOwner)) {
    throw new UsageError(`AWS Signer profile owner ${JSON.stringify(opts.profileOwner)} is not an AWS account id (12 digits)`);
  }
  const payload = notationPayload(root, opts.size ?? 0);
  const profile = `${opts.profileName}${opts.profileOwner ? ` (owner ${opts.profileOwner})` : ''}`;
  let response;
  try {
    response = await opts.client.send(new SignPayloadCommand({
      profileName: opts.profileName,
      profileOwner: opts.profileOwner,
      payload,
      payloadFormat: NOTATION_PAYLOAD_MEDIA_TYPE,
    }));
  } catch (e) {
    const err = e as Error;
    throw new UsageError(`AWS Signer SignPayload on signing profile ${profile} failed: ${err.name}: ${err.message}`);
  }
  if (!response.signature || response.signature.length === 0) {
    throw new UsageError(`AWS Signer SignPayload on signing profile ${profile} returned no signature`);
  }
  const envelope = Buffer.from(response.signature);
  let jws: FlattenedJws;
  try {
    jws = parseFlattenedJws(envelope, 'the SignPayload signature');
  } catch (e) {
    throw new UsageError(`AWS Signer returned an envelope that is not a Notation JWS: ${(e as Error).message}`);
  }
  if (!jws.payload.equals(payload)) {
    throw new UsageError('AWS Signer returned an envelope over a different payload than the one sent; refusing to store it');
  }
  const jobArn = jws.protectedHeader[H.signingJob];
  const profileVersionArn = jws.protectedHeader[H.profileVersion];
  if (typeof jobArn !== 'string' || typeof profileVersionArn !== 'string') {
    throw new UsageError(`AWS Signer returned an envelope without the ${H.signingJob} and ${H.profileVersion} headers; is ${profile} a ${NOTATION_PLATFORM_ID} profile?`);
  }
  return {
    envelope,
    payload,
    root,
    jobId: response.jobId ?? '',
    jobOwner: response.jobOwner ?? '',
    metadata: response.metadata ?? {},
    jobArn,
    profileVersionArn,
    storeKey: notationStoreKeyFor(root, envelope),
  };
}

/** `notation/sha256/<root>/<hex sha256 of envelope>.jws`. */
function notationStoreKeyFor(root: string, envelope: Buffer): string {
  return notationKey(root, createHash('sha256').update(envelope).digest('hex'));
}

/**
 * Reads a Notation envelope without verifying it and returns the model root digest it claims to sign and its store
 * key (`notation/sha256/<root>/<obj>.jws`), for publishing. Trust nothing else from it before
 * {@link verifyNotationSignature}.
 *
 * @throws VerificationError when the bytes are not a Notation JWS over a ModelSeal model descriptor
 */
export function notationStoreKey(envelope: Buffer): { root: string; key: string } {
  const jws = parseFlattenedJws(envelope, 'Notation envelope');
  const target = parseTargetArtifact(jws.payload);
  const root = target.digest.slice('sha256:'.length);
  return { root, key: notationStoreKeyFor(root, envelope) };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------------------

/** Options of {@link verifyNotationSignature}. */
export interface NotationVerificationOptions {
  /** The OMS root digest the signature must cover (hex, or `sha256:<hex>`). */
  readonly root: string;
  /**
   * Trusted root certificates, as PEM text (one or more CERTIFICATE blocks each) or parsed certificates: the AWS
   * Signer root CA for real signatures. The envelope's x5c chain must end in one of them.
   */
  readonly trustedRoots: readonly (string | X509Certificate)[];
  /**
   * The signing profile whose signatures are trusted (any version of it):
   * `arn:aws:signer:<region>:<account>:/signing-profiles/<name>`. One of `profileArn` or `profileVersionArn` is
   * required, because the AWS Signer root certifies every AWS customer's profiles.
   */
  readonly profileArn?: string;
  /** A single trusted signing profile version: `arn:aws:signer:<region>:<account>:/signing-profiles/<name>/<version>`. */
  readonly profileVersionArn?: string;
  /**
   * Client for `GetRevocationStatus`.
   *
   * @default - a new SignerClient in `region`
   */
  readonly client?: SignerClient;
  /**
   * Region for the default client.
   *
   * @default - the region of the signing profile version ARN in the envelope
   */
  readonly region?: string;
  /**
   * The verification instant, for `io.cncf.notary.expiry` (and certificate validity under `notary.x509`).
   *
   * @default new Date()
   */
  readonly now?: Date;
  /**
   * Names the object in error messages (e.g. its store key).
   *
   * @default 'Notation signature'
   */
  readonly source?: string;
}

/** What a verified AWS Signer co-signature attests. */
export interface NotationVerification {
  /** The OMS root digest (hex) the signature covers. */
  readonly root: string;
  /** The signing time the chain and revocation were checked at (authentic signing time for AWS Signer). */
  readonly signingTime: Date;
  /** The Notary signing scheme. */
  readonly signingScheme: NotarySigningScheme;
  /** The signature's expiry (`io.cncf.notary.expiry`), when set. */
  readonly expiry?: Date;
  /** Signing profile version ARN (signed header). */
  readonly profileVersionArn: string;
  /** Signing job ARN (signed header). */
  readonly jobArn: string;
  /** Subject of the signing certificate, one RDN per line as node prints it. */
  readonly leafSubject: string;
  /** Subjects of the x5c chain, leaf first. */
  readonly chainSubjects: string[];
  /** The unsigned `io.cncf.notary.signingAgent`, for diagnostics only. */
  readonly signingAgent?: string;
}

/**
 * Verifies an AWS Signer (Notation JWS) co-signature of a model and fails closed.
 *
 * Checks, in order: the envelope and its protected header as the Notary JWS spec requires (`alg`, `cty`, `crit`,
 * signing scheme and time, AWS Signer headers); the ECDSA signature with the x5c leaf key (`alg` must fit the leaf
 * key: ES384/P-384, or ES256/P-256); the payload (a `application/vnd.modelseal.model.v1+json` descriptor whose
 * digest is `sha256:<root>`); the x5c chain (ordered leaf → root, ending in a trusted root; every certificate valid
 * at the signing time; CA certificates with CA:TRUE and keyCertSign; the leaf with digitalSignature, codeSigning and
 * no conflicting usage); the signing profile against `profileArn`/`profileVersionArn`; the expiry; and last
 * `GetRevocationStatus` (signing time, platform `Notation-OCI-SHA384-ECDSA`, profile version ARN, job ARN, chain
 * hashes). Anything revoked, and any failure to get an answer, denies.
 *
 * @throws UsageError when the options are unusable (no trusted root, no trusted profile, a malformed ARN)
 * @throws VerificationError naming the first check that fails
 */
export async function verifyNotationSignature(envelope: Buffer, opts: NotationVerificationOptions): Promise<NotationVerification> {
  const root = parseRootDigest(opts.root);
  const anchors = trustedRootCertificates(opts.trustedRoots);
  const identity = trustedIdentity(opts);
  const now = opts.now ?? new Date();
  const what = opts.source ?? 'Notation signature';
  const fail = (message: string): never => {
    throw new VerificationError(`${what}: ${message}`);
  };
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof VerificationError) {
        return fail(e.message);
      }
      throw e;
    }
  };

  const jws = wrap(() => parseFlattenedJws(envelope, 'envelope'));
  const header = wrap(() => parseProtectedHeader(jws.protectedHeader));
  const chain = wrap(() => parseX5c(jws.header));
  const leaf = chain[0];
  wrap(() => verifyJwsEcdsa(jws, header.alg, leaf.publicKey));

  const target = wrap(() => parseTargetArtifact(jws.payload));
  if (target.digest !== `sha256:${root}`) {
    fail(`signs ${target.digest}, not the model sha256:${root}`);
  }
  const annotated = target.annotations?.[OMS_ROOT_ANNOTATION];
  if (annotated !== undefined && annotated !== root) {
    fail(`annotation ${OMS_ROOT_ANNOTATION} is ${JSON.stringify(annotated)} but the descriptor digest is sha256:${root}`);
  }

  await wrapAsync(fail, () => verifyNotaryChain(chain, anchors, header.signingTime, header.signingScheme === 'notary.x509' ? now : undefined));

  if (identity.profileVersionArn !== undefined && header.profileVersionArn !== identity.profileVersionArn) {
    fail(`was made with signing profile version ${header.profileVersionArn}, not the trusted ${identity.profileVersionArn}`);
  }
  if (identity.profileArn !== undefined && profileOfVersion(header.profileVersionArn) !== identity.profileArn) {
    fail(`was made with signing profile ${profileOfVersion(header.profileVersionArn)} (version ${header.profileVersionArn}), not the trusted ${identity.profileArn}`);
  }
  if (header.expiry && now.getTime() >= header.expiry.getTime()) {
    fail(`expired at ${header.expiry.toISOString()} (${H.expiry}); verification time is ${now.toISOString()}`);
  }

  await wrapAsync(fail, () => checkRevocation({
    client: opts.client,
    region: opts.region ?? PROFILE_VERSION_ARN.exec(header.profileVersionArn)![2],
    signingTime: header.signingTime,
    profileVersionArn: header.profileVersionArn,
    jobArn: header.jobArn,
    chain,
  }));

  const agent = jws.header[H.signingAgent];
  return {
    root,
    signingTime: header.signingTime,
    signingScheme: header.signingScheme,
    ...(header.expiry ? { expiry: header.expiry } : {}),
    profileVersionArn: header.profileVersionArn,
    jobArn: header.jobArn,
    leafSubject: leaf.subject,
    chainSubjects: chain.map((c) => c.subject),
    ...(typeof agent === 'string' ? { signingAgent: agent } : {}),
  };
}

async function wrapAsync(fail: (m: string) => never, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof VerificationError) {
      fail(e.message);
    }
    throw e;
  }
}

function trustedRootCertificates(roots: readonly (string | X509Certificate)[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const [i, r] of (roots ?? []).entries()) {
    if (r instanceof X509Certificate) {
      out.push(r);
    } else {
      out.push(...parseCertificates(Buffer.from(r, 'utf8'), `trusted root #${i}`));
    }
  }
  if (out.length === 0) {
    throw new UsageError('AWS Signer verification needs at least one trusted root certificate (the AWS Signer root CA)');
  }
  return out;
}

function trustedIdentity(opts: NotationVerificationOptions): { profileArn?: string; profileVersionArn?: string } {
  if (opts.profileArn === undefined && opts.profileVersionArn === undefined) {
    throw new UsageError(
      'AWS Signer verification needs the trusted signing profile (profileArn) or profile version (profileVersionArn): ' +
      'the AWS Signer root certifies the signing profiles of every AWS account, so the root alone identifies no one');
  }
  if (opts.profileArn !== undefined && !PROFILE_ARN.test(opts.profileArn)) {
    throw new UsageError(
      `${JSON.stringify(opts.profileArn)} is not a signing profile ARN; expected arn:aws:signer:<region>:<account>:/signing-profiles/<name>` +
      (PROFILE_VERSION_ARN.test(opts.profileArn) ? ' (this is a profile version ARN; pass it as profileVersionArn)' : ''));
  }
  if (opts.profileVersionArn !== undefined && !PROFILE_VERSION_ARN.test(opts.profileVersionArn)) {
    throw new UsageError(
      `${JSON.stringify(opts.profileVersionArn)} is not a signing profile version ARN; expected arn:aws:signer:<region>:<account>:/signing-profiles/<name>/<version>`);
  }
  return { profileArn: opts.profileArn, profileVersionArn: opts.profileVersionArn };
}

/** `arn:…:/signing-profiles/<name>/<version>` → `arn:…:/signing-profiles/<name>`. */
function profileOfVersion(versionArn: string): string {
  return versionArn.slice(0, versionArn.lastIndexOf('/'));
}

interface NotaryHeader {
  readonly alg: string;
  readonly signingScheme: NotarySigningScheme;
  readonly signingTime: Date;
  readonly expiry?: Date;
  readonly profileVersionArn: string;
  readonly jobArn: string;
}

/**
 * Checks the protected header as the Notary JWS envelope spec requires and the AWS Signer plugin expects.
 *
 * Unknown non-critical parameters are informational by the Notary spec and are ignored; an unknown critical one
 * denies, as RFC 7515 §4.1.11 requires.
 */
function parseProtectedHeader(h: Record<string, unknown>): NotaryHeader {
  const alg = h[H.alg];
  if (typeof alg !== 'string' || !(alg in JWS_ECDSA_ALGORITHMS)) {
    throw new VerificationError(`protected header alg is ${describe(alg)}; expected one of ${Object.keys(JWS_ECDSA_ALGORITHMS).join(', ')} (ECDSA)`);
  }
  if (h[H.cty] !== NOTATION_PAYLOAD_MEDIA_TYPE) {
    throw new VerificationError(`protected header cty is ${describe(h[H.cty])}; expected ${JSON.stringify(NOTATION_PAYLOAD_MEDIA_TYPE)}`);
  }
  const crit = h[H.crit];
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new VerificationError(`protected header crit is ${describe(crit)}; expected a non-empty array of header names including ${JSON.stringify(H.signingScheme)}`);
  }
  const critical = crit as string[];
  if (new Set(critical).size !== critical.length) {
    throw new VerificationError(`protected header crit lists a name twice: ${JSON.stringify(critical)}`);
  }
  for (const c of critical) {
    if (REGISTERED_HEADERS.includes(c)) {
      throw new VerificationError(`protected header crit lists the registered header ${JSON.stringify(c)}, which RFC 7515 forbids`);
    }
    if (!(c in h)) {
      throw new VerificationError(`protected header crit lists ${JSON.stringify(c)}, which the protected header does not contain`);
    }
    if (!UNDERSTOOD_CRITICAL.includes(c)) {
      throw new VerificationError(`protected header marks ${JSON.stringify(c)} critical, and ModelSeal does not understand it (understood: ${UNDERSTOOD_CRITICAL.join(', ')})`);
    }
  }
  const mustBeCritical = (name: string) => {
    if (name in h && !critical.includes(name)) {
      throw new VerificationError(`protected header ${JSON.stringify(name)} must be listed in crit`);
    }
  };

  const scheme = h[H.signingScheme];
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') {
    throw new VerificationError(`protected header ${H.signingScheme} is ${describe(scheme)}; expected "notary.x509.signingAuthority" (AWS Signer) or "notary.x509"`);
  }
  if (!critical.includes(H.signingScheme)) {
    throw new VerificationError(`protected header crit must list ${JSON.stringify(H.signingScheme)}`);
  }
  let signingTime: Date;
  if (scheme === 'notary.x509.signingAuthority') {
    if (H.signingTime in h) {
      throw new VerificationError(`protected header ${H.signingTime} is not allowed with signing scheme ${scheme}; it uses ${H.authenticSigningTime}`);
    }
    if (!(H.authenticSigningTime in h)) {
      throw new VerificationError(`protected header lacks ${H.authenticSigningTime}, which signing scheme ${scheme} requires`);
    }
    mustBeCritical(H.authenticSigningTime);
    signingTime = rfc3339(h[H.authenticSigningTime], H.authenticSigningTime);
  } else {
    if (H.authenticSigningTime in h) {
      throw new VerificationError(`protected header ${H.authenticSigningTime} is not allowed with signing scheme ${scheme}; it uses ${H.signingTime}`);
    }
    if (!(H.signingTime in h)) {
      throw new VerificationError(`protected header lacks ${H.signingTime}, which signing scheme ${scheme} requires`);
    }
    signingTime = rfc3339(h[H.signingTime], H.signingTime);
  }
  let expiry: Date | undefined;
  if (H.expiry in h) {
    mustBeCritical(H.expiry);
    expiry = rfc3339(h[H.expiry], H.expiry);
  }
  if (H.verificationPlugin in h) {
    mustBeCritical(H.verificationPlugin);
    if (h[H.verificationPlugin] !== AWS_SIGNER_VERIFICATION_PLUGIN) {
      throw new VerificationError(
        `signature requires verification plugin ${describe(h[H.verificationPlugin])}; ModelSeal performs only the checks of ${JSON.stringify(AWS_SIGNER_VERIFICATION_PLUGIN)}`);
    }
  }
  if (H.verificationPluginMinVersion in h) {
    mustBeCritical(H.verificationPluginMinVersion);
    if (!(H.verificationPlugin in h) || typeof h[H.verificationPluginMinVersion] !== 'string') {
      throw new VerificationError(`protected header ${H.verificationPluginMinVersion} must be a string and comes only with ${H.verificationPlugin}`);
    }
  }
  if (H.profileAlias in h && typeof h[H.profileAlias] !== 'string') {
    throw new VerificationError(`protected header ${H.profileAlias} is ${describe(h[H.profileAlias])}; expected a string`);
  }
  const profileVersionArn = h[H.profileVersion];
  if (typeof profileVersionArn !== 'string' || !PROFILE_VERSION_ARN.test(profileVersionArn)) {
    throw new VerificationError(
      `protected header ${H.profileVersion} is ${describe(profileVersionArn)}; an AWS Signer signature carries the signing profile version ARN ` +
      '(arn:aws:signer:<region>:<account>:/signing-profiles/<name>/<version>)');
  }
  const jobArn = h[H.signingJob];
  if (typeof jobArn !== 'string' || !JOB_ARN.test(jobArn)) {
    throw new VerificationError(
      `protected header ${H.signingJob} is ${describe(jobArn)}; an AWS Signer signature carries the signing job ARN (arn:aws:signer:<region>:<account>:/signing-jobs/<id>)`);
  }
  return { alg, signingScheme: scheme, signingTime, expiry, profileVersionArn, jobArn };
}

function rfc3339(value: unknown, name: string): Date {
  return parseRfc3339(value, `protected header ${name}`);
}

/** The unprotected x5c header: standard (not url-safe) base64 DER certificates, leaf first. */
function parseX5c(header: Record<string, unknown>): X509Certificate[] {
  const x5c = header[H.x5c];
  if (!Array.isArray(x5c) || x5c.length === 0) {
    throw new VerificationError(`unprotected header x5c is ${describe(x5c)}; expected the certificate chain as a non-empty array of base64 DER certificates, leaf first`);
  }
  if (x5c.length > MAX_X5C) {
    throw new VerificationError(`unprotected header x5c holds ${x5c.length} certificates; at most ${MAX_X5C} are accepted`);
  }
  return x5c.map((b64, i) => {
    const der = decodeBase64(b64, `x5c[${i}]`, 'base64');
    try {
      return new X509Certificate(der);
    } catch (e) {
      throw new VerificationError(`x5c[${i}] is not a valid X.509 certificate: ${(e as Error).message}`);
    }
  });
}

interface TargetArtifact {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

/** Parses the Notary payload strictly: one `targetArtifact` OCI descriptor of a ModelSeal model. */
function parseTargetArtifact(payload: Buffer): TargetArtifact {
  const doc = parseJson(payload, 'payload');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new VerificationError(`payload must be a JSON object {"targetArtifact": {...}}; got ${describe(doc)}`);
  }
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== 'targetArtifact') {
    throw new VerificationError(`payload must hold exactly "targetArtifact"; got ${keys.length ? keys.join(', ') : 'nothing'}`);
  }
  const t = (doc as { targetArtifact: unknown }).targetArtifact;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) {
    throw new VerificationError(`payload targetArtifact must be an OCI descriptor object; got ${describe(t)}`);
  }
  const d = t as Record<string, unknown>;
  const allowed = ['mediaType', 'digest', 'size', 'annotations', 'artifactType'];
  const extra = Object.keys(d).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new VerificationError(`payload targetArtifact has unsupported field(s) ${extra.join(', ')}; allowed: ${allowed.join(', ')}`);
  }
  if (d.mediaType !== MODEL_ARTIFACT_MEDIA_TYPE) {
    throw new VerificationError(`payload targetArtifact.mediaType is ${describe(d.mediaType)}; a ModelSeal co-signature describes ${JSON.stringify(MODEL_ARTIFACT_MEDIA_TYPE)}`);
  }
  if (hexOfPrefixedDigest(d.digest) === undefined) {
    throw new VerificationError(`payload targetArtifact.digest is ${describe(d.digest)}; expected sha256:<64 lower-case hex digits>`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new VerificationError(`payload targetArtifact.size is ${describe(d.size)}; expected a non-negative integer`);
  }
  if (d.artifactType !== undefined && typeof d.artifactType !== 'string') {
    throw new VerificationError(`payload targetArtifact.artifactType is ${describe(d.artifactType)}; expected a string`);
  }
  if (d.annotations !== undefined) {
    const a = d.annotations;
    if (typeof a !== 'object' || a === null || Array.isArray(a) || !Object.values(a).every((v) => typeof v === 'string')) {
      throw new VerificationError('payload targetArtifact.annotations must map strings to strings');
    }
  }
  return { mediaType: d.mediaType, digest: d.digest as string, size: d.size, annotations: d.annotations as Record<string, string> | undefined };
}

/**
 * Checks the x5c chain the Notary way: it must be ordered leaf → intermediates → root, each certificate issued and
 * signed by the next, the last a self-signed root that is one of the trusted roots; every certificate valid at the
 * signing time (and at `alsoAt`, for the `notary.x509` scheme whose signing time is not authentic); CA certificates
 * with CA:TRUE and keyCertSign; the leaf with digitalSignature, codeSigning, and none of the usages the spec forbids.
 * The shared {@link verifyCertificateChain} then re-checks the path from the leaf to the trusted root.
 */
async function verifyNotaryChain(chain: X509Certificate[], anchors: X509Certificate[], signingTime: Date, alsoAt?: Date): Promise<void> {
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i], chain[i + 1])) {
      throw new VerificationError(
        `x5c is not an ordered chain: ${certName(chain[i])} is not issued and signed by the next certificate ${certName(chain[i + 1])}`);
    }
  }
  const last = chain[chain.length - 1];
  if (!issuedBy(last, last)) {
    const issuer = anchors.find((a) => issuedBy(last, a));
    throw new VerificationError(issuer
      ? `x5c ends with ${certName(last)} instead of its root certificate; a Notary chain must include the root (here the trusted ${certName(issuer)})`
      : `certificate chain is not anchored in a trusted root: x5c ends with ${certName(last)}, which is not a self-signed root certificate`);
  }
  if (!anchors.some((a) => a.raw.equals(last.raw))) {
    throw new VerificationError(
      `certificate chain is not anchored in a trusted root: its root ${certName(last)} is none of the ${anchors.length} trusted root(s) (${anchors.map(certName).join('; ')})`);
  }
  for (const at of alsoAt ? [signingTime, alsoAt] : [signingTime]) {
    for (const cert of chain) {
      const from = new Date(cert.validFrom);
      const to = new Date(cert.validTo);
      if (at < from || at > to) {
        const when = at === signingTime ? `at the signing time ${at.toISOString()}` : `now (${at.toISOString()})`;
        throw new VerificationError(`certificate ${certName(cert)} is valid from ${from.toISOString()} to ${to.toISOString()}, not ${when}`);
      }
    }
  }
  for (const ca of chain.slice(1)) {
    const usage = keyUsageBits(ca);
    if (!ca.ca || usage === undefined || (usage & 0x04) === 0) {
      throw new VerificationError(`CA certificate ${certName(ca)} needs basicConstraints CA:TRUE and key usage keyCertSign`);
    }
  }
  const leaf = chain[0];
  if (chain.length > 1 && leaf.ca) {
    throw new VerificationError(`signing certificate ${certName(leaf)} is a CA certificate (basicConstraints CA:TRUE); a Notary signing certificate must not be`);
  }
  const usage = keyUsageBits(leaf);
  if (usage === undefined || (usage & 0x80) === 0) {
    throw new VerificationError(`signing certificate ${certName(leaf)} needs the key usage digitalSignature`);
  }
  // keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly (decipherOnly is in byte 2)
  if (chain.length > 1 && (usage & 0x3f) !== 0) {
    throw new VerificationError(`signing certificate ${certName(leaf)} has key usages besides digitalSignature (${usage.toString(2).padStart(8, '0')}); the Notary spec forbids them`);
  }
  const eku = leaf.keyUsage ?? [];
  if (!eku.includes(CODE_SIGNING_EKU)) {
    throw new VerificationError(`signing certificate ${certName(leaf)} lacks the extended key usage codeSigning (${CODE_SIGNING_EKU})`);
  }
  const bad = eku.filter((o) => o in EKU_FORBIDDEN).map((o) => EKU_FORBIDDEN[o]);
  if (bad.length > 0) {
    throw new VerificationError(`signing certificate ${certName(leaf)} has extended key usage ${bad.join(', ')}, which a Notary signing certificate must not have`);
  }
  if (chain.length > 1) {
    await verifyCertificateChain(chain.map((c) => c.raw), anchors, { at: signingTime, atSource: 'the signing time' });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Revocation
// ---------------------------------------------------------------------------------------------------------------

/**
 * The `certificateHashes` of `GetRevocationStatus` for a chain, leaf first: for each certificate, hex SHA-384 of its
 * TBSCertificate followed by hex SHA-384 of its issuer's TBSCertificate (the next one in the chain; a root is its
 * own issuer), as the AWS Signer API reference and the AWS Signer Notation plugin compute them.
 */
export function certificateHashes(chain: readonly X509Certificate[]): string[] {
  const tbs = chain.map((c) => createHash('sha384').update(tbsCertificate(c.raw)).digest('hex'));
  return tbs.map((h, i) => h + tbs[Math.min(i + 1, tbs.length - 1)]);
}

/** The DER TBSCertificate (tag, length and contents) inside a DER certificate: its first element. */
function tbsCertificate(der: Buffer): Buffer {
  const cert = readTlv(der, 0, 'certificate DER');
  const tbs = readTlv(der, cert.contentStart, 'certificate TBSCertificate', VerificationError, cert.end);
  if (cert.tag !== 0x30 || tbs.tag !== 0x30) {
    throw new VerificationError('certificate DER is not a SEQUENCE where TBSCertificate should be');
  }
  return der.subarray(tbs.start, tbs.end);
}

interface RevocationQuery {
  readonly client?: SignerClient;
  readonly region: string;
  readonly signingTime: Date;
  readonly profileVersionArn: string;
  readonly jobArn: string;
  readonly chain: readonly X509Certificate[];
}

/**
 * Asks AWS Signer whether the profile version, the job or a chain certificate is revoked. Fails closed: an error or
 * an unreadable answer denies as surely as a revocation.
 */
async function checkRevocation(q: RevocationQuery): Promise<void> {
  const hashes = certificateHashes(q.chain);
  const client = q.client ?? new SignerClient({ region: q.region });
  let response;
  try {
    response = await client.send(new GetRevocationStatusCommand({
      signatureTimestamp: q.signingTime,
      platformId: NOTATION_PLATFORM_ID,
      profileVersionArn: q.profileVersionArn,
      jobArn: q.jobArn,
      certificateHashes: hashes,
    }));
  } catch (e) {
    const err = e as Error;
    throw new VerificationError(`cannot confirm revocation status: AWS Signer GetRevocationStatus failed: ${err.name}: ${err.message}`);
  } finally {
    if (!q.client) {
      client.destroy();
    }
  }
  const revoked = response?.revokedEntities ?? [];
  if (!Array.isArray(revoked) || !revoked.every((r) => typeof r === 'string')) {
    throw new VerificationError(`cannot confirm revocation status: GetRevocationStatus answered revokedEntities ${describe(revoked)}, not a list of strings`);
  }
  if (revoked.length === 0) {
    return;
  }
  const reasons = revoked.map((entity) => {
    if (entity.includes(':/signing-jobs/')) {
      return `signing job ${entity} is revoked`;
    }
    if (entity.includes(':/signing-profiles/')) {
      return PROFILE_VERSION_ARN.test(entity) ? `signing profile version ${entity} is revoked` : `signing profile ${entity} is revoked`;
    }
    const i = hashes.indexOf(entity);
    return i >= 0 ? `certificate ${certName(q.chain[i])} is revoked` : `revoked entity ${entity}`;
  });
  throw new VerificationError(`revoked in AWS Signer: ${reasons.join('; ')}`);
}
