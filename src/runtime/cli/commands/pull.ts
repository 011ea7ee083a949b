/**
 * `modelseal pull SOURCE DEST --store URI --policy FILE --digest sha256:ROOT [--region R]`: the load-time step of the
 * admission contract (docs/ADMISSION.md, "Verify-on-pull"). Flags may come before or after the two positionals: a
 * KServe ClusterStorageContainer renders the flags first and KServe appends SOURCE and DEST.
 *
 * Exit codes: 0 the model is in DEST, verified; 1 verification failed, or the store or source could not be read
 * (DEST left empty); 2 bad usage (flags, a DEST that is not an empty folder, an invalid policy).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { formatRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import { pullModel } from '../../policy/pull';
import { openModelSource } from '../../store/model-source';
import { openStore, OpenStoreOptions, STORE_ENV } from '../../store/open';
import type { ObjectStore } from '../../store/types';
import { FlagSpec, parseArgs, printHelp } from '../args';
import { progressBar, ProgressStream } from '../progress';
import { loadPolicyFile } from './policy';

/** Where the command writes. */
export interface PullCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

/** What tests inject. */
export interface PullCommandDeps {
  /** Client for an `s3://` SOURCE. @default - a new client */
  readonly sourceS3Client?: S3Client;
  /** Opens the attestation store. @default openStore */
  readonly openStore?: (uri: string, opts: OpenStoreOptions) => ObjectStore;
  readonly kmsClient?: KMSClient;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bytes per ranged GET of an S3 SOURCE. @default 8 MiB */
  readonly partSize?: number;
}

const PULL_FLAGS: Record<string, FlagSpec> = {
  store: { type: 'string', metavar: 'URI', help: `The attestation store: s3://bucket[/prefix] or file:///path (default: $${STORE_ENV}).` },
  policy: { type: 'string', metavar: 'FILE', help: 'The trust policy (required).' },
  digest: { type: 'string', metavar: 'sha256:ROOT', help: 'The model\'s root digest, from the pod\'s modelseal.dev/model-digest annotation (required).' },
  region: { type: 'string', metavar: 'REGION', help: 'AWS region of the S3 buckets and KMS keys (default: AWS_REGION).' },
  concurrency: { type: 'string', metavar: 'N', help: 'Files downloaded at once (default: 4).' },
  json: { type: 'boolean', help: 'Print the result as JSON.' },
  help: { type: 'boolean', help: 'Show this help.' },
};

/** `modelseal pull SOURCE DEST ...`. */
export async function pullCommand(argv: readonly string[], io: PullCommandIo, deps: PullCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, PULL_FLAGS, 'pull');
  if (args.flags.help) {
    return printHelp(io.stdout, 'pull SOURCE DEST --store URI --policy FILE --digest sha256:ROOT [--region R]',
      'Check the digest against the trust policy, then download SOURCE (s3://bucket/prefix/ or a local folder) into DEST\n'
      + 'while hashing it, against the manifest that met the policy. Nothing appears under DEST unless every file\n'
      + 'matched; on any failure DEST is left empty (exit 1).', PULL_FLAGS);
  }
  if (args.positionals.length !== 2) {
    throw new UsageError(`pull needs SOURCE and DEST; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  const [source, dest] = args.positionals;
  const env = deps.env ?? process.env;
  const storeUri = (args.flags.store as string | undefined) ?? env[STORE_ENV];
  if (!storeUri) {
    throw new UsageError(`pull needs --store URI or ${STORE_ENV}`);
  }
  const policyFile = args.flags.policy as string | undefined;
  if (!policyFile) {
    throw new UsageError('pull needs --policy FILE (the trust policy)');
  }
  const digest = args.flags.digest as string | undefined;
  if (digest === undefined) {
    throw new UsageError('pull needs --digest sha256:ROOT (in a pod: --digest=$(MODELSEAL_DIGEST), from the modelseal.dev/model-digest annotation)');
  }
  const concurrency = args.flags.concurrency === undefined ? 4 : Number(args.flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency ${JSON.stringify(args.flags.concurrency)} must be a whole number from 1 to 64`);
  }
  const region = args.flags.region as string | undefined;
  const policy = await loadPolicyFile(policyFile);
  const store = (deps.openStore ?? openStore)(storeUri, { env, ...(region ? { region } : {}) });
  const modelSource = openModelSource(source, {
    ...(deps.sourceS3Client ? { s3Client: deps.sourceS3Client } : {}),
    ...(region ? { region } : {}),
    ...(deps.partSize ? { partSize: deps.partSize } : {}),
  });
  const bar = progressBar(io.stderr, 'pulling', args.flags.json === true);
  let result;
  try {
    result = await pullModel({
      source: modelSource,
      dest,
      store,
      policy,
      digest,
      concurrency,
      check: { ...(deps.kmsClient ? { kmsClient: deps.kmsClient } : {}) },
      onProgress: bar.onProgress,
    });
  } finally {
    bar.done();
  }
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'pull',
      source: modelSource.uri,
      dest,
      root: formatRootDigest(result.root),
      manifest: result.manifest,
      files: result.files,
      bytes: result.bytes,
      signers: result.signers,
    }) + '\n');
  } else {
    io.stdout.write(`Pulled and verified ${formatRootDigest(result.root)}: ${result.files} files, ${result.bytes} bytes into ${dest} (manifest ${result.manifest}, signed by ${result.signers.join(', ')})\n`);
  }
  return 0;
}
