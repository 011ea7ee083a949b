/**
 * A mocked AWS KMS backed by real local keys, so every signature the KMS signer returns is a real one.
 *
 * GetPublicKey returns the key's real SubjectPublicKeyInfo DER. Sign insists on `MessageType: DIGEST`, a
 * digest of the algorithm's length and the algorithm that matches the key spec, as KMS does, then signs
 * the digest with `@noble/curves` (no second hashing) and returns DER. Errors use KMS's exception names.
 */
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'crypto';
import {
  DisabledException,
  GetPublicKeyCommand,
  type GetPublicKeyCommandInput,
  InvalidKeyUsageException,
  KMSClient,
  NotFoundException,
  SignCommand,
  type SignCommandInput,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';

/** A key to put in the mock. */
export interface MockKmsKeyOptions {
  /** Curve of the key, or an RSA/symmetric spec to test the wrong-key errors. */
  readonly keySpec: 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'RSA_2048' | 'SYMMETRIC_DEFAULT';
  /** Aliases (`alias/name`) pointing at the key. */
  readonly aliases?: string[];
  /** @default 'SIGN_VERIFY' (ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT) */
  readonly keyUsage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
  /** A disabled key answers DisabledException. */
  readonly disabled?: boolean;
  /** Every call on this key answers AccessDeniedException. */
  readonly denyAll?: boolean;
  /** Only Sign answers AccessDeniedException (GetPublicKey works). */
  readonly denySign?: boolean;
  /** Hold this EC private key instead of a fresh one (e.g. one that is also a PEM key elsewhere). */
  readonly privateKey?: KeyObject;
}

/** A key held by the mock. */
export interface MockKmsKey {
  readonly keyId: string;
  readonly arn: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly options: MockKmsKeyOptions;
}

type Nist = typeof import('@noble/curves/nist.js', { with: { 'resolution-mode': 'import' } });

const ALGORITHM: Record<string, { alg: string; digestLength: number; curve: 'p256' | 'p384' }> = {
  ECC_NIST_P256: { alg: 'ECDSA_SHA_256', digestLength: 32, curve: 'p256' },
  ECC_NIST_P384: { alg: 'ECDSA_SHA_384', digestLength: 48, curve: 'p384' },
};

/** An error shaped like the SDK's service exceptions, for names client-kms does not export. */
function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** A KMS client mock with real keys. */
export class KmsMock {
  /**
   * Creates the mock on a fresh KMSClient.
   *
   * Async because @noble/curves 2.x is ESM-only: a CommonJS test file can only reach it through `import()`.
   * With `allClients`, every KMSClient (including ones the CLI creates itself) talks to this mock.
   */
  public static async create(options: { region?: string; account?: string; allClients?: boolean } = {}): Promise<KmsMock> {
    return new KmsMock(await import('@noble/curves/nist.js'), options.region ?? 'us-east-1', options.account ?? '111122223333', options.allClients ?? false);
  }

  /** The mocked client to inject into the signer. */
  public readonly client: KMSClient;
  /** The aws-sdk-client-mock stub, for call assertions. */
  public readonly stub;
  private readonly keys: MockKmsKey[] = [];
  private throttleLeft = 0;
  private readonly aliases = new Map<string, MockKmsKey>();

  private constructor(private readonly nist: Nist, public readonly region: string, public readonly account: string, allClients: boolean) {
    this.client = new KMSClient({ region, credentials: { accessKeyId: 'AKIDMOCK', secretAccessKey: 'mock' } });
    this.stub = allClients ? mockClient(KMSClient) : mockClient(this.client);
    this.stub.on(GetPublicKeyCommand).callsFake((input: GetPublicKeyCommandInput) => this.getPublicKey(input));
    this.stub.on(SignCommand).callsFake((input: SignCommandInput) => this.sign(input));
  }

  /** Creates a key (a fresh local key pair) and its aliases. */
  public addKey(options: MockKmsKeyOptions): MockKmsKey {
    const keyId = randomUUID();
    const pair = options.privateKey ? { privateKey: options.privateKey, publicKey: createPublicKey(options.privateKey) }
      : options.keySpec === 'RSA_2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: options.keySpec === 'ECC_NIST_P384' ? 'P-384' : 'P-256' });
    const key: MockKmsKey = {
      keyId,
      arn: `arn:aws:kms:${this.region}:${this.account}:key/${keyId}`,
      publicKey: pair.publicKey,
      privateKey: pair.privateKey,
      options,
    };
    this.keys.push(key);
    for (const alias of options.aliases ?? []) {
      this.aliases.set(alias, key);
    }
    return key;
  }

  /** Points an existing alias at another key (to test a moved alias). */
  public moveAlias(alias: string, to: MockKmsKey): void {
    this.aliases.set(alias, to);
  }

  /** The next `n` calls (GetPublicKey or Sign) fail with ThrottlingException, as KMS does past its request quota. */
  public throttle(n: number): void {
    this.throttleLeft = n;
  }

  /** Every SignCommand input the client received. */
  public signCalls(): SignCommandInput[] {
    return this.stub.commandCalls(SignCommand).map((c) => c.args[0].input);
  }

  /** Removes the mock from the client. */
  public restore(): void {
    this.stub.restore();
  }

  /** Resolves a key id, key ARN, alias or alias ARN as KMS does, or throws NotFoundException. */
  private resolve(ref: string | undefined): MockKmsKey {
    if (this.throttleLeft > 0) {
      this.throttleLeft--;
      throw serviceError('ThrottlingException', 'Rate exceeded');
    }
    const prefix = `arn:aws:kms:${this.region}:${this.account}:`;
    const local = ref?.startsWith(prefix) ? ref.slice(prefix.length) : ref;
    const key = local?.startsWith('alias/') ? this.aliases.get(local) : this.keys.find((k) => k.keyId === local?.replace(/^key\//, ''));
    if (!key) {
      throw new NotFoundException({ message: `Key '${ref}' does not exist`, $metadata: { httpStatusCode: 400 } });
    }
    if (key.options.denyAll) {
      throw serviceError('AccessDeniedException', `User: arn:aws:sts::${this.account}:assumed-role/ci/build is not authorized to perform this operation`);
    }
    if (key.options.disabled) {
      throw new DisabledException({ message: `${key.arn} is disabled.`, $metadata: { httpStatusCode: 400 } });
    }
    return key;
  }

  private getPublicKey(input: GetPublicKeyCommandInput) {
    const key = this.resolve(input.KeyId);
    const spec = key.options.keySpec;
    const usage = key.options.keyUsage ?? (spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY');
    return {
      KeyId: key.arn,
      KeySpec: spec,
      KeyUsage: usage,
      PublicKey: new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' })),
      SigningAlgorithms: usage === 'SIGN_VERIFY' ? (ALGORITHM[spec] ? [ALGORITHM[spec].alg] : ['RSASSA_PSS_SHA_256']) : undefined,
      $metadata: {},
    };
  }

  private sign(input: SignCommandInput) {
    if (input.MessageType !== 'DIGEST') {
      // Not a KMS rule, a ModelSeal one: the signer must never send the raw PAE (KMS caps RAW at 4096 bytes).
      throw new Error(`mock KMS: MessageType must be DIGEST, got ${input.MessageType}`);
    }
    const key = this.resolve(input.KeyId);
    if (key.options.denySign) {
      throw serviceError('AccessDeniedException', `User: arn:aws:sts::${this.account}:assumed-role/ci/build is not authorized to perform: kms:Sign on resource: ${key.arn}`);
    }
    const spec = ALGORITHM[key.options.keySpec];
    if (!spec || (key.options.keyUsage ?? 'SIGN_VERIFY') !== 'SIGN_VERIFY') {
      throw new InvalidKeyUsageException({ message: `${key.arn} key usage is not SIGN_VERIFY or spec ${key.options.keySpec} is not ECC.`, $metadata: {} });
    }
    if (input.SigningAlgorithm !== spec.alg) {
      throw new InvalidKeyUsageException({ message: `Algorithm ${input.SigningAlgorithm} is incompatible with key spec ${key.options.keySpec}.`, $metadata: {} });
    }
    const digest = input.Message;
    if (!digest || digest.length !== spec.digestLength) {
      throw serviceError('ValidationException', `Digest is invalid length for algorithm ${spec.alg}.`);
    }
    const d = Buffer.from(key.privateKey.export({ format: 'jwk' }).d as string, 'base64url');
    // prehash:false — the input is already the digest; lowS:false — KMS does not normalize s.
    const der = this.nist[spec.curve].sign(digest, d, { prehash: false, lowS: false, format: 'der' });
    return { KeyId: key.arn, Signature: der, SigningAlgorithm: spec.alg, $metadata: {} };
  }
}
