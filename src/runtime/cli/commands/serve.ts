/**
 * `modelseal serve`: starts the verifier service (src/runtime/service/, docs/VERIFIER.md) with the flags of the
 * verifier contract, and runs until SIGTERM or SIGINT (graceful shutdown); SIGHUP reloads the policy and TLS files.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { DEFAULT_KSERVE_URI_PREFIXES, PINNED_IMAGE_PATTERN } from '../../../shared/admission';
import { UsageError } from '../../codec/errors';
import { parseDuration } from '../../service/duration';
import { startVerifier, Verifier, VerifierOptions } from '../../service/server';
import { tlsMinVersion } from '../../service/tls';
import { DEFAULT_MAX_ATTESTATION_OBJECT_BYTES } from '../../store/attestation-set';
import { STORE_ENV } from '../../store/open';
import type { ObjectStore } from '../../store/types';
import { FlagSpec, parseArgs, printHelp } from '../args';
import type { ProgressStream } from '../progress';

/** Where the command writes (help and usage errors; the service logs JSON to stdout). */
export interface ServeCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

/** What tests inject. */
export interface ServeCommandDeps {
  /** Called once the verifier listens. */
  readonly onStarted?: (verifier: Verifier) => void;
  /** Install SIGTERM/SIGINT/SIGHUP handlers. @default true */
  readonly signals?: boolean;
  readonly store?: ObjectStore;
  readonly kmsClient?: KMSClient;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The flags of `modelseal serve` (the verifier contract's, plus three operational ones). */
export const SERVE_FLAGS: Record<string, FlagSpec> = {
  'listen': { type: 'string', metavar: 'HOST:PORT', help: 'Address to listen on (default: 0.0.0.0:8443).' },
  'tls-cert': { type: 'string', metavar: 'FILE', help: 'Serving certificate chain, PEM (required; reloaded when it changes).' },
  'tls-key': { type: 'string', metavar: 'FILE', help: 'Its private key, PEM (required; reloaded when it changes).' },
  'client-ca': { type: 'string', metavar: 'FILE', help: 'Mutual TLS: the decision routes require a client certificate issued by this CA (probes and /metrics do not).' },
  'tls-min-version': { type: 'string', metavar: '1.2|1.3', help: 'Minimum TLS version (default: 1.2; Gatekeeper needs 1.3).' },
  'store': { type: 'string', metavar: 'URI', help: `The attestation store: s3://bucket[/prefix] or file:///path (default: $${STORE_ENV}).` },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region of the S3 store and of KMS keys (default: AWS_REGION).' },
  'policy': { type: 'string', metavar: 'FILE', help: 'The trust policy, YAML or JSON (required; key files relative to it; reloaded when it changes).' },
  'cache-ttl': { type: 'string', metavar: 'DURATION', help: 'How long an allow is cached: revocation reaches admission within it (default: 60s).' },
  'deny-cache-ttl': { type: 'string', metavar: 'DURATION', help: 'How long a denial is cached (default: 5s).' },
  'cache-size': { type: 'string', metavar: 'N', help: 'Decision cache entries, least recently used evicted first (default: 10000).' },
  'deadline': { type: 'string', metavar: 'DURATION', help: 'Per-decision deadline; past it the answer is a denial (default: 2s).' },
  'exempt-namespaces': { type: 'string', metavar: 'NS,NS', help: 'Namespaces whose workloads /validate allows without a model check.' },
  'kserve-uri-prefixes': { type: 'string', metavar: 'P,P', help: 'Storage URI prefixes an InferenceService / LLMInferenceService may load from: those ModelSeal\'s ClusterStorageContainer verifies (default: s3://).' },
  'kserve-storage-container': { type: 'string', metavar: 'NAME', help: 'ModelSeal\'s ClusterStorageContainer: /validate refuses any other enabled one that handles those prefixes (default: modelseal).' },
  'require-load-verification': { type: 'boolean', negatable: true, help: 'Refuse a model workload without ModelLoadVerification\'s init container (default; --no-require-load-verification weakens /validate).' },
  'load-verifier-image': { type: 'string', metavar: 'IMAGE@sha256:D', help: 'The image the modelseal-pull init container must run (default: any digest-pinned image).' },
  'load-verifier-command': { type: 'string', multiple: true, metavar: 'ARG', help: 'The command that starts the CLI in that image, one flag per element (default: modelseal).' },
  'max-body-bytes': { type: 'string', metavar: 'N', help: 'Largest request body; larger ones get HTTP 413 (default: 1048576).' },
  'shutdown-timeout': { type: 'string', metavar: 'DURATION', help: 'On SIGTERM, how long in-flight requests may take to finish (default: 10s).' },
  'max-inflight': { type: 'string', metavar: 'N', help: 'Store reads in flight past which new digests are denied at once (default: 256).' },
  'max-object-bytes': { type: 'string', metavar: 'N', help: 'Largest attestation-store object read; larger ones are refused from the listing, never fetched (default: 1048576).' },
  'store-read-timeout': { type: 'string', metavar: 'DURATION', help: 'How long one store read may run (filling the cache after a late answer) before its reads are aborted (default: 10 x --deadline, at least 5s).' },
  'idle-timeout': { type: 'string', metavar: 'DURATION', help: 'A connection idle this long (no request in progress) is closed, TLS handshake done or not (default: 60s).' },
  'max-connections': { type: 'string', metavar: 'N', help: 'Open connections past which new ones are refused (default: 1024).' },
  'log-level': { type: 'string', metavar: 'LEVEL', help: 'trace, debug, info, warn or error (default: info).' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/** Turns the flags into the service's options. */
export function serveOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): VerifierOptions | 'help' {
  const args = parseArgs(argv, SERVE_FLAGS, 'serve');
  if (args.flags.help) {
    return 'help';
  }
  if (args.positionals.length > 0) {
    throw new UsageError(`serve takes no positional arguments; got ${args.positionals.join(' ')}`);
  }
  const f = (name: string) => args.flags[name] as string | undefined;
  const need = (name: string, what: string) => {
    const v = f(name);
    if (!v) {
      throw new UsageError(`serve needs --${name} ${what}`);
    }
    return v;
  };
  const { host, port } = parseListen(f('listen') ?? '0.0.0.0:8443');
  const store = f('store') ?? env[STORE_ENV];
  if (!store) {
    throw new UsageError(`serve needs --store URI (s3://bucket[/prefix] or file:///path) or ${STORE_ENV}`);
  }
  const exempt = (f('exempt-namespaces') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const ns of exempt) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) {
      throw new UsageError(`--exempt-namespaces: ${JSON.stringify(ns)} is not a namespace name`);
    }
  }
  const prefixes = (f('kserve-uri-prefixes') ?? DEFAULT_KSERVE_URI_PREFIXES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of prefixes) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//.test(p)) {
      throw new UsageError(`--kserve-uri-prefixes: ${JSON.stringify(p)} is not a URI prefix (scheme://...)`);
    }
  }
  if (prefixes.length === 0) {
    throw new UsageError('--kserve-uri-prefixes needs at least one prefix');
  }
  const loadImage = f('load-verifier-image');
  if (loadImage !== undefined && !new RegExp(PINNED_IMAGE_PATTERN).test(loadImage)) {
    throw new UsageError(`--load-verifier-image ${JSON.stringify(loadImage)} is not pinned by digest (image@sha256:<64 hex>)`);
  }
  const loadCommand = (args.flags['load-verifier-command'] as string[] | undefined) ?? ['modelseal'];
  const logLevel = f('log-level') ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level ${JSON.stringify(logLevel)} is not one of trace, debug, info, warn, error`);
  }
  const clientCa = f('client-ca');
  const region = f('region');
  const deadlineMs = parseDuration(f('deadline') ?? '2s', '--deadline');
  return {
    host,
    port,
    tls: {
      certFile: need('tls-cert', 'FILE (PEM certificate)'),
      keyFile: need('tls-key', 'FILE (PEM private key)'),
      ...(clientCa ? { clientCaFile: clientCa } : {}),
      minVersion: tlsMinVersion(f('tls-min-version')),
    },
    storeUri: store,
    ...(region ? { region } : {}),
    policyFile: need('policy', 'FILE (the trust policy)'),
    allowTtlMs: parseDuration(f('cache-ttl') ?? '60s', '--cache-ttl', true),
    denyTtlMs: parseDuration(f('deny-cache-ttl') ?? '5s', '--deny-cache-ttl', true),
    cacheSize: positiveInt(f('cache-size'), '--cache-size', 10_000),
    deadlineMs,
    exemptNamespaces: exempt,
    workloadRules: {
      kserveUriPrefixes: prefixes,
      requireLoadVerification: args.flags['require-load-verification'] !== false,
      ...(loadImage !== undefined ? { loadVerifierImage: loadImage } : {}),
      loadVerifierCommand: loadCommand,
      kserveStorageContainer: f('kserve-storage-container') ?? 'modelseal',
    },
    maxBodyBytes: positiveInt(f('max-body-bytes'), '--max-body-bytes', 1_048_576),
    shutdownTimeoutMs: parseDuration(f('shutdown-timeout') ?? '10s', '--shutdown-timeout'),
    maxInflight: positiveInt(f('max-inflight'), '--max-inflight', 256),
    maxObjectBytes: positiveInt(f('max-object-bytes'), '--max-object-bytes', DEFAULT_MAX_ATTESTATION_OBJECT_BYTES),
    ...(f('store-read-timeout') !== undefined ? { storeReadTimeoutMs: parseDuration(f('store-read-timeout')!, '--store-read-timeout') } : {}),
    idleTimeoutMs: parseDuration(f('idle-timeout') ?? '60s', '--idle-timeout'),
    maxConnections: positiveInt(f('max-connections'), '--max-connections', 1024),
    logLevel,
  };
}

/** `modelseal serve ...`: resolves with exit code 0 once the service has shut down. */
export async function serveCommand(argv: readonly string[], io: ServeCommandIo, deps: ServeCommandDeps = {}): Promise<number> {
  const options = serveOptions(argv, deps.env ?? process.env);
  if (options === 'help') {
    return printHelp(io.stdout, 'serve --tls-cert FILE --tls-key FILE --store URI --policy FILE [options]',
      'Run the verifier service: Kubernetes AdmissionReview (POST /validate), Gatekeeper external data (POST /gatekeeper)\n'
      + 'and Kyverno (POST /kyverno) over HTTPS, one fail-closed decision behind all three (docs/VERIFIER.md).\n'
      + 'Durations: 500ms, 2s, 1m, or a number of seconds.', SERVE_FLAGS);
  }
  const verifier = await startVerifier({
    ...options,
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.kmsClient ? { kmsClient: deps.kmsClient } : {}),
  });
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => void verifier.shutdown('SIGTERM')],
    ['SIGINT', () => void verifier.shutdown('SIGINT')],
    ['SIGHUP', () => void verifier.reload()],
  ];
  if (deps.signals !== false) {
    handlers.forEach(([sig, fn]) => process.on(sig, fn));
  }
  deps.onStarted?.(verifier);
  try {
    await verifier.closed;
  } finally {
    if (deps.signals !== false) {
      handlers.forEach(([sig, fn]) => process.off(sig, fn));
    }
  }
  return 0;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`--listen ${JSON.stringify(value)} is not HOST:PORT (e.g. 0.0.0.0:8443, [::]:8443, :8443)`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function positiveInt(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) {
    return dflt;
  }
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} ${JSON.stringify(v)} must be a positive whole number`);
  }
  return n;
}
