/**
 * Passwords of encrypted private keys: from `--password-file`, the `MODELSEAL_KEY_PASSWORD` environment variable, or a
 * prompt on the terminal (nothing echoed). `--password` still works but warns: a command line is visible to every user
 * of the machine (`ps`) and is kept in shell history.
 */
import { promises as fs } from 'fs';
import { UsageError } from '../codec/errors';
import { isEncryptedPem, KEY_PASSWORD_ENV } from '../engine/keys';

/** A terminal to read a password from: stdin, when it is one. */
export interface PasswordInput {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Where a key's password may come from, in the order they are tried. */
export interface PasswordSources {
  /** `--password` (deprecated). */
  readonly password?: string;
  /** `--password-file`: the first line of the file. */
  readonly passwordFile?: string;
  /** The value of `MODELSEAL_KEY_PASSWORD`, when set and not empty. */
  readonly passwordFromEnv?: string;
  /** Asks on the terminal; absent when stdin is not a terminal. */
  readonly promptPassword?: (question: string) => Promise<string>;
}

/** The warning `--password` prints. */
export const PASSWORD_FLAG_WARNING =
  `warning: --password puts the password in the process list and in shell history; use ${KEY_PASSWORD_ENV}, --password-file FILE or the prompt`;

/**
 * The password for `keyFile`, or undefined when no source gives one (an unencrypted key needs none; for an encrypted
 * key, loading it then says how to give one). The prompt is used only when the key is encrypted.
 *
 * @throws UsageError when `--password-file` cannot be read
 */
export async function keyPassword(sources: PasswordSources, keyFile: string): Promise<string | undefined> {
  if (sources.password !== undefined) {
    return sources.password;
  }
  if (sources.passwordFile !== undefined) {
    let text: string;
    try {
      text = await fs.readFile(sources.passwordFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --password-file ${sources.passwordFile}: ${(e as Error).message}`);
    }
    return text.replace(/\r?\n$/, '');
  }
  if (sources.passwordFromEnv) {
    return sources.passwordFromEnv;
  }
  if (sources.promptPassword) {
    let data: Buffer;
    try {
      data = await fs.readFile(keyFile);
    } catch {
      return undefined; // loading the key reports the unreadable file
    }
    return isEncryptedPem(data) ? sources.promptPassword(`Password for ${keyFile}: `) : undefined;
  }
  return undefined;
}

/**
 * Reads one line from a terminal without echoing it: raw mode, Enter (or Ctrl-D) ends it, Backspace deletes, Ctrl-C
 * cancels.
 *
 * @throws UsageError when cancelled
 */
export function readHiddenLine(input: PasswordInput, output: { write(text: string): unknown }, question: string): Promise<string> {
  output.write(question);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) {
        reject(error);
      } else {
        resolve(value);
      }
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          return finish();
        }
        if (ch === '\u0003') {
          return finish(new UsageError('the password prompt was cancelled'));
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
      return undefined;
    };
    input.on('data', onData);
  });
}
