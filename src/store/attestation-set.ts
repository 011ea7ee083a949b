/**
 * Reading everything a store holds about one root digest, with every object checked before it is returned.
 */
import { StoreIntegrityError } from './errors';
import { contentAddress, deriveKey, parseRoot, rootPrefixes } from './keys';
import type { AttestationSet, ObjectStore, StoredObject } from './types';
import { UsageError } from '../engine/errors';

/**
 * Lists and reads the bundles, attestations, Notation signatures and revocations stored for `root`.
 *
 * Fails closed: every object must sit at a well-formed content-addressed key, its bytes must hash to the key's
 * `<obj>` (and match the store's checksum, for S3), and its content must derive exactly that key (so a valid
 * bundle copied under another digest or signer is caught). Any failure is a {@link StoreIntegrityError} naming
 * the key, never a silently smaller set. Objects come back sorted by key within each group.
 *
 * @param root the root digest, as 64 hex characters or `sha256:<hex>`
 * @throws UsageError for a malformed root; StoreIntegrityError for a tampered or misplaced object;
 *   StoreAccessError / StoreUnavailableError when the store cannot be read
 */
export async function fetchAttestationSet(store: ObjectStore, root: string): Promise<AttestationSet> {
  const hex = parseRoot(root);
  const prefixes = rootPrefixes(hex);
  const [bundles, attestations, notation, revocations] = await Promise.all([
    readGroup(store, prefixes.bundles),
    readGroup(store, prefixes.attestations),
    readGroup(store, prefixes.notation),
    readGroup(store, prefixes.revocations),
  ]);
  return { root: hex, bundles, attestations, notation, revocations };
}

async function readGroup(store: ObjectStore, prefix: string): Promise<StoredObject[]> {
  const keys = await store.list(prefix);
  const out: StoredObject[] = [];
  // Sequential reads keep the request rate to the store modest; a digest has a handful of objects.
  for (const key of keys) {
    if (!contentAddress(key)) {
      throw new StoreIntegrityError(key, `${store.uri}: ${key} is not a key of the store layout (nothing ModelSeal publishes lives there); refusing to read the set`);
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
      throw new StoreIntegrityError(key, `${store.uri}: ${key} holds an object whose content belongs at ${derived} (copied or moved); refusing to read the set`);
    }
    out.push({ key, body });
  }
  return out;
}
