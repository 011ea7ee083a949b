/**
 * Signer and verification-key construction from CLI flags: the one place each key backend plugs into the CLI.
 */
import type { KeyObject, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import { keyPassword, PasswordSources } from './password';
import { UsageError } from '../codec/errors';
import { readCertificateFile } from '../engine/certificates';
import { loadPublicKey } from '../engine/keys';
import type { Signer } from '../engine/signer';
import { CertificateSigner } from '../signers/certificate';
import { LocalKeySigner } from '../signers/local';
import { TimestampingSigner } from '../signers/tsa-client';

/* eslint-disable @typescript-eslint/no-require-imports */
// The KMS and PKCS#11 backends load on first use: the AWS SDK costs start-up time every other command should not pay.
const kms = () => require('../signers/kms') as typeof import('../signers/kms');
const pkcs11 = () => require('../signers/pkcs11') as typeof import('../signers/pkcs11');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The signing methods of `modelseal sign`. */
export const SIGNER_KINDS = ['key', 'pkcs11-key', 'kms', 'certificate'] as const;
/** A signing method. */
export type SignerKind = (typeof SIGNER_KINDS)[number];

/** The verification methods of `modelseal verify`. */
export const VERIFIER_KINDS = ['key', 'kms', 'certificate', 'sigstore'] as const;
/** A verification method. */
export type VerifierKind = (typeof VERIFIER_KINDS)[number];

/** Key-related CLI flags, as parsed, with where a private key's password comes from. */
export interface KeyFlags extends PasswordSources {
  readonly privateKey?: string;
  readonly publicKey?: string;
  readonly pkcs11Uri?: string;
  readonly kmsKey?: string;
  readonly region?: string;
  readonly signingCertificate?: string;
  readonly certificateChain?: readonly string[];
  /** `--timestamp-url`: an RFC 3161 TSA to timestamp every signature. */
  readonly timestampUrl?: string;
  /** `--timestamp-authority-cert`: certificates the TSA's answers must chain to. */
  readonly timestampAuthorityCerts?: readonly string[];
}

/**
 * Builds the signer for `modelseal sign <kind>` (and every command that signs), timestamping its signatures when
 * `--timestamp-url` is given.
 *
 * @throws UsageError when a flag the method needs is missing or its key cannot be loaded
 */
export async function createSigner(kind: SignerKind, flags: KeyFlags): Promise<Signer> {
  if ((flags.timestampAuthorityCerts ?? []).length > 0 && !flags.timestampUrl) {
    throw new UsageError('--timestamp-authority-cert at sign time checks the answer of --timestamp-url; give the URL too');
  }
  const signer = await keySigner(kind, flags);
  if (!flags.timestampUrl) {
    return signer;
  }
  const trustedAuthorities: X509Certificate[] = [];
  for (const f of flags.timestampAuthorityCerts ?? []) {
    trustedAuthorities.push(...await readCertificateFile(f));
  }
  return new TimestampingSigner(signer, flags.timestampUrl, { trustedAuthorities });
}

async function keySigner(kind: SignerKind, flags: KeyFlags): Promise<Signer> {
  switch (kind) {
    case 'key': {
      const file = required(flags.privateKey, '--private-key', 'sign key');
      return LocalKeySigner.fromFile(file, await keyPassword(flags, file));
    }
    case 'certificate': {
      const file = required(flags.privateKey, '--private-key', 'sign certificate');
      return CertificateSigner.fromFiles({
        privateKey: file,
        password: await keyPassword(flags, file),
        signingCertificate: required(flags.signingCertificate, '--signing-certificate', 'sign certificate'),
        certificateChain: flags.certificateChain ?? [],
      });
    }
    case 'pkcs11-key':
      return pkcs11().Pkcs11Signer.open({ uri: required(flags.pkcs11Uri, '--pkcs11-uri', 'sign pkcs11-key') });
    case 'kms':
      return kms().KmsSigner.open({ keyId: required(flags.kmsKey, '--kms-key', 'sign kms'), region: flags.region });
  }
}

/**
 * Returns the public key `modelseal verify <kind>` checks a key-signed bundle with (`certificate` uses trust
 * anchors instead and never calls this).
 *
 * @throws UsageError when the key cannot be obtained
 */
export async function verificationKey(kind: Exclude<VerifierKind, 'certificate' | 'sigstore'>, flags: KeyFlags): Promise<KeyObject> {
  switch (kind) {
    case 'key': {
      const file = required(flags.publicKey, '--public-key', 'verify key');
      return loadPublicKey(await readInput(file, 'public key'), file);
    }
    case 'kms':
      return kms().kmsPublicKey(required(flags.kmsKey, '--kms-key', 'verify kms'), { region: flags.region });
  }
}

/**
 * Returns the public key `modelseal pubkey` prints: of `--private-key`, `--kms-key` or `--pkcs11-uri`.
 *
 * @throws UsageError unless exactly one source is given and it can be read
 */
export async function publicKeyFromFlags(flags: KeyFlags): Promise<KeyObject> {
  const given = [flags.privateKey && '--private-key', flags.kmsKey && '--kms-key', flags.pkcs11Uri && '--pkcs11-uri'].filter(Boolean);
  if (given.length !== 1) {
    throw new UsageError(`pubkey needs exactly one of --private-key, --kms-key or --pkcs11-uri; got ${given.length ? given.join(', ') : 'none'}`);
  }
  if (flags.privateKey) {
    return (await LocalKeySigner.fromFile(flags.privateKey, await keyPassword(flags, flags.privateKey))).publicKey();
  }
  if (flags.kmsKey) {
    // Only kms:GetPublicKey: printing a public key must not need signing rights.
    return kms().kmsPublicKey(flags.kmsKey, { region: flags.region });
  }
  return withSigner(await keySigner('pkcs11-key', flags));
}

async function withSigner(signer: Signer): Promise<KeyObject> {
  try {
    return await signer.publicKey();
  } finally {
    await signer.close?.();
  }
}

function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') {
    throw new UsageError(`${command} needs ${flag}`);
  }
  return value;
}

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}
