/**
 * The local write-once store: a directory whose files are the store's keys (the embedded default).
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { ContentCheckedStore } from './base';
import { StoreAccessError, StoreConflictError, StoreIntegrityError } from './errors';
import { contentAddress, MAX_OBJECT_BYTES, sha256Hex, TEMP_PREFIX, validateKey, validatePrefix } from './keys';
import type { ListedObject, PutOutcome, ReadOptions } from './types';
import { UsageError, VerificationError } from '../codec/errors';

/**
 * A write-once object store in a local directory.
 *
 * A put writes the bytes to a temp file in the key's own directory (created with O_EXCL, fsynced), then
 * hard-links it to the final name and removes the temp name. `link(2)` fails with EEXIST when the name exists, so
 * the final name appears atomically with its complete bytes and is never overwritten, even by a concurrent
 * writer; `rename(2)` would silently replace an existing object. A crash leaves at most a temp file, whose name
 * ({@link TEMP_PREFIX}) is never a valid key and which `list` skips. Objects are created read-only (0444).
 */
export class LocalStore extends ContentCheckedStore {
  /** `file://` URI of the store's directory. */
  public readonly uri: string;
  /** Absolute path of the store's directory. */
  public readonly root: string;

  /**
   * @param dir the store directory (created on the first put)
   */
  public constructor(dir: string) {
    super();
    this.root = path.resolve(dir);
    this.uri = pathToFileURL(this.root).href;
  }

  /**
   * Writes `body` at `key` unless an object is there: identical bytes → 'unchanged', different → conflict.
   *
   * @throws UsageError for an invalid key, or a content-addressed key whose `<obj>` is not the body's SHA-256
   * @throws StoreConflictError when the key holds different bytes
   * @throws StoreAccessError when the directory cannot be written
   */
  public async put(key: string, body: Buffer): Promise<PutOutcome> {
    validateKey(key);
    const addr = contentAddress(key);
    if (addr && sha256Hex(body) !== addr.objectDigest) {
      throw new UsageError(`refusing to store ${key}: the body hashes to ${sha256Hex(body)}, not the ${addr.objectDigest} its key names`);
    }
    const final = this.pathOf(key);
    const dir = path.dirname(final);
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (e) {
      throw this.fsError(e, key, 'create the directory for');
    }
    const existing = await this.readRaw(key);
    if (existing !== undefined) {
      return this.compare(key, existing, body);
    }
    const temp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      const handle = await fs.open(temp, 'wx', 0o444);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await fs.link(temp, final);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          // Another writer won the race; the store now holds its bytes.
          const now = await this.readRaw(key);
          return this.compare(key, now ?? Buffer.alloc(0), body);
        }
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          throw new UsageError(
            `cannot create ${key} in ${this.root}: the filesystem does not support hard links (${code}), which the local store needs for atomic no-overwrite writes`);
        }
        throw this.fsError(e, key, 'write');
      }
      await syncDir(dir);
      return 'created';
    } catch (e) {
      if (e instanceof UsageError || e instanceof VerificationError) {
        throw e;
      }
      throw this.fsError(e, key, 'write');
    } finally {
      await fs.unlink(temp).catch(() => undefined);
    }
  }

  /**
   * Lists the objects under `prefix` (a plain string prefix, as in S3) with their sizes (`lstat`), sorted by key; temp
   * files are skipped.
   *
   * @throws UsageError when the store directory does not exist: a store nobody published to is a wrong `--store`,
   *   not an empty answer (a check would otherwise deny as if nothing were signed)
   */
  public async listObjects(prefix: string): Promise<ListedObject[]> {
    validatePrefix(prefix);
    await this.assertStoreDir();
    const dirKey = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirKey === '' ? this.root : this.pathOf(dirKey);
    const out: ListedObject[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          return;
        }
        throw this.fsError(e, rel || prefix, 'list');
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_PREFIX)) {
          continue;
        }
        const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          let size: number;
          try {
            size = (await fs.lstat(path.join(dir, entry.name))).size;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
              continue;
            }
            throw this.fsError(e, key, 'list');
          }
          out.push({ key, size });
        }
      }
    };
    await walk(start, dirKey);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  /** The bytes at `key` without any check, or undefined when there is no file there. */
  protected async readRaw(key: string, opts: ReadOptions = {}): Promise<Buffer | undefined> {
    const limit = Math.min(opts.maxBytes ?? MAX_OBJECT_BYTES, MAX_OBJECT_BYTES);
    try {
      opts.signal?.throwIfAborted();
      // never load an object larger than the reader accepts (a reader must not run out of memory)
      const { size } = await fs.stat(this.pathOf(key));
      if (size > limit) {
        throw new StoreIntegrityError(key, `${key} is ${size} bytes, over the ${limit}-byte limit for ${limit === MAX_OBJECT_BYTES ? 'store' : 'these'} objects; not read`);
      }
      const body = await fs.readFile(this.pathOf(key), opts.signal ? { signal: opts.signal } : {});
      if (body.length > limit) {
        throw new StoreIntegrityError(key, `${key} grew to ${body.length} bytes while read, over the ${limit}-byte limit; not used`);
      }
      return body;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (e instanceof StoreIntegrityError || opts.signal?.aborted) {
        throw opts.signal?.aborted && !(e instanceof StoreIntegrityError) ? opts.signal.reason : e;
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        await this.assertStoreDir();
        return undefined;
      }
      if (code === 'EISDIR') {
        // A ref name that continues past this key (refs/a/b and refs/a/b/1.0) makes it a directory, never an object.
        throw new StoreConflictError(key, `${key} is a directory in ${this.root} (a longer ref name uses it as a folder), so no object can be stored or read there`);
      }
      throw this.fsError(e, key, 'read');
    }
  }

  /** @throws UsageError naming the store when its directory does not exist or is not a directory */
  private async assertStoreDir(): Promise<void> {
    let st;
    try {
      st = await fs.stat(this.root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new UsageError(`store ${this.uri} does not exist (no directory ${this.root}); check --store, or publish to it first`);
      }
      throw this.fsError(e, '', 'read');
    }
    if (!st.isDirectory()) {
      throw new UsageError(`store ${this.uri} is not a directory (${this.root} is a file)`);
    }
  }

  private compare(key: string, existing: Buffer, body: Buffer): PutOutcome {
    if (existing.equals(body)) {
      return 'unchanged';
    }
    throw new StoreConflictError(key,
      `${key} already exists in ${this.uri} with different bytes (sha256 ${sha256Hex(existing)}, new sha256 ${sha256Hex(body)}); the store is write-once, nothing was written`, existing);
  }

  private fsError(e: unknown, key: string, action: string): Error {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') {
      return new StoreAccessError(key, `cannot ${action} ${key} in ${this.root}: ${err.code} (${err.message}); check the directory's permissions`);
    }
    if (err.code === 'ENOTDIR' || err.code === 'EEXIST') {
      return new StoreConflictError(key, `cannot ${action} ${key} in ${this.root}: a file is in the way of its folder (${err.code}); a shorter ref name already uses that path`);
    }
    return new UsageError(`cannot ${action} ${key} in ${this.root}: ${err.message ?? String(e)}`);
  }
}

/** Makes a new directory entry durable; best effort, since some platforms cannot fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability of the link is a bonus here: the object is already visible and complete.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
