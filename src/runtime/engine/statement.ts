/**
 * The in-toto Statement v1 that carries an OMS v1.0 manifest: building it for signing and parsing it strictly.
 */
import { DIGEST_BYTES, HASH_ALGORITHMS, HashAlgorithm } from './blake';
import { ignorePathProblem, rootDigest } from './hashing';
import type { Manifest, ManifestResource, Serialization } from './types';
import { isHexDigest } from '../codec/digest';
import { VerificationError } from '../codec/errors';
import { isJsonObject } from '../codec/json';
import { decodeStatement, STATEMENT_TYPE } from '../codec/statement';

/** The OMS v1.0 predicate type, the only one ModelSeal emits. */
export const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** The predicate type of model_signing v0.2 (files as subjects, no root digest); accepted when verifying. */
export const LEGACY_PREDICATE_TYPE = 'https://model_signing/Digests/v0.1';

/** Hash algorithms this verifier recomputes: every algorithm of the OMS registry (engine/blake.ts). */
const SUPPORTED_ALGORITHMS: readonly string[] = HASH_ALGORITHMS;

/** A statement decoded from a DSSE payload and checked for shape, before any digest is recomputed. */
export interface ParsedStatement {
  /** `predicateType` as found: {@link PREDICATE_TYPE} or {@link LEGACY_PREDICATE_TYPE}. */
  readonly predicateType: string;
  /** True for the v0.2 `Digests/v0.1` layout, which has no root digest and records no serialization. */
  readonly legacy: boolean;
  /** `subject[0].name` (the model's directory name when signed); empty for legacy statements. */
  readonly subjectName: string;
  /** `subject[0].digest.sha256`, the root digest; undefined for legacy statements. */
  readonly rootDigest?: string;
  /** The resources in payload order, and how they were serialized. */
  readonly manifest: Manifest;
}

/**
 * Builds the OMS statement for a manifest.
 *
 * The key order and the two-space indentation mirror what the reference model_signing emits, so a statement
 * signed here reads exactly like one signed there. The root digest covers the resources in manifest order.
 */
export function buildStatement(subjectName: string, manifest: Manifest): Record<string, unknown> {
  const serialization: Record<string, unknown> = {
    allow_symlinks: manifest.serialization.allow_symlinks,
    method: manifest.serialization.method,
    hash_type: manifest.serialization.hash_type,
  };
  if (manifest.serialization.shard_size !== undefined) {
    serialization.shard_size = manifest.serialization.shard_size;
  }
  serialization.ignore_paths = [...manifest.serialization.ignore_paths];
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName, digest: { sha256: rootDigest(manifest.resources) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      resources: manifest.resources.map((r) => ({ algorithm: r.algorithm, name: r.name, digest: r.digest })),
      serialization,
    },
  };
}

/** Serializes a statement to the exact payload bytes that get signed. */
export function statementBytes(statement: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(statement, null, 2), 'utf8');
}

/**
 * Parses a DSSE payload as an OMS statement, rejecting anything malformed.
 *
 * Checks `_type`, `predicateType`, exactly one subject with a SHA-256 root digest, a non-empty resource list with
 * safe, unique names and hex digests, and a serialization block this verifier can reproduce. Fields the v1.0
 * predicate does not define are ignored, as the specification asks of verifiers. The legacy `Digests/v0.1` layout
 * is accepted: its subjects are the files.
 */
export function parseStatement(payload: Buffer): ParsedStatement {
  const doc = decodeStatement(payload);
  if (doc.predicateType === LEGACY_PREDICATE_TYPE) {
    return parseLegacy(doc);
  }
  if (doc.predicateType !== PREDICATE_TYPE) {
    throw new VerificationError(
      `statement predicateType is ${JSON.stringify(doc.predicateType)}; expected "${PREDICATE_TYPE}" ` +
      `(or the legacy "${LEGACY_PREDICATE_TYPE}")`);
  }
  const subjects = doc.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) {
    throw new VerificationError('statement has no subject; expected exactly one subject naming the model and its root digest');
  }
  if (subjects.length !== 1) {
    throw new VerificationError(`statement has ${subjects.length} subjects; expected exactly one (the model)`);
  }
  const subject = subjects[0];
  if (!isJsonObject(subject) || typeof subject.name !== 'string' || !isJsonObject(subject.digest)) {
    throw new VerificationError('statement subject must be an object with a string "name" and a "digest" object');
  }
  const root = subject.digest.sha256;
  if (!isHexDigest(root)) {
    throw new VerificationError(
      `statement subject digest.sha256 is ${JSON.stringify(root)}; expected 64 lower-case hex characters`);
  }
  const predicate = doc.predicate;
  if (!isJsonObject(predicate)) {
    throw new VerificationError('statement has no predicate object; expected {"resources": [...], "serialization": {...}}');
  }
  const serialization = parseSerialization(predicate.serialization);
  const resources = parseResources(predicate.resources, serialization);
  return {
    predicateType: PREDICATE_TYPE,
    legacy: false,
    subjectName: subject.name,
    rootDigest: root,
    manifest: { resources, serialization },
  };
}

function parseLegacy(doc: Record<string, unknown>): ParsedStatement {
  const subjects = doc.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) {
    throw new VerificationError(
      `statement has no subject; a legacy "${LEGACY_PREDICATE_TYPE}" statement lists each file as a subject`);
  }
  const serialization: Serialization = { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] };
  const raw = subjects.map((s, i) => {
    if (!isJsonObject(s) || !isJsonObject(s.digest)) {
      throw new VerificationError(`statement subject[${i}] must be an object with "name" and "digest"`);
    }
    return { name: s.name, algorithm: 'sha256', digest: s.digest.sha256 };
  });
  return {
    predicateType: LEGACY_PREDICATE_TYPE,
    legacy: true,
    subjectName: '',
    manifest: { resources: parseResources(raw, serialization), serialization },
  };
}

function parseSerialization(value: unknown): Serialization {
  if (!isJsonObject(value)) {
    throw new VerificationError(
      'predicate has no serialization object; expected {"method": "files"|"shards", "hash_type", "allow_symlinks", ...}');
  }
  const method = value.method;
  if (method !== 'files' && method !== 'shards') {
    throw new VerificationError(`serialization.method is ${JSON.stringify(method)}; expected "files" or "shards"`);
  }
  const hashType = value.hash_type;
  if (typeof hashType !== 'string' || !SUPPORTED_ALGORITHMS.includes(hashType)) {
    throw new VerificationError(
      `serialization.hash_type is ${JSON.stringify(hashType)}; this verifier supports ${SUPPORTED_ALGORITHMS.join(', ')}`);
  }
  // v1.0.x bundles wrote the flag as a boolean; tolerate the string form model_signing's compat path produced.
  const allow = value.allow_symlinks;
  let allowSymlinks: boolean;
  if (typeof allow === 'boolean') {
    allowSymlinks = allow;
  } else if (allow === 'true' || allow === 'false') {
    allowSymlinks = allow === 'true';
  } else {
    throw new VerificationError(`serialization.allow_symlinks is ${JSON.stringify(allow)}; expected true or false`);
  }
  let ignorePaths: string[] = [];
  if (value.ignore_paths !== undefined) {
    if (!Array.isArray(value.ignore_paths) || value.ignore_paths.some((p) => typeof p !== 'string')) {
      throw new VerificationError(
        `serialization.ignore_paths is ${JSON.stringify(value.ignore_paths)}; expected an array of path strings`);
    }
    ignorePaths = value.ignore_paths as string[];
    for (const entry of ignorePaths) {
      const problem = ignorePathProblem(entry);
      if (problem) {
        throw new VerificationError(`serialization.ignore_paths entry ${JSON.stringify(entry)} ${problem}; a signature must not exempt the whole model`);
      }
    }
  }
  let shardSize: number | undefined;
  if (method === 'shards') {
    const s = value.shard_size;
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s <= 0) {
      throw new VerificationError(
        `serialization.shard_size is ${JSON.stringify(s)}; the shards method needs a positive integer shard size`);
    }
    shardSize = s;
  }
  return {
    method,
    hash_type: hashType,
    allow_symlinks: allowSymlinks,
    ignore_paths: ignorePaths,
    ...(shardSize !== undefined ? { shard_size: shardSize } : {}),
  };
}

function parseResources(value: unknown, serialization: Serialization): ManifestResource[] {
  if (!Array.isArray(value)) {
    throw new VerificationError('predicate.resources is missing; expected an array of {name, algorithm, digest}');
  }
  if (value.length === 0) {
    throw new VerificationError('predicate.resources is empty; a signature must cover at least one file');
  }
  const seen = new Set<string>();
  const resources: ManifestResource[] = [];
  value.forEach((r, i) => {
    if (!isJsonObject(r)) {
      throw new VerificationError(`resource #${i} is ${describe(r)}; expected {name, algorithm, digest}`);
    }
    const { name, algorithm, digest } = r;
    if (typeof name !== 'string' || name.length === 0) {
      throw new VerificationError(`resource #${i} has name ${JSON.stringify(name)}; expected a non-empty relative path`);
    }
    if (typeof algorithm !== 'string' || !SUPPORTED_ALGORITHMS.includes(algorithm)) {
      throw new VerificationError(
        `resource "${name}" has algorithm ${JSON.stringify(algorithm)}; this verifier supports ${SUPPORTED_ALGORITHMS.join(', ')}`);
    }
    if (algorithm !== serialization.hash_type) {
      throw new VerificationError(
        `resource "${name}" has algorithm "${algorithm}" but serialization.hash_type is "${serialization.hash_type}"`);
    }
    const hexLength = 2 * DIGEST_BYTES[algorithm as HashAlgorithm];
    if (typeof digest !== 'string' || digest.length !== hexLength || !/^[0-9a-f]+$/.test(digest)) {
      throw new VerificationError(
        `resource "${name}" has digest ${JSON.stringify(digest)}; expected ${hexLength} lower-case hex characters (a ${algorithm} digest)`);
    }
    checkResourceName(name, serialization.method, value.length);
    if (seen.has(name)) {
      throw new VerificationError(`resource name "${name}" appears twice; each file or shard must be listed once`);
    }
    seen.add(name);
    resources.push({ name, algorithm, digest });
  });
  return resources;
}

/**
 * Rejects resource names that could reach outside the model or name the same file two ways.
 *
 * `.` is the single-file form of model_signing v1.0.0: the only resource, naming MODEL_PATH itself.
 */
function checkResourceName(name: string, method: Serialization['method'], count: number): void {
  let path = name;
  if (method === 'shards') {
    const m = /^(.*):(\d+):(\d+)$/s.exec(name);
    if (!m || Number(m[2]) >= Number(m[3])) {
      throw new VerificationError(
        `shard resource name "${name}" is not "path:start:end" with integer offsets and start < end`);
    }
    path = m[1];
  }
  if (path === '.') {
    if (count === 1) {
      return;
    }
    throw new VerificationError(
      `resource name "." (the model file itself) is only valid as the single resource of a one-file model; found ${count} resources`);
  }
  const bad =
    path.includes('\0') ? 'contains a NUL byte'
      : path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\') ? 'is absolute'
        : path.includes('\\') ? 'contains a backslash (names are POSIX paths)'
          : path.split('/').some((seg) => seg === '..') ? 'contains ".."'
            : path.split('/').some((seg) => seg === '' || seg === '.') ? 'has an empty or "." segment'
              : undefined;
  if (bad) {
    throw new VerificationError(`resource name "${name}" ${bad}; expected a relative POSIX path inside the model`);
  }
}

function describe(v: unknown): string {
  if (v === null) {
    return 'null';
  }
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
