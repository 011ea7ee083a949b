/**
 * The hash algorithms of OMS resource digests, and where each implementation comes from.
 *
 * OMS v1.0 registers `sha256`, `blake2b` and `blake3` (the predicate schema's `resources[].algorithm` and
 * `serialization.hash_type`), spelled as the reference model_signing writes them:
 *
 * | name | digest | implementation |
 * |---|---|---|
 * | `sha256` | 32 bytes | node `crypto` (OpenSSL, SHA-NI) |
 * | `blake2b` | 64 bytes: BLAKE2b-512, unkeyed, no salt or personalization (Python `hashlib.blake2b()`) | node `crypto` `blake2b512` |
 * | `blake3` | 32 bytes, unkeyed (Python `blake3.blake3()`) | `@napi-rs/blake-hash` (prebuilt native, SIMD), else the bundled `hash-wasm` WebAssembly build |
 *
 * The native BLAKE3 module is kept out of the esbuild bundle (a `.node` file cannot be bundled) and loaded on first
 * use, like pkcs11js. Where it is missing (a platform without a prebuilt, an asset copied without its
 * `node_modules`), BLAKE3 falls back to the WebAssembly build bundled into the CLI: about 8× slower
 * (docs/BENCHMARKS.md), never a different digest, and the CLI says so. Measured choices: docs/BENCHMARKS.md.
 *
 * @see https://github.com/sigstore/model-transparency/blob/main/src/model_signing/_hashing/memory.py
 */
import { createHash } from 'crypto';
import { UsageError } from '../codec/errors';

/** The OMS hash algorithms, as manifests name them. */
export const HASH_ALGORITHMS = ['sha256', 'blake2b', 'blake3'] as const;
/** An OMS hash algorithm. */
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Digest length of each algorithm, in bytes. */
export const DIGEST_BYTES: Record<HashAlgorithm, number> = { sha256: 32, blake2b: 64, blake3: 32 };

/** Whether a string is an OMS hash algorithm name. */
export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(value);
}

/** A streaming hash: `update` consumes the bytes before it returns and keeps no reference to them. */
export interface StreamHasher {
  update(data: Buffer): void;
  digest(): Buffer;
}

/** Which BLAKE3 implementation is in use. */
export type Blake3Backend = 'native' | 'wasm';

interface NativeBlake {
  readonly Blake3Hasher: new () => { update(input: Buffer): unknown; digestBuffer(): Buffer };
}

interface WasmHasher {
  init(): unknown;
  update(data: Uint8Array): unknown;
  digest(format: 'binary'): Uint8Array;
}

let native: { module?: NativeBlake; path?: string; error?: string } | undefined;

/** The package name of the native BLAKE3 module (external to the bundle). */
export const NATIVE_BLAKE3_PACKAGE = '@napi-rs/blake-hash';

/* eslint-disable @typescript-eslint/no-require-imports, import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library (the native one stays external) */
function loadNative(): NonNullable<typeof native> {
  if (!native) {
    try {
      native = { module: require('@napi-rs/blake-hash') as NativeBlake, path: require.resolve('@napi-rs/blake-hash') };
    } catch (e) {
      native = { error: (e as Error).message.split('\n')[0] };
    }
  }
  return native;
}

/**
 * The BLAKE3 implementation this process uses: `native` when `@napi-rs/blake-hash` (and its prebuilt for this
 * platform) loads, else `wasm`.
 */
export function blake3Backend(): Blake3Backend {
  return loadNative().module ? 'native' : 'wasm';
}

/**
 * The resolved path of the native BLAKE3 module, for worker threads (they start from source text and must require it
 * by path), or undefined when it is not available.
 */
export function nativeBlake3Path(): string | undefined {
  return loadNative().path;
}

/** Why the native BLAKE3 module is not in use, with what installs it; undefined when it is. */
export function blake3FallbackNotice(): string | undefined {
  const n = loadNative();
  if (n.module) {
    return undefined;
  }
  return `BLAKE3 is computed with the bundled WebAssembly build (correct, about 8x slower): the native module ${NATIVE_BLAKE3_PACKAGE} ` +
    `is not available for ${process.platform}-${process.arch} (${n.error}); install it beside modelseal ` +
    `(npm install ${NATIVE_BLAKE3_PACKAGE}) for the fast path`;
}

/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * A streaming hasher for an OMS algorithm.
 *
 * @throws UsageError for a name that is not an OMS algorithm
 */
export async function createHasher(algorithm: string): Promise<StreamHasher> {
  switch (algorithm) {
    case 'sha256':
    case 'blake2b': {
      const h = createHash(algorithm === 'sha256' ? 'sha256' : 'blake2b512');
      return { update: (d) => void h.update(d), digest: () => h.digest() };
    }
    case 'blake3': {
      const n = loadNative();
      if (n.module) {
        const h = new n.module.Blake3Hasher();
        return { update: (d) => void h.update(d), digest: () => h.digestBuffer() };
      }
      return wasmHasher();
    }
    default:
      throw new UsageError(`unknown hash algorithm ${JSON.stringify(algorithm)}; expected one of ${HASH_ALGORITHMS.join(', ')}`);
  }
}

/** hash-wasm's BLAKE3 (it compiles its WebAssembly once per process and reuses it for every instance). */
async function wasmHasher(): Promise<StreamHasher> {
  // only the BLAKE3 build of hash-wasm (21 KiB, its WebAssembly inlined) is bundled
  // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
  const m = require('hash-wasm/dist/blake3.umd.min.js') as { createBLAKE3(bits?: number): Promise<WasmHasher> };
  const h = await m.createBLAKE3(256);
  h.init();
  return { update: (d) => void h.update(d), digest: () => Buffer.from(h.digest('binary')) };
}
