/**
 * A mocked AWS KMS for the weights key, backed by real keys and the real key policy: `GenerateDataKey`, `Encrypt` and
 * `Decrypt` (with and without `Recipient`) are authorized by evaluating the synthesized template's key policy and the
 * caller's IAM policies with the IAM policy simulator (iam-sim.ts), with the attestation document's PCRs as the
 * `kms:RecipientAttestation:*` condition keys, exactly as KMS would.
 *
 * - Data keys are real AES-256 keys; a `CiphertextBlob` is the key id and the data key sealed with AES-256-GCM under the
 *   mock's master key for that KMS key (an opaque blob, as KMS's is).
 * - A `Recipient` attestation document is verified (COSE signature, chain to the test Nitro root, age) before anything
 *   else; then the plaintext goes back only as `CiphertextForRecipient` (CMS EnvelopedData, RSAES-OAEP-SHA-256 and
 *   AES-256-CBC; nitro-enclave.ts), never as `Plaintext`.
 * - A denied call answers `AccessDeniedException` naming the deciding statements.
 */
import { createCipheriv, createDecipheriv, generateKeyPairSync, randomBytes, X509Certificate } from 'crypto';
import { DecryptCommand, type DecryptCommandInput, EncryptCommand, type EncryptCommandInput, GenerateDataKeyCommand, type GenerateDataKeyCommandInput, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { SimPrincipal, TemplateSimulator } from './iam-sim';
import { attestationDocument, envelopeForRecipient, openEnvelope, verifyAttestationDocument } from './nitro-enclave';
import type { TestCa } from './test-ca';

function kmsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** Every KMS call the mock decided, for assertions. */
export interface DecidedCall {
  readonly action: string;
  readonly caller: string;
  readonly decision: string;
  readonly decisive: string[];
  readonly recipient: boolean;
}

/** The mock (all `KMSClient`s of the process talk to it until {@link EnclaveKmsMock.restore}). */
export class EnclaveKmsMock {
  /** Who the next calls come from (the IAM principal whose credentials the SDK would sign with). */
  public caller: SimPrincipal;
  public readonly calls: DecidedCall[] = [];
  /** The weights key's ARN, as the resolved template names it. */
  public readonly keyArn: string;
  private readonly stub = mockClient(KMSClient);
  private readonly masterKey = randomBytes(32);

  /**
   * @param sim the synthesized template (key policy and IAM policies come from it)
   * @param keyLogicalId the weights key's logical ID
   * @param trustedRoot the Nitro root attestation documents must chain to
   */
  constructor(private readonly sim: TemplateSimulator, keyLogicalId: string, private readonly trustedRoot: X509Certificate, caller: SimPrincipal) {
    this.keyArn = sim.arn(keyLogicalId);
    this.caller = caller;
    this.stub.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) => this.generateDataKey(input));
    this.stub.on(EncryptCommand).callsFake((input: EncryptCommandInput) => this.encrypt(input));
    this.stub.on(DecryptCommand).callsFake((input: DecryptCommandInput) => this.decrypt(input));
  }

  public restore(): void {
    this.stub.restore();
  }

  private async authorize(action: string, context: Record<string, string>, recipient: boolean): Promise<void> {
    const result = await this.sim.evaluate({ name: `mock KMS ${action}`, principal: this.caller, action, resource: this.keyArn, context, expect: 'Allowed' });
    this.calls.push({ action, caller: this.caller.label, decision: result.decision, decisive: result.decisive, recipient });
    if (result.decision !== 'Allowed') {
      throw kmsError('AccessDeniedException', `User: ${this.caller.arn} is not authorized to perform: ${action} on resource: ${this.keyArn} ` +
        `(${result.decision}: ${result.decisive.join(', ') || 'no statement allows it'})`);
    }
  }

  private checkKey(keyId: string | undefined): void {
    if (keyId !== undefined && keyId !== this.keyArn) throw kmsError('NotFoundException', `Key '${keyId}' does not exist`);
  }

  private seal(plaintext: Buffer): Uint8Array {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(this.keyArn));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]));
  }

  private unseal(blob: Uint8Array): Buffer {
    const b = Buffer.from(blob);
    if (b.length < 29 || b[0] !== 1) throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, b.subarray(1, 13));
    decipher.setAAD(Buffer.from(this.keyArn));
    decipher.setAuthTag(b.subarray(13, 29));
    try {
      return Buffer.concat([decipher.update(b.subarray(29)), decipher.final()]);
    } catch {
      throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid (not made under this key)');
    }
  }

  private async generateDataKey(input: GenerateDataKeyCommandInput) {
    this.checkKey(input.KeyId);
    if (input.KeySpec !== 'AES_256') throw kmsError('ValidationException', `KeySpec ${input.KeySpec} (the mock makes AES_256 keys)`);
    await this.authorize('kms:GenerateDataKey', {}, false);
    const plaintext = randomBytes(32);
    return { KeyId: this.keyArn, Plaintext: new Uint8Array(plaintext), CiphertextBlob: this.seal(plaintext), $metadata: {} };
  }

  private async encrypt(input: EncryptCommandInput) {
    this.checkKey(input.KeyId);
    await this.authorize('kms:Encrypt', {}, false);
    return { KeyId: this.keyArn, CiphertextBlob: this.seal(Buffer.from(input.Plaintext!)), $metadata: {} };
  }

  private async decrypt(input: DecryptCommandInput) {
    this.checkKey(input.KeyId);
    const recipient = input.Recipient;
    const context: Record<string, string> = {};
    let attestation;
    if (recipient) {
      if (recipient.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256') {
        throw kmsError('ValidationException', `KeyEncryptionAlgorithm ${recipient.KeyEncryptionAlgorithm}; expected RSAES_OAEP_SHA_256`);
      }
      attestation = verifyAttestationDocument(recipient.AttestationDocument!, this.trustedRoot);
      context['kms:RecipientAttestation:ImageSha384'] = attestation.pcrs.get(0)!;
      for (const i of [0, 1, 2, 3, 4, 8]) context[`kms:RecipientAttestation:PCR${i}`] = attestation.pcrs.get(i)!;
    }
    await this.authorize('kms:Decrypt', context, recipient !== undefined);
    const plaintext = this.unseal(input.CiphertextBlob!);
    if (attestation) {
      return { KeyId: this.keyArn, CiphertextForRecipient: new Uint8Array(envelopeForRecipient(plaintext, attestation)), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', $metadata: {} };
    }
    return { KeyId: this.keyArn, Plaintext: new Uint8Array(plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', $metadata: {} };
  }
}

/**
 * A stand-in for `kmstool_enclave_cli decrypt` inside an enclave whose image measures `pcrs`: a fresh RSA-2048 key
 * pair, an attestation document carrying its public key (from the test NSM, nitro-enclave.ts), `kms:Decrypt` with that
 * `Recipient`, and the `CiphertextForRecipient` opened with the private key. Returns what kmstool prints:
 * `PLAINTEXT: <base64>`.
 */
export async function kmstoolDecrypt(ciphertextBase64: string, pcrs: Record<number, string>, pki: TestCa, client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDENCLAVE', secretAccessKey: 'x', sessionToken: 't' } })): Promise<string> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const document = attestationDocument({ pcrs, publicKey: publicKey.export({ type: 'spki', format: 'der' }), pki });
  const out = await client.send(new DecryptCommand({
    CiphertextBlob: Buffer.from(ciphertextBase64, 'base64'),
    Recipient: { AttestationDocument: document, KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
  }));
  if (out.Plaintext !== undefined) throw new Error('KMS returned Plaintext to an enclave request: it must only return CiphertextForRecipient');
  return `PLAINTEXT: ${openEnvelope(Buffer.from(out.CiphertextForRecipient!), privateKey).toString('base64')}\n`;
}
