/**
 * Mutual TLS (`--client-ca`): the verifier asks for a client certificate and accepts only one its CA issued, as
 * Gatekeeper can present its webhook certificate.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { GatekeeperModelPolicy, ModelVerifier, VerifierImage } from '../../../src';
import { startVerifier, Verifier } from '../../../src/runtime/service/server';
import { cleanup } from '../../fixtures/models';
import { CLI_BUNDLE, ensureCliBundle } from '../../helpers/cli-bundle';
import { providerRequest, request, verifierWorld, VerifierWorld, worldOptions } from '../../helpers/verifier';

let world: VerifierWorld;
let v: Verifier;
let client: { cert: string; key: string };
let clientCaPem: string;
let stranger: { cert: string; key: string };

/** A client certificate (EKU clientAuth) issued by the CA in `caCert`/`caKey`, made with the openssl CLI. */
function clientCertificate(dir: string, name: string, caCert: string, caKey: string): { cert: string; key: string } {
  const file = (ext: string) => path.join(dir, `${name}.${ext}`);
  fs.writeFileSync(file('ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', file('key'), '-out', file('csr')], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', file('csr'), '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', file('ext'), '-out', file('crt')], { stdio: 'pipe' });
  return { cert: fs.readFileSync(file('crt'), 'utf8'), key: fs.readFileSync(file('key'), 'utf8') };
}

beforeAll(async () => {
  world = await verifierWorld();
  const dir = path.join(world.dir, 'mtls');
  fs.mkdirSync(dir);
  const caKey = path.join(dir, 'client-ca.key');
  const caCert = path.join(dir, 'client-ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=gatekeeper-webhook-ca', '-keyout', caKey, '-out', caCert], { stdio: 'pipe' });
  client = clientCertificate(dir, 'gatekeeper', caCert, caKey);
  clientCaPem = fs.readFileSync(caCert, 'utf8');
  const otherKey = path.join(dir, 'other-ca.key');
  const otherCert = path.join(dir, 'other-ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=other-ca', '-keyout', otherKey, '-out', otherCert], { stdio: 'pipe' });
  stranger = clientCertificate(dir, 'stranger', otherCert, otherKey);
  v = await startVerifier(worldOptions(world, { tls: { certFile: world.tls.certFile, keyFile: world.tls.keyFile, clientCaFile: caCert, minVersion: 'TLSv1.3' } }));
});

afterAll(async () => {
  await v?.shutdown();
  cleanup(world.dir);
});

test('a client certificate issued by the client CA gets decisions', async () => {
  const r = await request(`${v.url}/gatekeeper`, {
    body: { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys: [world.digests.allowed] } },
    ca: world.tls.caPem,
    ...client,
  });
  expect(r.status).toBe(200);
  expect(r.body.response.items[0].value.allowed).toBe(true);
});

test('no client certificate, or one from another CA: every decision route answers 403 naming why, never a decision', async () => {
  const gk = { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys: [world.digests.allowed] } };
  for (const [route, body] of [['/gatekeeper', gk], ['/kyverno', { digest: world.digests.allowed }], ['/validate', {}]] as const) {
    const none = await request(`${v.url}${route}`, { body, ca: world.tls.caPem });
    expect(none.status).toBe(403);
    expect(none.body.error).toMatch(/^no client certificate was presented; this verifier decides only for clients with a certificate issued by its client CA \(--client-ca .*client-ca\.crt\)$/);
    expect(none.body.allowed ?? false).toBe(false);
    const other = await request(`${v.url}${route}`, { body, ca: world.tls.caPem, ...stranger });
    expect(other.status).toBe(403);
    expect(other.body.error).toMatch(/^the client certificate was not accepted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to get local issuer certificate/i);
  }
  expect((await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: world.tls.caPem })).body.allowed).toBe(false);
});

test('the probes and /metrics need no client certificate (kubelet presents none)', async () => {
  expect((await request(`${v.url}/healthz`, { ca: world.tls.caPem })).status).toBe(200);
  expect((await request(`${v.url}/readyz`, { ca: world.tls.caPem })).status).toBe(200);
  const metrics = await request(`${v.url}/metrics`, { ca: world.tls.caPem });
  expect(metrics.text).toMatch(/^modelseal_verifier_bad_requests_total\{protocol="gatekeeper",status="403"\} [1-9]/m);
});

test('construct and service agree: the command line ModelVerifier renders with clientCaCertificatePem, run directly', async () => {
  ensureCliBundle();
  const chart = Testing.chart();
  const verifier = new ModelVerifier(chart, 'Verifier', {
    image: VerifierImage.fromRegistry(`registry.example/modelseal@sha256:${'ef'.repeat(32)}`),
    storeUri: 's3://attestations-bucket',
    trustPolicy: 'placeholder: true',
    caCertificatePem: world.tls.caPem,
    clientCaCertificatePem: clientCaPem,
    clientNamespaces: ['gatekeeper-system'],
  });
  new GatekeeperModelPolicy(chart, 'Gatekeeper', { verifier });
  const objs = Testing.synth(chart);
  const container = objs.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  // the client CA ConfigMap's ca.crt, written where this machine's copy of the mount is
  const mounted = path.join(world.dir, 'client-ca-mount');
  fs.mkdirSync(mounted);
  fs.writeFileSync(path.join(mounted, 'ca.crt'), objs.find((o) => o.metadata?.name === 'modelseal-verifier-client-ca').data['ca.crt']);
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    }).on('error', reject);
  });
  const args = (container.args as string[]).map((a) => a
    .replace(/^0\.0\.0\.0:8443$/, `127.0.0.1:${port}`)
    .replace(/^\/etc\/modelseal\/tls\/tls\.crt$/, world.tls.certFile)
    .replace(/^\/etc\/modelseal\/tls\/tls\.key$/, world.tls.keyFile)
    .replace(/^\/etc\/modelseal\/client-ca\/ca\.crt$/, path.join(mounted, 'ca.crt'))
    .replace(/^\/etc\/modelseal\/policy\/policy\.yaml$/, world.policyFile)
    .replace(/^s3:\/\/attestations-bucket$/, world.store.uri));
  expect(args).toContain(path.join(mounted, 'ca.crt'));
  const child = spawn(process.execPath, [CLI_BUNDLE, ...args], { cwd: world.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  try {
    const url = `https://127.0.0.1:${port}`;
    const ca = world.tls.caPem;
    const until = Date.now() + 20_000;
    // kubelet's readiness probe: an HTTPS GET without a client certificate
    for (;;) {
      const ready = await request(`${url}/readyz`, { ca, timeoutMs: 1000 }).catch(() => undefined);
      if (ready?.status === 200) break;
      if (Date.now() > until || child.exitCode !== null) throw new Error(`the verifier did not become ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await request(`${url}/healthz`, { ca })).status).toBe(200);
    const asGatekeeper = await request(`${url}/gatekeeper`, { body: providerRequest([world.digests.allowed]), ca, ...client });
    expect(asGatekeeper.body.response.items[0].value.allowed).toBe(true);
    const anonymous = await request(`${url}/gatekeeper`, { body: providerRequest([world.digests.allowed]), ca });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error).toMatch(/^no client certificate was presented/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
});
