/**
 * A fake of the AWS APIs the seal step calls, over one in-memory state:
 *
 * - **S3** with versioning: PutObject creates a new version; ListObjectsV2 lists current objects; ListObjectVersions
 *   lists every version and delete marker (paged); GetObject/HeadObject read the current or an exact version.
 *   `LastModified` keeps whole seconds, as S3 reports it.
 * - **CodeBuild**: BatchGetBuilds and BatchGetProjects answer from builds and projects the test puts in.
 * - **KMS** (HTTP face only): GenerateDataKey (AES_256) hands out random data keys and records them ({@link FakeAws.dataKeys}).
 *
 * Two ways in: {@link FakeAws.mockClients} wires `aws-sdk-client-mock` onto SDK clients for in-process tests, and
 * {@link FakeAws.listen} serves the same state over HTTP on loopback (S3 path-style XML, CodeBuild JSON 1.1), for
 * the bundled CLI and the `aws` shim run as subprocesses with `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL_CODEBUILD`/`AWS_ENDPOINT_URL_KMS`. The
 * server stops after a bounded number of requests or when closed, and never outlives the test.
 */
import { createHash, randomBytes } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { Readable } from 'stream';
import { BatchGetBuildsCommand, BatchGetProjectsCommand, type Build, CodeBuildClient, type Project } from '@aws-sdk/client-codebuild';
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

/** One stored version or delete marker. */
export interface FakeVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  readonly body?: Buffer;
  readonly isDeleteMarker: boolean;
}

/** S3 keeps whole seconds. */
function seconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The in-memory state and its two faces. */
export class FakeAws {
  /** Builds by id; BatchGetBuilds also finds them by ARN. */
  public readonly builds = new Map<string, Build>();
  /** Projects by name. */
  public readonly projects = new Map<string, Project>();
  /** The data keys KMS GenerateDataKey handed out, in order (the plaintext, to open what was sealed with it). */
  public readonly dataKeys: Array<{ keyId: string; plaintext: Buffer; ciphertext: Buffer }> = [];
  /** Every request the HTTP face served, as `METHOD path` or the CodeBuild target. */
  public readonly requests: string[] = [];
  private readonly buckets = new Map<string, FakeVersion[]>();
  private counter = 0;

  /** @param versionsPageSize page size of ListObjectVersions (small values exercise paging) */
  constructor(private readonly versionsPageSize = 1000) {}

  /** Writes a new version (now, or at `at`); returns its version id. */
  public put(bucket: string, key: string, body: Buffer | string, at: Date = new Date()): string {
    const versionId = `v${String(++this.counter).padStart(6, '0')}-${createHash('sha256').update(`${bucket}/${key}/${this.counter}`).digest('hex').slice(0, 12)}`;
    this.versionsOf(bucket).push({ key, versionId, lastModified: seconds(at), body: Buffer.from(body), isDeleteMarker: false });
    return versionId;
  }

  /** Puts a delete marker on a key. */
  public deleteMarker(bucket: string, key: string, at: Date = new Date()): string {
    const versionId = `dm${String(++this.counter).padStart(6, '0')}`;
    this.versionsOf(bucket).push({ key, versionId, lastModified: seconds(at), isDeleteMarker: true });
    return versionId;
  }

  /** Every version and delete marker under `prefix`, key order, newest first per key (as S3 lists them). */
  public versions(bucket: string, prefix: string): FakeVersion[] {
    return this.versionsOf(bucket).filter((v) => v.key.startsWith(prefix)).map((v, i) => ({ v, i }))
      .sort((a, b) => (a.v.key < b.v.key ? -1 : a.v.key > b.v.key ? 1 : b.i - a.i)).map((x) => x.v);
  }

  /** The current version of each key under `prefix` (delete markers hide keys). */
  public current(bucket: string, prefix: string): FakeVersion[] {
    const seen = new Set<string>();
    const out: FakeVersion[] = [];
    for (const v of this.versions(bucket, prefix)) {
      if (seen.has(v.key)) continue;
      seen.add(v.key);
      if (!v.isDeleteMarker) out.push(v);
    }
    return out;
  }

  /** One version (the current one without `versionId`), or undefined. */
  public get(bucket: string, key: string, versionId?: string): FakeVersion | undefined {
    const all = this.versions(bucket, key).filter((v) => v.key === key);
    const v = versionId ? all.find((x) => x.versionId === versionId) : all[0];
    return v && !v.isDeleteMarker ? v : undefined;
  }

  private versionsOf(bucket: string): FakeVersion[] {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, []);
    return this.buckets.get(bucket)!;
  }

  private batchGetBuilds(ids: string[]): { builds: Build[]; buildsNotFound: string[] } {
    const all = [...this.builds.values()];
    const builds: Build[] = [];
    const notFound: string[] = [];
    for (const id of ids) {
      const b = this.builds.get(id) ?? all.find((x) => x.arn === id);
      if (b) builds.push(b); else notFound.push(id);
    }
    return { builds, buildsNotFound: notFound };
  }

  private batchGetProjects(names: string[]): { projects: Project[]; projectsNotFound: string[] } {
    const projects = names.map((n) => this.projects.get(n)).filter((p): p is Project => p !== undefined);
    return { projects, projectsNotFound: names.filter((n) => !this.projects.has(n)) };
  }

  private versionsPage(bucket: string, prefix: string, keyMarker?: string, versionIdMarker?: string) {
    const all = this.versions(bucket, prefix);
    let start = 0;
    if (keyMarker !== undefined) {
      const at = all.findIndex((v) => v.key === keyMarker && v.versionId === versionIdMarker);
      start = at + 1;
    }
    const page = all.slice(start, start + this.versionsPageSize);
    const truncated = start + page.length < all.length;
    const last = page[page.length - 1];
    return { page, truncated, nextKeyMarker: truncated ? last.key : undefined, nextVersionIdMarker: truncated ? last.versionId : undefined, all };
  }

  // ---- aws-sdk-client-mock -------------------------------------------------------------------------------------

  /** Mocks the SDK calls of the seal step on fresh clients (or the given ones) and returns them. */
  public mockClients(clients: { codebuild?: CodeBuildClient; s3?: S3Client } = {}): { codebuild: CodeBuildClient; s3: S3Client } {
    const codebuild = clients.codebuild ?? new CodeBuildClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
    const s3 = clients.s3 ?? new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
    const cb = mockClient(codebuild);
    cb.on(BatchGetBuildsCommand).callsFake((input) => this.batchGetBuilds(input.ids ?? []));
    cb.on(BatchGetProjectsCommand).callsFake((input) => this.batchGetProjects(input.names ?? []));
    const s = mockClient(s3);
    s.on(ListObjectVersionsCommand).callsFake((input) => {
      const { page, truncated, nextKeyMarker, nextVersionIdMarker } = this.versionsPage(input.Bucket!, input.Prefix ?? '', input.KeyMarker, input.VersionIdMarker);
      const isLatest = (v: FakeVersion) => this.versions(input.Bucket!, v.key).find((x) => x.key === v.key) === v;
      return {
        IsTruncated: truncated,
        NextKeyMarker: nextKeyMarker,
        NextVersionIdMarker: nextVersionIdMarker,
        Versions: page.filter((v) => !v.isDeleteMarker)
          .map((v) => ({ Key: v.key, VersionId: v.versionId, LastModified: v.lastModified, Size: v.body!.length, IsLatest: isLatest(v) })),
        DeleteMarkers: page.filter((v) => v.isDeleteMarker)
          .map((v) => ({ Key: v.key, VersionId: v.versionId, LastModified: v.lastModified, IsLatest: isLatest(v) })),
      };
    });
    s.on(GetObjectCommand).callsFake((input) => {
      const v = this.get(input.Bucket!, input.Key!, input.VersionId);
      if (!v) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      // the seal reads Body as a Node stream, which is what the SDK returns in Node
      return { Body: Readable.from([v.body!]) as never, VersionId: v.versionId, ContentLength: v.body!.length, LastModified: v.lastModified };
    });
    return { codebuild, s3 };
  }

  // ---- HTTP on loopback ------------------------------------------------------------------------------------------

  /**
   * Serves the state on 127.0.0.1 (a free port) for at most `maxRequests` requests; returns the endpoint URL and a
   * close function (idempotent). The server is unref'd, so it never keeps the test process alive.
   */
  public async listen(maxRequests = 2000): Promise<{ url: string; close: () => Promise<void> }> {
    let served = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        served++;
        if (served >= maxRequests) server.close();
        try {
          this.handle(req, Buffer.concat(chunks), res);
        } catch (e) {
          res.statusCode = 500;
          res.end(String((e as Error).stack));
        }
      });
    });
    server.unref();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let closed = false;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => {
        if (closed) { resolve(); return; }
        closed = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  /** KMS GenerateDataKey (AES_256 only): a random key, and an opaque "ciphertext" that names it. */
  private generateDataKey(keyId: string): unknown {
    const plaintext = randomBytes(32);
    const ciphertext = Buffer.concat([Buffer.from(`fake-kms:${keyId}:`), randomBytes(16)]);
    this.dataKeys.push({ keyId, plaintext, ciphertext });
    return { KeyId: keyId, Plaintext: plaintext.toString('base64'), CiphertextBlob: ciphertext.toString('base64') };
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      this.requests.push(target);
      const input = JSON.parse(body.toString('utf8') || '{}');
      const reply = (value: unknown) => {
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        res.end(JSON.stringify(value, (_k, v) => (v instanceof Date ? undefined : v), 0));
      };
      // JSON 1.1 timestamps are epoch seconds
      const epoch = (o: unknown): unknown => JSON.parse(JSON.stringify(o, function (this: any, k: string, v: unknown) {
        const raw = this[k];
        return raw instanceof Date ? raw.getTime() / 1000 : v;
      }));
      if (target === 'CodeBuild_20161006.BatchGetBuilds') return reply(epoch(this.batchGetBuilds(input.ids ?? [])));
      if (target === 'CodeBuild_20161006.BatchGetProjects') return reply(epoch(this.batchGetProjects(input.names ?? [])));
      if (target === 'TrentService.GenerateDataKey' && input.KeyId && input.KeySpec === 'AES_256') return reply(this.generateDataKey(input.KeyId));
      res.statusCode = 400;
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify({ __type: 'InvalidInputException', message: `fake: unsupported ${target}` }));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    this.requests.push(`${req.method} /${bucket}/${key}${url.search}`);
    const xml = (status: number, text: string) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/xml');
      res.end(`<?xml version="1.0" encoding="UTF-8"?>${text}`);
    };
    const notFound = () => xml(404, `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${xmlEscape(key)}</Key></Error>`);
    if (req.method === 'GET' && key === '' && url.searchParams.has('versions')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const { page, truncated, nextKeyMarker, nextVersionIdMarker } = this.versionsPage(bucket, prefix,
        url.searchParams.get('key-marker') ?? undefined, url.searchParams.get('version-id-marker') ?? undefined);
      const latest = (v: FakeVersion) => this.versions(bucket, v.key).find((x) => x.key === v.key) === v;
      const entries = page.map((v) => v.isDeleteMarker
        ? `<DeleteMarker><Key>${xmlEscape(v.key)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${latest(v)}</IsLatest><LastModified>${v.lastModified.toISOString()}</LastModified></DeleteMarker>`
        : `<Version><Key>${xmlEscape(v.key)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${latest(v)}</IsLatest><LastModified>${v.lastModified.toISOString()}</LastModified>` +
          `<ETag>"${createHash('md5').update(v.body!).digest('hex')}"</ETag><Size>${v.body!.length}</Size><StorageClass>STANDARD</StorageClass></Version>`).join('');
      return xml(200, `<ListVersionsResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><MaxKeys>${this.versionsPageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        `${truncated ? `<NextKeyMarker>${xmlEscape(nextKeyMarker!)}</NextKeyMarker><NextVersionIdMarker>${nextVersionIdMarker}</NextVersionIdMarker>` : ''}${entries}</ListVersionsResult>`);
    }
    if (req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const objects = this.current(bucket, prefix);
      const contents = objects.map((v) => `<Contents><Key>${xmlEscape(v.key)}</Key><LastModified>${v.lastModified.toISOString()}</LastModified>` +
        `<ETag>"${createHash('md5').update(v.body!).digest('hex')}"</ETag><Size>${v.body!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('');
      return xml(200, `<ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${objects.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
        `<IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && key !== '') {
      const v = this.get(bucket, key, url.searchParams.get('versionId') ?? undefined);
      if (!v) return notFound();
      res.setHeader('content-length', String(v.body!.length));
      res.setHeader('last-modified', v.lastModified.toUTCString());
      res.setHeader('etag', `"${createHash('md5').update(v.body!).digest('hex')}"`);
      res.setHeader('x-amz-version-id', v.versionId);
      res.setHeader('content-type', 'application/octet-stream');
      res.end(req.method === 'GET' ? v.body : undefined);
      return;
    }
    if (req.method === 'PUT' && key !== '') {
      const versionId = this.put(bucket, key, body);
      res.setHeader('etag', `"${createHash('md5').update(body).digest('hex')}"`);
      res.setHeader('x-amz-version-id', versionId);
      res.end();
      return;
    }
    xml(400, `<Error><Code>NotImplemented</Code><Message>fake S3: ${req.method} ${xmlEscape(req.url ?? '')} is not implemented</Message></Error>`);
  }
}
