/**
 * The verifier's cache of KMS public keys: a `kmsKeyArn` of the trust policy is read with GetPublicKey once, then
 * served from memory, so a decision costs no KMS call (docs/VERIFIER.md, "Decisions").
 */
import type { KeyObject } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { KMSClient } from '@aws-sdk/client-kms';
import { kmsPublicKey, parseKmsKeyId } from '../signers/kms';

/** Options of {@link KmsKeyCache}. */
export interface KmsKeyCacheOptions {
  /**
   * The client for every key (tests inject a mock).
   *
   * @default - one client per region (the key ARN's, else `region`), created on first use
   */
  readonly client?: KMSClient;
  /**
   * Region of key ids and aliases that are not ARNs.
   *
   * @default - the SDK's own lookup (AWS_REGION)
   */
  readonly region?: string;
  /**
   * After a failed GetPublicKey, how long the failure is answered from memory before KMS is asked again, in
   * milliseconds, so a throttled or unreachable KMS is not called once per decision.
   *
   * @default 1000
   */
  readonly failureTtlMs?: number;
  /** Clock in milliseconds (tests). @default Date.now */
  readonly now?: () => number;
  /** Called before each GetPublicKey call (metrics). @default - nothing */
  readonly onFetch?: () => void;
}

/**
 * Public keys of KMS keys, fetched once per key and kept (a KMS key's public key never changes). Concurrent requests
 * for one key share one GetPublicKey call; a failure is kept for `failureTtlMs` and then retried.
 */
export class KmsKeyCache {
  private readonly keys = new Map<string, Promise<KeyObject>>();
  private readonly failures = new Map<string, { error: Error; until: number }>();
  private readonly clients = new Map<string, KMSClient>();
  private readonly failureTtlMs: number;
  private readonly now: () => number;
  /** GetPublicKey calls made (for metrics and tests). */
  public fetches = 0;

  public constructor(private readonly options: KmsKeyCacheOptions = {}) {
    this.failureTtlMs = options.failureTtlMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Number of keys held. */
  public get size(): number {
    return this.keys.size;
  }

  /**
   * The public key of `keyArn`, from memory after the first successful read.
   *
   * @throws the GetPublicKey error (UsageError naming the key) while it is remembered
   */
  public get = (keyArn: string): Promise<KeyObject> => {
    const held = this.keys.get(keyArn);
    if (held) {
      return held;
    }
    const failed = this.failures.get(keyArn);
    if (failed && failed.until > this.now()) {
      return Promise.reject(failed.error);
    }
    this.fetches++;
    this.options.onFetch?.();
    const pending = kmsPublicKey(keyArn, { client: this.clientFor(keyArn) });
    this.keys.set(keyArn, pending);
    pending.then(() => this.failures.delete(keyArn), (e: Error) => {
      this.keys.delete(keyArn);
      this.failures.set(keyArn, { error: e, until: this.now() + this.failureTtlMs });
    });
    return pending;
  };

  /** Reads every key now (at start-up and after a policy reload), so `/readyz` can say whether they are usable. */
  public async prefetch(keyArns: readonly string[]): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(keyArns.map(async (arn) => {
      try {
        await this.get(arn);
      } catch (e) {
        problems.push(`KMS key ${arn}: ${(e as Error).message}`);
      }
    }));
    return problems;
  }

  /** Forgets keys that are no longer named (after a policy reload). */
  public retain(keyArns: readonly string[]): void {
    const keep = new Set(keyArns);
    for (const arn of [...this.keys.keys()]) {
      if (!keep.has(arn)) {
        this.keys.delete(arn);
      }
    }
  }

  /** Closes the clients this cache created. */
  public close(): void {
    for (const c of this.clients.values()) {
      c.destroy();
    }
    this.clients.clear();
  }

  private clientFor(keyArn: string): KMSClient {
    if (this.options.client) {
      return this.options.client;
    }
    let region: string | undefined;
    try {
      region = parseKmsKeyId(keyArn).region ?? this.options.region;
    } catch {
      region = this.options.region;
    }
    const id = region ?? '';
    let client = this.clients.get(id);
    if (!client) {
      // a few quick attempts: a decision has a deadline, and the key is fetched again on a later decision anyway
      client = new KMSClient({ ...(region ? { region } : {}), maxAttempts: 3 });
      this.clients.set(id, client);
    }
    return client;
  }
}
