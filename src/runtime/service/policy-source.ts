/**
 * The trust policy a running verifier decides with: loaded at start, reloaded when its files change (a Kubernetes
 * ConfigMap update swaps the mounted files), and kept when a new version fails to load, with the failure reported
 * on `/readyz` until a good version replaces it.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FileWatch } from './watch';
import { loadTrustPolicy, TrustPolicy } from '../policy/load';

/** A policy in force, with the digest that keys its decisions. */
export interface LoadedPolicy {
  readonly policy: TrustPolicy;
  /**
   * `sha256:<hex>` over the policy document's bytes and every key, certificate and KMS key it resolved: a change of
   * a key file the policy names changes the digest even when the policy text did not change.
   */
  readonly digest: string;
  /** The `kmsKeyArn` keys it names (fetched by the service's KMS key cache). */
  readonly kmsKeyArns: string[];
  readonly loadedAt: Date;
}

/** What a (re)load did. */
export type ReloadResult = 'loaded' | 'unchanged' | 'failed';

/** Options of {@link PolicySource}. */
export interface PolicySourceOptions {
  /**
   * How often the files are compared in case a change event was missed, in ms (0: never).
   *
   * @default 10000
   */
  readonly pollMs?: number;
  /** Called after every (re)load attempt. */
  readonly onReload?: (result: ReloadResult, detail: string, loaded?: LoadedPolicy) => void;
}

/** The policy file, watched. */
export class PolicySource {
  private loaded?: LoadedPolicy;
  private failure?: string;
  private watch?: FileWatch;
  private reloading: Promise<ReloadResult> | undefined;
  private again = false;

  public constructor(public readonly file: string, private readonly options: PolicySourceOptions = {}) {}

  /** The policy in force (undefined when none ever loaded) and the last load failure, if the last load failed. */
  public state(): { readonly current?: LoadedPolicy; readonly error?: string } {
    return { ...(this.loaded ? { current: this.loaded } : {}), ...(this.failure !== undefined ? { error: this.failure } : {}) };
  }

  /** Loads the policy and starts watching its folder. Never throws: a failure is kept in {@link state}. */
  public async start(): Promise<ReloadResult> {
    const result = await this.reload();
    this.watch = new FileWatch([this.file], () => void this.reload(), {
      pollMs: this.options.pollMs ?? 10_000,
      // a ConfigMap mount holds the policy's key files beside it: any change in the folder may matter
      fingerprint: () => folderFingerprint(path.dirname(path.resolve(this.file))),
    });
    return result;
  }

  /**
   * Loads the file again. A policy that fails to load leaves the current one in force; concurrent calls share one
   * load (and one more runs after it when a change arrived meanwhile).
   */
  public reload(): Promise<ReloadResult> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.load().finally(() => {
      this.reloading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  /** Stops watching. */
  public close(): void {
    this.watch?.close();
  }

  private async load(): Promise<ReloadResult> {
    let next: LoadedPolicy;
    try {
      const text = await fs.promises.readFile(this.file);
      const policy = await loadTrustPolicy(this.file);
      next = { policy, digest: policyDigest(text, policy), kmsKeyArns: kmsKeyArnsOf(policy), loadedAt: new Date() };
    } catch (e) {
      // one line: it goes into /readyz, logs and denial reasons
      const why = (e as Error).message.replace(/\s*\n\s*/g, '; ');
      this.failure = `trust policy ${this.file} failed to load${this.loaded ? ` (still using ${this.loaded.digest})` : ''}: ${why}`;
      this.options.onReload?.('failed', this.failure);
      return 'failed';
    }
    this.failure = undefined;
    if (this.loaded?.digest === next.digest) {
      this.options.onReload?.('unchanged', next.digest, this.loaded);
      return 'unchanged';
    }
    this.loaded = next;
    this.options.onReload?.('loaded', next.digest, next);
    return 'loaded';
  }
}

/** The digest of a loaded policy: its text and what each of its keys resolved to. */
export function policyDigest(text: Buffer, policy: TrustPolicy): string {
  const h = createHash('sha256');
  h.update(`modelseal-policy\0${text.length}\0`).update(text);
  for (const s of policy.signers) {
    for (const k of s.keys) {
      let id: string;
      switch (k.kind) {
        case 'publicKey':
          id = `key:${k.hint}`;
          break;
        case 'kms':
          id = `kms:${k.keyArn}`;
          break;
        case 'certificate':
          id = `cert:${k.identity.field}=${k.identity.value}:${k.identity.trustAnchors.map((c) => c.fingerprint256).join(',')}`;
          break;
        case 'awsSigner':
          id = `awsSigner:${k.profileArn}:${k.trustedRoots.map((c) => c.fingerprint256).join(',')}`;
          break;
        case 'sigstore':
          id = `sigstore:${JSON.stringify(k.trust.identity)}:${k.trust.issuer}:${k.trust.trustedRoot.sha256}`;
          break;
      }
      h.update(`\0${s.name}\0${id}`);
    }
  }
  for (const tsa of policy.timestampAuthorities) {
    h.update(`\0timestampAuthority\0${tsa.fingerprint256}`);
  }
  return `sha256:${h.digest('hex')}`;
}

function kmsKeyArnsOf(policy: TrustPolicy): string[] {
  return [...new Set(policy.signers.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'kms' ? [k.keyArn] : []))))];
}

/** A digest of the regular files of a folder (one level, following the symlinks a ConfigMap mount uses). */
function folderFingerprint(dir: string): string {
  const h = createHash('sha256');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => !n.startsWith('..')).sort();
  } catch (e) {
    return `unreadable:${(e as NodeJS.ErrnoException).code ?? ''}`;
  }
  for (const name of names.slice(0, 200)) {
    try {
      const p = path.join(dir, name);
      const st = fs.statSync(p);
      if (st.isFile() && st.size <= 4 * 1024 * 1024) {
        h.update(`${name}\0`).update(fs.readFileSync(p)).update('\0');
      }
    } catch {
      h.update(`${name}\0gone\0`);
    }
  }
  return h.digest('hex');
}
