/**
 * `modelseal sign aws-signer` and `modelseal verify aws-signer`: AWS Signer (Notation JWS) co-signatures over a
 * model's OMS root digest. See docs/AWS-SIGNER.md.
 *
 * They live beside the OMS signing methods of `sign`/`verify` because they answer the same question for a
 * different envelope, but they write and read a Notation JWS, not a Sigstore bundle, so they have their own flags.
 */
import { X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { SignerClient } from '@aws-sdk/client-signer';
import { formatRootDigest, parseRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import { readCertificateFile } from '../../engine/certificates';
import { hashModel, listModelFiles, rootDigest } from '../../engine/hashing';
import { signModelWithAwsSigner, verifyNotationSignature } from '../../signers/aws-signer';
import { FlagSpec, parseArgs, ParsedArgs, printHelp } from '../args';
import type { CliIo } from '../main';
import { progressBar } from '../progress';

const MODEL_FLAGS: Record<string, FlagSpec> = {
  'digest': { type: 'string', metavar: 'sha256:ROOT', help: 'The OMS root digest, instead of hashing MODEL_PATH.' },
  'ignore-paths': { type: 'string', multiple: true, metavar: 'PATH', help: 'Leave this path out when hashing MODEL_PATH.' },
  'ignore-git-paths': { type: 'boolean', negatable: true, help: 'Leave out .git, .gitattributes, .github, .gitignore (default: on).' },
  'allow-symlinks': { type: 'boolean', help: 'Follow symlinks that stay inside the model.' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/** Flags of `modelseal sign aws-signer`. */
export const AWS_SIGNER_SIGN_FLAGS: Record<string, FlagSpec> = {
  'signature': { type: 'string', metavar: 'OUT', help: 'Where to write the Notation JWS envelope (default: model.jws).' },
  'profile': { type: 'string', metavar: 'NAME', help: 'AWS Signer signing profile name (platform Notation-OCI-SHA384-ECDSA; required).' },
  'profile-owner': { type: 'string', metavar: 'ACCOUNT', help: 'AWS account id owning the profile (cross-account signing).' },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region of the profile (default: from the environment).' },
  ...MODEL_FLAGS,
};

/** Flags of `modelseal verify aws-signer`. */
export const AWS_SIGNER_VERIFY_FLAGS: Record<string, FlagSpec> = {
  'signature': { type: 'string', metavar: 'JWS', help: 'The Notation JWS envelope to verify (required).' },
  'trusted-root': { type: 'string', multiple: true, metavar: 'PEM', help: 'Trusted root certificate(s): the AWS Signer root CA (required).' },
  'profile-arn': { type: 'string', metavar: 'ARN', help: 'Trusted signing profile ARN (any version).' },
  'profile-version-arn': { type: 'string', metavar: 'ARN', help: 'Trusted signing profile version ARN (instead of --profile-arn).' },
  'region': { type: 'string', metavar: 'REGION', help: 'Region for GetRevocationStatus (default: the profile\'s).' },
  ...MODEL_FLAGS,
};

const SIGN_SYNOPSIS = 'sign aws-signer (MODEL_PATH | --digest sha256:ROOT) --profile NAME [--profile-owner ACCOUNT] [--region R] --signature OUT';
const VERIFY_SYNOPSIS = 'verify aws-signer (MODEL_PATH | --digest sha256:ROOT) --signature JWS --trusted-root PEM (--profile-arn ARN | --profile-version-arn ARN)';

/**
 * `modelseal sign aws-signer`: signs the model's OMS root digest with AWS Signer `SignPayload` and writes the
 * returned Notation JWS envelope, byte for byte, to `--signature`.
 *
 * @param argv the arguments after `sign aws-signer`
 * @returns the exit code
 */
export async function signAwsSignerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, AWS_SIGNER_SIGN_FLAGS, 'sign aws-signer');
  if (args.flags.help) {
    return printHelp(io.stdout, SIGN_SYNOPSIS,
      'Sign a model\'s OMS root digest with an AWS Signer profile; writes the Notation JWS envelope (store key notation/sha256/<root>/<obj>.jws).',
      AWS_SIGNER_SIGN_FLAGS);
  }
  const profileName = args.flags.profile as string | undefined;
  if (!profileName) {
    throw new UsageError('sign aws-signer needs --profile NAME (the AWS Signer signing profile)');
  }
  const signaturePath = (args.flags.signature as string | undefined) ?? 'model.jws';
  const model = await modelRoot(args, 'sign aws-signer', io, signaturePath);
  const client = new SignerClient(args.flags.region ? { region: args.flags.region as string } : {});
  let result;
  try {
    result = await signModelWithAwsSigner({
      root: model.root,
      size: model.size,
      profileName,
      profileOwner: args.flags['profile-owner'] as string | undefined,
      client,
    });
  } finally {
    client.destroy();
  }
  try {
    await fs.writeFile(signaturePath, result.envelope);
  } catch (e) {
    throw new UsageError(`cannot write the signature to ${signaturePath}: ${(e as Error).message}`);
  }
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'sign',
      method: 'aws-signer',
      signature: signaturePath,
      rootDigest: formatRootDigest(result.root),
      ...(model.modelPath ? { modelPath: model.modelPath } : {}),
      jobId: result.jobId,
      jobOwner: result.jobOwner,
      jobArn: result.jobArn,
      profileVersionArn: result.profileVersionArn,
      storeKey: result.storeKey,
    }) + '\n');
  } else {
    io.stdout.write(`Signing succeeded: ${signaturePath} (${formatRootDigest(result.root)}, AWS Signer job ${result.jobArn})\n`);
  }
  return 0;
}

/**
 * `modelseal verify aws-signer`: verifies a Notation JWS envelope against the model's OMS root digest, the trusted
 * root(s) and the trusted signing profile, and asks AWS Signer whether the profile, job or certificates are revoked.
 *
 * @param argv the arguments after `verify aws-signer`
 * @returns the exit code
 */
export async function verifyAwsSignerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, AWS_SIGNER_VERIFY_FLAGS, 'verify aws-signer');
  if (args.flags.help) {
    return printHelp(io.stdout, VERIFY_SYNOPSIS,
      'Verify an AWS Signer (Notation JWS) co-signature of a model, including GetRevocationStatus. Fails closed.',
      AWS_SIGNER_VERIFY_FLAGS);
  }
  const signaturePath = args.flags.signature as string | undefined;
  if (!signaturePath) {
    throw new UsageError('verify aws-signer needs --signature JWS');
  }
  const rootFiles = (args.flags['trusted-root'] as string[] | undefined) ?? [];
  if (rootFiles.length === 0) {
    throw new UsageError('verify aws-signer needs --trusted-root with the AWS Signer root CA certificate');
  }
  const profileArn = args.flags['profile-arn'] as string | undefined;
  const profileVersionArn = args.flags['profile-version-arn'] as string | undefined;
  if (!profileArn && !profileVersionArn) {
    throw new UsageError('verify aws-signer needs --profile-arn or --profile-version-arn: the AWS Signer root certifies every account\'s profiles, so name the one you trust');
  }
  const trustedRoots: X509Certificate[] = [];
  for (const f of rootFiles) {
    trustedRoots.push(...await readCertificateFile(f));
  }
  let envelope: Buffer;
  try {
    envelope = await fs.readFile(signaturePath);
  } catch (e) {
    throw new UsageError(`cannot read signature ${signaturePath}: ${(e as Error).message}`);
  }
  const model = await modelRoot(args, 'verify aws-signer', io, signaturePath);
  const result = await verifyNotationSignature(envelope, {
    root: model.root,
    trustedRoots,
    profileArn,
    profileVersionArn,
    region: args.flags.region as string | undefined,
    source: signaturePath,
  });
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'verify',
      method: 'aws-signer',
      signature: signaturePath,
      rootDigest: formatRootDigest(result.root),
      ...(model.modelPath ? { modelPath: model.modelPath } : {}),
      signingTime: result.signingTime.toISOString(),
      signingScheme: result.signingScheme,
      ...(result.expiry ? { expiry: result.expiry.toISOString() } : {}),
      profileVersionArn: result.profileVersionArn,
      jobArn: result.jobArn,
      leafSubject: result.leafSubject.replace(/\n/g, ', '),
    }) + '\n');
  } else {
    io.stdout.write(`Verification succeeded: ${signaturePath} (${formatRootDigest(result.root)}, AWS Signer profile ${result.profileVersionArn}, ` +
      `signed ${result.signingTime.toISOString()}, not revoked)\n`);
  }
  return 0;
}

/** The model a command acts on. */
interface ModelDigest {
  readonly root: string;
  readonly size: number;
  readonly modelPath?: string;
}

/**
 * The model's root digest from `--digest` or by hashing MODEL_PATH, and the descriptor size: the total bytes of the
 * hashed files, or 0 when only the digest is given.
 */
async function modelRoot(args: ParsedArgs, command: string, io: CliIo, signaturePath: string): Promise<ModelDigest> {
  const digest = args.flags.digest as string | undefined;
  if (digest !== undefined) {
    if (args.positionals.length > 0) {
      throw new UsageError(`${command} takes MODEL_PATH or --digest, not both; got ${args.positionals.join(' ')} and --digest ${digest}`);
    }
    return { root: parseRootDigest(digest, '--digest'), size: 0 };
  }
  if (args.positionals.length !== 1) {
    throw new UsageError(`${command} needs exactly one MODEL_PATH (or --digest sha256:ROOT); got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  const modelPath = args.positionals[0];
  const opts = {
    ignorePaths: (args.flags['ignore-paths'] as string[] | undefined) ?? [],
    ignoreGitPaths: args.flags['ignore-git-paths'] !== false,
    allowSymlinks: args.flags['allow-symlinks'] === true,
    signaturePath,
  };
  const bar = progressBar(io.stderr, 'hashing', args.flags.json === true);
  let manifest;
  try {
    manifest = await hashModel(modelPath, { ...opts, onProgress: bar.onProgress });
  } finally {
    bar.done();
  }
  let size = 0;
  for (const name of await listModelFiles(modelPath, opts)) {
    size += (await fs.stat(name === '.' ? modelPath : path.join(modelPath, name))).size;
  }
  return { root: rootDigest(manifest.resources), size, modelPath };
}

