/**
 * Sealing a model directory into the `modelseal-sealed/v1` format (format.ts) with a data key, streaming each file in
 * chunks: memory stays at about two chunks whatever the size of the model.
 */
import { createCipheriv, createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  chunkAad, chunkCount, chunkNonce, checkChunkSize, checkKeyArn, DATA_KEY_BYTES, DEFAULT_CHUNK_SIZE, encodeHeader, fileKey, newSalt,
  renderIndex, SEALED_ALGORITHM, SEALED_FORMAT, SEALED_INDEX, SEALED_KDF, SEALED_SUFFIX, SealedIndex, SealedIndexEntry, TAG_BYTES,
} from './format';
import { encodeBase64 } from '../codec/base64';
import { formatRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { listModelFiles, rootDigest } from '../engine/hashing';

/** Options of {@link sealModel}. */
export interface SealOptions {
  /** The plaintext data key (32 bytes), from KMS `GenerateDataKey`. The caller zeroes it afterwards. */
  readonly dataKey: Buffer;
  /** The data key encrypted by KMS (`CiphertextBlob`). */
  readonly encryptedDataKey: Buffer;
  /** The ARN of the KMS key that wrapped the data key. */
  readonly keyArn: string;
  /** Plaintext bytes per chunk. @default DEFAULT_CHUNK_SIZE (1 MiB) */
  readonly chunkSize?: number;
  /**
   * The plaintext root digest (hex) the model must have, e.g. the one the model was signed with; the root computed
   * while sealing must equal it, or nothing is written.
   *
   * @default - not checked
   */
  readonly expectedRootDigest?: string;
  /** Progress callback: plaintext bytes sealed so far and in total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link sealModel} produced. */
export interface SealResult {
  /** The plaintext OMS root digest (hex) of the model, computed from the bytes that were encrypted. */
  readonly rootDigest: string;
  /** The index written to the sealed directory. */
  readonly index: SealedIndex;
  /** Plaintext bytes sealed. */
  readonly bytes: number;
}

/**
 * Encrypts every file of `modelDir` into a new directory `outDir` and writes its index.
 *
 * Files are listed as `modelseal sign` lists them by default (the reference order; `.git` paths left out; symlinks
 * refused), so the plaintext root digest equals the one the model was signed with. The output is written to a
 * temporary directory beside `outDir` and renamed into place only when every file is sealed and the root digest
 * matches `expectedRootDigest`; on any failure nothing is left behind.
 *
 * @throws UsageError for a bad option, a model that is not a directory, an `outDir` that exists, unreadable files
 * @throws VerificationError when the root digest differs from `expectedRootDigest`, or a file changed while sealed
 */
export async function sealModel(modelDir: string, outDir: string, opts: SealOptions): Promise<SealResult> {
  const chunkSize = checkChunkSize(opts.chunkSize ?? DEFAULT_CHUNK_SIZE, 'chunk size', UsageError);
  const keyArn = checkKeyArn(opts.keyArn, 'key ARN', UsageError);
  if (opts.dataKey.length !== DATA_KEY_BYTES) {
    throw new UsageError(`the data key must be ${DATA_KEY_BYTES} bytes (AES-256), got ${opts.dataKey.length}`);
  }
  if (opts.encryptedDataKey.length === 0) {
    throw new UsageError('the encrypted data key is empty');
  }
  const stat = await fs.stat(modelDir).catch((e: Error) => {
    throw new UsageError(`cannot read model ${modelDir}: ${e.message}`);
  });
  if (!stat.isDirectory()) {
    throw new UsageError(`model ${modelDir} is not a directory; seal-weights seals a model directory`);
  }
  await refuseExisting(outDir);

  const names = await listModelFiles(modelDir);
  if (names.length === 0) {
    throw new UsageError(`model ${modelDir} has no files to seal`);
  }
  const entries: SealedIndexEntry[] = [];
  let total = 0;
  for (const name of names) {
    const size = (await fs.stat(path.join(modelDir, name))).size;
    entries.push({ name, size });
    total += size;
  }

  const tmp = await fs.mkdtemp(path.join(path.dirname(path.resolve(outDir)), `.${path.basename(outDir)}.sealing-`));
  try {
    // The root digest goes into every header before any chunk is encrypted. Given the expected one (the digest the
    // model was signed with), sealing is one pass and the digests of the bytes encrypted must add up to it; otherwise
    // a first pass hashes the model, and the sealing pass must find the same digests (a file changed in between fails).
    const first = opts.expectedRootDigest === undefined
      ? await Promise.all(entries.map((e) => sha256File(path.join(modelDir, e.name))))
      : undefined;
    const root = first ? rootDigest(entries.map((e, i) => ({ name: e.name, digest: first[i] }))) : opts.expectedRootDigest!;
    const common = {
      format: SEALED_FORMAT,
      algorithm: SEALED_ALGORITHM,
      keyArn,
      encryptedDataKey: encodeBase64(opts.encryptedDataKey),
      rootDigest: formatRootDigest(root),
      chunkSize,
    };
    let done = 0;
    const sealed: string[] = [];
    for (const entry of entries) {
      const target = path.join(tmp, entry.name + SEALED_SUFFIX);
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      sealed.push(await sealFile(path.join(modelDir, entry.name), target, {
        ...common,
        kdf: SEALED_KDF,
        name: entry.name,
        size: entry.size,
        salt: encodeBase64(newSalt(randomBytes)),
      }, opts.dataKey, (n) => {
        done += n;
        opts.onProgress?.(done, total);
      }));
    }
    const changed = first ? entries.filter((_, i) => sealed[i] !== first[i]).map((e) => e.name) : [];
    if (changed.length > 0) {
      throw new VerificationError(`${changed.join(', ')} changed while the model was sealed (the SHA-256 differs between two reads); nothing was sealed`);
    }
    const sealedRoot = rootDigest(entries.map((e, i) => ({ name: e.name, digest: sealed[i] })));
    if (sealedRoot !== root) {
      throw new VerificationError(`the model's root digest is ${formatRootDigest(sealedRoot)}, not the expected ${formatRootDigest(root)}; nothing was sealed`);
    }
    const index: SealedIndex = { ...common, files: entries };
    await fs.writeFile(path.join(tmp, SEALED_INDEX), renderIndex(index), { mode: 0o644 });
    await fs.rename(tmp, outDir);
    return { rootDigest: root, index, bytes: total };
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Seals one file; returns the SHA-256 (hex) of the plaintext it read. */
async function sealFile(
  source: string,
  target: string,
  header: Parameters<typeof encodeHeader>[0],
  dataKey: Buffer,
  onBytes: (n: number) => void,
): Promise<string> {
  const { bytes: headerBytes, digest: headerDigest } = encodeHeader(header);
  const key = fileKey(dataKey, Buffer.from(header.salt, 'base64'));
  const hash = createHash('sha256');
  const input = await fs.open(source, 'r');
  const output = await fs.open(target, 'wx', 0o600);
  try {
    await output.write(headerBytes);
    const n = chunkCount(header.size, header.chunkSize);
    const buffer = Buffer.alloc(Math.min(header.chunkSize, Math.max(header.size, 1)));
    let position = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.min(header.chunkSize, header.size - position);
      const got = await readFully(input, buffer, want, position);
      if (got !== want) {
        throw new VerificationError(`${source} is shorter than when it was listed (${position + got} of ${header.size} bytes); nothing was sealed`);
      }
      const plain = buffer.subarray(0, want);
      hash.update(plain);
      const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(i), { authTagLength: TAG_BYTES });
      cipher.setAAD(chunkAad(headerDigest, i, i === n - 1));
      const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      await output.write(out);
      position += want;
      onBytes(want);
    }
    const extra = await input.read(Buffer.alloc(1), 0, 1, position);
    if (extra.bytesRead !== 0) {
      throw new VerificationError(`${source} grew while it was sealed; nothing was sealed`);
    }
    key.fill(0);
    return hash.digest('hex');
  } finally {
    await input.close();
    await output.close();
  }
}

/** Reads exactly `length` bytes at `position` unless the file ends first; returns the bytes read. */
export async function readFully(handle: fs.FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Refuses an output directory that exists: sealing and unsealing write a new directory, never into an old one. */
export async function refuseExisting(outDir: string): Promise<void> {
  const exists = await fs.lstat(outDir).then(() => true, () => false);
  if (exists) {
    throw new UsageError(`${outDir} exists; give a path that does not exist yet (the directory is written whole, then renamed into place)`);
  }
  const parent = path.dirname(path.resolve(outDir));
  const parentOk = await fs.stat(parent).then((s) => s.isDirectory(), () => false);
  if (!parentOk) {
    throw new UsageError(`the parent of ${outDir} (${parent}) is not a directory`);
  }
}
