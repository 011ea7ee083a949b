/**
 * Issue 11's table, row by row, through the CLI (exit codes and messages), plus the new flags: --timestamp-url,
 * --timestamp-authority-cert, verify sigstore, --hash-algorithm.
 */
import * as fs from 'fs';
import * as path from 'path';
import { signModel } from '../../../src/runtime/engine/sign';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { EKU, intermediateCa, issue, Issued, KU, rootCa, signingLeaf, tsaLeaf, writeKey, writePem } from '../../fixtures/x509';
import { runCli } from '../../helpers/cli';
import { LocalTsa, pkijsResponder, startTsa } from '../../helpers/tsa';
import { describeVectors, vectorPath } from '../../helpers/vectors';

let dir: string;
let model: string;
let root: Issued;
let int: Issued;
beforeAll(async () => {
  root = await rootCa('CN=Corp Root');
  int = await intermediateCa(root, 'CN=Corp Signing CA');
});
beforeEach(() => {
  dir = tempDir();
  model = makeModel(dir);
  writePem(dir, 'root', root);
  writePem(dir, 'int', int);
});
afterEach(() => cleanup(dir));

const p = (name: string) => path.join(dir, name);

/** A bundle signed as `leaf` whatever a verifier thinks of it (the CLI's sign refuses such certificates). */
async function signedAs(leaf: Issued, chain: Issued[] = [int]): Promise<string> {
  const file = p('model.sig');
  await signModel(model, new CertificateSigner(new LocalKeySigner(leaf.privateKey), leaf.cert, chain.map((c) => c.cert)), { signaturePath: file });
  return file;
}

const verifyCertificate = (sig: string, ...anchors: string[]) =>
  runCli('verify', 'certificate', model, '--signature', sig, ...anchors.flatMap((a) => ['--certificate-chain', a]));

describe('issue 11 table', () => {
  test('an expired signing certificate (notAfter 2020-01-02): sign exits 2 and writes nothing; verify exits 1 naming it', async () => {
    const old = await signingLeaf(int, { subject: 'CN=Expired Signer', notBefore: new Date('2019-01-02T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z') });
    writePem(dir, 'old', old);
    writeKey(dir, 'old', old);
    const s = await runCli('sign', 'certificate', model, '--signature', p('new.sig'), '--private-key', p('old.key.pem'),
      '--signing-certificate', p('old.pem'), '--certificate-chain', p('int.pem'));
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(new RegExp(`^Signing failed: signing certificate ${p('old.pem').replace(/[.]/g, '\\.')} would not verify, so nothing was signed: certificate "CN=Expired Signer" \\(serial [0-9A-F]+\\) is not valid at \\S+ \\(the signing time\\): it expired on 2020-01-02T00:00:00\\.000Z`));
    expect(fs.existsSync(p('new.sig'))).toBe(false);
    const v = await verifyCertificate(await signedAs(old), p('root.pem'));
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: certificate "CN=Expired Signer" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time; the bundle has no timestamp\): it expired on 2020-01-02T00:00:00\.000Z/);
  });

  test('an intermediate CA that expired in 2021 with a valid leaf: verify exits 1 naming the CA', async () => {
    const oldInt = await intermediateCa(root, 'CN=Retired CA', { notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2021-03-01T00:00:00Z') });
    const v = await verifyCertificate(await signedAs(await signingLeaf(oldInt), [oldInt]), p('root.pem'));
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: certificate "CN=Retired CA" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time; the bundle has no timestamp\): it expired on 2021-03-01T00:00:00\.000Z/);
  });

  test('a TLS certificate (EKU serverAuth only): verify exits 1, not a code-signing certificate', async () => {
    const tls = await signingLeaf(int, { subject: 'CN=api.example.com', eku: [EKU.serverAuth] });
    const v = await verifyCertificate(await signedAs(tls), p('root.pem'));
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: signing certificate "CN=api\.example\.com" \(serial [0-9A-F]+\) is not a code-signing certificate: its extended key usage is serverAuth/);
  });

  test('a self-signed signing certificate as the only anchor: exit 0 (also signed without a chain or with the leaf as its own chain); a same-name unrelated anchor: exit 1', async () => {
    const self = await issue({ subject: 'CN=Solo Signer', keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] });
    writePem(dir, 'self', self);
    writeKey(dir, 'self', self);
    for (const chain of [[], ['--certificate-chain', p('self.pem')]]) {
      const s = await runCli('sign', 'certificate', model, '--signature', p('self.sig'), '--private-key', p('self.key.pem'), '--signing-certificate', p('self.pem'), ...chain);
      expect(s.stderr).toBe('');
      expect(s.code).toBe(0);
      const v = await verifyCertificate(p('self.sig'), p('self.pem'));
      expect(v.stderr).toBe('');
      expect(v.code).toBe(0);
    }
    const impostor = await issue({ subject: 'CN=Solo Signer', keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] });
    writePem(dir, 'impostor', impostor);
    const v = await verifyCertificate(p('self.sig'), p('impostor.pem'));
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: certificate chain of "CN=Solo Signer" .* does not lead to a trust anchor/);
  });
});

describeVectors('issue 11 table: the reference vectors through the CLI', () => {
  const mt = (...parts: string[]) => vectorPath('model-transparency', ...parts);
  const sharedRoot = path.join(vectorPath(), '..', 'sigstore', 'trusted_root.json');
  const keyless: readonly [string, string, string, string[]][] = [
    ['spec sigstore.bundle.json', vectorPath('spec', 'test-vectors', 'v1.0', 'valid', 'sigstore.bundle.json'), mt('v1.1.0-sigstore'), []],
    ['v0.3.1-sigstore', mt('v0.3.1-sigstore', 'model.sig'), mt('v0.3.1-sigstore'), []],
    ['v1.0.0-sigstore', mt('v1.0.0-sigstore', 'model.sig'), mt('v1.0.0-sigstore'), []],
    ['v1.0.1-sigstore', mt('v1.0.1-sigstore', 'model.sig'), mt('v1.0.1-sigstore'), ['--ignore-paths', mt('v1.0.1-sigstore', 'ignore-me')]],
    ['v1.1.0-sigstore', mt('v1.1.0-sigstore', 'model.sig'), mt('v1.1.0-sigstore'), []],
  ];
  const identity = ['--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'];

  test.each(keyless)('verify sigstore %s: exit 0 offline with the shared trusted root', async (_name, sig, modelDir, extra) => {
    const r = await runCli('verify', 'sigstore', modelDir, '--signature', sig, ...identity, '--trusted-root', sharedRoot, ...extra, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      method: 'sigstore',
      identity: ['stefanb@us.ibm.com'],
      identityProvider: 'https://sigstore.verify.ibm.com/oauth2',
      trustedRoot: { source: sharedRoot },
      rootDigest: 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    });
  });

  test('verify sigstore with the shipped root (no --trusted-root) says which root it used', async () => {
    const r = await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', mt('v1.1.0-sigstore', 'model.sig'), ...identity);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Verification succeeded: .* \(sha256:61d4849d\S+, 2 files, signed by stefanb@us\.ibm\.com via https:\/\/sigstore\.verify\.ibm\.com\/oauth2, timestamped 2025-10-10T02:12:20\.000Z\)\n$/);
    const json = JSON.parse((await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', mt('v1.1.0-sigstore', 'model.sig'), ...identity, '--json')).stdout);
    expect(json.trustedRoot.source).toMatch(/^the Sigstore public-good trusted root from the @sigstore\/tuf 5\.0\.1 seed/);
  });

  test('verify sigstore fails with exit 1 naming the reason: wrong identity, wrong issuer, a root without the log key, a flipped byte', async () => {
    const sig = mt('v1.1.0-sigstore', 'model.sig');
    const wrongId = await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, '--identity', 'mallory@example.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2');
    expect([wrongId.code, wrongId.stderr]).toEqual([1, `Verification failed: ${sig} is signed by another identity: the certificate names email "stefanb@us.ibm.com", not "mallory@example.com"\n`]);
    const wrongIssuer = await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, '--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://accounts.google.com');
    expect(wrongIssuer.code).toBe(1);
    expect(wrongIssuer.stderr).toMatch(/is signed through another identity provider: the certificate's OIDC issuer is "https:\/\/sigstore\.verify\.ibm\.com\/oauth2", not "https:\/\/accounts\.google\.com"/);
    const json = JSON.parse(fs.readFileSync(sharedRoot, 'utf8'));
    json.tlogs = [];
    fs.writeFileSync(p('no-log.json'), JSON.stringify(json));
    const noLog = await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, ...identity, '--trusted-root', p('no-log.json'));
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/TLOG_INCLUSION_PROMISE_ERROR .*does not verify with the log keys of the trusted root/);
    const copy = p('v1.1.0-sigstore');
    fs.cpSync(mt('v1.1.0-sigstore'), copy, { recursive: true });
    const file = path.join(copy, 'signme-2');
    const bytes = fs.readFileSync(file);
    bytes[0] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const flipped = await runCli('verify', 'sigstore', copy, '--signature', path.join(copy, 'model.sig'), ...identity);
    expect(flipped.code).toBe(1);
    expect(flipped.stderr).toMatch(/^Verification failed: \S+ does not match the signature: 1 changed file\(s\): signme-2 \(signed sha256:/);
  });

  test('verify sigstore needs one identity form and an issuer (exit 2)', async () => {
    const sig = mt('v1.1.0-sigstore', 'model.sig');
    expect((await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, '--identity-provider', 'x')).stderr)
      .toBe('modelseal: verify sigstore needs exactly one of --identity ID (exact) or --identity-regex RE\n');
    expect((await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, '--identity', 'a')).code).toBe(2);
    expect((await runCli('verify', 'sigstore', mt('v1.1.0-sigstore'), '--signature', sig, '--identity-regex', '(', '--identity-provider', 'x')).stderr)
      .toMatch(/--identity-regex "\(" is not a valid regular expression/);
  });

  test('the model_signing v0.2 certificate bundle (P-384 leaf, SHA-256) verifies with the legacy warning', async () => {
    const r = await runCli('verify', 'certificate', mt('v0.2.0-certificate'), '--signature', mt('v0.2.0-certificate', 'model.sig'), '--certificate-chain', mt('keys', 'ca-cert.pem'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: .*model\.sig was signed by model_signing v0\.2 \(legacy PAE encoding and SHA-256 with its P-384 key\); re-sign it\n/);
  });
});

describe('timestamps through the CLI', () => {
  let tsa: LocalTsa;
  let tsaRoot: Issued;
  beforeAll(async () => {
    tsaRoot = await rootCa('CN=TSA Root');
    tsa = await startTsa(pkijsResponder({ tsa: await tsaLeaf(tsaRoot) }), { maxRequests: 10, maxMs: 60_000 });
  });
  afterAll(() => tsa.close());

  test('sign --timestamp-url then verify --timestamp-authority-cert reports the signing time', async () => {
    const leaf = await signingLeaf(int);
    writePem(dir, 'leaf', leaf);
    writeKey(dir, 'leaf', leaf);
    writePem(dir, 'tsa-root', tsaRoot);
    const s = await runCli('sign', 'certificate', model, '--signature', p('model.sig'), '--private-key', p('leaf.key.pem'), '--signing-certificate', p('leaf.pem'),
      '--certificate-chain', p('int.pem'), '--timestamp-url', tsa.url, '--timestamp-authority-cert', p('tsa-root.pem'), '--json');
    expect(s.stderr).toBe('');
    expect(JSON.parse(s.stdout)).toMatchObject({ ok: true, timestamped: true, hashAlgorithm: 'sha256' });
    const v = await runCli('verify', 'certificate', model, '--signature', p('model.sig'), '--certificate-chain', p('root.pem'), '--timestamp-authority-cert', p('tsa-root.pem'), '--json');
    expect(v.code).toBe(0);
    const out = JSON.parse(v.stdout);
    expect(out.signedAt).toHaveLength(1);
    expect(out.certificatesCheckedAt).toEqual({ times: out.signedAt, source: 'rfc3161' });
  });

  test('revoke and attest take --timestamp-url too; a TSA that does not answer fails them with nothing written', async () => {
    const k = ecKey('P-256');
    fs.writeFileSync(p('k.pem'), k.pem);
    writePem(dir, 'tsa-root', tsaRoot);
    const digest = `sha256:${'a'.repeat(64)}`;
    const stamped = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')).verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).length;

    const store = p('store');
    const rv = await runCli('revoke', '--store', store, '--reason', 'withdrawn', '--private-key', p('k.pem'), digest,
      '--timestamp-url', tsa.url, '--timestamp-authority-cert', p('tsa-root.pem'), '--json');
    expect(rv).toMatchObject({ code: 0, stderr: '' });
    expect(stamped(path.join(store, JSON.parse(rv.stdout).key))).toBe(1);

    const card = path.join(__dirname, '..', '..', 'fixtures', 'sbom', 'model-card.yaml');
    const at = await runCli('attest', 'sbom', 'key', model, '--model-card', card, '--private-key', p('k.pem'), '--signature', p('sbom.sig'),
      '--digest', digest, '--timestamp-url', tsa.url, '--timestamp-authority-cert', p('tsa-root.pem'));
    expect(at).toMatchObject({ code: 0, stderr: '' });
    expect(stamped(p('sbom.sig'))).toBe(1);

    const gone = await startTsa(pkijsResponder({ tsa: await tsaLeaf(tsaRoot) }), { maxRequests: 1, maxMs: 10_000 });
    await gone.close();
    const store2 = p('store2');
    const failedRevoke = await runCli('revoke', '--store', store2, '--reason', 'withdrawn', '--private-key', p('k.pem'), digest, '--timestamp-url', gone.url);
    expect(failedRevoke.code).not.toBe(0);
    expect(failedRevoke.stderr).toMatch(new RegExp(`timestamp authority ${gone.url.replace(/[.]/g, '\\.')}: request failed: `));
    expect(fs.existsSync(store2) ? fs.readdirSync(store2, { recursive: true }).filter((f) => String(f).endsWith('.json')) : []).toEqual([]);
    const failedAttest = await runCli('attest', 'sbom', 'key', model, '--model-card', card, '--private-key', p('k.pem'), '--signature', p('sbom2.sig'),
      '--digest', digest, '--timestamp-url', gone.url);
    expect(failedAttest.code).not.toBe(0);
    expect(failedAttest.stderr).toMatch(/request failed: .*; no bundle was written/);
    expect(fs.existsSync(p('sbom2.sig'))).toBe(false);
  });

  test('--timestamp-authority-cert at sign time needs --timestamp-url', async () => {
    const k = ecKey('P-256');
    fs.writeFileSync(p('k.pem'), k.pem);
    writePem(dir, 'tsa-root', tsaRoot);
    const s = await runCli('sign', 'key', model, '--private-key', p('k.pem'), '--timestamp-authority-cert', p('tsa-root.pem'));
    expect([s.code, s.stderr]).toEqual([2, 'Signing failed: --timestamp-authority-cert at sign time checks the answer of --timestamp-url; give the URL too\n']);
  });
});

describe('--hash-algorithm', () => {
  test('digest and sign with blake3 or blake2b; verify reads the algorithm from the bundle', async () => {
    const k = ecKey('P-256');
    fs.writeFileSync(p('k.pem'), k.pem);
    fs.writeFileSync(p('k.pub'), k.pubPem);
    for (const alg of ['blake2b', 'blake3']) {
      const d = await runCli('digest', model, '--hash-algorithm', alg, '--json');
      expect(JSON.parse(d.stdout).serialization.hash_type).toBe(alg);
      const s = await runCli('sign', 'key', model, '--private-key', p('k.pem'), '--signature', p(`${alg}.sig`), '--hash-algorithm', alg, '--json');
      expect(JSON.parse(s.stdout)).toMatchObject({ ok: true, hashAlgorithm: alg, rootDigest: JSON.parse(d.stdout).rootDigest });
      const v = await runCli('verify', 'key', model, '--signature', p(`${alg}.sig`), '--public-key', p('k.pub'), '--json');
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, hashAlgorithm: alg });
    }
  });

  test('an unknown algorithm exits 2', async () => {
    const r = await runCli('digest', model, '--hash-algorithm', 'sha1');
    expect([r.code, r.stderr]).toEqual([2, 'modelseal: --hash-algorithm "sha1" is not an OMS hash algorithm; expected sha256, blake2b or blake3\n']);
  });
});
