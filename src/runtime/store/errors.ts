/**
 * Errors raised by the attestation stores.
 *
 * Each store error extends the engine error whose exit code it shares, so any command that lets one escape (for
 * example a trust-policy check reading the store) reports it cleanly through the CLI's usual mapping:
 *
 * | error | extends | exit code | meaning |
 * |---|---|---|---|
 * | {@link StoreConflictError} | VerificationError | 1 | the key already holds different bytes; write-once refused the put |
 * | {@link StoreNotFoundError} | VerificationError | 1 | the key does not exist |
 * | {@link StoreIntegrityError} | VerificationError | 1 | a stored object does not match its checksum or its content address |
 * | {@link StoreAccessError} | UsageError | 2 | the store refused the caller (missing permission, wrong KMS key) |
 * | {@link StoreUnavailableError} | UsageError | 2 | the store kept failing (throttling, network) after bounded retries |
 *
 * Conflict, not-found and integrity failures are answers about the store's content (exit 1, like a failed
 * verification); access and availability failures mean the question could not be asked (exit 2, like bad usage).
 */
import { UsageError, VerificationError } from '../codec/errors';

/** The kind of a store error, as reported in `--json` output. */
export type StoreErrorKind = 'conflict' | 'not-found' | 'integrity' | 'access' | 'unavailable';

/**
 * Gives a subclass its own `name`.
 *
 * The engine errors declare `name` as a literal-typed readonly field, which a subclass cannot redeclare in
 * TypeScript; defining it at runtime keeps stack traces and `err.name` accurate.
 */
function rename(err: Error, name: string): void {
  Object.defineProperty(err, 'name', { value: name, enumerable: false, configurable: true, writable: false });
}

/** A put found different bytes already stored under the key; the store is write-once, so nothing was written. */
export class StoreConflictError extends VerificationError {
  /** Kind for `--json` output. */
  public readonly kind: StoreErrorKind = 'conflict';

  /**
   * @param key the store key that already holds different bytes
   * @param existing the bytes already stored there, when they could be read (a ref's body names its digest)
   */
  public constructor(public readonly key: string, message: string, public readonly existing?: Buffer) {
    super(message);
    rename(this, 'StoreConflictError');
  }
}

/** The key does not exist in the store. */
export class StoreNotFoundError extends VerificationError {
  /** Kind for `--json` output. */
  public readonly kind: StoreErrorKind = 'not-found';

  /**
   * @param key the store key that was not found
   */
  public constructor(public readonly key: string, message: string) {
    super(message);
    rename(this, 'StoreNotFoundError');
  }
}

/**
 * A stored object failed an integrity check: its bytes do not match the checksum the store returned, or do not
 * hash to the `<obj>` digest in its key, or do not belong at the key their content derives. Reads fail closed.
 */
export class StoreIntegrityError extends VerificationError {
  /** Kind for `--json` output. */
  public readonly kind: StoreErrorKind = 'integrity';

  /**
   * @param key the store key whose object failed the check
   */
  public constructor(public readonly key: string, message: string) {
    super(message);
    rename(this, 'StoreIntegrityError');
  }
}

/** The store refused the caller: a missing IAM permission, a bucket policy denial, or an unreadable directory. */
export class StoreAccessError extends UsageError {
  /** Kind for `--json` output. */
  public readonly kind: StoreErrorKind = 'access';

  /**
   * @param key the store key (or bucket) the refused request named
   */
  public constructor(public readonly key: string, message: string) {
    super(message);
    rename(this, 'StoreAccessError');
  }
}

/** The store kept failing with transient errors (throttling, timeouts, 5xx) after the bounded retries. */
export class StoreUnavailableError extends UsageError {
  /** Kind for `--json` output. */
  public readonly kind: StoreErrorKind = 'unavailable';

  /**
   * @param key the store key the failing request named
   */
  public constructor(public readonly key: string, message: string) {
    super(message);
    rename(this, 'StoreUnavailableError');
  }
}

/** Any store error. */
export type StoreError = StoreConflictError | StoreNotFoundError | StoreIntegrityError | StoreAccessError | StoreUnavailableError;

/** Whether `e` is one of the store errors (they all carry a `kind` and the `key` they concern). */
export function isStoreError(e: unknown): e is StoreError {
  return e instanceof StoreConflictError || e instanceof StoreNotFoundError || e instanceof StoreIntegrityError
    || e instanceof StoreAccessError || e instanceof StoreUnavailableError;
}
