import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { keyUsageBits, parseCertificates, verifyCertificateChain } from '../../../src/runtime/engine/certificates';
import { keyHint } from '../../../src/runtime/engine/keys';
import { signModel } from '../../../src/runtime/engine/sign';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { makePki, Pki, PkiOptions } from '../../fixtures/pki';
import { verificationFailure } from '../../helpers/failures';
import { describeVectors, readVector } from '../../helpers/vectors';

const certs = (...files: string[]) => files.flatMap((f) => parseCertificates(fs.readFileSync(f), f));
const der = (...files: string[]) => certs(...files).map((c) => c.raw);

const chainError = (fn: () => Promise<unknown>): Promise<string> => verificationFailure(fn());

describe('certificate signing', () => {
  let dir: string;
  let pki: Pki;
  beforeAll(() => {
    dir = tempDir();
    pki = makePki(path.join(dir, 'pki'));
  });
  afterAll(() => cleanup(dir));

  test('round trip: sign certificate, verify against the root', async () => {
    const model = makeModel(dir);
    const sig = path.join(dir, 'model.sig');
    const signer = await CertificateSigner.fromFiles({ privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert] });
    const signed = await signModel(model, signer, { signaturePath: sig });
    const bundle = JSON.parse(fs.readFileSync(sig, 'utf8'));
    expect(bundle.verificationMaterial.x509CertificateChain.certificates.map((c: any) => Buffer.from(c.rawBytes, 'base64')))
      .toEqual(der(pki.leafCert, pki.intCert));
    expect(bundle.verificationMaterial.tlogEntries).toEqual([]);
    const r = await verifyModel(model, sig, { trustAnchors: certs(pki.rootCert) });
    expect(r.method).toBe('certificate');
    expect(r.certificateSubject).toBe('CN=leaf');
    expect(r.rootDigest).toBe(signed.rootDigest);
    expect(r.keyHint).toBe(keyHint(new X509Certificate(fs.readFileSync(pki.leafCert)).publicKey));
  });

  test('the intermediate may be the anchor', async () => {
    await expect(verifyCertificateChain(der(pki.leafCert), certs(pki.intCert))).resolves.toBeDefined();
  });

  test('fails when the signing certificate is for another key', async () => {
    const other = path.join(dir, 'other.pem');
    fs.writeFileSync(other, ecKey('P-256').pem);
    await expect(CertificateSigner.fromFiles({ privateKey: other, signingCertificate: pki.leafCert }))
      .rejects.toThrow(`signing certificate ${pki.leafCert} (CN=leaf) certifies another key than the signing key`);
  });

  test('fails when the intermediate is missing from the bundle', async () => {
    expect(await chainError(() => verifyCertificateChain(der(pki.leafCert), certs(pki.rootCert))))
      .toMatch(/^certificate chain of "CN=leaf" \(serial [0-9A-F]+\) does not lead to a trust anchor: no verifying issuer for "CN=leaf" .* among the bundle's 0 chain certificate\(s\) and the 1 --certificate-chain anchor\(s\) \("CN=test-root"/);
  });

  test('fails without trust anchors', async () => {
    expect(await chainError(() => verifyCertificateChain(der(pki.leafCert, pki.intCert), [])))
      .toBe('certificate verification needs at least one trust anchor; pass --certificate-chain with the CA certificate(s)');
  });

  test('the leaf itself may be the only anchor (trusted directly)', async () => {
    await expect(verifyCertificateChain(der(pki.leafCert), certs(pki.leafCert))).resolves.toBeDefined();
  });

  test('checks validity now by default, and at an explicit instant when given', async () => {
    await expect(verifyCertificateChain(der(pki.leafCert, pki.intCert), certs(pki.rootCert))).resolves.toBeDefined();
    const later = new Date(Date.now() + 365 * 24 * 3600 * 1000);
    expect(await chainError(() => verifyCertificateChain(der(pki.leafCert, pki.intCert), certs(pki.rootCert), { at: later })))
      .toMatch(/^certificate "CN=leaf" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time\): it expired on /);
  });

  test('reads key usage bits', () => {
    expect(keyUsageBits(certs(pki.leafCert)[0])! & 0x80).toBe(0x80);
    expect(keyUsageBits(certs(pki.intCert)[0])! & 0x80).toBe(0);
  });
});

describe('certificate chain rules', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => cleanup(dir));

  const verifyWith = (opts: PkiOptions) => {
    const pki = makePki(dir, opts);
    return () => verifyCertificateChain(der(pki.leafCert, pki.intCert), certs(pki.rootCert));
  };

  test('fails on codeSigning EKU when the key usage lacks digitalSignature (key usage, when present, must allow signing; the reference accepts it)', async () => {
    expect(await chainError(verifyWith({ leafKeyUsage: 'critical,nonRepudiation' }))).toMatch(/cannot sign: its key usage \(nonRepudiation\) lacks digitalSignature$/);
  });

  test('accepts digitalSignature without an EKU', async () => {
    await expect(verifyWith({ leafExtKeyUsage: null })()).resolves.toBeDefined();
  });

  test('fails when the leaf allows neither digitalSignature nor codeSigning', async () => {
    expect(await chainError(verifyWith({ leafKeyUsage: 'critical,keyEncipherment', leafExtKeyUsage: 'serverAuth' })))
      .toMatch(/^signing certificate "CN=leaf" \(serial [0-9A-F]+\) cannot sign: its key usage \(keyEncipherment\) lacks digitalSignature$/);
  });

  test('fails when the intermediate is not a CA', async () => {
    expect(await chainError(verifyWith({ intBasicConstraints: 'critical,CA:FALSE', intKeyUsage: 'critical,digitalSignature,keyCertSign' })))
      .toMatch(/^certificate "CN=int" \(serial [0-9A-F]+\) issues "CN=leaf" .* but is not a CA/);
  });

  test('fails when the intermediate lacks keyCertSign', async () => {
    expect(await chainError(verifyWith({ intKeyUsage: 'critical,digitalSignature' })))
      .toMatch(/^certificate "CN=int" \(serial [0-9A-F]+\) issues "CN=leaf" .* but is not a CA \(basicConstraints CA:TRUE, and keyCertSign when it has a key usage\)$/);
  });

  test.each(['P-384', 'P-521'] as const)('%s leaf round trip', async (curve) => {
    const pki = makePki(path.join(dir, 'pki'), { curve });
    const model = makeModel(dir);
    const sig = path.join(dir, 'model.sig');
    const signer = await CertificateSigner.fromFiles({ privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert] });
    await signModel(model, signer, { signaturePath: sig });
    await expect(verifyModel(model, sig, { trustAnchors: certs(pki.rootCert) })).resolves.toMatchObject({ curve });
  });
});

describeVectors('reference certificates', () => {
  test('the model-transparency chain (RSA CAs, P-384 leaf with CA:TRUE) verifies against ca-cert.pem', async () => {
    const bundle = JSON.parse(readVector('model-transparency', 'v1.1.0-certificate', 'model.sig').toString());
    const chain = bundle.verificationMaterial.x509CertificateChain.certificates.map((c: any) => Buffer.from(c.rawBytes, 'base64'));
    const ca = parseCertificates(readVector('model-transparency', 'keys', 'ca-cert.pem'), 'ca-cert.pem');
    const key = await verifyCertificateChain(chain, ca);
    expect(keyHint(key)).toBe('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  });
});
