/**
 * Exact S3 object versions, as they were at a point in time: what the seal step reads instead of anything the training
 * code reports. It lists a prefix with `ListObjectVersions` (every version and delete marker), picks per key the
 * version that was current at the time, and reads that version by id, hashing the bytes as they stream.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import { createHash } from 'crypto';
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { Readable, Transform, Writable } from 'stream';
import { pipeline } from 'stream/promises';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { GetObjectCommand, ListObjectVersionsCommand, type ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { UsageError, VerificationError } from '../codec/errors';

/** One version or delete marker of a key. */
export interface ObjectVersion {
  /** The full key in the bucket. */
  readonly key: string;
  readonly versionId: string;
  /** When S3 created this version (for a multipart upload: when the upload was started); S3 keeps whole seconds. */
  readonly lastModified: Date;
  readonly size: number;
  readonly isDeleteMarker: boolean;
}

/** An object version read by id, with the SHA-256 of its bytes. */
export interface ResolvedObject {
  /** `s3://bucket/key` */
  readonly uri: string;
  /** The key relative to the listed prefix. */
  readonly name: string;
  readonly versionId: string;
  /** ISO 8601, as S3 reported it. */
  readonly lastModified: string;
  readonly size: number;
  /** Hex SHA-256 of the version's bytes, computed while reading them. */
  readonly sha256: string;
}

/** A parsed `s3://bucket/prefix/` location. */
export interface S3Location {
  readonly bucket: string;
  /** `''` or ending with `/`. */
  readonly prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]` (a trailing `/` is added to the prefix).
 *
 * @throws UsageError naming the flag and the value
 */
export function parseS3Location(uri: string, what: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m || !BUCKET.test(m[1])) {
    throw new UsageError(`${what} must be s3://<bucket>[/<prefix>/], got ${JSON.stringify(uri)}`);
  }
  const raw = m[2] ?? '';
  return { bucket: m[1], prefix: raw === '' || raw.endsWith('/') ? raw : `${raw}/` };
}

/**
 * Lists every version and delete marker under `prefix`, following every page.
 *
 * @throws UsageError when S3 refuses or cannot be reached (the caller cannot decide anything without the list)
 */
export async function listVersions(client: S3Client, bucket: string, prefix: string): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (let page = 0; ; page++) {
    let res: ListObjectVersionsCommandOutput;
    try {
      const input = { Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker };
      res = await client.send(new ListObjectVersionsCommand(input));
    } catch (e) {
      throw new UsageError(`cannot list the versions under s3://${bucket}/${prefix}: ${(e as Error).name}: ${(e as Error).message}`);
    }
    for (const v of res.Versions ?? []) out.push(toVersion(bucket, v, false));
    for (const d of res.DeleteMarkers ?? []) out.push(toVersion(bucket, d, true));
    if (!res.IsTruncated) break;
    keyMarker = res.NextKeyMarker;
    versionIdMarker = res.NextVersionIdMarker;
    if (keyMarker === undefined) {
      throw new UsageError(`ListObjectVersions on s3://${bucket}/${prefix} returned a truncated page without a next key marker (page ${page + 1})`);
    }
  }
  return out;
}

type ListedEntry = { Key?: string; VersionId?: string; LastModified?: Date; Size?: number };

function toVersion(bucket: string, v: ListedEntry, isDeleteMarker: boolean): ObjectVersion {
  if (!v.Key || !v.VersionId || !(v.LastModified instanceof Date)) {
    throw new VerificationError(`ListObjectVersions on s3://${bucket} returned an entry without a key, version id or date: ${JSON.stringify(v)}`);
  }
  if (v.VersionId === 'null') {
    // an object written while versioning was off or suspended has no version of its own: it can be replaced in place
    throw new VerificationError(`s3://${bucket}/${v.Key} has no version id (written while the bucket's versioning was off or suspended); ` +
      'the seal reads exact versions only');
  }
  return { key: v.Key, versionId: v.VersionId, lastModified: v.LastModified, size: v.Size ?? 0, isDeleteMarker };
}

/** A zero-byte key ending with `/` is a console "folder", not an object of the data. */
function isFolderMarker(v: ObjectVersion): boolean {
  return v.key.endsWith('/') && v.size === 0;
}

/**
 * The version of each key that was current at `time`: the newest version or delete marker created at or before it;
 * keys whose current entry then was a delete marker, or that did not exist yet, are left out. Sorted by key.
 */
export function versionsAsOf(versions: readonly ObjectVersion[], time: Date): ObjectVersion[] {
  const current = new Map<string, ObjectVersion>();
  for (const v of versions) {
    if (isFolderMarker(v) || v.lastModified.getTime() > time.getTime()) continue;
    const seen = current.get(v.key);
    if (!seen || v.lastModified.getTime() > seen.lastModified.getTime()) current.set(v.key, v);
  }
  return [...current.values()].filter((v) => !v.isDeleteMarker).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Versions and delete markers created after `from` and at or before `to` (`to` undefined: any time after `from`). */
export function changedAfter(versions: readonly ObjectVersion[], from: Date, to?: Date): ObjectVersion[] {
  return versions.filter((v) => !isFolderMarker(v) && v.lastModified.getTime() > from.getTime() &&
    (to === undefined || v.lastModified.getTime() <= to.getTime()));
}

/**
 * The key relative to `prefix`, checked to be a safe relative path (it becomes a file name): `/`-separated parts, none
 * empty, `.` or `..`, no backslash, no NUL.
 *
 * @throws VerificationError naming the key
 */
export function relativeName(key: string, prefix: string): string {
  if (!key.startsWith(prefix)) throw new VerificationError(`key ${JSON.stringify(key)} is not under ${JSON.stringify(prefix)}`);
  const name = key.slice(prefix.length);
  const parts = name.split('/');
  if (name === '' || name.includes('\\') || name.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new VerificationError(`key ${JSON.stringify(key)} does not name a safe relative file under ${JSON.stringify(prefix)} ` +
      '(an empty, "." or ".." part, a backslash or a NUL); refusing to write it');
  }
  return name;
}

/**
 * Reads one exact version and hashes its bytes as they stream; with `file`, writes them there too (the file must not
 * exist). The response must be that version and have the listed size.
 *
 * @throws UsageError when S3 refuses the read; VerificationError when S3 answers with another version or size
 */
export async function readVersion(
  client: S3Client, bucket: string, version: ObjectVersion, prefix: string, file?: string,
): Promise<ResolvedObject> {
  const name = relativeName(version.key, prefix);
  let res;
  try {
    res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: version.key, VersionId: version.versionId }));
  } catch (e) {
    throw new UsageError(`cannot read s3://${bucket}/${version.key} version ${version.versionId}: ${(e as Error).name}: ${(e as Error).message}`);
  }
  if (res.VersionId !== undefined && res.VersionId !== version.versionId) {
    throw new VerificationError(`S3 answered s3://${bucket}/${version.key} with version ${res.VersionId}, not the ${version.versionId} that was asked for`);
  }
  const body = res.Body as Readable | undefined;
  if (!body) throw new VerificationError(`S3 returned no body for s3://${bucket}/${version.key} version ${version.versionId}`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  if (file) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await pipeline(body, tap, createWriteStream(file, { flags: 'wx', mode: 0o444 }));
  } else {
    await pipeline(body, tap, new Writable({ write(_c, _e, cb) { cb(); } }));
  }
  if (size !== version.size) {
    throw new VerificationError(`s3://${bucket}/${version.key} version ${version.versionId} is ${size} bytes, but was listed with ${version.size}`);
  }
  return {
    uri: `s3://${bucket}/${version.key}`,
    name,
    versionId: version.versionId,
    lastModified: version.lastModified.toISOString(),
    size,
    sha256: hash.digest('hex'),
  };
}

/**
 * Reads every version in `versions` (a few at a time, in key order in the result).
 */
export async function readVersions(
  client: S3Client, bucket: string, versions: readonly ObjectVersion[], prefix: string, intoDir?: string, concurrency = 4,
): Promise<ResolvedObject[]> {
  const results: ResolvedObject[] = new Array(versions.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < versions.length; i = next++) {
      const v = versions[i];
      results[i] = await readVersion(client, bucket, v, prefix, intoDir ? path.join(intoDir, ...relativeName(v.key, prefix).split('/')) : undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, versions.length) }, worker));
  return results;
}
