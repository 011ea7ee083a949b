/**
 * RFC 3161 timestamps in Sigstore bundles: what the verifier trusts as the signing time.
 *
 * A bundle may carry `verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`: the DER
 * `TimeStampResp` a timestamp authority (TSA) returned for a request whose message imprint is the hash of the raw
 * DSSE signature bytes (the base64-decoded `dsseEnvelope.signatures[0].sig`, not its text). Sigstore clients check
 * the imprint against exactly those bytes (protobuf-specs `TimestampVerificationData`), and so does this module.
 *
 * A verified timestamp proves the signature existed at its `genTime`: certificates are then checked at that time, so a
 * bundle signed with a short-lived certificate keeps verifying after the certificate expires, and a bundle whose
 * certificate had expired before it was signed never does.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3161 (TSP), https://www.rfc-editor.org/rfc/rfc5816 (ESSCertIDv2)
 * @see https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto (TimestampVerificationData)
 */
import { createHash, X509Certificate } from 'crypto';
import type * as Pkijs from 'pkijs';
import { asn1js, certificateName, pkijs, toArrayBuffer, validateCertificatePath } from './x509-path';
import { VerificationError } from '../codec/errors';

/** Hash algorithms accepted in a message imprint, by OID. */
const IMPRINT_HASHES: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** OID of SHA-256, the hash ModelSeal's requests use for the imprint. */
export const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** id-ct-TSTInfo (RFC 3161 §2.4.2). */
const TST_INFO_OID = '1.2.840.113549.1.9.16.1.4';
/** id-aa-signingCertificate (RFC 2634 §5.4) and id-aa-signingCertificateV2 (RFC 5035 §3). */
const SIGNING_CERTIFICATE_OID = '1.2.840.113549.1.9.16.2.12';
const SIGNING_CERTIFICATE_V2_OID = '1.2.840.113549.1.9.16.2.47';

/** How far a timestamp's genTime may lie ahead of the verifier's clock (clock skew between TSA and verifier). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/**
 * Requests an RFC 3161 timestamp over a signature at sign time. Implemented by signers/tsa-client.ts (HTTP).
 */
export interface Timestamper {
  /** Where the timestamps come from (a URL), for messages. */
  readonly source: string;
  /**
   * Returns the DER `TimeStampResp` of a granted timestamp whose imprint is SHA-256 over `signature`.
   *
   * @throws Error (UsageError) when the TSA cannot be reached or does not grant the request
   */
  timestamp(signature: Buffer): Promise<Buffer>;
}

/** A timestamp that verified. */
export interface VerifiedTimestamp {
  /** `genTime` of the TSTInfo: when the TSA saw the signature. */
  readonly genTime: Date;
  /** The TSA's certificate (the CMS signer). */
  readonly tsaCertificate: X509Certificate;
  /** TSTInfo serial number (hex). */
  readonly serial: string;
  /** TSTInfo policy OID. */
  readonly policy: string;
}

/** A parsed `TimeStampResp`, before anything in it is trusted. */
export interface ParsedTimestamp {
  readonly signedData: Pkijs.SignedData;
  readonly tstInfo: Pkijs.TSTInfo;
  /** The certificates embedded in the token. */
  readonly certificates: X509Certificate[];
}

/**
 * Parses a DER `TimeStampResp` (RFC 3161 §2.4.2): status granted or grantedWithMods, a SignedData token with one
 * signer whose content is a TSTInfo.
 *
 * @param what names the timestamp in errors
 * @throws VerificationError naming what is malformed or refused
 */
export function parseTimestampResponse(der: Buffer, what: string): ParsedTimestamp {
  const P = pkijs();
  let resp: Pkijs.TimeStampResp;
  try {
    resp = P.TimeStampResp.fromBER(toArrayBuffer(der));
  } catch (e) {
    throw new VerificationError(`${what} is not a DER RFC 3161 TimeStampResp: ${(e as Error).message}`);
  }
  const status = resp.status.status;
  if (status !== P.PKIStatus.granted && status !== P.PKIStatus.grantedWithMods) {
    const text = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    throw new VerificationError(`${what} has status ${status} (${P.PKIStatus[status] ?? 'unknown'}${text ? `: ${text}` : ''}), not granted`);
  }
  if (!resp.timeStampToken) {
    throw new VerificationError(`${what} is granted but carries no timeStampToken`);
  }
  let signedData: Pkijs.SignedData;
  let tstInfo: Pkijs.TSTInfo;
  try {
    if (resp.timeStampToken.contentType !== P.ContentInfo.SIGNED_DATA) {
      throw new Error(`token content type ${resp.timeStampToken.contentType} is not signedData`);
    }
    signedData = new P.SignedData({ schema: resp.timeStampToken.content });
    if (signedData.encapContentInfo.eContentType !== TST_INFO_OID || !signedData.encapContentInfo.eContent) {
      throw new Error(`token content type ${signedData.encapContentInfo.eContentType} is not TSTInfo`);
    }
    if (signedData.signerInfos.length !== 1) {
      throw new Error(`token has ${signedData.signerInfos.length} signers; RFC 3161 §2.4.2 allows exactly one`);
    }
    tstInfo = P.TSTInfo.fromBER(signedData.encapContentInfo.eContent.getValue());
  } catch (e) {
    throw new VerificationError(`${what} is not a valid timestamp token: ${(e as Error).message}`);
  }
  const certificates = (signedData.certificates ?? []).flatMap((c) => {
    if (!(c instanceof P.Certificate)) {
      return [];
    }
    try {
      return [new X509Certificate(Buffer.from(c.toSchema().toBER()))];
    } catch (e) {
      throw new VerificationError(`${what} embeds a certificate that is not valid X.509: ${(e as Error).message}`);
    }
  });
  return { signedData, tstInfo, certificates };
}

/**
 * Verifies one RFC 3161 timestamp over `signature` (the raw DSSE signature bytes) against trusted TSA certificates.
 *
 * Checks, in order: the response is granted; the TSTInfo imprint is SHA-256/384/512 of exactly `signature` (else the
 * timestamp is "over other bytes"); the CMS signature (signed attributes with messageDigest, the ESS signing
 * certificate when present); the TSA certificate's path to `anchors` at `genTime` (every certificate valid then, the
 * RFC 5280 rules of engine/x509-path.ts), the TSA certificate with the one critical extended key usage timeStamping;
 * and `genTime` no later than `now` (plus {@link MAX_FUTURE_SKEW_MS}). An anchor may be the TSA certificate itself.
 *
 * @param anchors trusted TSA root (or TSA) certificates: `--timestamp-authority-cert`, the policy's `timestampAuthorities`
 * @param what names the timestamp in errors, e.g. `model.sig timestamp #0`
 * @throws VerificationError naming the check that failed
 */
export async function verifyTimestamp(
  der: Buffer, signature: Buffer, anchors: readonly X509Certificate[], what: string, now: Date = new Date(),
): Promise<VerifiedTimestamp> {
  const P = pkijs();
  if (anchors.length === 0) {
    throw new VerificationError(`${what} cannot be verified: no timestamp authority is trusted (pass --timestamp-authority-cert PEM)`);
  }
  const { signedData, tstInfo, certificates } = parseTimestampResponse(der, what);
  const hash = IMPRINT_HASHES[tstInfo.messageImprint.hashAlgorithm.algorithmId];
  if (!hash) {
    throw new VerificationError(`${what} imprint uses hash algorithm ${tstInfo.messageImprint.hashAlgorithm.algorithmId}; expected SHA-256, SHA-384 or SHA-512`);
  }
  const imprint = Buffer.from(tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (!imprint.equals(createHash(hash).update(signature).digest())) {
    throw new VerificationError(
      `${what} is over other bytes: its message imprint is not the ${hash.toUpperCase()} of this bundle's DSSE signature`);
  }
  // Without embedded certificates (a request without certReq) the signer can only be a trusted TSA certificate.
  const pool = certificates.length > 0 ? certificates : [...anchors];
  if (certificates.length === 0) {
    signedData.certificates = anchors.map((a) => P.Certificate.fromBER(toArrayBuffer(a.raw)));
  }
  let result: Pkijs.SignedDataVerifyResult;
  try {
    result = await signedData.verify({ signer: 0, data: toArrayBuffer(signature), checkChain: false, extendedMode: true });
  } catch (e) {
    const err = e as { message?: string; signerCertificate?: Pkijs.Certificate | null };
    throw new VerificationError(`${what} does not verify: ${err.message ?? String(e)}`);
  }
  if (!result.signatureVerified || !result.signerCertificate) {
    throw new VerificationError(`${what} does not verify: ${result.message || 'the TSA signature is not valid'}`);
  }
  const signerDer = Buffer.from(result.signerCertificate.toSchema().toBER());
  const tsa = pool.find((c) => c.raw.equals(signerDer)) ?? new X509Certificate(signerDer);
  checkSigningCertificateAttribute(signedData.signerInfos[0], tsa, what);
  const genTime = tstInfo.genTime;
  if (genTime.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw new VerificationError(`${what} says it was issued at ${genTime.toISOString()}, in the future (now ${now.toISOString()})`);
  }
  try {
    await validateCertificatePath(tsa, pool, anchors, {
      at: genTime,
      atSource: 'the time of the timestamp it signed',
      purpose: 'timeStamping',
      leafRole: 'TSA certificate',
      anchorsName: 'trusted timestamp authority certificate(s)',
    });
  } catch (e) {
    throw new VerificationError(`${what} is not from a trusted timestamp authority: ${(e as Error).message}`);
  }
  return {
    genTime,
    tsaCertificate: tsa,
    serial: Buffer.from(tstInfo.serialNumber.valueBlock.valueHexView).toString('hex'),
    policy: tstInfo.policy,
  };
}

/**
 * When the signer info carries an ESS signing-certificate attribute (RFC 2634 / RFC 5035, which RFC 3161 §2.4.1 and
 * RFC 5816 ask TSAs to include), its first certificate hash must be the hash of the certificate that verified.
 */
function checkSigningCertificateAttribute(signer: Pkijs.SignerInfo, tsa: X509Certificate, what: string): void {
  const A = asn1js();
  for (const attr of signer.signedAttrs?.attributes ?? []) {
    if (attr.type !== SIGNING_CERTIFICATE_OID && attr.type !== SIGNING_CERTIFICATE_V2_OID) {
      continue;
    }
    const v2 = attr.type === SIGNING_CERTIFICATE_V2_OID;
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
    // ESSCertID   ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }
    const seq = (v: unknown) => (v instanceof A.Sequence ? v.valueBlock.value : []);
    const fields = seq(seq(seq(attr.values[0])[0])[0]);
    const algorithm = v2 && fields[0] instanceof A.Sequence ? seq(fields[0])[0] : undefined;
    const hashField = algorithm !== undefined ? fields[1] : fields[0];
    const hash = !v2 ? 'sha1' : algorithm === undefined ? 'sha256'
      : algorithm instanceof A.ObjectIdentifier ? IMPRINT_HASHES[algorithm.valueBlock.toString()] : undefined;
    const certHash = hashField instanceof A.OctetString ? hashField.valueBlock.valueHexView : undefined;
    if (!hash || !certHash) {
      throw new VerificationError(`${what} has an ESS signing-certificate attribute that cannot be read`);
    }
    if (!Buffer.from(certHash).equals(createHash(hash).update(tsa.raw).digest())) {
      throw new VerificationError(`${what} names another signing certificate (ESS certHash) than the TSA certificate ${certificateName(tsa)} that signed it`);
    }
  }
}
