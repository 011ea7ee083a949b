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
  get(key: string): Promise<Buffer>;
  /** Reads the object at `key`, or undefined when it does not exist. */
  tryGet(key: string): Promise<Buffer | undefined>;
  /** Lists every key under `prefix` (recursively), sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Everything the store holds for one root digest, as raw bytes with their keys. */
export interface AttestationSet {
  readonly root: string;
  readonly bundles: StoredObject[];
  readonly attestations: StoredObject[];
  readonly notation: StoredObject[];
  readonly revocations: StoredObject[];
  /** Objects under the digest that failed a check and therefore count for nothing, with the reason. */
  readonly rejected?: RejectedObject[];
}

/** A store object that could not be used, and why. */
export interface RejectedObject {
  readonly key: string;
  readonly reason: string;
  /** Its bytes, when they could be read (a decision may still attribute a damaged object to its signer). */
  readonly body?: Buffer;
}

/** One stored object. */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
}
