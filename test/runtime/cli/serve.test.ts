/**
 * `modelseal serve` flags: the contract's defaults, durations, and a usage error naming the flag for every bad value.
 */
import { parseListen, serveOptions } from '../../../src/runtime/cli/commands/serve';
import { parseDuration } from '../../../src/runtime/service/duration';

const REQUIRED = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--store', 'file:///s', '--policy', 'p.yaml'];

test('defaults are the verifier contract\'s', () => {
  expect(serveOptions(REQUIRED, {})).toEqual({
    host: '0.0.0.0',
    port: 8443,
    tls: { certFile: 'c.pem', keyFile: 'k.pem', minVersion: 'TLSv1.2' },
    storeUri: 'file:///s',
    policyFile: 'p.yaml',
    allowTtlMs: 60_000,
    denyTtlMs: 5_000,
    cacheSize: 10_000,
    deadlineMs: 2_000,
    exemptNamespaces: [],
    maxBodyBytes: 1_048_576,
    shutdownTimeoutMs: 10_000,
    maxInflight: 256,
    maxObjectBytes: 1_048_576,
    idleTimeoutMs: 60_000,
    maxConnections: 1024,
    logLevel: 'info',
    // secure by default: load verification required, only s3:// for KServe
    workloadRules: { kserveUriPrefixes: ['s3://'], requireLoadVerification: true, loadVerifierCommand: ['modelseal'], kserveStorageContainer: 'modelseal' },
  });
});

test('the structural rules\' options the ModelVerifier construct renders are read', () => {
  const image = `r.example/modelseal@sha256:${'ab'.repeat(32)}`;
  const o = serveOptions([...REQUIRED, '--kserve-uri-prefixes', 's3://,gs://', '--kserve-storage-container', 'ms', '--no-require-load-verification',
    '--load-verifier-image', image, '--load-verifier-command', 'node', '--load-verifier-command', '/app/cli.js'], {});
  expect(o).toMatchObject({
    workloadRules: { kserveUriPrefixes: ['s3://', 'gs://'], requireLoadVerification: false, loadVerifierImage: image, loadVerifierCommand: ['node', '/app/cli.js'], kserveStorageContainer: 'ms' },
  });
});

test('review F4/F6: the read and connection limits are flags', () => {
  expect(serveOptions([...REQUIRED, '--max-object-bytes', '65536', '--store-read-timeout', '3s', '--idle-timeout', '15s', '--max-connections', '64'], {}))
    .toMatchObject({ maxObjectBytes: 65_536, storeReadTimeoutMs: 3_000, idleTimeoutMs: 15_000, maxConnections: 64 });
  expect(() => serveOptions([...REQUIRED, '--max-object-bytes', '0'], {})).toThrow('--max-object-bytes "0" must be a positive whole number');
});

test('every flag the ModelVerifier construct renders is read', () => {
  const o = serveOptions([
    '--listen', '127.0.0.1:9443', ...REQUIRED, '--client-ca', 'ca.pem', '--tls-min-version', '1.3', '--region', 'eu-west-1',
    '--cache-ttl', '30s', '--deny-cache-ttl', '500ms', '--cache-size', '50', '--deadline', '1.5', '--exempt-namespaces', 'sandbox, ml-dev',
    '--max-body-bytes', '4096',
  ], {});
  expect(o).toMatchObject({
    host: '127.0.0.1',
    port: 9443,
    region: 'eu-west-1',
    allowTtlMs: 30_000,
    denyTtlMs: 500,
    cacheSize: 50,
    deadlineMs: 1500,
    exemptNamespaces: ['sandbox', 'ml-dev'],
    maxBodyBytes: 4096,
    tls: { certFile: 'c.pem', keyFile: 'k.pem', clientCaFile: 'ca.pem', minVersion: 'TLSv1.3' },
  });
});

test('the store may come from MODELSEAL_STORE', () => {
  const args = REQUIRED.filter((a, i) => a !== '--store' && REQUIRED[i - 1] !== '--store');
  expect(serveOptions(args, { MODELSEAL_STORE: 's3://attestations' })).toMatchObject({ storeUri: 's3://attestations' });
});

test.each([
  [['--tls-key', 'k', '--store', 's', '--policy', 'p'], /serve needs --tls-cert FILE/],
  [[...REQUIRED.slice(0, 6)], /serve needs --policy FILE/],
  [[...REQUIRED, '--deadline', 'soon'], /--deadline "soon" is not a duration/],
  [[...REQUIRED, '--kserve-uri-prefixes', 'bucket'], /--kserve-uri-prefixes: "bucket" is not a URI prefix/],
  [[...REQUIRED, '--load-verifier-image', 'modelseal:latest'], /--load-verifier-image "modelseal:latest" is not pinned by digest/],
  [[...REQUIRED, '--deadline', '0'], /--deadline "0" must be more than zero/],
  [[...REQUIRED, '--cache-ttl', '-1s'], /--cache-ttl "-1s" is not a duration/],
  [[...REQUIRED, '--cache-size', '1e3'], /--cache-size "1e3" must be a positive whole number/],
  [[...REQUIRED, '--tls-min-version', '1.1'], /--tls-min-version "1.1" is not supported; expected 1.2 or 1.3/],
  [[...REQUIRED, '--listen', '8443'], /--listen "8443" is not HOST:PORT/],
  [[...REQUIRED, '--exempt-namespaces', 'Bad_NS'], /--exempt-namespaces: "Bad_NS" is not a namespace name/],
  [[...REQUIRED, '--log-level', 'loud'], /--log-level "loud"/],
  [[...REQUIRED, 'extra'], /serve takes no positional arguments; got extra/],
  [[...REQUIRED, '--cache'], /unknown option --cache/],
])('fails naming the flag: %j', (argv, message) => {
  expect(() => serveOptions(argv, {})).toThrow(message);
});

test('a cache TTL of 0 turns that cache off; durations take ms, s, m, h or bare seconds', () => {
  expect(serveOptions([...REQUIRED, '--cache-ttl', '0'], {})).toMatchObject({ allowTtlMs: 0 });
  expect([parseDuration('250ms', 'x'), parseDuration('2s', 'x'), parseDuration('1m', 'x'), parseDuration('1h', 'x'), parseDuration('0.5', 'x')])
    .toEqual([250, 2000, 60_000, 3_600_000, 500]);
});

test('--listen takes IPv4, bracketed IPv6 and a bare port', () => {
  expect(parseListen('[::]:8443')).toEqual({ host: '::', port: 8443 });
  expect(parseListen(':9000')).toEqual({ host: '0.0.0.0', port: 9000 });
  expect(() => parseListen('0.0.0.0:70000')).toThrow(/not HOST:PORT/);
});
