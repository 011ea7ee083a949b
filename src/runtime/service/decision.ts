/**
 * The one decision behind `/validate`, `/gatekeeper` and `/kyverno`: does a root digest meet the loaded trust policy?
 *
 * Built on the `check` decision (src/runtime/policy/check.ts) with what a service needs on top:
 *
 * - a bounded LRU cache keyed by (root digest, policy digest): allows kept for the allow TTL, denials for the deny
 *   TTL; a new policy has a new digest, so its decisions never come from the old one's entries;
 * - coalescing: concurrent misses for one key share one store read;
 * - a deadline per decision: past it the answer is a denial that says so, never a hang, and so is an answer that only
 *   arrives after it (CPU-bound work can delay the deadline's timer); the store read carries on and fills the cache
 *   when it ends, up to the store read timeout, where its pending reads are aborted;
 * - bounded store reads: objects over the per-object limit are refused from the listing, never fetched, and at most a
 *   budget of objects and bytes is read per root (store/attestation-set.ts), so junk objects cannot exhaust memory;
 * - a cap on store reads in flight, past which new misses are denied at once (fail closed under overload);
 * - fail-closed error handling: a store, KMS or internal error is a denial with its reason.
 */
import type { KeyObject } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { LRUCache } from 'lru-cache';
import { formatDuration } from './duration';
import type { DecisionSource, VerifierMetrics } from './metrics';
import type { LoadedPolicy } from './policy-source';
import { DIGEST_PATTERN } from '../../shared/admission';
import { checkStore } from '../policy/check';
import { isStoreError } from '../store/errors';
import type { ObjectStore } from '../store/types';

/** A decision about one root digest. */
export interface Decision {
  /** The digest asked about, as given (`sha256:<hex>` when well formed). */
  readonly digest: string;
  readonly allowed: boolean;
  /** Every reason for a denial (empty when allowed). */
  readonly reasons: string[];
  /** `sha256:<digest of the manifest that met the policy>`, when the decision names one; else null. */
  readonly manifest: string | null;
  /** `sha256:<digest of the policy>` the decision was made under; null when no policy is loaded. */
  readonly policy: string | null;
  /** Where the answer came from. */
  readonly source: DecisionSource;
}

/** Options of {@link DecisionEngine}. */
export interface DecisionEngineOptions {
  /** The attestation store. */
  readonly store: ObjectStore;
  /** The policy in force now (undefined while none could be loaded) and why not. */
  readonly policy: () => { readonly current?: LoadedPolicy; readonly error?: string };
  /** How long an allow is cached, ms (0: not cached). */
  readonly allowTtlMs: number;
  /** How long a denial is cached, ms (0: not cached). */
  readonly denyTtlMs: number;
  /** Maximum cache entries. */
  readonly cacheSize: number;
  /** Deadline of one decision, ms. */
  readonly deadlineMs: number;
  /**
   * Store reads in flight past which a new miss is denied at once.
   *
   * @default 256
   */
  readonly maxInflight?: number;
  /**
   * How long one store read may run before its pending reads are aborted, ms (the read then denies, and is cached
   * as a denial). Longer than the deadline, so that a slow store's answer can still fill the cache for a retry.
   *
   * @default - 10 × deadlineMs, at least 5000
   */
  readonly storeReadTimeoutMs?: number;
  /**
   * Largest attestation-store object read, bytes.
   *
   * @default DEFAULT_MAX_ATTESTATION_OBJECT_BYTES (1 MiB)
   */
  readonly maxObjectBytes?: number;
  /** Most objects read per root digest. @default DEFAULT_MAX_OBJECTS_PER_ROOT (256) */
  readonly maxObjectsPerRoot?: number;
  /** Most bytes read per root digest. @default DEFAULT_MAX_BYTES_PER_ROOT (16 MiB) */
  readonly maxBytesPerRoot?: number;
  /** Resolves KMS public keys (the service's cache). */
  readonly kmsPublicKey?: (keyArn: string) => Promise<KeyObject>;
  /** Metrics to update. @default - none */
  readonly metrics?: VerifierMetrics;
}

const DIGEST = new RegExp(DIGEST_PATTERN);

/** Decides digests against the store and the loaded policy; see the module comment. */
export class DecisionEngine {
  private readonly cache: LRUCache<string, Decision>;
  private readonly inflight = new Map<string, Promise<Decision>>();
  private readonly maxInflight: number;

  public constructor(private readonly options: DecisionEngineOptions) {
    this.cache = new LRUCache<string, Decision>({ max: Math.max(1, options.cacheSize), ttlAutopurge: false, allowStale: false });
    this.maxInflight = options.maxInflight ?? 256;
  }

  /** Entries in the cache. */
  public get cacheEntries(): number {
    return this.cache.size;
  }

  /** Store reads in flight. */
  public get inflightChecks(): number {
    return this.inflight.size;
  }

  /** Empties the cache (tests, and nothing else: a new policy digest already keys new entries). */
  public clear(): void {
    this.cache.clear();
  }

  /**
   * Decides `digest` (`sha256:<64 lowercase hex>`) before `deadlineAt` (a `Date.now()` instant). Never rejects.
   */
  public async decide(digest: string, deadlineAt: number): Promise<Decision> {
    const { current, error } = this.options.policy();
    if (typeof digest !== 'string' || !DIGEST.test(digest)) {
      return this.deny(digest, [`malformed model digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex>`], current?.digest ?? null, 'error');
    }
    if (!current) {
      return this.deny(digest, [`no trust policy is loaded (${error ?? 'not loaded yet'}); failing closed`], null, 'error');
    }
    const key = `${current.digest}|${digest}`;
    const metrics = this.options.metrics;
    const hit = this.cache.get(key);
    if (hit) {
      metrics?.cacheHits.inc();
      return { ...hit, source: 'cache' };
    }
    metrics?.cacheMisses.inc();
    let pending = this.inflight.get(key);
    let source: DecisionSource = 'store';
    if (pending) {
      metrics?.coalesced.inc();
      source = 'coalesced';
    } else {
      if (this.inflight.size >= this.maxInflight) {
        return this.deny(digest, [`the verifier has ${this.inflight.size} store reads in flight (limit ${this.maxInflight}); failing closed, try again`], current.digest, 'error');
      }
      pending = this.check(current, digest, key);
      this.inflight.set(key, pending);
      metrics?.inflight.set(this.inflight.size);
      void pending.finally(() => {
        this.inflight.delete(key);
        metrics?.inflight.set(this.inflight.size);
      });
    }
    const remaining = deadlineAt - Date.now();
    const decision = await withDeadline(pending, remaining);
    // an answer that arrives after the deadline (its timer was held up by CPU-bound work) is late all the same
    if (decision === undefined || Date.now() > deadlineAt) {
      metrics?.deadlineExceeded.inc();
      return this.deny(digest, [
        `no decision within the ${formatDuration(this.options.deadlineMs)} deadline (the attestation store or KMS is slow or unreachable); failing closed`,
      ], current.digest, 'deadline');
    }
    return { ...decision, source };
  }

  /** One store read and check; caches the outcome under `key`. */
  private async check(loaded: LoadedPolicy, digest: string, key: string): Promise<Decision> {
    let decision: Decision;
    const o = this.options;
    const readTimeoutMs = o.storeReadTimeoutMs ?? Math.max(5000, 10 * o.deadlineMs);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`the store read took longer than the ${formatDuration(readTimeoutMs)} store read timeout; its pending reads were aborted`)), readTimeoutMs);
    try {
      const report = await checkStore(loaded.policy, o.store, digest, {
        ...(o.kmsPublicKey ? { kmsPublicKey: o.kmsPublicKey } : {}),
        fetch: {
          signal: abort.signal,
          ...(o.maxObjectBytes !== undefined ? { maxObjectBytes: o.maxObjectBytes } : {}),
          ...(o.maxObjectsPerRoot !== undefined ? { maxObjects: o.maxObjectsPerRoot } : {}),
          ...(o.maxBytesPerRoot !== undefined ? { maxBytes: o.maxBytesPerRoot } : {}),
        },
      });
      const allowed = report.decision === 'allow';
      decision = {
        digest,
        allowed,
        // a denial also says what was found and did not count (a signature that does not verify, an unknown key)
        reasons: allowed ? [] : [...(report.reasons.length > 0 ? report.reasons : ['denied by the trust policy']), ...report.notes],
        // the manifest the decision chose (the model files must match it); null when the signatures that met the policy
        // bind only the root digest (AWS Signer co-signatures without an OMS bundle)
        manifest: allowed ? report.manifest ?? null : null,
        policy: loaded.digest,
        source: 'store',
      };
    } catch (e) {
      const kind = isStoreError(e) ? e.kind : abort.signal.aborted ? 'timeout' : 'other';
      this.options.metrics?.storeErrors.inc({ kind });
      const what = isStoreError(e) || abort.signal.aborted ? 'the attestation store could not be read' : 'the decision failed';
      decision = this.deny(digest, [`${what} (failing closed): ${(e as Error)?.message ?? String(e)}`], loaded.digest, 'error');
    } finally {
      clearTimeout(timer);
    }
    const ttl = decision.allowed ? this.options.allowTtlMs : this.options.denyTtlMs;
    if (ttl > 0) {
      this.cache.set(key, decision, { ttl });
      this.options.metrics?.cacheEntries.set(this.cache.size);
    }
    return decision;
  }

  private deny(digest: string, reasons: string[], policy: string | null, source: DecisionSource): Decision {
    return { digest: String(digest), allowed: false, reasons, manifest: null, policy, source };
  }
}

/** `promise`'s value, or undefined when `ms` pass first. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms <= 0) {
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
