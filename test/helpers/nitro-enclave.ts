/**
 * A test stand-in for the Nitro Enclaves side of AWS KMS's `Recipient` flow, with real formats and real keys:
 *
 * - {@link attestationDocument}: what the Nitro Secure Module (NSM) returns inside an enclave — a COSE_Sign1 (RFC 9052)
 *   CBOR array `[protected {1: -35 (ES384)}, {}, payload, signature]`, untagged, whose payload is the map
 *   `{module_id, digest: "SHA384", timestamp, pcrs: {index: 48 bytes}, certificate, cabundle, public_key, user_data,
 *   nonce}`, signed with ECDSA P-384 over the `Signature1` structure by a leaf certificate that chains to a test root
 *   (the AWS Nitro Enclaves root in production).
 * - {@link verifyAttestationDocument}: what KMS checks before it honours a `Recipient`: the COSE signature, the chain
 *   to the trusted root, the document's age; it returns the PCRs and the enclave's public key.
 * - {@link envelopeForRecipient} / {@link openEnvelope}: `CiphertextForRecipient`, the CMS (RFC 5652) EnvelopedData KMS
 *   returns — BER with indefinite lengths, version 2, one KeyTransRecipientInfo (version 2, subjectKeyIdentifier =
 *   SHA-256 of the recipient's SubjectPublicKeyInfo, RSAES-OAEP with SHA-256 and MGF1-SHA-256), the content (the
 *   plaintext) encrypted with AES-256-CBC under a fresh content key. This is the layout of a real KMS response,
 *   element for element; {@link openEnvelope} is what kmstool_enclave_cli does with it inside the enclave.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/verify-root.html
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html#KMS-Decrypt-response-CiphertextForRecipient
 */
import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'crypto';
import { testCa, TestCa } from './test-ca';
import { encodeTlv } from '../../src/runtime/codec/der';

type Cborg = typeof import('cborg', { with: { 'resolution-mode': 'import' } });
let cborg: Cborg | undefined;

/** Loads the ESM-only CBOR library (call once before the synchronous functions). */
export async function loadCbor(): Promise<void> {
  cborg ??= await import('cborg');
}

function cbor(): Cborg {
  if (!cborg) throw new Error('call loadCbor() first (cborg is ESM-only)');
  return cborg;
}

/** The test Nitro PKI: root → intermediate → leaf, ECDSA P-384, like the AWS Nitro Enclaves chain. */
export function nitroTestPki(name = 'aws-nitro-enclaves-test'): TestCa {
  return testCa({ name, leafExtKeyUsage: null });
}

/** Inputs of {@link attestationDocument}. */
export interface AttestationInputs {
  /** PCR index → 48-byte value (hex). PCRs not given are all zeros. */
  readonly pcrs: Record<number, string>;
  /** The enclave's public key (SubjectPublicKeyInfo DER) KMS encrypts to. */
  readonly publicKey: Buffer;
  readonly pki: TestCa;
  /** @default now */
  readonly timestamp?: Date;
}

/** Builds a signed attestation document (COSE_Sign1, CBOR) as the NSM would. */
export function attestationDocument(inputs: AttestationInputs): Buffer {
  const { encode } = cbor();
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) pcrs.set(i, Buffer.from(inputs.pcrs[i] ?? '0'.repeat(96), 'hex'));
  const payload = encode(new Map<string, unknown>([
    ['module_id', 'i-0123456789abcdef0-enc0123456789abcdef'],
    ['digest', 'SHA384'],
    ['timestamp', (inputs.timestamp ?? new Date()).getTime()],
    ['pcrs', pcrs],
    ['certificate', new Uint8Array(inputs.pki.leaf.raw)],
    ['cabundle', [inputs.pki.root.raw, inputs.pki.intermediate.raw].map((c) => new Uint8Array(c))],
    ['public_key', new Uint8Array(inputs.publicKey)],
    ['user_data', null],
    ['nonce', null],
  ]));
  const protectedHeader = encode(new Map([[1, -35]]));
  const toSign = encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
  const signature = sign('sha384', Buffer.from(toSign), { key: inputs.pki.leafKey, dsaEncoding: 'ieee-p1363' });
  return Buffer.from(encode([protectedHeader, new Map(), payload, new Uint8Array(signature)]));
}

/** What KMS reads out of a verified attestation document. */
export interface VerifiedAttestation {
  /** PCR index → lower-case hex. */
  readonly pcrs: Map<number, string>;
  /** The enclave's public key. */
  readonly publicKey: KeyObject;
  /** SHA-256 of its SubjectPublicKeyInfo: the CMS recipient identifier. */
  readonly publicKeyId: Buffer;
}

/**
 * Verifies an attestation document as KMS does, or throws an error named like KMS's (`ValidationException`).
 *
 * @param trustedRoot the root the chain must end at
 * @param maxAgeMs how old the document may be
 */
export function verifyAttestationDocument(
  doc: Uint8Array, trustedRoot: X509Certificate, now = new Date(), maxAgeMs = 5 * 60_000,
): VerifiedAttestation {
  const { decode, encode } = cbor();
  const fail = (why: string): never => {
    throw Object.assign(new Error(`Invalid attestation document: ${why}`), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  };
  let cose: unknown;
  try {
    cose = decode(doc, { useMaps: true });
  } catch (e) {
    return fail(`not CBOR (${(e as Error).message})`);
  }
  if (!Array.isArray(cose) || cose.length !== 4) return fail('not a COSE_Sign1 array of 4');
  const [protectedHeader, , payload, signature] = cose as [Uint8Array, unknown, Uint8Array, Uint8Array];
  const alg = (decode(protectedHeader, { useMaps: true }) as Map<number, number>).get(1);
  if (alg !== -35) return fail(`algorithm ${alg}, expected -35 (ES384)`);
  const body = decode(payload, { useMaps: true }) as Map<string, unknown>;
  const leaf = new X509Certificate(Buffer.from(body.get('certificate') as Uint8Array));
  const toVerify = encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
  if (!verify('sha384', Buffer.from(toVerify), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature))) {
    return fail('the COSE signature does not verify with the document\'s certificate');
  }
  // cabundle: [root, ..., the leaf's issuer]; the chain must end at the trusted root
  const bundle = (body.get('cabundle') as Uint8Array[]).map((c) => new X509Certificate(Buffer.from(c)));
  if (bundle.length === 0 || !bundle[0].raw.equals(trustedRoot.raw)) return fail('the certificate chain does not start at the trusted root');
  const chain = [...bundle, leaf];
  for (let i = 1; i < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i - 1]) || !chain[i].verify(chain[i - 1].publicKey)) return fail(`certificate ${i} is not issued by certificate ${i - 1}`);
  }
  if (!trustedRoot.verify(trustedRoot.publicKey)) return fail('the root is not self-signed');
  const timestamp = Number(body.get('timestamp'));
  if (!(now.getTime() - timestamp <= maxAgeMs && timestamp - now.getTime() <= 60_000)) return fail(`the document is ${Math.round((now.getTime() - timestamp) / 1000)} s old`);
  const pcrs = new Map<number, string>();
  for (const [i, v] of body.get('pcrs') as Map<number, Uint8Array>) pcrs.set(i, Buffer.from(v).toString('hex'));
  const spki = body.get('public_key');
  if (!(spki instanceof Uint8Array)) return fail('no public_key: KMS needs one to encrypt CiphertextForRecipient');
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return { pcrs, publicKey, publicKeyId: createHash('sha256').update(Buffer.from(spki)).digest() };
}

// ---- CMS EnvelopedData (RFC 5652) ----------------------------------------------------------------------------------

const OID = {
  envelopedData: '2a864886f70d010703', // 1.2.840.113549.1.7.3
  data: '2a864886f70d010701', // 1.2.840.113549.1.7.1
  rsaesOaep: '2a864886f70d010107', // 1.2.840.113549.1.1.7
  sha256: '608648016503040201', // 2.16.840.1.101.3.4.2.1
  mgf1: '2a864886f70d010108', // 1.2.840.113549.1.1.8
  aes256cbc: '60864801650304012a', // 2.16.840.1.101.3.4.1.42
};

const der = (tag: number, ...parts: Buffer[]) => encodeTlv(tag, Buffer.concat(parts));
/** A constructed BER value with an indefinite length (what KMS emits for the outer layers). */
const indefinite = (tag: number, ...parts: Buffer[]) => Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
const NULL = Buffer.from([0x05, 0x00]);

/** Encrypts `plaintext` to the recipient as KMS builds `CiphertextForRecipient`. */
export function envelopeForRecipient(plaintext: Buffer, recipient: VerifiedAttestation): Buffer {
  const contentKey = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', contentKey, iv);
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const wrapped = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  const sha256 = der(0x30, oid(OID.sha256), NULL);
  const oaepParams = der(0x30, der(0xa0, sha256), der(0xa1, der(0x30, oid(OID.mgf1), sha256)));
  const recipientInfo = der(0x30,
    der(0x02, Buffer.from([2])),
    der(0x80, recipient.publicKeyId), // [0] IMPLICIT SubjectKeyIdentifier
    der(0x30, oid(OID.rsaesOaep), oaepParams),
    der(0x04, wrapped));
  const encryptedContentInfo = indefinite(0x30,
    oid(OID.data),
    der(0x30, oid(OID.aes256cbc), der(0x04, iv)),
    indefinite(0xa0, der(0x04, encrypted)));
  const envelopedData = indefinite(0x30, der(0x02, Buffer.from([2])), der(0x31, recipientInfo), encryptedContentInfo);
  contentKey.fill(0);
  return indefinite(0x30, oid(OID.envelopedData), indefinite(0xa0, envelopedData));
}

interface Ber { tag: number; start: number; content: Buffer; end: number; children?: Ber[] }

/** Reads one BER value (definite or indefinite length) at `offset`. */
function readBer(buf: Buffer, offset: number): Ber {
  const tag = buf[offset];
  let p = offset + 1;
  const first = buf[p++];
  const constructed = (tag & 0x20) !== 0;
  if (first === 0x80) {
    if (!constructed) throw new Error(`BER: indefinite length on a primitive value at ${offset}`);
    const children: Ber[] = [];
    while (!(buf[p] === 0 && buf[p + 1] === 0)) {
      if (p >= buf.length) throw new Error('BER: missing end-of-contents');
      const child = readBer(buf, p);
      children.push(child);
      p = child.end;
    }
    return { tag, start: offset, content: buf.subarray(offset, p), end: p + 2, children };
  }
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++];
  }
  if (p + length > buf.length) throw new Error(`BER: value at ${offset} runs past the end`);
  const content = buf.subarray(p, p + length);
  const node: Ber = { tag, start: offset, content, end: p + length };
  if (constructed) {
    node.children = [];
    for (let q = 0; q < content.length;) {
      const child = readBer(content, q);
      node.children.push(child);
      q = child.end;
    }
  }
  return node;
}

/**
 * Opens `CiphertextForRecipient` with the enclave's private key (what kmstool_enclave_cli does): checks the
 * EnvelopedData shape, the recipient identifier, RSAES-OAEP-SHA-256 and AES-256-CBC, and returns the plaintext.
 */
export function openEnvelope(cms: Buffer, privateKey: KeyObject): Buffer {
  const top = readBer(cms, 0);
  if (top.end !== cms.length) throw new Error('CMS: trailing data');
  const [type, explicit] = top.children!;
  if (!type.content.equals(Buffer.from(OID.envelopedData, 'hex'))) throw new Error('CMS: content type is not envelopedData');
  const enveloped = explicit.children![0];
  const [version, recipients, encryptedContentInfo] = enveloped.children!;
  if (!version.content.equals(Buffer.from([2]))) throw new Error('CMS: EnvelopedData version is not 2');
  if (recipients.children!.length !== 1) throw new Error(`CMS: ${recipients.children!.length} recipients, expected 1`);
  const [riVersion, rid, algorithm, wrapped] = recipients.children![0].children!;
  if (!riVersion.content.equals(Buffer.from([2])) || rid.tag !== 0x80) throw new Error('CMS: not a KeyTransRecipientInfo by subjectKeyIdentifier');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!rid.content.equals(createHash('sha256').update(spki).digest())) throw new Error('CMS: encrypted to another key');
  if (!algorithm.children![0].content.equals(Buffer.from(OID.rsaesOaep, 'hex'))) throw new Error('CMS: key encryption is not RSAES-OAEP');
  const [contentType, contentAlgorithm, content] = encryptedContentInfo.children!;
  if (!contentType.content.equals(Buffer.from(OID.data, 'hex'))) throw new Error('CMS: encrypted content is not data');
  if (!contentAlgorithm.children![0].content.equals(Buffer.from(OID.aes256cbc, 'hex'))) throw new Error('CMS: content encryption is not AES-256-CBC');
  const iv = contentAlgorithm.children![1].content;
  const ciphertext = content.children ? Buffer.concat(content.children.map((c) => c.content)) : content.content;
  const contentKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped.content);
  const decipher = createDecipheriv('aes-256-cbc', contentKey, iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}
