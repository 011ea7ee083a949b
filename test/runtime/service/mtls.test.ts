/**
 * Mutual TLS (`--client-ca`): the verifier asks for a client certificate and accepts only one its CA issued, as
 * Gatekeeper can present its webhook certificate.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startVerifier, Verifier } from '../../../src/runtime/service/server';
import { cleanup } from '../../fixtures/models';
import { request, verifierWorld, VerifierWorld, worldOptions } from '../../helpers/verifier';

let world: VerifierWorld;
let v: Verifier;
let client: { cert: string; key: string };
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

test('no client certificate, or one from another CA, is refused in the handshake', async () => {
  await expect(request(`${v.url}/healthz`, { ca: world.tls.caPem })).rejects.toThrow(/certificate required|alert|socket hang up|ECONNRESET/i);
  await expect(request(`${v.url}/healthz`, { ca: world.tls.caPem, ...stranger })).rejects.toThrow(/unknown ca|alert|socket hang up|ECONNRESET/i);
});
