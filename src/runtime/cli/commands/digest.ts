/**
 * `modelseal digest MODEL_PATH`: hash a model and print its OMS root digest.
 *
 * It imports only the hashing engine and the CLI's argument helpers, so that the `digest` entry of the bundle
 * (cli/digest-bin.ts, assets/modelseal-digest.js) starts without compiling the rest of the CLI (docs/BENCHMARKS.md
 * "BLAKE3").
 */
import { formatRootDigest } from '../../codec/digest';
import { hashModel, rootDigest } from '../../engine/hashing';
import { FlagSpec, onePositional, parseArgs, printHelp } from '../args';
import { HASH_ALGORITHM_FLAGS, HASH_FLAGS, hashAlgorithmFrom, hashOptionsFrom } from '../flags';
import { progressBar } from '../progress';
import type { CliIo } from '../report';

/** The flags of `digest`. */
export const DIGEST_FLAGS: Record<string, FlagSpec> = { ...HASH_ALGORITHM_FLAGS, ...HASH_FLAGS };

/** `modelseal digest MODEL_PATH [--hash-algorithm ALG] [options]`; returns the exit code (0). */
export async function digestCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, DIGEST_FLAGS, 'digest');
  if (args.flags.help) {
    return printHelp(io.stdout, 'digest MODEL_PATH [options]',
      'Hash a model and print its OMS root digest (SHA-256 over the resource digests, whatever --hash-algorithm).', DIGEST_FLAGS);
  }
  const modelPath = onePositional(args, 'digest', 'MODEL_PATH');
  const algorithm = hashAlgorithmFrom(args, io.stderr);
  const bar = progressBar(io.stderr, 'hashing', args.flags.json === true);
  let manifest;
  try {
    manifest = await hashModel(modelPath, { ...hashOptionsFrom(args), algorithm, onProgress: bar.onProgress });
  } finally {
    bar.done();
  }
  const root = rootDigest(manifest.resources);
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true, command: 'digest', modelPath, rootDigest: formatRootDigest(root), resources: manifest.resources, serialization: manifest.serialization,
    }) + '\n');
  } else {
    io.stdout.write(`${formatRootDigest(root)}\n`);
  }
  return 0;
}
