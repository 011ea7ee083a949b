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
 * An object that fails a check could never count toward a policy as it is, so it is returned in `rejected` with the
 * reason (and its bytes when they could be read), and the rest of the set still counts: anyone allowed to write
 * could otherwise lock a digest out forever with one junk object (Object Lock keeps it). That holds under
 * `revocations/` too: whether a damaged object there still denies is the trust policy's decision
 * (policy/check.ts), which fails closed for objects attributable to a revoker and ignores the rest.
 *
 * @param root the root digest, as 64 hex characters or `sha256:<hex>`
 * @throws UsageError for a malformed root; StoreIntegrityError when listing finds the store's write-once rule broken
 *   (S3: a second version or a delete marker under `revocations/`); StoreAccessError / StoreUnavailableError when the
 *   store cannot be read
 */
export async function fetchAttestationSet(store: ObjectStore, root: string): Promise<AttestationSet> {
  const hex = parseRootDigest(root);
  const prefixes = rootPrefixes(hex);
  const rejected: RejectedObject[] = [];
  const [bundles, attestations, notation, revocations] = await Promise.all([
    readGroup(store, prefixes.bundles, rejected),
    readGroup(store, prefixes.attestations, rejected),
    readGroup(store, prefixes.notation, rejected),
    readGroup(store, prefixes.revocations, rejected),
  ]);
  return { root: hex, bundles, attestations, notation, revocations, rejected };
}

/** Reads every object under `prefix`; objects that fail a check go to `rejected`. */
async function readGroup(store: ObjectStore, prefix: string, rejected: RejectedObject[]): Promise<StoredObject[]> {
  const keys = await store.list(prefix);
  const out: StoredObject[] = [];
  // Sequential reads keep the request rate to the store modest; a digest has a handful of objects.
  for (const key of keys) {
    const result = await readChecked(store, key);
    if ('reason' in result) {
      rejected.push(result);
    } else {
      out.push(result);
    }
  }
  return out;
}

async function readChecked(store: ObjectStore, key: string): Promise<StoredObject | RejectedObject> {
  if (!contentAddress(key)) {
    return { key, reason: `${store.uri}: ${key} is not a key of the store layout (nothing ModelSeal publishes lives there)` };
  }
  let body: Buffer;
  try {
    body = await store.get(key);
  } catch (e) {
    if (e instanceof StoreIntegrityError) {
      return { key, reason: e.message };
    }
    throw e;
  }
  let derived: string;
  try {
    derived = deriveKey(body, key).key;
  } catch (e) {
    if (e instanceof UsageError) {
      return { key, body, reason: `${store.uri}: ${key} is not a publishable object: ${e.message}` };
    }
    throw e;
  }
  if (derived !== key) {
    return { key, body, reason: `${store.uri}: ${key} holds an object whose content belongs at ${derived} (copied or moved)` };
  }
  return { key, body };
}
