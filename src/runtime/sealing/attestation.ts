/**
 * The enclave-seal attestation: an in-toto statement, signed like every ModelSeal attestation, whose subject is the
 * root digest of the *sealed* model (the manifest of the encrypted files the host verifies) and whose predicate links it
 * to the plaintext root digest and records the enclave image that is meant to decrypt it (PCR0, PCR1, PCR2, PCR8).
 *
 * predicateType `https://modelseal.dev/enclave-seal/v1`; the predicate is documented in docs/ENCLAVE.md, and a trust
 * policy can demand a measurement with a CEL condition such as
 * `predicate.enclave.pcrs.PCR8 == '<96 hex>'`.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import { SEALED_ALGORITHM, SEALED_FORMAT, SealedIndex } from './format';
import { formatRootDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';
import { isJsonObject } from '../codec/json';
import { STATEMENT_TYPE } from '../codec/statement';
import { signStatement, SignedStatement } from '../engine/sign-statement';
import type { Signer } from '../engine/signer';

/** The predicate type of the enclave-seal attestation. */
export const ENCLAVE_SEAL_PREDICATE_TYPE = 'https://modelseal.dev/enclave-seal/v1';

/** The PCRs of an enclave image file (EIF), as `nitro-cli build-enclave` and `nitro-cli describe-eif` print them. */
export interface EnclaveMeasurements {
  /** `PCR0`, `PCR1`, `PCR2` (always) and `PCR8` (signed images), 96 lower-case hex characters each. */
  readonly pcrs: Readonly<Record<string, string>>;
}

const PCR = /^[0-9a-fA-F]{96}$/;

/**
 * Checks one PCR value: 96 hex characters (SHA-384), not all zeros (a debug-mode enclave measures zeros).
 *
 * @returns the value in lower case
 * @throws UsageError naming the PCR and the value
 */
export function checkPcr(name: string, value: unknown, source: string): string {
  if (typeof value !== 'string' || !PCR.test(value)) {
    throw new UsageError(`${source}: ${name} must be 96 hex characters (a SHA-384 measurement), got ${JSON.stringify(value)}`);
  }
  if (/^0+$/.test(value)) {
    throw new UsageError(`${source}: ${name} is all zeros, which is what a debug-mode enclave measures; seal for a production (non-debug) image`);
  }
  return value.toLowerCase();
}

/**
 * Reads the measurements of an enclave image from the JSON `nitro-cli build-enclave` or `nitro-cli describe-eif`
 * prints: `{"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "...", "PCR1": "...", "PCR2": "...",
 * "PCR8": "..."}}` (the inner object alone is accepted too). PCR0, PCR1 and PCR2 are required; PCR8 is present for a
 * signed image.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/cmd-nitro-build-enclave.html
 * @throws UsageError for unreadable JSON, a missing PCR, a malformed or all-zero value, or another hash algorithm
 */
export async function readEnclaveMeasurements(file: string): Promise<EnclaveMeasurements> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read enclave measurements ${file}: ${(e as Error).message}`);
  }
  const m = isJsonObject(doc) && isJsonObject(doc.Measurements) ? doc.Measurements : doc;
  if (!isJsonObject(m)) {
    throw new UsageError(`${file}: expected the JSON nitro-cli build-enclave prints ({"Measurements": {"PCR0": ..., ...}})`);
  }
  if (m.HashAlgorithm !== undefined && !/^sha384/i.test(String(m.HashAlgorithm))) {
    throw new UsageError(`${file}: HashAlgorithm is ${JSON.stringify(m.HashAlgorithm)}; Nitro Enclaves measure with SHA-384`);
  }
  const pcrs: Record<string, string> = {};
  for (const name of ['PCR0', 'PCR1', 'PCR2']) {
    pcrs[name] = checkPcr(name, m[name], file);
  }
  if (m.PCR8 !== undefined) {
    pcrs.PCR8 = checkPcr('PCR8', m.PCR8, file);
  }
  return { pcrs };
}

/** Inputs of {@link buildEnclaveSealStatement}. */
export interface EnclaveSealStatementOptions {
  /** The subject name (the sealed model's name). */
  readonly subjectName: string;
  /** The OMS root digest (hex) of the sealed directory: the manifest of the encrypted files. */
  readonly sealedRootDigest: string;
  /** The index the sealed directory holds. */
  readonly index: SealedIndex;
  /** The enclave image meant to decrypt it. */
  readonly enclave: EnclaveMeasurements;
}

/** Builds the enclave-seal statement (see the module comment and docs/ENCLAVE.md). */
export function buildEnclaveSealStatement(opts: EnclaveSealStatementOptions): Record<string, unknown> {
  const edk = Buffer.from(opts.index.encryptedDataKey, 'base64');
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: opts.subjectName, digest: { sha256: opts.sealedRootDigest } }],
    predicateType: ENCLAVE_SEAL_PREDICATE_TYPE,
    predicate: {
      plaintext: { rootDigest: opts.index.rootDigest, files: opts.index.files.length, bytes: opts.index.files.reduce((n, f) => n + f.size, 0) },
      sealed: {
        rootDigest: formatRootDigest(opts.sealedRootDigest), format: SEALED_FORMAT, algorithm: SEALED_ALGORITHM, chunkSize: opts.index.chunkSize,
      },
      weightsKey: { keyArn: opts.index.keyArn, encryptedDataKeySha256: createHash('sha256').update(edk).digest('hex') },
      enclave: { hashAlgorithm: 'SHA384', pcrs: { ...opts.enclave.pcrs } },
    },
  };
}

/** Builds and signs the enclave-seal statement into a Sigstore bundle (DSSE), like every other attestation. */
export async function signEnclaveSeal(opts: EnclaveSealStatementOptions, signer: Signer): Promise<SignedStatement> {
  return signStatement(buildEnclaveSealStatement(opts), signer);
}
