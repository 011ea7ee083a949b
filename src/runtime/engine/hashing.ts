/**
 * The OMS v1.0 model hashing engine: lists a model's files, hashes them (in parallel on worker threads for
 * large models) and computes the root digest, the way the reference `model_signing` library does.
 *
 * Design notes and measured throughput: docs/BENCHMARKS.md.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { createHasher, HASH_ALGORITHMS, HashAlgorithm, isHashAlgorithm, nativeBlake3Path, StreamHasher } from './blake';
import { HASH_WORKER_SOURCE } from './hash-worker';
import { HashOptions, Manifest, ManifestResource, Serialization } from './types';
import { UsageError, VerificationError } from '../codec/errors';

/**
 * Bytes per `read(2)`. Small enough that the chunk the kernel copies out of the page cache is still in the
 * core's L2 cache when SHA-256 reads it: 64-128 KiB measured ~1.5x faster than 1-4 MiB, where every byte
 * crosses the memory bus twice (docs/BENCHMARKS.md). Large enough that the syscall cost is noise.
 */
export const CHUNK_SIZE = 128 * 1024;

/**
 * Upper bound on the default worker count. Past ~8 streams the page cache / disk, not SHA-256, is the limit
 * on the machines we target, and every worker costs an isolate (~10-15 MB of RSS).
 */
export const MAX_DEFAULT_WORKERS = 8;

/**
 * Models smaller than this are hashed on the calling thread: starting a worker (~20-40 ms) costs more than
 * hashing 64 MiB (~50 ms) saves.
 */
export const WORKER_THRESHOLD_BYTES = 64 * 1024 * 1024;

/** Paths the reference implementation leaves out by default (at the model's top level only). */
export const DEFAULT_GIT_IGNORES: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];

/**
 * Bytes per read when BLAKE3 is hashed double-buffered: the read of the next chunk (on the libuv thread pool) runs
 * while this one is hashed, so larger chunks than {@link CHUNK_SIZE} amortise the hand-over (docs/BENCHMARKS.md).
 */
export const BLAKE3_CHUNK_SIZE = 1024 * 1024;

/** Minimum interval between two `onProgress` calls (the final call is always made). */
const PROGRESS_INTERVAL_MS = 200;

/** How often (in bytes) a worker reports progress to the parent. */
const WORKER_PROGRESS_BYTES = 64 * 1024 * 1024;

/** Options of {@link hashModel}, {@link listModelFiles} and {@link hashResources}. */
export interface ModelHashOptions extends HashOptions {
  /**
   * The signature file; it is always left out of the model (and recorded in `ignore_paths`) when it lies
   * inside the model. Resolved against the current directory when relative.
   */
  readonly signaturePath?: string;
  /**
   * Paths to leave out, as POSIX paths relative to the model root — the form a payload records in
   * `serialization.ignore_paths`, so a verifier passes them straight through. `..` segments and absolute
   * paths are rejected.
   */
  readonly modelIgnorePaths?: string[];
}

/** A regular file of the model, as found on disk. */
interface ModelFile {
  /** Resource name: POSIX path relative to the model root, or `.` for a single-file model. */
  readonly name: string;
  /** Path to open (the link's path when symlinks are allowed; the kernel follows it). */
  readonly absPath: string;
  readonly size: number;
}

/** One unit of hashing work: a whole file (`end` = -1) or the byte range [start, end). */
interface HashJob {
  readonly absPath: string;
  readonly start: number;
  readonly end: number;
  readonly size: number;
}

/** The resolved model root. */
interface ModelRoot {
  /** `path.resolve(modelPath)`. */
  readonly root: string;
  /** The root with symlinks resolved (equal to `root` unless the root itself is an allowed symlink). */
  readonly realRoot: string;
  /** True when the model is a single regular file. */
  readonly isFile: boolean;
}

/**
 * Hashes a model on disk into an OMS `files` manifest.
 *
 * One resource per regular file, named by its POSIX path relative to the model root (`.` when the model is a
 * single file, as the reference does), digest in hex with `opts.algorithm` (sha256 by default, blake2b or blake3;
 * engine/blake.ts), sorted the way the reference sorts paths
 * (component by component, by code point). The serialization records `ignore_paths` as POSIX paths relative to
 * the model root: the default git paths (unless `ignoreGitPaths` is false), every user ignore path that lies
 * inside the model, and the signature file when it lies inside the model.
 *
 * `ignorePaths` are resolved like the reference CLI's `--ignore-paths`: absolute, or relative to the current
 * directory (so `model/README.md`, not `README.md`, when signing `model`); paths outside the model are ignored
 * and not recorded. Use `modelIgnorePaths` for paths relative to the model root.
 *
 * @throws UsageError for an algorithm OMS does not register, a missing model, an empty model (no files after
 *   exclusions), a symlink when `allowSymlinks` is not set, a symlink that leaves the model or loops (always), or a
 *   special file.
 */
export async function hashModel(modelPath: string, opts: ModelHashOptions = {}): Promise<Manifest> {
  const algorithm = opts.algorithm ?? 'sha256';
  if (!isHashAlgorithm(algorithm)) {
    throw new UsageError(`hash algorithm ${JSON.stringify(algorithm)} is not an OMS algorithm; expected one of ${HASH_ALGORITHMS.join(', ')}`);
  }
  const root = await resolveModelRoot(modelPath, opts.allowSymlinks ?? false);
  const ignores = collectIgnores(root, opts);
  const { files, invalidNames } = await walkModel(root, ignores, opts.allowSymlinks ?? false);
  if (invalidNames.length > 0) {
    throw new UsageError(
      `${root.root} has ${invalidNames.length} file name(s) that are not valid UTF-8 and cannot be OMS resource names: `
      + `${invalidNames.slice(0, 10).join(', ')}${invalidNames.length > 10 ? ', …' : ''} (bytes shown as \\xHH); rename them, or leave them out with --ignore-paths on their folder`);
  }
  if (files.length === 0) {
    throw new UsageError(`model ${root.root} has no files to hash after exclusions (ignored: ${ignores.join(', ') || 'none'})`);
  }
  const jobs = files.map((f) => ({ absPath: f.absPath, start: 0, end: -1, size: f.size }));
  const digests = await runJobs(jobs, algorithm, opts, (err, job) => new UsageError(`cannot read ${job.absPath}: ${err.message}`));
  return {
    resources: files.map((f, i) => ({ name: f.name, algorithm, digest: digests[i] })),
    serialization: {
      method: 'files',
      hash_type: algorithm,
      allow_symlinks: opts.allowSymlinks ?? false,
      ignore_paths: ignores,
    },
  };
}

/**
 * Lists the regular files of a model on disk, after exclusions, as resource names in reference order.
 *
 * Applies exactly the exclusions and symlink rules of {@link hashModel}, so a verifier can compare the result
 * with a payload's resource names to find extra or missing files. A single-file model lists as `['.']`.
 *
 * @throws UsageError under the same conditions as {@link hashModel}, except that an empty model lists as `[]`.
 */
export async function listModelFiles(modelPath: string, opts: ModelHashOptions = {}): Promise<string[]> {
  const root = await resolveModelRoot(modelPath, opts.allowSymlinks ?? false);
  const ignores = collectIgnores(root, opts);
  const { files, invalidNames } = await walkModel(root, ignores, opts.allowSymlinks ?? false);
  return [...files.map((f) => f.name), ...invalidNames];
}

/**
 * Lists the shard names (`path:start:end`) the model on disk splits into with the given shard size.
 *
 * Mirrors the reference `shards` serializer: every non-empty file is cut into consecutive ranges of
 * `shardSize` bytes (the last one shorter); empty files have no shard. Used to check a `shards` payload
 * against the files on disk. Order: files in reference order, shards by offset.
 *
 * @throws UsageError for a shard size that is not a positive integer, or as {@link listModelFiles}.
 */
export async function listModelShards(modelPath: string, shardSize: number, opts: ModelHashOptions = {}): Promise<string[]> {
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) {
    throw new UsageError(`shard size must be a positive integer, got ${shardSize}`);
  }
  const root = await resolveModelRoot(modelPath, opts.allowSymlinks ?? false);
  const ignores = collectIgnores(root, opts);
  const names: string[] = [];
  const { files, invalidNames } = await walkModel(root, ignores, opts.allowSymlinks ?? false);
  for (const f of files) {
    for (let start = 0; start < f.size; start += shardSize) {
      names.push(`${f.name}:${start}:${Math.min(start + shardSize, f.size)}`);
    }
  }
  return [...names, ...invalidNames];
}

/**
 * Recomputes, from the files on disk, the digests of the resources a payload lists, in the payload's order.
 *
 * Supports the `files` method (names are POSIX paths relative to the model root, or `.` for a single-file
 * model) and the `shards` method (names `path:start:end`, hashing bytes [start, end)). The order is never
 * changed, so {@link rootDigest} of the result is comparable with the payload's subject digest. The payload's
 * `hash_type` (sha256, blake2b or blake3) is the algorithm; BLAKE3 shards are refused, as the reference never
 * produces them. Symlinks are
 * followed only when the payload's `allow_symlinks` is true, and never out of the model. This only hashes what
 * is listed: compare the names with {@link listModelFiles} / {@link listModelShards} to catch extra files.
 *
 * @throws VerificationError for a name that is not a canonical relative path (absolute, `..`, empty or `.`
 *   segments), a duplicate name, a malformed shard name, an unsupported hash type or BLAKE3 shards, a listed file that is
 *   missing or not a regular file, a forbidden or escaping symlink, or a shard beyond the end of its file.
 */
export async function hashResources(
  modelPath: string,
  resources: readonly Pick<ManifestResource, 'name'>[],
  serialization: Pick<Serialization, 'method' | 'hash_type' | 'allow_symlinks' | 'shard_size'>,
  opts: Pick<HashOptions, 'workers' | 'onProgress'> = {},
): Promise<ManifestResource[]> {
  const algorithm = serialization.hash_type;
  if (!isHashAlgorithm(algorithm)) {
    throw new VerificationError(`unsupported hash_type ${JSON.stringify(algorithm)} (expected one of ${HASH_ALGORITHMS.join(', ')})`);
  }
  if (algorithm === 'blake3' && serialization.method === 'shards') {
    throw new VerificationError('serialization hashes shards with blake3, which the reference never does (it hashes whole files with BLAKE3); refusing it');
  }
  if (serialization.method !== 'files' && serialization.method !== 'shards') {
    throw new VerificationError(`unsupported serialization method ${JSON.stringify(serialization.method)}`);
  }
  const allowSymlinks = serialization.allow_symlinks === true;
  let root: ModelRoot;
  try {
    root = await resolveModelRoot(modelPath, allowSymlinks);
  } catch (err) {
    throw new VerificationError((err as Error).message);
  }
  const seen = new Set<string>();
  const parsed = resources.map((r) => {
    if (seen.has(r.name)) throw new VerificationError(`resource ${JSON.stringify(r.name)} is listed twice`);
    seen.add(r.name);
    return serialization.method === 'shards' ? parseShardName(r.name, serialization.shard_size) : { file: checkResourcePath(r.name), start: 0, end: -1 };
  });
  // Check every listed file once (several shards share a file) before hashing anything.
  const unique = [...new Set(parsed.map((p) => p.file))];
  const found = await mapLimit(unique, 32, (file) => checkListedFile(root, file, allowSymlinks));
  const checked = new Map(unique.map((file, i) => [file, found[i]]));
  const jobs: HashJob[] = parsed.map((p) => {
    const f = checked.get(p.file)!;
    if (p.end > f.size) {
      throw new VerificationError(`shard ${p.file}:${p.start}:${p.end} lies beyond the end of ${f.absPath} (${f.size} bytes)`);
    }
    return { absPath: f.absPath, start: p.start, end: p.end, size: p.end < 0 ? f.size : p.end - p.start };
  });
  const digests = await runJobs(jobs, algorithm, opts, (err, job) => new VerificationError(`cannot hash ${job.absPath}: ${err.message}`));
  return resources.map((r, i) => ({ name: r.name, algorithm, digest: digests[i] }));
}

/**
 * Computes the OMS root digest of a list of resources.
 *
 * SHA-256 over the concatenated raw digest bytes, in the given order (payload order; never re-sorted), as hex.
 * This is the in-toto subject digest of an OMS statement.
 *
 * @throws VerificationError when a digest is not an even-length hex string.
 */
export function rootDigest(resources: readonly Pick<ManifestResource, 'name' | 'digest'>[]): string {
  const hash = createHash('sha256');
  for (const r of resources) {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(r.digest)) {
      throw new VerificationError(`resource ${JSON.stringify(r.name)} has a malformed digest ${JSON.stringify(r.digest)}`);
    }
    hash.update(Buffer.from(r.digest, 'hex'));
  }
  return hash.digest('hex');
}

/**
 * Compares two resource names the way the reference sorts paths.
 *
 * The reference sorts `pathlib.PurePosixPath` objects, which compare component by component; components compare
 * by code point (UTF-8 byte order). So `a/b` sorts before `a-b`, unlike a plain string sort.
 */
export function compareResourceNames(a: string, b: string): number {
  return comparePathParts(a.split('/'), b.split('/'));
}

function comparePathParts(pa: readonly string[], pb: readonly string[]): number {
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoints(pa[i], pb[i]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/**
 * Code-point order of two strings without allocating. UTF-16 unit order differs from it only where a surrogate
 * (part of a code point above U+FFFF) meets a unit in U+E000-U+FFFF, so surrogates are ranked above the BMP.
 */
function compareCodePoints(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = x.charCodeAt(i);
    const cy = y.charCodeAt(i);
    if (cx !== cy) {
      const rx = cx >= 0xd800 && cx <= 0xdfff ? cx + 0x10000 : cx;
      const ry = cy >= 0xd800 && cy <= 0xdfff ? cy + 0x10000 : cy;
      return rx - ry;
    }
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Model layout: root, ignores, walk

async function resolveModelRoot(modelPath: string, allowSymlinks: boolean): Promise<ModelRoot> {
  const root = path.resolve(modelPath);
  let lst: fs.Stats;
  try {
    lst = await fs.promises.lstat(root);
  } catch (err) {
    throw new UsageError(`cannot read model path ${root}: ${(err as Error).message}`);
  }
  let realRoot = root;
  let st = lst;
  if (lst.isSymbolicLink()) {
    if (!allowSymlinks) throw new UsageError(`model path ${root} is a symlink (symlinks are not allowed)`);
    try {
      realRoot = await fs.promises.realpath(root);
      st = await fs.promises.stat(realRoot);
    } catch (err) {
      throw new UsageError(`cannot resolve model path symlink ${root}: ${(err as Error).message}`);
    }
  } else {
    // Parent directories may be symlinks (e.g. /tmp on macOS); containment checks compare real paths.
    realRoot = await fs.promises.realpath(root);
  }
  if (!st.isFile() && !st.isDirectory()) {
    throw new UsageError(`model path ${root} is neither a regular file nor a directory`);
  }
  return { root, realRoot, isFile: st.isFile() };
}

/** Turns the ignore options into the sorted, de-duplicated model-relative POSIX paths to apply and record. */
function collectIgnores(root: ModelRoot, opts: ModelHashOptions): string[] {
  const out = new Set<string>();
  if (opts.ignoreGitPaths !== false) DEFAULT_GIT_IGNORES.forEach((p) => out.add(p));
  for (const p of opts.modelIgnorePaths ?? []) {
    out.add(normalizeModelRelative(p));
  }
  for (const p of [...(opts.ignorePaths ?? []), ...(opts.signaturePath !== undefined ? [opts.signaturePath] : [])]) {
    // Like the reference, a path outside the model is neither applied nor recorded.
    const rel = relativeInside(root, path.resolve(p));
    if (rel === '.') {
      throw new UsageError(`ignore path ${JSON.stringify(p)} is the model itself (${root.root}); ignoring it would leave every file unsigned`);
    }
    if (rel !== undefined) out.add(rel);
  }
  return [...out].sort(compareResourceNames);
}

/** The POSIX path of `abs` relative to the model root, or undefined when it is not inside the model. */
function relativeInside(root: ModelRoot, abs: string): string | undefined {
  for (const base of root.root === root.realRoot ? [root.root] : [root.root, root.realRoot]) {
    const rel = path.relative(base, abs);
    if (rel === '') return '.';
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return undefined;
}

/**
 * Why a model-relative ignore path (a payload's `serialization.ignore_paths` entry) is not acceptable, or undefined.
 *
 * An entry that covers the whole model would make the extra-file check ignore everything: the empty string, `.`,
 * `/` and every other absolute path, any `..` segment, and anything that normalizes to `.` (`./`, `.//.`).
 */
export function ignorePathProblem(entry: string): string | undefined {
  if (entry === '') {
    return 'is empty, which would cover the whole model';
  }
  if (path.posix.isAbsolute(entry) || entry.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(entry)) {
    return 'is absolute; ignore paths are relative to the model root';
  }
  if (entry.split('/').includes('..')) {
    return 'has a ".." segment, which could reach the model root or leave it';
  }
  const n = path.posix.normalize(entry).replace(/\/+$/, '');
  if (n === '' || n === '.') {
    return 'is the model root itself, which would leave every file unsigned';
  }
  return undefined;
}

/** Validates a user-supplied model-relative ignore path and returns it in canonical form. */
function normalizeModelRelative(p: string): string {
  const problem = ignorePathProblem(p);
  if (problem) {
    throw new UsageError(`ignore path ${JSON.stringify(p)} ${problem}`);
  }
  return path.posix.normalize(p).replace(/\/+$/, '');
}

/**
 * Whether a model-relative POSIX name falls under one of the model-relative ignore paths (the path itself or
 * anything below it; `.` ignores everything), as every listing of this engine applies them.
 */
export function isIgnoredName(name: string, ignores: readonly string[]): boolean {
  return isIgnored(name, ignores);
}

function isIgnored(name: string, ignores: readonly string[]): boolean {
  for (const ig of ignores) {
    if (ig === '.' || name === ig || name.startsWith(ig + '/')) return true;
  }
  return false;
}

/**
 * A file name as text for messages and listings: valid UTF-8 as it is, every byte of an invalid sequence as `\xHH`.
 * The backslash makes it impossible for an escaped name to equal a resource name (resource names refuse `\`).
 */
export function escapeFileName(name: Buffer): string {
  let out = '';
  for (let i = 0; i < name.length;) {
    const len = utf8SequenceLength(name, i);
    if (len === 0) {
      out += `\\x${name[i].toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += name.subarray(i, i + len).toString('utf8');
      i += len;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629 §4: no overlongs, surrogates or values above U+10FFFF), or 0. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** What a walk found: the regular files, and the entries whose names are not valid UTF-8 (escaped, not entered). */
interface ModelWalk {
  readonly files: ModelFile[];
  readonly invalidNames: string[];
}

/**
 * Lists the model's regular files in reference order, applying ignores and the symlink policy.
 *
 * Directory entries are read as bytes: a name that is not valid UTF-8 cannot be an OMS resource name (names are JSON
 * strings) and would not round-trip through a string path, so it is reported escaped in `invalidNames` (a directory
 * with such a name is not entered: nothing in it can be signed either) instead of failing later with ENOENT.
 */
async function walkModel(root: ModelRoot, ignores: readonly string[], allowSymlinks: boolean): Promise<ModelWalk> {
  if (root.isFile) {
    // The reference names the only resource of a single-file model `.` (the path relative to itself); the
    // model-relative ignore paths never match it, but an ignore of the file itself leaves the model empty.
    if (ignores.includes('.')) return { files: [], invalidNames: [] };
    const st = await fs.promises.stat(root.root);
    return { files: [{ name: '.', absPath: root.root, size: st.size }], invalidNames: [] };
  }
  const files: ModelFile[] = [];
  const invalidNames: string[] = [];
  // Real paths of the directories being walked: entering one of them again through a symlink is a loop.
  const walk = async (dirAbs: string, dirRel: string, realStack: readonly string[]): Promise<void> => {
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = await fs.promises.readdir(dirAbs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      throw new UsageError(`cannot list directory ${dirAbs}: ${(err as Error).message}`);
    }
    const subdirs: Array<[string, string, readonly string[]]> = [];
    const plain: Array<[string, string]> = [];
    for (const e of entries) {
      const name = e.name.toString('utf8');
      if (!Buffer.from(name, 'utf8').equals(e.name)) {
        const escaped = escapeFileName(e.name);
        invalidNames.push(`${dirRel === '' ? '' : `${dirRel}/`}${escaped}${e.isDirectory() ? '/' : ''}`);
        continue;
      }
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (isIgnored(rel, ignores)) continue;
      const abs = path.join(dirAbs, name);
      if (e.isSymbolicLink()) {
        if (!allowSymlinks) throw new UsageError(`${abs} is a symlink (symlinks are not allowed)`);
        const target = await resolveInside(root, abs);
        const st = await fs.promises.stat(target);
        if (st.isDirectory()) {
          if (realStack.includes(target)) throw new UsageError(`symlink ${abs} loops back to ${target}`);
          subdirs.push([abs, rel, [...realStack, target]]);
        } else if (st.isFile()) {
          files.push({ name: rel, absPath: abs, size: st.size });
        } else {
          throw new UsageError(`symlink ${abs} points to a special file ${target} (not a regular file or directory)`);
        }
      } else if (e.isDirectory()) {
        subdirs.push([abs, rel, [...realStack, path.join(realStack[realStack.length - 1], name)]]);
      } else if (e.isFile()) {
        plain.push([abs, rel]);
      } else {
        throw new UsageError(`${abs} is a special file (socket, fifo or device), not a regular file or directory`);
      }
    }
    const sizes = await mapLimit(plain, 64, ([abs]) => fs.promises.lstat(abs).then((s) => s.size));
    plain.forEach(([abs, rel], i) => files.push({ name: rel, absPath: abs, size: sizes[i] }));
    for (const [abs, rel, stack] of subdirs) await walk(abs, rel, stack);
  };
  await walk(root.root, '', [root.realRoot]);
  // Split each name once: a model may have 100k files.
  const keyed = files.map((f) => ({ f, parts: f.name.split('/') }));
  keyed.sort((a, b) => comparePathParts(a.parts, b.parts));
  return { files: keyed.map((k) => k.f), invalidNames: invalidNames.sort() };
}

/** Resolves a symlink and checks it stays inside the model; returns the real target. */
async function resolveInside(root: ModelRoot, link: string): Promise<string> {
  let target: string;
  try {
    target = await fs.promises.realpath(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UsageError(`symlink ${link} is a loop`);
    throw new UsageError(`symlink ${link} cannot be resolved: ${(err as Error).message}`);
  }
  if (target !== root.realRoot && !target.startsWith(root.realRoot + path.sep)) {
    throw new UsageError(`symlink ${link} points outside the model, to ${target}`);
  }
  if (target === root.realRoot) throw new UsageError(`symlink ${link} loops back to the model root`);
  return target;
}

// ---------------------------------------------------------------------------------------------------------------
// Payload names (verification)

/** Validates a `files` resource name from a payload and returns it. */
function checkResourcePath(name: string): string {
  if (name === '.') return name;
  if (typeof name !== 'string' || name === '' || name.includes('\0') || name.includes('\\')) {
    throw new VerificationError(`resource name ${JSON.stringify(name)} is not a valid relative POSIX path`);
  }
  if (name.startsWith('/')) throw new VerificationError(`resource name ${JSON.stringify(name)} is absolute`);
  const parts = name.split('/');
  if (parts.includes('..')) throw new VerificationError(`resource name ${JSON.stringify(name)} leaves the model root ('..')`);
  if (parts.some((p) => p === '' || p === '.')) {
    throw new VerificationError(`resource name ${JSON.stringify(name)} is not canonical (empty or '.' segment)`);
  }
  return name;
}

/** Parses and validates a `shards` resource name `path:start:end`. */
export function parseShardName(name: string, shardSize: number | undefined): { file: string; start: number; end: number } {
  if (shardSize === undefined || !Number.isSafeInteger(shardSize) || shardSize <= 0) {
    throw new VerificationError(`shards serialization needs a positive integer shard_size, got ${JSON.stringify(shardSize)}`);
  }
  // the path itself may contain ':'; start and end are the last two fields
  const m = typeof name === 'string' ? /^(.+):(\d+):(\d+)$/.exec(name) : null;
  const parts = m ? [m[1], m[2], m[3]] : [];
  if (!m) {
    throw new VerificationError(`shard name ${JSON.stringify(name)} is not of the form path:start:end`);
  }
  const file = checkResourcePath(parts[0]);
  const start = Number(parts[1]);
  const end = Number(parts[2]);
  if (!Number.isSafeInteger(end) || start >= end || end - start > shardSize) {
    throw new VerificationError(`shard ${JSON.stringify(name)} has an invalid range for shard_size ${shardSize}`);
  }
  return { file, start, end };
}

/** Checks that a listed file exists as a regular file inside the model, honouring the symlink policy. */
async function checkListedFile(root: ModelRoot, name: string, allowSymlinks: boolean): Promise<{ absPath: string; size: number }> {
  if (name === '.') {
    if (!root.isFile) throw new VerificationError(`resource name '.' names a single-file model, but ${root.root} is a directory`);
    return { absPath: root.root, size: (await fs.promises.stat(root.root)).size };
  }
  if (root.isFile) throw new VerificationError(`resource ${name} names a file in a directory, but the model ${root.root} is a single file`);
  let current = root.root;
  for (const part of name.split('/')) {
    current = path.join(current, part);
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(current);
    } catch (err) {
      throw new VerificationError(`file ${name} listed in the signature is missing from the model (${current}): ${(err as Error).message}`);
    }
    if (st.isSymbolicLink()) {
      if (!allowSymlinks) throw new VerificationError(`${current} is a symlink, but the signature does not allow symlinks`);
      try {
        await resolveInside(root, current);
      } catch (err) {
        throw new VerificationError((err as Error).message);
      }
    }
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(current);
  } catch (err) {
    throw new VerificationError(`file ${name} listed in the signature cannot be read (${current}): ${(err as Error).message}`);
  }
  if (!st.isFile()) throw new VerificationError(`${current} (resource ${name}) is not a regular file`);
  return { absPath: current, size: st.size };
}

/** `Promise.all(items.map(fn))` with at most `limit` calls in flight (a model may list 100k files). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing: calling thread for small models, a worker pool for large ones

/** Default worker count: one per core, capped at {@link MAX_DEFAULT_WORKERS}. */
export function defaultWorkerCount(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, MAX_DEFAULT_WORKERS));
}

type ErrorMapper = (err: Error, job: HashJob) => Error;

/** Hashes every job; returns hex digests in job order. */
async function runJobs(
  jobs: readonly HashJob[], algorithm: HashAlgorithm, opts: Pick<HashOptions, 'workers' | 'onProgress'>, mapError: ErrorMapper,
): Promise<string[]> {
  const total = jobs.reduce((n, j) => n + j.size, 0);
  const progress = progressReporter(total, opts.onProgress);
  let workers: number;
  if (opts.workers !== undefined) {
    if (!Number.isSafeInteger(opts.workers) || opts.workers < 0) {
      throw new UsageError(`workers must be a non-negative integer, got ${opts.workers}`);
    }
    workers = opts.workers;
  } else {
    workers = total < WORKER_THRESHOLD_BYTES ? 0 : defaultWorkerCount();
  }
  workers = Math.min(workers, jobs.length);
  const blake3Native = algorithm === 'blake3' ? nativeBlake3Path() : undefined;
  if (algorithm === 'blake3' && (blake3Native === undefined || (jobs.length === 1 && opts.workers === undefined))) {
    // Workers start from source text and cannot reach the bundled WebAssembly build; one file gains nothing from a
    // worker and pays its start-up, while the double-buffered reader overlaps reading and hashing here.
    workers = 0;
  }
  const digests = workers === 0
    ? await hashOnThisThread(jobs, algorithm, progress, mapError)
    : await hashOnWorkers(jobs, workers, { algorithm, blake3Native }, progress, mapError);
  progress.finish();
  return digests;
}

interface ProgressReporter {
  add(bytes: number): void;
  finish(): void;
}

function progressReporter(total: number, onProgress: HashOptions['onProgress']): ProgressReporter {
  let done = 0;
  let last = 0;
  return {
    add(bytes: number) {
      done += bytes;
      if (!onProgress) return;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        onProgress(done, Math.max(done, total));
      }
    },
    finish() {
      onProgress?.(done, Math.max(done, total));
    },
  };
}

/** Hashes jobs one after another on the calling thread, with reused buffers. */
async function hashOnThisThread(
  jobs: readonly HashJob[], algorithm: HashAlgorithm, progress: ProgressReporter, mapError: ErrorMapper,
): Promise<string[]> {
  const doubleBuffered = algorithm === 'blake3';
  const buffers = doubleBuffered ? [Buffer.allocUnsafe(BLAKE3_CHUNK_SIZE), Buffer.allocUnsafe(BLAKE3_CHUNK_SIZE)] : [Buffer.allocUnsafe(CHUNK_SIZE)];
  const digests: string[] = [];
  for (const job of jobs) {
    try {
      const hasher = await createHasher(algorithm);
      digests.push(doubleBuffered
        ? await hashRangeDoubleBuffered(job, hasher, buffers, progress)
        : await hashRangeHere(job, hasher, buffers[0], progress));
    } catch (err) {
      throw mapError(err as Error, job);
    }
  }
  return digests;
}

async function hashRangeHere(job: HashJob, hash: StreamHasher, buffer: Buffer, progress: ProgressReporter): Promise<string> {
  const handle = await fs.promises.open(job.absPath, 'r');
  try {
    let pos = job.start;
    for (;;) {
      const want = job.end < 0 ? buffer.length : Math.min(buffer.length, job.end - pos);
      if (want <= 0) break;
      const { bytesRead } = await handle.read(buffer, 0, want, pos);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      pos += bytesRead;
      progress.add(bytesRead);
    }
    if (job.end >= 0 && pos < job.end) {
      throw new Error(`file ends at byte ${pos}, before the end of range ${job.start}-${job.end}`);
    }
    return hash.digest().toString('hex');
  } finally {
    await handle.close();
  }
}

/**
 * Hashes a file or range with two buffers: the read of chunk N+1 is issued (positional, on the libuv thread pool)
 * before chunk N is hashed on this thread, so reading and hashing overlap. A read never targets the buffer being
 * hashed, and `update` consumes its bytes before it returns. Reads stop at the size the file had when it was opened
 * (or the range's end); a file that shrinks meanwhile fails.
 */
async function hashRangeDoubleBuffered(job: HashJob, hash: StreamHasher, buffers: Buffer[], progress: ProgressReporter): Promise<string> {
  const handle = await fs.promises.open(job.absPath, 'r');
  try {
    const end = job.end >= 0 ? job.end : (await handle.stat()).size;
    const chunk = buffers[0].length;
    const readAt = (i: number, pos: number) => handle.read(buffers[i], 0, Math.min(chunk, end - pos), pos);
    let pos = job.start;
    let i = 0;
    let pending = pos < end ? readAt(0, pos) : undefined;
    while (pending) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) {
        throw new Error(`file ends at byte ${pos}, before the ${end} bytes it had when hashing began`);
      }
      const current = buffers[i];
      pos += bytesRead;
      pending = pos < end ? readAt(i ^ 1, pos) : undefined;
      hash.update(current.subarray(0, bytesRead));
      progress.add(bytesRead);
      i ^= 1;
    }
    return hash.digest().toString('hex');
  } finally {
    await handle.close();
  }
}

type WorkerMessage =
  | { type: 'progress'; bytes: number }
  | { type: 'done'; id: number; digest: string }
  | { type: 'error'; id: number; code?: string; message: string };

/**
 * Hashes jobs on a pool of worker threads, biggest first (so one large file does not start last and leave the
 * other workers idle at the end); each worker takes the next job when it finishes one.
 */
function hashOnWorkers(
  jobs: readonly HashJob[],
  count: number,
  hashing: { algorithm: HashAlgorithm; blake3Native?: string },
  progress: ProgressReporter,
  mapError: ErrorMapper,
): Promise<string[]> {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].size - jobs[a].size || a - b);
  const digests: string[] = new Array(jobs.length);
  const pool: Worker[] = [];
  return new Promise<string[]>((resolve, reject) => {
    let next = 0;
    let remaining = jobs.length;
    let settled = false;
    const shutdown = () => Promise.all(pool.map((w) => w.terminate()));
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      void shutdown().then(() => reject(err), () => reject(err));
    };
    const dispatch = (w: Worker) => {
      if (next >= order.length) return;
      const id = order[next++];
      const j = jobs[id];
      w.postMessage({ id, file: j.absPath, start: j.start, end: j.end });
    };
    for (let i = 0; i < count; i++) {
      const w = new Worker(HASH_WORKER_SOURCE, {
        eval: true,
        workerData: {
          chunkSize: CHUNK_SIZE,
          doubleBufferChunkSize: BLAKE3_CHUNK_SIZE,
          progressBytes: WORKER_PROGRESS_BYTES,
          algorithm: hashing.algorithm,
          blake3Path: hashing.blake3Native,
        },
      });
      pool.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (settled) return;
        if (m.type === 'progress') {
          progress.add(m.bytes);
        } else if (m.type === 'done') {
          digests[m.id] = m.digest;
          if (--remaining === 0) {
            settled = true;
            void shutdown().then(() => resolve(digests), reject);
          } else {
            dispatch(w);
          }
        } else {
          const e = new Error(m.message) as NodeJS.ErrnoException;
          e.code = m.code;
          fail(mapError(e, jobs[m.id]));
        }
      });
      w.on('error', (err) => fail(err));
      w.on('exit', (code) => {
        if (!settled && code !== 0) fail(new Error(`hash worker exited with code ${code}`));
      });
      dispatch(w);
    }
  });
}
