/**
 * X.509 certification path validation (RFC 5280 §6) for signing and timestamping certificates, on pkijs.
 *
 * pkijs' `CertificateChainValidationEngine` builds the path (issuers found by key identifier or name, every candidate
 * signature-verified, anchors matched by their TBSCertificate bytes, never by name), checks every certificate's
 * validity at the check time, that every issuer is a CA with keyCertSign, certificate policies and name constraints.
 * What it does not do is done here, on the path it returns:
 *
 * - a trust anchor may be the end-entity certificate itself (pkijs refuses a lone trusted certificate; OpenSSL's store
 *   accepts it), checked before pkijs is called;
 * - pkijs takes the **last** certificate it is given as the end entity: the leaf is always passed last, copies of it
 *   are removed from the other certificates, and the path it returns must start with the leaf;
 * - pathLenConstraint (parsed by pkijs, never enforced);
 * - an unknown critical extension on any certificate of the path (pkijs looks only at CA certificates);
 * - the end entity's purpose (code signing or timestamping);
 * - errors that name the certificate at fault (pkijs says "The certificate is either not yet valid or expired").
 *
 * pkijs 3.x is used because 4.x is ESM-only (docs/ARCHITECTURE.md). Path validation is asynchronous: pkijs verifies
 * signatures with WebCrypto.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5280#section-6
 */
import { webcrypto, X509Certificate } from 'crypto';
import type * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { VerificationError } from '../codec/errors';

/** Extended key usage id-kp-codeSigning (RFC 5280 §4.2.1.12). */
export const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';
/** Extended key usage id-kp-timeStamping (RFC 5280 §4.2.1.12; RFC 3161 §2.3). */
export const TIME_STAMPING_EKU = '1.3.6.1.5.5.7.3.8';
/** anyExtendedKeyUsage (RFC 5280 §4.2.1.12). */
export const ANY_EKU = '2.5.29.37.0';

/**
 * The most untrusted certificates (the end entity and the bundle's chain) a path is built from: real PKIs use three
 * or four, and path building tries every candidate issuer. Trust anchors are not counted (a CA bundle may hold many).
 */
export const MAX_PATH_CERTIFICATES = 10;

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
} as const;

/** Critical extensions the validation processes (pkijs or this module); any other critical extension is refused. */
const PROCESSED_CRITICAL = new Set<string>(Object.values(OID));

/** Names of the extended key usages errors mention. */
const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  [CODE_SIGNING_EKU]: 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  [TIME_STAMPING_EKU]: 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  [ANY_EKU]: 'anyExtendedKeyUsage',
};

const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly'];

/** What the end-entity certificate must be good for. */
export type CertificatePurpose =
  /** OMS signing certificates: key usage (when present) digitalSignature, extended key usage (when present) codeSigning or anyExtendedKeyUsage, not neither. */
  | 'codeSigning'
  /** RFC 3161 TSA certificates: extended key usage present, critical, and exactly timeStamping (RFC 3161 §2.3). */
  | 'timeStamping';

/** Options of {@link validateCertificatePath}. */
export interface PathValidationOptions {
  /** The instant every certificate must be valid at. */
  readonly at: Date;
  /** Says in errors where `at` came from, e.g. `the current time` or `the RFC 3161 timestamp's time`. */
  readonly atSource: string;
  /** What the end entity must be good for. */
  readonly purpose: CertificatePurpose;
  /** Names the end entity in errors. @default 'signing certificate' */
  readonly leafRole?: string;
  /** Names the anchors in errors. @default 'trust anchor(s)' */
  readonly anchorsName?: string;
}

/** A validated path. */
export interface ValidatedPath {
  /** The certificates from the end entity to the trust anchor (one certificate when the end entity is an anchor). */
  readonly path: readonly X509Certificate[];
}

let loaded: typeof Pkijs | undefined;

/* eslint-disable @typescript-eslint/no-require-imports, import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library */
/**
 * pkijs, loaded on first use (commands that never read a certificate do not pay for it at start-up), with its crypto
 * engine set to Node's WebCrypto explicitly, so that no environment (a jest sandbox) can give it another.
 */
export function pkijs(): typeof Pkijs {
  if (!loaded) {
    const m = require('pkijs') as typeof Pkijs;
    const crypto = webcrypto as unknown as ConstructorParameters<typeof m.CryptoEngine>[0]['crypto'];
    m.setEngine('nodejs-webcrypto', new m.CryptoEngine({ name: 'nodejs-webcrypto', crypto }));
    loaded = m;
  }
  return loaded;
}

/** asn1js (pkijs' ASN.1 layer), loaded on first use. */
export function asn1js(): typeof Asn1js {
  return require('asn1js') as typeof Asn1js;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** A copy of `bytes` in its own ArrayBuffer: what pkijs and WebCrypto accept. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Parses DER with pkijs; the certificate was already parsed by node, so a failure here is reported the same way. */
export function toPkijs(cert: X509Certificate): Pkijs.Certificate {
  try {
    return pkijs().Certificate.fromBER(toArrayBuffer(cert.raw));
  } catch (e) {
    throw new VerificationError(`certificate ${certificateName(cert)} cannot be parsed: ${(e as Error).message}`);
  }
}

/** A certificate as errors name it: its subject on one line and its serial number. */
export function certificateName(cert: X509Certificate): string {
  return `"${cert.subject.replace(/\n/g, ', ')}" (serial ${cert.serialNumber})`;
}

/**
 * Validates the path from `leaf` through `intermediates` to one of `anchors` at `opts.at`, and the leaf's purpose.
 *
 * @param leaf the end-entity certificate
 * @param intermediates other certificates that may be on the path, in any order (a bundle's chain after the leaf)
 * @param anchors trusted certificates; the path ends at the first one reached (it may be an intermediate CA, or the
 *   leaf itself)
 * @throws VerificationError naming the certificate and the rule it breaks
 */
export async function validateCertificatePath(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  opts: PathValidationOptions,
): Promise<ValidatedPath> {
  const role = opts.leafRole ?? 'signing certificate';
  const others = dedupe(intermediates.filter((c) => !c.raw.equals(leaf.raw) && !anchors.some((a) => a.raw.equals(c.raw))));
  if (others.length + 1 > MAX_PATH_CERTIFICATES) {
    throw new VerificationError(
      `the certificate chain of ${certificateName(leaf)} offers ${others.length + 1} certificates; at most ${MAX_PATH_CERTIFICATES} are considered`);
  }
  let path: X509Certificate[];
  if (anchors.some((a) => a.raw.equals(leaf.raw))) {
    // A directly trusted end entity, self-signed or not, as OpenSSL's store accepts it.
    path = [leaf];
  } else {
    path = await pkijsPath(leaf, others, anchors, opts);
  }
  const problem = pathProblem(path, opts);
  if (problem) {
    throw new VerificationError(problem);
  }
  checkPurpose(toPkijs(leaf), leaf, opts.purpose, role);
  return { path };
}

/** Runs pkijs; on failure, reconstructs the path it was building to name the certificate at fault. */
async function pkijsPath(
  leaf: X509Certificate, others: readonly X509Certificate[], anchors: readonly X509Certificate[], opts: PathValidationOptions,
): Promise<X509Certificate[]> {
  const byTbs = new Map<string, X509Certificate>();
  const wrap = (c: X509Certificate) => {
    const p = toPkijs(c);
    byTbs.set(Buffer.from(p.tbsView).toString('hex'), c);
    return p;
  };
  const leafP = wrap(leaf);
  const P = pkijs();
  const issuers = new Map<Pkijs.Certificate, Pkijs.Certificate[]>();
  const engine = new P.CertificateChainValidationEngine({
    trustedCerts: anchors.map(wrap),
    // pkijs takes the LAST certificate as the end entity
    certs: [...others.map(wrap), leafP],
    checkDate: opts.at,
    findIssuer: async (cert, eng, crypto) => {
      const found = await P.CertificateChainValidationEngine.prototype.defaultFindIssuer.call(eng, cert, eng, crypto);
      issuers.set(cert, found);
      return found;
    },
  });
  const result = await engine.verify();
  const nodeOf = (p: Pkijs.Certificate) => byTbs.get(Buffer.from(p.tbsView).toString('hex'));
  if (result.result) {
    const path = (result.certificatePath ?? []).map(nodeOf);
    if (path.length === 0 || path.some((c) => c === undefined) || !path[0]!.raw.equals(leaf.raw)) {
      throw new VerificationError(`certificate path validation of ${certificateName(leaf)} returned another end entity; refusing it`);
    }
    return path as X509Certificate[];
  }
  // The path pkijs was building: from the leaf, first verified issuer each step, up to an anchor or a dead end.
  const tried: X509Certificate[] = [leaf];
  const seen = new Set<Pkijs.Certificate>([leafP]);
  for (let cur = issuers.get(leafP)?.[0]; cur && !seen.has(cur); cur = issuers.get(cur)?.[0]) {
    seen.add(cur);
    tried.push(nodeOf(cur)!);
    if (anchors.some((a) => a.raw.equals(tried[tried.length - 1].raw))) {
      break;
    }
  }
  const reachesAnchor = anchors.some((a) => a.raw.equals(tried[tried.length - 1].raw));
  const named = reachesAnchor ? pathProblem(tried, opts) : undefined;
  if (named) {
    throw new VerificationError(named);
  }
  if (!reachesAnchor) {
    const anchorsName = opts.anchorsName ?? 'trust anchor(s)';
    throw new VerificationError(
      `certificate chain of ${certificateName(leaf)} does not lead to a trust anchor: no verifying issuer for ` +
      `${certificateName(tried[tried.length - 1])} among the bundle's ${others.length} chain certificate(s) and the ${anchors.length} ` +
      `${anchorsName} (${anchors.map(certificateName).join('; ')})`);
  }
  const constraint = /name constraint/i.test(result.resultMessage) ? ' (its subject alternative names are outside what a CA on the path permits)' : '';
  throw new VerificationError(`certificate chain of ${certificateName(leaf)} is not valid: ${result.resultMessage}${constraint}`);
}

/** The first rule a path breaks, in the order a reader would look (dates, CA flags, path length, critical extensions). */
function pathProblem(path: readonly X509Certificate[], opts: PathValidationOptions): string | undefined {
  for (const cert of path) {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (opts.at < from) {
      return `certificate ${certificateName(cert)} is not valid at ${opts.at.toISOString()} (${opts.atSource}): it is valid only from ${from.toISOString()} (to ${to.toISOString()})`;
    }
    if (opts.at > to) {
      return `certificate ${certificateName(cert)} is not valid at ${opts.at.toISOString()} (${opts.atSource}): it expired on ${to.toISOString()} (valid from ${from.toISOString()})`;
    }
  }
  const parsed = path.map(toPkijs);
  for (let i = 1; i < path.length; i++) {
    const bc = extension(parsed[i], OID.basicConstraints)?.parsedValue as Pkijs.BasicConstraints | undefined;
    const ku = keyUsageOf(parsed[i]);
    if (!bc?.cA || (ku !== undefined && (ku & 0x04) === 0)) {
      return `certificate ${certificateName(path[i])} issues ${certificateName(path[i - 1])} but is not a CA (basicConstraints CA:TRUE, and keyCertSign when it has a key usage)`;
    }
    const pathLen = bc.pathLenConstraint === undefined ? undefined
      : typeof bc.pathLenConstraint === 'number' ? bc.pathLenConstraint : bc.pathLenConstraint.valueBlock.valueDec;
    // CAs below this one on the path; a self-issued certificate does not count (RFC 5280 §6.1.4 (l))
    const below = path.slice(1, i).filter((c) => c.subject !== c.issuer).length;
    if (pathLen !== undefined && below > pathLen) {
      return `CA certificate ${certificateName(path[i])} allows at most ${pathLen} intermediate CA certificate(s) below it (pathLenConstraint ${pathLen}), but the path to ${certificateName(path[0])} has ${below}`;
    }
  }
  for (const [i, p] of parsed.entries()) {
    const unknown = (p.extensions ?? []).find((e) => e.critical && !PROCESSED_CRITICAL.has(e.extnID));
    if (unknown) {
      return `certificate ${certificateName(path[i])} has an unknown critical extension ${unknown.extnID}; a certificate with a critical extension the verifier does not process must be refused (RFC 5280 §4.2)`;
    }
  }
  return undefined;
}

function checkPurpose(p: Pkijs.Certificate, cert: X509Certificate, purpose: CertificatePurpose, role: string): void {
  const ku = keyUsageOf(p);
  const ekuExt = extension(p, OID.extKeyUsage);
  const eku = (ekuExt?.parsedValue as Pkijs.ExtKeyUsage | undefined)?.keyPurposes;
  const ekuText = (list: readonly string[]) => list.map((o) => (EKU_NAMES[o] ? `${EKU_NAMES[o]} (${o})` : o)).join(', ');
  if (purpose === 'timeStamping') {
    if (!ekuExt || !ekuExt.critical || !eku || eku.length !== 1 || eku[0] !== TIME_STAMPING_EKU) {
      throw new VerificationError(
        `${role} ${certificateName(cert)} is not a timestamping certificate: RFC 3161 §2.3 requires exactly one extended key usage, ` +
        `timeStamping (${TIME_STAMPING_EKU}), marked critical; it has ${ekuExt ? `${ekuText(eku ?? [])}${ekuExt.critical ? ', critical' : ', not critical'}` : 'none'}`);
    }
    return;
  }
  if (ku === undefined && eku === undefined) {
    throw new VerificationError(
      `${role} ${certificateName(cert)} has neither a key usage nor an extended key usage extension; a signing certificate needs key usage digitalSignature or extended key usage codeSigning`);
  }
  if (ku !== undefined && (ku & 0x80) === 0) {
    const names = KEY_USAGE_NAMES.filter((_, bit) => (ku & (0x80 >> bit)) !== 0);
    throw new VerificationError(
      `${role} ${certificateName(cert)} cannot sign: its key usage (${names.join(', ') || 'empty'}) lacks digitalSignature`);
  }
  if (eku !== undefined && !eku.some((o) => o === CODE_SIGNING_EKU || o === ANY_EKU)) {
    throw new VerificationError(
      `${role} ${certificateName(cert)} is not a code-signing certificate: its extended key usage is ${ekuText(eku) || 'empty'}; ` +
      `it needs codeSigning (${CODE_SIGNING_EKU}) or anyExtendedKeyUsage`);
  }
}

function extension(p: Pkijs.Certificate, oid: string): Pkijs.Extension | undefined {
  return (p.extensions ?? []).find((e) => e.extnID === oid);
}

/** The first byte of the KeyUsage bits (0x80 digitalSignature … 0x01 encipherOnly), or undefined without the extension. */
function keyUsageOf(p: Pkijs.Certificate): number | undefined {
  const ext = extension(p, OID.keyUsage);
  if (!ext) {
    return undefined;
  }
  const bits = ext.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
  return bits?.valueBlock?.valueHexView?.[0] ?? 0;
}

function dedupe(certs: readonly X509Certificate[]): X509Certificate[] {
  return certs.filter((c, i) => certs.findIndex((d) => d.raw.equals(c.raw)) === i);
}
