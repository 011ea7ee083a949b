/**
 * Reading everything a store holds about one root digest, with every object checked before it is returned.
 */
import { StoreIntegrityError } from './errors';
import { contentAddress, deriveKey, rootPrefixes } from './keys';
import type { AttestationSet, ObjectStore, RejectedObject, StoredObject } from './types';
import { parseRootDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';

/**
 * Lists and reads the bundles, attestations, Notation signatures and revocations stored for `root`.
 *
 * Every object must sit at a well-formed content-addressed key, its bytes must hash to the key's `<obj>` (and match
 * the store's checksum, for S3), stay under the size limit, and its content must derive exactly that key (so a
 * valid bundle copied under another digest or signer is caught).
 *
 * An object under `bundles/`, `attestations/` or `notation/` that fails a check could never count toward a policy,
 * so it is returned in `rejected` with the reason, and the rest of the set still counts: anyone allowed to publish
 * could otherwise lock a digest out forever with one junk object (Object Lock keeps it). Under `revocations/` a
 * failure stays fatal ({@link StoreIntegrityError}): an unreadable object there might be a revocation, and a revoked
 * model must never pass because its revocation could not be read.
 *
 * @param root the root digest, as 64 hex characters or `sha256:<hex>`
 * @throws UsageError for a malformed root; StoreIntegrityError for a tampered or misplaced revocation;
 *   StoreAccessError / StoreUnavailableError when the store cannot be read
 */
export async function fetchAttestationSet(store: ObjectStore, root: string): Promise<AttestationSet> {
  const hex = parseRootDigest(root);
  const prefixes = rootPrefixes(hex);
  const rejected: RejectedObject[] = [];
  const [bundles, attestations, notation, revocations] = await Promise.all([
    readGroup(store, prefixes.bundles, rejected),
    readGroup(store, prefixes.attestations, rejected),
    readGroup(store, prefixes.notation, rejected),
    readGroup(store, prefixes.revocations, undefined),
  ]);
  return { root: hex, bundles, attestations, notation, revocations, rejected };
}

/** Reads every object under `prefix`; failures go to `rejected` when given, else they throw. */
async function readGroup(store: ObjectStore, prefix: string, rejected: RejectedObject[] | undefined): Promise<StoredObject[]> {
  const keys = await store.list(prefix);
  const out: StoredObject[] = [];
  // Sequential reads keep the request rate to the store modest; a digest has a handful of objects.
  for (const key of keys) {
    try {
      out.push({ key, body: await readChecked(store, key) });
    } catch (e) {
      if (!(e instanceof StoreIntegrityError) || rejected === undefined) {
        throw e;
      }
      rejected.push({ key, reason: e.message });
    }
  }
  return out;
}

async function readChecked(store: ObjectStore, key: string): Promise<Buffer> {
  if (!contentAddress(key)) {
    throw new StoreIntegrityError(key, `${store.uri}: ${key} is not a key of the store layout (nothing ModelSeal publishes lives there)`);
  }
  const body = await store.get(key);
  let derived: string;
  try {
    derived = deriveKey(body, key).key;
  } catch (e) {
    if (e instanceof UsageError) {
      throw new StoreIntegrityError(key, `${store.uri}: ${key} is not a publishable object: ${e.message}`);
    }
    throw e;
  }
  if (derived !== key) {
    throw new StoreIntegrityError(key, `${store.uri}: ${key} holds an object whose content belongs at ${derived} (copied or moved)`);
  }
  return body;
}
