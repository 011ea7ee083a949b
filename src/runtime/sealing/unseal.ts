/**
 * Unsealing a `modelseal-sealed/v1` directory (format.ts): streams each file chunk by chunk, writes a chunk's
 * plaintext only after its GCM tag verified, checks the plaintext root digest, and leaves nothing behind on failure.
 */
import { createDecipheriv, createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  chunkAad, chunkCount, chunkNonce, DATA_KEY_BYTES, decodeHeader, fileKey, MAX_HEADER_BYTES, MAX_INDEX_BYTES, parseIndex,
  SEALED_INDEX, SEALED_MAGIC, SEALED_SUFFIX, SealedIndex, TAG_BYTES,
} from './format';
import { readFully, refuseExisting } from './seal';
import { formatRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { rootDigest } from '../engine/hashing';

/** Options of {@link unsealModel}. */
export interface UnsealOptions {
  /** The plaintext data key (32 bytes), e.g. from `kmstool_enclave_cli decrypt`. The caller zeroes it afterwards. */
  readonly dataKey: Buffer;
  /**
   * The plaintext root digest (hex) the model must have. The index and every header name one; this one, when given,
   * must equal it too (pin the model version, e.g. baked into the enclave image).
   *
   * @default - the root digest the sealed headers name
   */
  readonly expectedRootDigest?: string;
  /** Progress callback: plaintext bytes written so far and in total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link unsealModel} produced. */
export interface UnsealResult {
  /** The plaintext OMS root digest (hex), recomputed from the bytes written. */
  readonly rootDigest: string;
  /** The files written, in manifest order. */
  readonly files: { name: string; size: number }[];
  /** Plaintext bytes written. */
  readonly bytes: number;
}

/** Reads and checks the index of a sealed directory. */
export async function readSealedIndex(sealedDir: string): Promise<SealedIndex> {
  const file = path.join(sealedDir, SEALED_INDEX);
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new UsageError(`${sealedDir} is not a sealed model directory: ${SEALED_INDEX} is missing`);
  }
  if (stat.size > MAX_INDEX_BYTES) {
    throw new VerificationError(`${file} is ${stat.size} bytes, more than the ${MAX_INDEX_BYTES} accepted`);
  }
  return parseIndex(await fs.readFile(file), file);
}

/**
 * Decrypts the sealed directory `sealedDir` into a new directory `outDir`.
 *
 * Fails closed, with nothing written at `outDir` and the temporary directory removed, when: the index or a header is
 * malformed or disagrees with the other; a file is missing, extra, renamed, truncated, longer than its header says,
 * or has a chunk whose tag does not verify (a flipped byte, a chunk moved or swapped, another file's chunk, a wrong
 * data key); or the root digest of the plaintext differs from the sealed one or from `expectedRootDigest`.
 *
 * @throws UsageError for a bad data key, a missing sealed directory or an `outDir` that exists
 * @throws VerificationError for everything that does not authenticate
 */
export async function unsealModel(sealedDir: string, outDir: string, opts: UnsealOptions): Promise<UnsealResult> {
  if (opts.dataKey.length !== DATA_KEY_BYTES) {
    throw new UsageError(`the data key must be ${DATA_KEY_BYTES} bytes (AES-256), got ${opts.dataKey.length}`);
  }
  const index = await readSealedIndex(sealedDir);
  const sealedRoot = index.rootDigest.slice('sha256:'.length);
  if (opts.expectedRootDigest !== undefined && opts.expectedRootDigest !== sealedRoot) {
    throw new VerificationError(`the sealed model is ${index.rootDigest}, not the expected ${formatRootDigest(opts.expectedRootDigest)}`);
  }
  await checkFileSet(sealedDir, index);
  await refuseExisting(outDir);

  const total = index.files.reduce((n, f) => n + f.size, 0);
  const tmp = await fs.mkdtemp(path.join(path.dirname(path.resolve(outDir)), `.${path.basename(outDir)}.unsealing-`));
  try {
    await fs.chmod(tmp, 0o700);
    let done = 0;
    const digests: string[] = [];
    for (const entry of index.files) {
      const target = path.join(tmp, entry.name);
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      digests.push(await unsealFile(path.join(sealedDir, entry.name + SEALED_SUFFIX), target, index, entry, opts.dataKey, (n) => {
        done += n;
        opts.onProgress?.(done, total);
      }));
    }
    const root = rootDigest(index.files.map((f, i) => ({ name: f.name, digest: digests[i] })));
    if (root !== sealedRoot) {
      throw new VerificationError(`the plaintext root digest is ${formatRootDigest(root)}, not the sealed ${index.rootDigest}; nothing was unsealed`);
    }
    await fs.rename(tmp, outDir);
    return { rootDigest: root, files: index.files.map((f) => ({ name: f.name, size: f.size })), bytes: total };
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The sealed directory holds exactly the index and one `.sealed` regular file per index entry. */
async function checkFileSet(sealedDir: string, index: SealedIndex): Promise<void> {
  const expected = new Set([SEALED_INDEX, ...index.files.map((f) => f.name + SEALED_SUFFIX)]);
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(sealedDir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(name);
      else if (e.isFile()) found.push(name);
      else throw new VerificationError(`${path.join(sealedDir, name)} is not a regular file (symlinks and special files are refused)`);
    }
  };
  await walk('');
  const extra = found.filter((f) => !expected.has(f)).sort();
  const missing = [...expected].filter((f) => !found.includes(f)).sort();
  if (extra.length > 0 || missing.length > 0) {
    throw new VerificationError(`${sealedDir} does not match its index:` +
      `${missing.length ? ` missing ${missing.join(', ')};` : ''}${extra.length ? ` unexpected ${extra.join(', ')};` : ''} nothing was unsealed`);
  }
}

/** Unseals one file; returns the SHA-256 (hex) of the plaintext written. */
async function unsealFile(
  source: string, target: string, index: SealedIndex, entry: { name: string; size: number }, dataKey: Buffer, onBytes: (n: number) => void,
): Promise<string> {
  const input = await fs.open(source, 'r');
  const output = await fs.open(target, 'wx', 0o600);
  try {
    const prefix = Buffer.alloc(SEALED_MAGIC.length + 4);
    if (await readFully(input, prefix, prefix.length, 0) !== prefix.length || !prefix.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC)) {
      throw new VerificationError(`${source} is not a sealed file (no ${JSON.stringify(SEALED_MAGIC.toString('ascii').trim())} header)`);
    }
    const headerLength = prefix.readUInt32BE(SEALED_MAGIC.length);
    if (headerLength === 0 || headerLength > MAX_HEADER_BYTES) {
      throw new VerificationError(`${source}: header length ${headerLength} is out of range (1 to ${MAX_HEADER_BYTES})`);
    }
    const json = Buffer.alloc(headerLength);
    if (await readFully(input, json, headerLength, prefix.length) !== headerLength) {
      throw new VerificationError(`${source} is truncated inside its header`);
    }
    const header = decodeHeader(json, source);
    for (const field of ['keyArn', 'encryptedDataKey', 'rootDigest', 'chunkSize'] as const) {
      if (header[field] !== index[field]) {
        throw new VerificationError(`${source}: header ${field} ${JSON.stringify(header[field])} differs from the index's ${JSON.stringify(index[field])}`);
      }
    }
    if (header.name !== entry.name || header.size !== entry.size) {
      throw new VerificationError(`${source}: the header describes ${JSON.stringify(header.name)} (${header.size} bytes), ` +
        `but the index lists ${JSON.stringify(entry.name)} (${entry.size} bytes) here`);
    }
    const headerDigest = createHash('sha256').update(Buffer.concat([prefix, json])).digest();
    const key = fileKey(dataKey, Buffer.from(header.salt, 'base64'));
    const hash = createHash('sha256');
    const n = chunkCount(header.size, header.chunkSize);
    const buffer = Buffer.alloc(Math.min(header.chunkSize, Math.max(header.size, 1)) + TAG_BYTES);
    let position = prefix.length + headerLength;
    let remaining = header.size;
    try {
      for (let i = 0; i < n; i++) {
        const plainLength = Math.min(header.chunkSize, remaining);
        const want = plainLength + TAG_BYTES;
        const got = await readFully(input, buffer, want, position);
        if (got !== want) {
          throw new VerificationError(`${source} is truncated: chunk ${i} of ${n} has ${got} of ${want} bytes; nothing was unsealed`);
        }
        const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(i), { authTagLength: TAG_BYTES });
        decipher.setAAD(chunkAad(headerDigest, i, i === n - 1));
        decipher.setAuthTag(buffer.subarray(plainLength, want));
        let plain: Buffer;
        try {
          plain = Buffer.concat([decipher.update(buffer.subarray(0, plainLength)), decipher.final()]);
        } catch {
          throw new VerificationError(`${source}: chunk ${i} of ${n} does not authenticate (a changed, moved or foreign chunk, ` +
            'a changed header, or the wrong data key); nothing was unsealed');
        }
        await output.write(plain);
        hash.update(plain);
        position += want;
        remaining -= plainLength;
        onBytes(plainLength);
      }
    } finally {
      key.fill(0);
    }
    const extra = await input.read(Buffer.alloc(1), 0, 1, position);
    if (extra.bytesRead !== 0) {
      throw new VerificationError(`${source} has data after its final chunk; nothing was unsealed`);
    }
    return hash.digest('hex');
  } finally {
    await input.close();
    await output.close();
  }
}
