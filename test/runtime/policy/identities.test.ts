/**
 * Trust policies and issue 11: the sigstore signer kind (keyless bundles, offline), certificate identities matched on
 * parsed subject alternative names, and the time rule (`timestampAuthorities`) applied by `check` as by `verify`.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { publish, SAMPLE_POLICY, tamper, workspace, Workspace, writePolicy } from './fixtures';
import { cosignBundle } from '../../../src/runtime/engine/cosign';
import { keyHint } from '../../../src/runtime/engine/keys';
import { SHIPPED_TRUSTED_ROOT_DATE } from '../../../src/runtime/engine/sigstore-keyless';
import { checkStore } from '../../../src/runtime/policy/check';
import { verifyModelAgainstPolicy } from '../../../src/runtime/policy/decision';
import { loadTrustPolicy, validateTrustPolicyFile } from '../../../src/runtime/policy/load';
import { signRevocation } from '../../../src/runtime/policy/revocation';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { TimestampingSigner } from '../../../src/runtime/signers/tsa-client';
import { deriveKey } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
import { cleanup, ecKey, tempDir } from '../../fixtures/models';
import { daysFromNow, intermediateCa, Issued, rootCa, signingLeaf, tsaLeaf, writePem } from '../../fixtures/x509';
import { pkijsResponder, startTsa } from '../../helpers/tsa';
import { describeVectors, readVector, vectorPath } from '../../helpers/vectors';

const KEYLESS_ROOT = '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';
const SHARED_ROOT = path.join(vectorPath(), '..', 'sigstore', 'trusted_root.json');

const policyWith = (signer: string) => `apiVersion: modelseal.dev/v1
kind: TrustPolicy
signers:
  - name: researcher
${signer}
require:
  allOf: [researcher]
`;

describeVectors('sigstore signers: keyless bundles count for the identity and issuer the policy names', () => {
  let dir: string;
  let store: LocalStore;
  beforeEach(async () => {
    dir = tempDir('modelseal-keyless-');
    fs.copyFileSync(SHARED_ROOT, path.join(dir, 'trusted_root.json'));
    fs.mkdirSync(path.join(dir, 'store'));
    store = new LocalStore(path.join(dir, 'store'));
    for (const v of ['v1.0.0-sigstore', 'v1.1.0-sigstore']) {
      const body = readVector('model-transparency', v, 'model.sig');
      await store.put(deriveKey(body).key, body);
    }
  });
  afterEach(() => cleanup(dir));

  async function check(signer: string) {
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, policyWith(signer));
    return checkStore(await loadTrustPolicy(file), store, KEYLESS_ROOT);
  }

  test('an exact identity with its issuer allows; both bundles verify offline against the trusted root', async () => {
    const r = await check('    sigstore: { identity: stefanb@us.ibm.com, issuer: "https://sigstore.verify.ibm.com/oauth2", trustedRoot: trusted_root.json }');
    expect(r.decision).toBe('allow');
    expect(r.signatures.map((s) => [s.signer, s.counted])).toEqual([['researcher', true], ['researcher', true]]);
    expect(r.signatures[0].reason).toMatch(/^verified: signed by researcher \(Sigstore identity "stefanb@us\.ibm\.com" \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2\)\); manifest sha256:[0-9a-f]{64}$/);
  });

  test('the shipped trusted root is the default; once it is old, the report says so', async () => {
    const signer = '    sigstore: { identity: stefanb@us.ibm.com, issuer: "https://sigstore.verify.ibm.com/oauth2" }';
    const r = await check(signer);
    expect(r.decision).toBe('allow');
    // v1.0.0 and v1.1.0 record different ignore_paths: two manifests of one root (the decision picks one; issue 10)
    const rootNotes = (notes: string[]) => notes.filter((n) => !/also meets the signer requirement/.test(n));
    expect(rootNotes(r.notes)).toEqual([]);
    const file = path.join(dir, 'policy.yaml');
    const later = new Date(SHIPPED_TRUSTED_ROOT_DATE.getTime() + 365 * 86_400_000);
    const old = await checkStore(await loadTrustPolicy(file), store, KEYLESS_ROOT, { now: later });
    expect(old.decision).toBe('allow');
    expect(rootNotes(old.notes)).toEqual([expect.stringMatching(/^the Sigstore trusted root in use is the Sigstore public-good trusted root .*, 365 days old \(over 180\)/)]);
  });

  test('an anchored identity regex allows; a partial one does not', async () => {
    expect((await check('    sigstore: { identityRegex: ".*@us\\\\.ibm\\\\.com", issuer: "https://sigstore.verify.ibm.com/oauth2" }')).decision).toBe('allow');
    const partial = await check('    sigstore: { identityRegex: "stefanb", issuer: "https://sigstore.verify.ibm.com/oauth2" }');
    expect(partial.decision).toBe('deny');
    expect(partial.notes[0]).toMatch(/not counted: Sigstore keyless bundle of no policy signer: signature by researcher's Sigstore identity \/stefanb\/ .* does not verify \(tampered\?\): .* is signed by another identity: the certificate names email "stefanb@us\.ibm\.com", not \/stefanb\/ \(matching a whole value\)$/);
  });

  test('a wrong identity or issuer denies, saying why', async () => {
    const wrongId = await check('    sigstore: { identity: someone@example.com, issuer: "https://sigstore.verify.ibm.com/oauth2" }');
    expect(wrongId.decision).toBe('deny');
    expect(wrongId.notes.join('\n')).toMatch(/is signed by another identity/);
    const wrongIssuer = await check('    sigstore: { identity: stefanb@us.ibm.com, issuer: "https://accounts.google.com" }');
    expect(wrongIssuer.decision).toBe('deny');
    expect(wrongIssuer.notes.join('\n')).toMatch(/is signed through another identity provider: the certificate's OIDC issuer is "https:\/\/sigstore\.verify\.ibm\.com\/oauth2"/);
  });

  test('a policy without a sigstore signer does not count keyless bundles', async () => {
    fs.writeFileSync(path.join(dir, 'researcher.pub.pem'), ecKey('P-256').pubPem);
    const r = await check('    publicKey: researcher.pub.pem');
    expect(r.decision).toBe('deny');
    expect(r.notes.join('\n')).toMatch(/Sigstore keyless bundle: the policy names no sigstore signer/);
  });

  test('a keyless statement of another kind a revoker signed, copied under revocations/, revokes nothing (and is ignored for anyone else)', async () => {
    // a keyless model signature misplaced as a revocation: rejected by the store layout, attributed by its certificate,
    // and intact: it says nothing about revoking, so copying a revoker's signature there cannot veto the model
    const body = readVector('model-transparency', 'v1.1.0-sigstore', 'model.sig');
    const hint = deriveKey(body).signer;
    const key = `revocations/sha256/${KEYLESS_ROOT}/${hint}/${createHash('sha256').update(body).digest('hex')}.json`;
    await store.put(key, body);
    const withRevoker = (identity: string) => `${policyWith(`    sigstore: { identity: ${identity}, issuer: "https://sigstore.verify.ibm.com/oauth2", trustedRoot: trusted_root.json }`)}revokers: [researcher]\n`;
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, withRevoker('stefanb@us.ibm.com'));
    const r = await checkStore(await loadTrustPolicy(file), store, KEYLESS_ROOT);
    expect(r.revocations).toEqual([expect.objectContaining({
      key, by: 'researcher', status: 'ignored', ignoredBecause: expect.stringMatching(/^signed by revoker researcher but not a revocation of this root: predicateType \S+ is not a revocation record$/),
    })]);
    expect(r.reasons.filter((x) => /revocation/.test(x))).toEqual([]);
    fs.writeFileSync(file, withRevoker('someone-else@us.ibm.com'));
    const other = await checkStore(await loadTrustPolicy(file), store, KEYLESS_ROOT);
    expect(other.revocations).toEqual([expect.objectContaining({ key, status: 'ignored' })]);
    expect(other.reasons.filter((x) => /revocation/.test(x))).toEqual([]);
  });

  test('review F3: a revoker\'s public Fulcio certificate replayed on a revocation whose signature does not verify is ignored', async () => {
    const doc = JSON.parse(readVector('model-transparency', 'v1.1.0-sigstore', 'model.sig').toString('utf8'));
    doc.dsseEnvelope.payload = Buffer.from(JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'm', digest: { sha256: KEYLESS_ROOT } }],
      predicateType: 'https://modelseal.dev/revocation/v1',
      predicate: { reason: 'veto', revokedAt: '2026-01-01T00:00:00Z' },
    })).toString('base64');
    const body = Buffer.from(JSON.stringify(doc));
    const { key } = deriveKey(body);
    expect(key).toMatch(/^revocations\//);
    await store.put(key, body);
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, `${policyWith('    sigstore: { identity: stefanb@us.ibm.com, issuer: "https://sigstore.verify.ibm.com/oauth2", trustedRoot: trusted_root.json }')}revokers: [researcher]\n`);
    const r = await checkStore(await loadTrustPolicy(file), store, KEYLESS_ROOT);
    expect(r.decision).toBe('allow');
    expect(r.revocations).toEqual([expect.objectContaining({
      key, status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): Sigstore keyless bundle of no policy signer: /),
    })]);
  });

  test('policy validate: the regex must compile, exactly one identity form, an issuer, a readable trusted root', async () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, policyWith('    sigstore: { identityRegex: "(", issuer: x }'));
    expect(await validateTrustPolicyFile(file)).toEqual([{ path: '/signers/0/sigstore/identityRegex', message: expect.stringMatching(/^is not a valid regular expression: /) }]);
    fs.writeFileSync(file, policyWith('    sigstore: { identity: a, identityRegex: b, issuer: x }'));
    expect(await validateTrustPolicyFile(file)).toEqual([{ path: '/signers/0/sigstore', message: 'a sigstore identity names its OIDC issuer and exactly one of identity (exact) or identityRegex' }]);
    fs.writeFileSync(file, policyWith('    sigstore: { identity: a }'));
    expect(await validateTrustPolicyFile(file)).toEqual([{ path: '/signers/0/sigstore', message: 'missing required field \'issuer\'' }]);
    fs.writeFileSync(file, policyWith('    sigstore: { identity: a, issuer: x, trustedRoot: missing.json }'));
    expect(await validateTrustPolicyFile(file)).toEqual([{ path: '/signers/0/sigstore/trustedRoot', message: expect.stringMatching(/^cannot read Sigstore trusted root .*missing\.json/) }]);
  });
});

describe('certificate identities and the time rule in check', () => {
  let ws: Workspace;
  let ca: Issued;
  let int: Issued;
  let tsaRoot: Issued;
  beforeAll(async () => {
    ca = await rootCa('CN=Corp Root');
    int = await intermediateCa(ca, 'CN=Corp Signing');
    tsaRoot = await rootCa('CN=TSA Root');
  });
  beforeEach(async () => {
    ws = await workspace();
    writePem(ws.dir, 'corp-ca', ca);
    writePem(ws.dir, 'tsa-root', tsaRoot);
    await publish(ws, ws.ciBundle);
  });
  afterEach(() => cleanup(ws.dir));

  const LEAD = SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', 'certificate: { trustAnchor: corp-ca.pem, email: lead@example.com }');

  async function cosignAs(leaf: Issued, url?: string): Promise<void> {
    const signer = new CertificateSigner(new LocalKeySigner(leaf.privateKey), leaf.cert, [int.cert]);
    const trust = { publicKey: ws.keys.ci.publicKey };
    const result = await cosignBundle(Buffer.from(ws.ciBundle), url ? new TimestampingSigner(signer, url) : signer, { trust });
    await publish(ws, result.bundleText);
  }

  async function check(text: string) {
    return checkStore(await loadTrustPolicy(writePolicy(ws, text)), ws.store, ws.root);
  }

  test('review F3: a revoker\'s certificate replayed with a signature that does not verify is ignored; its expired but genuine record denies', async () => {
    const LEAD_REVOKES = LEAD; // SAMPLE_POLICY: revokers: [compliance], and compliance is the lead@example.com identity
    const lead = await signingLeaf(int, { sanEmail: 'lead@example.com' });
    await cosignAs(lead);
    const signer = new CertificateSigner(new LocalKeySigner(lead.privateKey), lead.cert, [int.cert]);
    const replayed = await publish(ws, tamper((await signRevocation(ws.root, signer, { reason: 'real' })).bundleText, (st) => {
      st.predicate.reason = 'replayed';
    }));
    const r = await check(LEAD_REVOKES);
    expect(r.decision).toBe('allow');
    expect(r.revocations).toEqual([expect.objectContaining({
      key: replayed, status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): signature by compliance's certificate email lead@example.com does not verify/),
    })]);
    // a record the revoker really signed, with a certificate that has since expired: a revoker signed it, it denies
    const expired = await signingLeaf(int, { sanEmail: 'lead@example.com', notBefore: daysFromNow(-10), notAfter: daysFromNow(-5) });
    const old = new CertificateSigner(new LocalKeySigner(expired.privateKey), expired.cert, [int.cert]);
    const genuine = await publish(ws, (await signRevocation(ws.root, old, { reason: 'withdrawn' })).bundleText);
    const denied = await check(LEAD_REVOKES);
    expect(denied.decision).toBe('deny');
    expect(denied.reasons).toEqual([expect.stringMatching(new RegExp(`^sha256:${ws.root} has a revocation object ${genuine} signed by revoker compliance \\(its signature verifies under the key ${keyHint(expired.cert.publicKey)}\\) that cannot be used \\(.*\\); failing closed`))]);
  });

  test('an email identity matches the parsed rfc822Name exactly', async () => {
    await cosignAs(await signingLeaf(int, { sanEmail: 'lead@example.com' }));
    expect((await check(LEAD)).decision).toBe('allow');
  });

  test('a URI SAN whose text reads like "…, email:lead@example.com" is not an email identity (no text search over the SAN dump)', async () => {
    const leaf = await signingLeaf(int, { sanEmail: undefined, sanUri: 'https://x.example/, email:lead@example.com' });
    expect(leaf.cert.subjectAltName).toContain('email:lead@example.com');
    await cosignAs(leaf);
    const r = await check(LEAD);
    expect(r.decision).toBe('deny');
    expect(r.notes.join('\n')).toMatch(/unknown certificate identity: compliance: certificate has URI "https:\/\/x\.example\/, email:lead@example\.com", not email "lead@example\.com"/);
  });

  test('an expired certificate does not count, and the note names it', async () => {
    await cosignAs(await signingLeaf(int, { sanEmail: 'lead@example.com', notBefore: daysFromNow(-10), notAfter: daysFromNow(-5) }));
    const r = await check(LEAD);
    expect(r.decision).toBe('deny');
    expect(r.notes.join('\n')).toMatch(/unknown certificate: its chain is accepted by no certificate identity in the policy: compliance: certificate "CN=Model Signer" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time; the bundle has no timestamp\): it expired on/);
  });

  test('with timestampAuthorities, a bundle timestamped while its certificate was valid counts after the certificate expired', async () => {
    const tsa = await tsaLeaf(tsaRoot);
    const server = await startTsa(pkijsResponder({ tsa, clock: () => daysFromNow(-7) }), { maxRequests: 2, maxMs: 30_000 });
    try {
      await cosignAs(await signingLeaf(int, { sanEmail: 'lead@example.com', notBefore: daysFromNow(-10), notAfter: daysFromNow(-5) }), server.url);
    } finally {
      await server.close();
    }
    const withTsa = await check(`${LEAD}timestampAuthorities: [tsa-root.pem]\n`);
    expect(withTsa.decision).toBe('allow');
    expect(withTsa.signatures.find((s) => s.signer === 'compliance')!.reason).toMatch(/^verified: signed by compliance \(certificate email lead@example\.com, timestamped \S+\); manifest sha256:[0-9a-f]{64}$/);
    const withoutTsa = await check(LEAD);
    expect(withoutTsa.decision).toBe('deny');
    expect(withoutTsa.notes.join('\n')).toMatch(/it expired on/);
    // verify policy makes the same decision (then checks the files against the chosen manifest)
    const stampedPolicy = await loadTrustPolicy(writePolicy(ws, `${LEAD}timestampAuthorities: [tsa-root.pem]\n`));
    expect(await verifyModelAgainstPolicy(ws.model, stampedPolicy, ws.store, { workers: 1 })).toMatchObject({ ok: true, root: ws.root });
    const nowPolicy = await loadTrustPolicy(writePolicy(ws, LEAD));
    expect(await verifyModelAgainstPolicy(ws.model, nowPolicy, ws.store, { workers: 1 })).toMatchObject({ ok: false, report: { decision: 'deny' } });
    const otherRoot = await rootCa('CN=Other TSA Root');
    writePem(ws.dir, 'other-tsa', otherRoot);
    const wrongTsa = await check(`${LEAD}timestampAuthorities: [other-tsa.pem]\n`);
    expect(wrongTsa.decision).toBe('deny');
    expect(wrongTsa.notes.join('\n')).toMatch(/timestamp #0 is not from a trusted timestamp authority/);
  });

  test('policy validate names an unreadable timestamp authority', async () => {
    const file = writePolicy(ws, `${SAMPLE_POLICY}timestampAuthorities: [nowhere.pem]\n`);
    expect(await validateTrustPolicyFile(file)).toEqual([{ path: '/timestampAuthorities/0', message: expect.stringMatching(/^cannot read timestamp authority certificate file .*nowhere\.pem: ENOENT$/) }]);
  });
});
