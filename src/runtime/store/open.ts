/**
 * Opening a store from a URI: `file://PATH`, a plain path, or `s3://bucket/prefix`.
 */
import * as path from 'path';
import { fileURLToPath } from 'url';
import type { S3Client } from '@aws-sdk/client-s3';
import { LocalStore } from './local';
import { S3Store, S3StoreOptions } from './s3';
import type { ObjectStore } from './types';
import { UsageError } from '../codec/errors';

/** Environment variable that names the store when `--store` is not given. */
export const STORE_ENV = 'MODELSEAL_STORE';

/** Environment variable that holds the S3 store's KMS key ARN when `--store-key-arn` is not given. */
export const STORE_KEY_ARN_ENV = 'MODELSEAL_STORE_KMS_KEY_ARN';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * ARN of the S3 store's KMS key (ignored for local stores).
   *
   * @default - `MODELSEAL_STORE_KMS_KEY_ARN`, else looked up with GetBucketEncryption
   */
  readonly storeKeyArn?: string;
  /**
   * AWS region of the bucket's client.
   *
   * @default - from the environment
   */
  readonly region?: string;
  /**
   * An S3 client to use instead of a new one (tests inject a mocked one).
   *
   * @default - a new client
   */
  readonly s3Client?: S3Client;
  /**
   * Retry bounds of an S3 store (the verifier service keeps them short: a decision has a deadline).
   *
   * @default - the S3 store's defaults (8 attempts, backoff up to 5 s)
   */
  readonly s3Retries?: Pick<S3StoreOptions, 'maxAttempts' | 'maxDelayMs'>;
  /**
   * Environment to read `MODELSEAL_STORE_KMS_KEY_ARN` from.
   *
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Base of relative local paths.
   *
   * @default process.cwd()
   */
  readonly cwd?: string;
}

/**
 * Opens the store a URI names.
 *
 * - `s3://bucket` or `s3://bucket/prefix` → {@link S3Store} (the prefix gets a trailing `/`);
 * - `file:///abs/path` (a file URL, percent-decoded) or `file://rel/path` (the rest taken as a path) → {@link LocalStore};
 * - anything without a `scheme://` → a local path, relative to `cwd`.
 *
 * @throws UsageError naming the URI for an empty value or an unsupported scheme
 */
export function openStore(uri: string, opts: OpenStoreOptions = {}): ObjectStore {
  const value = uri.trim();
  if (value === '') {
    throw new UsageError(`no store given; pass --store URI (file://PATH, a directory, or s3://bucket/prefix) or set ${STORE_ENV}`);
  }
  const cwd = opts.cwd ?? process.cwd();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    return new LocalStore(path.resolve(cwd, value));
  }
  if (scheme === 'file') {
    const rest = value.slice('file://'.length);
    if (rest === '') {
      throw new UsageError(`store URI ${JSON.stringify(uri)} has no path; expected file:///absolute/path or file://relative/path`);
    }
    if (rest.startsWith('/')) {
      try {
        return new LocalStore(fileURLToPath(value));
      } catch (e) {
        throw new UsageError(`store URI ${JSON.stringify(uri)} is not a valid file URL: ${(e as Error).message}`);
      }
    }
    return new LocalStore(path.resolve(cwd, rest));
  }
  if (scheme === 's3') {
    const rest = value.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucket === '') {
      throw new UsageError(`store URI ${JSON.stringify(uri)} has no bucket; expected s3://bucket/prefix`);
    }
    const env = opts.env ?? process.env;
    const keyArn = opts.storeKeyArn ?? (env[STORE_KEY_ARN_ENV] || undefined);
    return new S3Store({
      bucket,
      prefix,
      ...(keyArn ? { kmsKeyArn: keyArn } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.s3Client ? { client: opts.s3Client } : {}),
      ...opts.s3Retries,
    });
  }
  throw new UsageError(`store URI ${JSON.stringify(uri)} has the unsupported scheme ${scheme}://; expected file://PATH, a directory path, or s3://bucket/prefix`);
}
