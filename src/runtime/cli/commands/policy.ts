/**
 * `modelseal policy validate`, `modelseal check`, `modelseal revoke`, and co-signing (`sign <method> --from-bundle`).
 *
 * Exit codes: `check` 0 when the policy is met, 1 when it is not (the report says why), 2 bad usage or a store that
 * cannot be read; `policy validate` 0 valid, 1 invalid; `revoke` and co-signing 0 done, 1 the original bundle does
 * not verify, 2 bad usage.
 */
import { X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SignerClient } from '@aws-sdk/client-signer';
import { formatRootDigest } from '../../codec/digest';
import { UsageError } from '../../codec/errors';
import { readBundleFile } from '../../engine/bundle';
import { readCertificateFile } from '../../engine/certificates';
import { cosignBundle } from '../../engine/cosign';
import { loadPublicKey } from '../../engine/keys';
import type { VerificationTrust } from '../../engine/verify';
import { checkStore, CheckReport } from '../../policy/check';
import { verifyModelAgainstPolicy } from '../../policy/decision';
import { loadTrustPolicy, PolicyError, TrustPolicy, validateTrustPolicyFile } from '../../policy/load';
import { publishRevocation, signRevocation } from '../../policy/revocation';
import { DEFAULT_MAX_ATTESTATION_OBJECT_BYTES } from '../../store/attestation-set';
import { openStore, OpenStoreOptions, STORE_ENV, STORE_KEY_ARN_ENV } from '../../store/open';
import type { ObjectStore } from '../../store/types';
import { FlagSpec, onePositional, parseArgs, ParsedArgs, printHelp } from '../args';
import { keyFlagsFrom, PASSWORD_FLAGS, TIMESTAMP_FLAGS } from '../flags';
import type { PasswordInput } from '../password';
import { progressBar } from '../progress';
import type { ProgressStream } from '../progress';
import { createSigner, KeyFlags, SignerKind } from '../signers';

/** Where a command writes (the CLI's `CliIo`). */
export interface PolicyCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Where a key password is asked for, when it is a terminal. @default - no prompt */
  readonly stdin?: PasswordInput;
}

/** What the policy commands depend on, injectable for tests. */
export interface PolicyCommandDeps {
  /** Opens the store named by `--store`. @default openStore */
  readonly openStore?: (uri: string, opts: OpenStoreOptions) => ObjectStore;
  /** KMS client for `kmsKeyArn` policy keys. @default - a new client per key */
  readonly kmsClient?: KMSClient;
  /** AWS Signer client for Notation revocation checks. @default - a new client per profile */
  readonly signerClient?: SignerClient;
  /** Environment for `MODELSEAL_STORE`. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Clock for revocation records and Notation checks. @default - the current time */
  readonly now?: () => Date;
}


const STORE_FLAGS: Record<string, FlagSpec> = {
  'store': { type: 'string', metavar: 'URI', help: `The store: file://PATH, a directory, or s3://bucket/prefix (default: $${STORE_ENV}).` },
  'store-key-arn': { type: 'string', metavar: 'ARN', help: `KMS key ARN of an S3 store (default: $${STORE_KEY_ARN_ENV}).` },
  'region': { type: 'string', metavar: 'REGION', help: 'AWS region of the store and of KMS keys (default: from ARNs or the environment).' },
};

const VALIDATE_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', help: 'Print {"valid", "errors": [{"path", "message"}]} as JSON.' },
  help: { type: 'boolean', help: 'Show this help.' },
};

const CHECK_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAGS,
  'policy': { type: 'string', metavar: 'FILE', help: 'The trust policy (YAML or JSON; required).' },
  'max-object-bytes': { type: 'string', metavar: 'N', help: `Largest store object read; larger ones are refused from the listing, never fetched (default: ${DEFAULT_MAX_ATTESTATION_OBJECT_BYTES}).` },
  'json': { type: 'boolean', help: 'Print the full decision report as JSON.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const VERIFY_POLICY_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAGS,
  policy: { type: 'string', metavar: 'FILE', help: 'The trust policy (YAML or JSON; required).' },
  digest: { type: 'string', metavar: 'sha256:ROOT', help: 'The root digest to look up (default: computed from MODEL_PATH with sign\'s default options).' },
  json: { type: 'boolean', help: 'Print the decision and the file comparison as JSON.' },
  help: { type: 'boolean', help: 'Show this help.' },
};

const REVOKE_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAGS,
  'reason': { type: 'string', metavar: 'TEXT', help: 'Why the digest is revoked (required; shown in every denial).' },
  'revoker': { type: 'string', metavar: 'NAME', help: 'A name for yourself in the record (informational; the signature identifies you).' },
  'private-key': { type: 'string', metavar: 'PEM', help: 'Sign with this EC private key (PEM).' },
  ...PASSWORD_FLAGS,
  'signing-certificate': { type: 'string', metavar: 'PEM', help: 'With --private-key: sign as this certificate (certificate identity).' },
  'certificate-chain': { type: 'string', multiple: true, metavar: 'PEM', help: 'Intermediate certificates to include after the leaf.' },
  'pkcs11-uri': { type: 'string', metavar: 'URI', help: 'Sign with this PKCS #11 key (RFC 7512 URI).' },
  'kms-key': { type: 'string', metavar: 'ARN', help: 'Sign with this AWS KMS key.' },
  ...TIMESTAMP_FLAGS,
  'signature': { type: 'string', metavar: 'OUT', help: 'Also write the signed record to this file.' },
  'json': { type: 'boolean', help: 'Print a machine-readable JSON result on stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/** `modelseal policy validate FILE`: prints every problem with its JSON path; exit 0 valid, 1 invalid. */
export async function policyCommand(argv: readonly string[], io: PolicyCommandIo): Promise<number> {
  const sub = argv[0];
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write('Usage: modelseal policy validate FILE [--json]\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'validate') {
    throw new UsageError(`policy: unknown subcommand "${sub}"; expected validate`);
  }
  const args = parseArgs(argv.slice(1), VALIDATE_FLAGS, 'policy validate');
  if (args.flags.help) {
    return printHelp(io.stdout, 'policy validate FILE [--json]',
      'Validate a trust policy: the JSON Schema (unknown fields are errors), signer names, requirements, CEL conditions\nand every key file.', VALIDATE_FLAGS);
  }
  const file = onePositional(args, 'policy validate', 'FILE');
  const errors = await validateTrustPolicyFile(file);
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({ ok: errors.length === 0, command: 'policy validate', file, valid: errors.length === 0, errors }) + '\n');
  } else if (errors.length === 0) {
    io.stdout.write(`${file}: valid trust policy\n`);
  } else {
    io.stderr.write(`${file}: ${errors.length} error(s):\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}\n`);
  }
  return errors.length === 0 ? 0 : 1;
}

/** `modelseal check --store URI --policy FILE sha256:ROOT`: exit 0 when the policy is met, 1 when not. */
export async function checkCommand(argv: readonly string[], io: PolicyCommandIo, deps: PolicyCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, CHECK_FLAGS, 'check');
  if (args.flags.help) {
    return printHelp(io.stdout, 'check --store URI --policy FILE sha256:ROOT [--json]',
      'Check everything the store holds for a root digest against a trust policy: signatures, required signers,\n'
      + 'required attestations and their CEL conditions, and revocations. Fails closed.', CHECK_FLAGS);
  }
  const root = onePositional(args, 'check', 'sha256:ROOT');
  const policyFile = policyFileFrom(args, 'check');
  const policy = await loadPolicyFile(policyFile);
  const store = storeFrom(args, deps);
  const maxObjectBytes = args.flags['max-object-bytes'] as string | undefined;
  if (maxObjectBytes !== undefined && !/^[1-9][0-9]{0,9}$/.test(maxObjectBytes)) {
    throw new UsageError(`--max-object-bytes ${JSON.stringify(maxObjectBytes)} is not a positive whole number of bytes`);
  }
  const report = await checkStore(policy, store, root, {
    ...(maxObjectBytes !== undefined ? { fetch: { maxObjectBytes: Number(maxObjectBytes) } } : {}),
    ...(deps.kmsClient ? { kmsClient: deps.kmsClient } : {}),
    ...(deps.signerClient ? { signerClient: deps.signerClient } : {}),
    ...(deps.now ? { now: deps.now() } : {}),
  });
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({ ok: report.decision === 'allow', command: 'check', ...report, root: formatRootDigest(report.root) }) + '\n');
  } else {
    io.stdout.write(formatReport(report));
  }
  return report.decision === 'allow' ? 0 : 1;
}

/**
 * `modelseal verify policy MODEL_PATH --store URI --policy FILE [--digest sha256:ROOT]`: the decision `check` makes
 * for the model's root digest, then the files on disk against exactly the manifest that met the policy. Exit 0 when
 * both hold, 1 when the policy is not met or any file differs (every difference listed), 2 for bad usage.
 */
export async function verifyPolicyCommand(argv: readonly string[], io: PolicyCommandIo, deps: PolicyCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, VERIFY_POLICY_FLAGS, 'verify policy');
  if (args.flags.help) {
    return printHelp(io.stdout, 'verify policy MODEL_PATH --store URI --policy FILE [--digest sha256:ROOT] [--json]',
      'Decide for the model\'s root digest exactly as `check` does, then verify the files on disk against the manifest\n'
      + 'that met the policy: changed, missing and unsigned files all fail (exit 1). The root digest is computed with\n'
      + 'sign\'s default options (sha256 over files); a model signed with other options needs --digest.', VERIFY_POLICY_FLAGS);
  }
  const modelPath = onePositional(args, 'verify policy', 'MODEL_PATH');
  const policy = await policyFrom(args, 'verify policy');
  const store = storeFrom(args, deps);
  const bar = progressBar(io.stderr, 'verifying', args.flags.json === true);
  let result;
  try {
    result = await verifyModelAgainstPolicy(modelPath, policy, store, {
      ...(args.flags.digest !== undefined ? { digest: args.flags.digest as string } : {}),
      ...(deps.kmsClient ? { kmsClient: deps.kmsClient } : {}),
      ...(deps.signerClient ? { signerClient: deps.signerClient } : {}),
      ...(deps.now ? { now: deps.now() } : {}),
      onProgress: bar.onProgress,
    });
  } finally {
    bar.done();
  }
  const { report } = result;
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: result.ok,
      command: 'verify policy',
      modelPath,
      rootDigest: formatRootDigest(result.root),
      rootFrom: result.rootFrom,
      decision: report.decision,
      manifest: report.manifest ?? null,
      resources: result.resources ?? null,
      files: result.differences ?? null,
      failure: result.failure ?? null,
      check: { ...report, root: formatRootDigest(report.root) },
    }) + '\n');
  } else if (result.ok) {
    io.stdout.write(`Verification succeeded: ${modelPath} (${formatRootDigest(result.root)}, ${result.resources} files match manifest ${report.manifest}, policy ${report.policy})\n`);
  } else {
    if (report.decision !== 'allow') {
      io.stdout.write(formatReport(report));
    }
    io.stderr.write(`Verification failed: ${result.failure}\n`);
  }
  return result.ok ? 0 : 1;
}

/** `modelseal revoke --store URI --reason TEXT <signer options> sha256:ROOT`: signs and publishes a revocation record. */
export async function revokeCommand(argv: readonly string[], io: PolicyCommandIo, deps: PolicyCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, REVOKE_FLAGS, 'revoke');
  if (args.flags.help) {
    return printHelp(io.stdout, 'revoke --store URI --reason TEXT (--private-key PEM [--signing-certificate PEM] | --pkcs11-uri URI | --kms-key ARN) sha256:ROOT',
      'Sign a revocation record for a root digest and publish it (append-only). A trust policy honours it only when\n'
      + 'the signer is listed under `revokers`.', REVOKE_FLAGS);
  }
  const root = onePositional(args, 'revoke', 'sha256:ROOT');
  const reason = args.flags.reason as string | undefined;
  if (reason === undefined) {
    throw new UsageError('revoke needs --reason TEXT: it is shown in every denial of this digest');
  }
  const flags = keyFlagsFrom(args, io);
  const kind = signerKindFromFlags(flags);
  const store = storeFrom(args, deps);
  const signer = await createSigner(kind, flags);
  let signed;
  try {
    signed = await signRevocation(root, signer, {
      reason,
      ...(deps.now ? { revokedAt: deps.now() } : {}),
      ...(args.flags.revoker !== undefined ? { revoker: args.flags.revoker as string } : {}),
    });
  } finally {
    await signer.close?.();
  }
  if (args.flags.signature) {
    await writeFile(args.flags.signature as string, signed.bundleText);
  }
  const outcome = await publishRevocation(store, signed);
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'revoke',
      store: store.uri,
      root: formatRootDigest(signed.root),
      key: signed.key,
      outcome,
      keyHint: signed.keyHint,
      revokedAt: signed.predicate.revokedAt,
      reason: signed.predicate.reason,
    }) + '\n');
  } else {
    io.stdout.write(`Revoked ${formatRootDigest(signed.root)}: ${store.uri} ${signed.key} (${outcome})\n`);
  }
  return 0;
}

/**
 * `modelseal sign <method> --from-bundle FILE --signature OUT`: verifies FILE's signature, then signs the very same
 * statement bytes with the co-signer's key. main.ts calls this when `--from-bundle` is given.
 */
export async function cosignCommand(kind: SignerKind, args: ParsedArgs, io: PolicyCommandIo): Promise<number> {
  const original = args.flags['from-bundle'] as string;
  if (args.positionals.length > 0) {
    throw new UsageError(`sign ${kind} --from-bundle takes no MODEL_PATH (the bundle's statement is co-signed); got ${args.positionals.join(' ')}`);
  }
  const out = args.flags.signature as string | undefined;
  if (!out) {
    throw new UsageError(`sign ${kind} --from-bundle needs --signature OUT for the co-signature`);
  }
  const verifyKey = args.flags['verify-key'] as string | undefined;
  const anchorsFiles = (args.flags['verify-certificate-chain'] as string[] | undefined) ?? [];
  if (verifyKey && anchorsFiles.length > 0) {
    throw new UsageError('pass either --verify-key or --verify-certificate-chain, not both');
  }
  let trust: VerificationTrust | undefined;
  if (verifyKey) {
    trust = { publicKey: loadPublicKey(await readFile(verifyKey, 'public key'), verifyKey) };
  } else if (anchorsFiles.length > 0) {
    const anchors: X509Certificate[] = [];
    for (const f of anchorsFiles) {
      anchors.push(...await readCertificateFile(f));
    }
    trust = { trustAnchors: anchors };
  }
  const data = await readBundleFile(original);
  const signer = await createSigner(kind, keyFlagsFrom(args, io));
  let result;
  try {
    result = await cosignBundle(data, signer, { ...(trust ? { trust } : {}), source: original, signaturePath: out });
  } finally {
    await signer.close?.();
  }
  const root = result.original.subjectDigests[0];
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'sign',
      method: kind,
      fromBundle: original,
      signature: out,
      rootDigest: formatRootDigest(root),
      predicateType: result.original.predicateType,
      keyHint: result.keyHint,
      originalKeyHint: result.original.keyHint,
      originalSignerTrusted: result.originalSignerTrusted,
      warnings: result.warnings,
    }) + '\n');
  } else {
    for (const w of result.warnings) {
      io.stderr.write(`warning: ${w}\n`);
    }
    io.stdout.write(`Co-signing succeeded: ${out} (${formatRootDigest(root)}, statement of ${original})\n`);
  }
  return 0;
}

/** The human-readable decision report. */
export function formatReport(r: CheckReport): string {
  const lines: string[] = [];
  lines.push(`${r.decision === 'allow' ? 'ALLOW' : 'DENY'} ${formatRootDigest(r.root)}${r.manifest ? ` manifest ${r.manifest}` : ''} (policy ${r.policy})`);
  for (const reason of r.reasons) {
    lines.push(`  denied: ${reason}`);
  }
  if (r.requirements.length) {
    lines.push('requirements:');
    for (const q of r.requirements) {
      const need = q.mode === 'allOf' ? `all of [${q.of.join(', ')}]` : `at least ${q.atLeast} of [${q.of.join(', ')}]`;
      lines.push(`  ${q.met ? 'met    ' : 'MISSING'} ${q.name}: ${need}; signed by ${q.signedBy.length ? q.signedBy.join(', ') : 'none'}${q.missing.length ? `; missing ${q.missing.join(', ')}` : ''}${q.manifest ? ` (manifest ${q.manifest})` : ''}`);
    }
  }
  if (r.manifests.length > 1) {
    lines.push('manifests:');
    for (const m of r.manifests) {
      lines.push(`  ${m.chosen ? 'chosen ' : m.meetsRequirement ? 'meets  ' : 'short  '} ${m.digest}: ${m.resources} resources, signed by ${m.signedBy.length ? m.signedBy.join(', ') : 'none'}`);
    }
  }
  for (const n of r.notes.filter((x) => x.startsWith('manifest '))) {
    lines.push(`note: ${n}`);
  }
  if (r.signatures.length) {
    lines.push('signatures:');
    for (const s of r.signatures) {
      lines.push(`  ${s.counted ? 'counted' : s.verified ? 'ignored' : 'REJECTED'} ${s.kind} ${s.key}: ${s.reason}`);
    }
  }
  if (r.attestations.length) {
    lines.push('conditions:');
    for (const a of r.attestations) {
      for (const c of a.conditions) {
        lines.push(`  ${c.passed ? 'passed' : 'FAILED'} ${a.predicateType} by ${a.signer}: ${c.name}${c.passed ? '' : `: ${c.message}`}`);
      }
    }
  }
  if (r.revocations.length) {
    lines.push('revocations:');
    for (const v of r.revocations) {
      const who = v.by ?? (v.keyHint ? `key ${v.keyHint}` : 'unknown');
      const what = v.at ? ` at ${v.at}: ${v.reason}` : '';
      lines.push(`  ${v.status} ${who}${what}${v.ignoredBecause ? ` (ignored: ${v.ignoredBecause})` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The `--policy FILE` a command needs. */
function policyFileFrom(args: ParsedArgs, command: string): string {
  const file = args.flags.policy as string | undefined;
  if (!file) {
    throw new UsageError(`${command} needs --policy FILE (a trust policy; validate it with \`modelseal policy validate\`)`);
  }
  return file;
}

/**
 * Loads a trust policy for a command; an invalid policy is a usage error that says how to see every problem.
 */
export async function loadPolicyFile(file: string): Promise<TrustPolicy> {
  try {
    return await loadTrustPolicy(file);
  } catch (e) {
    if (e instanceof PolicyError) {
      throw new UsageError(`${e.message}\n(run \`modelseal policy validate ${file}\` for details)`);
    }
    throw e;
  }
}

async function policyFrom(args: ParsedArgs, command: string): Promise<TrustPolicy> {
  return loadPolicyFile(policyFileFrom(args, command));
}

/** Which signer a revoke uses, from the flags given (as `sign` would with an explicit method). */
function signerKindFromFlags(f: KeyFlags): SignerKind {
  const given = [f.privateKey && '--private-key', f.pkcs11Uri && '--pkcs11-uri', f.kmsKey && '--kms-key'].filter(Boolean);
  if (given.length !== 1) {
    throw new UsageError(`revoke needs exactly one signing key: --private-key PEM, --pkcs11-uri URI or --kms-key ARN; got ${given.length ? given.join(', ') : 'none'}`);
  }
  if (f.privateKey) {
    return f.signingCertificate ? 'certificate' : 'key';
  }
  return f.pkcs11Uri ? 'pkcs11-key' : 'kms';
}

function storeFrom(args: ParsedArgs, deps: PolicyCommandDeps): ObjectStore {
  const env = deps.env ?? process.env;
  const uri = (args.flags.store as string | undefined) ?? env[STORE_ENV];
  if (!uri) {
    throw new UsageError(`no store given; pass --store URI (file://PATH, a directory, or s3://bucket/prefix) or set ${STORE_ENV}`);
  }
  return (deps.openStore ?? openStore)(uri, {
    env,
    ...(args.flags['store-key-arn'] !== undefined ? { storeKeyArn: args.flags['store-key-arn'] as string } : {}),
    ...(args.flags.region !== undefined ? { region: args.flags.region as string } : {}),
  });
}


async function readFile(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

async function writeFile(file: string, text: string): Promise<void> {
  try {
    await fs.writeFile(file, text);
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
