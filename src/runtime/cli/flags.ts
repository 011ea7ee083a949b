/**
 * Flag sets shared by the commands that hash a model or sign (sign, verify, attest, revoke), so every command spells
 * and documents them the same way.
 */
import type { FlagSpec, ParsedArgs } from './args';
import { PASSWORD_FLAG_WARNING, PasswordInput, readHiddenLine } from './password';
import type { ProgressStream } from './progress';
import type { KeyFlags, SignerKind } from './signers';
import { UsageError } from '../codec/errors';
import { blake3FallbackNotice, HashAlgorithm, isHashAlgorithm } from '../engine/blake';
import { KEY_PASSWORD_ENV } from '../engine/keys';

/** The password flags of every command that loads a private key file. */
export const PASSWORD_FLAGS: Record<string, FlagSpec> = {
  'password-file': { type: 'string', metavar: 'FILE', help: `Password of an encrypted private key: the file's first line (or set $${KEY_PASSWORD_ENV}; in a terminal you are asked).` },
  'password': { type: 'string', metavar: 'PASSWORD', help: 'Deprecated, visible in ps and shell history: use --password-file or the variable.' },
};

/** Flags of every command that hashes a model. */
export const HASH_FLAGS: Record<string, FlagSpec> = {
  'ignore-paths': { type: 'string', multiple: true, metavar: 'PATH', help: 'Leave this path out (absolute, or relative to the current directory).' },
  'ignore-git-paths': { type: 'boolean', negatable: true, help: 'Leave out .git, .gitattributes, .github, .gitignore (default: on).' },
  'allow-symlinks': { type: 'boolean', help: 'Follow symlinks that stay inside the model (default: a symlink is an error).' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/** The hashing options the {@link HASH_FLAGS} select. */
export function hashOptionsFrom(args: ParsedArgs): { ignorePaths: string[]; ignoreGitPaths: boolean; allowSymlinks: boolean } {
  return {
    ignorePaths: (args.flags['ignore-paths'] as string[] | undefined) ?? [],
    ignoreGitPaths: args.flags['ignore-git-paths'] !== false,
    allowSymlinks: args.flags['allow-symlinks'] === true,
  };
}

/** RFC 3161 timestamping at sign time: every command that signs takes these. */
export const TIMESTAMP_FLAGS: Record<string, FlagSpec> = {
  'timestamp-url': { type: 'string', metavar: 'URL', help: 'Put an RFC 3161 timestamp over the signature from this TSA (http(s)) into the bundle; a TSA error fails the signing.' },
  'timestamp-authority-cert': { type: 'string', multiple: true, metavar: 'PEM', help: 'With --timestamp-url: the TSA\'s root (or TSA) certificate its answer must chain to.' },
};

/** The hash algorithm flag of the commands that hash a model to sign it (digest, sign). */
export const HASH_ALGORITHM_FLAGS: Record<string, FlagSpec> = {
  'hash-algorithm': { type: 'string', metavar: 'ALG', help: 'Resource digest algorithm: sha256 (default), blake2b or blake3 (the OMS registry).' },
};

/**
 * `--hash-algorithm` (default sha256), checked; warns on `warnings` when BLAKE3 falls back to the WebAssembly build
 * (unless `--json`).
 *
 * @throws UsageError for a name OMS does not register
 */
export function hashAlgorithmFrom(args: ParsedArgs, warnings: ProgressStream): HashAlgorithm {
  const value = (args.flags['hash-algorithm'] as string | undefined) ?? 'sha256';
  if (!isHashAlgorithm(value)) {
    throw new UsageError(`--hash-algorithm ${JSON.stringify(value)} is not an OMS hash algorithm; expected sha256, blake2b or blake3`);
  }
  const fallback = value === 'blake3' ? blake3FallbackNotice() : undefined;
  if (fallback && args.flags.json !== true) {
    warnings.write(`warning: ${fallback}\n`);
  }
  return value;
}

/** The key flags each signing method takes, shared by every command that signs (sign, attest, revoke). */
export const SIGNER_KEY_FLAGS: Record<SignerKind, Record<string, FlagSpec>> = {
  'key': {
    'private-key': { type: 'string', metavar: 'PEM', help: 'EC private key (P-256, P-384, P-521), PEM.' },
    ...PASSWORD_FLAGS,
    ...TIMESTAMP_FLAGS,
  },
  'pkcs11-key': {
    'pkcs11-uri': { type: 'string', metavar: 'URI', help: 'PKCS #11 URI of the private key (RFC 7512).' },
    ...TIMESTAMP_FLAGS,
  },
  'kms': {
    'kms-key': { type: 'string', metavar: 'ARN', help: 'AWS KMS asymmetric ECC key (ARN, key id or alias).' },
    'region': { type: 'string', metavar: 'REGION', help: 'AWS region (default: from the ARN or the environment).' },
    ...TIMESTAMP_FLAGS,
  },
  'certificate': {
    'private-key': { type: 'string', metavar: 'PEM', help: 'EC private key of the signing certificate, PEM.' },
    ...PASSWORD_FLAGS,
    'signing-certificate': { type: 'string', metavar: 'PEM', help: 'The signing (leaf) certificate, PEM.' },
    'certificate-chain': { type: 'string', multiple: true, metavar: 'PEM', help: 'Intermediate certificates to include after the leaf.' },
    ...TIMESTAMP_FLAGS,
  },
};

/** Where a command reads and writes: stderr for the password warning and prompt, stdin for the prompt. */
export interface KeyFlagsIo {
  readonly stderr: ProgressStream;
  readonly stdin?: PasswordInput;
}

/**
 * Reads the key flags (signing and verification) out of parsed arguments, with the password sources: `--password`
 * (with a warning on stderr), `--password-file`, `MODELSEAL_KEY_PASSWORD`, and a prompt when stdin is a terminal.
 */
export function keyFlagsFrom(args: ParsedArgs, io: KeyFlagsIo, env: Readonly<Record<string, string | undefined>> = process.env): KeyFlags {
  const f = args.flags;
  if (f.password !== undefined) {
    io.stderr.write(`${PASSWORD_FLAG_WARNING}\n`);
  }
  const stdin = io.stdin;
  return {
    privateKey: f['private-key'] as string | undefined,
    password: f.password as string | undefined,
    passwordFile: f['password-file'] as string | undefined,
    passwordFromEnv: env[KEY_PASSWORD_ENV] || undefined,
    ...(stdin?.isTTY ? { promptPassword: (question: string) => readHiddenLine(stdin, io.stderr, question) } : {}),
    publicKey: f['public-key'] as string | undefined,
    pkcs11Uri: f['pkcs11-uri'] as string | undefined,
    kmsKey: f['kms-key'] as string | undefined,
    region: f.region as string | undefined,
    signingCertificate: f['signing-certificate'] as string | undefined,
    certificateChain: f['certificate-chain'] as string[] | undefined,
    timestampUrl: f['timestamp-url'] as string | undefined,
    timestampAuthorityCerts: f['timestamp-authority-cert'] as string[] | undefined,
  };
}

/** Flags the sign command gains for co-signing; main.ts merges them into every signing method. */
export const COSIGN_FLAGS: Record<string, FlagSpec> = {
  'from-bundle': { type: 'string', metavar: 'FILE', help: 'Co-sign the statement of this bundle instead of hashing a model (no MODEL_PATH).' },
  'verify-key': { type: 'string', metavar: 'PEM', help: 'With --from-bundle: the original signer\'s public key; required when the bundle names its key only by hint.' },
  'verify-certificate-chain': { type: 'string', multiple: true, metavar: 'PEM', help: 'With --from-bundle: trust anchors for a certificate-signed bundle.' },
};
