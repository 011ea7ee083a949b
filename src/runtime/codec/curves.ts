/**
 * The one table of elliptic curves ModelSeal signs and verifies with, and every name each curve goes by: node
 * `crypto`, JWK/Sigstore, the DER OID (PKCS#11 `CKA_EC_PARAMS`, SubjectPublicKeyInfo), the Sigstore `keyDetails`
 * and the JWS `alg`. Each curve is paired with one hash, as in the reference model_signing and the Sigstore key
 * details (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512).
 *
 * @see https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_common.proto (PublicKeyDetails)
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.4 (ES256/ES384/ES512)
 */
import type { KeyObject } from 'crypto';

/** A curve's name as JWK and OMS spell it. */
export type CurveName = 'P-256' | 'P-384' | 'P-521';

/** The hash ECDSA uses with a curve (node `crypto` names). */
export type CurveHash = 'sha256' | 'sha384' | 'sha512';

/** One supported curve. */
export interface EcCurve {
  /** `P-256`, `P-384` or `P-521`. */
  readonly name: CurveName;
  /** Node's `asymmetricKeyDetails.namedCurve`. */
  readonly nodeName: string;
  /** Byte length of a field element: of `r`, `s`, and each point coordinate. */
  readonly size: number;
  /** The hash paired with the curve. */
  readonly hash: CurveHash;
  /** DER of the curve's OBJECT IDENTIFIER, tag and length included. */
  readonly oidDer: Buffer;
  /** Sigstore `PublicKeyDetails` of older bundles. */
  readonly keyDetails: string;
  /** JWS `alg` (RFC 7518 §3.4). */
  readonly jwsAlg: string;
}

/** NIST P-256 (secp256r1, OID 1.2.840.10045.3.1.7). */
export const P256: EcCurve = {
  name: 'P-256',
  nodeName: 'prime256v1',
  size: 32,
  hash: 'sha256',
  oidDer: Buffer.from('06082a8648ce3d030107', 'hex'),
  keyDetails: 'PKIX_ECDSA_P256_SHA_256',
  jwsAlg: 'ES256',
};

/** NIST P-384 (secp384r1, OID 1.3.132.0.34). */
export const P384: EcCurve = {
  name: 'P-384',
  nodeName: 'secp384r1',
  size: 48,
  hash: 'sha384',
  oidDer: Buffer.from('06052b81040022', 'hex'),
  keyDetails: 'PKIX_ECDSA_P384_SHA_384',
  jwsAlg: 'ES384',
};

/** NIST P-521 (secp521r1, OID 1.3.132.0.35). */
export const P521: EcCurve = {
  name: 'P-521',
  nodeName: 'secp521r1',
  size: 66,
  hash: 'sha512',
  oidDer: Buffer.from('06052b81040023', 'hex'),
  keyDetails: 'PKIX_ECDSA_P521_SHA_512',
  jwsAlg: 'ES512',
};

/** Every supported curve. Backends narrow it (AWS KMS and the PKCS#11 signer take P-256 and P-384). */
export const CURVES: readonly EcCurve[] = [P256, P384, P521];

/** The curve named `name` (`P-256`, ...), or undefined. */
export function curveNamed(name: string): EcCurve | undefined {
  return CURVES.find((c) => c.name === name);
}

/** The curve of an EC key (public or private), or undefined for other key types and curves. */
export function curveOfKey(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') {
    return undefined;
  }
  const named = key.asymmetricKeyDetails?.namedCurve;
  return CURVES.find((c) => c.nodeName === named);
}

/** The curve whose DER OID equals `oidDer` exactly (e.g. a PKCS#11 `CKA_EC_PARAMS`), or undefined. */
export function curveOfOid(oidDer: Buffer): EcCurve | undefined {
  return CURVES.find((c) => c.oidDer.equals(oidDer));
}

/** The curve a Sigstore `keyDetails` value names, or undefined. */
export function curveOfKeyDetails(details: string): EcCurve | undefined {
  return CURVES.find((c) => c.keyDetails === details);
}

/** The curve a JWS `alg` requires, or undefined. */
export function curveOfJwsAlg(alg: string): EcCurve | undefined {
  return CURVES.find((c) => c.jwsAlg === alg);
}
