/**
 * The verifier while it runs: certificate rotation without dropping connections, policy reload (good and bad), and
 * graceful shutdown with requests in flight.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { FaultyStore } from './faulty-store';
import { makeVerifierTls } from '../../../src/runtime/cli/commands/tls';
import { ecKey } from '../../fixtures/models';
import { LogSink, policyCopy, request, SERVICE_NAME, TWO_PARTY_POLICY, verifiersPerTest, VerifierWorld } from '../../helpers/verifier';

const suite = verifiersPerTest();
const start = suite.start;
let world: VerifierWorld;
beforeAll(() => {
  world = suite.world();
});

/** Polls `check` every 50 ms until it is true (at most `ms`). */
async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Replaces a file the way a Secret/ConfigMap update does: a new file renamed over the old name. */
function replaceFile(file: string, text: string): void {
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

/** A copy of the world's serving certificate and key in a fresh folder, to rotate. */
function tlsCopy(name: string): { certFile: string; keyFile: string } {
  const dir = path.join(world.dir, name);
  fs.mkdirSync(dir);
  const files = { certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key') };
  fs.writeFileSync(files.certFile, world.tls.certPem);
  fs.writeFileSync(files.keyFile, world.tls.keyPem);
  return files;
}

describe('certificate rotation while serving', () => {
  test('new connections get the new certificate; a connection opened before keeps working', async () => {
    const { certFile, keyFile } = tlsCopy('rotation');
    const v = await start({ tls: { certFile, keyFile, minVersion: 'TLSv1.2' } });
    const oldAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const before = await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: world.tls.caPem, agent: oldAgent });
    expect(before.body.allowed).toBe(true);
    const oldFingerprint = before.peerFingerprint;

    const next = await makeVerifierTls({ service: 'modelseal-verifier', namespace: 'modelseal-system', days: 2, caDays: 3 });
    replaceFile(certFile, next.certPem);
    replaceFile(keyFile, next.keyPem);
    await eventually(async () => {
      try {
        return (await request(`${v.url}/healthz`, { ca: next.caPem })).status === 200;
      } catch {
        return false;
      }
    });

    // the kept-alive connection still answers, on the certificate it was opened with
    const onOld = await request(`${v.url}/kyverno`, { body: { digest: world.digests.revoked }, ca: world.tls.caPem, agent: oldAgent });
    expect(onOld.status).toBe(200);
    expect(onOld.body.allowed).toBe(false);
    expect(onOld.peerFingerprint).toBe(oldFingerprint);
    // a new connection gets the new certificate, trusted by the new CA only
    const fresh = await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: next.caPem });
    expect(fresh.body.allowed).toBe(true);
    expect(fresh.peerFingerprint).not.toBe(oldFingerprint);
    await expect(request(`${v.url}/healthz`, { ca: world.tls.caPem })).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    oldAgent.destroy();
    const metrics = (await request(`${v.url}/metrics`, { ca: next.caPem })).text;
    expect(metrics).toMatch(/^modelseal_verifier_tls_reloads_total\{result="loaded"\} [1-9]/m);
  });

  test('a certificate that does not match its key is not loaded: the old one keeps serving', async () => {
    const { certFile, keyFile } = tlsCopy('rotation-bad');
    const logs = new LogSink();
    const v = await start({ tls: { certFile, keyFile, minVersion: 'TLSv1.2' }, logStream: logs });
    const other = await makeVerifierTls({ service: 'modelseal-verifier', namespace: 'modelseal-system', days: 2, caDays: 3 });
    replaceFile(certFile, other.certPem);
    await eventually(() => logs.lines.some((l) => l.event === 'tls-reload' && l.result === 'failed'));
    expect(logs.lines.find((l) => l.event === 'tls-reload')!.msg).toMatch(/TLS certificate reload failed, still serving the previous one: .*do not make a usable TLS context/);
    expect((await request(`${v.url}/healthz`, { ca: world.tls.caPem })).status).toBe(200);
  });
});

describe('policy reload', () => {
  test('a good policy replaces the old one; a bad one is refused, the old one stays in force and /readyz turns red', async () => {
    const policyFile = policyCopy(world, 'reload');
    const v = await start({ policyFile });
    const ask = async (digest: string) => (await request(`${v.url}/kyverno`, { body: { digest }, ca: world.tls.caPem })).body;
    const first = await ask(world.digests.oneSigner);
    expect(first.allowed).toBe(false);

    // good: ci alone suffices now; the new policy digest keys fresh decisions (the cached denial is not reused)
    replaceFile(policyFile, TWO_PARTY_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci]'));
    await eventually(async () => (await ask(world.digests.oneSigner)).allowed === true);
    const second = await ask(world.digests.oneSigner);
    expect(second.policy).not.toBe(first.policy);
    expect((await request(`${v.url}/readyz`, { ca: world.tls.caPem })).status).toBe(200);

    // bad: an unknown signer name. Refused; the ci-only policy stays in force; readiness says why
    replaceFile(policyFile, TWO_PARTY_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci, nobody]'));
    await eventually(async () => (await request(`${v.url}/readyz`, { ca: world.tls.caPem })).status === 503);
    const ready = await request(`${v.url}/readyz`, { ca: world.tls.caPem });
    expect(ready.body.ready).toBe(false);
    expect(ready.body.reasons).toEqual([expect.stringMatching(new RegExp(`trust policy .*policy.yaml failed to load \\(still using ${second.policy}\\): .*/require/allOf/1: unknown signer 'nobody'`))]);
    expect(ready.body.policy).toBe(second.policy);
    const third = await ask(world.digests.oneSigner);
    expect(third).toMatchObject({ allowed: true, policy: second.policy });

    // fixed again: ready
    replaceFile(policyFile, TWO_PARTY_POLICY);
    await eventually(async () => (await request(`${v.url}/readyz`, { ca: world.tls.caPem })).status === 200);
    expect((await ask(world.digests.oneSigner)).allowed).toBe(false);
    const metrics = (await request(`${v.url}/metrics`, { ca: world.tls.caPem })).text;
    expect(metrics).toMatch(/^modelseal_verifier_policy_reloads_total\{result="failed"\} [1-9]/m);
    expect(metrics).toMatch(/^modelseal_verifier_policy_reloads_total\{result="loaded"\} 3$/m);
  });

  test('a changed key file changes the policy digest even when the policy text is the same', async () => {
    const policyFile = policyCopy(world, 'reload-key');
    const v = await start({ policyFile });
    const ask = async () => (await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: world.tls.caPem })).body;
    expect((await ask()).allowed).toBe(true);
    // compliance's key is swapped for ci's: one key under two names is refused, so use a stranger's key
    replaceFile(path.join(path.dirname(policyFile), 'compliance.pub.pem'), ecKey('P-256').pubPem);
    await eventually(async () => (await ask()).allowed === false);
    expect((await ask()).reasons.join()).toMatch(/missing: compliance/);
  });

  test('a policy that fails to load at start: the verifier runs, denies everything, and says why', async () => {
    const policyFile = path.join(world.dir, 'broken.yaml');
    fs.writeFileSync(policyFile, 'signers: [');
    const v = await start({ policyFile });
    const ready = await request(`${v.url}/readyz`, { ca: world.tls.caPem });
    expect(ready.status).toBe(503);
    expect(ready.body.policy).toBeNull();
    const k = (await request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: world.tls.caPem })).body;
    expect(k).toEqual({ allowed: false, reasons: [expect.stringMatching(/no trust policy is loaded \(trust policy .*broken.yaml failed to load: .*\); failing closed/)], manifest: null, policy: null });
    const g = (await request(`${v.url}/gatekeeper`, { body: { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys: [world.digests.allowed] } }, ca: world.tls.caPem })).body;
    expect(g.response.systemError).toMatch(/the verifier cannot decide: no trust policy is loaded/);
    expect(g.response.items[0].error).toMatch(/no trust policy is loaded/);
  });
});

describe('graceful shutdown', () => {
  test('requests in flight finish with a decision; new connections are refused; shutdown ends', async () => {
    const store = new FaultyStore(world.store, { delayMs: 150 });
    const logs = new LogSink();
    const v = await start({ store, logStream: logs });
    const digests = [world.digests.allowed, world.digests.revoked, world.digests.oneSigner, world.digests.tampered, world.digests.unsigned];
    const inflight = digests.map((digest) => request(`${v.url}/kyverno`, { body: { digest }, ca: world.tls.caPem }));
    // every request is being decided (each check lists four store prefixes; one more listing is the readiness probe)
    await eventually(() => store.lists >= 1 + 4 * digests.length);
    const t0 = Date.now();
    const done = v.shutdown('SIGTERM');
    const results = await Promise.all(inflight);
    expect(results.map((r) => [r.status, r.body.allowed])).toEqual([[200, true], [200, false], [200, false], [200, false], [200, false]]);
    expect(results.every((r) => r.headers.connection === 'close')).toBe(true);
    await done;
    expect(Date.now() - t0).toBeLessThan(4000);
    await expect(request(`${v.url}/healthz`, { ca: world.tls.caPem, timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
    expect(logs.lines.map((l) => l.msg)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^shutting down \(SIGTERM\): finishing in-flight requests within 5s$/), 'verifier stopped',
    ]));
  });

  test('past the shutdown timeout, connections still busy are closed', async () => {
    const store = new FaultyStore(world.store, { delayMs: 1500 });
    const v = await start({ store, shutdownTimeoutMs: 300, deadlineMs: 5000 });
    const slow = request(`${v.url}/kyverno`, { body: { digest: world.digests.allowed }, ca: world.tls.caPem }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await v.shutdown('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(String(await slow)).toMatch(/socket hang up|ECONNRESET/);
  });
});

test('SERVICE_NAME is a DNS name the serving certificate carries', () => {
  expect(world.tls.dnsNames).toContain(SERVICE_NAME);
});
