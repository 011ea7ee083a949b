/**
 * The store contract shared by the local write-once directory and S3 (runtime only; not part of the jsii API).
 *
 * The key layout (identical in every implementation) is defined once, in src/shared/store-layout.ts; see
 * docs/STORE.md.
 */

/** What a put did: wrote a new object, or found the identical bytes already there (a successful no-op). */
export type PutOutcome = 'created' | 'unchanged';

/** A write-once object store. Implementations never overwrite and never expose a partial object. */
export interface ObjectStore {
  /** A URI that names the store (`file:///abs/path` or `s3://bucket/prefix`). */
  readonly uri: string;
  /**
   * Writes `body` at `key` if no object is there. Identical bytes already there → 'unchanged'.
   * Different bytes already there → a StoreConflictError naming the key.
   */
  put(key: string, body: Buffer): Promise<PutOutcome>;
  /** Reads the object at `key`; a missing key is a StoreNotFoundError naming it. */
  get(key: string, opts?: ReadOptions): Promise<Buffer>;
  /** Reads the object at `key`, or undefined when it does not exist. */
  tryGet(key: string, opts?: ReadOptions): Promise<Buffer | undefined>;
  /** Lists every key under `prefix` (recursively), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Lists every object under `prefix` (recursively) with its size as the listing reports it (S3: the `Size` of
   * ListObjectsV2 / ListObjectVersions; local: `stat`), sorted by key, so that a reader can refuse an object before
   * fetching it.
   */
  listObjects(prefix: string): Promise<ListedObject[]>;
}

/** One object of a listing. */
export interface ListedObject {
  readonly key: string;
  /** Size in bytes, from the listing (not from reading the object). */
  readonly size: number;
}

/** Options of a read. */
export interface ReadOptions {
  /** Aborts the read (its promise rejects with the signal's reason). @default - not abortable */
  readonly signal?: AbortSignal;
  /**
   * Largest object to read, in bytes; a larger one is a StoreIntegrityError and is not downloaded (S3: checked on the
   * response's Content-Length before the body is read; local: on `stat`).
   *
   * @default MAX_OBJECT_BYTES (64 MiB, store/keys.ts)
   */
  readonly maxBytes?: number;
}

/** Everything the store holds for one root digest, as raw bytes with their keys. */
export interface AttestationSet {
  readonly root: string;
  readonly bundles: StoredObject[];
  readonly attestations: StoredObject[];
  readonly notation: StoredObject[];
  readonly revocations: StoredObject[];
  /** Objects under the digest that failed a check or were not read, and therefore count for nothing, with the reason. */
  readonly rejected?: RejectedObject[];
  /** What reading the set cost (store/attestation-set.ts). */
  readonly stats?: FetchStats;
}

/** Counters of one {@link AttestationSet} read. */
export interface FetchStats {
  /** Objects the listings returned under the root. */
  readonly listed: number;
  /** Objects fetched (GET). */
  readonly fetched: number;
  /** Bytes fetched. */
  readonly bytesFetched: number;
  /** Objects not fetched because the listing gave a size over the per-object limit. */
  readonly oversize: number;
  /** Objects not fetched because the per-root object or byte budget was spent. */
  readonly overBudget: number;
}

/** A store object that could not be used, and why. */
export interface RejectedObject {
  readonly key: string;
  readonly reason: string;
  /**
   * Its bytes: kept only under `revocations/` and when they could be read (policy/check.ts tests whether a revoker
   * signed a damaged record); never for other folders, so that rejected junk does not stay in memory.
   */
  readonly body?: Buffer;
  /** Why it was never fetched: its listed size is over the per-object limit, or the per-root budget was spent. */
  readonly notRead?: 'oversize' | 'budget';
}

/** One stored object. */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
}
