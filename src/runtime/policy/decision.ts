/**
 * From a decision to the bytes: the manifest a check chose, and `verify policy` (the load-time check), which ties
 * the decision to the model files on disk.
 *
 * `check` alone never looks at files: it says that the signers the policy demands agree on one manifest for a root
 * digest. Before a model is loaded, the files must match exactly that manifest: the root digest commits to the file
 * contents in order, only the manifest commits to their names and to the serialization options (ignore paths,
 * symlinks, shard size).
 */
import { CheckOptions, CheckReport, checkStoreWithSet } from './check';
import type { TrustPolicy } from './load';
import { formatRootDigest, parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { decodeStatement } from '../codec/statement';
import { parseBundle } from '../engine/bundle';
import { hashModel, rootDigest } from '../engine/hashing';
import { statementManifestDigest } from '../engine/manifest';
import { ParsedStatement, parseStatement } from '../engine/statement';
import { FileDifferences, ModelMismatchError, verifyModelFiles } from '../engine/verify';
import type { AttestationSet, ObjectStore } from '../store/types';

/**
 * The statement of the manifest a check chose (`report.manifest`), read from the set the check was made on.
 *
 * Undefined when the check denied, or allowed on signatures that bind only the root digest (AWS Signer
 * co-signatures without an OMS bundle). The statement is taken from a bundle the check counted for that manifest
 * and its manifest digest is recomputed, so a set that does not match the report is refused.
 *
 * @throws VerificationError when the set holds no counted bundle with that manifest digest
 */
export function manifestForDecision(report: CheckReport, set: AttestationSet): ParsedStatement | undefined {
  if (report.decision !== 'allow' || report.manifest === undefined) {
    return undefined;
  }
  const keys = new Set(report.signatures.filter((s) => s.kind === 'bundle' && s.counted && s.manifest === report.manifest).map((s) => s.key));
  for (const obj of set.bundles.filter((b) => keys.has(b.key))) {
    const bundle = parseBundle(obj.body, obj.key);
    const statement = parseStatement(bundle.payload);
    if (statementManifestDigest(statement, decodeStatement(bundle.payload)) === report.manifest) {
      return statement;
    }
  }
  throw new VerificationError(`the attestation set holds no counted bundle over the chosen manifest ${report.manifest}`);
}

/** Options of {@link verifyModelAgainstPolicy}. */
export interface PolicyVerifyOptions extends CheckOptions {
  /**
   * The root digest to look up (`sha256:<hex>` or hex), for models signed with other hashing options than
   * `sign`'s defaults (other ignore paths, symlinks, shards).
   *
   * @default - computed from MODEL_PATH with `sign`'s default options (sha256 over files, git paths ignored)
   */
  readonly digest?: string;
  /** Hashing worker threads. @default - one per core, capped */
  readonly workers?: number;
  /** Hashing progress: bytes done and total. @default - none */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The outcome of {@link verifyModelAgainstPolicy}. */
export interface PolicyVerifyResult {
  /** True when the policy is met and every file matches the chosen manifest. */
  readonly ok: boolean;
  /** The root digest looked up (hex). */
  readonly root: string;
  /** Whether the root came from `--digest` or was computed from the files. */
  readonly rootFrom: 'digest' | 'computed';
  /** The decision (the same `check` makes). */
  readonly report: CheckReport;
  /** Number of resources of the chosen manifest, when the files were compared. */
  readonly resources?: number;
  /** How the files differ from the chosen manifest (every difference), when they do. */
  readonly differences?: FileDifferences;
  /** Why the files were not compared or did not match, in one line; undefined when ok. */
  readonly failure?: string;
}

/**
 * `verify policy`: decides for the model's root digest exactly as `check` does, then verifies the files on disk
 * against the manifest that met the policy. Changed, missing and unsigned files are all reported.
 *
 * @throws UsageError when the model cannot be read or hashed with the default options (pass `digest`), or the
 *   store cannot be read; VerificationError for a listing or hashing failure during the comparison
 */
export async function verifyModelAgainstPolicy(
  modelPath: string, policy: TrustPolicy, store: ObjectStore, opts: PolicyVerifyOptions = {},
): Promise<PolicyVerifyResult> {
  let root: string;
  let knownDigests: Map<string, string> | undefined;
  if (opts.digest !== undefined) {
    root = parseRootDigest(opts.digest, '--digest');
  } else {
    let manifest;
    try {
      manifest = await hashModel(modelPath, { workers: opts.workers, onProgress: opts.onProgress });
    } catch (e) {
      if (e instanceof UsageError) {
        throw new UsageError(`${e.message}\n(verify policy computes the root digest with sign's default options: sha256 over files, no symlinks; for a model signed otherwise pass --digest sha256:ROOT)`);
      }
      throw e;
    }
    root = rootDigest(manifest.resources);
    knownDigests = new Map(manifest.resources.map((r) => [r.name, r.digest]));
  }
  const rootFrom = opts.digest !== undefined ? 'digest' : 'computed';
  const { report, set } = await checkStoreWithSet(policy, store, root, opts);
  if (report.decision !== 'allow' || set === undefined) {
    return { ok: false, root, rootFrom, report, failure: `the trust policy is not met for ${formatRootDigest(root)}: ${report.reasons.join('; ')}` };
  }
  const chosen = manifestForDecision(report, set);
  if (chosen === undefined) {
    return {
      ok: false,
      root,
      rootFrom,
      report,
      failure: `the signatures that met the policy for ${formatRootDigest(root)} bind only the root digest (AWS Signer), not a manifest; `
        + 'publish an OMS bundle of a policy signer so the files can be checked by name',
    };
  }
  try {
    const files = await verifyModelFiles(modelPath, chosen.manifest, {
      workers: opts.workers, onProgress: opts.onProgress, ...(knownDigests ? { knownDigests } : {}),
    });
    return { ok: true, root, rootFrom, report, resources: files.resourceCount };
  } catch (e) {
    if (e instanceof ModelMismatchError) {
      return { ok: false, root, rootFrom, report, resources: chosen.manifest.resources.length, differences: e.differences, failure: `${e.message} (manifest ${report.manifest})` };
    }
    throw e;
  }
}
