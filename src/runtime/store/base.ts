/**
 * What every store implementation shares: reads that check a content-addressed key against the bytes it returns.
 */
import { StoreNotFoundError } from './errors';
import { checkContentAddress, validateKey } from './keys';
import type { ListedObject, ObjectStore, PutOutcome, ReadOptions } from './types';

/** A write-once store whose reads fail closed when an object's bytes do not match its content-addressed key. */
export abstract class ContentCheckedStore implements ObjectStore {
  public abstract readonly uri: string;

  public abstract put(key: string, body: Buffer): Promise<PutOutcome>;

  public abstract listObjects(prefix: string): Promise<ListedObject[]>;

  /** Lists every key under `prefix` (recursively), sorted. */
  public async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  /**
   * Reads the object at `key`, checking a content-addressed key's `<obj>` digest against the bytes.
   *
   * @throws StoreNotFoundError when the key does not exist; StoreIntegrityError when the bytes do not match the key
   */
  public async get(key: string, opts: ReadOptions = {}): Promise<Buffer> {
    const body = await this.tryGet(key, opts);
    if (body === undefined) {
      throw new StoreNotFoundError(key, `${key} does not exist in the store ${this.uri}`);
    }
    return body;
  }

  /** Reads the object at `key` like {@link get}, or returns undefined when it does not exist. */
  public async tryGet(key: string, opts: ReadOptions = {}): Promise<Buffer | undefined> {
    validateKey(key);
    const body = await this.readRaw(key, opts);
    if (body !== undefined) {
      checkContentAddress(key, body);
    }
    return body;
  }

  /** Reads the raw bytes at a validated key (with the implementation's own transport checks), or undefined. */
  protected abstract readRaw(key: string, opts?: ReadOptions): Promise<Buffer | undefined>;
}
