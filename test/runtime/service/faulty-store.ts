/**
 * A store wrapper that injects faults in front of a real store: delays, errors on list or get, and call counts.
 */
import type { ObjectStore, PutOutcome } from '../../../src/runtime/store/types';

/** What to inject; each hook may change between calls. */
export interface Faults {
  /** Delay before every list and get, ms. */
  delayMs?: number;
  /** An error to throw from list (called per list; undefined: no error). */
  listError?: (prefix: string) => Error | undefined;
  /** An error to throw from get. */
  getError?: (key: string) => Error | undefined;
}

/** See the module comment. */
export class FaultyStore implements ObjectStore {
  public lists = 0;
  public gets = 0;

  public constructor(private readonly inner: ObjectStore, public readonly faults: Faults = {}) {}

  public get uri(): string {
    return this.inner.uri;
  }

  public put(key: string, body: Buffer): Promise<PutOutcome> {
    return this.inner.put(key, body);
  }

  public async get(key: string): Promise<Buffer> {
    this.gets++;
    await this.delay();
    const e = this.faults.getError?.(key);
    if (e) throw e;
    return this.inner.get(key);
  }

  public async tryGet(key: string): Promise<Buffer | undefined> {
    this.gets++;
    await this.delay();
    const e = this.faults.getError?.(key);
    if (e) throw e;
    return this.inner.tryGet(key);
  }

  public async list(prefix: string): Promise<string[]> {
    this.lists++;
    await this.delay();
    const e = this.faults.listError?.(prefix);
    if (e) throw e;
    return this.inner.list(prefix);
  }

  private async delay(): Promise<void> {
    if (this.faults.delayMs) {
      await new Promise((r) => setTimeout(r, this.faults.delayMs));
    }
  }
}
