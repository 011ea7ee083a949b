/**
 * Where a CLI run reads and writes, and how a failed command is reported: one place for the exit codes, shared by
 * the full CLI (main.ts) and the `digest` entry (digest-bin.ts).
 *
 * Exit codes: 1 for a {@link VerificationError} (verification failed, policy not met), 2 for a {@link UsageError}
 * (bad usage, unreadable input) and for anything unexpected (a bug), which is printed with its stack.
 */
import type { PasswordInput } from './password';
import type { ProgressStream } from './progress';
import { UsageError, VerificationError } from '../codec/errors';

/** Where the CLI reads and writes; `process.stdout`/`process.stderr`/`process.stdin` by default. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Where a key password is asked for, when it is a terminal. @default - no prompt */
  readonly stdin?: PasswordInput;
}

/**
 * Prints why a command failed and returns its exit code: `{"ok": false, "command", "error": {"kind", "message"}}` on
 * stdout with `--json`, else `<What> failed: <message>` on stderr.
 */
export function reportError(e: unknown, io: CliIo, json: boolean, command: string): number {
  let code: number;
  let kind: string;
  let message: string;
  if (e instanceof VerificationError) {
    code = 1;
    kind = 'verification';
    message = e.message;
  } else if (e instanceof UsageError) {
    code = 2;
    kind = 'usage';
    message = e.message;
  } else {
    code = 2;
    kind = 'error';
    message = `unexpected error: ${(e as Error)?.stack ?? String(e)}`;
  }
  if (json) {
    io.stdout.write(JSON.stringify({ ok: false, command, error: { kind, message } }) + '\n');
  } else {
    const what = command === 'verify' && code === 1 ? 'Verification failed' : command === 'sign' ? 'Signing failed' : 'modelseal';
    io.stderr.write(`${what}: ${message}\n`);
  }
  return code;
}
