/**
 * The S3 attestation store (`s3://bucket/prefix`): write-once puts with If-None-Match, SSE-KMS and SHA-256
 * checksums, checked reads, bounded retries.
 */
import { createHash } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import {
  GetBucketEncryptionCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ContentCheckedStore } from './base';
import { isStoreError, StoreAccessError, StoreConflictError, StoreIntegrityError, StoreUnavailableError } from './errors';
import { contentAddress, MAX_OBJECT_BYTES, sha256Hex, validateKey, validatePrefix } from './keys';
import type { ListedObject, PutOutcome, ReadOptions } from './types';
import { STORE_FOLDERS } from '../../shared/store-layout';
import { UsageError, VerificationError } from '../codec/errors';
import { BUNDLE_MEDIA_TYPE } from '../engine/bundle';

/** Options of {@link S3Store}. */
export interface S3StoreOptions {
  /** The bucket name. */
  readonly bucket: string;
  /**
   * Key prefix inside the bucket; a trailing `/` is added when missing.
   *
   * @default '' (the bucket root)
   */
  readonly prefix?: string;
  /**
   * The client to use (tests inject a mocked one).
   *
   * @default - a new S3Client for `region` with SDK retries off (this store retries) and region redirects on
   */
  readonly client?: S3Client;
  /**
   * AWS region for the default client.
   *
   * @default - from the environment (AWS_REGION, the shared config)
   */
  readonly region?: string;
  /**
   * ARN of the store's KMS key, sent as `SSEKMSKeyId` on every put. The bucket policy denies puts that name any
   * other key (an alias or key id does not match either), so it must be the key ARN.
   *
   * @default - looked up once with GetBucketEncryption (needs `s3:GetEncryptionConfiguration` on the bucket)
   */
  readonly kmsKeyArn?: string;
  /**
   * Attempts per request for throttling, timeouts, 5xx and 409 ConditionalRequestConflict.
   *
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * First backoff delay in milliseconds; each retry doubles it (up to `maxDelayMs`), with jitter.
   *
   * @default 100
   */
  readonly baseDelayMs?: number;
  /**
   * Ceiling of one backoff delay in milliseconds.
   *
   * @default 5000
   */
  readonly maxDelayMs?: number;
  /**
   * Waits between retries (tests inject a recorder that does not wait).
   *
   * @default - setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Jitter source in [0, 1).
   *
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * The folders whose history a decision depends on: a second version of a ref re-points a name, a delete marker on a
 * revocation un-revokes a model. Every object is written once with Object Lock and the bucket policy denies
 * overwrites and deletes, so more than one version or any delete marker there means someone bypassed or changed
 * the bucket policy. They are listed with ListObjectVersions (`s3:ListBucketVersions`), which shows both.
 */
const GUARDED_FOLDERS: readonly string[] = [STORE_FOLDERS.refs, STORE_FOLDERS.revocations];

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Error names S3 and the SDK use for throttling and transient failures. */
const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestThrottled',
  'RequestThrottledException', 'RequestLimitExceeded', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable',
  'InternalError', 'TimeoutError', 'BadDigest', 'ConditionalRequestConflict',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

interface AwsError {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: unknown;
}

/**
 * A write-once store in an S3 bucket protected by the `AttestationStore` construct.
 *
 * Every put is one PutObject (never multipart: the bucket policy cannot let multipart uploads complete) with
 * `If-None-Match: *`, `x-amz-server-side-encryption: aws:kms`, the store key ARN, and a SHA-256 checksum; no
 * retention headers (retention comes from the bucket's Object Lock default). A 412 means the key exists: the
 * object is read back and compared, so republishing identical bytes succeeds as 'unchanged'.
 */
export class S3Store extends ContentCheckedStore {
  /** `s3://bucket/prefix/`. */
  public readonly uri: string;
  /** The bucket name. */
  public readonly bucket: string;
  /** The key prefix inside the bucket (`''` or ending with `/`). */
  public readonly prefix: string;
  private readonly client: S3Client;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private keyArnLookup?: Promise<string>;

  /**
   * @throws UsageError for an invalid bucket name, prefix or key ARN
   */
  public constructor(private readonly options: S3StoreOptions) {
    super();
    if (!BUCKET.test(options.bucket) || options.bucket.includes('..')) {
      throw new UsageError(`S3 bucket name ${JSON.stringify(options.bucket)} is not valid; expected 3-63 characters of a-z 0-9 . -`);
    }
    const raw = options.prefix ?? '';
    const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
    if (prefix !== '') {
      try {
        validatePrefix(prefix);
      } catch (e) {
        throw new UsageError(`S3 store prefix ${JSON.stringify(raw)} is not valid: ${(e as Error).message}`);
      }
    }
    if (options.kmsKeyArn !== undefined && !KEY_ARN.test(options.kmsKeyArn)) {
      throw new UsageError(
        `store KMS key ${JSON.stringify(options.kmsKeyArn)} is not a key ARN; expected arn:aws:kms:<region>:<account>:key/<id> (the bucket policy compares the key ARN, so an alias or key id is refused)`);
    }
    const attempts = options.maxAttempts ?? 8;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new UsageError(`S3 store maxAttempts is ${attempts}; expected a positive integer`);
    }
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.uri = `s3://${this.bucket}/${this.prefix}`;
    this.client = options.client ?? new S3Client({
      ...(options.region ? { region: options.region } : {}),
      // One retry loop only (this store's), so the bound and the backoff are the documented ones.
      maxAttempts: 1,
      followRegionRedirects: true,
    });
    this.maxAttempts = attempts;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /**
   * Writes `body` at `key` with one conditional PutObject.
   *
   * @throws UsageError for an invalid key or a content-addressed key whose `<obj>` is not the body's SHA-256
   * @throws StoreConflictError when the key holds different bytes
   * @throws StoreAccessError when S3 denies the put (missing grantPublish, wrong KMS key)
   * @throws StoreUnavailableError when throttling or transient failures outlast the retries
   */
  public async put(key: string, body: Buffer): Promise<PutOutcome> {
    validateKey(key);
    const addr = contentAddress(key);
    if (addr && sha256Hex(body) !== addr.objectDigest) {
      throw new UsageError(`refusing to store ${key}: the body hashes to ${sha256Hex(body)}, not the ${addr.objectDigest} its key names`);
    }
    const keyArn = await this.storeKeyArn();
    const checksum = createHash('sha256').update(body).digest('base64');
    try {
      await this.withRetries('PutObject', key, () => this.client.send(new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: body,
        ContentLength: body.length,
        ContentType: contentTypeOf(key, body),
        IfNoneMatch: '*',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: keyArn,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: checksum,
      })));
      return 'created';
    } catch (e) {
      if (!isPreconditionFailed(e)) {
        throw this.mapError(e, 'PutObject', key, 'publish');
      }
    }
    return this.compareExisting(key, body, addr !== undefined);
  }

  /**
   * Lists every object under `prefix` (all pages), relative to the store prefix, with the `Size` the listing
   * reports, sorted by key.
   *
   * Under `refs/` and `revocations/` (see {@link GUARDED_FOLDERS}) with ListObjectVersions, and a key there with more
   * than one version or a delete marker fails the listing: a delete marker could hide a revocation from a plain
   * listing. Elsewhere with ListObjectsV2: every object there is content-addressed and checked when read, and a
   * hidden one can only remove a signature, never add trust.
   *
   * @throws StoreIntegrityError naming the key when a guarded key has several versions or a delete marker
   */
  public async listObjects(prefix: string): Promise<ListedObject[]> {
    validatePrefix(prefix);
    const byKey = (a: ListedObject, b: ListedObject) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    if (GUARDED_FOLDERS.some((f) => prefix.startsWith(f) || f.startsWith(prefix))) {
      return (await this.listVersions(prefix, () => true)).sort(byKey);
    }
    const keys: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.withRetries('ListObjectsV2', prefix, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }))).catch((e) => {
        throw this.mapError(e, 'ListObjectsV2', prefix, 'read');
      });
      for (const obj of page.Contents ?? []) {
        const full = obj.Key ?? '';
        // Folder markers ("a/b/") made by consoles are not objects of the store.
        if (full.startsWith(this.prefix) && !full.endsWith('/')) {
          keys.push({ key: full.slice(this.prefix.length), size: obj.Size ?? 0 });
        }
      }
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new StoreUnavailableError(prefix, `ListObjectsV2 on ${this.uri}${prefix} returned a truncated page without a continuation token`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort(byKey);
  }

  /**
   * Lists the versions under `prefix` with ListObjectVersions (all pages) and returns the keys accepted by `select`
   * that exist, after checking that no guarded key among them has more than one version or a delete marker.
   */
  private async listVersions(prefix: string, select: (key: string) => boolean): Promise<ListedObject[]> {
    const versions = new Map<string, number>();
    const sizes = new Map<string, number>();
    const markers = new Set<string>();
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page: ListObjectVersionsCommandOutput = await this.withRetries('ListObjectVersions', prefix, () => this.client.send(new ListObjectVersionsCommand({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
      }))).catch((e) => {
        throw this.mapError(e, 'ListObjectVersions', prefix, 'read');
      });
      const inStore = (full: string | undefined) => full !== undefined && full.startsWith(this.prefix) && !full.endsWith('/') && select(full.slice(this.prefix.length));
      for (const v of page.Versions ?? []) {
        if (inStore(v.Key)) {
          const key = v.Key!.slice(this.prefix.length);
          versions.set(key, (versions.get(key) ?? 0) + 1);
          // the largest version's size: a reader must be able to refuse whichever version a GET returns
          sizes.set(key, Math.max(sizes.get(key) ?? 0, v.Size ?? 0));
        }
      }
      for (const m of page.DeleteMarkers ?? []) {
        if (inStore(m.Key)) {
          markers.add(m.Key!.slice(this.prefix.length));
        }
      }
      if (page.IsTruncated && page.NextKeyMarker === undefined) {
        throw new StoreUnavailableError(prefix, `ListObjectVersions on ${this.uri}${prefix} returned a truncated page without a key marker`);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    const guarded = (key: string) => GUARDED_FOLDERS.some((f) => key.startsWith(f));
    for (const key of [...new Set([...versions.keys(), ...markers])].sort()) {
      if (!guarded(key)) {
        continue;
      }
      const count = versions.get(key) ?? 0;
      if (markers.has(key) || count > 1) {
        const what = markers.has(key)
          ? `has a delete marker${count > 0 ? ` over ${count} version(s)` : ''}`
          : `has ${count} versions`;
        throw new StoreIntegrityError(key,
          `${this.uri}${key} ${what}: the store is write-once (Object Lock, and a bucket policy that denies overwrites and deletes), so the bucket policy was bypassed or changed (by the account root or whoever may change it); `
          + `nothing under ${key.startsWith(STORE_FOLDERS.refs) ? 'refs/' : 'revocations/'} can be trusted until an administrator investigates`);
      }
    }
    return [...versions.keys()].filter((k) => !markers.has(k)).map((key) => ({ key, size: sizes.get(key) ?? 0 }));
  }

  /** The store key ARN: the configured one, or the bucket default's (looked up once). */
  private storeKeyArn(): Promise<string> {
    if (this.options.kmsKeyArn) {
      return Promise.resolve(this.options.kmsKeyArn);
    }
    this.keyArnLookup ??= this.lookupKeyArn().catch((e) => {
      this.keyArnLookup = undefined;
      throw e;
    });
    return this.keyArnLookup;
  }

  private async lookupKeyArn(): Promise<string> {
    const hint = 'pass the store key ARN with --store-key-arn or MODELSEAL_STORE_KMS_KEY_ARN';
    let rules;
    try {
      const out = await this.withRetries('GetBucketEncryption', '', () => this.client.send(new GetBucketEncryptionCommand({ Bucket: this.bucket })));
      rules = out.ServerSideEncryptionConfiguration?.Rules ?? [];
    } catch (e) {
      if (isAccessDenied(e)) {
        throw new StoreAccessError(this.bucket,
          `cannot look up the store key of bucket ${this.bucket}: s3:GetEncryptionConfiguration was denied (${messageOf(e)}); ${hint}, or grant s3:GetEncryptionConfiguration on the bucket`);
      }
      if (nameOf(e) === 'ServerSideEncryptionConfigurationNotFoundError') {
        throw new UsageError(`bucket ${this.bucket} has no default encryption; an attestation store bucket uses SSE-KMS with its own key (${hint})`);
      }
      throw this.mapError(e, 'GetBucketEncryption', '', 'publish');
    }
    const kms = rules.map((r) => r.ApplyServerSideEncryptionByDefault).find((d) => d?.SSEAlgorithm === 'aws:kms' || d?.SSEAlgorithm === 'aws:kms:dsse');
    if (!kms) {
      const algs = rules.map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).filter(Boolean).join(', ') || 'none';
      throw new UsageError(`bucket ${this.bucket} default encryption is ${algs}, not SSE-KMS; an attestation store bucket encrypts with its own KMS key (${hint})`);
    }
    const id = kms.KMSMasterKeyID;
    if (!id) {
      throw new UsageError(`bucket ${this.bucket} uses the AWS managed key aws/s3; an attestation store uses a customer managed key (${hint})`);
    }
    if (!KEY_ARN.test(id)) {
      throw new UsageError(`bucket ${this.bucket} default encryption names KMS key ${JSON.stringify(id)}, not a key ARN, and the store's bucket policy compares key ARNs; ${hint}`);
    }
    return id;
  }

  /** After a 412: the existing object's bytes decide between 'unchanged' and a conflict. */
  private async compareExisting(key: string, body: Buffer, contentAddressed: boolean): Promise<PutOutcome> {
    let existing: Buffer | undefined;
    try {
      existing = await this.readRaw(key);
    } catch (e) {
      if (e instanceof StoreAccessError && contentAddressed) {
        // A publisher usually holds grantPublish only. The key names the SHA-256 of the bytes, and every read
        // checks it, so an object already at this key is either these bytes or fails closed when read.
        return 'unchanged';
      }
      if (e instanceof StoreAccessError) {
        throw new StoreAccessError(key,
          `${key} already exists in ${this.uri}, and comparing it with the new bytes needs read access (the store's grantRead): ${e.message}`);
      }
      throw e;
    }
    if (existing === undefined) {
      throw new StoreUnavailableError(key, `S3 answered 412 (exists) for ${this.uri}${key} but the object cannot be found when read; try again`);
    }
    if (existing.equals(body)) {
      return 'unchanged';
    }
    throw new StoreConflictError(key,
      `${key} already exists in ${this.uri} with different bytes (sha256 ${sha256Hex(existing)}, new sha256 ${sha256Hex(body)}); the store is write-once, nothing was written`, existing);
  }

  /**
   * GetObject with checksum mode on; the bytes after the checksum check, or undefined for a missing key. A ref is
   * first listed with its versions: a re-pointed or deleted ref fails with StoreIntegrityError.
   */
  protected async readRaw(key: string, opts: ReadOptions = {}): Promise<Buffer | undefined> {
    const limit = Math.min(opts.maxBytes ?? MAX_OBJECT_BYTES, MAX_OBJECT_BYTES);
    if (key.startsWith(STORE_FOLDERS.refs) && (await this.listVersions(key, (k) => k === key)).length === 0) {
      return undefined;
    }
    const full = this.prefix + key;
    let result: { bytes: Buffer; checksum?: string };
    try {
      result = await this.withRetries('GetObject', key, async () => {
        opts.signal?.throwIfAborted();
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full, ChecksumMode: 'ENABLED' }),
          opts.signal ? { abortSignal: opts.signal } : {});
        if (!out.Body) {
          throw new StoreIntegrityError(key, `GetObject ${this.uri}${key} returned no body`);
        }
        // never download an object larger than the reader accepts (a reader must not run out of memory)
        if (out.ContentLength === undefined || out.ContentLength > limit) {
          (out.Body as { destroy?: () => void }).destroy?.();
          throw new StoreIntegrityError(key, out.ContentLength === undefined
            ? `GetObject ${this.uri}${key} returned no Content-Length; not read (its size cannot be checked before download)`
            : `${this.uri}${key} is ${out.ContentLength} bytes, over the ${limit}-byte limit for ${limit === MAX_OBJECT_BYTES ? 'store' : 'these'} objects; not read`);
        }
        const bytes = Buffer.from(await out.Body.transformToByteArray());
        if (bytes.length > limit) {
          throw new StoreIntegrityError(key, `GetObject ${this.uri}${key} returned ${bytes.length} bytes, more than its Content-Length ${out.ContentLength}; not used`);
        }
        return { bytes, checksum: out.ChecksumSHA256 };
      });
    } catch (e) {
      if (isNotFound(e)) {
        return undefined;
      }
      throw this.mapError(e, 'GetObject', key, 'read');
    }
    // A composite checksum ("...-N") belongs to a multipart upload and is not a hash of the whole body; the
    // content-address check still applies to such an object.
    if (result.checksum && !result.checksum.includes('-')) {
      const actual = createHash('sha256').update(result.bytes).digest('base64');
      if (actual !== result.checksum) {
        throw new StoreIntegrityError(key,
          `object ${this.uri}${key} failed its SHA-256 checksum: S3 recorded ${result.checksum}, the bytes received hash to ${actual} (corrupted in storage or in transit)`);
      }
    }
    return result.bytes;
  }

  /** Runs `fn`, retrying throttling and transient failures with capped exponential backoff and jitter. */
  private async withRetries<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e)) {
          throw e;
        }
        if (attempt >= this.maxAttempts) {
          throw new StoreUnavailableError(key,
            `S3 ${operation} on ${this.uri}${key} failed ${attempt} times with throttling or transient errors (last: ${nameOf(e)}: ${messageOf(e)}); try again later`);
        }
        const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        // "Equal jitter": at least half the capped delay, so the backoff still grows, plus a random half.
        await this.sleep(Math.round(cap / 2 + this.random() * (cap / 2)));
      }
    }
  }

  private mapError(e: unknown, operation: string, key: string, purpose: 'publish' | 'read'): Error {
    if (isStoreError(e) || e instanceof UsageError || e instanceof VerificationError) {
      return e as Error;
    }
    const where = `${this.uri}${key}`;
    const name = nameOf(e);
    if (isAccessDenied(e)) {
      const grant = key.startsWith(STORE_FOLDERS.revocations) ? 'grantRevoke (revocations/ only)'
        : key.startsWith(STORE_FOLDERS.refs) ? 'grantSetRef for this model name (refs/<model-name>/ only)'
          : 'grantPublish (bundles/, attestations/ and notation/)';
      const need = purpose === 'publish'
        ? `The caller needs the store's ${grant}: s3:PutObject on those keys and kms:GenerateDataKey on the store key through S3; `
          + `and the bucket policy refuses puts without If-None-Match or with a KMS key other than the store key (sent ${this.options.kmsKeyArn ?? 'the bucket default key'})`
        : 'The caller needs the store\'s grantRead (s3:GetObject, s3:ListBucket and s3:ListBucketVersions on the store, kms:Decrypt on the store key through S3)';
      return new StoreAccessError(key, `S3 denied ${operation} on ${where} (${name}: ${messageOf(e)}). ${need}`);
    }
    if (name === 'CredentialsProviderError' || name === 'InvalidAccessKeyId' || name === 'ExpiredToken' || name === 'SignatureDoesNotMatch') {
      return new StoreAccessError(key, `no usable AWS credentials for ${operation} on ${where} (${name}: ${messageOf(e)})`);
    }
    if (/^Region is missing/.test(messageOf(e))) {
      return new UsageError(`no AWS region for the S3 store ${this.uri}: pass --region REGION or set AWS_REGION`);
    }
    if (name === 'NoSuchBucket') {
      return new UsageError(`bucket ${this.bucket} does not exist (store ${this.uri})`);
    }
    return new UsageError(`S3 ${operation} on ${where} failed: ${name}: ${messageOf(e)}`);
  }
}

/** Content-Type of a stored object, from its key. */
function contentTypeOf(key: string, body: Buffer): string {
  if (key.startsWith('refs/')) {
    return 'text/plain; charset=utf-8';
  }
  if (key.endsWith('.jws')) {
    return body[0] === 0x7b ? 'application/jose+json' : 'application/jose';
  }
  return key.endsWith('.json') ? BUNDLE_MEDIA_TYPE : 'application/octet-stream';
}

/** The error name an AWS SDK error carries (`SlowDown`, `AccessDenied`, ...). */
export function nameOf(e: unknown): string {
  const err = e as AwsError;
  return err?.name ?? err?.Code ?? 'Error';
}

/** The message of an AWS SDK error. */
export function messageOf(e: unknown): string {
  return (e as AwsError)?.message ?? String(e);
}

function statusOf(e: unknown): number | undefined {
  return (e as AwsError)?.$metadata?.httpStatusCode;
}

/** Whether an S3 error is throttling or a transient failure worth retrying. */
export function isTransient(e: unknown): boolean {
  if (isStoreError(e) || e instanceof UsageError || e instanceof VerificationError) {
    return false;
  }
  const status = statusOf(e);
  const code = (e as AwsError)?.code;
  return TRANSIENT_NAMES.has(nameOf(e)) || status === 409 || status === 500 || status === 502 || status === 503 || status === 504
    || (code !== undefined && TRANSIENT_CODES.has(code)) || (e as AwsError)?.$retryable !== undefined;
}

function isPreconditionFailed(e: unknown): boolean {
  return nameOf(e) === 'PreconditionFailed' || statusOf(e) === 412;
}

/** Whether an S3 error is a refusal (403, AccessDenied). */
export function isAccessDenied(e: unknown): boolean {
  const name = nameOf(e);
  return name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'Forbidden' || (statusOf(e) === 403 && name !== 'InvalidAccessKeyId'
    && name !== 'ExpiredToken' && name !== 'SignatureDoesNotMatch');
}

/** Whether an S3 error says the key does not exist. */
export function isNotFound(e: unknown): boolean {
  const name = nameOf(e);
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(e) === 404 && name !== 'NoSuchBucket');
}
