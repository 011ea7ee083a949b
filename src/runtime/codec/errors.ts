/**
 * Errors raised by the ModelSeal runtime. They live in the codec, the lowest runtime layer, because a codec already
 * rejects input with one of them: the caller passes which one (a bad bundle field is a {@link VerificationError}, a
 * bad command-line argument a {@link UsageError}).
 *
 * The CLI maps them to exit codes: {@link VerificationError} → 1 (the model or bundle does not verify),
 * {@link UsageError} → 2 (bad usage or unreadable input). Anything else is a bug and also exits 2.
 */

/** The model, bundle or attestation does not verify. Verification always fails closed with this error. */
export class VerificationError extends Error {
  public readonly name = 'VerificationError';
  /** Exit code the CLI uses for this error. */
  public readonly exitCode = 1;
}

/** Bad usage or unreadable input: a missing flag, a file that cannot be read, a malformed key. */
export class UsageError extends Error {
  public readonly name = 'UsageError';
  /** Exit code the CLI uses for this error. */
  public readonly exitCode = 2;
}

/** An error class a codec function raises: the caller decides whether bad input is a verification or a usage error. */
export type ErrorClass = new (message: string) => Error;
