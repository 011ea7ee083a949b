/**
 * `modelseal publish`, `modelseal fetch` and `modelseal ref set|get`: the attestation store commands.
 *
 * Exit codes: 0 success (a republish of identical bytes is a success, 'unchanged'); 1 the store refused or does
 * not have it (a write-once conflict, a missing ref, an empty or tampered attestation set); 2 bad usage, an
 * unreadable or unrecognised file, or a store that cannot be reached or denies access.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { formatRootDigest, parseRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import type { checkStore } from '../../policy/check';
import { fetchAttestationSet } from '../../store/attestation-set';
import { isStoreError, StoreConflictError, StoreNotFoundError } from '../../store/errors';
import { deriveKey, DerivedKey, MAX_OBJECT_BYTES, parseRefBody, refBody, refKey } from '../../store/keys';
import { LocalStore } from '../../store/local';
import { openStore, OpenStoreOptions, STORE_ENV, STORE_KEY_ARN_ENV } from '../../store/open';
import type { ObjectStore, PutOutcome } from '../../store/types';
import { FlagSpec, parseArgs, ParsedArgs, printHelp } from '../args';
import type { ProgressStream } from '../progress';

/** Where a command writes (the CLI's `CliIo`). */
export interface StoreCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

/** What the store commands depend on, injectable for tests. */
export interface StoreCommandDeps {
  /**
   * Opens the store named by `--store`.
   *
   * @default openStore
   */
  readonly openStore?: (uri: string, opts: OpenStoreOptions) => ObjectStore;
  /**
   * Environment for `MODELSEAL_STORE` and `MODELSEAL_STORE_KMS_KEY_ARN`.
   *
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The decision `ref get --policy` makes (tests inject one with a KMS mock).
   *
   * @default checkStore
   */
  readonly checkStore?: typeof checkStore;
}


const STORE_FLAGS: Record<string, FlagSpec> = {
  'store': { type: 'string', metavar: 'URI', help: `The store: file://PATH, a directory, or s3://bucket/prefix (default: $${STORE_ENV}).` },
  'store-key-arn': { type: 'string', metavar: 'ARN', help: `KMS key ARN of an S3 store (default: $${STORE_KEY_ARN_ENV}, else the bucket's default key).` },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region of an S3 store (default: from the environment).' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const REF_GET_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAGS,
  policy: { type: 'string', metavar: 'FILE', help: 'Also check the digest against this trust policy: print it only when the policy is met (exit 1 when not).' },
};

const FETCH_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAGS,
  out: { type: 'string', metavar: 'DIR', help: 'Directory to write the objects to, under their store keys (required).' },
};

const EXIT_CODES = 'Exit codes: 0 success (identical bytes already stored count as success), 1 refused or not found\n'
  + '(write-once conflict, missing ref, empty or tampered set), 2 bad usage, unreadable input, or store access denied/unavailable.';

/**
 * `modelseal publish --store URI FILE...`: derives each file's key from its content and writes it once.
 *
 * Every file is read and its key derived before anything is written, so an unrecognised file publishes nothing.
 */
export async function publishCommand(argv: readonly string[], io: StoreCommandIo, deps: StoreCommandDeps = {}): Promise<number> {
  return guarded('publish', argv, io, async () => {
    const args = parseArgs(argv, STORE_FLAGS, 'publish');
    if (args.flags.help) {
      return printHelp(io.stdout, 'publish --store URI FILE... [options]',
        'Publish OMS bundles, attestations (SBOM, provenance, ...), revocations and Notation JWS signatures. The key is\n'
        + 'derived from each file\'s content; identical bytes already stored are a successful no-op.', STORE_FLAGS, EXIT_CODES);
    }
    if (args.positionals.length === 0) {
      throw new UsageError('publish needs at least one FILE (a Sigstore bundle or a Notation JWS)');
    }
    const store = open(args, deps);
    const items: { file: string; body: Buffer; derived: DerivedKey }[] = [];
    for (const file of args.positionals) {
      const body = await readObjectFile(file);
      items.push({ file, body, derived: deriveKey(body, file) });
    }
    const results: { file: string; key: string; kind: string; root: string; outcome: PutOutcome }[] = [];
    for (const { file, body, derived } of items) {
      const outcome = await store.put(derived.key, body);
      results.push({ file, key: derived.key, kind: derived.kind, root: formatRootDigest(derived.root), outcome });
      if (!args.flags.json) {
        io.stdout.write(`${outcome.padEnd(9)} ${derived.key} (${file})\n`);
      }
    }
    if (args.flags.json) {
      io.stdout.write(JSON.stringify({ ok: true, command: 'publish', store: store.uri, objects: results }) + '\n');
    }
    return 0;
  });
}

/**
 * `modelseal fetch --store URI --out DIR sha256:ROOT`: writes the attestation set of a root digest under DIR.
 *
 * Every object is checked (checksum, content address, derived key) before anything is written; DIR is itself
 * written like a local store (atomic, never overwriting different bytes).
 */
export async function fetchCommand(argv: readonly string[], io: StoreCommandIo, deps: StoreCommandDeps = {}): Promise<number> {
  return guarded('fetch', argv, io, async () => {
    const args = parseArgs(argv, FETCH_FLAGS, 'fetch');
    if (args.flags.help) {
      return printHelp(io.stdout, 'fetch --store URI --out DIR sha256:ROOT [options]',
        'Download the bundles, attestations, Notation signatures and revocations stored for a root digest,\n'
        + 'checking each object\'s hash, into DIR under the same relative keys.', FETCH_FLAGS, EXIT_CODES);
    }
    if (args.positionals.length !== 1) {
      throw new UsageError(`fetch needs exactly one sha256:ROOT; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
    }
    const root = parseRootDigest(args.positionals[0], 'fetch: digest');
    const out = args.flags.out as string | undefined;
    if (!out) {
      throw new UsageError('fetch needs --out DIR');
    }
    const store = open(args, deps);
    const set = await fetchAttestationSet(store, root);
    // Objects that fail a check are reported, not copied, and do not stop the rest: one junk object must not make
    // the evidence of a digest impossible to download.
    const rejected = set.rejected ?? [];
    for (const r of rejected) {
      io.stderr.write(`rejected  ${r.key}: ${r.reason}\n`);
    }
    const objects = [...set.bundles, ...set.attestations, ...set.notation, ...set.revocations];
    if (objects.length === 0) {
      throw new StoreNotFoundError(formatRootDigest(root),
        `${store.uri} holds no usable bundles, attestations, Notation signatures or revocations for ${formatRootDigest(root)}${rejected.length ? ` (${rejected.length} object(s) rejected)` : ''}`);
    }
    const target = new LocalStore(out);
    const written: { key: string; outcome: PutOutcome }[] = [];
    for (const obj of objects) {
      const outcome = await target.put(obj.key, obj.body);
      written.push({ key: obj.key, outcome });
      if (!args.flags.json) {
        io.stdout.write(`${outcome.padEnd(9)} ${obj.key}\n`);
      }
    }
    if (args.flags.json) {
      io.stdout.write(JSON.stringify({
        ok: true,
        command: 'fetch',
        store: store.uri,
        rootDigest: formatRootDigest(root),
        out: path.resolve(out),
        counts: {
          bundles: set.bundles.length,
          attestations: set.attestations.length,
          notation: set.notation.length,
          revocations: set.revocations.length,
        },
        objects: written,
        rejected: rejected.map((r) => ({ key: r.key, reason: r.reason })),
      }) + '\n');
    }
    return 0;
  });
}

/** `modelseal ref set|get`: write-once name/version → root digest references. */
export async function refCommand(argv: readonly string[], io: StoreCommandIo, deps: StoreCommandDeps = {}): Promise<number> {
  const sub = argv[0];
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write('Usage: modelseal ref set --store URI NAME VERSION sha256:ROOT\n       modelseal ref get --store URI NAME VERSION\n\n'
      + 'Run \'modelseal ref <set|get> --help\' for the options.\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'set') {
    return guarded('ref set', argv.slice(1), io, async () => {
      const args = parseArgs(argv.slice(1), STORE_FLAGS, 'ref set');
      if (args.flags.help) {
        return printHelp(io.stdout, 'ref set --store URI NAME VERSION sha256:ROOT [options]',
          'Record that NAME VERSION is the model with this root digest. Write-once: setting the same digest again\n'
          + 'succeeds, a different digest is refused (exit 1); publish a new version instead.', STORE_FLAGS, EXIT_CODES);
      }
      if (args.positionals.length !== 3) {
        throw new UsageError(`ref set needs NAME VERSION sha256:ROOT; got ${args.positionals.length ? args.positionals.join(' ') : 'nothing'}`);
      }
      const [name, version, digest] = args.positionals;
      const key = refKey(name, version);
      const root = parseRootDigest(digest, 'ref set: digest');
      const store = open(args, deps);
      let outcome;
      try {
        outcome = await store.put(key, refBody(root));
      } catch (e) {
        if (e instanceof StoreConflictError && e.existing !== undefined) {
          let existing: string;
          try {
            existing = formatRootDigest(parseRefBody(e.existing, key));
          } catch {
            existing = `something that is not a digest (${JSON.stringify(e.existing.toString('utf8').slice(0, 80))})`;
          }
          throw new StoreConflictError(key,
            `ref ${name} ${version} already points to ${existing} in ${store.uri}; refusing to point it to ${formatRootDigest(root)} `
            + '(refs are write-once: publish a new version instead)', e.existing);
        }
        throw e;
      }
      if (args.flags.json) {
        io.stdout.write(JSON.stringify({ ok: true, command: 'ref set', store: store.uri, name, version, key, digest: formatRootDigest(root), outcome }) + '\n');
      } else {
        io.stdout.write(`${outcome.padEnd(9)} ${key} -> ${formatRootDigest(root)}\n`);
      }
      return 0;
    });
  }
  if (sub === 'get') {
    return guarded('ref get', argv.slice(1), io, async () => {
      const args = parseArgs(argv.slice(1), REF_GET_FLAGS, 'ref get');
      if (args.flags.help) {
        return printHelp(io.stdout, 'ref get --store URI NAME VERSION [--policy FILE] [options]',
          'Print the root digest (sha256:ROOT) that NAME VERSION refers to; exit 1 when there is no such ref.\n'
          + 'With --policy, the digest is checked as `check` does and printed only when it meets the policy; otherwise\n'
          + 'the decision goes to stderr and the exit code is 1: whoever can set a ref cannot make it trusted.', REF_GET_FLAGS, EXIT_CODES);
      }
      if (args.positionals.length !== 2) {
        throw new UsageError(`ref get needs NAME VERSION; got ${args.positionals.length ? args.positionals.join(' ') : 'nothing'}`);
      }
      const [name, version] = args.positionals;
      const key = refKey(name, version);
      const store = open(args, deps);
      const body = await store.tryGet(key);
      if (body === undefined) {
        throw new StoreNotFoundError(key, `no ref ${name} ${version} in ${store.uri} (${key} does not exist)`);
      }
      const root = parseRefBody(body, key);
      const policyFile = args.flags.policy as string | undefined;
      if (policyFile === undefined) {
        if (args.flags.json) {
          io.stdout.write(JSON.stringify({ ok: true, command: 'ref get', store: store.uri, name, version, key, digest: formatRootDigest(root) }) + '\n');
        } else {
          io.stdout.write(`${formatRootDigest(root)}\n`);
        }
        return 0;
      }
      // Loaded on use, like the policy commands: the other store commands need neither CEL nor the KMS and Signer clients.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const policyCommands = require('./policy') as typeof import('./policy');
      const check = deps.checkStore ?? (require('../../policy/check') as typeof import('../../policy/check')).checkStore;
      /* eslint-enable @typescript-eslint/no-require-imports */
      const policy = await policyCommands.loadPolicyFile(policyFile);
      const report = await check(policy, store, root);
      const allowed = report.decision === 'allow';
      if (args.flags.json) {
        io.stdout.write(JSON.stringify({
          ok: allowed,
          command: 'ref get',
          store: store.uri,
          name,
          version,
          key,
          digest: formatRootDigest(root),
          decision: report.decision,
          manifest: report.manifest ?? null,
          policy: report.policy,
          reasons: report.reasons,
        }) + '\n');
      } else if (allowed) {
        io.stdout.write(`${formatRootDigest(root)}\n`);
        io.stderr.write(`ref ${name} ${version} -> ${formatRootDigest(root)}: meets ${report.policy} (manifest ${report.manifest ?? 'none: root-only signatures'})\n`);
      } else {
        io.stderr.write(`ref ${name} ${version} -> ${formatRootDigest(root)} is NOT trusted: it does not meet ${report.policy}\n`
          + `${report.reasons.map((r) => `  denied: ${r}`).join('\n')}\n`);
      }
      return allowed ? 0 : 1;
    });
  }
  return guarded('ref', argv, io, async () => {
    throw new UsageError(`ref: unknown subcommand "${sub}"; expected set or get`);
  });
}

/**
 * Runs a command body and reports store errors with their own kind (`conflict`, `not-found`, ...) and key.
 *
 * Other errors go back to the CLI's common reporting.
 */
async function guarded(command: string, argv: readonly string[], io: StoreCommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (!isStoreError(e)) {
      throw e;
    }
    if (argv.includes('--json')) {
      io.stdout.write(JSON.stringify({ ok: false, command, error: { kind: e.kind, key: e.key, message: e.message } }) + '\n');
    } else {
      io.stderr.write(`modelseal ${command}: ${e.message}\n`);
    }
    return e.exitCode;
  }
}

function open(args: ParsedArgs, deps: StoreCommandDeps): ObjectStore {
  const env = deps.env ?? process.env;
  const uri = (args.flags.store as string | undefined) ?? env[STORE_ENV];
  if (!uri) {
    throw new UsageError(`no store given; pass --store URI (file://PATH, a directory, or s3://bucket/prefix) or set ${STORE_ENV}`);
  }
  const opts: OpenStoreOptions = {
    env,
    ...(args.flags['store-key-arn'] ? { storeKeyArn: args.flags['store-key-arn'] as string } : {}),
    ...(args.flags.region ? { region: args.flags.region as string } : {}),
  };
  return (deps.openStore ?? openStore)(uri, opts);
}

async function readObjectFile(file: string): Promise<Buffer> {
  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) {
      throw new UsageError(`${file} is not a regular file`);
    }
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) {
      throw e;
    }
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (size > MAX_OBJECT_BYTES) {
    throw new UsageError(`${file} is ${size} bytes, over the ${MAX_OBJECT_BYTES}-byte limit for store objects`);
  }
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

