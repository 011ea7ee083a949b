/**
 * RFC 3161 timestamps end to end against real TSAs on loopback (pkijs and `openssl ts -reply`), the time rule of the
 * verifier, and @sigstore/verify as an independent verifier of ModelSeal's timestamped bundles.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { UsageError } from '../../../src/runtime/codec/errors';
import { parseBundle } from '../../../src/runtime/engine/bundle';
import { signModel } from '../../../src/runtime/engine/sign';
import { verifyTimestamp } from '../../../src/runtime/engine/timestamp';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { requestTimestamp, TimestampingSigner } from '../../../src/runtime/signers/tsa-client';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { daysFromNow, intermediateCa, Issued, rootCa, signingLeaf, tsaLeaf } from '../../fixtures/x509';
import { verificationFailure as failure } from '../../helpers/failures';
import { LocalTsa, opensslResponder, pkijsResponder, startTsa, timestampRequest } from '../../helpers/tsa';
import { describeVectors, readVector } from '../../helpers/vectors';


let dir: string;
let model: string;
let ca: Issued;
let int: Issued;
let tsaRoot: Issued;
let tsa: Issued;
const tsas: LocalTsa[] = [];

beforeAll(async () => {
  ca = await rootCa('CN=Signing Root');
  int = await intermediateCa(ca, 'CN=Signing Intermediate');
  tsaRoot = await rootCa('CN=TSA Root');
  tsa = await tsaLeaf(tsaRoot);
});
beforeEach(() => {
  dir = tempDir();
  model = makeModel(dir);
});
afterEach(() => cleanup(dir));
afterAll(async () => {
  await Promise.all(tsas.map((t) => t.close()));
});

async function localTsa(...args: Parameters<typeof pkijsResponder>): Promise<LocalTsa> {
  const t = await startTsa(pkijsResponder(...args), { maxRequests: 10, maxMs: 60_000 });
  tsas.push(t);
  return t;
}

/** Signs the model as `leaf` (no sign-time certificate check: tests need bundles verifiers refuse) with a TSA. */
async function signStamped(leaf: Issued, url: string | undefined, file = path.join(dir, 'model.sig')): Promise<string> {
  const certSigner = new CertificateSigner(new LocalKeySigner(leaf.privateKey), leaf.cert, [int.cert]);
  await signModel(model, url ? new TimestampingSigner(certSigner, url) : certSigner, { signaturePath: file });
  return file;
}

/** Replaces a bundle's timestamps (tokens made outside the client's checks). */
function withTimestamps(file: string, tokens: Buffer[]): void {
  const b = JSON.parse(fs.readFileSync(file, 'utf8'));
  b.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: tokens.map((t) => ({ signedTimestamp: t.toString('base64') })) };
  fs.writeFileSync(file, JSON.stringify(b));
}

const signatureOf = (file: string) => parseBundle(fs.readFileSync(file), file).signature;

describe('timestamping at sign time (sign --timestamp-url)', () => {
  test('the bundle carries the TSA\'s answer in timestampVerificationData, and verifies with the TSA root', async () => {
    const t = await localTsa({ tsa, chain: [tsaRoot] });
    const file = await signStamped(await signingLeaf(int), t.url);
    const b = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(b.verificationMaterial)).toEqual(['x509CertificateChain', 'tlogEntries', 'timestampVerificationData']);
    expect(b.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    const r = await verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] });
    expect(r.signedAt).toHaveLength(1);
    expect(Math.abs(r.signedAt[0].getTime() - Date.now())).toBeLessThan(60_000);
    expect(r.checkedAt).toEqual({ times: r.signedAt, source: 'rfc3161' });
    expect(t.served()).toBe(1);
  });

  test('the imprint is SHA-256 over the raw DSSE signature bytes, not their base64 text', async () => {
    const t = await localTsa({ tsa });
    const file = await signStamped(await signingLeaf(int), t.url);
    const sig = signatureOf(file);
    const token = parseBundle(fs.readFileSync(file), file).timestamps[0];
    await expect(verifyTimestamp(token, sig, [tsaRoot.cert], 'ts')).resolves.toMatchObject({ policy: '1.3.6.1.4.1.99999.3161.1' });
    expect(await failure(verifyTimestamp(token, Buffer.from(sig.toString('base64')), [tsaRoot.cert], 'ts')))
      .toBe('ts is over other bytes: its message imprint is not the SHA256 of this bundle\'s DSSE signature');
  });

  test('an RFC 3161 token from openssl ts -reply verifies too, and openssl ts -verify accepts the token ModelSeal put in the bundle', async () => {
    const openssl = opensslResponder(tsa, [tsaRoot]);
    try {
      const t = await startTsa(openssl.respond, { maxRequests: 2, maxMs: 60_000 });
      tsas.push(t);
      const file = await signStamped(await signingLeaf(int), t.url);
      await expect(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] }))
        .resolves.toMatchObject({ checkedAt: { source: 'rfc3161' } });
      fs.writeFileSync(path.join(dir, 'sig.bin'), signatureOf(file));
      fs.writeFileSync(path.join(dir, 'resp.tsr'), parseBundle(fs.readFileSync(file), file).timestamps[0]);
      fs.writeFileSync(path.join(dir, 'root.pem'), tsaRoot.pem);
      const out = execFileSync('openssl', ['ts', '-verify', '-data', 'sig.bin', '-in', 'resp.tsr', '-CAfile', 'root.pem'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      expect(out).toMatch(/Verification: OK/);
    } finally {
      openssl.cleanup();
    }
  });

  test.each([
    ['answers HTTP 500', { failWith: { status: 500, body: 'TSA down' } }, /^timestamp authority http:\/\/127\.0\.0\.1:\d+\/: answered HTTP 500 \(TSA down\); no bundle was written$/],
    ['answers over other bytes', { imprint: (b: Buffer) => Buffer.alloc(b.length, 1) }, /the response timestamps another message imprint than the one requested; no bundle was written$/],
    ['does not echo the nonce', { nonce: () => Buffer.from('0102', 'hex') }, /the response does not echo the request's nonce/],
  ])('a TSA that %s fails the signing and writes nothing', async (_what, opts, message) => {
    const { failWith, ...responder } = opts as { failWith?: { status: number; body: string } };
    const t = await startTsa(pkijsResponder({ tsa, ...responder }), { maxRequests: 2, maxMs: 30_000, ...(failWith ? { failWith } : {}) });
    tsas.push(t);
    const file = path.join(dir, 'model.sig');
    const err = await signStamped(await signingLeaf(int), t.url, file).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).toMatch(message);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('an unreachable TSA fails the signing, naming it', async () => {
    const t = await localTsa({ tsa });
    await t.close();
    const err = await signStamped(await signingLeaf(int), t.url).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`^timestamp authority ${t.url.replace(/[.]/g, '\\.')}: request failed: .*; no bundle was written$`));
  });

  test('a TSA that must chain to a given root: an answer from another TSA fails the signing', async () => {
    const t = await localTsa({ tsa });
    const otherRoot = await rootCa('CN=Other TSA Root');
    await expect(requestTimestamp(t.url, Buffer.from('sig'), { trustedAuthorities: [otherRoot.cert] }))
      .rejects.toThrow(/is not from a trusted timestamp authority: certificate chain of "CN=Test TSA" .* does not lead to a trust anchor/);
    await expect(requestTimestamp(t.url, Buffer.from('sig'), { trustedAuthorities: [tsaRoot.cert] })).resolves.toBeInstanceOf(Buffer);
  });

  test('--timestamp-url must be http(s)', async () => {
    await expect(requestTimestamp('ftp://tsa.example/', Buffer.from('x'))).rejects.toThrow(/uses ftp:; an RFC 3161 timestamp authority is reached over http: or https:/);
    await expect(requestTimestamp('not a url', Buffer.from('x'))).rejects.toThrow(/is not a URL/);
  });
});

describe('the time rule: certificates are checked now, or at a trusted timestamp\'s time', () => {
  let expiredLeaf: Issued;
  beforeAll(async () => {
    // valid from 10 to 5 days ago: signed (and timestamped) 7 days ago
    expiredLeaf = await signingLeaf(int, { subject: 'CN=Short Lived', notBefore: daysFromNow(-10), notAfter: daysFromNow(-5) });
  });

  test('a timestamped bundle verifies after its certificate expired', async () => {
    const t = await localTsa({ tsa, clock: () => daysFromNow(-7) });
    const file = await signStamped(expiredLeaf, t.url);
    const r = await verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] });
    expect(r.method).toBe('certificate');
    expect(r.checkedAt.source).toBe('rfc3161');
    expect(Math.abs(r.checkedAt.times[0].getTime() - daysFromNow(-7).getTime())).toBeLessThan(60_000);
  });

  test('without a trusted TSA the same bundle is checked now and refused, naming the certificate', async () => {
    const t = await localTsa({ tsa, clock: () => daysFromNow(-7) });
    const file = await signStamped(expiredLeaf, t.url);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert] }))).toMatch(
      /^certificate "CN=Short Lived" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time; the bundle's timestamps are not verified without a trusted timestamp authority\): it expired on/);
  });

  test('an expired certificate without any timestamp is refused (the check time is now)', async () => {
    const file = await signStamped(expiredLeaf, undefined);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] })))
      .toMatch(/"CN=Short Lived" .* is not valid at \S+ \(the current time; the bundle has no timestamp\): it expired on/);
  });

  test('a timestamp from an untrusted TSA is refused', async () => {
    const rogueRoot = await rootCa('CN=Rogue TSA Root');
    const rogue = await tsaLeaf(rogueRoot, { subject: 'CN=Rogue TSA' });
    const t = await localTsa({ tsa: rogue, clock: () => daysFromNow(-7) });
    const file = await signStamped(expiredLeaf, t.url);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] }))).toMatch(
      /^.*model\.sig timestamp #0 is not from a trusted timestamp authority: certificate chain of "CN=Rogue TSA" .* does not lead to a trust anchor/);
  });

  test('a timestamp over other bytes (taken from another bundle) is refused', async () => {
    const t = await localTsa({ tsa, clock: () => daysFromNow(-7) });
    const other = await signStamped(expiredLeaf, t.url, path.join(dir, 'other.sig'));
    const file = await signStamped(expiredLeaf, undefined);
    withTimestamps(file, parseBundle(fs.readFileSync(other), other).timestamps);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] })))
      .toMatch(/model\.sig timestamp #0 is over other bytes: its message imprint is not the SHA256 of this bundle's DSSE signature$/);
  });

  test('a timestamp from a TSA certificate that had expired when it signed is refused', async () => {
    const lapsed = await tsaLeaf(tsaRoot, { subject: 'CN=Lapsed TSA', notBefore: daysFromNow(-60), notAfter: daysFromNow(-30) });
    const file = await signStamped(expiredLeaf, undefined);
    const token = await pkijsResponder({ tsa: lapsed, clock: () => daysFromNow(-7) })(timestampRequest(signatureOf(file)));
    withTimestamps(file, [token]);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] }))).toMatch(
      /timestamp #0 is not from a trusted timestamp authority: certificate "CN=Lapsed TSA" .* is not valid at \S+ \(the time of the timestamp it signed\): it expired on/);
  });

  test('a TSA certificate whose timeStamping EKU is not critical is refused', async () => {
    const loose = await tsaLeaf(tsaRoot, { subject: 'CN=Loose TSA', ekuCritical: false });
    const file = await signStamped(expiredLeaf, undefined);
    withTimestamps(file, [await pkijsResponder({ tsa: loose, clock: () => daysFromNow(-7) })(timestampRequest(signatureOf(file)))]);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] })))
      .toMatch(/TSA certificate "CN=Loose TSA" .* is not a timestamping certificate/);
  });

  test('a token without embedded certificates verifies when the TSA certificate itself is trusted', async () => {
    const file = await signStamped(expiredLeaf, undefined);
    withTimestamps(file, [await pkijsResponder({ tsa, clock: () => daysFromNow(-7) })(timestampRequest(signatureOf(file), false))]);
    await expect(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsa.cert] })).resolves.toMatchObject({ method: 'certificate' });
  });

  test('a timestamp in the future is refused', async () => {
    const file = await signStamped(await signingLeaf(int), undefined);
    withTimestamps(file, [await pkijsResponder({ tsa, clock: () => daysFromNow(2) })(timestampRequest(signatureOf(file)))]);
    expect(await failure(verifyModel(model, file, { trustAnchors: [ca.cert], timestampAuthorities: [tsaRoot.cert] }))).toMatch(/timestamp #0 says it was issued at \S+, in the future/);
  });

  test('a key bundle\'s timestamp is verified when a TSA is trusted, and reported', async () => {
    const t = await localTsa({ tsa });
    const k = ecKey('P-256');
    const file = path.join(dir, 'key.sig');
    await signModel(model, new TimestampingSigner(new LocalKeySigner(k.privateKey), t.url), { signaturePath: file });
    const r = await verifyModel(model, file, { publicKey: k.publicKey, timestampAuthorities: [tsaRoot.cert] });
    expect(r.signedAt).toHaveLength(1);
    const unverified = await verifyModel(model, file, { publicKey: k.publicKey });
    expect(unverified.warnings.join('\n')).toMatch(/carries 1 RFC 3161 timestamp\(s\) that were not verified \(no timestamp authority is trusted; pass --timestamp-authority-cert\)/);
  });
});

describe('independent check: @sigstore/verify accepts ModelSeal\'s timestamped P-256 bundles', () => {
  function trustedRoot(tsaChain: Issued[]): ReturnType<typeof TrustedRoot.fromJSON> {
    return TrustedRoot.fromJSON({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [{
        subject: { organization: 'ModelSeal tests', commonName: 'Test TSA' },
        uri: 'http://127.0.0.1/',
        certChain: { certificates: tsaChain.map((c) => ({ rawBytes: c.der.toString('base64') })) },
        validFor: { start: '2000-01-01T00:00:00Z' },
      }],
    });
  }

  test('a key-signed bundle with one RFC 3161 timestamp verifies with timestampThreshold 1; a token over other bytes does not', async () => {
    const t = await localTsa({ tsa, chain: [tsaRoot] });
    const k = ecKey('P-256');
    const file = path.join(dir, 'key.sig');
    const signed = await signModel(model, new TimestampingSigner(new LocalKeySigner(k.privateKey), t.url), { signaturePath: file });
    const spki = k.publicKey.export({ type: 'spki', format: 'der' });
    const keys = { [signed.keyHint]: { rawBytes: spki, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start: new Date('2000-01-01') } } };
    const verifier = new Verifier(toTrustMaterial(trustedRoot([tsa, tsaRoot]), keys), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
    expect(verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))))).key).toBeDefined();

    const other = path.join(dir, 'other.sig');
    await signModel(model, new TimestampingSigner(new LocalKeySigner(k.privateKey), t.url), { signaturePath: other });
    withTimestamps(file, parseBundle(fs.readFileSync(other), other).timestamps);
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')))))).toThrow(/timestamp could not be verified/);
  });
});

describeVectors('a real Sigstore TSA token', () => {
  test('the v1.1.0 keyless vector\'s RFC 3161 timestamp verifies against the Sigstore TSA chain of the trusted root', async () => {
    const bundle = parseBundle(readVector('model-transparency', 'v1.1.0-sigstore', 'model.sig'), 'v1.1.0');
    const root = JSON.parse(readVector('..', 'sigstore', 'trusted_root.json').toString());
    const { X509Certificate } = await import('crypto');
    const chain = root.timestampAuthorities[0].certChain.certificates.map((c: { rawBytes: string }) => new X509Certificate(Buffer.from(c.rawBytes, 'base64')));
    const anchor = chain[chain.length - 1];
    const t = await verifyTimestamp(bundle.timestamps[0], bundle.signature, [anchor], 'v1.1.0 timestamp');
    expect(t.genTime.toISOString()).toBe('2025-10-10T02:12:20.000Z');
    expect(t.tsaCertificate.subject).toMatch(/CN=sigstore-tsa/);
    expect(t.policy).toBe('1.3.6.1.4.1.57264.2');
  });
});
