/**
 * The message of a verification that must fail: fails the test when the promise resolves, or rejects with anything but
 * a VerificationError (exit 1), so a test asserts the exact reason a bundle is refused.
 */
import { VerificationError } from '../../src/runtime/codec/errors';

/** Awaits `p`, expects a {@link VerificationError} and returns its message. */
export async function verificationFailure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return (e as Error).message;
  }
  throw new Error('expected verification to fail, but it succeeded');
}
