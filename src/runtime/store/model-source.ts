/**
 * Where `modelseal pull` reads a model from: a local folder (or file), or an S3 prefix (or object). A source lists
 * the model's files and streams each one in order, so the caller hashes the bytes as they arrive (one pass, no
 * second read) and never holds a whole file in memory.
 *
 * S3 objects are read in ranged GETs of `partSize` bytes, each pinned to the ETag the listing returned
 * (`If-Match`), so an object replaced mid-download fails instead of mixing two versions; a transient failure resumes
 * from the last byte received, with bounded retries.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { GetObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { isAccessDenied, isNotFound, isTransient, messageOf, nameOf } from './s3';
import { UsageError, VerificationError } from '../codec/errors';
import { isIgnoredName, listModelFiles } from '../engine/hashing';

/** One file of a source model. */
export interface SourceFile {
  /** POSIX path relative to the model root (`.` for a single-file model, as OMS names it). */
  readonly name: string;
  /** Size in bytes, as listed. */
  readonly size: number;
}

/** A model to download. */
export interface ModelSource {
  /** Names the source in messages. */
  readonly uri: string;
  /**
   * Lists the model's files, leaving out names under `ignores` (model-relative ignore paths, as a manifest's
   * `serialization.ignore_paths` records them).
   *
   * @param allowSymlinks follow symlinks that stay inside a local model (the manifest's `allow_symlinks`)
   * @throws VerificationError when the source cannot be listed
   */
  list(ignores: readonly string[], allowSymlinks: boolean): Promise<SourceFile[]>;
  /**
   * For a single-file model (one resource named `.`): the file name to write it as.
   */
  singleFileName(): string | undefined;
  /**
   * The bytes of a listed file, in order. A chunk may be a view of a buffer the source reuses: consume it (hash it,
   * write it) before asking for the next. Errors are VerificationErrors naming the file.
   */
  read(file: SourceFile): AsyncIterable<Buffer>;
}

/** Options of {@link openModelSource}. */
export interface ModelSourceOptions {
  /** S3 client (tests inject a mock). @default - a new client for `region` */
  readonly s3Client?: S3Client;
  /** Region of the source bucket. @default - the SDK's lookup (AWS_REGION) */
  readonly region?: string;
  /** Bytes per ranged GET. @default 8 MiB */
  readonly partSize?: number;
  /** Attempts per ranged GET or listing page. @default 5 */
  readonly maxAttempts?: number;
  /** Waits between retries (tests). @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Base of a relative local path. @default process.cwd() */
  readonly cwd?: string;
}

/** Bytes per read of a local file. */
const LOCAL_CHUNK = 1024 * 1024;

/** The default bytes per ranged GET. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * Opens `s3://bucket/prefix/` (a folder), `s3://bucket/key` (one object, or a folder when objects exist under
 * `key/`), or a local folder or file.
 *
 * @throws UsageError for a malformed URI
 */
export function openModelSource(uri: string, opts: ModelSourceOptions = {}): ModelSource {
  if (/^s3:\/\//i.test(uri)) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new UsageError(`model source ${JSON.stringify(uri)} has no valid bucket name; expected s3://bucket/prefix/`);
    }
    return new S3ModelSource(bucket, key, opts);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(uri)) {
    throw new UsageError(`model source ${JSON.stringify(uri)} has an unsupported scheme; expected s3://bucket/prefix/ or a local folder`);
  }
  return new LocalModelSource(path.resolve(opts.cwd ?? process.cwd(), uri));
}

/** A model in a local folder (or a single local file). */
class LocalModelSource implements ModelSource {
  public readonly uri: string;
  private isFile = false;

  public constructor(private readonly root: string) {
    this.uri = root;
  }

  public async list(ignores: readonly string[], allowSymlinks: boolean): Promise<SourceFile[]> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(this.root);
    } catch (e) {
      throw new VerificationError(`cannot read the model source ${this.root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.isFile = st.isFile();
    let names: string[];
    try {
      // the engine's own listing: the same ignore and symlink rules as `modelseal verify`
      names = await listModelFiles(this.root, { modelIgnorePaths: [...ignores], allowSymlinks });
    } catch (e) {
      throw new VerificationError(`cannot list the model source ${this.root}: ${(e as Error).message}`);
    }
    return Promise.all(names.map(async (name) => ({ name, size: (await fs.promises.stat(this.pathOf(name))).size })));
  }

  public singleFileName(): string | undefined {
    return this.isFile ? path.basename(this.root) : undefined;
  }

  /** Reads into one reused 1 MiB buffer: each chunk is valid until the next one is asked for (pull writes it first). */
  public async *read(file: SourceFile): AsyncIterable<Buffer> {
    const where = this.pathOf(file.name);
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fs.promises.open(where, 'r');
      const buffer = Buffer.allocUnsafe(LOCAL_CHUNK);
      for (let position = 0; ;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) {
          return;
        }
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } catch (e) {
      throw new VerificationError(`cannot read ${where}: ${(e as Error).message}`);
    } finally {
      await handle?.close();
    }
  }

  private pathOf(name: string): string {
    return name === '.' ? this.root : path.join(this.root, ...name.split('/'));
  }
}

/** A model under an S3 prefix (or one S3 object). */
class S3ModelSource implements ModelSource {
  public readonly uri: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly etags = new Map<string, string | undefined>();
  /** The folder prefix listed (ends with `/`), or the single object's key. */
  private base: string;
  private single = false;

  public constructor(private readonly bucket: string, private readonly key: string, opts: ModelSourceOptions) {
    this.uri = `s3://${bucket}/${key}`;
    this.client = opts.s3Client ?? new S3Client({ ...(opts.region ? { region: opts.region } : {}), maxAttempts: 1, followRegionRedirects: true });
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < 64 * 1024) {
      throw new UsageError(`S3 part size ${this.partSize} is too small; use at least 64 KiB`);
    }
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.base = key === '' || key.endsWith('/') ? key : `${key}/`;
  }

  public async list(ignores: readonly string[]): Promise<SourceFile[]> {
    let objects = await this.listPrefix(this.base);
    if (objects.length === 0 && this.key !== '' && !this.key.endsWith('/')) {
      // s3://bucket/model.joblib: a single-file model
      const exact = (await this.listPrefix(this.key)).filter((o) => o.key === this.key);
      if (exact.length === 1) {
        this.single = true;
        this.base = this.key;
        objects = exact;
      }
    }
    if (objects.length === 0) {
      throw new VerificationError(`the model source ${this.uri} holds no objects`);
    }
    const out: SourceFile[] = [];
    for (const o of objects) {
      const name = this.single ? '.' : o.key.slice(this.base.length);
      // folder markers made by consoles are not files
      if (!this.single && (name === '' || name.endsWith('/')) && o.size === 0) {
        continue;
      }
      if (!this.single && isIgnoredName(name, ignores)) {
        continue;
      }
      this.etags.set(name, o.etag);
      out.push({ name, size: o.size });
    }
    return out;
  }

  public singleFileName(): string | undefined {
    return this.single ? path.posix.basename(this.key) : undefined;
  }

  public async *read(file: SourceFile): AsyncIterable<Buffer> {
    const key = this.single ? this.key : this.base + file.name;
    const etag = this.etags.get(file.name);
    let offset = 0;
    while (offset < file.size) {
      const end = Math.min(offset + this.partSize, file.size) - 1;
      for (let attempt = 1; ; attempt++) {
        const before = offset;
        try {
          const out = await this.client.send(new GetObjectCommand({
            Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${end}`, ...(etag ? { IfMatch: etag } : {}),
          }));
          if (!out.Body) {
            throw new VerificationError(`GetObject ${this.uri}${file.name === '.' ? '' : file.name} returned no body`);
          }
          for await (const chunk of out.Body as Readable) {
            const b = chunk as Buffer;
            offset += b.length;
            if (offset > end + 1) {
              throw new VerificationError(`s3://${this.bucket}/${key} returned more bytes than the range ${before}-${end} asked for`);
            }
            yield b;
          }
          if (offset !== end + 1) {
            throw Object.assign(new Error(`short read: ${offset - before} of ${end + 1 - before} bytes`), { name: 'RequestTimeout' });
          }
          break;
        } catch (e) {
          if (e instanceof VerificationError) {
            throw e;
          }
          if (nameOf(e) === 'PreconditionFailed' || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
            throw new VerificationError(`s3://${this.bucket}/${key} changed while it was being downloaded (its ETag no longer matches); nothing is kept`);
          }
          if (!isTransient(e) || attempt >= this.maxAttempts) {
            throw this.failure(e, 'GetObject', key, attempt);
          }
          await this.sleep(Math.min(2000, 100 * 2 ** (attempt - 1)));
        }
      }
    }
  }

  private async listPrefix(prefix: string): Promise<{ key: string; size: number; etag?: string }[]> {
    const out: { key: string; size: number; etag?: string }[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput | undefined;
      for (let attempt = 1; page === undefined; attempt++) {
        try {
          const input = { Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) };
          page = await this.client.send(new ListObjectsV2Command(input));
        } catch (e) {
          if (!isTransient(e) || attempt >= this.maxAttempts) {
            throw this.failure(e, 'ListObjectsV2', prefix, attempt);
          }
          await this.sleep(Math.min(2000, 100 * 2 ** (attempt - 1)));
        }
      }
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) {
          out.push({ key: o.Key, size: Number(o.Size ?? 0), ...(o.ETag ? { etag: o.ETag } : {}) });
        }
      }
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new VerificationError(`ListObjectsV2 on s3://${this.bucket}/${prefix} returned a truncated page without a continuation token`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private failure(e: unknown, operation: string, key: string, attempts: number): VerificationError {
    const where = `s3://${this.bucket}/${key}`;
    if (isAccessDenied(e)) {
      return new VerificationError(`S3 denied ${operation} on ${where} (${nameOf(e)}: ${messageOf(e)}); the pod's role needs s3:GetObject and s3:ListBucket on the model prefix`);
    }
    if (isNotFound(e)) {
      return new VerificationError(`${where} disappeared while it was being downloaded (${nameOf(e)})`);
    }
    return new VerificationError(`S3 ${operation} on ${where} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${nameOf(e)}: ${messageOf(e)}`);
  }
}
