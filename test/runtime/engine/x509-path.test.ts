import { X509Certificate } from 'crypto';
import { checkSigningCertificate, verifyCertificateChain } from '../../../src/runtime/engine/certificates';
import { keyHint } from '../../../src/runtime/engine/keys';
import { validateCertificatePath } from '../../../src/runtime/engine/x509-path';
import { daysFromNow, EKU, intermediateCa, issue, Issued, KU, rootCa, signingLeaf, tsaLeaf } from '../../fixtures/x509';
import { verificationFailure as chainError } from '../../helpers/failures';

const NAME = '"[^"]+" \\(serial [0-9A-F]+\\)';


const chain = (...c: Issued[]) => c.map((x) => x.der);
const anchors = (...c: Issued[]) => c.map((x) => x.cert);

describe('certificate path validation (RFC 5280, pkijs + ModelSeal rules)', () => {
  let root: Issued;
  let int: Issued;
  let leaf: Issued;
  beforeAll(async () => {
    root = await rootCa();
    int = await intermediateCa(root);
    leaf = await signingLeaf(int);
  });

  test('a valid chain returns the leaf key; the path runs leaf → intermediate → root', async () => {
    const key = await verifyCertificateChain(chain(leaf, int), anchors(root));
    expect(keyHint(key)).toBe(keyHint(leaf.cert.publicKey));
    const { path } = await validateCertificatePath(leaf.cert, [int.cert], [root.cert], { at: new Date(), atSource: 'now', purpose: 'codeSigning' });
    expect(path.map((c) => c.subject)).toEqual(['CN=Model Signer', 'CN=Test Intermediate', 'CN=Test Root']);
  });

  test('the bundle\'s chain certificates may come in any order, and pkijs\' "last certificate is the leaf" trap does not apply', async () => {
    const other = await signingLeaf(int, { subject: 'CN=Another Signer' });
    // another valid leaf placed last in the chain: the leaf is still the first certificate
    await expect(verifyCertificateChain([leaf.der, int.der, other.der], anchors(root))).resolves.toBeDefined();
    const [first] = (await validateCertificatePath(leaf.cert, [other.cert, int.cert], [root.cert], { at: new Date(), atSource: 'now', purpose: 'codeSigning' })).path;
    expect(first.subject).toBe('CN=Model Signer');
  });

  test('the intermediate may be the anchor', async () => {
    await expect(verifyCertificateChain(chain(leaf), anchors(int))).resolves.toBeDefined();
  });

  test('fails when the signing certificate expired (notAfter 2020-01-02), naming it', async () => {
    const old = await signingLeaf(int, { notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z') });
    expect(await chainError(verifyCertificateChain(chain(old, int), anchors(root))))
      .toMatch(new RegExp('^certificate "CN=Model Signer" \\(serial [0-9A-F]+\\) is not valid at \\S+ \\(the current time\\): it expired on 2020-01-02T00:00:00.000Z \\(valid from 2019-01-01T00:00:00.000Z\\)$'));
  });

  test('fails when the intermediate CA expired in 2021 although the leaf is valid, naming the CA', async () => {
    const oldInt = await intermediateCa(root, 'CN=Old Intermediate', { notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2021-06-01T00:00:00Z') });
    const young = await signingLeaf(oldInt);
    expect(await chainError(verifyCertificateChain(chain(young, oldInt), anchors(root))))
      .toMatch(/^certificate "CN=Old Intermediate" \(serial [0-9A-F]+\) is not valid at \S+ \(the current time\): it expired on 2021-06-01T00:00:00.000Z/);
  });

  test('fails on a certificate that is not yet valid', async () => {
    const future = await signingLeaf(int, { notBefore: daysFromNow(30), notAfter: daysFromNow(400) });
    expect(await chainError(verifyCertificateChain(chain(future, int), anchors(root))))
      .toMatch(new RegExp(`^certificate ${NAME} is not valid at \\S+ \\(the current time\\): it is valid only from \\S+`));
  });

  test('an explicit check time is used instead of now, and named', async () => {
    const old = await signingLeaf(int, { notBefore: daysFromNow(-10), notAfter: daysFromNow(-5) });
    await expect(verifyCertificateChain(chain(old, int), anchors(root), { at: daysFromNow(-7), atSource: 'the timestamp' })).resolves.toBeDefined();
    expect(await chainError(verifyCertificateChain(chain(old, int), anchors(root), { at: daysFromNow(-1), atSource: 'the timestamp' })))
      .toMatch(/\(the timestamp\): it expired on/);
  });

  test('fails on a TLS certificate (extended key usage serverAuth only): not a code-signing certificate', async () => {
    const tls = await signingLeaf(int, { subject: 'CN=www.example.com', eku: [EKU.serverAuth], keyUsage: KU.digitalSignature | KU.keyEncipherment });
    expect(await chainError(verifyCertificateChain(chain(tls, int), anchors(root)))).toMatch(
      /^signing certificate "CN=www\.example\.com" \(serial [0-9A-F]+\) is not a code-signing certificate: its extended key usage is serverAuth \(1\.3\.6\.1\.5\.5\.7\.3\.1\); it needs codeSigning \(1\.3\.6\.1\.5\.5\.7\.3\.3\) or anyExtendedKeyUsage$/);
  });

  test('fails on a leaf with neither key usage nor extended key usage (the reference refuses it too)', async () => {
    const bare = await issue({ subject: 'CN=Bare', issuer: int });
    expect(await chainError(verifyCertificateChain(chain(bare, int), anchors(root)))).toMatch(
      /^signing certificate "CN=Bare" \(serial [0-9A-F]+\) has neither a key usage nor an extended key usage extension; a signing certificate needs key usage digitalSignature or extended key usage codeSigning$/);
  });

  test('fails when the key usage lacks digitalSignature, even with codeSigning (key usage, when present, must allow signing)', async () => {
    const noDs = await signingLeaf(int, { keyUsage: KU.nonRepudiation });
    expect(await chainError(verifyCertificateChain(chain(noDs, int), anchors(root))))
      .toMatch(/cannot sign: its key usage \(nonRepudiation\) lacks digitalSignature$/);
  });

  test('accepts digitalSignature without an extended key usage, codeSigning without a key usage, and anyExtendedKeyUsage', async () => {
    for (const more of [{ eku: undefined }, { keyUsage: undefined }, { eku: [EKU.any] }]) {
      const c = await signingLeaf(int, more);
      await expect(verifyCertificateChain(chain(c, int), anchors(root))).resolves.toBeDefined();
    }
  });

  test('accepts a leaf marked CA:TRUE whose key usage allows signing (as the reference\'s own test leaf)', async () => {
    const caLeaf = await signingLeaf(int, { ca: true, keyUsage: KU.digitalSignature });
    await expect(verifyCertificateChain(chain(caLeaf, int), anchors(root))).resolves.toBeDefined();
  });

  test('fails on a pathLen violation, naming the CA whose constraint is broken', async () => {
    const strictRoot = await rootCa('CN=Strict Root', { pathLen: 0 });
    const i1 = await intermediateCa(strictRoot, 'CN=Int One');
    const i2 = await intermediateCa(i1, 'CN=Int Two');
    const deep = await signingLeaf(i2);
    expect(await chainError(verifyCertificateChain(chain(deep, i2, i1), anchors(strictRoot)))).toMatch(
      /^CA certificate "CN=Strict Root" \(serial [0-9A-F]+\) allows at most 0 intermediate CA certificate\(s\) below it \(pathLenConstraint 0\), but the path to "CN=Model Signer" \(serial [0-9A-F]+\) has 2$/);
    // within the constraint: one intermediate under pathLen 1
    const okRoot = await rootCa('CN=Ok Root', { pathLen: 1 });
    const okInt = await intermediateCa(okRoot, 'CN=Ok Int');
    await expect(verifyCertificateChain(chain(await signingLeaf(okInt), okInt), anchors(okRoot))).resolves.toBeDefined();
  });

  test('fails on an unknown critical extension, on the leaf and on a CA', async () => {
    const odd = await signingLeaf(int, { unknownCriticalOid: '1.3.6.1.4.1.99999.1' });
    expect(await chainError(verifyCertificateChain(chain(odd, int), anchors(root)))).toMatch(
      /^certificate "CN=Model Signer" \(serial [0-9A-F]+\) has an unknown critical extension 1\.3\.6\.1\.4\.1\.99999\.1; .*RFC 5280 §4\.2\)$/);
    const oddInt = await intermediateCa(root, 'CN=Odd Int', { unknownCriticalOid: '1.3.6.1.4.1.99999.2' });
    const under = await signingLeaf(oddInt);
    expect(await chainError(verifyCertificateChain(chain(under, oddInt), anchors(root)))).toMatch(/"CN=Odd Int" .*unknown critical extension 1\.3\.6\.1\.4\.1\.99999\.2/);
  });

  test('enforces name constraints', async () => {
    const ncInt = await intermediateCa(root, 'CN=Example Only', { permittedEmailDomain: 'example.com' });
    await expect(verifyCertificateChain(chain(await signingLeaf(ncInt, { sanEmail: 'a@example.com' }), ncInt), anchors(root))).resolves.toBeDefined();
    expect(await chainError(verifyCertificateChain(chain(await signingLeaf(ncInt, { sanEmail: 'a@evil.test' }), ncInt), anchors(root))))
      .toMatch(/is not valid: Failed to meet "permitted sub-trees" name constraint \(its subject alternative names are outside what a CA on the path permits\)$/);
  });

  test('fails when an issuer is not a CA, naming it', async () => {
    const notCa = await issue({ subject: 'CN=Not A CA', issuer: root, keyUsage: KU.digitalSignature | KU.keyCertSign, ca: false });
    const below = await signingLeaf(notCa);
    expect(await chainError(verifyCertificateChain(chain(below, notCa), anchors(root))))
      .toMatch(/^certificate "CN=Not A CA" \(serial [0-9A-F]+\) issues "CN=Model Signer" .* but is not a CA/);
  });

  test('fails when the intermediate is missing, or the anchor is unrelated', async () => {
    expect(await chainError(verifyCertificateChain(chain(leaf), anchors(root)))).toMatch(
      /^certificate chain of "CN=Model Signer" \(serial [0-9A-F]+\) does not lead to a trust anchor: no verifying issuer for "CN=Model Signer" .* among the bundle's 0 chain certificate\(s\) and the 1 --certificate-chain anchor\(s\) \("CN=Test Root"/);
    const stranger = await rootCa('CN=Stranger Root');
    expect(await chainError(verifyCertificateChain(chain(leaf, int), anchors(stranger)))).toMatch(/does not lead to a trust anchor/);
  });

  test('many trust anchors (a CA bundle) are fine; more than 10 untrusted certificates in a chain are refused', async () => {
    const bundleOfRoots = [...await Promise.all(Array.from({ length: 12 }, (_, i) => rootCa(`CN=Other Root ${i}`))), root];
    await expect(verifyCertificateChain(chain(leaf, int), anchors(...bundleOfRoots))).resolves.toBeDefined();
    const padding = await Promise.all(Array.from({ length: 10 }, (_, i) => intermediateCa(root, `CN=Spare ${i}`)));
    expect(await chainError(verifyCertificateChain(chain(leaf, int, ...padding), anchors(root))))
      .toMatch(/^the certificate chain of "CN=Model Signer" .* offers 12 certificates; at most 10 are considered$/);
  });

  test('fails without trust anchors', async () => {
    expect(await chainError(verifyCertificateChain(chain(leaf, int), [])))
      .toBe('certificate verification needs at least one trust anchor; pass --certificate-chain with the CA certificate(s)');
  });

  describe('a trusted anchor may be the leaf itself', () => {
    let self: Issued;
    beforeAll(async () => {
      self = await issue({ subject: 'CN=Self Signed Signer', keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] });
    });

    test('a self-signed signing certificate given as the only anchor verifies (as OpenSSL\'s store does)', async () => {
      await expect(verifyCertificateChain(chain(self), anchors(self))).resolves.toBeDefined();
      // the leaf as its own chain
      await expect(verifyCertificateChain(chain(self, self), anchors(self))).resolves.toBeDefined();
    });

    test('a CA-issued leaf trusted directly verifies too', async () => {
      await expect(verifyCertificateChain(chain(leaf), anchors(leaf))).resolves.toBeDefined();
    });

    test('an unrelated anchor with the same subject name is still refused', async () => {
      const impostor = await issue({ subject: 'CN=Self Signed Signer', keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] });
      expect(impostor.cert.subject).toBe(self.cert.subject);
      expect(await chainError(verifyCertificateChain(chain(self), anchors(impostor)))).toMatch(/does not lead to a trust anchor/);
    });

    test('a directly trusted leaf is still checked: dates and purpose', async () => {
      const expired = await issue({ subject: 'CN=Expired Self', keyUsage: KU.digitalSignature, notBefore: daysFromNow(-30), notAfter: daysFromNow(-1) });
      expect(await chainError(verifyCertificateChain(chain(expired), anchors(expired)))).toMatch(/"CN=Expired Self" .* it expired on/);
      const tls = await issue({ subject: 'CN=TLS Self', keyUsage: KU.digitalSignature, eku: [EKU.serverAuth] });
      expect(await chainError(verifyCertificateChain(chain(tls), anchors(tls)))).toMatch(/is not a code-signing certificate/);
    });
  });

  describe('timestamping certificates (RFC 3161 §2.3)', () => {
    const opts = { at: new Date(), atSource: 'now', purpose: 'timeStamping' as const, leafRole: 'TSA certificate' };

    test('a TSA certificate needs exactly one extended key usage, timeStamping, marked critical', async () => {
      await expect(validateCertificatePath((await tsaLeaf(int)).cert, [int.cert], [root.cert], opts)).resolves.toBeDefined();
      const notCritical = await tsaLeaf(int, { ekuCritical: false });
      expect(await chainError(validateCertificatePath(notCritical.cert, [int.cert], [root.cert], opts))).toMatch(
        /^TSA certificate "CN=Test TSA" .* is not a timestamping certificate: RFC 3161 §2\.3 requires exactly one extended key usage, timeStamping \(1\.3\.6\.1\.5\.5\.7\.3\.8\), marked critical; it has timeStamping \(1\.3\.6\.1\.5\.5\.7\.3\.8\), not critical$/);
      const two = await tsaLeaf(int, { eku: [EKU.timeStamping, EKU.codeSigning] });
      expect(await chainError(validateCertificatePath(two.cert, [int.cert], [root.cert], opts))).toMatch(/it has timeStamping .*, codeSigning .*, critical$/);
      expect(await chainError(validateCertificatePath(leaf.cert, [int.cert], [root.cert], opts))).toMatch(/is not a timestamping certificate/);
    });
  });
});

describe('sign-time check of the signing certificate', () => {
  let root: Issued;
  let int: Issued;
  beforeAll(async () => {
    root = await rootCa();
    int = await intermediateCa(root);
  });

  test('accepts what a verifier accepts: a leaf with its chain, a leaf alone, a self-signed leaf', async () => {
    const leaf = await signingLeaf(int);
    await expect(checkSigningCertificate(leaf.cert, [int.cert, root.cert], 'leaf.pem')).resolves.toBeUndefined();
    await expect(checkSigningCertificate(leaf.cert, [int.cert], 'leaf.pem')).resolves.toBeUndefined();
    await expect(checkSigningCertificate(leaf.cert, [], 'leaf.pem')).resolves.toBeUndefined();
    const self = await issue({ subject: 'CN=Self', keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] });
    await expect(checkSigningCertificate(self.cert, [self.cert], 'self.pem')).resolves.toBeUndefined();
  });

  test.each([
    ['an expired leaf', () => signingLeaf(int, { notBefore: new Date('2019-01-01'), notAfter: new Date('2020-01-02') }), /it expired on 2020-01-02/],
    ['a TLS leaf', () => signingLeaf(int, { eku: [EKU.serverAuth] }), /is not a code-signing certificate/],
    ['a leaf with an unknown critical extension', () => signingLeaf(int, { unknownCriticalOid: '1.2.3.4.5' }), /unknown critical extension 1\.2\.3\.4\.5/],
  ])('refuses %s with a usage error naming the file', async (_what, make, message) => {
    const bad = await make();
    const err = await checkSigningCertificate(bad.cert, [int.cert, root.cert], 'bad.pem').then(() => undefined, (e: Error) => e);
    expect(err?.name).toBe('UsageError');
    expect(err?.message).toMatch(/^signing certificate bad\.pem would not verify, so nothing was signed: /);
    expect(err?.message).toMatch(message);
  });

  test('refuses a leaf whose chain CA expired', async () => {
    const oldInt = await intermediateCa(root, 'CN=Old Int', { notBefore: new Date('2019-01-01'), notAfter: new Date('2021-06-01') });
    const leaf = await signingLeaf(oldInt);
    await expect(checkSigningCertificate(leaf.cert, [oldInt.cert, root.cert], 'leaf.pem')).rejects.toThrow(/"CN=Old Int" .*expired on 2021-06-01/);
  });
});

describe('X509Certificate inputs', () => {
  test('a chain certificate that is not X.509 is named', async () => {
    const root = await rootCa();
    const leaf = await signingLeaf(root);
    expect(await chainError(verifyCertificateChain([leaf.der, Buffer.from('junk')], [root.cert]))).toMatch(/^bundle certificate #1 is not a valid X\.509 certificate/);
    expect(new X509Certificate(leaf.der).subject).toBe('CN=Model Signer');
  });
});
