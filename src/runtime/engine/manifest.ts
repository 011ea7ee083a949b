/**
 * The manifest digest: the unit two signers must agree on.
 *
 * The OMS root digest is SHA-256 over the resource digests alone, in payload order: it commits to the file
 * *contents* in order, not to their names, the hash algorithm or the serialization options. Two statements can
 * share a root while naming the files differently (`[a:X, b:Y]` and `[a:X, c:Y]`) or exempting other paths from the
 * extra-file check (`ignore_paths`). The manifest digest commits to all of it, so signatures are counted per manifest
 * (policy/check.ts), never per root.
 *
 * Encoding (documented in docs/TRUST-POLICY.md): SHA-256 over the RFC 8785 (JCS) canonical JSON of
 *
 * ```
 * {"hashAlgorithm": <serialization.hash_type>,
 *  "resources": [{"algorithm", "digest", "name"}, ...] sorted by name (UTF-16 code units, as RFC 8785 sorts names),
 *  "serialization": {every parameter the statement carries, with method, hash_type, allow_symlinks (a boolean),
 *                    ignore_paths (normalized as the verifier applies them, de-duplicated, sorted) and, for
 *                    shards, shard_size as the verifier reads them}}
 * ```
 *
 * printed as `sha256:<hex>`. A parameter with a fractional number has no canonical form here and is refused.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import type { ParsedStatement } from './statement';
import type { Manifest } from './types';
import { formatRootDigest } from '../codec/digest';
import { ErrorClass, VerificationError } from '../codec/errors';
import { canonicalJson, compareCodeUnits } from '../codec/jcs';
import { isJsonObject } from '../codec/json';

/**
 * The canonical JSON text of a manifest (see the module comment).
 *
 * @param rawSerialization the statement's `predicate.serialization` object as signed, so that parameters this
 *   verifier does not interpret still bind; omit it for legacy statements, which record none
 * @throws `err` (default VerificationError) when a parameter has no canonical encoding (a fraction, a lone surrogate)
 */
export function canonicalManifest(manifest: Manifest, rawSerialization?: unknown, err: ErrorClass = VerificationError): string {
  const s = manifest.serialization;
  const serialization: Record<string, unknown> = {
    ...(isJsonObject(rawSerialization) ? rawSerialization : {}),
    method: s.method,
    hash_type: s.hash_type,
    allow_symlinks: s.allow_symlinks,
    ignore_paths: [...new Set(s.ignore_paths.map((p) => path.posix.normalize(p).replace(/\/+$/, '')))].sort(compareCodeUnits),
  };
  if (s.shard_size !== undefined) {
    serialization.shard_size = s.shard_size;
  }
  const resources = [...manifest.resources]
    .sort((a, b) => compareCodeUnits(a.name, b.name))
    .map((r) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest }));
  return canonicalJson({ hashAlgorithm: s.hash_type, serialization, resources }, 'manifest', err);
}

/** Hex SHA-256 of {@link canonicalManifest}. */
export function manifestDigest(manifest: Manifest, rawSerialization?: unknown, err: ErrorClass = VerificationError): string {
  return createHash('sha256').update(canonicalManifest(manifest, rawSerialization, err), 'utf8').digest('hex');
}

/**
 * The manifest digest of a parsed OMS statement, as `sha256:<hex>`.
 *
 * @param statement the decoded statement object (for its raw `predicate.serialization`); omit for legacy statements
 */
export function statementManifestDigest(parsed: ParsedStatement, statement?: Record<string, unknown>): string {
  const predicate = statement?.predicate;
  const raw = !parsed.legacy && isJsonObject(predicate) ? predicate.serialization : undefined;
  return formatRootDigest(manifestDigest(parsed.manifest, raw));
}
