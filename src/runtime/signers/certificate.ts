/**
 * Certificate signing: a key plus its X.509 signing certificate and chain, written into the bundle as the reference
 * `model_signing sign certificate` does. Chain verification lives in the engine (engine/certificates.ts).
 */
import { KeyObject, X509Certificate } from 'crypto';
import { LocalKeySigner } from './local';
import { UsageError } from '../codec/errors';
import { checkSigningCertificate, readCertificateFile } from '../engine/certificates';
import { curveOf, sameKey } from '../engine/keys';
import type { Signer, VerificationMaterial } from '../engine/signer';

/**
 * Signs with a key whose public half is certified by a signing certificate, and writes the leaf and its chain
 * into the bundle (`x509CertificateChain`, leaf first), as the reference `model_signing sign certificate` does.
 */
export class CertificateSigner implements Signer {
  /**
   * Builds a certificate signer from PEM files: the private key, the signing (leaf) certificate and any number of
   * chain files (each may hold several certificates; they are written after the leaf in the order given).
   *
   * @throws UsageError when a file cannot be read or parsed, or the certificate does not match the key
   */
  public static async fromFiles(opts: {
    readonly privateKey: string;
    readonly password?: string;
    readonly signingCertificate: string;
    readonly certificateChain?: readonly string[];
  }): Promise<CertificateSigner> {
    const key = await LocalKeySigner.fromFile(opts.privateKey, opts.password);
    return CertificateSigner.fromSigner(key, opts.signingCertificate, opts.certificateChain ?? []);
  }

  /**
   * Builds a certificate signer around any {@link Signer} (a local key, an HSM key) from certificate files.
   *
   * The signing certificate must be one a verifier would accept now (engine `checkSigningCertificate`: valid dates
   * along the chain, a code-signing purpose, no unknown critical extension, the chain's links), so that no bundle is
   * signed that nobody can verify.
   *
   * @throws UsageError when a file cannot be read or parsed, the certificate does not match the key, or a verifier
   *   would refuse the certificate
   */
  public static async fromSigner(signer: Signer, signingCertificate: string, certificateChain: readonly string[]): Promise<CertificateSigner> {
    const leaves = await readCertificateFile(signingCertificate);
    if (leaves.length !== 1) {
      throw new UsageError(`signing certificate ${signingCertificate} holds ${leaves.length} certificates; expected exactly one (put the rest in --certificate-chain)`);
    }
    const chain: X509Certificate[] = [];
    for (const f of certificateChain) {
      chain.push(...await readCertificateFile(f));
    }
    const leaf = leaves[0];
    const pub = await signer.publicKey();
    if (!sameKey(leaf.publicKey, pub)) {
      throw new UsageError(
        `signing certificate ${signingCertificate} (${leaf.subject.replace(/\n/g, ', ')}) certifies another key than the signing key`);
    }
    await checkSigningCertificate(leaf, chain, signingCertificate);
    return new CertificateSigner(signer, leaf, chain);
  }

  /**
   * Wraps a signer as is, without the checks of {@link fromSigner} (tests use it to build bundles a verifier refuses).
   *
   * @param signer the key that signs; must be the key `leaf` certifies
   * @param leaf the signing certificate
   * @param chain intermediate (and optionally root) certificates, written after the leaf
   */
  public constructor(
    private readonly signer: Signer,
    private readonly leaf: X509Certificate,
    private readonly chain: readonly X509Certificate[],
  ) {
    curveOf(leaf.publicKey, 'signing certificate key');
  }

  /** The leaf certificate's public key. */
  public async publicKey(): Promise<KeyObject> {
    return this.leaf.publicKey;
  }

  /** `{x509CertificateChain: {certificates: [leaf, ...chain]}}` as base64 DER. */
  public async verificationMaterial(): Promise<VerificationMaterial> {
    return {
      x509CertificateChain: {
        certificates: [this.leaf, ...this.chain].map((c) => ({ rawBytes: c.raw.toString('base64') })),
      },
    };
  }

  /** Signs with the wrapped signer. */
  public async sign(message: Buffer): Promise<Buffer> {
    return this.signer.sign(message);
  }

  /** Closes the wrapped signer. */
  public async close(): Promise<void> {
    await this.signer.close?.();
  }
}
