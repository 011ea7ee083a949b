/**
 * A signer backed by a local PEM EC private key (development, CI, air-gapped signing).
 */
import { createPublicKey, sign as cryptoSign, KeyObject } from 'crypto';
import { promises as fs } from 'fs';
import { UsageError } from '../codec/errors';
import { hashForKey, keyHint, loadPrivateKey } from '../engine/keys';
import type { Signer, VerificationMaterial } from '../engine/signer';

/**
 * Signs with an EC private key held in memory (P-256, P-384 or P-521).
 *
 * The bundle names the key by its hint (hex SHA-256 of the SPKI PEM), as the reference `model_signing sign key` does.
 */
export class LocalKeySigner implements Signer {
  /**
   * Loads a signer from a PEM private key file (PKCS#8 or SEC1; encrypted PKCS#8 needs `password`).
   *
   * @throws UsageError when the file cannot be read, is not an EC key on a supported curve, or the password is wrong
   */
  public static async fromFile(file: string, password?: string): Promise<LocalKeySigner> {
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (e) {
      throw new UsageError(`cannot read private key ${file}: ${(e as Error).message}`);
    }
    return LocalKeySigner.fromPem(data, file, password);
  }

  /**
   * Loads a signer from PEM bytes.
   *
   * @param source names the key in errors
   */
  public static fromPem(pem: Buffer | string, source = 'private key', password?: string): LocalKeySigner {
    return new LocalKeySigner(loadPrivateKey(Buffer.isBuffer(pem) ? pem : Buffer.from(pem), source, password));
  }

  private readonly pub: KeyObject;

  /**
   * Wraps a private key object.
   *
   * @throws UsageError when the key is not a private EC key on P-256, P-384 or P-521
   */
  public constructor(private readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private') {
      throw new UsageError(`LocalKeySigner needs a private key, got a ${privateKey.type} key`);
    }
    hashForKey(privateKey);
    this.pub = createPublicKey(privateKey);
  }

  /** The signer's public key. */
  public async publicKey(): Promise<KeyObject> {
    return this.pub;
  }

  /** `{publicKey: {hint}}` with the OMS key hint. */
  public async verificationMaterial(): Promise<VerificationMaterial> {
    return { publicKey: { hint: keyHint(this.pub) } };
  }

  /** ECDSA over `message` with the curve's hash, DER-encoded. */
  public async sign(message: Buffer): Promise<Buffer> {
    return cryptoSign(hashForKey(this.privateKey), message, { key: this.privateKey, dsaEncoding: 'der' });
  }
}
