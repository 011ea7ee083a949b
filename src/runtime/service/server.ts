/**
 * `modelseal serve`: the verifier service, on fastify over HTTPS (docs/VERIFIER.md).
 *
 * Routes: `POST /validate` (AdmissionReview v1), `POST /gatekeeper` (external-data ProviderRequest), `POST /kyverno`
 * (`{digest}`), `GET /healthz`, `GET /readyz`, `GET /metrics`. One JSON log line per decision (pino), never a request
 * body. TLS files and the trust policy are reloaded when they change; SIGTERM (via {@link Verifier.shutdown}) stops
 * accepting connections and lets in-flight requests finish within a deadline.
 */
import * as fs from 'fs';
import type { Writable } from 'stream';
import type { TLSSocket } from 'tls';
import type { KMSClient } from '@aws-sdk/client-kms';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import Fastify, { FastifyReply, FastifyRequest, LogController } from 'fastify';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import pino, { Logger } from 'pino';
import { Decision, DecisionEngine } from './decision';
import { formatDuration } from './duration';
import { KmsKeyCache } from './kms-keys';
import { Protocol, VerifierMetrics } from './metrics';
import { PolicySource } from './policy-source';
import { ADMISSION_API_VERSION, BadRequest, Decide, DecisionLog, gatekeeper, kyverno, ProtocolAnswer, validate } from './protocols';
import { readTlsOptions, TlsFiles } from './tls';
import { FileWatch } from './watch';
import { DEFAULT_WORKLOAD_RULE_OPTIONS, WorkloadRuleOptions } from '../../shared/admission';
import { LocalStore } from '../store/local';
import { openStore } from '../store/open';
import type { ObjectStore } from '../store/types';

/** Everything `modelseal serve` is configured with (the flags of the verifier contract, docs/VERIFIER.md). */
export interface VerifierOptions {
  /** Address to listen on. */
  readonly host: string;
  /** Port to listen on (0: any free port, for tests). */
  readonly port: number;
  readonly tls: TlsFiles;
  /** `s3://bucket[/prefix]` or `file:///path`. */
  readonly storeUri: string;
  /** Region of the S3 store and of KMS keys given without one. @default - AWS_REGION */
  readonly region?: string;
  /** The trust policy file. */
  readonly policyFile: string;
  /** Allow TTL, ms. */
  readonly allowTtlMs: number;
  /** Deny TTL, ms. */
  readonly denyTtlMs: number;
  /** Decision cache entries. */
  readonly cacheSize: number;
  /** Per-decision deadline, ms. */
  readonly deadlineMs: number;
  /** Namespaces whose workloads `/validate` allows without a model check. */
  readonly exemptNamespaces: readonly string[];
  /** The structural rules' options (the same the constructs render into every engine's CEL). @default DEFAULT_WORKLOAD_RULE_OPTIONS */
  readonly workloadRules?: WorkloadRuleOptions;
  /** Largest request body, bytes. */
  readonly maxBodyBytes: number;
  /** How long in-flight requests may take to finish after SIGTERM, ms. @default 10000 */
  readonly shutdownTimeoutMs?: number;
  /** Store reads in flight past which misses are denied at once. @default 256 */
  readonly maxInflight?: number;
  /**
   * Largest attestation-store object read, bytes; larger ones are refused from the listing and never fetched.
   *
   * @default DEFAULT_MAX_ATTESTATION_OBJECT_BYTES (1 MiB)
   */
  readonly maxObjectBytes?: number;
  /** How long one store read may run before its pending reads are aborted, ms. @default - 10 × deadlineMs, at least 5000 */
  readonly storeReadTimeoutMs?: number;
  /**
   * A connection with no request in progress for this long is closed, ms: before its TLS handshake, or after it (an
   * idle keep-alive or a client that never sends a request). Node's `server.timeout` (socket inactivity).
   *
   * @default 60000
   */
  readonly idleTimeoutMs?: number;
  /** Open connections past which new ones are refused (Node's `server.maxConnections`). @default 1024 */
  readonly maxConnections?: number;
  /** How often the policy and TLS files are compared for missed change events, ms. @default 10000 */
  readonly reloadPollMs?: number;
  /** The store (tests inject a faulty one). @default - opened from `storeUri` */
  readonly store?: ObjectStore;
  /** KMS client for the policy's KMS keys (tests inject a mock). @default - one per region */
  readonly kmsClient?: KMSClient;
  /** Where the JSON logs go. @default - stdout */
  readonly logStream?: Writable;
  /** pino log level. @default 'info' */
  readonly logLevel?: string;
}

/** A running verifier. */
export interface Verifier {
  /** `https://host:port` it listens on. */
  readonly url: string;
  readonly port: number;
  readonly metrics: VerifierMetrics;
  readonly engine: DecisionEngine;
  readonly policy: PolicySource;
  readonly kms: KmsKeyCache;
  readonly log: Logger;
  /** Whether `/readyz` answers 200, and why not. */
  /** Settles when the server has closed. */
  readonly closed: Promise<void>;
  readiness(): { readonly ready: boolean; readonly reasons: string[] };
  /** Reloads the policy and the TLS files now (SIGHUP). */
  reload(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish (at most `shutdownTimeoutMs`), then closes. Idempotent. */
  shutdown(reason?: string): Promise<void>;
}

/** How often the store (until reached once) and failed KMS keys are tried again, ms. */
const RETRY_MS = 3000;

/**
 * Starts the verifier and resolves once it listens.
 *
 * @throws UsageError when the TLS files cannot be read or do not match, or the store URI is invalid
 */
export async function startVerifier(options: VerifierOptions): Promise<Verifier> {
  const log = pino({
    level: options.logLevel ?? 'info',
    base: { service: 'modelseal-verifier' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, options.logStream ?? pino.destination({ dest: 1, sync: false }));
  const metrics = new VerifierMetrics();
  const store = options.store ?? openStore(options.storeUri, {
    ...(options.region ? { region: options.region } : {}),
    // a decision has a deadline: a few quick retries, then the read fails (and the denial is cached briefly)
    s3Retries: { maxAttempts: 3, maxDelayMs: 400 },
  });
  const kms = new KmsKeyCache({
    ...(options.kmsClient ? { client: options.kmsClient } : {}),
    ...(options.region ? { region: options.region } : {}),
    onFetch: () => metrics.kmsFetches.inc(),
  });
  let kmsProblems: string[] = [];
  const refreshKms = async (arns: readonly string[]) => {
    kms.retain(arns);
    kmsProblems = await kms.prefetch(arns);
    for (const p of kmsProblems) {
      log.warn({ event: 'kms-key' }, p);
    }
  };
  const policy = new PolicySource(options.policyFile, {
    pollMs: options.reloadPollMs ?? 10_000,
    onReload: (result, detail, loaded) => {
      metrics.policyReloads.inc({ result });
      if (result === 'failed') {
        log.error({ event: 'policy-reload', result }, detail);
      } else if (result === 'loaded') {
        log.info({ event: 'policy-reload', result, policy: detail, signers: loaded?.policy.signers.map((s) => s.name) }, `trust policy ${options.policyFile} loaded`);
        void refreshKms(loaded?.kmsKeyArns ?? []);
      }
    },
  });
  await policy.start();
  const engine = new DecisionEngine({
    store,
    policy: () => policy.state(),
    allowTtlMs: options.allowTtlMs,
    denyTtlMs: options.denyTtlMs,
    cacheSize: options.cacheSize,
    deadlineMs: options.deadlineMs,
    ...(options.maxInflight !== undefined ? { maxInflight: options.maxInflight } : {}),
    ...(options.maxObjectBytes !== undefined ? { maxObjectBytes: options.maxObjectBytes } : {}),
    ...(options.storeReadTimeoutMs !== undefined ? { storeReadTimeoutMs: options.storeReadTimeoutMs } : {}),
    kmsPublicKey: kms.get,
    metrics,
  });

  let storeReached: string | undefined = 'the attestation store has not been reached yet';
  const probe = async () => {
    try {
      await probeStore(store);
      if (storeReached !== undefined) {
        log.info({ event: 'store', store: store.uri }, `attestation store ${store.uri} reached`);
      }
      storeReached = undefined;
    } catch (e) {
      storeReached = `the attestation store ${store.uri} cannot be read: ${(e as Error).message}`;
      log.warn({ event: 'store' }, storeReached);
    }
  };
  await probe();
  const retry = setInterval(() => {
    if (storeReached !== undefined) {
      void probe();
    }
    if (kmsProblems.length > 0) {
      void refreshKms(policy.state().current?.kmsKeyArns ?? []);
    }
  }, RETRY_MS);
  retry.unref();

  let shuttingDown = false;
  const readiness = () => {
    const reasons: string[] = [];
    const state = policy.state();
    if (shuttingDown) reasons.push('shutting down');
    if (state.error !== undefined) reasons.push(state.error);
    else if (!state.current) reasons.push('no trust policy loaded yet');
    reasons.push(...kmsProblems);
    if (storeReached !== undefined) reasons.push(storeReached);
    return { ready: reasons.length === 0, reasons };
  };

  const tlsOptions = readTlsOptions(options.tls);
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const app = Fastify({
    https: tlsOptions,
    loggerInstance: log,
    // one log line per decision (logDecision), not two per request
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // time to receive a whole request; the socket may then stay open (keep-alive) for the next one
    requestTimeout: 10_000,
    keepAliveTimeout: Math.min(65_000, idleTimeoutMs),
    // socket inactivity: a connection that completed its TLS handshake and then sends nothing is closed, not kept forever
    connectionTimeout: idleTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.server.headersTimeout = 5_000;
  app.server.maxConnections = options.maxConnections ?? 1024;

  const tlsWatch = new FileWatch([options.tls.certFile, options.tls.keyFile, ...(options.tls.clientCaFile ? [options.tls.clientCaFile] : [])],
    () => reloadTls(), { pollMs: options.reloadPollMs ?? 10_000 });
  const reloadTls = () => {
    try {
      const next = readTlsOptions(options.tls);
      (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext(next);
      metrics.tlsReloads.inc({ result: 'loaded' });
      log.info({ event: 'tls-reload', result: 'loaded' }, `TLS certificate ${options.tls.certFile} loaded`);
    } catch (e) {
      metrics.tlsReloads.inc({ result: 'failed' });
      log.error({ event: 'tls-reload', result: 'failed' }, `TLS certificate reload failed, still serving the previous one: ${(e as Error).message}`);
    }
  };

  const exempt = new Set(options.exemptNamespaces);
  const decideWithin = (deadlineAt: number): Decide => (digest: string) => engine.decide(digest, deadlineAt);
  const systemError = () => {
    const state = policy.state();
    return state.current ? undefined : `the verifier cannot decide: no trust policy is loaded (${state.error ?? 'not loaded yet'})`;
  };

  const handle = (protocol: Protocol, run: (body: unknown, decide: Decide) => Promise<ProtocolAnswer>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint();
      const deadlineAt = Date.now() + options.deadlineMs;
      let answer: ProtocolAnswer;
      try {
        answer = await run(request.body, decideWithin(deadlineAt));
      } catch (e) {
        if (e instanceof BadRequest) {
          metrics.badRequests.inc({ protocol, status: '400' });
          return reply.code(400).send(badRequestBody(protocol, e.message));
        }
        // a bug, never the client's fault: the answer is still a denial (fail closed), logged with the error
        log.error({ event: 'internal-error', protocol, err: e }, 'unexpected error while deciding; denying');
        answer = internalDenial(protocol, request.body, e as Error);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const entry of answer.logs) {
        logDecision(log, protocol, entry, seconds);
        metrics.decided(protocol, entry.allowed, sourceLabel(entry.source), seconds);
      }
      return reply.code(200).send(answer.body);
    };

  if (options.tls.clientCaFile !== undefined) {
    // mutual TLS: a decision only for a client whose certificate chains to --client-ca (Gatekeeper presents its
    // webhook certificate); checked before the body is read. Probes and metrics stay open to kubelet and Prometheus.
    app.addHook('onRequest', async (request, reply) => {
      const protocol = protocolOf(request.url);
      const socket = request.raw.socket as TLSSocket;
      if (protocol === undefined || socket.authorized) {
        return;
      }
      const why = socket.getPeerCertificate()?.subject === undefined
        ? 'no client certificate was presented'
        : `the client certificate was not accepted (${String(socket.authorizationError)})`;
      metrics.badRequests.inc({ protocol, status: '403' });
      log.warn({ event: 'client-refused', protocol, remote: socket.remoteAddress }, `refused ${request.url}: ${why}`);
      return reply.code(403).send(badRequestBody(protocol, `${why}; this verifier decides only for clients with a certificate issued by its client CA (--client-ca ${options.tls.clientCaFile})`));
    });
  }

  app.post('/validate', handle('validate', (body, decide) => validate(body, decide, exempt, options.workloadRules ?? DEFAULT_WORKLOAD_RULE_OPTIONS)));
  app.post('/gatekeeper', handle('gatekeeper', (body, decide) => gatekeeper(body, decide, systemError)));
  app.post('/kyverno', handle('kyverno', (body, decide) => kyverno(body, decide, () => policy.state().current?.digest ?? null)));
  app.get('/healthz', async () => ({ alive: true }));
  app.get('/readyz', async (_request, reply) => {
    const r = readiness();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, reasons: r.reasons, policy: policy.state().current?.digest ?? null });
  });
  app.get('/metrics', async (_request, reply) => {
    metrics.cacheEntries.set(engine.cacheEntries);
    metrics.inflight.set(engine.inflightChecks);
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}; see docs/VERIFIER.md` }));
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, request, reply) => {
    const protocol = protocolOf(request.url);
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
    metrics.badRequests.inc({ protocol: protocol ?? 'other', status: String(status) });
    const message = status === 413 ? `the request body is larger than the ${options.maxBodyBytes}-byte limit (--max-body-bytes)` : error.message;
    return reply.code(status).send(badRequestBody(protocol, message));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (shuttingDown) {
      // the connection closes after this response, so the server can finish closing
      reply.header('connection', 'close');
    }
    return payload;
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  log.info({
    event: 'listening',
    listen: `${options.host}:${port}`,
    store: store.uri,
    policy: policy.state().current?.digest ?? null,
    cacheTtl: formatDuration(options.allowTtlMs),
    denyCacheTtl: formatDuration(options.denyTtlMs),
    deadline: formatDuration(options.deadlineMs),
    tlsMinVersion: options.tls.minVersion,
    mutualTls: options.tls.clientCaFile !== undefined,
  }, `modelseal verifier listening on https://${hostForUrl}:${port}`);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown requested'): Promise<void> => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      log.info({ event: 'shutdown', reason }, `shutting down (${reason}): finishing in-flight requests within ${formatDuration(timeoutMs)}`);
      const force = setTimeout(() => {
        log.warn({ event: 'shutdown' }, `in-flight requests did not finish within ${formatDuration(timeoutMs)}; closing their connections`);
        app.server.closeAllConnections();
      }, timeoutMs);
      force.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        clearInterval(retry);
        tlsWatch.close();
        policy.close();
        kms.close();
        log.info({ event: 'shutdown' }, 'verifier stopped');
        log.flush?.();
        resolveClosed();
      }
    })();
    return shutdownPromise;
  };

  return {
    url: `https://${hostForUrl}:${port}`,
    port,
    metrics,
    engine,
    policy,
    kms,
    log,
    readiness,
    reload: async () => {
      reloadTls();
      await policy.reload();
    },
    shutdown,
    closed,
  };
}

/** Reads the store once: a local store's folder must exist; an S3 store must answer a listing. */
async function probeStore(store: ObjectStore): Promise<void> {
  if (store instanceof LocalStore) {
    const st = await fs.promises.stat(store.root);
    if (!st.isDirectory()) {
      throw new Error(`${store.root} is not a directory`);
    }
    return;
  }
  await store.list(`bundles/sha256/${'0'.repeat(64)}/`);
}

function protocolOf(url: string): Protocol | undefined {
  const p = url.split('?')[0];
  return p === '/validate' ? 'validate' : p === '/gatekeeper' ? 'gatekeeper' : p === '/kyverno' ? 'kyverno' : undefined;
}

/** The 4xx body: `{error}`, and for Kyverno also a denial in its own shape (its CEL reads `allowed`). */
function badRequestBody(protocol: Protocol | undefined, message: string): Record<string, unknown> {
  return protocol === 'kyverno' ? { error: message, allowed: false, reasons: [message], manifest: null, policy: null } : { error: message };
}

/** A denial in the protocol's shape for an unexpected error (a bug): never an allow, never a 5xx. */
function internalDenial(protocol: Protocol, body: unknown, e: Error): ProtocolAnswer {
  const reason = `internal error in the verifier (failing closed): ${e?.message ?? String(e)}`;
  const log: DecisionLog = { allowed: false, reasons: [reason], source: 'error' };
  if (protocol === 'validate') {
    const uid = (body as { request?: { uid?: unknown } } | undefined)?.request?.uid;
    return {
      body: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid: typeof uid === 'string' ? uid : '', allowed: false, status: { code: 403, message: `modelseal denied: ${reason}` } } },
      logs: [log],
    };
  }
  if (protocol === 'gatekeeper') {
    const keys = (body as { request?: { keys?: unknown } } | undefined)?.request?.keys;
    const items = Array.isArray(keys) ? keys.map((key) => ({ key, error: reason })) : [];
    return { body: { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderResponse', response: { idempotent: true, items, systemError: reason } }, logs: [log] };
  }
  return { body: { allowed: false, reasons: [reason], manifest: null, policy: null }, logs: [log] };
}

function sourceLabel(source: DecisionLog['source']): Decision['source'] {
  return source === 'exempt' || source === 'not-a-model' ? 'structural' : source;
}

/** One JSON line per decision: digest, result, reasons, latency, request uid; never the body. */
function logDecision(log: Logger, protocol: Protocol, entry: DecisionLog, seconds: number): void {
  log.info({
    event: 'decision',
    protocol,
    result: entry.allowed ? 'allow' : 'deny',
    ...entry,
    latencyMs: Math.round(seconds * 1e6) / 1e3,
  }, entry.allowed ? 'allowed' : 'denied');
}
