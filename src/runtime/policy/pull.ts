/**
 * Pull-and-verify in one pass (`modelseal pull`, the load-time step of docs/ADMISSION.md): decide the digest against
 * the trust policy, take the manifest the decision chose (`report.manifest`, via {@link manifestForDecision}; another
 * manifest over the same root, even one that also met the policy, is never used), then stream every file from the source into DEST while hashing
 * it, and let nothing appear under DEST unless every file matched.
 *
 * DEST is often a mounted volume (an emptyDir at /mnt/models) that cannot itself be replaced, so the files are
 * written into a hidden staging folder inside it (`.modelseal-pull-<random>`, same filesystem) and renamed into
 * place only after the last file matched; on any failure the staging folder is removed and DEST is left empty.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { checkPolicy, CheckOptions, policyKeyHints } from './check';
import { manifestForDecision } from './decision';
import type { TrustPolicy } from './load';
import { parseRootDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { DEFAULT_GIT_IGNORES, parseShardName, rootDigest } from '../engine/hashing';
import type { Manifest } from '../engine/types';
import { fetchAttestationSet } from '../store/attestation-set';
import { isStoreError } from '../store/errors';
import type { ModelSource, SourceFile } from '../store/model-source';
import type { AttestationSet, ObjectStore } from '../store/types';

/** The prefix of the staging folder inside DEST. */
export const STAGING_PREFIX = '.modelseal-pull-';

/** Options of {@link pullModel}. */
export interface PullOptions {
  /** Where the model is read from. */
  readonly source: ModelSource;
  /** The folder the verified model appears in (created if missing; must be empty if it exists). */
  readonly dest: string;
  /** The attestation store. */
  readonly store: ObjectStore;
  /** The trust policy. */
  readonly policy: TrustPolicy;
  /** The model's root digest, `sha256:<64 hex>`. */
  readonly digest: string;
  /** Options of the check decision (KMS client, clock). */
  readonly check?: CheckOptions;
  /**
   * Files downloaded at once.
   *
   * @default 4
   */
  readonly concurrency?: number;
  /** Called as bytes arrive: bytes so far and in all. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a pull did. */
export interface PullResult {
  /** The root digest (hex). */
  readonly root: string;
  /** `sha256:<manifest digest>` when the decision names one, else null. */
  readonly manifest: string | null;
  /** Files written. */
  readonly files: number;
  /** Bytes written. */
  readonly bytes: number;
  /** The policy signers whose model signatures counted, in the policy's order. */
  readonly signers: string[];
}

/**
 * Pulls and verifies a model; see the module comment.
 *
 * @throws UsageError for a malformed digest or a DEST that is not an empty folder (nothing is touched)
 * @throws VerificationError for everything else (policy not met, store or source unreadable, a file missing, extra
 *   or different): DEST is then empty
 */
export async function pullModel(opts: PullOptions): Promise<PullResult> {
  if (!/^sha256:[0-9a-f]{64}$/.test(opts.digest)) {
    throw new UsageError(`--digest ${JSON.stringify(opts.digest)} is not sha256:<64 lowercase hex> (the pod's modelseal.dev/model-digest annotation)`);
  }
  const root = parseRootDigest(opts.digest);
  const dest = path.resolve(opts.dest);
  await prepareDest(dest);

  let set: AttestationSet;
  try {
    set = await fetchAttestationSet(opts.store, root, { preferSigners: policyKeyHints(opts.policy) });
  } catch (e) {
    throw new VerificationError(`cannot read the attestation set of ${opts.digest} from ${opts.store.uri}${isStoreError(e) ? '' : ' (failing closed)'}: ${(e as Error).message}`);
  }
  const report = await checkPolicy(opts.policy, set, opts.check ?? {});
  if (report.decision !== 'allow') {
    throw new VerificationError(`${opts.digest} does not meet the trust policy ${opts.policy.source}: ${report.reasons.join('; ')}`);
  }
  const chosen = manifestForDecision(report, set);
  const chosenDigest = report.manifest;
  if (chosen === undefined || chosenDigest === undefined) {
    throw new VerificationError(`the signatures that met the policy for ${opts.digest} bind only the root digest (AWS Signer), not a manifest; `
      + 'nothing to check the files against by name: publish an OMS bundle of a policy signer');
  }
  const manifest = chosen.manifest;
  if (rootDigest(manifest.resources) !== root) {
    throw new VerificationError(`the manifest that met the policy (${chosenDigest}) does not hash to ${opts.digest}`);
  }
  const plan = await planFiles(opts.source, manifest, chosenDigest);

  const staging = path.join(dest, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  let bytes = 0;
  const total = plan.reduce((n, p) => n + p.file.size, 0);
  try {
    await fs.promises.mkdir(staging, { mode: 0o700 });
    await mapLimit(plan, opts.concurrency ?? 4, async (p) => {
      await downloadAndCheck(opts.source, p, staging, (n) => {
        bytes += n;
        opts.onProgress?.(bytes, total);
      });
    });
    await publish(staging, dest);
  } catch (e) {
    await emptyDest(dest);
    if (e instanceof VerificationError) {
      throw e;
    }
    throw new VerificationError(`pull of ${opts.digest} into ${dest} failed: ${(e as Error).message}`);
  }
  const signers = [...report.requirements.find((r) => r.name === 'require')?.signedBy ?? []];
  return { root, manifest: chosenDigest, files: plan.length, bytes, signers };
}

/** One file to download: where it goes and what its bytes must hash to. */
interface PlannedFile {
  readonly file: SourceFile;
  /** Path relative to DEST (POSIX). */
  readonly target: string;
  /** `files`: one range covering the file; `shards`: consecutive ranges. */
  readonly ranges: { readonly start: number; readonly end: number; readonly digest: string; readonly name: string }[];
}

/** Lists the source and matches it with the manifest: every listed file signed, every signed file listed. */
async function planFiles(source: ModelSource, manifest: Manifest, manifestName: string): Promise<PlannedFile[]> {
  const ser = manifest.serialization;
  if (ser.hash_type !== 'sha256') {
    throw new VerificationError(`the manifest uses hash_type ${JSON.stringify(ser.hash_type)}; pull verifies sha256 only`);
  }
  const ignores = [...new Set([...DEFAULT_GIT_IGNORES, ...ser.ignore_paths])];
  const listed = await source.list(ignores, ser.allow_symlinks === true);
  const expected = new Map<string, PlannedFile['ranges'][number][]>();
  for (const r of manifest.resources) {
    const { file, start, end } = ser.method === 'shards' ? parseShardName(r.name, ser.shard_size) : { file: r.name, start: 0, end: -1 };
    expected.set(file, [...(expected.get(file) ?? []), { start, end, digest: r.digest, name: r.name }]);
  }
  // the shards serializer gives an empty file no shard, so `verify` never sees one: pull leaves it out too
  const relevant = ser.method === 'shards' ? listed.filter((f) => f.size > 0 || expected.has(f.name)) : listed;
  const byName = new Map(relevant.map((f) => [f.name, f]));
  const missing = [...expected.keys()].filter((n) => !byName.has(n));
  const extra = relevant.filter((f) => !expected.has(f.name)).map((f) => f.name);
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing from the source: ${shown(missing)}`);
  if (extra.length > 0) problems.push(`not covered by the manifest: ${shown(extra)}`);
  const plan: PlannedFile[] = [];
  for (const [name, ranges] of expected) {
    const file = byName.get(name);
    if (!file) continue;
    if (ser.method === 'shards') {
      ranges.sort((a, b) => a.start - b.start);
      const contiguous = ranges.every((r, i) => r.start === (i === 0 ? 0 : ranges[i - 1].end));
      const end = ranges[ranges.length - 1].end;
      if (!contiguous || end !== file.size) {
        problems.push(`${name} is ${file.size} bytes, but its signed shards cover ${contiguous ? `0-${end}` : 'a broken range'}`);
        continue;
      }
    } else {
      ranges[0] = { ...ranges[0], start: 0, end: file.size };
    }
    const target = name === '.' ? source.singleFileName() : name;
    if (target === undefined || target === '' || target.split('/').some((s) => s === '' || s === '.' || s === '..') || target.startsWith(STAGING_PREFIX)) {
      problems.push(name === '.' ? `the manifest is of a single-file model, but ${source.uri} is a folder` : `cannot write a file named ${JSON.stringify(name)}`);
      continue;
    }
    plan.push({ file, target, ranges });
  }
  if (problems.length > 0) {
    throw new VerificationError(`${source.uri} does not match the manifest that met the policy (${manifestName}): ${problems.join('; ')}`);
  }
  return plan;
}

/** Streams one file into the staging folder, hashing each range as it arrives. */
async function downloadAndCheck(source: ModelSource, p: PlannedFile, staging: string, progress: (n: number) => void): Promise<void> {
  const out = path.join(staging, ...p.target.split('/'));
  await fs.promises.mkdir(path.dirname(out), { recursive: true, mode: 0o755 });
  const handle = await fs.promises.open(out, 'wx', 0o644);
  let offset = 0;
  let index = 0;
  let hash = createHash('sha256');
  const finishRange = () => {
    const r = p.ranges[index];
    const got = hash.digest('hex');
    if (got !== r.digest) {
      throw new VerificationError(`${p.file.name === '.' ? p.target : r.name} does not match the manifest: signed sha256:${r.digest}, downloaded sha256:${got}`);
    }
    index++;
    hash = createHash('sha256');
  };
  try {
    for await (const chunk of source.read(p.file)) {
      let c = chunk;
      while (c.length > 0) {
        if (index >= p.ranges.length) {
          throw new VerificationError(`${p.file.name} has more bytes than the ${p.file.size} listed`);
        }
        const take = Math.min(c.length, p.ranges[index].end - offset);
        hash.update(c.subarray(0, take));
        offset += take;
        c = c.subarray(take);
        if (offset === p.ranges[index].end) {
          finishRange();
        }
      }
      for (let done = 0; done < chunk.length;) {
        done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      }
      progress(chunk.length);
    }
    if (p.file.size === 0 && index === 0 && p.ranges.length > 0) {
      finishRange();
    }
    if (index !== p.ranges.length) {
      throw new VerificationError(`${p.file.name} ended after ${offset} of ${p.file.size} bytes`);
    }
  } finally {
    await handle.close();
  }
}

/** Moves the staging folder's entries into DEST, then removes it. */
async function publish(staging: string, dest: string): Promise<void> {
  for (const entry of await fs.promises.readdir(staging)) {
    await fs.promises.rename(path.join(staging, entry), path.join(dest, entry));
  }
  await fs.promises.rmdir(staging);
}

/** DEST must be a folder with nothing in it (a fresh volume's `lost+found` aside), or not exist yet. */
async function prepareDest(dest: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.promises.readdir(dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      try {
        await fs.promises.mkdir(dest, { recursive: true });
        return;
      } catch (e2) {
        throw new UsageError(`cannot create DEST ${dest}: ${(e2 as Error).message}`);
      }
    }
    throw new UsageError(code === 'ENOTDIR' ? `DEST ${dest} is a file, not a folder` : `cannot read DEST ${dest}: ${(e as Error).message}`);
  }
  const used = entries.filter((n) => n !== 'lost+found');
  if (used.length > 0) {
    throw new UsageError(`DEST ${dest} is not empty (${shown(used)}); pull writes only into an empty folder, so what is there is never mistaken for the verified model`);
  }
}

/** Removes everything pull may have put in DEST (the staging folder, anything renamed from it). */
async function emptyDest(dest: string): Promise<void> {
  for (const entry of await fs.promises.readdir(dest).catch(() => [] as string[])) {
    if (entry !== 'lost+found') {
      await fs.promises.rm(path.join(dest, entry), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

function shown(names: readonly string[]): string {
  return names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) {
    throw failed;
  }
}
