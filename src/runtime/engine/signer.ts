/**
 * The signer contract every key backend implements (local PEM, PKCS#11, AWS KMS, certificate).
 */
import type { KeyObject } from 'crypto';

/** Sigstore bundle v0.3 `verificationMaterial` written for a signer. */
export type VerificationMaterial =
  | { readonly publicKey: { readonly hint: string } }
  | { readonly x509CertificateChain: { readonly certificates: { readonly rawBytes: string }[] } };

/** An ECDSA signer over DSSE PAE bytes. */
export interface Signer {
  /** The signer's public key (for the key hint and for checking its own signatures). */
  publicKey(): Promise<KeyObject>;
  /** What goes into the bundle's `verificationMaterial`. */
  verificationMaterial(): Promise<VerificationMaterial>;
  /**
   * Signs `message` (the DSSE PAE bytes), hashing with the hash that matches the key's curve
   * (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512). Returns a DER-encoded ECDSA signature.
   */
  sign(message: Buffer): Promise<Buffer>;
  /**
   * An RFC 3161 timestamp over a signature this signer made: the DER `TimeStampResp`, put in the bundle's
   * `timestampVerificationData` (engine/timestamp.ts). Signers without it produce bundles without timestamps.
   * Failing here fails the signing: no bundle is written without the timestamp that was asked for.
   */
  timestamp?(signature: Buffer): Promise<Buffer>;
  /** Releases sessions or clients (PKCS#11 sessions, SDK clients). */
  close?(): Promise<void>;
}
