/**
 * X.509 certificates: reading them, and verifying a bundle's certificate chain against trust anchors (the check
 * `verify certificate`, the trust policy and the AWS Signer verifier share).
 */
import { KeyObject, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { curveOf } from './keys';
import { certificateName, validateCertificatePath } from './x509-path';
import { readChildren, readTlv } from '../codec/der';
import { UsageError, VerificationError } from '../codec/errors';

export { CODE_SIGNING_EKU, certificateName } from './x509-path';

/**
 * Reads every PEM certificate in a file.
 *
 * @throws UsageError when the file cannot be read or holds no certificate
 */
export async function readCertificateFile(file: string): Promise<X509Certificate[]> {
  let data: Buffer;
  try {
    data = await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read certificate file ${file}: ${(e as Error).message}`);
  }
  return parseCertificates(data, file);
}

/**
 * Parses every PEM `CERTIFICATE` block in `data` (or one DER certificate when there is no PEM block).
 *
 * @param source names the input in errors
 */
export function parseCertificates(data: Buffer, source: string): X509Certificate[] {
  const text = data.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  try {
    if (blocks) {
      return blocks.map((b) => new X509Certificate(b));
    }
    return [new X509Certificate(data)];
  } catch (e) {
    throw new UsageError(`${source} is not a readable X.509 certificate file (${(e as Error).message}); expected PEM CERTIFICATE blocks`);
  }
}

/** Options of {@link verifyCertificateChain}. */
export interface ChainVerificationOptions {
  /**
   * The instant every certificate on the path must be valid at: the current time, or the time of a verified RFC 3161
   * timestamp over the signature (engine/timestamp.ts).
   *
   * @default - the current time
   */
  readonly at?: Date;
  /** Says in errors where `at` came from. @default 'the current time' */
  readonly atSource?: string;
}

/**
 * Verifies a bundle's certificate chain against trust anchors and returns the leaf's public key.
 *
 * RFC 5280 path validation (engine/x509-path.ts: pkijs, plus pathLenConstraint, unknown critical extensions and the
 * leaf's purpose): the path runs from the leaf through the bundle's other certificates, in any order, to an anchor;
 * every certificate on it is valid at `at`; every issuer is a CA; name constraints hold. The leaf's key usage, when
 * present, includes digitalSignature, its extended key usage, when present, includes codeSigning or
 * anyExtendedKeyUsage, and it has at least one of the two. A leaf marked CA:TRUE is accepted when its usages allow
 * signing (the reference's own test leaf is one). An anchor may be an intermediate CA, or the leaf itself.
 *
 * @param chainDer the bundle's certificates, leaf first (DER)
 * @param anchors trusted certificates (the `--certificate-chain` files)
 * @throws VerificationError naming the certificate that fails and the rule it breaks
 */
export async function verifyCertificateChain(
  chainDer: readonly Buffer[],
  anchors: readonly X509Certificate[],
  opts: ChainVerificationOptions = {},
): Promise<KeyObject> {
  if (anchors.length === 0) {
    throw new VerificationError('certificate verification needs at least one trust anchor; pass --certificate-chain with the CA certificate(s)');
  }
  const certs = chainDer.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (e) {
      throw new VerificationError(`bundle certificate #${i} is not a valid X.509 certificate: ${(e as Error).message}`);
    }
  });
  const leaf = certs[0];
  await validateCertificatePath(leaf, certs.slice(1), anchors, {
    at: opts.at ?? new Date(),
    atSource: opts.atSource ?? 'the current time',
    purpose: 'codeSigning',
    anchorsName: '--certificate-chain anchor(s)',
  });
  try {
    curveOf(leaf.publicKey, `signing certificate ${certificateName(leaf)}`);
  } catch (e) {
    throw new VerificationError((e as Error).message);
  }
  return leaf.publicKey;
}

/**
 * Refuses, at sign time, a signing certificate that a verifier would refuse: the path from `leaf` through `chain` (to
 * the chain's self-signed roots, else its topmost certificates; a leaf given without a chain is checked alone) must be
 * valid now under the rules of {@link verifyCertificateChain}, and the leaf must allow code signing.
 *
 * @param what names the certificate file in errors
 * @throws UsageError (a signing error: exit 2, nothing written) naming the certificate and the rule it breaks
 */
export async function checkSigningCertificate(
  leaf: X509Certificate, chain: readonly X509Certificate[], what: string, now = new Date(),
): Promise<void> {
  const others = chain.filter((c) => !c.raw.equals(leaf.raw));
  const selfSigned = chain.filter((c) => issuedBy(c, c));
  const tops = others.filter((c) => !others.some((d) => !d.raw.equals(c.raw) && issuedBy(c, d)));
  const anchors = selfSigned.length > 0 ? selfSigned : tops.length > 0 ? tops : [leaf];
  try {
    await validateCertificatePath(leaf, others, anchors, {
      at: now,
      atSource: 'the signing time',
      purpose: 'codeSigning',
      anchorsName: 'certificate(s) of --certificate-chain',
    });
  } catch (e) {
    throw new UsageError(`signing certificate ${what} would not verify, so nothing was signed: ${(e as Error).message}`);
  }
}

/** Whether `issuer` issued `cert`: names, key identifiers and keyCertSign match, and its key verifies the signature. */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * The first byte of the leaf's KeyUsage bit string (bit 0x80 = digitalSignature), or undefined when the
 * certificate has no KeyUsage extension. Node exposes extended key usage but not key usage, hence this walk over
 * TBSCertificate → extensions ([3]) → the KeyUsage extension (RFC 5280 §4.2.1.3) with the codec's DER reader.
 *
 * @throws VerificationError when the certificate's DER is malformed on that path
 */
export function keyUsageBits(cert: X509Certificate): number | undefined {
  const der = cert.raw;
  const what = 'certificate DER';
  const tbs = readChildren(der, readTlv(der, 0, what), what)[0];
  const extensions = readChildren(der, tbs, what).find((field) => field.tag === 0xa3);
  if (!extensions) {
    return undefined;
  }
  for (const ext of readChildren(der, readChildren(der, extensions, what)[0], what)) {
    const [oid, ...rest] = readChildren(der, ext, what);
    if (oid.content.equals(KEY_USAGE_OID)) {
      // extnValue follows the optional `critical BOOLEAN`: an OCTET STRING wrapping the KeyUsage BIT STRING
      const value = rest[rest.length - 1];
      const bits = readTlv(der, value.contentStart, what, VerificationError, value.end);
      return bits.content.length >= 2 ? bits.content[1] : 0;
    }
  }
  return undefined;
}

/** The content of OID 2.5.29.15 (id-ce-keyUsage). */
const KEY_USAGE_OID = Buffer.from('551d0f', 'hex');
