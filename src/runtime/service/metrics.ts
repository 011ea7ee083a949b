/**
 * The verifier's Prometheus metrics (`GET /metrics`), on a registry of its own so several servers in one process
 * (tests) never share counters. Names and labels are listed in docs/VERIFIER.md ("Metrics").
 */
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The three admission protocols, as the `protocol` label spells them. */
export type Protocol = 'validate' | 'gatekeeper' | 'kyverno';

/** Where a decision came from, as the `source` label spells it. */
export type DecisionSource = 'cache' | 'store' | 'coalesced' | 'deadline' | 'error' | 'structural';

/** Every metric the verifier exports. */
export class VerifierMetrics {
  /** The registry `/metrics` renders. */
  public readonly registry = new Registry();
  /** Decisions by protocol, result (`allow`/`deny`) and source. */
  public readonly decisions: Counter<'protocol' | 'result' | 'source'>;
  /** Time to a decision, seconds, by protocol and source. */
  public readonly latency: Histogram<'protocol' | 'source'>;
  /** Decision-cache lookups that found an answer. */
  public readonly cacheHits: Counter;
  /** Decision-cache lookups that found none (a store read followed, or joined one in flight). */
  public readonly cacheMisses: Counter;
  /** Misses that joined a store read already in flight for the same digest and policy. */
  public readonly coalesced: Counter;
  /** Entries in the decision cache. */
  public readonly cacheEntries: Gauge;
  /** Store reads (one per uncached digest) in flight. */
  public readonly inflight: Gauge;
  /** Decisions that hit the deadline and were answered with a denial. */
  public readonly deadlineExceeded: Counter;
  /** Store errors (the decision then denies), by kind (`access`, `unavailable`, `integrity`, `other`). */
  public readonly storeErrors: Counter<'kind'>;
  /** Policy loads by result (`loaded`, `unchanged`, `failed`). */
  public readonly policyReloads: Counter<'result'>;
  /** TLS certificate loads by result (`loaded`, `unchanged`, `failed`). */
  public readonly tlsReloads: Counter<'result'>;
  /** GetPublicKey calls made for the policy's KMS keys. */
  public readonly kmsFetches: Counter;
  /** Requests refused before a decision (malformed body, oversized body, unknown route), by protocol and status. */
  public readonly badRequests: Counter<'protocol' | 'status'>;

  public constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'modelseal_verifier_' });
    this.decisions = new Counter({
      name: 'modelseal_verifier_decisions_total',
      help: 'Admission decisions, by protocol, result and where the answer came from.',
      labelNames: ['protocol', 'result', 'source'],
      registers,
    });
    this.latency = new Histogram({
      name: 'modelseal_verifier_decision_duration_seconds',
      help: 'Time from request to decision, in seconds.',
      labelNames: ['protocol', 'source'],
      registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    });
    this.cacheHits = new Counter({ name: 'modelseal_verifier_cache_hits_total', help: 'Decision-cache hits.', registers });
    this.cacheMisses = new Counter({ name: 'modelseal_verifier_cache_misses_total', help: 'Decision-cache misses.', registers });
    this.coalesced = new Counter({
      name: 'modelseal_verifier_coalesced_total', help: 'Cache misses that joined a store read already in flight for the same digest.', registers,
    });
    this.cacheEntries = new Gauge({ name: 'modelseal_verifier_cache_entries', help: 'Entries in the decision cache.', registers });
    this.inflight = new Gauge({ name: 'modelseal_verifier_inflight_checks', help: 'Store reads (uncached decisions) in flight.', registers });
    this.deadlineExceeded = new Counter({
      name: 'modelseal_verifier_deadline_exceeded_total', help: 'Decisions answered with a denial because the deadline passed.', registers,
    });
    this.storeErrors = new Counter({
      name: 'modelseal_verifier_store_errors_total', help: 'Attestation-store errors (each denies), by kind.', labelNames: ['kind'], registers,
    });
    this.policyReloads = new Counter({
      name: 'modelseal_verifier_policy_reloads_total', help: 'Trust-policy loads, by result.', labelNames: ['result'], registers,
    });
    this.tlsReloads = new Counter({
      name: 'modelseal_verifier_tls_reloads_total', help: 'TLS certificate loads, by result.', labelNames: ['result'], registers,
    });
    this.kmsFetches = new Counter({ name: 'modelseal_verifier_kms_fetches_total', help: 'KMS GetPublicKey calls.', registers });
    this.badRequests = new Counter({
      name: 'modelseal_verifier_bad_requests_total',
      help: 'Requests refused before any decision, by protocol and HTTP status.',
      labelNames: ['protocol', 'status'],
      registers,
    });
  }

  /** Records one decision. */
  public decided(protocol: Protocol, allowed: boolean, source: DecisionSource, seconds: number): void {
    this.decisions.inc({ protocol, result: allowed ? 'allow' : 'deny', source });
    this.latency.observe({ protocol, source }, seconds);
  }
}
