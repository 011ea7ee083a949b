/**
 * The one decoder of in-toto Statement v1 envelopes (the DSSE payload of every ModelSeal bundle): the JSON object,
 * its `_type`, its `predicateType` and its subjects' SHA-256 digests. What a predicate means is the business of its
 * own module (the OMS statement in engine/statement.ts, the SBOM in sbom/attest.ts, revocations in policy/).
 *
 * @see https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 */
import { isHexDigest } from './digest';
import { ErrorClass, VerificationError } from './errors';
import { isJsonObject, parseJson } from './json';

/** The in-toto Statement v1 `_type`. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** A decoded statement: a JSON object whose `_type` is Statement v1 and whose `predicateType` is a non-empty string. */
export type DecodedStatement = Record<string, unknown> & { readonly predicateType: string };

/**
 * Decodes a DSSE payload as an in-toto Statement v1: valid JSON, an object, `_type` {@link STATEMENT_TYPE}, a
 * non-empty string `predicateType`. Subjects and predicate are left to the caller.
 *
 * @param what names the bundle in errors (a prefix `<what>: `); omit it to get the bare message
 * @param err the error to raise (default {@link VerificationError})
 */
export function decodeStatement(payload: Buffer, what?: string, err: ErrorClass = VerificationError): DecodedStatement {
  const at = what ? `${what}: ` : '';
  const doc = parseJson(payload, `${at}DSSE payload (an in-toto Statement v1)`, err);
  if (!isJsonObject(doc)) {
    throw new err(`${at}DSSE payload is ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : `a ${typeof doc}`}; expected an in-toto Statement v1 JSON object`);
  }
  if (doc._type !== STATEMENT_TYPE) {
    throw new err(`${at}statement _type is ${JSON.stringify(doc._type)}; expected "${STATEMENT_TYPE}"`);
  }
  if (typeof doc.predicateType !== 'string' || doc.predicateType === '') {
    throw new err(`${at}statement predicateType is ${JSON.stringify(doc.predicateType)}; expected a non-empty URI`);
  }
  return doc as DecodedStatement;
}

/**
 * The `digest.sha256` of every subject, in order (at least one subject).
 *
 * @throws `err` when there is no subject or a subject has no SHA-256 digest of 64 lower-case hex characters
 */
export function subjectDigests(statement: Record<string, unknown>, what?: string, err: ErrorClass = VerificationError): string[] {
  const at = what ? `${what}: ` : '';
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) {
    throw new err(`${at}statement has no subject; expected the model's root digest as subject`);
  }
  return subjects.map((s, i) => {
    const d = isJsonObject(s) && isJsonObject(s.digest) ? s.digest.sha256 : undefined;
    if (!isHexDigest(d)) {
      throw new err(`${at}statement subject #${i} digest.sha256 is ${JSON.stringify(d)}; expected the root digest as 64 lower-case hex characters`);
    }
    return d;
  });
}

/**
 * The root digest of an attestation: its one subject's SHA-256 (an attestation is about exactly one model).
 *
 * @throws `err` when there is not exactly one subject, or it has no SHA-256 digest of 64 lower-case hex characters
 */
export function onlySubjectDigest(statement: Record<string, unknown>, what?: string, err: ErrorClass = VerificationError): string {
  const at = what ? `${what}: ` : '';
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1) {
    throw new err(`${at}statement has ${Array.isArray(subjects) ? subjects.length : 'no'} subject(s); an attestation must have exactly one subject, the model's root digest`);
  }
  const s = subjects[0];
  const d = isJsonObject(s) && isJsonObject(s.digest) ? s.digest.sha256 : undefined;
  if (!isHexDigest(d)) {
    throw new err(`${at}statement subject digest.sha256 is ${JSON.stringify(d)}; expected the root digest as 64 lower-case hex characters`);
  }
  return d;
}
