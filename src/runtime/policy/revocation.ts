/**
 * Revocation records: a signed in-toto statement saying "this root digest must no longer be admitted", stored
 * append-only beside the signatures it overrides.
 *
 * The record is signed exactly like a model signature (Sigstore bundle v0.3, DSSE, any ModelSeal signer), so it is
 * verified with the same keys. Whether it counts is the trust policy's decision: only signers listed in `revokers`
 * can revoke.
 */
import { parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { STATEMENT_TYPE } from '../codec/statement';
import { parseRfc3339 } from '../codec/time';
import { signStatement } from '../engine/sign-statement';
import type { Signer } from '../engine/signer';
import { deriveKey, REVOCATION_PREDICATE_TYPE } from '../store/keys';
import type { ObjectStore, PutOutcome } from '../store/types';

export { REVOCATION_PREDICATE_TYPE };

/** Longest reason accepted: a sentence or two for the report, not a document. */
export const MAX_REVOCATION_REASON_LENGTH = 2048;

/** The predicate of a revocation record. */
export interface RevocationPredicate {
  /** Why the digest is revoked (free text, shown in every denial). */
  readonly reason: string;
  /** When it was revoked (RFC 3339, UTC). */
  readonly revokedAt: string;
  /** Who revoked it, as the revoker wants to be named (informational; the signature is what identifies them). */
  readonly revoker?: string;
}

/** Options of {@link buildRevocationStatement}. */
export interface RevocationOptions {
  /** Why the digest is revoked. */
  readonly reason: string;
  /** @default new Date() */
  readonly revokedAt?: Date;
  /** A name for the revoker, informational. @default - none */
  readonly revoker?: string;
}

/** A signed revocation record and where the store keeps it. */
export interface SignedRevocation {
  /** The bundle as stored (compact JSON). */
  readonly bundleText: string;
  /** The store key derived from the bundle's content. */
  readonly key: string;
  /** The revoked root digest (hex). */
  readonly root: string;
  /** The revoker's key hint. */
  readonly keyHint: string;
  /** The predicate that was signed. */
  readonly predicate: RevocationPredicate;
}

/**
 * Builds the revocation statement for a root digest.
 *
 * @param root `sha256:<hex>` or 64 hex characters
 * @throws UsageError for a malformed root or an empty or overlong reason
 */
export function buildRevocationStatement(root: string, opts: RevocationOptions): Record<string, unknown> {
  const hex = parseRootDigest(root);
  const reason = opts.reason.trim();
  if (reason === '') {
    throw new UsageError('a revocation needs a non-empty --reason: it is shown in every denial of this digest');
  }
  if (reason.length > MAX_REVOCATION_REASON_LENGTH) {
    throw new UsageError(`the revocation reason is ${reason.length} characters; keep it under ${MAX_REVOCATION_REASON_LENGTH}`);
  }
  const at = opts.revokedAt ?? new Date();
  if (Number.isNaN(at.getTime())) {
    throw new UsageError('the revocation time is not a valid date');
  }
  const predicate: Record<string, string> = { reason, revokedAt: at.toISOString() };
  if (opts.revoker !== undefined && opts.revoker.trim() !== '') {
    predicate.revoker = opts.revoker.trim();
  }
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: `sha256:${hex}`, digest: { sha256: hex } }],
    predicateType: REVOCATION_PREDICATE_TYPE,
    predicate,
  };
}

/**
 * Signs a revocation record for `root` with `signer`.
 *
 * @throws UsageError for bad input or a signer that returns an unusable signature
 */
export async function signRevocation(root: string, signer: Signer, opts: RevocationOptions): Promise<SignedRevocation> {
  const statement = buildRevocationStatement(root, opts);
  const signed = await signStatement(statement, signer);
  const body = Buffer.from(signed.bundleText, 'utf8');
  return {
    bundleText: signed.bundleText,
    key: deriveKey(body, 'revocation record').key,
    root: parseRootDigest(root),
    keyHint: signed.keyHint,
    predicate: statement.predicate as RevocationPredicate,
  };
}

/**
 * Writes a signed revocation record to the store at its content-derived key (write-once; the same bytes again is a
 * no-op).
 */
export async function publishRevocation(store: ObjectStore, revocation: SignedRevocation): Promise<PutOutcome> {
  return store.put(revocation.key, Buffer.from(revocation.bundleText, 'utf8'));
}

/**
 * Reads the predicate of a verified revocation statement, rejecting anything that is not a well-formed record.
 *
 * @throws VerificationError naming the field at fault
 */
export function parseRevocationPredicate(predicate: unknown, source = 'revocation record'): RevocationPredicate {
  if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) {
    throw new VerificationError(`${source} has no predicate object; expected {reason, revokedAt}`);
  }
  const p = predicate as Record<string, unknown>;
  if (typeof p.reason !== 'string' || p.reason.trim() === '') {
    throw new VerificationError(`${source} predicate.reason is ${JSON.stringify(p.reason)}; expected a non-empty string`);
  }
  parseRfc3339(p.revokedAt, `${source} predicate.revokedAt`);
  if (p.revoker !== undefined && typeof p.revoker !== 'string') {
    throw new VerificationError(`${source} predicate.revoker is ${JSON.stringify(p.revoker)}; expected a string when present`);
  }
  return { reason: p.reason, revokedAt: p.revokedAt as string, ...(typeof p.revoker === 'string' ? { revoker: p.revoker } : {}) };
}
