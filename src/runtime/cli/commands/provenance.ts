/**
 * `modelseal attest provenance <signer> --digest sha256:ROOT ...`: sign the SLSA v1 provenance of a model build,
 * either from the build-facts document the seal step wrote (`--build-facts`, the hardened runner) or from flags
 * (`--builder-image`, `--build-id`, `--input-dir`: any other build).
 *
 * Exit codes: 0 written; 2 bad usage, an unreadable input, or a builder image not pinned by digest (unless
 * `--allow-unpinned-builder`).
 */
import { promises as fs } from 'fs';
import { formatRootDigest, parseRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import type { SignedStatement } from '../../engine/sign-statement';
import type { Signer } from '../../engine/signer';
import { readBuildFacts } from '../../provenance/build-facts';
import {
  attestProvenance, attestSealedProvenance, buildSealedProvenance, requirePinnedImage, SLSA_PROVENANCE_PREDICATE_TYPE,
} from '../../provenance/slsa';
import { FlagSpec, formatFlags, parseArgs } from '../args';
import { keyFlagsFrom, KeyFlagsIo, SIGNER_KEY_FLAGS } from '../flags';
import { ProgressStream } from '../progress';
import { createSigner, SIGNER_KINDS, SignerKind } from '../signers';

/** Where the attestation goes when `--signature` is not given. */
export const DEFAULT_PROVENANCE_SIGNATURE = 'model.provenance.sig';

const PROVENANCE_FLAGS: Record<string, FlagSpec> = {
  'digest': { type: 'string', metavar: 'sha256:ROOT', help: 'The model\'s OMS root digest (required; from sign --json).' },
  'name': { type: 'string', metavar: 'NAME', help: 'The model name (the statement subject name; required).' },
  'builder-image': { type: 'string', metavar: 'REPO@sha256:DIGEST', help: 'The image the build ran in (required).' },
  'build-id': { type: 'string', metavar: 'ID', help: 'The build\'s id, e.g. the CodeBuild build ARN (required).' },
  'source': { type: 'string', metavar: 'URI', help: 'Where the training inputs came from, e.g. s3://bucket/prefix/.' },
  'trigger-key': { type: 'string', metavar: 'KEY', help: 'The object key whose upload started the build.' },
  'input-dir': { type: 'string', metavar: 'DIR', help: 'The training inputs; each file is hashed into resolvedDependencies.' },
  'build-facts': { type: 'string', metavar: 'FILE', help: 'The build facts the seal step wrote (modelseal seal prepare); replaces --builder-image, --build-id, --source, --trigger-key and --input-dir.' },
  'builder-id': { type: 'string', metavar: 'ID', help: 'With --build-facts: the builder id (default: the seal build\'s project ARN from the facts).' },
  'allow-unpinned-builder': { type: 'boolean', help: 'Record a builder image that is not pinned by digest (with a warning) instead of refusing it (exit 2).' },
  'signature': { type: 'string', metavar: 'OUT', help: `Where to write the attestation bundle (default: ${DEFAULT_PROVENANCE_SIGNATURE}).` },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/**
 * Runs `modelseal attest provenance ...` with the arguments after `provenance`; returns the exit code.
 *
 * @throws UsageError for bad usage or inputs (the CLI maps it to exit code 2)
 */
export async function provenanceCommand(argv: readonly string[], io: KeyFlagsIo & { stdout: ProgressStream }, toolVersion?: string): Promise<number> {
  const kind = argv[0];
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(`Usage: modelseal attest provenance ${SIGNER_KINDS.join('|')} --digest sha256:ROOT --name NAME (--build-facts FILE | --builder-image IMAGE --build-id ID) [options]\n`);
    return kind === undefined ? 2 : 0;
  }
  if (!(SIGNER_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`attest provenance: unknown signing method "${kind}"; expected one of ${SIGNER_KINDS.join(', ')}`);
  }
  const command = `attest provenance ${kind}`;
  const specs = { ...PROVENANCE_FLAGS, ...SIGNER_KEY_FLAGS[kind as SignerKind] };
  const args = parseArgs(argv.slice(1), specs, command);
  const f = args.flags;
  if (f.help) {
    io.stdout.write(`Usage: modelseal ${command} --digest sha256:ROOT --name NAME (--build-facts FILE | --builder-image IMAGE --build-id ID) [options]\n\n` +
      `Sign the SLSA v1 provenance (predicateType ${SLSA_PROVENANCE_PREDICATE_TYPE}) of a model build.\n\nOptions:\n${formatFlags(specs)}\n`);
    return 0;
  }
  if (args.positionals.length > 0) {
    throw new UsageError(`${command} takes no positional arguments; got ${args.positionals.join(' ')}`);
  }
  const need = (flag: string): string => {
    const v = f[flag] as string | undefined;
    if (!v) throw new UsageError(`${command} needs --${flag}`);
    return v;
  };
  const rootDigest = parseRootDigest(need('digest'), '--digest');
  const subjectName = need('name');
  const allowUnpinnedBuilder = f['allow-unpinned-builder'] === true;
  const factsFile = f['build-facts'] as string | undefined;
  let attest: (signer: Signer) => Promise<SignedStatement & { statement: Record<string, unknown> }>;
  if (factsFile) {
    const clash = ['builder-image', 'build-id', 'source', 'trigger-key', 'input-dir'].filter((k) => f[k] !== undefined);
    if (clash.length > 0) {
      throw new UsageError(`${command}: --build-facts replaces ${clash.map((k) => `--${k}`).join(', ')}; give one or the other`);
    }
    const facts = await readBuildFacts(factsFile);
    const opts = { rootDigest, subjectName, facts, builderId: (f['builder-id'] as string | undefined) || undefined, toolVersion, allowUnpinnedBuilder };
    buildSealedProvenance(opts); // refuses bad input before the signer is opened
    attest = (signer) => attestSealedProvenance(signer, opts);
  } else {
    const opts = {
      rootDigest,
      subjectName,
      builderImage: need('builder-image'),
      buildId: need('build-id'),
      source: (f.source as string | undefined) || undefined,
      triggerKey: (f['trigger-key'] as string | undefined) || undefined,
      inputDir: (f['input-dir'] as string | undefined) || undefined,
      allowUnpinnedBuilder,
    };
    requirePinnedImage(opts.builderImage, allowUnpinnedBuilder);
    attest = (signer) => attestProvenance(signer, opts);
  }
  const signaturePath = (f.signature as string | undefined) ?? DEFAULT_PROVENANCE_SIGNATURE;
  const signer = await createSigner(kind as SignerKind, keyFlagsFrom(args, io));
  let result;
  try {
    result = await attest(signer);
  } finally {
    await signer.close?.();
  }
  try {
    await fs.writeFile(signaturePath, result.bundleText);
  } catch (e) {
    throw new UsageError(`cannot write attestation ${signaturePath}: ${(e as Error).message}`);
  }
  const predicate = result.statement.predicate as { buildDefinition: { resolvedDependencies: unknown[] } };
  const dependencies = predicate.buildDefinition.resolvedDependencies.length;
  if (f.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'attest provenance',
      method: kind,
      signature: signaturePath,
      rootDigest: formatRootDigest(rootDigest),
      predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
      resolvedDependencies: dependencies,
      keyHint: result.keyHint,
    }) + '\n');
  } else {
    io.stdout.write(`provenance attestation written: ${signaturePath} (${formatRootDigest(rootDigest)}, ${dependencies} resolved dependencies)\n`);
  }
  return 0;
}
