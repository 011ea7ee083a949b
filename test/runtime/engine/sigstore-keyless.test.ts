/**
 * Sigstore keyless bundles verified offline: the spec's keyless vector and the reference's four keyless releases,
 * against ../shared/vectors/sigstore/trusted_root.json and the copy shipped in the package.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  readTrustedRoot, shippedTrustedRoot, SHIPPED_TRUSTED_ROOT_DATE, SHIPPED_TRUSTED_ROOT_SHA256, SigstoreTrust, SigstoreTrustedRoot,
  trustedRootAgeWarning,
} from '../../../src/runtime/engine/sigstore-keyless';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { anchoredRegExp, matchesIdentity } from '../../../src/runtime/engine/x509-identity';
import { cleanup, tempDir } from '../../fixtures/models';
import { verificationFailure as failure } from '../../helpers/failures';
import { describeVectors, vectorPath } from '../../helpers/vectors';

const IDENTITY = 'stefanb@us.ibm.com';
const ISSUER = 'https://sigstore.verify.ibm.com/oauth2';
const ROOT_DIGEST = '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';
const SHARED_ROOT = path.join(vectorPath(), '..', 'sigstore', 'trusted_root.json');
const mt = (...p: string[]) => vectorPath('model-transparency', ...p);

/** The five keyless vectors: the bundle, the model it signs, and the paths the reference's tests ignore. */
const VECTORS: readonly [string, string, string, string[], string][] = [
  ['spec valid/sigstore.bundle.json', vectorPath('spec', 'test-vectors', 'v1.0', 'valid', 'sigstore.bundle.json'), mt('v1.1.0-sigstore'), [], '2025-10-10T02:12:20.000Z'],
  ['v0.3.1-sigstore', mt('v0.3.1-sigstore', 'model.sig'), mt('v0.3.1-sigstore'), [], '2025-05-03T01:10:02.000Z'],
  ['v1.0.0-sigstore', mt('v1.0.0-sigstore', 'model.sig'), mt('v1.0.0-sigstore'), [], '2025-05-03T01:34:46.000Z'],
  ['v1.0.1-sigstore', mt('v1.0.1-sigstore', 'model.sig'), mt('v1.0.1-sigstore'), [mt('v1.0.1-sigstore', 'ignore-me')], '2025-10-07T15:33:48.000Z'],
  ['v1.1.0-sigstore', mt('v1.1.0-sigstore', 'model.sig'), mt('v1.1.0-sigstore'), [], '2025-10-10T02:12:20.000Z'],
];


describeVectors('Sigstore keyless, offline', () => {
  let root: SigstoreTrustedRoot;
  let trust: SigstoreTrust;
  let dir: string;
  beforeAll(async () => {
    root = await readTrustedRoot(SHARED_ROOT);
    trust = { trustedRoot: root, identity: { exact: IDENTITY }, issuer: ISSUER };
  });
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => cleanup(dir));

  test.each(VECTORS)('%s verifies: Fulcio chain, SCT, Rekor entry (and RFC 3161 timestamp), identity, issuer, files', async (_name, sig, model, ignorePaths, integrated) => {
    const r = await verifyModel(model, sig, { sigstore: trust }, { ignorePaths });
    expect(r.method).toBe('sigstore');
    expect(r.rootDigest).toBe(ROOT_DIGEST);
    expect(r.sigstoreIdentity).toEqual({ subjectAltNames: [IDENTITY], issuer: ISSUER });
    expect(r.signedAt.map((d) => d.toISOString())).toEqual([integrated]);
    expect(r.checkedAt.source).toBe('transparency log');
  });

  test('the shipped trusted root is the shared one, byte for byte, and verifies the vectors', async () => {
    expect(createHash('sha256').update(fs.readFileSync(SHARED_ROOT)).digest('hex')).toBe(SHIPPED_TRUSTED_ROOT_SHA256);
    const shippedFile = path.join(__dirname, '..', '..', '..', 'src', 'runtime', 'engine', 'sigstore', 'trusted_root.json');
    expect(fs.readFileSync(shippedFile).equals(fs.readFileSync(SHARED_ROOT))).toBe(true);
    const shipped = shippedTrustedRoot();
    expect(shipped.shipped).toBe(true);
    expect(shipped.newestKeyStart?.toISOString()).toBe('2025-09-23T00:00:00.000Z');
    await expect(verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, trustedRoot: shipped } }))
      .resolves.toMatchObject({ method: 'sigstore' });
  });

  test('a wrong identity fails, naming the certificate\'s identity', async () => {
    expect(await failure(verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, identity: { exact: 'someone@example.com' } } })))
      .toBe(`${mt('v1.1.0-sigstore', 'model.sig')} is signed by another identity: the certificate names email "${IDENTITY}", not "someone@example.com"`);
  });

  test('identity matching is exact: a prefix, another case or an unescaped pattern does not match', async () => {
    for (const exact of ['stefanb', 'STEFANB@us.ibm.com', 'stefanb@us.ibm.com ']) {
      await expect(verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, identity: { exact } } }))
        .rejects.toThrow(/is signed by another identity/);
    }
  });

  test('an identity regex must match a whole subject alternative name (anchored, unlike sigstore-js\' own policy)', async () => {
    const verify = (regex: string) => verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, identity: { regex } } });
    await expect(verify('.*@us\\.ibm\\.com')).resolves.toMatchObject({ method: 'sigstore' });
    expect(await failure(verify('stefa'))).toMatch(/not \/stefa\/ \(matching a whole value\)$/);
    expect(await failure(verify('ibm\\.com'))).toMatch(/is signed by another identity/);
    expect(matchesIdentity('stefanb@us.ibm.com', { regex: 'a|stefanb@us\\.ibm\\.com' })).toBe(true);
    expect(anchoredRegExp('a|b').test('ab')).toBe(false);
  });

  test('a wrong issuer fails, naming the certificate\'s issuer', async () => {
    expect(await failure(verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, issuer: 'https://accounts.google.com' } })))
      .toBe(`${mt('v1.1.0-sigstore', 'model.sig')} is signed through another identity provider: the certificate's OIDC issuer is "${ISSUER}", not "https://accounts.google.com"`);
  });

  test('a trusted root without the bundle\'s Rekor log key fails with the reason', async () => {
    const json = JSON.parse(fs.readFileSync(SHARED_ROOT, 'utf8'));
    json.tlogs = json.tlogs.filter((t: { baseUrl: string }) => t.baseUrl !== 'https://rekor.sigstore.dev');
    const file = path.join(dir, 'no-rekor.json');
    fs.writeFileSync(file, JSON.stringify(json));
    const noLog = await readTrustedRoot(file);
    expect(await failure(verifyModel(mt('v1.1.0-sigstore'), mt('v1.1.0-sigstore', 'model.sig'), { sigstore: { ...trust, trustedRoot: noLog } })))
      .toMatch(new RegExp(`does not verify with the Sigstore trusted root ${file.replace(/[.]/g, '\\.')}: TLOG_INCLUSION_PROMISE_ERROR inclusion promise could not be verified: the Rekor entry's inclusion promise does not verify with the log keys of the trusted root`));
  });

  test('a trusted root without the Fulcio CAs fails with the reason', async () => {
    const json = JSON.parse(fs.readFileSync(SHARED_ROOT, 'utf8'));
    json.certificateAuthorities = [];
    const file = path.join(dir, 'no-fulcio.json');
    fs.writeFileSync(file, JSON.stringify(json));
    expect(await failure(verifyModel(mt('v1.0.0-sigstore'), mt('v1.0.0-sigstore', 'model.sig'), { sigstore: { ...trust, trustedRoot: await readTrustedRoot(file) } })))
      .toMatch(/CERTIFICATE_ERROR .*the Fulcio certificate does not verify with the trusted root/);
  });

  test('one flipped byte in a model file fails, naming the file', async () => {
    const copy = path.join(dir, 'v1.1.0-sigstore');
    fs.cpSync(mt('v1.1.0-sigstore'), copy, { recursive: true });
    const f = path.join(copy, 'signme-1');
    const b = fs.readFileSync(f);
    b[0] ^= 1;
    fs.writeFileSync(f, b);
    expect(await failure(verifyModel(copy, path.join(copy, 'model.sig'), { sigstore: trust })))
      .toMatch(/ does not match the signature: 1 changed file\(s\): signme-1 \(signed sha256:[0-9a-f]{64}, on disk sha256:[0-9a-f]{64}\)$/);
  });

  test('an altered statement fails in the Sigstore layer (the Rekor entry records the original)', async () => {
    const b = JSON.parse(fs.readFileSync(mt('v1.1.0-sigstore', 'model.sig'), 'utf8'));
    const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    st.predicate.resources[0].digest = '00'.repeat(32);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    const file = path.join(dir, 'tampered.sig');
    fs.writeFileSync(file, JSON.stringify(b));
    expect(await failure(verifyModel(mt('v1.1.0-sigstore'), file, { sigstore: trust }))).toMatch(/TLOG_BODY_ERROR .*the bundle was altered/);
  });

  test('without ignoring ignore-me, v1.0.1 fails on the unsigned file (that release recorded no ignore_paths)', async () => {
    expect(await failure(verifyModel(mt('v1.0.1-sigstore'), mt('v1.0.1-sigstore', 'model.sig'), { sigstore: trust })))
      .toMatch(/ does not match the signature: 1 file\(s\) the signature does not cover: ignore-me /);
  });

  test('a key bundle given Sigstore trust is refused', async () => {
    expect(await failure(verifyModel(mt('v1.1.0-elliptic-key'), mt('v1.1.0-elliptic-key', 'model.sig'), { sigstore: trust })))
      .toMatch(/is not a Sigstore keyless bundle \(its verification material is publicKey\); verify it with `verify key`/);
  });
});

describe('trusted roots', () => {
  test('the shipped root warns once it is older than the set age, and says where it came from', () => {
    const shipped = shippedTrustedRoot();
    const day = 86_400_000;
    expect(trustedRootAgeWarning(shipped, new Date(SHIPPED_TRUSTED_ROOT_DATE.getTime() + 180 * day))).toBeUndefined();
    expect(trustedRootAgeWarning(shipped, new Date(SHIPPED_TRUSTED_ROOT_DATE.getTime() + 200 * day))).toBe(
      'the Sigstore trusted root in use is the Sigstore public-good trusted root from the @sigstore/tuf 5.0.1 seed (npm, published 2026-11-05), ' +
      '200 days old (over 180); keys rotate and new log shards appear, so bundles made since may not verify with it: pass a current root with ' +
      '--trusted-root FILE (for example the trusted_root.json that `cosign initialize` or sigstore-js fetch from the Sigstore TUF repository)');
    expect(trustedRootAgeWarning(shipped, new Date(SHIPPED_TRUSTED_ROOT_DATE.getTime() + 40 * day), 30)).toMatch(/40 days old \(over 30\)/);
  });

  test('a root file that is not a trusted root is a usage error', async () => {
    const dir = tempDir();
    try {
      fs.writeFileSync(path.join(dir, 'x.json'), '{"mediaType": "application/json"}');
      await expect(readTrustedRoot(path.join(dir, 'x.json'))).rejects.toThrow(
        /is not a trusted root: mediaType is "application\/json"; expected "application\/vnd\.dev\.sigstore\.trustedroot\+json;version=0\.1"/);
      fs.writeFileSync(path.join(dir, 'y.json'), '{');
      await expect(readTrustedRoot(path.join(dir, 'y.json'))).rejects.toThrow(/is not valid JSON/);
      await expect(readTrustedRoot(path.join(dir, 'none.json'))).rejects.toThrow(/cannot read Sigstore trusted root/);
    } finally {
      cleanup(dir);
    }
  });
});
