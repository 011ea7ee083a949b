/**
 * A mocked S3 that models the attestation store bucket: an in-memory bucket behind the `AttestationStore` bucket
 * policy, so the S3 store is tested against the behaviours it depends on.
 *
 * PutObject: without `IfNoneMatch` → AccessDenied (the policy's Null condition); any value but `*` →
 * NotImplemented (S3 accepts only `*` on PutObject); without `aws:kms` or with another key than the store key →
 * AccessDenied; with Object Lock parameters → AccessDenied (s3:PutObjectRetention/LegalHold are denied to all);
 * an existing key → 412 PreconditionFailed; a `ChecksumSHA256` that does not match the body → 400 BadDigest.
 * GetObject returns a Body that streams in 64 KiB chunks and has `transformToByteArray()`, honours `Range: bytes=a-b`
 * and `IfMatch` (the ETag, MD5 of the bytes, as ListObjectsV2 reports it), and `ChecksumSHA256` when `ChecksumMode` is
 * ENABLED.
 * ListObjectsV2 pages with a small MaxKeys. ListObjectVersions reports every version and delete marker (the bucket is
 * versioned, as Object Lock requires); a principal that bypasses the bucket policy (the account root, or whoever
 * changed it) can add versions and delete markers with {@link S3Mock.overwriteBehindPolicy} and
 * {@link S3Mock.deleteBehindPolicy}. Throttling, 409 conflicts and AccessDenied can be injected.
 */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import {
  GetBucketEncryptionCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandInput,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

/** One stored object. */
export interface MockS3Object {
  body: Buffer;
  /** The SHA-256 checksum S3 recorded (base64), returned on checksum-mode reads. */
  checksumSha256: string;
  contentType?: string;
  kmsKeyId?: string;
}

/** Options of {@link S3Mock.create}. */
export interface S3MockOptions {
  readonly bucket?: string;
  readonly region?: string;
  readonly account?: string;
  /** Page size of ListObjectsV2 (small by default, to exercise continuation). @default 2 */
  readonly maxKeys?: number;
  /** What GetBucketEncryption reports. @default the store key (SSE-KMS) */
  readonly defaultEncryption?: 'kms' | 'AES256' | 'aws-managed-kms' | 'none';
}

type Operation = 'PutObject' | 'GetObject' | 'ListObjectsV2' | 'ListObjectVersions' | 'GetBucketEncryption';

/** An error shaped like the SDK's S3 service exceptions. */
export function s3Error(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, Code: name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

/** A mocked S3 client holding one bucket. */
export class S3Mock {
  /** Creates the mock on a fresh S3Client. */
  public static create(opts: S3MockOptions = {}): S3Mock {
    return new S3Mock(opts);
  }

  /** The mocked client to inject into the store. */
  public readonly client: S3Client;
  /** The aws-sdk-client-mock stub, for call assertions. */
  public readonly stub;
  /** The bucket name. */
  public readonly bucket: string;
  /** The store key ARN the bucket policy demands. */
  public readonly keyArn: string;
  /** The bucket's objects by full key. */
  public readonly objects = new Map<string, MockS3Object>();
  /** Versions older than the current one, per full key (the current one is in `objects`). */
  private readonly olderVersions = new Map<string, number>();
  /** Keys whose latest version is a delete marker. */
  private readonly deleteMarkers = new Set<string>();
  private readonly maxKeys: number;
  private throttleLeft = 0;
  private throttleName = 'SlowDown';
  private conflictLeft = 0;
  private readonly denied = new Set<Operation>();

  private constructor(private readonly opts: S3MockOptions) {
    const region = opts.region ?? 'us-east-1';
    this.bucket = opts.bucket ?? 'modelseal-store';
    this.keyArn = `arn:aws:kms:${region}:${opts.account ?? '111122223333'}:key/0b7e4a3c-1111-4222-8333-944455556666`;
    this.maxKeys = opts.maxKeys ?? 2;
    this.client = new S3Client({ region, credentials: { accessKeyId: 'AKIDMOCK', secretAccessKey: 'mock' } });
    this.stub = mockClient(this.client);
    this.stub.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => this.putObject(input));
    this.stub.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => this.getObject(input));
    this.stub.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => this.listObjects(input));
    this.stub.on(ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => this.listObjectVersions(input));
    this.stub.on(GetBucketEncryptionCommand).callsFake(() => this.getBucketEncryption());
  }

  /** The next `n` calls (any operation) fail with a throttling error (`SlowDown`, 503 by default). */
  public throttle(n: number, name = 'SlowDown'): void {
    this.throttleLeft = n;
    this.throttleName = name;
  }

  /** The next `n` PutObject calls fail with 409 ConditionalRequestConflict (a concurrent conditional write). */
  public conditionalConflicts(n: number): void {
    this.conflictLeft = n;
  }

  /** Every call of these operations is denied (AccessDenied, 403), as for a principal without the grant. */
  public deny(...ops: Operation[]): void {
    for (const op of ops) {
      this.denied.add(op);
    }
  }

  /**
   * Replaces an object's bytes behind the store's back (bit rot, or a tampering admin).
   *
   * @param keepChecksum leave the recorded checksum as it was (so checksum-mode reads see the mismatch)
   */
  public tamper(key: string, body: Buffer, keepChecksum: boolean): void {
    const obj = this.objects.get(key);
    if (!obj) {
      throw new Error(`mock S3: no object ${key} to tamper with`);
    }
    obj.body = body;
    if (!keepChecksum) {
      obj.checksumSha256 = sha256b64(body);
    }
  }

  /** Writes an object directly (as another principal might have), bypassing every check. */
  public seed(key: string, body: Buffer): void {
    this.objects.set(key, { body, checksumSha256: sha256b64(body) });
  }

  /**
   * Writes a new version of an existing key, as only a principal that bypasses the bucket policy could (the policy
   * denies overwrites): the old bytes stay as an older version.
   */
  public overwriteBehindPolicy(key: string, body: Buffer): void {
    if (!this.objects.has(key)) {
      throw new Error(`mock S3: no object ${key} to overwrite`);
    }
    this.olderVersions.set(key, (this.olderVersions.get(key) ?? 0) + 1);
    this.objects.set(key, { body, checksumSha256: sha256b64(body) });
  }

  /** Puts a delete marker on a key (hiding it from GetObject and ListObjectsV2), as only a bypass could. */
  public deleteBehindPolicy(key: string): void {
    const obj = this.objects.get(key);
    if (!obj) {
      throw new Error(`mock S3: no object ${key} to delete`);
    }
    this.olderVersions.set(key, (this.olderVersions.get(key) ?? 0) + 1);
    this.objects.delete(key);
    this.deleteMarkers.add(key);
  }

  /** Every ListObjectVersions input the client received. */
  public versionListCalls(): ListObjectVersionsCommandInput[] {
    return this.stub.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
  }

  /** Every PutObject input the client received. */
  public putCalls(): PutObjectCommandInput[] {
    return this.stub.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
  }

  /** Every GetObject input the client received. */
  public getCalls(): GetObjectCommandInput[] {
    return this.stub.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
  }

  /** Every ListObjectsV2 input the client received. */
  public listCalls(): ListObjectsV2CommandInput[] {
    return this.stub.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
  }

  /** Number of GetBucketEncryption calls. */
  public encryptionLookups(): number {
    return this.stub.commandCalls(GetBucketEncryptionCommand).length;
  }

  /** Removes the mock from the client. */
  public restore(): void {
    this.stub.restore();
  }

  private gate(op: Operation, key: string): void {
    if (this.throttleLeft > 0) {
      this.throttleLeft--;
      throw s3Error(this.throttleName, this.throttleName === 'SlowDown' ? 503 : 400, 'Please reduce your request rate.');
    }
    if (this.denied.has(op)) {
      throw s3Error('AccessDenied', 403, `User: arn:aws:sts::111122223333:assumed-role/ci/build is not authorized to perform: s3:${op} on resource: "arn:aws:s3:::${this.bucket}/${key}"`);
    }
  }

  private checkBucket(bucket: string | undefined): void {
    if (bucket !== this.bucket) {
      throw s3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
    }
  }

  private putObject(input: PutObjectCommandInput) {
    this.gate('PutObject', input.Key ?? '');
    this.checkBucket(input.Bucket);
    const key = input.Key ?? '';
    const explicitDeny = () => s3Error('AccessDenied', 403, `User: arn:aws:sts::111122223333:assumed-role/ci/build is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${this.bucket}/${key}" with an explicit deny in a resource-based policy`);
    if (input.IfNoneMatch === undefined) {
      throw explicitDeny();
    }
    if (input.IfNoneMatch !== '*') {
      throw s3Error('NotImplemented', 501, 'A header you provided implies functionality that is not implemented');
    }
    if (input.ServerSideEncryption !== 'aws:kms' || input.SSEKMSKeyId !== this.keyArn) {
      throw explicitDeny();
    }
    const lockParams = Object.keys(input).filter((k) => k.startsWith('ObjectLock'));
    if (lockParams.length > 0) {
      throw explicitDeny();
    }
    const body = toBuffer(input.Body);
    const actual = sha256b64(body);
    if (input.ChecksumSHA256 !== undefined && input.ChecksumSHA256 !== actual) {
      throw s3Error('BadDigest', 400, 'The SHA256 you specified did not match the calculated checksum.');
    }
    if (this.conflictLeft > 0) {
      this.conflictLeft--;
      throw s3Error('ConditionalRequestConflict', 409, 'A conflicting operation occurred. If using PutObject you can retry the request.');
    }
    if (this.objects.has(key)) {
      throw s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    }
    this.objects.set(key, { body, checksumSha256: actual, contentType: input.ContentType, kmsKeyId: input.SSEKMSKeyId });
    return { ETag: `"${createHash('md5').update(body).digest('hex')}"`, ChecksumSHA256: actual, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.keyArn, $metadata: { httpStatusCode: 200 } };
  }

  private getObject(input: GetObjectCommandInput) {
    this.gate('GetObject', input.Key ?? '');
    this.checkBucket(input.Bucket);
    const obj = this.objects.get(input.Key ?? '');
    if (!obj) {
      throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
    }
    const etag = etagOf(obj.body);
    if (input.IfMatch !== undefined && input.IfMatch !== etag) {
      throw s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    }
    let bytes = Buffer.from(obj.body);
    const range = input.Range ? /^bytes=(\d+)-(\d+)$/.exec(input.Range) : null;
    if (input.Range && !range) {
      throw s3Error('InvalidRange', 416, `mock S3 understands only bytes=a-b ranges, got ${input.Range}`);
    }
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), bytes.length - 1);
      if (start >= bytes.length || start > end) {
        throw s3Error('InvalidRange', 416, 'The requested range is not satisfiable');
      }
      bytes = bytes.subarray(start, end + 1);
    }
    // a stream of 64 KiB chunks, as the SDK's body is, with the SDK's helpers
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
    const body = Object.assign(Readable.from(chunks), {
      transformToByteArray: async () => new Uint8Array(bytes),
      transformToString: async (enc?: BufferEncoding) => bytes.toString(enc ?? 'utf8'),
    });
    return {
      Body: body,
      ETag: etag,
      ContentLength: bytes.length,
      ContentType: obj.contentType,
      ...(input.ChecksumMode === 'ENABLED' ? { ChecksumSHA256: obj.checksumSha256, ChecksumType: 'FULL_OBJECT' } : {}),
      $metadata: { httpStatusCode: 200 },
    } as never;
  }

  private listObjects(input: ListObjectsV2CommandInput) {
    this.gate('ListObjectsV2', input.Prefix ?? '');
    this.checkBucket(input.Bucket);
    const prefix = input.Prefix ?? '';
    const all = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const after = input.ContinuationToken ? Buffer.from(input.ContinuationToken, 'base64').toString('utf8') : undefined;
    const rest = after === undefined ? all : all.filter((k) => k > after);
    const size = Math.min(input.MaxKeys ?? 1000, this.maxKeys);
    const page = rest.slice(0, size);
    const truncated = rest.length > size;
    return {
      Contents: page.map((Key) => ({ Key, Size: this.objects.get(Key)!.body.length, ETag: etagOf(this.objects.get(Key)!.body) })),
      KeyCount: page.length,
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: Buffer.from(page[page.length - 1]).toString('base64') } : {}),
      $metadata: { httpStatusCode: 200 },
    };
  }

  /** Versions (oldest first per key) and delete markers, paged by (key, version id) with a small MaxKeys. */
  private listObjectVersions(input: ListObjectVersionsCommandInput) {
    this.gate('ListObjectVersions', input.Prefix ?? '');
    this.checkBucket(input.Bucket);
    const prefix = input.Prefix ?? '';
    const keys = [...new Set([...this.objects.keys(), ...this.olderVersions.keys(), ...this.deleteMarkers])]
      .filter((k) => k.startsWith(prefix)).sort();
    const entries: { key: string; versionId: string; marker: boolean; latest: boolean }[] = [];
    for (const key of keys) {
      const older = this.olderVersions.get(key) ?? 0;
      const current = this.objects.has(key) ? 1 : 0;
      const marker = this.deleteMarkers.has(key);
      const total = older + current;
      for (let v = 0; v < total; v++) {
        entries.push({ key, versionId: `v${v}`, marker: false, latest: !marker && v === total - 1 });
      }
      if (marker) {
        entries.push({ key, versionId: `m${total}`, marker: true, latest: true });
      }
    }
    const start = input.KeyMarker === undefined ? 0
      : entries.findIndex((e) => e.key === input.KeyMarker && e.versionId === input.VersionIdMarker) + 1;
    const size = Math.min(input.MaxKeys ?? 1000, this.maxKeys);
    const page = entries.slice(start, start + size);
    const truncated = start + size < entries.length;
    const last = page[page.length - 1];
    return {
      Versions: page.filter((e) => !e.marker)
        .map((e) => ({ Key: e.key, VersionId: e.versionId, IsLatest: e.latest, Size: this.objects.get(e.key)?.body.length ?? 0 })),
      DeleteMarkers: page.filter((e) => e.marker).map((e) => ({ Key: e.key, VersionId: e.versionId, IsLatest: e.latest })),
      IsTruncated: truncated,
      ...(truncated ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId } : {}),
      $metadata: { httpStatusCode: 200 },
    };
  }

  private getBucketEncryption() {
    this.gate('GetBucketEncryption', '');
    const mode = this.opts.defaultEncryption ?? 'kms';
    if (mode === 'none') {
      throw s3Error('ServerSideEncryptionConfigurationNotFoundError', 404, 'The server side encryption configuration was not found');
    }
    const byDefault = mode === 'AES256' ? { SSEAlgorithm: 'AES256' as const }
      : mode === 'aws-managed-kms' ? { SSEAlgorithm: 'aws:kms' as const }
        : { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: this.keyArn };
    return {
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: true }] },
      $metadata: { httpStatusCode: 200 },
    };
  }
}

function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function sha256b64(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

function toBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) {
    return body;
  }
  if (body instanceof Uint8Array) {
    return Buffer.from(body);
  }
  if (typeof body === 'string') {
    return Buffer.from(body, 'utf8');
  }
  throw new Error(`mock S3: unsupported Body type ${typeof body}`);
}
