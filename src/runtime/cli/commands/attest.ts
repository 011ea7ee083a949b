/**
 * `modelseal attest sbom <signer> MODEL_PATH --model-card FILE ...`: build the model's CycloneDX 1.6 ML-BOM, validate
 * it, and sign it as an in-toto attestation over the model's OMS root digest.
 *
 * The shape mirrors `modelseal sign`: the signing method is the positional after `sbom`, with the same key flags.
 * Exit codes: 0 written; 2 bad usage, an invalid model card or BOM, or an unreadable input.
 */
import { promises as fs } from 'fs';
import { formatRootDigest, parseRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import { attestModelSbom, CYCLONEDX_PREDICATE_TYPE } from '../../sbom/attest';
import { loadModelCard, loadScanSummary, PackageRef, parseImageReference, parsePackageSpec } from '../../sbom/model-card';
import { FlagSpec, formatFlags, parseArgs } from '../args';
import { HASH_ALGORITHM_FLAGS, HASH_FLAGS, hashAlgorithmFrom, keyFlagsFrom, SIGNER_KEY_FLAGS } from '../flags';
import { provenanceCommand } from './provenance';
import type { PasswordInput } from '../password';
import { progressBar, ProgressStream } from '../progress';
import { createSigner, SIGNER_KINDS, SignerKind } from '../signers';

/** Where the command writes (the CLI's `CliIo`). */
export interface AttestCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Where a key password is asked for, when it is a terminal. @default - no prompt */
  readonly stdin?: PasswordInput;
}


/** Where the attestation goes when `--signature` is not given. */
export const DEFAULT_SBOM_SIGNATURE = 'model.sbom.sig';

const SBOM_FLAGS: Record<string, FlagSpec> = {
  'model-card': { type: 'string', metavar: 'FILE', help: 'The model card, YAML or JSON (required; see docs/SBOM.md).' },
  'signature': { type: 'string', metavar: 'OUT', help: `Where to write the attestation bundle (default: ${DEFAULT_SBOM_SIGNATURE}).` },
  'digest': { type: 'string', metavar: 'sha256:ROOT', help: 'The model\'s OMS root digest, when known (e.g. from sign --json): skips hashing the model.' },
  'serving-image': { type: 'string', metavar: 'REPO@sha256:DIGEST', help: 'The digest-pinned image that serves the model (overrides the card\'s servingImage).' },
  'scan-summary': { type: 'string', metavar: 'FILE', help: 'Output of aws ecr describe-image-scan-findings for the serving image.' },
  'framework': { type: 'string', multiple: true, metavar: 'NAME@VERSION|PURL', help: 'An ML framework (bare NAME@VERSION is a PyPI package).' },
  'dependency': { type: 'string', multiple: true, metavar: 'NAME@VERSION|PURL', help: 'Another runtime dependency (bare NAME@VERSION is a PyPI package).' },
  'bom-out': { type: 'string', metavar: 'FILE', help: 'Also write the unsigned BOM (pretty JSON) here, for review.' },
};

/**
 * Runs `modelseal attest ...` with the arguments after `attest`; returns the exit code.
 *
 * @param toolVersion ModelSeal's version, recorded in the BOM's `metadata.tools`
 * @throws UsageError for bad usage or inputs (the CLI maps it to exit code 2)
 */
export async function attestCommand(argv: readonly string[], io: AttestCommandIo, toolVersion: string): Promise<number> {
  const what = argv[0];
  if (what === undefined || what === '--help' || what === '-h') {
    io.stdout.write(`Usage: modelseal attest sbom ${SIGNER_KINDS.join('|')} MODEL_PATH --model-card FILE [options]\n` +
      `       modelseal attest provenance ${SIGNER_KINDS.join('|')} --digest sha256:ROOT --name NAME (--build-facts FILE | --builder-image IMAGE --build-id ID) [options]\n\n` +
      'Run \'modelseal attest <sbom|provenance> <method> --help\' for the options of a method.\n');
    return what === undefined ? 2 : 0;
  }
  if (what === 'provenance') {
    return provenanceCommand(argv.slice(1), io, toolVersion);
  }
  if (what !== 'sbom') {
    throw new UsageError(`attest: unknown attestation "${what}"; expected sbom or provenance`);
  }
  return sbomCommand(argv.slice(1), io, toolVersion);
}

async function sbomCommand(argv: readonly string[], io: AttestCommandIo, toolVersion: string): Promise<number> {
  const kind = argv[0];
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(`Usage: modelseal attest sbom ${SIGNER_KINDS.join('|')} MODEL_PATH --model-card FILE [options]\n\n` +
      'Run \'modelseal attest sbom <method> --help\' for the options of a method.\n');
    return kind === undefined ? 2 : 0;
  }
  if (!(SIGNER_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`attest sbom: unknown signing method "${kind}"; expected one of ${SIGNER_KINDS.join(', ')}`);
  }
  const command = `attest sbom ${kind}`;
  const specs = { ...SBOM_FLAGS, ...SIGNER_KEY_FLAGS[kind as SignerKind], ...HASH_ALGORITHM_FLAGS, ...HASH_FLAGS };
  const args = parseArgs(argv.slice(1), specs, command);
  const f = args.flags;
  if (f.help) {
    io.stdout.write(`Usage: modelseal ${command} MODEL_PATH --model-card FILE [options]\n\n` +
      'Build the model\'s CycloneDX 1.6 AI SBOM from its model card, validate it against the CycloneDX 1.6 schema,\n' +
      `and sign it as an in-toto attestation (predicateType ${CYCLONEDX_PREDICATE_TYPE}) over the model's root digest.\n\n` +
      `Options:\n${formatFlags(specs)}\n`);
    return 0;
  }
  if (args.positionals.length !== 1) {
    throw new UsageError(`${command} needs exactly one MODEL_PATH; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  const modelPath = args.positionals[0];
  const cardFile = f['model-card'] as string | undefined;
  if (!cardFile) {
    throw new UsageError(`${command} needs --model-card FILE (see docs/SBOM.md for the format)`);
  }
  const signaturePath = (f.signature as string | undefined) ?? DEFAULT_SBOM_SIGNATURE;

  // Every input is read and checked before the signer is opened (an HSM session or a KMS call is not free).
  const card = await loadModelCard(cardFile);
  const frameworks = packages(f.framework, '--framework');
  const dependencies = packages(f.dependency, '--dependency');
  const image = f['serving-image'] === undefined ? undefined : parseImageReference(f['serving-image'] as string, '--serving-image');
  const scanSummary = f['scan-summary'] === undefined ? undefined : await loadScanSummary(f['scan-summary'] as string);
  const knownDigest = f.digest === undefined ? undefined : parseRootDigest(f.digest, '--digest');
  // the algorithm the model was signed with: the root digest depends on it
  const algorithm = hashAlgorithmFrom(args, io.stderr);

  const signer = await createSigner(kind as SignerKind, keyFlagsFrom(args, io));
  const hashing = knownDigest === undefined;
  const bar = progressBar(io.stderr, 'hashing', f.json === true || !hashing);
  let result;
  try {
    result = await attestModelSbom(modelPath, signer, {
      card,
      frameworks,
      dependencies,
      ...(image ? { servingImage: image } : {}),
      ...(scanSummary ? { scanSummary } : {}),
      toolVersion,
      ...(knownDigest === undefined ? {} : { rootDigest: knownDigest }),
      ignorePaths: (f['ignore-paths'] as string[] | undefined) ?? [],
      ignoreGitPaths: f['ignore-git-paths'] !== false,
      allowSymlinks: f['allow-symlinks'] === true,
      algorithm,
      signaturePath,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.done();
    await signer.close?.();
  }
  await writeOutput(signaturePath, result.bundleText, 'attestation');
  const bomOut = f['bom-out'] as string | undefined;
  if (bomOut) {
    await writeOutput(bomOut, JSON.stringify(result.bom, null, 2) + '\n', 'BOM');
  }
  const components = (result.bom.components as unknown[] | undefined)?.length ?? 0;
  if (f.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'attest sbom',
      method: kind,
      modelPath,
      signature: signaturePath,
      rootDigest: formatRootDigest(result.rootDigest),
      subjectName: result.subjectName,
      predicateType: CYCLONEDX_PREDICATE_TYPE,
      serialNumber: result.bom.serialNumber,
      components,
      keyHint: result.keyHint,
      ...(bomOut ? { bom: bomOut } : {}),
    }) + '\n');
  } else {
    io.stdout.write(`SBOM attestation written: ${signaturePath} (${formatRootDigest(result.rootDigest)}, CycloneDX ${result.bom.specVersion}, ${components} components)\n`);
  }
  return 0;
}

function packages(value: unknown, flag: string): PackageRef[] {
  return ((value as string[] | undefined) ?? []).map((spec) => parsePackageSpec(spec, flag));
}

async function writeOutput(file: string, text: string, what: string): Promise<void> {
  try {
    await fs.writeFile(file, text);
  } catch (e) {
    throw new UsageError(`cannot write ${what} ${file}: ${(e as Error).message}`);
  }
}
