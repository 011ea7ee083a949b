/**
 * `modelseal seal-weights` (the seal build: encrypt a model for the enclave tier, sign the manifest of the encrypted
 * files and the enclave-seal attestation) and `modelseal unseal` (inside the enclave: decrypt, verify, fail closed).
 *
 * Exit codes: 0 done; 1 something did not authenticate or the root digest differs (nothing is written); 2 bad usage
 * or unreadable input. The format and the attestation are documented in docs/ENCLAVE.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatRootDigest, parseRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import { hashModel } from '../../engine/hashing';
import { signManifest } from '../../engine/sign';
import { ENCLAVE_SEAL_PREDICATE_TYPE, readEnclaveMeasurements, signEnclaveSeal } from '../../sealing/attestation';
import { generateDataKey, parseDataKey } from '../../sealing/data-key';
import { checkChunkSize, checkKeyArn, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../../sealing/format';
import { sealModel } from '../../sealing/seal';
import { unsealModel } from '../../sealing/unseal';
import { FlagSpec, parseArgs, printHelp } from '../args';
import { keyFlagsFrom, SIGNER_KEY_FLAGS } from '../flags';
import type { PasswordInput } from '../password';
import { progressBar, ProgressStream } from '../progress';
import { createSigner, SIGNER_KINDS, SignerKind } from '../signers';

/** Where the commands write (the CLI's `CliIo`). */
export interface SealingCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Where a key password is asked for, when it is a terminal. @default - no prompt */
  readonly stdin?: PasswordInput;
}

/** Where the signature over the sealed files goes when `--signature` is not given. */
export const DEFAULT_SEALED_SIGNATURE = 'sealed-model.sig';
/** Where the enclave-seal attestation goes when `--attestation` is not given. */
export const DEFAULT_SEAL_ATTESTATION = 'sealed-model.enclave-seal.sig';

const SEAL_FLAGS: Record<string, FlagSpec> = {
  'key-arn': { type: 'string', metavar: 'ARN', help: 'The ModelWeightsKey (symmetric KMS key) that wraps the data key (required).' },
  'enclave-measurements': { type: 'string', metavar: 'FILE', help: 'The JSON nitro-cli build-enclave (or describe-eif) prints for the enclave image (required).' },
  'digest': { type: 'string', metavar: 'sha256:ROOT', help: 'The plaintext root digest the model was signed with: sealing refuses a model that differs, and takes one pass.' },
  'name': { type: 'string', metavar: 'NAME', help: 'The subject name of the signatures (default: the base name of OUT_DIR).' },
  'chunk-size': { type: 'string', metavar: 'BYTES', help: `Plaintext bytes per chunk, ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} (default: ${DEFAULT_CHUNK_SIZE}).` },
  'signature': { type: 'string', metavar: 'OUT', help: `Where to write the OMS signature of the sealed files (default: ${DEFAULT_SEALED_SIGNATURE}).` },
  'attestation': { type: 'string', metavar: 'OUT', help: `Where to write the enclave-seal attestation (default: ${DEFAULT_SEAL_ATTESTATION}).` },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const UNSEAL_FLAGS: Record<string, FlagSpec> = {
  'data-key-file': { type: 'string', metavar: 'FILE', help: 'The data key: 32 raw bytes, or base64 (kmstool_enclave_cli\'s "PLAINTEXT: ..." line is accepted).' },
  'data-key-stdin': { type: 'boolean', help: 'Read the data key from standard input (pipe kmstool_enclave_cli decrypt into it).' },
  'digest': { type: 'string', metavar: 'sha256:ROOT', help: 'The plaintext root digest the model must have (pin the version).' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/**
 * Runs `modelseal seal-weights <method> MODEL_DIR OUT_DIR ...` (arguments after `seal-weights`); returns the exit code.
 *
 * Reads and checks every input and opens the signer before KMS is asked for a data key; the plaintext data key is
 * zeroed as soon as the files are sealed.
 */
export async function sealWeightsCommand(argv: readonly string[], io: SealingCommandIo): Promise<number> {
  const kind = argv[0];
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(`Usage: modelseal seal-weights ${SIGNER_KINDS.join('|')} MODEL_DIR OUT_DIR --key-arn ARN --enclave-measurements FILE [options]\n\n` +
      'Run \'modelseal seal-weights <method> --help\' for the options of a method.\n');
    return kind === undefined ? 2 : 0;
  }
  if (!(SIGNER_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`seal-weights: unknown signing method "${kind}"; expected one of ${SIGNER_KINDS.join(', ')}`);
  }
  const command = `seal-weights ${kind}`;
  const specs = { ...SEAL_FLAGS, ...SIGNER_KEY_FLAGS[kind as SignerKind] };
  const args = parseArgs(argv.slice(1), specs, command);
  const f = args.flags;
  if (f.help) {
    return printHelp(io.stdout, `${command} MODEL_DIR OUT_DIR --key-arn ARN --enclave-measurements FILE [options]`,
      'Encrypt a model directory for the Nitro Enclave serving tier (AES-256-GCM, chunked, with a data key from KMS),\n' +
      'sign the OMS manifest of the encrypted files, and sign an enclave-seal attestation\n' +
      `(${ENCLAVE_SEAL_PREDICATE_TYPE}) linking it to the plaintext root digest and the enclave image's PCRs.`, specs);
  }
  if (args.positionals.length !== 2) {
    throw new UsageError(`${command} needs MODEL_DIR and OUT_DIR; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  const [modelDir, outDir] = args.positionals;
  const keyArn = checkKeyArn(f['key-arn'], '--key-arn', UsageError);
  if (f['enclave-measurements'] === undefined) {
    throw new UsageError(`${command} needs --enclave-measurements FILE (the JSON nitro-cli build-enclave prints for the enclave image)`);
  }
  const enclave = await readEnclaveMeasurements(f['enclave-measurements'] as string);
  const expected = f.digest === undefined ? undefined : parseRootDigest(f.digest, '--digest');
  const chunkSize = f['chunk-size'] === undefined ? DEFAULT_CHUNK_SIZE
    : checkChunkSize(/^\d+$/.test(f['chunk-size'] as string) ? Number(f['chunk-size']) : f['chunk-size'], '--chunk-size', UsageError);
  const signaturePath = (f.signature as string | undefined) ?? DEFAULT_SEALED_SIGNATURE;
  const attestationPath = (f.attestation as string | undefined) ?? DEFAULT_SEAL_ATTESTATION;
  const subjectName = (f.name as string | undefined) ?? path.basename(path.resolve(outDir));
  for (const [flag, file] of [['--signature', signaturePath], ['--attestation', attestationPath]]) {
    if (isInside(file, outDir) || isInside(file, modelDir)) {
      throw new UsageError(`${flag} ${file} lies inside MODEL_DIR or OUT_DIR; write it beside them`);
    }
  }

  const signer = await createSigner(kind as SignerKind, keyFlagsFrom(args, io));
  try {
    const dataKey = await generateDataKey(keyArn);
    const bar = progressBar(io.stderr, 'sealing', f.json === true);
    let sealed;
    try {
      sealed = await sealModel(modelDir, outDir, {
        dataKey: dataKey.plaintext,
        encryptedDataKey: dataKey.ciphertext,
        keyArn: dataKey.keyArn,
        chunkSize,
        ...(expected === undefined ? {} : { expectedRootDigest: expected }),
        onProgress: bar.onProgress,
      });
    } finally {
      dataKey.plaintext.fill(0);
      bar.done();
    }
    const manifest = await hashModel(outDir);
    const signature = await signManifest(subjectName, manifest, signer, signaturePath);
    const attestation = await signEnclaveSeal({ subjectName, sealedRootDigest: signature.rootDigest, index: sealed.index, enclave }, signer);
    write(attestationPath, attestation.bundleText, 'attestation');
    if (f.json) {
      io.stdout.write(JSON.stringify({
        ok: true,
        command: 'seal-weights',
        method: kind,
        modelDir,
        sealedDir: outDir,
        rootDigest: formatRootDigest(sealed.rootDigest),
        sealedRootDigest: formatRootDigest(signature.rootDigest),
        keyArn: sealed.index.keyArn,
        files: sealed.index.files.length,
        bytes: sealed.bytes,
        chunkSize,
        signature: signaturePath,
        attestation: attestationPath,
        predicateType: ENCLAVE_SEAL_PREDICATE_TYPE,
        pcrs: enclave.pcrs,
        keyHint: signature.keyHint,
      }) + '\n');
    } else {
      io.stdout.write(`Sealed ${sealed.index.files.length} files (${formatRootDigest(sealed.rootDigest)}) into ${outDir} ` +
        `(${formatRootDigest(signature.rootDigest)}); signature ${signaturePath}, enclave-seal attestation ${attestationPath}\n`);
    }
    return 0;
  } finally {
    await signer.close?.();
  }
}

/** Runs `modelseal unseal SEALED_DIR OUT_DIR ...` (arguments after `unseal`); returns the exit code. */
export async function unsealCommand(argv: readonly string[], io: SealingCommandIo): Promise<number> {
  const args = parseArgs(argv, UNSEAL_FLAGS, 'unseal');
  const f = args.flags;
  if (f.help) {
    return printHelp(io.stdout, 'unseal SEALED_DIR OUT_DIR (--data-key-file FILE | --data-key-stdin) [--digest sha256:ROOT]',
      'Decrypt a sealed model into a new directory: every chunk\'s GCM tag and the plaintext root digest are verified,\n' +
      'and nothing is left at OUT_DIR (or beside it) unless everything verified.', UNSEAL_FLAGS);
  }
  if (args.positionals.length !== 2) {
    throw new UsageError(`unseal needs SEALED_DIR and OUT_DIR; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  const [sealedDir, outDir] = args.positionals;
  const fromFile = f['data-key-file'] as string | undefined;
  if ((fromFile === undefined) === (f['data-key-stdin'] !== true)) {
    throw new UsageError('unseal needs exactly one of --data-key-file FILE and --data-key-stdin');
  }
  const expected = f.digest === undefined ? undefined : parseRootDigest(f.digest, '--digest');
  let raw: Buffer;
  if (fromFile !== undefined) {
    raw = readInput(fromFile, `--data-key-file ${fromFile}`);
  } else {
    if (process.stdin.isTTY) {
      throw new UsageError('--data-key-stdin reads a pipe, not a terminal: pipe kmstool_enclave_cli decrypt (or the key) into modelseal unseal');
    }
    raw = readInput(0, 'standard input');
  }
  const dataKey = parseDataKey(raw, fromFile ?? 'standard input');
  raw.fill(0);
  const bar = progressBar(io.stderr, 'unsealing', f.json === true);
  let result;
  try {
    const pin = expected === undefined ? {} : { expectedRootDigest: expected };
    result = await unsealModel(sealedDir, outDir, { dataKey, ...pin, onProgress: bar.onProgress });
  } finally {
    dataKey.fill(0);
    bar.done();
  }
  if (f.json) {
    io.stdout.write(JSON.stringify({ ok: true, command: 'unseal', sealedDir, outDir, rootDigest: formatRootDigest(result.rootDigest), files: result.files.length, bytes: result.bytes }) + '\n');
  } else {
    io.stdout.write(`Unsealed ${result.files.length} files into ${outDir} (${formatRootDigest(result.rootDigest)})\n`);
  }
  return 0;
}

function readInput(source: string | number, what: string): Buffer {
  try {
    return fs.readFileSync(source);
  } catch (e) {
    throw new UsageError(`cannot read ${what}: ${(e as Error).message}`);
  }
}

function write(file: string, text: string, what: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`cannot write ${what} ${file}: ${(e as Error).message}`);
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
