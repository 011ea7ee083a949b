/**
 * Shared shapes of the OMS v1.0 engine (runtime only; not part of the jsii API).
 */
import type { HashAlgorithm } from './blake';

/** One signed resource of an OMS manifest: a file (`files` method) or a shard (`shards` method). */
export interface ManifestResource {
  /** POSIX path relative to the model root (`files`), or `path:start:end` (`shards`). */
  readonly name: string;
  /** Hash algorithm: `sha256`, `blake2b` or `blake3` (the OMS registry; engine/blake.ts). */
  readonly algorithm: string;
  /** Lower-case hex digest. */
  readonly digest: string;
}

/** The `serialization` object of the OMS predicate, as it appears in the payload. */
export interface Serialization {
  readonly method: 'files' | 'shards';
  readonly hash_type: string;
  readonly allow_symlinks: boolean;
  readonly ignore_paths: string[];
  /** Only for `shards`. */
  readonly shard_size?: number;
}

/** A model manifest: resources in payload order plus how they were produced. */
export interface Manifest {
  readonly resources: ManifestResource[];
  readonly serialization: Serialization;
}

/** Options for hashing a model on disk. */
export interface HashOptions {
  /**
   * The OMS hash algorithm of the resource digests when hashing a model to sign it (verification reads it from the
   * payload): `sha256`, `blake2b` or `blake3`.
   *
   * @default 'sha256'
   */
  readonly algorithm?: HashAlgorithm;
  /**
   * Paths to leave out, as the reference CLI's `--ignore-paths` takes them: absolute, or relative to the current
   * directory. Paths outside the model are neither applied nor recorded. (Paths relative to the model root, such as a
   * payload's `ignore_paths`, go in `ModelHashOptions.modelIgnorePaths`.)
   */
  readonly ignorePaths?: string[];
  /** Leave out `.git`, `.gitattributes`, `.gitignore`, `.github` at the top level. Default true. */
  readonly ignoreGitPaths?: boolean;
  /** Follow symlinks that stay inside the model root. Default false (a symlink is an error). */
  readonly allowSymlinks?: boolean;
  /** Worker threads to hash with. Default: one per core, capped (see docs/BENCHMARKS.md). */
  readonly workers?: number;
  /** Progress callback: bytes hashed so far and total bytes. */
  readonly onProgress?: (done: number, total: number) => void;
}
