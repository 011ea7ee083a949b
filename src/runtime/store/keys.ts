/**
 * Store keys: deriving an object's key from its content, validating keys, and parsing content addresses.
 *
 * The caller never chooses a key. {@link deriveKey} parses the object (a Sigstore bundle or a Notation JWS),
 * decodes what it is about (the root digest), who signed it (the signer's key hint) and what it is (the predicate
 * type), and hashes its exact bytes. The layout is in docs/STORE.md and src/shared/store-layout.ts.
 *
 * A derived key records what the object *claims*: the signer segment comes from the bundle's unverified
 * verification material (`publicKey.hint` is public: anyone can publish a bundle with any signer's hint). Keys
 * organise the store and order reads; trust decisions, revocations included, always verify the object's signature
 * (policy/check.ts) and never attribute an object to a signer by its key.
 */
import { createHash, X509Certificate } from 'crypto';
import { StoreIntegrityError } from './errors';
import { MAX_REF_NAME_LENGTH, MODEL_NAME_RULE, modelNameProblem, REF_SEGMENT } from '../../shared/model-name';
import {
  attestationKey, bundleKey as bundleStoreKey, CONTENT_KEY_PATTERNS, notationKey as notationStoreKey, refKeyOf, revocationKey, rootFolders,
} from '../../shared/store-layout';
import { decodeBase64 } from '../codec/base64';
import { formatRootDigest, hexOfPrefixedDigest, parseRootDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';
import { isJsonObject, parseJson } from '../codec/json';
import { decodeStatement, onlySubjectDigest } from '../codec/statement';
import { BUNDLE_MEDIA_TYPE, DEFAULT_MAX_BUNDLE_BYTES, parseBundle, ParsedBundle } from '../engine/bundle';
import { rootDigest } from '../engine/hashing';
import { keyHint } from '../engine/keys';
import { LEGACY_PREDICATE_TYPE, parseStatement, PREDICATE_TYPE } from '../engine/statement';

/** Predicate type of a ModelSeal revocation record (a signed in-toto statement about a root digest). */
export const REVOCATION_PREDICATE_TYPE = 'https://modelseal.dev/revocation/v1';

/** The Notation payload content type (`cty` of the JWS protected header). */
export const NOTATION_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/** Slugs of well-known predicate types; any other type gets {@link predicateSlug}'s generic slug. */
export const KNOWN_PREDICATE_SLUGS: Readonly<Record<string, string>> = {
  'https://cyclonedx.org/bom': 'cyclonedx-bom',
  'https://slsa.dev/provenance/v1': 'slsa-provenance-v1',
};

/**
 * Name prefix of the local store's temporary files.
 *
 * It can never be a key segment ({@link validateKey} rejects it), so `list` can skip such files safely.
 */
export const TEMP_PREFIX = '.modelseal-tmp-';

/** Largest object `publish` accepts (the bundle size limit of the verifier). */
export const MAX_OBJECT_BYTES = DEFAULT_MAX_BUNDLE_BYTES;

/** Longest key the stores accept (S3 allows 1024 bytes including the store prefix). */
export const MAX_KEY_LENGTH = 900;

export { MAX_REF_NAME_LENGTH };

/** Longest version in a ref. */
export const MAX_REF_VERSION_LENGTH = 128;

/** The top-level folder of each content-addressed object kind. */
export type ObjectKind = 'bundle' | 'attestation' | 'notation' | 'revocation';

/** The key of an object and what it was derived from. */
export interface DerivedKey {
  /** The store key. */
  readonly key: string;
  /** Which folder of the layout the object belongs to. */
  readonly kind: ObjectKind;
  /** The root digest (64 lower-case hex) the object is about. */
  readonly root: string;
  /** Hex SHA-256 of the signer's SPKI PEM public key (absent for Notation JWS, whose key is in its certificate). */
  readonly signer?: string;
  /** The in-toto predicate type (absent for Notation JWS). */
  readonly predicateType?: string;
  /** The predicate slug, for `attestations/` keys. */
  readonly slug?: string;
  /** Hex SHA-256 of the object's exact bytes. */
  readonly objectDigest: string;
  /** The Content-Type to store the object with. */
  readonly contentType: string;
}

/** The parts of a content-addressed key. */
export interface ContentAddress {
  readonly kind: ObjectKind;
  readonly root: string;
  readonly signer?: string;
  readonly slug?: string;
  readonly objectDigest: string;
}

const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;
const CONTENT_KEYS = Object.entries(CONTENT_KEY_PATTERNS) as [ObjectKind, RegExp][];

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The deterministic slug of an in-toto predicate type, used as a folder name under `attestations/sha256/<root>/`.
 *
 * Well-known types map to fixed slugs ({@link KNOWN_PREDICATE_SLUGS}). Any other type: drop a leading
 * `scheme://`, lower-case, replace every run of characters outside `a-z0-9` with one `-`, and trim `-` from both
 * ends; a slug longer than 100 characters keeps its first 83 and appends `-` and the first 16 hex characters of
 * the SHA-256 of the full predicate type, so long types stay distinct. For example
 * `https://in-toto.io/attestation/vulns/v0.1` → `in-toto-io-attestation-vulns-v0-1`.
 *
 * @throws UsageError when the predicate type has no letters or digits
 */
export function predicateSlug(predicateType: string): string {
  const known = KNOWN_PREDICATE_SLUGS[predicateType];
  if (known) {
    return known;
  }
  const slug = predicateType.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug === '') {
    throw new UsageError(`predicate type ${JSON.stringify(predicateType)} has no letters or digits to make a store folder name from`);
  }
  return slug.length > 100 ? `${slug.slice(0, 83).replace(/-+$/, '')}-${sha256Hex(predicateType).slice(0, 16)}` : slug;
}

/**
 * Derives the store key of an object from its bytes.
 *
 * Sigstore bundles (v0.3 JSON with a DSSE envelope): the statement's predicate type picks the folder: the OMS
 * signature predicates → `bundles/`, {@link REVOCATION_PREDICATE_TYPE} → `revocations/`, anything else →
 * `attestations/<slug>/`. Notation JWS (compact or JSON serialization) whose payload's `targetArtifact.digest` is
 * `sha256:<root>` → `notation/`.
 *
 * @param body the object's exact bytes
 * @param source names the object in errors (a file path)
 * @throws UsageError naming `source` and the reason when the object is not one of these, or is malformed
 */
export function deriveKey(body: Buffer, source = 'object'): DerivedKey {
  if (body.length === 0) {
    throw new UsageError(`${source} is empty; expected a Sigstore bundle or a Notation JWS`);
  }
  if (body.length > MAX_OBJECT_BYTES) {
    throw new UsageError(`${source} is ${body.length} bytes, over the ${MAX_OBJECT_BYTES}-byte limit for store objects`);
  }
  const objectDigest = sha256Hex(body);
  const text = body.toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const doc = parseJson(body, `${source} (expected a Sigstore bundle or a Notation JWS)`, UsageError);
    if (isJsonObject(doc) && typeof doc.mediaType === 'string' && doc.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
      return bundleKey(body, source, objectDigest);
    }
    if (isJsonObject(doc) && typeof doc.payload === 'string' && (doc.protected !== undefined || doc.signatures !== undefined)) {
      return notationKey(jwsFromJson(doc, source), source, objectDigest, 'application/jose+json');
    }
    throw new UsageError(
      `${source} is a JSON document but neither a Sigstore bundle (mediaType "${BUNDLE_MEDIA_TYPE}") nor a Notation JWS (payload + protected)`);
  }
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(trimmed)) {
    const [h, p] = trimmed.split('.');
    return notationKey({ header: decodeJsonB64(h, `${source} JWS protected header`), payload: decodeB64(p, `${source} JWS payload`) }, source, objectDigest, 'application/jose');
  }
  throw new UsageError(`${source} is neither a Sigstore bundle (JSON) nor a Notation JWS (compact or JSON); nothing to publish`);
}

function bundleKey(body: Buffer, source: string, objectDigest: string): DerivedKey {
  let bundle: ParsedBundle;
  try {
    bundle = parseBundle(body, source);
  } catch (e) {
    throw new UsageError(`${source} is not a usable Sigstore bundle: ${(e as Error).message}`);
  }
  const signer = signerOf(bundle, source);
  const statement = decodeStatement(bundle.payload, source, UsageError);
  const predicateType = statement.predicateType;
  if (predicateType === PREDICATE_TYPE || predicateType === LEGACY_PREDICATE_TYPE) {
    let root: string;
    try {
      const parsed = parseStatement(bundle.payload);
      // Legacy statements list files as subjects and have no root digest; the verifier's root for them is the
      // digest over the resources in payload order, so the key uses the same value.
      root = parsed.rootDigest ?? rootDigest(parsed.manifest.resources);
    } catch (e) {
      throw new UsageError(`${source} does not hold a valid OMS model signature statement: ${(e as Error).message}`);
    }
    return { key: bundleStoreKey(root, signer, objectDigest), kind: 'bundle', root, signer, predicateType, objectDigest, contentType: BUNDLE_MEDIA_TYPE };
  }
  const root = onlySubjectDigest(statement, source, UsageError);
  const type = predicateType;
  if (type === REVOCATION_PREDICATE_TYPE) {
    return { key: revocationKey(root, signer, objectDigest), kind: 'revocation', root, signer, predicateType: type, objectDigest, contentType: BUNDLE_MEDIA_TYPE };
  }
  const slug = predicateSlug(type);
  return {
    key: attestationKey(root, slug, signer, objectDigest),
    kind: 'attestation',
    root,
    signer,
    predicateType: type,
    slug,
    objectDigest,
    contentType: BUNDLE_MEDIA_TYPE,
  };
}

/**
 * The signer segment: the OMS key hint, or the hint of the embedded raw key, or of the leaf certificate's key.
 */
function signerOf(bundle: ParsedBundle, source: string): string {
  const m = bundle.material;
  if (m.kind === 'publicKey') {
    if (m.hint) {
      return m.hint;
    }
    return keyHint(m.rawKey!);
  }
  const der = m.kind === 'x509CertificateChain' ? m.certificates[0] : m.certificate;
  try {
    return keyHint(new X509Certificate(der).publicKey);
  } catch (e) {
    throw new UsageError(`${source}: the signing certificate cannot be parsed (${(e as Error).message})`);
  }
}

interface Jws {
  readonly header: unknown;
  readonly payload: Buffer;
}

function jwsFromJson(doc: Record<string, unknown>, source: string): Jws {
  let protectedHeader: unknown = doc.protected;
  if (protectedHeader === undefined) {
    const sigs = doc.signatures;
    if (!Array.isArray(sigs) || sigs.length !== 1 || !isJsonObject(sigs[0])) {
      throw new UsageError(`${source} is a general JSON JWS with ${Array.isArray(sigs) ? sigs.length : 'no'} signatures; expected exactly one`);
    }
    protectedHeader = sigs[0].protected;
  }
  if (typeof protectedHeader !== 'string') {
    throw new UsageError(`${source} JWS has no protected header; Notation signatures carry "cty" in the protected header`);
  }
  return { header: decodeJsonB64(protectedHeader, `${source} JWS protected header`), payload: decodeB64(doc.payload, `${source} JWS payload`) };
}

function notationKey(jws: Jws, source: string, objectDigest: string, contentType: string): DerivedKey {
  const cty = isJsonObject(jws.header) ? jws.header.cty : undefined;
  if (cty !== NOTATION_PAYLOAD_TYPE) {
    throw new UsageError(`${source} is a JWS with content type (cty) ${JSON.stringify(cty)}; expected a Notation signature ("${NOTATION_PAYLOAD_TYPE}")`);
  }
  const payload = parseJson(jws.payload, `${source}: the Notation payload`, UsageError);
  const target = isJsonObject(payload) ? payload.targetArtifact : undefined;
  const digest = isJsonObject(target) ? target.digest : undefined;
  const root = hexOfPrefixedDigest(digest);
  if (root === undefined) {
    throw new UsageError(`${source}: Notation payload targetArtifact.digest is ${JSON.stringify(digest)}; expected "sha256:" and the model's root digest (64 lower-case hex)`);
  }
  return { key: notationStoreKey(root, objectDigest), kind: 'notation', root, objectDigest, contentType };
}

/** A JWS part: base64url without padding (RFC 7515 §2; codec/base64.ts). */
function decodeB64(value: unknown, what: string): Buffer {
  return decodeBase64(value, what, 'base64url', UsageError);
}

function decodeJsonB64(value: string, what: string): unknown {
  return parseJson(decodeB64(value, what), what, UsageError);
}

/**
 * The key of a name → digest reference: `refs/<name>/<version>`.
 *
 * A name is 1–200 characters: `/`-separated parts of `A-Z a-z 0-9 . _ -`, each starting with a letter or digit
 * (so no `..`, no hidden parts, no leading or trailing `/`). A version is one such part of up to 128 characters.
 *
 * @throws UsageError naming the bad name or version
 */
export function refKey(name: string, version: string): string {
  const nameProblem = modelNameProblem(name);
  if (nameProblem) {
    throw new UsageError(`model name ${JSON.stringify(name)} ${nameProblem}; ${MODEL_NAME_RULE}`);
  }
  const versionProblem =
    version.length === 0 ? 'is empty'
      : version.length > MAX_REF_VERSION_LENGTH ? `is ${version.length} characters, over the ${MAX_REF_VERSION_LENGTH}-character limit`
        : version.includes('..') ? 'contains ".."'
          : version.includes('/') ? 'contains "/"'
            : !REF_SEGMENT.test(version) ? 'does not start with a letter or digit, or uses a character outside A-Z a-z 0-9 . _ -'
              : undefined;
  if (versionProblem) {
    throw new UsageError(
      `version ${JSON.stringify(version)} ${versionProblem}; a version is 1-${MAX_REF_VERSION_LENGTH} characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  }
  return refKeyOf(name, version);
}

/** The body of a ref: `sha256:<root>` (no trailing newline). */
export function refBody(root: string): Buffer {
  return Buffer.from(formatRootDigest(parseRootDigest(root)), 'utf8');
}

/**
 * Reads a ref body back to its root digest (a trailing newline, as `echo` writes, is tolerated).
 *
 * @throws StoreIntegrityError naming the key when the body is not `sha256:<root>`
 */
export function parseRefBody(body: Buffer, key: string): string {
  const text = body.toString('utf8').replace(/\r?\n$/, '');
  const root = hexOfPrefixedDigest(text);
  if (root === undefined) {
    throw new StoreIntegrityError(key, `ref ${key} holds ${JSON.stringify(text.slice(0, 80))}; expected "sha256:" and 64 lower-case hex characters`);
  }
  return root;
}

/**
 * Checks a key: `/`-separated parts of `A-Z a-z 0-9 . _ -`, no empty, `.` or `..` part, no leading `/`, no
 * backslash, no temp-file name, at most {@link MAX_KEY_LENGTH} characters.
 *
 * @throws UsageError naming the key and the problem
 */
export function validateKey(key: string): void {
  const problem =
    typeof key !== 'string' || key.length === 0 ? 'is empty'
      : key.length > MAX_KEY_LENGTH ? `is ${key.length} characters, over the ${MAX_KEY_LENGTH}-character limit`
        : key.startsWith('/') ? 'is absolute (starts with "/")'
          : key.includes('\\') ? 'contains a backslash'
            : key.split('/').some((s) => s === '..') ? 'contains a ".." part'
              : key.split('/').some((s) => s === '' || s === '.') ? 'has an empty or "." part'
                : key.split('/').some((s) => s.startsWith(TEMP_PREFIX)) ? `has a part starting with the temp-file prefix ${TEMP_PREFIX}`
                  : key.split('/').some((s) => !KEY_SEGMENT.test(s)) ? 'uses a character outside A-Z a-z 0-9 . _ - and /'
                    : undefined;
  if (problem) {
    throw new UsageError(`store key ${JSON.stringify(key)} ${problem}; keys are relative paths like bundles/sha256/<root>/<signer>/<obj>.sig.json`);
  }
}

/**
 * Checks a list prefix: empty, or a key-like string (it may end with `/` or stop mid-part).
 *
 * @throws UsageError naming the prefix and the problem
 */
export function validatePrefix(prefix: string): void {
  if (prefix === '') {
    return;
  }
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** Parses a content-addressed key into its parts, or returns undefined for refs and unknown keys. */
export function contentAddress(key: string): ContentAddress | undefined {
  for (const [kind, re] of CONTENT_KEYS) {
    const m = re.exec(key);
    if (!m) {
      continue;
    }
    switch (kind) {
      case 'bundle':
      case 'revocation':
        return { kind, root: m[1], signer: m[2], objectDigest: m[3] };
      case 'attestation':
        return { kind, root: m[1], slug: m[2], signer: m[3], objectDigest: m[4] };
      case 'notation':
        return { kind, root: m[1], objectDigest: m[2] };
    }
  }
  return undefined;
}

/**
 * Checks that a content-addressed key's `<obj>` is the SHA-256 of `body` (no-op for other keys).
 *
 * @throws StoreIntegrityError naming the key and both digests when they differ
 */
export function checkContentAddress(key: string, body: Buffer): void {
  const addr = contentAddress(key);
  if (addr) {
    const actual = sha256Hex(body);
    if (actual !== addr.objectDigest) {
      throw new StoreIntegrityError(key, `object ${key} does not match its content address: its bytes hash to ${actual}, the key says ${addr.objectDigest} (altered or corrupted)`);
    }
  }
}

/** The four folders that hold objects about `root`, each ending with `/`. */
export function rootPrefixes(root: string): Record<'bundles' | 'attestations' | 'notation' | 'revocations', string> {
  return rootFolders(parseRootDigest(root));
}
