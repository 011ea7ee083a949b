/**
 * `modelseal tls init`: its output is accepted by the verifier and by a TLS client that trusts only the CA.
 */
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import * as tls from 'tls';
import { Secret } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { main } from '../../../src/runtime/cli/main';
import { startVerifier } from '../../../src/runtime/service/server';
import { cleanup, tempDir } from '../../fixtures/models';
import { request, verifierWorld, worldOptions } from '../../helpers/verifier';

let dir: string;
beforeAll(() => {
  dir = tempDir('modelseal-tls-');
});
afterAll(() => cleanup(dir));

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } });
  return { code, stdout, stderr };
}

const NAMES = ['modelseal-verifier', 'modelseal-verifier.modelseal-system', 'modelseal-verifier.modelseal-system.svc', 'modelseal-verifier.modelseal-system.svc.cluster.local'];

describe('tls init', () => {
  let out: string;
  beforeAll(async () => {
    out = path.join(dir, 'tls');
    const r = await run('tls', 'init', '--service', 'modelseal-verifier', '--namespace', 'modelseal-system', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, dnsNames: NAMES, secretName: 'modelseal-verifier-tls', namespace: 'modelseal-system' });
  });

  test('writes the CA, the serving certificate and key, and the Secrets; keys are private', () => {
    expect(fs.readdirSync(out).sort()).toEqual(['ca-secret.yaml', 'ca.crt', 'ca.key', 'secret.yaml', 'tls.crt', 'tls.key']);
    for (const f of ['ca.key', 'tls.key', 'secret.yaml', 'ca-secret.yaml']) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o600);
  });

  test('the CA is a CA; the serving certificate is issued by it for the Service\'s DNS names, for server auth only', () => {
    const ca = new X509Certificate(fs.readFileSync(path.join(out, 'ca.crt')));
    const leaf = new X509Certificate(fs.readFileSync(path.join(out, 'tls.crt')));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe(NAMES.map((n) => `DNS:${n}`).join(', '));
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(days).toBe(365);
  });

  test('secret.yaml is a kubernetes.io/tls Secret that validates, holding exactly the written files', () => {
    const doc = parse(fs.readFileSync(path.join(out, 'secret.yaml'), 'utf8'));
    expect(() => new Secret(doc).validate()).not.toThrow();
    expect(doc).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'modelseal-verifier-tls', namespace: 'modelseal-system' } });
    const decoded = (k: string) => Buffer.from(doc.data[k], 'base64').toString('utf8');
    expect(decoded('tls.crt')).toBe(fs.readFileSync(path.join(out, 'tls.crt'), 'utf8'));
    expect(decoded('tls.key')).toBe(fs.readFileSync(path.join(out, 'tls.key'), 'utf8'));
    expect(decoded('ca.crt')).toBe(fs.readFileSync(path.join(out, 'ca.crt'), 'utf8'));
    const caSecret = parse(fs.readFileSync(path.join(out, 'ca-secret.yaml'), 'utf8'));
    expect(() => new Secret(caSecret).validate()).not.toThrow();
    expect(caSecret.metadata.name).toBe('modelseal-verifier-ca');
    expect(Buffer.from(caSecret.data['tls.key'], 'base64').toString('utf8')).toBe(fs.readFileSync(path.join(out, 'ca.key'), 'utf8'));
  });

  test('a TLS client that trusts only the CA accepts the serving certificate under every DNS name, and no other name', async () => {
    const server = https.createServer({ cert: fs.readFileSync(path.join(out, 'tls.crt')), key: fs.readFileSync(path.join(out, 'tls.key')) }, (_q, s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('net').AddressInfo).port;
    const ca = fs.readFileSync(path.join(out, 'ca.crt'));
    const connect = (servername: string) => new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca, servername, checkServerIdentity: (_h, cert) => tls.checkServerIdentity(servername, cert) }, () => {
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
    try {
      for (const name of NAMES) await connect(name);
      await expect(connect('other.modelseal-system.svc')).rejects.toThrow(/does not match certificate's altnames/);
      // and a client with the default trust store (not the CA) refuses it
      await expect(new Promise<void>((resolve, reject) => tls.connect({ host: '127.0.0.1', port, servername: NAMES[2] }, () => resolve()).on('error', reject)))
        .rejects.toThrow(/self-signed|unable to (get|verify)/);
    } finally {
      server.close();
    }
  });

  test('the verifier serves with it, and a client trusting only the CA gets decisions', async () => {
    const world = await verifierWorld();
    try {
      const v = await startVerifier(worldOptions(world, { tls: { certFile: path.join(out, 'tls.crt'), keyFile: path.join(out, 'tls.key'), minVersion: 'TLSv1.3' } }));
      try {
        const ca = fs.readFileSync(path.join(out, 'ca.crt'), 'utf8');
        const r = await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca });
        expect(r.body.allowed).toBe(true);
      } finally {
        await v.shutdown();
      }
    } finally {
      cleanup(world.dir);
    }
  });

  test('refuses to overwrite without --force, and replaces everything with it', async () => {
    const before = fs.readFileSync(path.join(out, 'ca.crt'), 'utf8');
    const again = await run('tls', 'init', '--service', 'modelseal-verifier', '--namespace', 'modelseal-system', '--out', out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds ca.crt, ca.key, tls.crt, tls.key, secret.yaml, ca-secret.yaml; pass --force/);
    expect(fs.readFileSync(path.join(out, 'ca.crt'), 'utf8')).toBe(before);
    const forced = await run('tls', 'init', '--service', 'modelseal-verifier', '--namespace', 'modelseal-system', '--out', out, '--force');
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'ca.crt'), 'utf8')).not.toBe(before);
  });
});

describe('tls init options', () => {
  test('--cluster-domain, --secret-name and --days shape the certificate and the Secret', async () => {
    const out = path.join(dir, 'custom');
    const r = await run('tls', 'init', '--service', 'v', '--namespace', 'ns', '--out', out, '--cluster-domain', 'corp.example', '--secret-name', 'v-serving', '--days', '30');
    expect(r.code).toBe(0);
    const leaf = new X509Certificate(fs.readFileSync(path.join(out, 'tls.crt')));
    expect(leaf.subjectAltName).toBe('DNS:v, DNS:v.ns, DNS:v.ns.svc, DNS:v.ns.svc.corp.example');
    expect((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000).toBe(30);
    expect(parse(fs.readFileSync(path.join(out, 'secret.yaml'), 'utf8')).metadata.name).toBe('v-serving');
  });

  test.each([
    [['--namespace', 'ns', '--out', 'x'], /tls init needs --service NAME/],
    [['--service', 'Bad_Name', '--namespace', 'ns', '--out', 'x'], /--service "Bad_Name" is not a DNS label/],
    [['--service', 'v', '--namespace', 'ns', '--out', 'x', '--days', '0'], /--days "0" must be a whole number of days between 1 and 36500/],
    [['--service', 'v', '--namespace', 'ns', '--out', 'x', '--days', '400', '--ca-days', '300'], /--ca-days 300 is shorter than --days 400/],
  ])('fails with a usage error naming the bad value: %j', async (args, message) => {
    const r = await run('tls', 'init', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('an unknown subcommand is a usage error', async () => {
    const r = await run('tls', 'rotate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tls: unknown subcommand "rotate"; expected init/);
  });
});
