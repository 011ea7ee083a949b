/**
 * A store wrapper that injects faults in front of a real store: delays, errors on list or get, and call counts.
 */
import type { ListedObject, ObjectStore, PutOutcome, ReadOptions } from '../../../src/runtime/store/types';

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

  public async get(key: string, opts?: ReadOptions): Promise<Buffer> {
    this.gets++;
    await this.delay(opts?.signal);
    const e = this.faults.getError?.(key);
    if (e) throw e;
    return this.inner.get(key, opts);
  }

  public async tryGet(key: string, opts?: ReadOptions): Promise<Buffer | undefined> {
    this.gets++;
    await this.delay(opts?.signal);
    const e = this.faults.getError?.(key);
    if (e) throw e;
    return this.inner.tryGet(key, opts);
  }

  public async list(prefix: string): Promise<string[]> {
    this.lists++;
    await this.delay();
    const e = this.faults.listError?.(prefix);
    if (e) throw e;
    return this.inner.list(prefix);
  }

  public async listObjects(prefix: string): Promise<ListedObject[]> {
    this.lists++;
    await this.delay();
    const e = this.faults.listError?.(prefix);
    if (e) throw e;
    return this.inner.listObjects(prefix);
  }

  /** Waits `delayMs`; an abort ends the wait at once with the signal's reason (as a real read would). */
  private async delay(signal?: AbortSignal): Promise<void> {
    if (this.faults.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, this.faults.delayMs);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
