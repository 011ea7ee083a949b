/**
 * X.509 certificates: reading them, and verifying a bundle's certificate chain against trust anchors (the check
 * `verify certificate`, the trust policy and the AWS Signer verifier share).
 */
import { KeyObject, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { curveOf } from './keys';
import { readChildren, readTlv } from '../codec/der';
import { UsageError, VerificationError } from '../codec/errors';

/** Extended key usage OID for code signing (id-kp-codeSigning). */
export const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';

/** Longest chain (leaf included) the verifier will build; real PKIs use three or four. */
const MAX_CHAIN_LENGTH = 10;

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
   * The instant the chain must be valid at.
   *
   * @default - the leaf's notBefore, as the reference model_signing does: a key or certificate bundle carries no
   * trusted signing time, so the chain is checked at the earliest moment the signature could have been made.
   */
  readonly at?: Date;
}

/**
 * Verifies a bundle's certificate chain against trust anchors and returns the leaf's public key.
 *
 * The path is built from the leaf through the bundle's other certificates to any anchor; every link must pass
 * `checkIssued` (names, key identifiers, the issuer's keyCertSign usage) and a signature check, every issuer must
 * be a CA, and every certificate on the path must be valid at the verification instant. The leaf must allow
 * signing: key usage digitalSignature or extended key usage codeSigning, as the reference requires. Anchors are
 * trusted as given (an intermediate may be an anchor); an anchor equal to the leaf is refused.
 *
 * @param chainDer the bundle's certificates, leaf first (DER)
 * @param anchors trusted certificates (the `--certificate-chain` files)
 * @throws VerificationError naming the certificate that fails
 */
export function verifyCertificateChain(
  chainDer: readonly Buffer[],
  anchors: readonly X509Certificate[],
  opts: ChainVerificationOptions = {},
): KeyObject {
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
  const at = opts.at ?? new Date(leaf.validFrom);
  const path = buildPath(leaf, certs.slice(1), anchors);
  if (!path) {
    throw new VerificationError(
      `certificate chain of ${certificateName(leaf)} does not lead to a trust anchor: no verifying issuer for it among the bundle's ` +
      `${certs.length - 1} chain certificate(s) and the ${anchors.length} --certificate-chain anchor(s) (${anchors.map(certificateName).join('; ')})`);
  }
  for (const [i, cert] of path.entries()) {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (at < from || at > to) {
      throw new VerificationError(
        `certificate ${certificateName(cert)} is valid from ${from.toISOString()} to ${to.toISOString()}, not at ${at.toISOString()} (the leaf's notBefore)`);
    }
    if (i > 0 && !cert.ca) {
      throw new VerificationError(`certificate ${certificateName(cert)} issues ${certificateName(path[i - 1])} but is not a CA (basicConstraints CA:TRUE with keyCertSign)`);
    }
  }
  const usage = keyUsageBits(leaf);
  const eku = leaf.keyUsage ?? [];
  // digitalSignature is the first (most significant) bit of the KeyUsage bit string.
  const digitalSignature = usage !== undefined && usage >= 0x80;
  if (!digitalSignature && !eku.includes(CODE_SIGNING_EKU)) {
    throw new VerificationError(
      `signing certificate ${certificateName(leaf)} cannot be used for signing: it needs key usage digitalSignature or extended key usage codeSigning`);
  }
  try {
    curveOf(leaf.publicKey, `signing certificate ${certificateName(leaf)}`);
  } catch (e) {
    throw new VerificationError((e as Error).message);
  }
  return leaf.publicKey;
}

/** Depth-first search for a path leaf → … → anchor; returns it (anchor last) or undefined. */
function buildPath(leaf: X509Certificate, untrusted: readonly X509Certificate[], anchors: readonly X509Certificate[]): X509Certificate[] | undefined {
  if (anchors.some((a) => a.raw.equals(leaf.raw))) {
    // A leaf trusted directly would skip every CA check; the reference also requires an issuing chain.
    return undefined;
  }
  const walk = (path: X509Certificate[]): X509Certificate[] | undefined => {
    if (path.length > MAX_CHAIN_LENGTH) {
      return undefined;
    }
    const current = path[path.length - 1];
    for (const anchor of anchors) {
      if (issued(current, anchor)) {
        return [...path, anchor];
      }
    }
    for (const cand of untrusted) {
      if (path.some((p) => p.raw.equals(cand.raw)) || !issued(current, cand)) {
        continue;
      }
      const found = walk([...path, cand]);
      if (found) {
        return found;
      }
    }
    return undefined;
  };
  return walk([leaf]);
}

function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  if (cert.raw.equals(issuer.raw) && !issuedBy(cert, cert)) {
    return false;
  }
  return issuedBy(cert, issuer);
}

/** Whether `issuer` issued `cert`: names, key identifiers and keyCertSign match, and its key verifies the signature. */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** A certificate as errors name it: its subject on one line and its serial number. */
export function certificateName(cert: X509Certificate): string {
  return `"${cert.subject.replace(/\n/g, ', ')}" (serial ${cert.serialNumber})`;
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
