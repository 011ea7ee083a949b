import { KeyObject, sign, X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildBundle, serializeBundle } from '../../../src/runtime/engine/bundle';
import { rootDigest } from '../../../src/runtime/engine/hashing';
import { loadPublicKey } from '../../../src/runtime/engine/keys';
import { paeCompat } from '../../../src/runtime/engine/pae';
import { signModel } from '../../../src/runtime/engine/sign';
import { verifyBundle, verifyModel, VerificationTrust } from '../../../src/runtime/engine/verify';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { bundleFor, cleanup, ecKey, makeModel, statementOf, tempDir } from '../../fixtures/models';
import { makePki } from '../../fixtures/pki';
import { verificationFailure as failure } from '../../helpers/failures';
import { CA_CERT, describeVectors, readVector, SIGNING_KEY_PUB, V110_ROOT, vectorPath } from '../../helpers/vectors';

const mt = (...p: string[]) => vectorPath('model-transparency', ...p);
const spec = (...p: string[]) => vectorPath('spec', 'test-vectors', 'v1.0', ...p);


describeVectors('OMS vectors', () => {
  let key: KeyObject;
  let anchors: X509Certificate[];
  beforeAll(() => {
    key = loadPublicKey(readVector(...SIGNING_KEY_PUB), 'signing-key-pub.pem');
    anchors = [new X509Certificate(readVector(...CA_CERT))];
  });

  test('v1.1.0-elliptic-key verifies (hint, ignore_paths recorded)', async () => {
    const r = await verifyModel(mt('v1.1.0-elliptic-key'), mt('v1.1.0-elliptic-key', 'model.sig'), { publicKey: key });
    expect(r.rootDigest).toBe(V110_ROOT);
    expect(r.method).toBe('key');
    expect(r.warnings).toEqual([]);
  });

  test('v1.0.1-elliptic-key verifies (publicKey.rawBytes + keyDetails, keyid null) once ignore-me is ignored', async () => {
    const r = await verifyModel(mt('v1.0.1-elliptic-key'), mt('v1.0.1-elliptic-key', 'model.sig'), { publicKey: key },
      { ignorePaths: [mt('v1.0.1-elliptic-key', 'ignore-me')] });
    expect(r.rootDigest).toBe(V110_ROOT);
    expect(r.warnings[0]).toMatch(/older verification material format/);
  });

  test('v1.0.1-elliptic-key fails naming ignore-me when it is not ignored (the payload records no ignore_paths)', async () => {
    expect(await failure(verifyModel(mt('v1.0.1-elliptic-key'), mt('v1.0.1-elliptic-key', 'model.sig'), { publicKey: key }))).toBe(
      `${mt('v1.0.1-elliptic-key')} does not match the signature: 1 file(s) the signature does not cover: ignore-me (ignore them with --ignore-paths or accept them with --ignore-unsigned-files)`);
    await expect(verifyModel(mt('v1.0.1-elliptic-key'), mt('v1.0.1-elliptic-key', 'model.sig'), { publicKey: key },
      { ignoreUnsignedFiles: true })).resolves.toMatchObject({ unsignedFiles: ['ignore-me'] });
  });

  test('v1.0.0-elliptic-key verifies with MODEL_PATH = the file (resource ".")', async () => {
    const r = await verifyModel(mt('v1.0.0-elliptic-key', 'signme-1'), mt('v1.0.0-elliptic-key', 'model.sig'), { publicKey: key });
    expect(r.statement.manifest.resources.map((x) => x.name)).toEqual(['.']);
    expect(r.rootDigest).toBe('afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b');
  });

  test('v1.1.0-certificate verifies against ca-cert.pem', async () => {
    const r = await verifyModel(mt('v1.1.0-certificate'), mt('v1.1.0-certificate', 'model.sig'), { trustAnchors: anchors });
    expect(r.method).toBe('certificate');
    expect(r.certificateSubject).toBe('CN=intermediate-ca');
    expect(r.rootDigest).toBe('61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
  });

  test('v1.1.0-certificate fails against an unrelated anchor', async () => {
    const dir = tempDir();
    try {
      const pki = makePki(dir);
      const other = [new X509Certificate(fs.readFileSync(pki.rootCert))];
      expect(await failure(verifyModel(mt('v1.1.0-certificate'), mt('v1.1.0-certificate', 'model.sig'), { trustAnchors: other })))
        .toMatch(/^certificate chain of "CN=intermediate-ca" \(serial [0-9A-F]+\) does not lead to a trust anchor/);
    } finally {
      cleanup(dir);
    }
  });

  // The spec's model is the elliptic-key folder, whose own model.sig is not in the spec bundles' ignore_paths.
  const specModel = { ignorePaths: [mt('v1.1.0-elliptic-key', 'model.sig')] };

  test('spec valid/key.bundle.json verifies', async () => {
    const r = await verifyModel(mt('v1.1.0-elliptic-key'), spec('valid', 'key.bundle.json'), { publicKey: key }, specModel);
    expect(r.rootDigest).toBe(V110_ROOT);
  });

  test('spec valid/certificate.bundle.json verifies', async () => {
    const r = await verifyModel(mt('v1.1.0-elliptic-key'), spec('valid', 'certificate.bundle.json'), { trustAnchors: anchors }, specModel);
    expect(r.rootDigest).toBe(V110_ROOT);
  });

  test('spec valid/sigstore.bundle.json given a public key fails, saying how keyless bundles are verified', async () => {
    const msg = await failure(verifyModel(mt('v1.1.0-certificate'), spec('valid', 'sigstore.bundle.json'), { publicKey: key }));
    expect(msg).toContain('is a Sigstore keyless bundle (Fulcio certificate, 1 Rekor entry); verify it with `verify sigstore --identity ID --identity-provider ISSUER`');
  });

  test('v0.2.0-certificate (P-384 leaf, legacy PAE hashed with SHA-256) verifies with the legacy warnings', async () => {
    const r = await verifyModel(mt('v0.2.0-certificate'), mt('v0.2.0-certificate', 'model.sig'), { trustAnchors: anchors });
    expect(r.curve).toBe('P-384');
    expect(r.statement.legacy).toBe(true);
    expect(r.warnings).toEqual([
      `${mt('v0.2.0-certificate', 'model.sig')} was signed by model_signing v0.2 (legacy PAE encoding and SHA-256 with its P-384 key); re-sign it`,
      `${mt('v0.2.0-certificate', 'model.sig')} uses the legacy predicate https://model_signing/Digests/v0.1; re-sign it to get a root digest`,
    ]);
  });

  test('the SHA-256-on-P-384 exception is for legacy statements only', async () => {
    const k384 = ecKey('P-384');
    const dir = tempDir();
    try {
      const m = makeModel(dir);
      const current = (await signModel(m, new LocalKeySigner(k384.privateKey))).bundle;
      const payload = Buffer.from(current.dsseEnvelope.payload, 'base64');
      const sha256Sig = sign('sha256', paeCompat('application/vnd.in-toto+json', payload), { key: k384.privateKey, dsaEncoding: 'der' });
      const file = path.join(dir, 'model.sig');
      fs.writeFileSync(file, serializeBundle(buildBundle(await new LocalKeySigner(k384.privateKey).verificationMaterial(), payload, sha256Sig)));
      expect(await failure(verifyModel(m, file, { publicKey: k384.publicKey }))).toMatch(/does not verify with the P-384 key/);
    } finally {
      cleanup(dir);
    }
  });

  test.each([
    ['invalid/empty.bundle.json', 'is empty; expected a Sigstore bundle v0.3 JSON document'],
    ['invalid/missing-envelope.bundle.json', 'has no dsseEnvelope; OMS bundles carry the signed statement in a DSSE envelope'],
    ['invalid/missing-tlog-entries.bundle.json', 'is a Sigstore keyless bundle (verificationMaterial.certificate) with no tlogEntries; keyless bundles need at least one transparency log entry'],
    ['invalid/missing-verification-material.bundle.json', 'has no verificationMaterial; expected publicKey, x509CertificateChain or certificate'],
  ])('spec %s is rejected', async (file, message) => {
    expect(await failure(verifyModel(mt('v1.1.0-elliptic-key'), spec(...file.split('/')), { publicKey: key }, specModel)))
      .toBe(`${spec(...file.split('/'))} ${message}`);
  });

  test('spec invalid-payload/wrong-predicate.bundle.json is rejected for its predicate type', async () => {
    expect(await failure(verifyModel(mt('v1.1.0-elliptic-key'), spec('invalid-payload', 'wrong-predicate.bundle.json'), { publicKey: key }, specModel)))
      .toBe('statement predicateType is "https://example.com/wrong-predicate/v1.0"; expected "https://model_signing/signature/v1.0" (or the legacy "https://model_signing/Digests/v0.1")');
  });

  test('a key bundle fails with certificate trust and vice versa', async () => {
    expect(await failure(verifyModel(mt('v1.1.0-elliptic-key'), mt('v1.1.0-elliptic-key', 'model.sig'), { trustAnchors: anchors })))
      .toMatch(/is signed with a bare key \(verificationMaterial\.publicKey\), not a certificate/);
    expect(await failure(verifyModel(mt('v1.1.0-certificate'), mt('v1.1.0-certificate', 'model.sig'), { publicKey: key })))
      .toMatch(/is signed with a certificate chain \(x509CertificateChain\), not a bare key/);
  });
});

describe('verification failures', () => {
  let dir: string;
  let model: string;
  const k = ecKey('P-256');
  const trust: VerificationTrust = { publicKey: k.publicKey };
  let sig: string;
  let signedText: string;

  beforeEach(async () => {
    dir = tempDir();
    model = makeModel(dir);
    sig = path.join(dir, 'model.sig');
    signedText = (await signModel(model, new LocalKeySigner(k.privateKey), { signaturePath: sig })).bundleText;
  });
  afterEach(() => cleanup(dir));

  /** Re-signs a modified statement (so the failure comes from the check under test, not the signature). */
  async function resign(edit: (s: Record<string, any>) => void): Promise<string> {
    const s = statementOf(JSON.parse(signedText));
    edit(s);
    const file = path.join(dir, 'edited.sig');
    fs.writeFileSync(file, serializeBundle(await bundleFor(s, k.privateKey)));
    return file;
  }

  test('fails naming the file when one byte of a model file flips', async () => {
    const f = path.join(model, 'sub', 'tokenizer.json');
    const b = fs.readFileSync(f);
    b[3] ^= 1;
    fs.writeFileSync(f, b);
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/^\S+ does not match the signature: 1 changed file\(s\): sub\/tokenizer\.json \(signed sha256:[0-9a-f]{64}, on disk sha256:[0-9a-f]{64}\)$/);
  });

  test('reports the first mismatch in payload order, not sorted order', async () => {
    const file = await resign((s) => {
      s.predicate.resources.reverse();
      s.subject[0].digest.sha256 = rootDigest(s.predicate.resources);
    });
    fs.appendFileSync(path.join(model, 'config.json'), 'x');
    fs.appendFileSync(path.join(model, 'weights.bin'), 'x');
    expect(await failure(verifyModel(model, file, trust))).toMatch(/does not match the signature: 2 changed file\(s\): weights\.bin \(signed sha256:[0-9a-f]{64}, on disk sha256:[0-9a-f]{64}\), config\.json \(signed/);
  });

  test('the root digest depends on payload order: reordering without re-signing the subject fails', async () => {
    const file = await resign((s) => s.predicate.resources.reverse());
    expect(await failure(verifyModel(model, file, trust))).toMatch(/^root digest mismatch/);
  });

  test('payload order is honoured: a reordered, re-signed payload still verifies', async () => {
    const file = await resign((s) => {
      s.predicate.resources.reverse();
      s.subject[0].digest.sha256 = rootDigest(s.predicate.resources);
    });
    await expect(verifyModel(model, file, trust)).resolves.toMatchObject({ resourceCount: 3 });
  });

  test('fails naming a missing file', async () => {
    fs.rmSync(path.join(model, 'config.json'));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/config\.json/);
  });

  test('fails on an extra file unless ignored or --ignore-unsigned-files', async () => {
    fs.writeFileSync(path.join(model, 'extra.txt'), 'x');
    expect(await failure(verifyModel(model, sig, trust))).toBe(
      `${model} does not match the signature: 1 file(s) the signature does not cover: extra.txt (ignore them with --ignore-paths or accept them with --ignore-unsigned-files)`);
    await expect(verifyModel(model, sig, trust, { ignorePaths: [path.join(model, 'extra.txt')] })).resolves.toMatchObject({ unsignedFiles: [] });
    await expect(verifyModel(model, sig, trust, { ignoreUnsignedFiles: true })).resolves.toMatchObject({ unsignedFiles: ['extra.txt'] });
  });

  test('honours ignore_paths recorded in the payload', async () => {
    const file = await resign((s) => s.predicate.serialization.ignore_paths.push('notes.md'));
    fs.writeFileSync(path.join(model, 'notes.md'), 'not signed');
    await expect(verifyModel(model, file, trust)).resolves.toMatchObject({ unsignedFiles: [] });
  });

  test('fails when the subject digest does not match the resources', async () => {
    const file = await resign((s) => {
      s.subject[0].digest.sha256 = '00'.repeat(32);
    });
    expect(await failure(verifyModel(model, file, trust))).toMatch(
      /^root digest mismatch in .*edited\.sig: the subject says sha256:0{64} but the listed resources hash to sha256:[0-9a-f]{64}$/);
  });

  test('fails when the statement was altered after signing', async () => {
    const b = JSON.parse(signedText);
    const s = statementOf(b);
    s.predicate.resources[0].digest = 'ff'.repeat(32);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(s, null, 2)).toString('base64');
    fs.writeFileSync(sig, JSON.stringify(b));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(
      /^signature in .*model\.sig does not verify with the P-256 key [0-9a-f]{64}: the statement or signature was altered, or another key signed it$/);
  });

  test('fails with the wrong key of the same curve', async () => {
    const other = ecKey('P-256');
    expect(await failure(verifyModel(model, sig, { publicKey: other.publicKey }))).toMatch(
      /^key mismatch: .* was signed by the key with hint [0-9a-f]{64}, but the P-256 public key given has hint [0-9a-f]{64}; verify with the public key that signed it$/);
  });

  test('fails with a key of another curve', async () => {
    const other = ecKey('P-384');
    expect(await failure(verifyModel(model, sig, { publicKey: other.publicKey }))).toMatch(/but the P-384 public key given has hint/);
  });

  test('fails with the wrong key when the bundle records no hint (signature check)', async () => {
    const b = JSON.parse(signedText);
    b.verificationMaterial.publicKey = { rawBytes: Buffer.from(k.pubPem).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
    fs.writeFileSync(sig, JSON.stringify(b));
    await expect(verifyModel(model, sig, trust)).resolves.toBeDefined();
    const other = ecKey('P-384');
    expect(await failure(verifyModel(model, sig, { publicKey: other.publicKey }))).toMatch(
      /^key mismatch: .* embeds a P-256 public key \(publicKey\.rawBytes\) that is not the P-384 public key given$/);
  });

  test('fails when keyDetails names another curve', async () => {
    const b = JSON.parse(signedText);
    b.verificationMaterial.publicKey = { rawBytes: Buffer.from(k.pubPem).toString('base64'), keyDetails: 'PKIX_ECDSA_P384_SHA_384' };
    fs.writeFileSync(sig, JSON.stringify(b));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/declares keyDetails PKIX_ECDSA_P384_SHA_384 but the public key given is on P-256$/);
  });

  test('fails on a non-DER signature', async () => {
    const b = JSON.parse(signedText);
    const der = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
    b.dsseEnvelope.signatures[0].sig = Buffer.concat([der, Buffer.from([0, 0])]).toString('base64');
    fs.writeFileSync(sig, JSON.stringify(b));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/model\.sig: signature is not a DER-encoded ECDSA signature: the SEQUENCE length (\d+) does not match the \d+ bytes that follow/);
  });

  test.each([
    ['wrong _type', (s: any) => { s._type = 'x'; }, 'statement _type is "x"; expected "https://in-toto.io/Statement/v1"'],
    ['no subject', (s: any) => { s.subject = []; }, 'statement has no subject; expected exactly one subject naming the model and its root digest'],
    ['empty resources', (s: any) => { s.predicate.resources = []; }, 'predicate.resources is empty; a signature must cover at least one file'],
    ['duplicate names', (s: any) => { s.predicate.resources[1].name = s.predicate.resources[0].name; }, 'resource name "config.json" appears twice; each file or shard must be listed once'],
    ['a ".." name', (s: any) => { s.predicate.resources[0].name = '../x'; }, 'resource name "../x" contains ".."; expected a relative POSIX path inside the model'],
    ['an absolute name', (s: any) => { s.predicate.resources[0].name = '/etc/passwd'; }, 'resource name "/etc/passwd" is absolute; expected a relative POSIX path inside the model'],
  ])('fails on a signed statement with %s', async (_what, edit, message) => {
    expect(await failure(verifyModel(model, await resign(edit), trust))).toBe(message);
  });

  test('fails when the bundle is over the size limit; --max-bundle-size raises it', async () => {
    const size = fs.statSync(sig).size;
    expect(await failure(verifyModel(model, sig, trust, { maxBundleBytes: 100 }))).toBe(
      `signature ${sig} is ${size} bytes, over the 100-byte bundle size limit; raise it with --max-bundle-size if this bundle is expected`);
    await expect(verifyModel(model, sig, trust, { maxBundleBytes: size })).resolves.toBeDefined();
  });

  test('fails on a truncated or corrupted bundle', async () => {
    fs.writeFileSync(sig, signedText.slice(0, 100));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/model\.sig is not valid JSON \(Unterminated string/);
  });

  test('legacy Digests/v0.1 statements verify (files as subjects)', async () => {
    const s = statementOf(JSON.parse(signedText));
    const legacy = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: s.predicate.resources.map((r: any) => ({ name: r.name, digest: { sha256: r.digest } })),
      predicateType: 'https://model_signing/Digests/v0.1',
      predicate: { unused: 'Unused, just passed due to API requirements' },
    };
    fs.writeFileSync(sig, serializeBundle(await bundleFor(legacy, k.privateKey)));
    const r = await verifyModel(model, sig, trust);
    expect(r.statement.legacy).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/legacy predicate/);
  });

  test('legacy statements signed with the v0.2 PAE encoding verify; v1.0 statements signed that way do not', async () => {
    const s = statementOf(JSON.parse(signedText));
    const legacy = Buffer.from(JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: s.predicate.resources.map((r: any) => ({ name: r.name, digest: { sha256: r.digest } })),
      predicateType: 'https://model_signing/Digests/v0.1',
      predicate: { unused: 'x' },
    }, null, 2));
    const material = await new LocalKeySigner(k.privateKey).verificationMaterial();
    const compatSig = (p: Buffer) => sign('sha256', paeCompat('application/vnd.in-toto+json', p), { key: k.privateKey, dsaEncoding: 'der' });
    fs.writeFileSync(sig, serializeBundle(buildBundle(material, legacy, compatSig(legacy))));
    await expect(verifyModel(model, sig, trust)).resolves.toMatchObject({ warnings: expect.arrayContaining([expect.stringMatching(/legacy PAE/)]) });
    const current = Buffer.from(JSON.stringify(s, null, 2));
    fs.writeFileSync(sig, serializeBundle(buildBundle(material, current, compatSig(current))));
    expect(await failure(verifyModel(model, sig, trust))).toMatch(/does not verify with the P-256 key/);
  });

  test('verifyBundle needs exactly one kind of trust', async () => {
    await expect(verifyBundle(Buffer.from(signedText), {})).rejects.toThrow('verification needs exactly one of a public key, certificate trust anchors or a Sigstore identity');
  });
});
