/**
 * A signer backed by an AWS KMS asymmetric key (ECC_NIST_P256 or ECC_NIST_P384, key usage SIGN_VERIFY).
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { curveOfKey, P256, P384, type EcCurve } from '../codec/curves';
import { UsageError } from '../codec/errors';
import { keyHint } from '../engine/keys';
import type { Signer, VerificationMaterial } from '../engine/signer';

/** KMS key specs a ModelSeal signer accepts, with their curve and signing algorithm. */
const SPECS: Record<string, { curve: EcCurve; algorithm: 'ECDSA_SHA_256' | 'ECDSA_SHA_384' }> = {
  ECC_NIST_P256: { curve: P256, algorithm: 'ECDSA_SHA_256' },
  ECC_NIST_P384: { curve: P384, algorithm: 'ECDSA_SHA_384' },
};

const KEY_ID = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** Options shared by {@link KmsSigner.open} and {@link kmsPublicKey}. */
export interface KmsClientOptions {
  /**
   * AWS region of the key.
   *
   * @default the region in a key or alias ARN, else the SDK's own lookup (AWS_REGION, the profile's region)
   */
  readonly region?: string;
  /**
   * The KMS client to call; tests inject a mocked one. A client passed in is not destroyed by `close()`.
   *
   * @default a new `KMSClient` for the region
   */
  readonly client?: KMSClient;
}

/** Options for {@link KmsSigner.open}. */
export interface KmsSignerOptions extends KmsClientOptions {
  /** Key id, key ARN, alias name (`alias/model-signing`) or alias ARN. */
  readonly keyId: string;
}

/** What GetPublicKey told us about a key. */
export interface KmsKeyInfo {
  /** The public key (from the SubjectPublicKeyInfo DER KMS returns). */
  readonly publicKey: KeyObject;
  /** `ECC_NIST_P256` or `ECC_NIST_P384`. */
  readonly keySpec: string;
  /** `ECDSA_SHA_256` or `ECDSA_SHA_384`, matching the key spec. */
  readonly signingAlgorithm: 'ECDSA_SHA_256' | 'ECDSA_SHA_384';
  /** The key's curve. */
  readonly curve: EcCurve;
  /** The key ARN KMS resolved the id or alias to. */
  readonly keyArn: string;
}

/**
 * Checks the form of a KMS key reference and returns the region an ARN carries.
 *
 * @throws UsageError naming the value and the accepted forms.
 */
export function parseKmsKeyId(keyId: string): { readonly region?: string } {
  if (KEY_ID.test(keyId) || ALIAS.test(keyId)) {
    return {};
  }
  const arn = ARN.exec(keyId);
  if (arn && (arn[3] === 'alias' ? ALIAS.test(`alias/${arn[4]}`) : KEY_ID.test(arn[4]))) {
    return { region: arn[1] };
  }
  throw new UsageError(
    `"${keyId}" is not a KMS key reference; use a key id (1234abcd-12ab-34cd-56ef-1234567890ab or mrk-...), ` +
      'a key ARN (arn:aws:kms:<region>:<account>:key/<id>), an alias (alias/<name>) or an alias ARN',
  );
}

/** Picks the region: explicit, else the ARN's; an explicit region that contradicts the ARN is an error. */
function regionFor(keyId: string, region: string | undefined): string | undefined {
  const fromArn = parseKmsKeyId(keyId).region;
  if (region !== undefined && fromArn !== undefined && region !== fromArn) {
    throw new UsageError(`KMS key "${keyId}" is in region ${fromArn}, but region ${region} was given; drop the region or use the key's`);
  }
  return region ?? fromArn;
}

/**
 * Turns a KMS or SDK error into one that names the key, the action and what to fix.
 *
 * Configuration problems (access, missing or disabled key, wrong key type, no credentials or region)
 * become {@link UsageError}; anything else (throttling, network) keeps its cause in a plain Error.
 */
export function kmsError(e: unknown, keyId: string, action: 'kms:GetPublicKey' | 'kms:Sign'): Error {
  const err = e as { name?: string; message?: string };
  const name = err?.name ?? 'Error';
  const detail = err?.message ?? String(e);
  switch (name) {
    case 'AccessDeniedException':
      return new UsageError(
        `access denied: ${action} on KMS key "${keyId}" (${detail}). The caller needs ${action} on the key` +
          (action === 'kms:Sign' ? ' with kms:MessageType DIGEST and the key\'s kms:SigningAlgorithm' : '') +
          ', granted by the key policy, an IAM policy or a grant; see docs/KEYS.md',
      );
    case 'NotFoundException':
      return new UsageError(`KMS key "${keyId}" was not found (${detail}); check the key id or alias and the region`);
    case 'InvalidArnException':
      return new UsageError(`KMS rejected the key reference "${keyId}" (${detail}); check the ARN`);
    case 'DisabledException':
      return new UsageError(`KMS key "${keyId}" is disabled; enable it (kms:EnableKey) or use another key`);
    case 'KMSInvalidStateException':
      return new UsageError(`KMS key "${keyId}" cannot be used in its current state (${detail}); a key pending deletion must be restored first`);
    case 'KeyUnavailableException':
      return new Error(`KMS key "${keyId}" is temporarily unavailable (${detail}); retry later`);
    case 'InvalidKeyUsageException':
    case 'UnsupportedOperationException':
      return new UsageError(
        `KMS key "${keyId}" cannot be used for ${action} (${detail}); OMS signing needs an asymmetric key with ` +
          'KeyUsage SIGN_VERIFY and KeySpec ECC_NIST_P256 or ECC_NIST_P384',
      );
    case 'CredentialsProviderError':
      return new UsageError(`no AWS credentials for ${action} on KMS key "${keyId}" (${detail}); configure credentials (role, profile or environment)`);
    default:
      if (/region is missing/i.test(detail)) {
        return new UsageError(`no AWS region for KMS key "${keyId}"; pass a region, use a key ARN, or set AWS_REGION`);
      }
      return new Error(`${action} on KMS key "${keyId}" failed: ${name}: ${detail}`);
  }
}

/**
 * Reads a KMS key's public key and checks it is an ECDSA P-256 or P-384 signing key.
 *
 * @throws UsageError when the key is missing, not readable, or of the wrong kind.
 */
export async function describeKmsKey(keyId: string, client: KMSClient): Promise<KmsKeyInfo> {
  let out;
  try {
    out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  } catch (e) {
    throw kmsError(e, keyId, 'kms:GetPublicKey');
  }
  if (out.KeyUsage !== 'SIGN_VERIFY') {
    throw new UsageError(`KMS key "${keyId}" has KeyUsage ${out.KeyUsage ?? 'unknown'}; OMS signing needs a SIGN_VERIFY key (ECC_NIST_P256 or ECC_NIST_P384)`);
  }
  const spec = out.KeySpec !== undefined ? SPECS[out.KeySpec] : undefined;
  if (!spec) {
    throw new UsageError(`KMS key "${keyId}" has KeySpec ${out.KeySpec ?? 'unknown'}; OMS signing needs ECC_NIST_P256 or ECC_NIST_P384`);
  }
  if (out.PublicKey === undefined) {
    throw new Error(`KMS GetPublicKey for "${keyId}" returned no public key`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
  } catch (e) {
    throw new Error(`KMS GetPublicKey for "${keyId}" returned an unreadable public key: ${(e as Error).message}`);
  }
  if (curveOfKey(publicKey) !== spec.curve) {
    throw new Error(`KMS key "${keyId}" reports KeySpec ${out.KeySpec} but its public key is on another curve`);
  }
  if (out.SigningAlgorithms !== undefined && !out.SigningAlgorithms.includes(spec.algorithm)) {
    throw new UsageError(`KMS key "${keyId}" does not offer ${spec.algorithm} (it offers ${out.SigningAlgorithms.join(', ')})`);
  }
  return { publicKey, keySpec: out.KeySpec!, signingAlgorithm: spec.algorithm, curve: spec.curve, keyArn: out.KeyId ?? keyId };
}

/**
 * The public key of a KMS signing key, for `verify kms` and `pubkey --kms-key`.
 *
 * Needs only `kms:GetPublicKey`. Checks the key is an ECDSA P-256/P-384 SIGN_VERIFY key.
 *
 * @param regionOrOptions a region, or {@link KmsClientOptions}
 */
export async function kmsPublicKey(keyId: string, regionOrOptions?: string | KmsClientOptions): Promise<KeyObject> {
  const options: KmsClientOptions = typeof regionOrOptions === 'string' ? { region: regionOrOptions } : regionOrOptions ?? {};
  const region = regionFor(keyId, options.region);
  const client = options.client ?? new KMSClient(region !== undefined ? { region } : {});
  try {
    return (await describeKmsKey(keyId, client)).publicKey;
  } finally {
    if (options.client === undefined) {
      client.destroy();
    }
  }
}

/**
 * Signs with an AWS KMS asymmetric key; the private key never leaves KMS.
 *
 * The PAE is hashed locally and KMS signs the digest (`MessageType: DIGEST`): KMS accepts at most 4096
 * bytes of raw message, and ModelSeal's key policy allows only DIGEST. Sign is called with the key
 * reference as given, so alias-based policy conditions (`kms:RequestAlias`) keep working; because an alias
 * could be moved to another key between GetPublicKey and Sign, every signature is checked against the
 * public key read at open before it is returned.
 */
export class KmsSigner implements Signer {
  /**
   * Reads the key's public key and checks its spec and usage, then returns a ready signer.
   *
   * @throws UsageError for a malformed key reference, a missing, disabled or unreadable key, or a key that
   *   is not an ECDSA P-256/P-384 SIGN_VERIFY key.
   */
  public static async open(options: KmsSignerOptions): Promise<KmsSigner> {
    const region = regionFor(options.keyId, options.region);
    const client = options.client ?? new KMSClient(region !== undefined ? { region } : {});
    try {
      const info = await describeKmsKey(options.keyId, client);
      return new KmsSigner(options.keyId, client, options.client === undefined, info);
    } catch (e) {
      if (options.client === undefined) {
        client.destroy();
      }
      throw e;
    }
  }

  private closed = false;

  private constructor(
    /** The key reference as given (id, ARN, alias or alias ARN). */
    public readonly keyId: string,
    private readonly client: KMSClient,
    private readonly ownsClient: boolean,
    /** What GetPublicKey returned. */
    public readonly info: KmsKeyInfo,
  ) {}

  /** The key's public key, from GetPublicKey. */
  public async publicKey(): Promise<KeyObject> {
    return this.info.publicKey;
  }

  /** `{ publicKey: { hint } }` with the OMS key hint of the KMS public key. */
  public async verificationMaterial(): Promise<VerificationMaterial> {
    return { publicKey: { hint: keyHint(this.info.publicKey) } };
  }

  /** Hashes `message` with the curve's hash and has KMS sign the digest; returns the DER signature KMS gives. */
  public async sign(message: Buffer): Promise<Buffer> {
    if (this.closed) {
      throw new UsageError(`the KMS signer for "${this.keyId}" is closed`);
    }
    const { curve, signingAlgorithm } = this.info;
    const digest = createHash(curve.hash).update(message).digest();
    let out;
    try {
      out = await this.client.send(
        new SignCommand({ KeyId: this.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: signingAlgorithm }),
      );
    } catch (e) {
      throw kmsError(e, this.keyId, 'kms:Sign');
    }
    if (out.Signature === undefined) {
      throw new Error(`KMS Sign with "${this.keyId}" returned no signature`);
    }
    const signature = Buffer.from(out.Signature);
    if (!cryptoVerify(curve.hash, message, this.info.publicKey, signature)) {
      throw new Error(
        `KMS key "${this.keyId}" returned a signature that does not verify with the public key read at start ` +
          `(${this.info.keyArn}); if it is an alias, it may have been moved to another key`,
      );
    }
    return signature;
  }

  /** Destroys the KMS client if this signer created it. Safe to call twice. */
  public async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.ownsClient) {
        this.client.destroy();
      }
    }
  }
}
