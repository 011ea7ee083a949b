/**
 * The `modelseal` command line: digest, sign, verify and pubkey, mirroring the reference `model_signing` CLI.
 *
 * Exit codes: 0 success, 1 verification failed (or policy not met, write-once conflict), 2 bad usage or unreadable input.
 */
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FlagSpec, onePositional, parseArgs, ParsedArgs, printHelp } from './args';
import { digestCommand } from './commands/digest';
import { COSIGN_FLAGS, HASH_ALGORITHM_FLAGS, HASH_FLAGS, hashAlgorithmFrom, hashOptionsFrom, keyFlagsFrom, PASSWORD_FLAGS, SIGNER_KEY_FLAGS } from './flags';
import { progressBar } from './progress';
import { CliIo, reportError } from './report';
import { createSigner, publicKeyFromFlags, SIGNER_KINDS, SignerKind, verificationKey, VERIFIER_KINDS, VerifierKind } from './signers';
import { ADMISSION_USAGE_LINES, ATTEST_USAGE_LINES, POLICY_USAGE_LINES, SEAL_USAGE_LINES, STORE_USAGE_LINES } from './usage';
import { formatRootDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../engine/bundle';
import { readCertificateFile } from '../engine/certificates';
import { keyHint, publicKeyPem } from '../engine/keys';
import { signModel } from '../engine/sign';
import {
  DEFAULT_TRUSTED_ROOT_MAX_AGE_DAYS, readTrustedRoot, shippedTrustedRoot, SigstoreTrustedRoot, trustedRootAgeWarning,
} from '../engine/sigstore-keyless';
import { verifyModel, VerificationTrust } from '../engine/verify';
import { anchoredRegExp, IdentityRule } from '../engine/x509-identity';

/* eslint-disable @typescript-eslint/no-require-imports */
// Command modules load on first use, so `digest` and `verify` do not pay at start-up for the AWS SDKs, CEL and the
// CycloneDX schemas: in the esbuild bundle a module behind require() is initialized only when it is first required.
const commands = {
  attest: () => require('./commands/attest') as typeof import('./commands/attest'),
  notation: () => require('./commands/notation') as typeof import('./commands/notation'),
  policy: () => require('./commands/policy') as typeof import('./commands/policy'),
  review: () => require('./commands/review') as typeof import('./commands/review'),
  pull: () => require('./commands/pull') as typeof import('./commands/pull'),
  seal: () => require('./commands/seal') as typeof import('./commands/seal'),
  sealing: () => require('./commands/sealing') as typeof import('./commands/sealing'),
  serve: () => require('./commands/serve') as typeof import('./commands/serve'),
  store: () => require('./commands/store') as typeof import('./commands/store'),
  tls: () => require('./commands/tls') as typeof import('./commands/tls'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export type { CliIo } from './report';

const SIGNATURE_OUT: Record<string, FlagSpec> = {
  signature: { type: 'string', metavar: 'OUT', help: 'Where to write the bundle (default: model.sig).' },
};

const SIGN_FLAGS = Object.fromEntries(SIGNER_KINDS.map((kind) =>
  [kind, { ...SIGNATURE_OUT, ...SIGNER_KEY_FLAGS[kind], ...HASH_ALGORITHM_FLAGS, ...HASH_FLAGS }])) as Record<SignerKind, Record<string, FlagSpec>>;

const VERIFY_TIMESTAMP: Record<string, FlagSpec> = {
  'timestamp-authority-cert': {
    type: 'string',
    multiple: true,
    metavar: 'PEM',
    help: 'Trusted RFC 3161 TSA certificate(s): verify the bundle\'s timestamps and check certificates at their time, not now.',
  },
};

const VERIFY_COMMON: Record<string, FlagSpec> = {
  'signature': { type: 'string', metavar: 'SIG', help: 'The bundle to verify (required).' },
  'ignore-unsigned-files': { type: 'boolean', help: 'Accept files on disk that the signature does not cover.' },
  'max-bundle-size': { type: 'string', metavar: 'BYTES', help: `Refuse bundles larger than this (default: ${DEFAULT_MAX_BUNDLE_BYTES}).` },
};

const VERIFY_FLAGS: Record<VerifierKind, Record<string, FlagSpec>> = {
  key: {
    ...VERIFY_COMMON,
    'public-key': { type: 'string', metavar: 'PEM', help: 'The public key the model was signed with, PEM.' },
    ...VERIFY_TIMESTAMP,
    ...HASH_FLAGS,
  },
  kms: {
    ...VERIFY_COMMON,
    'kms-key': { type: 'string', metavar: 'ARN', help: 'AWS KMS key whose public key verifies the bundle.' },
    'region': { type: 'string', metavar: 'REGION', help: 'AWS region (default: from the ARN or the environment).' },
    ...VERIFY_TIMESTAMP,
    ...HASH_FLAGS,
  },
  certificate: {
    ...VERIFY_COMMON,
    'certificate-chain': { type: 'string', multiple: true, metavar: 'PEM', help: 'Trust anchor certificate(s) (one PEM file per flag; required).' },
    ...VERIFY_TIMESTAMP,
    ...HASH_FLAGS,
  },
  sigstore: {
    ...VERIFY_COMMON,
    'identity': { type: 'string', metavar: 'ID', help: 'The signer identity: a subject alternative name of the Fulcio certificate (email or URI), exactly.' },
    'identity-regex': { type: 'string', metavar: 'RE', help: 'Instead of --identity: a regular expression a whole subject alternative name must match.' },
    'identity-provider': { type: 'string', metavar: 'ISSUER', help: 'The OIDC issuer the certificate records, exactly (required).' },
    'trusted-root': { type: 'string', metavar: 'FILE', help: 'A Sigstore trusted_root.json (private instance, fresher root); default: the public-good root shipped with modelseal.' },
    'trusted-root-max-age': { type: 'string', metavar: 'DAYS', help: `Warn when the shipped root is older than this (default: ${DEFAULT_TRUSTED_ROOT_MAX_AGE_DAYS}).` },
    ...HASH_FLAGS,
  },
};

const PUBKEY_FLAGS: Record<string, FlagSpec> = {
  'private-key': { type: 'string', metavar: 'PEM', help: 'Print the public key of this PEM private key.' },
  ...PASSWORD_FLAGS,
  'kms-key': { type: 'string', metavar: 'ARN', help: 'Print the public key of this AWS KMS key.' },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region for --kms-key.' },
  'pkcs11-uri': { type: 'string', metavar: 'URI', help: 'Print the public key of this PKCS #11 key.' },
  'json': { type: 'boolean', help: 'Print {"publicKey", "keyHint"} as JSON.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const USAGE = `Usage: modelseal <command> [options]

Sign and verify ML models in the OpenSSF Model Signing (OMS) v1.0 format.

Commands:
  digest MODEL_PATH                          Print the model's OMS root digest.
  sign key|pkcs11-key|kms|certificate MODEL_PATH --signature OUT [--hash-algorithm sha256|blake2b|blake3] [--timestamp-url URL] ...
                                             Hash and sign a model, write a Sigstore bundle.
  sign aws-signer (MODEL_PATH | --digest sha256:ROOT) --profile NAME --signature OUT
                                             Co-sign a model's root digest with AWS Signer (Notation JWS).
  verify key|kms|certificate MODEL_PATH --signature SIG [--timestamp-authority-cert PEM] ...
                                             Verify a model against a bundle.
  verify sigstore MODEL_PATH --signature SIG --identity ID --identity-provider ISSUER [--trusted-root FILE]
                                             Verify a Sigstore keyless bundle offline (Fulcio, Rekor, SCTs, timestamps).
  verify aws-signer (MODEL_PATH | --digest sha256:ROOT) --signature JWS --trusted-root PEM --profile-arn ARN
                                             Verify an AWS Signer co-signature, including revocation.
  verify policy MODEL_PATH --store URI --policy FILE [--digest sha256:ROOT]
                                             Decide as check does, then verify the files against the chosen manifest.
  pubkey --private-key PEM | --kms-key ARN | --pkcs11-uri URI
                                             Print a signing key's public key (SPKI PEM).
${ATTEST_USAGE_LINES}
${STORE_USAGE_LINES}
${POLICY_USAGE_LINES}
${ADMISSION_USAGE_LINES}
${SEAL_USAGE_LINES}
  seal-weights key|pkcs11-key|kms|certificate MODEL_DIR OUT_DIR --key-arn ARN --enclave-measurements FILE ...
                                             Encrypt a model for the Nitro Enclave tier; sign the sealed files and the enclave-seal attestation.
  review CDK_OUT [--k8s DIR] [--format md|json] [--baseline FILE] [--fail-on high|medium]
                                             Report the IAM, key, bucket, network and admission policies of a synthesized app, with flags.
  unseal SEALED_DIR OUT_DIR (--data-key-file FILE | --data-key-stdin) [--digest sha256:ROOT]
                                             Decrypt a sealed model inside the enclave; fails closed, leaves no plaintext.

Run 'modelseal <command> --help' for the options of a command.
Exit codes: 0 success, 1 verification failed (or policy not met, write-once conflict), 2 bad usage or unreadable input.`;

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit code.
 *
 * Never calls `process.exit`, so tests can run it in-process.
 */
export async function main(
  argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): Promise<number> {
  const json = argv.includes('--json');
  const command = argv[0];
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === 'version') {
      io.stdout.write(`modelseal ${version()}\n`);
      return 0;
    }
    switch (command) {
      case 'digest':
        return await digestCommand(argv.slice(1), io);
      case 'sign':
        return await signCommand(argv.slice(1), io);
      case 'verify':
        return await verifyCommand(argv.slice(1), io);
      case 'pubkey':
        return await pubkeyCommand(argv.slice(1), io);
      case 'publish':
        return await commands.store().publishCommand(argv.slice(1), io);
      case 'fetch':
        return await commands.store().fetchCommand(argv.slice(1), io);
      case 'ref':
        return await commands.store().refCommand(argv.slice(1), io);
      case 'attest':
        return await commands.attest().attestCommand(argv.slice(1), io, version());
      case 'policy':
        return await commands.policy().policyCommand(argv.slice(1), io);
      case 'check':
        return await commands.policy().checkCommand(argv.slice(1), io);
      case 'revoke':
        return await commands.policy().revokeCommand(argv.slice(1), io);
      case 'review':
        return await commands.review().reviewCommand(argv.slice(1), io);
      case 'pull':
        return await commands.pull().pullCommand(argv.slice(1), io);
      case 'serve':
        return await commands.serve().serveCommand(argv.slice(1), io);
      case 'tls':
        return await commands.tls().tlsCommand(argv.slice(1), io);
      case 'seal':
        return await commands.seal().sealCommand(argv.slice(1), io);
      case 'seal-weights':
        return await commands.sealing().sealWeightsCommand(argv.slice(1), io);
      case 'unseal':
        return await commands.sealing().unsealCommand(argv.slice(1), io);
      default:
        throw new UsageError(`unknown command "${command}"; expected digest, sign, verify, pubkey, publish, fetch, ref, attest, policy, check, revoke, pull, review, serve, tls, seal, seal-weights or unseal (see modelseal --help)`);
    }
  } catch (e) {
    return reportError(e, io, json, command ?? '');
  }
}

async function signCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const kind = argv[0];
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(`Usage: modelseal sign ${SIGNER_KINDS.join('|')} MODEL_PATH [options]\n\nRun 'modelseal sign <method> --help' for the options of a method.\n`);
    return kind === undefined ? 2 : 0;
  }
  if (kind === 'aws-signer') {
    return commands.notation().signAwsSignerCommand(argv.slice(1), io);
  }
  if (!(SIGNER_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`sign: unknown signing method "${kind}"; expected one of ${SIGNER_KINDS.join(', ')}`);
  }
  const specs = { ...SIGN_FLAGS[kind as SignerKind], ...COSIGN_FLAGS };
  const args = parseArgs(argv.slice(1), specs, `sign ${kind}`);
  if (args.flags.help) {
    return printHelp(io.stdout, `sign ${kind} MODEL_PATH [options]`, 'Hash MODEL_PATH and sign it, writing an OMS (Sigstore bundle v0.3) signature.', specs);
  }
  if (args.flags['from-bundle'] !== undefined) {
    return commands.policy().cosignCommand(kind as SignerKind, args, io);
  }
  const modelPath = onePositional(args, `sign ${kind}`, 'MODEL_PATH');
  const signaturePath = (args.flags.signature as string | undefined) ?? 'model.sig';
  const algorithm = hashAlgorithmFrom(args, io.stderr);
  const signer = await createSigner(kind as SignerKind, keyFlagsFrom(args, io));
  const bar = progressBar(io.stderr, 'hashing', args.flags.json === true);
  let result;
  try {
    result = await signModel(modelPath, signer, { ...hashOptionsFrom(args), algorithm, signaturePath, onProgress: bar.onProgress });
  } finally {
    bar.done();
    await signer.close?.();
  }
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'sign',
      method: kind,
      modelPath,
      signature: signaturePath,
      rootDigest: formatRootDigest(result.rootDigest),
      resources: result.manifest.resources.length,
      hashAlgorithm: result.manifest.serialization.hash_type,
      keyHint: result.keyHint,
      timestamped: signer.timestamp !== undefined,
    }) + '\n');
  } else {
    io.stdout.write(`Signing succeeded: ${signaturePath} (${formatRootDigest(result.rootDigest)}, ${result.manifest.resources.length} files)\n`);
  }
  return 0;
}

async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const kind = argv[0];
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(`Usage: modelseal verify ${VERIFIER_KINDS.join('|')} MODEL_PATH --signature SIG [options]\n\nRun 'modelseal verify <method> --help' for the options of a method.\n`);
    return kind === undefined ? 2 : 0;
  }
  if (kind === 'aws-signer') {
    return commands.notation().verifyAwsSignerCommand(argv.slice(1), io);
  }
  if (kind === 'policy') {
    return commands.policy().verifyPolicyCommand(argv.slice(1), io);
  }
  if (!(VERIFIER_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`verify: unknown verification method "${kind}"; expected one of ${[...VERIFIER_KINDS, 'aws-signer', 'policy'].join(', ')}`);
  }
  const specs = VERIFY_FLAGS[kind as VerifierKind];
  const args = parseArgs(argv.slice(1), specs, `verify ${kind}`);
  if (args.flags.help) {
    return printHelp(io.stdout, `verify ${kind} MODEL_PATH --signature SIG [options]`, 'Verify MODEL_PATH against an OMS signature. Fails closed.', specs);
  }
  const modelPath = onePositional(args, `verify ${kind}`, 'MODEL_PATH');
  const signaturePath = args.flags.signature as string | undefined;
  if (!signaturePath) {
    throw new UsageError(`verify ${kind} needs --signature SIG`);
  }
  const maxBundleBytes = parseSize(args.flags['max-bundle-size'] as string | undefined);
  const notes: string[] = [];
  let trust: VerificationTrust;
  let trustedRoot: SigstoreTrustedRoot | undefined;
  if (kind === 'sigstore') {
    trustedRoot = await trustedRootFrom(args);
    trust = { sigstore: { trustedRoot, ...sigstoreIdentityFrom(args) } };
    const old = trustedRootAgeWarning(trustedRoot, new Date(), parseDays(args.flags['trusted-root-max-age'] as string | undefined));
    if (old) {
      notes.push(old);
    }
  } else {
    const timestampAuthorities = await readCertificates((args.flags['timestamp-authority-cert'] as string[] | undefined) ?? []);
    const tsa = timestampAuthorities.length > 0 ? { timestampAuthorities } : {};
    if (kind === 'certificate') {
      const files = (args.flags['certificate-chain'] as string[] | undefined) ?? [];
      if (files.length === 0) {
        throw new UsageError('verify certificate needs --certificate-chain with the trusted CA certificate(s)');
      }
      trust = { trustAnchors: await readCertificates(files), ...tsa };
    } else {
      trust = { publicKey: await verificationKey(kind as 'key' | 'kms', keyFlagsFrom(args, io)), ...tsa };
    }
  }
  const bar = progressBar(io.stderr, 'verifying', args.flags.json === true);
  let result;
  try {
    result = await verifyModel(modelPath, signaturePath, trust, {
      ...hashOptionsFrom(args),
      ignoreUnsignedFiles: args.flags['ignore-unsigned-files'] === true,
      maxBundleBytes,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.done();
  }
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'verify',
      method: result.method,
      modelPath,
      signature: signaturePath,
      rootDigest: formatRootDigest(result.rootDigest),
      subjectName: result.statement.subjectName,
      predicateType: result.statement.predicateType,
      resources: result.resourceCount,
      keyHint: result.keyHint,
      curve: result.curve,
      hashAlgorithm: result.statement.manifest.serialization.hash_type,
      ...(result.certificateSubject ? { certificateSubject: result.certificateSubject } : {}),
      ...(result.sigstoreIdentity ? { identity: result.sigstoreIdentity.subjectAltNames, identityProvider: result.sigstoreIdentity.issuer } : {}),
      ...(trustedRoot ? { trustedRoot: { source: trustedRoot.source, sha256: trustedRoot.sha256 } } : {}),
      signedAt: result.signedAt.map((d) => d.toISOString()),
      certificatesCheckedAt: { times: result.checkedAt.times.map((d) => d.toISOString()), source: result.checkedAt.source },
      unsignedFiles: result.unsignedFiles,
      warnings: [...notes, ...result.warnings],
    }) + '\n');
  } else {
    for (const w of [...notes, ...result.warnings]) {
      io.stderr.write(`warning: ${w}\n`);
    }
    if (result.unsignedFiles.length > 0) {
      io.stderr.write(`warning: ${result.unsignedFiles.length} unsigned file(s) accepted: ${result.unsignedFiles.join(', ')}\n`);
    }
    const who = result.sigstoreIdentity ? `, signed by ${result.sigstoreIdentity.subjectAltNames.join(', ')} via ${result.sigstoreIdentity.issuer}` : '';
    const when = result.signedAt.length > 0 ? `, timestamped ${result.signedAt.map((d) => d.toISOString()).join(', ')}` : '';
    io.stdout.write(`Verification succeeded: ${modelPath} (${formatRootDigest(result.rootDigest)}, ${result.resourceCount} files${who}${when})\n`);
  }
  return 0;
}

async function pubkeyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, PUBKEY_FLAGS, 'pubkey');
  if (args.flags.help) {
    return printHelp(io.stdout, 'pubkey --private-key PEM | --kms-key ARN | --pkcs11-uri URI', 'Print the public key (SPKI PEM) of a signing key.', PUBKEY_FLAGS);
  }
  if (args.positionals.length > 0) {
    throw new UsageError(`pubkey takes no positional arguments; got ${args.positionals.join(' ')}`);
  }
  const key = await publicKeyFromFlags(keyFlagsFrom(args, io));
  const pem = publicKeyPem(key);
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({ ok: true, command: 'pubkey', publicKey: pem, keyHint: keyHint(key) }) + '\n');
  } else {
    io.stdout.write(pem);
  }
  return 0;
}

/** Reads every certificate of the given PEM files. */
async function readCertificates(files: readonly string[]): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  for (const f of files) {
    out.push(...await readCertificateFile(f));
  }
  return out;
}

/** `--trusted-root FILE`, or the root shipped in the package. */
async function trustedRootFrom(args: ParsedArgs): Promise<SigstoreTrustedRoot> {
  const file = args.flags['trusted-root'] as string | undefined;
  return file === undefined ? shippedTrustedRoot() : readTrustedRoot(file);
}

/** `--identity ID` or `--identity-regex RE`, and `--identity-provider ISSUER`. */
function sigstoreIdentityFrom(args: ParsedArgs): { identity: IdentityRule; issuer: string } {
  const exact = args.flags.identity as string | undefined;
  const regex = args.flags['identity-regex'] as string | undefined;
  const issuer = args.flags['identity-provider'] as string | undefined;
  if ((exact === undefined) === (regex === undefined)) {
    throw new UsageError('verify sigstore needs exactly one of --identity ID (exact) or --identity-regex RE');
  }
  if (!issuer) {
    throw new UsageError('verify sigstore needs --identity-provider ISSUER (the OIDC issuer, e.g. https://accounts.google.com)');
  }
  if (regex !== undefined) {
    try {
      anchoredRegExp(regex);
    } catch (e) {
      throw new UsageError(`--identity-regex ${JSON.stringify(regex)} is not a valid regular expression: ${(e as Error).message}`);
    }
    return { identity: { regex }, issuer };
  }
  return { identity: { exact: exact! }, issuer };
}

/** A whole number of days (`--trusted-root-max-age`). */
function parseDays(value: string | undefined): number {
  if (value === undefined) {
    return DEFAULT_TRUSTED_ROOT_MAX_AGE_DAYS;
  }
  if (!/^\d{1,6}$/.test(value)) {
    throw new UsageError(`--trusted-root-max-age ${JSON.stringify(value)} is not a whole number of days`);
  }
  return Number(value);
}

function parseSize(value: string | undefined): number {
  if (value === undefined) {
    return DEFAULT_MAX_BUNDLE_BYTES;
  }
  const m = /^(\d+)\s*([KMG]i?B?)?$/i.exec(value.trim());
  if (!m) {
    throw new UsageError(`--max-bundle-size ${JSON.stringify(value)} is not a size; expected bytes, or a number with KiB, MiB or GiB`);
  }
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--max-bundle-size ${JSON.stringify(value)} must be a positive size`);
  }
  return n;
}

/** The package version, read from the nearest package.json named modelseal (works from src/ and from assets/). */
function version(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'modelseal') {
        return pkg.version ?? '0.0.0';
      }
    } catch {
      // not here; look one level up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}
