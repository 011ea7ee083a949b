/**
 * Reading everything a store holds about one root digest, with every object checked before it is returned, within
 * a bounded budget of objects and bytes.
 */
import { StoreIntegrityError } from './errors';
import { contentAddress, deriveKey, rootPrefixes } from './keys';
import type { AttestationSet, FetchStats, ListedObject, ObjectStore, RejectedObject, StoredObject } from './types';
import { STORE_FOLDERS } from '../../shared/store-layout';
import { parseRootDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';

/**
 * Default largest attestation-store object read, in bytes (1 MiB). A ModelSeal bundle is a few KiB (a manifest of
 * thousands of files is some hundreds of KiB); anything larger is not fetched.
 */
export const DEFAULT_MAX_ATTESTATION_OBJECT_BYTES = 1024 * 1024;

/** Default most objects read per root digest (bundles, attestations, Notation signatures and revocations together). */
export const DEFAULT_MAX_OBJECTS_PER_ROOT = 256;

/** Default most bytes read per root digest (16 MiB). */
export const DEFAULT_MAX_BYTES_PER_ROOT = 16 * 1024 * 1024;

/** Objects fetched at once. */
const READ_CONCURRENCY = 4;

/** Limits of {@link fetchAttestationSet}. */
export interface FetchOptions {
  /**
   * Largest object fetched, in bytes. An object whose listed size is larger is rejected unread (`notRead: 'oversize'`).
   *
   * @default DEFAULT_MAX_ATTESTATION_OBJECT_BYTES (1 MiB)
   */
  readonly maxObjectBytes?: number;
  /**
   * Most objects fetched per root; the rest are rejected unread (`notRead: 'budget'`).
   *
   * @default DEFAULT_MAX_OBJECTS_PER_ROOT (256)
   */
  readonly maxObjects?: number;
  /**
   * Most bytes fetched per root (by listed size, decided before any GET); the rest are rejected unread.
   *
   * @default DEFAULT_MAX_BYTES_PER_ROOT (16 MiB)
   */
  readonly maxBytes?: number;
  /**
   * Key hints (64 hex) whose folders are read first: the policy's own keys, so that objects under other signers'
   * folders cannot spend the budget before the policy's signatures and revocations are read.
   *
   * @default - none (key order)
   */
  readonly preferSigners?: readonly string[];
  /** Aborts the reads (the verifier's deadline); the promise rejects with the signal's reason. @default - none */
  readonly signal?: AbortSignal;
}

/**
 * Lists and reads the bundles, attestations, Notation signatures and revocations stored for `root`.
 *
 * Every object must sit at a well-formed content-addressed key, its bytes must hash to the key's `<obj>` (and match
 * the store's checksum, for S3), stay under the size limit, and its content must derive exactly that key (so a
 * valid bundle copied under another digest or signer is caught).
 *
 * Reads are bounded before any GET, from the listing alone: an object whose listed size is over `maxObjectBytes` is
 * never fetched, and at most `maxObjects` objects and `maxBytes` bytes are fetched per root. Objects are read in this
 * order: revocations under the `preferSigners` folders, then bundles and attestations under them, then everything
 * else (other signers' folders, Notation signatures), each in key order; what the budget leaves is rejected unread.
 * Whoever can write under other signers' folders therefore cannot crowd out the policy's own signatures or revocations.
 *
 * An object that fails a check could never count toward a policy as it is, so it is returned in `rejected` with the
 * reason, and the rest of the set still counts: anyone allowed to write could otherwise lock a digest out forever
 * with one junk object (Object Lock keeps it). A rejected object keeps its bytes only under `revocations/` (the
 * trust policy tests whether a revoker signed it: policy/check.ts); elsewhere they are dropped at once.
 *
 * @param root the root digest, as 64 hex characters or `sha256:<hex>`
 * @throws UsageError for a malformed root; StoreIntegrityError when listing finds the store's write-once rule broken
 *   (S3: a second version or a delete marker under `revocations/`); StoreAccessError / StoreUnavailableError when the
 *   store cannot be read; the signal's reason when `signal` aborts
 */
export async function fetchAttestationSet(store: ObjectStore, root: string, opts: FetchOptions = {}): Promise<AttestationSet> {
  const hex = parseRootDigest(root);
  const maxObjectBytes = opts.maxObjectBytes ?? DEFAULT_MAX_ATTESTATION_OBJECT_BYTES;
  const maxObjects = opts.maxObjects ?? DEFAULT_MAX_OBJECTS_PER_ROOT;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES_PER_ROOT;
  const prefixes = rootPrefixes(hex);
  const folders = [prefixes.bundles, prefixes.attestations, prefixes.notation, prefixes.revocations];
  const listings = await Promise.all(folders.map((p) => store.listObjects(p)));
  opts.signal?.throwIfAborted();
  const listed = listings.flat();
  const rejected: RejectedObject[] = [];
  const preferred = new Set(opts.preferSigners ?? []);
  const rank = (o: ListedObject): number => {
    const signer = contentAddress(o.key)?.signer;
    const mine = signer !== undefined && preferred.has(signer);
    return mine && o.key.startsWith(STORE_FOLDERS.revocations) ? 0 : mine ? 1 : 2;
  };
  const candidates: ListedObject[] = [];
  for (const o of listed) {
    if (!contentAddress(o.key)) {
      rejected.push({ key: o.key, reason: `${store.uri}: ${o.key} is not a key of the store layout (nothing ModelSeal publishes lives there); not read` });
    } else if (o.size > maxObjectBytes) {
      rejected.push({
        key: o.key,
        notRead: 'oversize',
        reason: `${store.uri}: ${o.key} is ${o.size} bytes (listed size), over the ${maxObjectBytes}-byte limit for attestation objects; not read`,
      });
    } else {
      candidates.push(o);
    }
  }
  candidates.sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const toRead: ListedObject[] = [];
  let planned = 0;
  for (const o of candidates) {
    if (toRead.length >= maxObjects || planned + o.size > maxBytes) {
      rejected.push({
        key: o.key,
        notRead: 'budget',
        reason: `${store.uri}: ${o.key} was not read: the per-root read budget (${maxObjects} objects, ${maxBytes} bytes) was spent on ${toRead.length} objects (${planned} bytes) read first`,
      });
      continue;
    }
    toRead.push(o);
    planned += o.size;
  }

  const results: (StoredObject | RejectedObject)[] = new Array(toRead.length);
  let fetched = 0;
  let bytesFetched = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < toRead.length) {
      const i = next++;
      opts.signal?.throwIfAborted();
      const r = await readChecked(store, toRead[i].key, maxObjectBytes, opts.signal);
      fetched++;
      bytesFetched += r.size;
      results[i] = r.object;
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, toRead.length) }, worker));
  opts.signal?.throwIfAborted();

  const groups: Record<'bundles' | 'attestations' | 'notation' | 'revocations', StoredObject[]> = { bundles: [], attestations: [], notation: [], revocations: [] };
  for (const r of results) {
    if ('reason' in r) {
      rejected.push(r);
      continue;
    }
    const group = r.key.startsWith(STORE_FOLDERS.bundles) ? groups.bundles
      : r.key.startsWith(STORE_FOLDERS.attestations) ? groups.attestations
        : r.key.startsWith(STORE_FOLDERS.notation) ? groups.notation : groups.revocations;
    group.push(r);
  }
  for (const g of Object.values(groups)) {
    g.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  rejected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const stats: FetchStats = {
    listed: listed.length,
    fetched,
    bytesFetched,
    oversize: rejected.filter((r) => r.notRead === 'oversize').length,
    overBudget: rejected.filter((r) => r.notRead === 'budget').length,
  };
  return { root: hex, ...groups, rejected, stats };
}

async function readChecked(
  store: ObjectStore, key: string, maxBytes: number, signal: AbortSignal | undefined,
): Promise<{ object: StoredObject | RejectedObject; size: number }> {
  let body: Buffer;
  try {
    body = await store.get(key, { maxBytes, ...(signal ? { signal } : {}) });
  } catch (e) {
    if (e instanceof StoreIntegrityError) {
      return { object: { key, reason: e.message }, size: 0 };
    }
    throw e;
  }
  // bytes of a rejected object are kept only under revocations/, where a revoker's damaged record must still deny
  const keep = key.startsWith(STORE_FOLDERS.revocations) ? { body } : {};
  let derived: string;
  try {
    derived = deriveKey(body, key).key;
  } catch (e) {
    if (e instanceof UsageError) {
      return { object: { key, ...keep, reason: `${store.uri}: ${key} is not a publishable object: ${e.message}` }, size: body.length };
    }
    throw e;
  }
  if (derived !== key) {
    return { object: { key, ...keep, reason: `${store.uri}: ${key} holds an object whose content belongs at ${derived} (copied or moved)` }, size: body.length };
  }
  return { object: { key, body }, size: body.length };
}
