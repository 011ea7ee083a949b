/**
 * The sealed-weights format (`modelseal-sealed/v1`): a model directory encrypted file by file with AES-256-GCM under
 * one data key from a ModelWeightsKey, in chunks, so that multi-GB files stream with bounded memory.
 *
 * A sealed directory holds one `<name>.sealed` file per model file (same relative path plus `.sealed`) and an index,
 * `modelseal-sealed.json`. Each sealed file is:
 *
 * ```
 * magic "MSEALv1\n" (8 bytes) | header length (uint32, big endian) | header (UTF-8 JSON) | chunk 0 | ... | chunk n-1
 * chunk i = AES-256-GCM ciphertext of plaintext bytes [i*chunkSize, min((i+1)*chunkSize, size)) | 16-byte tag
 * ```
 *
 * - The header names the format, the KMS key ARN, the encrypted data key (the KMS `CiphertextBlob`), the model's
 *   plaintext OMS root digest, the file's name and size, the chunk size and a random 32-byte salt.
 * - Each file has its own key: HKDF-SHA256(data key, salt, "modelseal-sealed/v1 file key") (RFC 5869), so nonces never
 *   repeat across files; the nonce of chunk i is 4 zero bytes followed by i as a uint64 (NIST SP 800-38D §8.2.1,
 *   deterministic construction: a counter under a key used for one file only).
 * - The associated data of chunk i is SHA-256(magic | length | header) | i (uint64) | final flag (1 byte, 1 for the
 *   last chunk). The header — with the encrypted data key and the root digest — is therefore authenticated by every
 *   chunk; moving a chunk to another position, to another file, or dropping the tail fails the tag check.
 * - A file always has at least one chunk (an empty file has one empty final chunk), so a file cut after its header
 *   fails too.
 *
 * The design follows the segment layout of Tink's AES-GCM-HKDF streaming AEAD (per-stream key from a salt, segment
 * counter and last-segment flag), with the flag and counter in the associated data as well.
 *
 * @see https://developers.google.com/tink/streaming-aead/aes_gcm_hkdf_streaming
 */
import { createHash, hkdfSync } from 'crypto';
import { decodeBase64 } from '../codec/base64';
import { formatRootDigest, parseRootDigest } from '../codec/digest';
import { ErrorClass, VerificationError } from '../codec/errors';
import { isJsonObject } from '../codec/json';

/** The format identifier in every header and in the index. */
export const SEALED_FORMAT = 'modelseal-sealed/v1';
/** The cipher of every chunk. */
export const SEALED_ALGORITHM = 'AES-256-GCM';
/** The per-file key derivation. */
export const SEALED_KDF = 'HKDF-SHA256';
/** The index file of a sealed directory. */
export const SEALED_INDEX = 'modelseal-sealed.json';
/** The suffix of every sealed file. */
export const SEALED_SUFFIX = '.sealed';
/** The first 8 bytes of every sealed file. */
export const SEALED_MAGIC = Buffer.from('MSEALv1\n', 'ascii');
/** Bytes of a GCM tag. */
export const TAG_BYTES = 16;
/** Bytes of a data key (AES-256). */
export const DATA_KEY_BYTES = 32;
/** The default plaintext bytes per chunk: 1 MiB (docs/BENCHMARKS.md "Sealing"). */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** The smallest chunk size accepted. */
export const MIN_CHUNK_SIZE = 4 * 1024;
/** The largest chunk size accepted (a chunk is held in memory twice: ciphertext and plaintext). */
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
/** The largest header accepted when reading. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** The largest index accepted when reading. */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;

const SALT_BYTES = 32;
const FILE_KEY_INFO = Buffer.from(`${SEALED_FORMAT} file key`, 'utf8');
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** The header of one sealed file. */
export interface SealedFileHeader {
  readonly format: string;
  readonly algorithm: string;
  readonly kdf: string;
  /** The ModelWeightsKey ARN that wraps the data key. */
  readonly keyArn: string;
  /** The data key encrypted by KMS (`CiphertextBlob`), base64. */
  readonly encryptedDataKey: string;
  /** The model's plaintext OMS root digest, `sha256:<hex>`. */
  readonly rootDigest: string;
  /** The file's resource name (POSIX path relative to the model root). */
  readonly name: string;
  /** Plaintext bytes. */
  readonly size: number;
  /** Plaintext bytes per chunk (the last chunk may be shorter). */
  readonly chunkSize: number;
  /** The HKDF salt of this file's key, base64 (32 bytes). */
  readonly salt: string;
}

/** One file of the index. */
export interface SealedIndexEntry {
  /** The resource name of the plaintext file. */
  readonly name: string;
  /** Plaintext bytes. */
  readonly size: number;
}

/** The index of a sealed directory (`modelseal-sealed.json`). */
export interface SealedIndex {
  readonly format: string;
  readonly algorithm: string;
  readonly keyArn: string;
  readonly encryptedDataKey: string;
  readonly rootDigest: string;
  readonly chunkSize: number;
  /** The files in OMS manifest order: the order the root digest is computed in. */
  readonly files: SealedIndexEntry[];
}

/** Derives the AES-256 key of one file from the data key and the file's salt (HKDF-SHA256, RFC 5869). */
export function fileKey(dataKey: Buffer, salt: Buffer): Buffer {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new VerificationError(`the data key must be ${DATA_KEY_BYTES} bytes (AES-256), got ${dataKey.length}`);
  }
  return Buffer.from(hkdfSync('sha256', dataKey, salt, FILE_KEY_INFO, DATA_KEY_BYTES));
}

/** The 12-byte GCM nonce of chunk `index`: 4 zero bytes, then the index as a big-endian uint64. */
export function chunkNonce(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}

/** The associated data of chunk `index`: SHA-256 of the encoded header, the index (uint64 BE), the final flag. */
export function chunkAad(headerDigest: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(32 + 8 + 1);
  headerDigest.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), 32);
  aad[40] = final ? 1 : 0;
  return aad;
}

/** How many chunks a file of `size` bytes has: at least one. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** Bytes of the sealed file for a plaintext of `size` bytes, after a header of `headerBytes` (magic and length included). */
export function sealedLength(headerBytes: number, size: number, chunkSize: number): number {
  return headerBytes + size + chunkCount(size, chunkSize) * TAG_BYTES;
}

/** A fresh random salt. */
export function newSalt(random: (n: number) => Buffer): Buffer {
  return random(SALT_BYTES);
}

/** Encodes a header: magic, length, JSON (fixed key order). Returns the bytes and their SHA-256. */
export function encodeHeader(header: SealedFileHeader): { bytes: Buffer; digest: Buffer } {
  const json = Buffer.from(JSON.stringify({
    format: header.format,
    algorithm: header.algorithm,
    kdf: header.kdf,
    keyArn: header.keyArn,
    encryptedDataKey: header.encryptedDataKey,
    rootDigest: header.rootDigest,
    name: header.name,
    size: header.size,
    chunkSize: header.chunkSize,
    salt: header.salt,
  }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  const bytes = Buffer.concat([SEALED_MAGIC, length, json]);
  return { bytes, digest: createHash('sha256').update(bytes).digest() };
}

/**
 * Decodes and checks a header read from a sealed file (everything after the magic and the length).
 *
 * @throws VerificationError naming the file and the field that is wrong
 */
export function decodeHeader(json: Buffer, where: string): SealedFileHeader {
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString('utf8'));
  } catch (e) {
    throw new VerificationError(`${where}: the header is not JSON (${(e as Error).message})`);
  }
  if (!isJsonObject(doc)) {
    throw new VerificationError(`${where}: the header must be a JSON object`);
  }
  const known = ['format', 'algorithm', 'kdf', 'keyArn', 'encryptedDataKey', 'rootDigest', 'name', 'size', 'chunkSize', 'salt'];
  const unknown = Object.keys(doc).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new VerificationError(`${where}: the header has unknown fields ${unknown.join(', ')}`);
  }
  checkCommon(doc, where, VerificationError);
  const name = doc.name;
  checkResourceName(name, `${where}: header name`, VerificationError);
  checkSize(doc.size, `${where}: header size`, VerificationError);
  if (typeof doc.salt !== 'string' || decodeBase64(doc.salt, `${where}: header salt`).length !== SALT_BYTES) {
    throw new VerificationError(`${where}: header salt must be ${SALT_BYTES} bytes of base64`);
  }
  return doc as unknown as SealedFileHeader;
}

/**
 * Parses and checks an index (`modelseal-sealed.json`).
 *
 * @throws VerificationError naming the field that is wrong
 */
export function parseIndex(text: Buffer, where: string): SealedIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new VerificationError(`${where} is not JSON (${(e as Error).message})`);
  }
  if (!isJsonObject(doc)) {
    throw new VerificationError(`${where} must be a JSON object`);
  }
  checkCommon(doc, where, VerificationError);
  if (!Array.isArray(doc.files) || doc.files.length === 0) {
    throw new VerificationError(`${where}: files must be a non-empty list of {name, size}`);
  }
  const seen = new Set<string>();
  for (const [i, f] of doc.files.entries()) {
    if (!isJsonObject(f)) throw new VerificationError(`${where}: files[${i}] must be an object {name, size}`);
    checkResourceName(f.name, `${where}: files[${i}].name`, VerificationError);
    checkSize(f.size, `${where}: files[${i}].size`, VerificationError);
    if (seen.has(f.name as string)) throw new VerificationError(`${where}: files[${i}].name ${JSON.stringify(f.name)} is listed twice`);
    seen.add(f.name as string);
  }
  return {
    format: doc.format as string,
    algorithm: doc.algorithm as string,
    keyArn: doc.keyArn as string,
    encryptedDataKey: doc.encryptedDataKey as string,
    rootDigest: doc.rootDigest as string,
    chunkSize: doc.chunkSize as number,
    files: (doc.files as Record<string, unknown>[]).map((f) => ({ name: f.name as string, size: f.size as number })),
  };
}

/** Serializes an index the way `seal-weights` writes it (two-space indentation, fixed key order). */
export function renderIndex(index: SealedIndex): string {
  return JSON.stringify({
    format: index.format,
    algorithm: index.algorithm,
    keyArn: index.keyArn,
    encryptedDataKey: index.encryptedDataKey,
    rootDigest: index.rootDigest,
    chunkSize: index.chunkSize,
    files: index.files.map((f) => ({ name: f.name, size: f.size })),
  }, null, 2) + '\n';
}

/**
 * Checks a chunk size: an integer from {@link MIN_CHUNK_SIZE} to {@link MAX_CHUNK_SIZE}.
 *
 * @throws `err` naming the value and the range
 */
export function checkChunkSize(value: unknown, what: string, err: ErrorClass): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_CHUNK_SIZE || value > MAX_CHUNK_SIZE) {
    throw new err(`${what} must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks a KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`; aliases are refused: the data key must
 * name the key that wrapped it).
 *
 * @throws `err` naming the value
 */
export function checkKeyArn(value: unknown, what: string, err: ErrorClass): string {
  if (typeof value !== 'string' || !KEY_ARN.test(value)) {
    throw new err(`${what} must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks a resource name as the sealed format stores it: a POSIX path relative to the model root, with no empty,
 * `.` or `..` segment, no backslash and no NUL.
 *
 * @throws `err` naming the value
 */
export function checkResourceName(value: unknown, what: string, err: ErrorClass): string {
  if (typeof value !== 'string' || value === '' || value.startsWith('/') || value.includes('\\') || value.includes('\0') ||
    value.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new err(`${what} must be a relative POSIX path with no empty, '.' or '..' segment, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkSize(value: unknown, what: string, err: ErrorClass): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new err(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
}

function checkCommon(doc: Record<string, unknown>, where: string, err: ErrorClass): void {
  if (doc.format !== SEALED_FORMAT) {
    throw new err(`${where}: format is ${JSON.stringify(doc.format)}; expected "${SEALED_FORMAT}"`);
  }
  if (doc.algorithm !== SEALED_ALGORITHM) {
    throw new err(`${where}: algorithm is ${JSON.stringify(doc.algorithm)}; expected "${SEALED_ALGORITHM}"`);
  }
  if ('kdf' in doc && doc.kdf !== SEALED_KDF) {
    throw new err(`${where}: kdf is ${JSON.stringify(doc.kdf)}; expected "${SEALED_KDF}"`);
  }
  checkKeyArn(doc.keyArn, `${where}: keyArn`, err);
  if (typeof doc.encryptedDataKey !== 'string' || decodeBase64(doc.encryptedDataKey, `${where}: encryptedDataKey`, 'base64', err).length === 0) {
    throw new err(`${where}: encryptedDataKey must be the KMS CiphertextBlob in base64`);
  }
  const hex = parseRootDigest(doc.rootDigest, `${where}: rootDigest`, err);
  if (doc.rootDigest !== formatRootDigest(hex)) {
    throw new err(`${where}: rootDigest must be written sha256:<hex>, got ${JSON.stringify(doc.rootDigest)}`);
  }
  checkChunkSize(doc.chunkSize, `${where}: chunkSize`, err);
}
