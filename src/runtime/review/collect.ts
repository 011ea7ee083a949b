/**
 * Reads the rows of a review out of CloudFormation templates and Kubernetes objects: IAM statements of every policy
 * document, keys, buckets, network controls, admission controls, container images and trust policies. Kubernetes
 * objects and Helm values a template embeds (the EKS `KubernetesManifest` and `HelmChart` custom resources) are read
 * like the objects of a manifest folder. Unresolved values are rendered as `${LogicalId.Attribute}`.
 */
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { AdmissionRow, ImageRow, ReviewReport, StatementRow } from './model';
import { renderIntrinsicText, renderIntrinsics } from '../../shared/cfn-intrinsics';
import { isJsonObject } from '../codec/json';

/** One synthesized CloudFormation template. */
export interface TemplateInput {
  /** The stack name (the template file's name without `.template.json`). */
  readonly stack: string;
  readonly template: Record<string, unknown>;
}

/** One Kubernetes object (or trust policy document), with where it comes from. */
export interface ObjectInput {
  /** The file (or `<stack>/<logical ID>` of the embedding resource). */
  readonly source: string;
  readonly object: Record<string, unknown>;
}

/** A trust policy as the rules need it (names only). */
export interface ParsedTrustPolicy {
  readonly where: string;
  readonly requireNames: string[];
  readonly attestationSignerNames: string[];
  readonly revokers: string[];
}

/** A resource whose encryption at rest is missing (buckets are in their own rows). */
export interface EncryptionGap {
  readonly where: string;
  readonly what: string;
}

/** Everything read, before the rules run: the report's row sections and what the rules need besides. */
export interface Collected extends Pick<ReviewReport, 'resources' | 'statements' | 'keys' | 'buckets' | 'network' | 'admission' | 'images' | 'trustPolicies'> {
  readonly parsedTrustPolicies: ParsedTrustPolicy[];
  readonly encryptionGaps: EncryptionGap[];
  /** `<stack>/<logical ID>` of buckets tagged `modelseal:role: attestation-store`. */
  readonly storeBuckets: Set<string>;
  /** Store buckets whose bucket policy denies a `PutObject` without `If-None-Match` (write-once keys). */
  readonly writeOnceStores: Set<string>;
  /** The rendered references that name a store bucket (`${Logical}`, `${Logical.Arn}`), with the bucket. */
  readonly storeReferences: Map<string, string>;
}

/** The tag the constructs put on every bucket, key and project they create. */
export const ROLE_TAG = 'modelseal:role';

/**
 * CDK file assets are named by content hash (`cdk-<qualifier>-assets-<account>-<region>/<sha256>.zip`): shown as
 * `<asset-hash>`, so that a rebuilt asset (the bundled CLI changed) is not a policy change in the report.
 */
const ASSET_KEY = /(cdk-[a-z0-9]+-assets-[^/\s]+\/)[0-9a-f]{64}/g;
const text = (v: unknown): string => renderIntrinsicText(v).replace(ASSET_KEY, '$1<asset-hash>');
const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const sortRows = <T extends { where: string }>(rows: T[], key: (r: T) => string = (r) => JSON.stringify(r)): T[] =>
  rows.sort((a, b) => (a.where < b.where ? -1 : a.where > b.where ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

function roleTag(props: Record<string, unknown>): string {
  for (const t of list(props.Tags)) {
    if (isJsonObject(t) && t.Key === ROLE_TAG) return text(t.Value);
  }
  if (isJsonObject(props.Tags) && typeof props.Tags[ROLE_TAG] === 'string') return props.Tags[ROLE_TAG] as string;
  return '-';
}

function principals(p: unknown): string[] {
  if (p === undefined) return [];
  if (p === '*') return ['*'];
  if (!isJsonObject(p)) return [text(p)];
  return Object.entries(p).flatMap(([kind, v]) => list(v).map((x) => `${kind}:${text(x)}`)).sort();
}

function conditions(c: unknown): string[] {
  if (!isJsonObject(c)) return [];
  const out: string[] = [];
  for (const [op, kv] of Object.entries(c)) {
    if (!isJsonObject(kv)) { out.push(`${op} ${text(kv)}`); continue; }
    for (const [k, v] of Object.entries(kv)) out.push(`${op} ${k}=${list(v).map(text).join(',')}`);
  }
  return out.sort();
}

function statementsOf(doc: unknown, where: string, document: StatementRow['document'], attachedTo: string[]): StatementRow[] {
  if (!isJsonObject(doc)) return [];
  return list(doc.Statement).filter(isJsonObject).map((s) => ({
    where,
    document,
    ...(typeof s.Sid === 'string' ? { sid: s.Sid } : {}),
    effect: String(s.Effect ?? 'Allow'),
    principals: s.Principal !== undefined ? principals(s.Principal)
      : s.NotPrincipal !== undefined ? principals(s.NotPrincipal).map((x) => `NOT ${x}`) : attachedTo,
    actions: list(s.Action).map(text).sort(),
    notActions: list(s.NotAction).map(text).sort(),
    resources: [...list(s.Resource).map(text), ...list(s.NotResource).map((r) => `NOT ${text(r)}`)].sort(),
    conditions: conditions(s.Condition),
  }));
}

function portRange(r: Record<string, unknown>): string {
  const proto = String(r.IpProtocol ?? '-1');
  if (proto === '-1') return 'all traffic';
  const from = r.FromPort, to = r.ToPort;
  return from === undefined ? proto : from === to ? `${proto} ${String(from)}` : `${proto} ${String(from)}-${String(to)}`;
}

function peer(r: Record<string, unknown>, dir: 'to' | 'from'): string {
  const v = r.CidrIp ?? r.CidrIpv6 ?? r.DestinationPrefixListId ?? r.SourcePrefixListId ?? r.DestinationSecurityGroupId ?? r.SourceSecurityGroupId;
  return `${dir} ${v === undefined ? '?' : text(v)}`;
}

function ruleDetail(r: Record<string, unknown>, dir: 'to' | 'from'): string {
  return `${portRange(r)} ${peer(r, dir)}${r.Description !== undefined ? ` (${text(r.Description)})` : ''}`;
}

/** Parses a JSON text that may contain rendered references; undefined when it is not JSON. */
function parseEmbedded(v: unknown): unknown {
  const s = text(v);
  try { return JSON.parse(s); } catch { /* not JSON */ }
  try { return parseYaml(s); } catch { return undefined; }
}

/** Reads every row a template holds; embedded Kubernetes objects are returned for {@link collectObjects}. */
export function collectTemplate(input: TemplateInput, out: Collected, embedded: ObjectInput[]): void {
  const resources = isJsonObject(input.template.Resources) ? input.template.Resources : {};
  const at = (id: string) => `${input.stack}/${id}`;
  const refOf = (v: unknown): string | undefined => {
    const t = text(v);
    const m = /^\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}$/.exec(t);
    return m ? m[1] : undefined;
  };
  for (const [id, r] of Object.entries(resources).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!isJsonObject(r)) continue;
    const type = String(r.Type);
    const p = isJsonObject(r.Properties) ? r.Properties : {};
    const role = roleTag(p);
    if (role !== '-') out.resources.push({ where: at(id), type, role });
    switch (type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy': {
        const attached = [...list(p.Roles), ...list(p.Users), ...list(p.Groups)].map(text).sort();
        out.statements.push(...statementsOf(p.PolicyDocument, at(id), 'identity', attached));
        break;
      }
      case 'AWS::IAM::Role': {
        out.statements.push(...statementsOf(p.AssumeRolePolicyDocument, at(id), 'trust', []));
        for (const inline of list(p.Policies)) {
          if (isJsonObject(inline)) out.statements.push(...statementsOf(inline.PolicyDocument, at(id), 'identity', [`\${${id}}`]));
        }
        for (const arn of list(p.ManagedPolicyArns)) {
          out.statements.push({
            where: at(id),
            document: 'identity',
            sid: 'ManagedPolicy',
            effect: 'Attach',
            principals: [`\${${id}}`],
            actions: [`managed policy ${text(arn)}`],
            notActions: [],
            resources: [],
            conditions: [],
          });
        }
        break;
      }
      case 'AWS::KMS::Key':
        out.keys.push({
          where: at(id),
          role,
          spec: String(p.KeySpec ?? 'SYMMETRIC_DEFAULT'),
          usage: String(p.KeyUsage ?? 'ENCRYPT_DECRYPT'),
          rotation: p.EnableKeyRotation === true,
          removal: String(r.DeletionPolicy ?? 'Delete'),
        });
        out.statements.push(...statementsOf(p.KeyPolicy, at(id), 'key', []));
        break;
      case 'AWS::S3::Bucket': {
        const enc = isJsonObject(p.BucketEncryption) ? list(p.BucketEncryption.ServerSideEncryptionConfiguration)[0] : undefined;
        const dflt = isJsonObject(enc) && isJsonObject(enc.ServerSideEncryptionByDefault) ? enc.ServerSideEncryptionByDefault : undefined;
        const bpa = isJsonObject(p.PublicAccessBlockConfiguration) ? p.PublicAccessBlockConfiguration : {};
        const lock = isJsonObject(p.ObjectLockConfiguration) ? p.ObjectLockConfiguration : undefined;
        const ret = lock && isJsonObject(lock.Rule) && isJsonObject(lock.Rule.DefaultRetention) ? lock.Rule.DefaultRetention : undefined;
        const logging = isJsonObject(p.LoggingConfiguration) ? p.LoggingConfiguration : undefined;
        const publicAcl = typeof p.AccessControl === 'string' && /^Public/.test(p.AccessControl);
        out.buckets.push({
          where: at(id),
          role,
          encryption: dflt ? `${String(dflt.SSEAlgorithm)}${dflt.KMSMasterKeyID !== undefined ? ` ${text(dflt.KMSMasterKeyID)}` : ''}` : 'none',
          blockPublicAccess: !publicAcl && ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'].every((k) => bpa[k] === true),
          versioning: isJsonObject(p.VersioningConfiguration) && p.VersioningConfiguration.Status === 'Enabled',
          objectLock: ret ? `${String(ret.Mode)} ${String(ret.Days ?? ret.Years)} ${ret.Days !== undefined ? 'days' : 'years'}`
            : p.ObjectLockEnabled === true ? 'enabled, no default retention' : 'none',
          accessLogs: logging ? `${logging.DestinationBucketName !== undefined ? text(logging.DestinationBucketName) : 'this bucket'}/${text(logging.LogFilePrefix ?? '')}` : 'none',
        });
        if (role === 'attestation-store') {
          out.storeBuckets.add(at(id));
          for (const ref of [`\${${id}}`, `\${${id}.Arn}`]) out.storeReferences.set(ref, at(id));
          if (typeof p.BucketName === 'string') {
            out.storeReferences.set(p.BucketName, at(id));
            out.storeReferences.set(`arn:aws:s3:::${p.BucketName}`, at(id));
          }
        }
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        const bucket = refOf(p.Bucket);
        const rows = statementsOf(p.PolicyDocument, at(id), 'bucket', []);
        out.statements.push(...rows);
        const writeOnce = rows.some((s) => s.effect === 'Deny' && s.actions.includes('s3:PutObject')
          && s.conditions.some((c) => /^Null s3:if-none-match=true$/.test(c)));
        if (bucket && writeOnce) out.writeOnceStores.add(at(bucket));
        break;
      }
      case 'AWS::ECR::Repository':
        out.statements.push(...statementsOf(p.RepositoryPolicyText, at(id), 'repository', []));
        break;
      case 'AWS::SNS::TopicPolicy':
      case 'AWS::SQS::QueuePolicy':
        out.statements.push(...statementsOf(p.PolicyDocument, at(id), 'resource', []));
        break;
      case 'AWS::EC2::VPCEndpoint':
        out.network.push({ where: at(id), kind: 'endpoint', detail: `${text(p.ServiceName)} (${String(p.VpcEndpointType ?? 'Gateway')})` });
        if (p.PolicyDocument !== undefined) out.statements.push(...statementsOf(p.PolicyDocument, at(id), 'endpoint', []));
        break;
      case 'AWS::EC2::SecurityGroup':
        for (const e of list(p.SecurityGroupEgress).filter(isJsonObject)) out.network.push({ where: at(id), kind: 'egress', detail: ruleDetail(e, 'to') });
        for (const i of list(p.SecurityGroupIngress).filter(isJsonObject)) out.network.push({ where: at(id), kind: 'ingress', detail: ruleDetail(i, 'from') });
        if (p.SecurityGroupEgress === undefined) out.network.push({ where: at(id), kind: 'egress', detail: 'no egress rule in the template (EC2 allows all outbound by default)' });
        break;
      case 'AWS::EC2::SecurityGroupEgress':
      case 'AWS::EC2::SecurityGroupIngress': {
        const group = refOf(p.GroupId);
        const dir = type.endsWith('Egress') ? 'egress' : 'ingress';
        out.network.push({ where: group ? at(group) : at(id), kind: dir, detail: ruleDetail(p, dir === 'egress' ? 'to' : 'from') });
        break;
      }
      case 'AWS::Route53Resolver::FirewallRuleGroup':
        for (const rule of list(p.FirewallRules).filter(isJsonObject)) {
          out.network.push({
            where: at(id),
            kind: 'dns-firewall',
            detail: `priority ${String(rule.Priority)}: ${String(rule.Action)}${rule.BlockResponse !== undefined ? ` (${String(rule.BlockResponse)})` : ''} for ${text(rule.FirewallDomainListId)}`,
          });
        }
        break;
      case 'AWS::Route53Resolver::FirewallDomainList':
        out.network.push({ where: at(id), kind: 'dns-firewall', detail: `domains: ${list(p.Domains).map(text).join(', ') || (p.ManagedDomainListName ? text(p.ManagedDomainListName) : '(none)')}` });
        break;
      case 'AWS::Route53Resolver::FirewallRuleGroupAssociation':
        out.network.push({ where: at(id), kind: 'dns-firewall', detail: `${text(p.FirewallRuleGroupId)} on VPC ${text(p.VpcId)} (priority ${String(p.Priority)}, fail ${String(p.MutationProtection ?? '-')})` });
        break;
      case 'AWS::CodeBuild::Project': {
        const env = isJsonObject(p.Environment) ? p.Environment : {};
        if (env.Image !== undefined) out.images.push(imageRow(at(id), 'build', text(env.Image)));
        if (p.EncryptionKey === undefined) out.encryptionGaps.push({ where: at(id), what: 'CodeBuild project without an EncryptionKey (artifacts and logs use the AWS managed key)' });
        break;
      }
      case 'AWS::Logs::LogGroup':
        if (p.KmsKeyId === undefined) out.encryptionGaps.push({ where: at(id), what: 'log group without KmsKeyId' });
        break;
      case 'AWS::SNS::Topic':
        if (p.KmsMasterKeyId === undefined) out.encryptionGaps.push({ where: at(id), what: 'SNS topic without KmsMasterKeyId' });
        break;
      case 'AWS::SQS::Queue':
        if (p.KmsMasterKeyId === undefined && p.SqsManagedSseEnabled !== true) out.encryptionGaps.push({ where: at(id), what: 'SQS queue without SSE' });
        break;
      case 'AWS::EC2::Volume':
        if (p.Encrypted !== true) out.encryptionGaps.push({ where: at(id), what: 'EBS volume not encrypted' });
        break;
      case 'AWS::EC2::LaunchTemplate': {
        const data = isJsonObject(p.LaunchTemplateData) ? p.LaunchTemplateData : {};
        for (const m of list(data.BlockDeviceMappings).filter(isJsonObject)) {
          if (isJsonObject(m.Ebs) && m.Ebs.Encrypted !== true) out.encryptionGaps.push({ where: at(id), what: `EBS volume ${String(m.DeviceName)} not encrypted` });
        }
        break;
      }
      case 'AWS::EKS::Cluster':
        if (list(p.EncryptionConfig).length === 0) out.encryptionGaps.push({ where: at(id), what: 'EKS cluster without envelope encryption of Kubernetes Secrets (EncryptionConfig)' });
        break;
      case 'Custom::AWSCDK-EKS-KubernetesResource': {
        const docs = parseEmbedded(p.Manifest);
        for (const o of list(docs).filter(isJsonObject)) embedded.push({ source: at(id), object: o });
        break;
      }
      case 'Custom::AWSCDK-EKS-HelmChart':
        out.admission.push(helmRow(at(id), p));
        break;
    }
  }
}

function helmRow(where: string, p: Record<string, unknown>): AdmissionRow {
  const chart = text(p.Chart);
  const values = isJsonObject(parseEmbedded(p.Values)) ? parseEmbedded(p.Values) as Record<string, unknown> : {};
  const detail = `Helm chart ${chart} ${text(p.Version ?? '(latest)')} from ${text(p.Repository ?? '-')} in ${text(p.Namespace ?? 'default')}`;
  if (chart === 'gatekeeper') {
    // the chart's defaults: validatingWebhookFailurePolicy Ignore, validatingWebhookTimeoutSeconds 3
    return {
      where,
      kind: 'HelmChart',
      failurePolicy: String(values.validatingWebhookFailurePolicy ?? 'Ignore'),
      timeoutSeconds: String(values.validatingWebhookTimeoutSeconds ?? 3),
      detail: `${detail}; external data ${values.enableExternalData === true ? 'on' : 'off'}, response cache TTL ${String(values.externaldataProviderResponseCacheTTL ?? '3m')}`,
    };
  }
  return { where, kind: 'HelmChart', failurePolicy: '-', timeoutSeconds: '-', detail };
}

function imageRow(where: string, container: string, image: string): ImageRow {
  return { where, container, image, pinned: /@sha256:[0-9a-f]{64}$/.test(image) };
}

function objectWhere(o: ObjectInput): string {
  const md = isJsonObject(o.object.metadata) ? o.object.metadata : {};
  const ns = md.namespace !== undefined ? `${text(md.namespace)}/` : '';
  return `${o.source}#${String(o.object.kind)}/${ns}${text(md.name ?? '?')}`;
}

function podSpecs(obj: Record<string, unknown>): Record<string, unknown>[] {
  const spec = isJsonObject(obj.spec) ? obj.spec : {};
  const kind = String(obj.kind);
  if (kind === 'Pod') return [spec];
  if (kind === 'CronJob') {
    const jt = isJsonObject(spec.jobTemplate) && isJsonObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec : {};
    return isJsonObject(jt.template) && isJsonObject(jt.template.spec) ? [jt.template.spec] : [];
  }
  if (kind === 'InferenceService' || kind === 'LLMInferenceService') {
    return ['predictor', 'transformer', 'explainer'].map((k) => spec[k]).filter(isJsonObject);
  }
  return isJsonObject(spec.template) && isJsonObject(spec.template.spec) ? [spec.template.spec] : [];
}

function matchSummary(m: unknown): string {
  if (!isJsonObject(m)) return '';
  const rules = list(m.resourceRules ?? m.rules).filter(isJsonObject)
    .map((r) => `${list(r.operations).join('/')} ${list(r.resources).join(',')}`);
  return rules.join('; ');
}

function trustPolicyRow(where: string, doc: Record<string, unknown>, out: Collected): void {
  const signers = list(doc.signers).filter(isJsonObject);
  const keyText = (s: Record<string, unknown>): string => {
    const parts: string[] = [];
    for (const k of list(s.publicKey).concat(list(s.publicKeys))) {
      const v = String(k);
      parts.push(v.includes('BEGIN PUBLIC KEY') ? 'publicKey (inline PEM)' : `publicKey ${v}`);
    }
    for (const k of list(s.kmsKeyArn).concat(list(s.kmsKeyArns))) parts.push(`kmsKeyArn ${String(k)}`);
    for (const c of list(s.certificate).concat(list(s.certificates)).filter(isJsonObject)) {
      const id = ['subjectAlternativeName', 'email', 'uri', 'commonName'].find((f) => c[f] !== undefined);
      parts.push(`certificate ${id ?? '?'}=${id ? String(c[id]) : '?'}`);
    }
    if (isJsonObject(s.awsSigner)) parts.push(`awsSigner ${String(s.awsSigner.profileArn)}`);
    return parts.join(', ') || '(no key)';
  };
  const req = isJsonObject(doc.require) ? doc.require : {};
  const requireText = (r: Record<string, unknown>): string => (r.allOf !== undefined
    ? `allOf [${list(r.allOf).join(', ')}]` : r.atLeast !== undefined ? `atLeast ${String(r.atLeast)} of [${list(r.of).join(', ')}]` : '-');
  const requireNames = list(req.allOf ?? req.of).map(String);
  const atts = list(doc.attestations).filter(isJsonObject);
  const attNames: string[] = [];
  const attestations = atts.map((a) => {
    const s = a.signers;
    let by = 'any policy signer';
    if (Array.isArray(s)) { by = `allOf [${s.join(', ')}]`; attNames.push(...s.map(String)); }
    if (isJsonObject(s)) { by = requireText(s); attNames.push(...list(s.allOf ?? s.of).map(String)); }
    const conds = list(a.conditions).filter(isJsonObject).map((c) => String(c.name));
    return `${String(a.predicateType)} by ${by}${conds.length ? `; conditions: ${conds.join(', ')}` : ''}`;
  });
  const revokers = list(doc.revokers).map(String);
  out.trustPolicies.push({
    where,
    signers: signers.map((s) => `${String(s.name)}: ${keyText(s)}`),
    require: requireText(req),
    attestations,
    revokers,
  });
  out.parsedTrustPolicies.push({ where, requireNames, attestationSignerNames: attNames, revokers });
}

const isTrustPolicy = (d: unknown): boolean => isJsonObject(d) && d.kind === 'TrustPolicy';

/** Reads admission controls, images and trust policies from Kubernetes objects. */
export function collectObjects(objects: ObjectInput[], out: Collected): void {
  for (const o of objects) {
    const obj = o.object;
    const where = objectWhere(o);
    const kind = String(obj.kind);
    const group = String(obj.apiVersion ?? '').split('/')[0];
    const spec = isJsonObject(obj.spec) ? obj.spec : {};
    if (isTrustPolicy(obj)) { trustPolicyRow(o.source, obj, out); continue; }
    if (kind === 'ConfigMap' && isJsonObject(obj.data)) {
      for (const [key, value] of Object.entries(obj.data)) {
        let doc: unknown;
        try { doc = parseYaml(String(value)); } catch { doc = undefined; }
        if (isTrustPolicy(doc)) trustPolicyRow(`${where}:${key}`, doc as Record<string, unknown>, out);
      }
    }
    for (const ps of podSpecs(obj)) {
      for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
        for (const c of list(ps[field]).filter(isJsonObject)) {
          if (c.image !== undefined) out.images.push(imageRow(where, String(c.name ?? '?'), text(c.image)));
        }
      }
    }
    if ((kind === 'ValidatingWebhookConfiguration' || kind === 'MutatingWebhookConfiguration') && group === 'admissionregistration.k8s.io') {
      for (const w of list(obj.webhooks).filter(isJsonObject)) {
        const cc = isJsonObject(w.clientConfig) ? w.clientConfig : {};
        const svc = isJsonObject(cc.service) ? cc.service : undefined;
        const target = svc ? `service ${String(svc.namespace)}/${String(svc.name)}${String(svc.path ?? '')}` : `url ${String(cc.url)}`;
        out.admission.push({
          where: `${where}/${String(w.name)}`,
          kind,
          failurePolicy: String(w.failurePolicy ?? 'Fail'),
          timeoutSeconds: String(w.timeoutSeconds ?? 10),
          detail: `${target}; ${matchSummary(w)}${w.namespaceSelector !== undefined ? `; namespaceSelector ${JSON.stringify(w.namespaceSelector)}` : ''}`,
        });
      }
    } else if (kind === 'ValidatingAdmissionPolicy') {
      out.admission.push({
        where,
        kind,
        failurePolicy: String(spec.failurePolicy ?? 'Fail'),
        timeoutSeconds: '-',
        detail: `${matchSummary(spec.matchConstraints)}; ${list(spec.validations).length} validation(s)`,
      });
    } else if (kind === 'ValidatingAdmissionPolicyBinding') {
      out.admission.push({
        where,
        kind,
        failurePolicy: '-',
        timeoutSeconds: '-',
        detail: `policy ${String(spec.policyName)}; actions ${list(spec.validationActions).join(',') || '-'}`,
      });
    } else if (group === 'policies.kyverno.io') {
      const wc = isJsonObject(spec.webhookConfiguration) ? spec.webhookConfiguration : {};
      out.admission.push({
        where,
        kind,
        failurePolicy: String(spec.failurePolicy ?? 'Fail'),
        timeoutSeconds: String(wc.timeoutSeconds ?? 10),
        detail: `${matchSummary(spec.matchConstraints)}; actions ${list(spec.validationActions).join(',') || 'Deny'}`,
      });
    } else if (group === 'kyverno.io') {
      out.admission.push({
        where,
        kind,
        failurePolicy: String(spec.failurePolicy ?? 'Fail'),
        timeoutSeconds: String(spec.webhookTimeoutSeconds ?? 10),
        detail: `validationFailureAction ${String(spec.validationFailureAction ?? 'Audit')}`,
      });
    } else if (group === 'templates.gatekeeper.sh') {
      out.admission.push({ where, kind, failurePolicy: '-', timeoutSeconds: '-', detail: `targets ${list(spec.targets).filter(isJsonObject).map((t) => String(t.target)).join(', ')}` });
    } else if (group === 'constraints.gatekeeper.sh') {
      out.admission.push({ where, kind, failurePolicy: '-', timeoutSeconds: '-', detail: `enforcementAction ${String(spec.enforcementAction ?? 'deny')}; ${matchSummary(spec.match)}` });
    } else if (group === 'externaldata.gatekeeper.sh') {
      out.admission.push({ where, kind, failurePolicy: '-', timeoutSeconds: String(spec.timeout ?? '-'), detail: `url ${String(spec.url)}` });
    }
  }
}

/** Reads a manifest file's objects (YAML, several documents, or JSON; `kind: List` is unpacked). */
export function objectsOfFile(source: string, content: string): ObjectInput[] {
  const out: ObjectInput[] = [];
  const push = (d: unknown) => {
    if (isJsonObject(d) && d.kind === 'List' && Array.isArray(d.items)) d.items.forEach(push);
    else if (Array.isArray(d)) d.forEach(push);
    else if (isJsonObject(d)) out.push({ source, object: renderIntrinsics(d) as Record<string, unknown> });
  };
  for (const doc of parseAllDocuments(content)) {
    if (doc.errors.length > 0) throw new Error(`${source}: not YAML or JSON: ${doc.errors[0].message}`);
    push(doc.toJS());
  }
  return out;
}

/** An empty {@link Collected}. */
export function emptyCollected(): Collected {
  return {
    resources: [],
    statements: [],
    keys: [],
    buckets: [],
    network: [],
    admission: [],
    images: [],
    trustPolicies: [],
    parsedTrustPolicies: [],
    encryptionGaps: [],
    storeBuckets: new Set(),
    writeOnceStores: new Set(),
    storeReferences: new Map(),
  };
}

/** Puts every section in its stable order (by `where`, then content). */
export function sortCollected(c: Collected): void {
  for (const rows of [c.resources, c.statements, c.keys, c.buckets, c.network, c.admission, c.images, c.trustPolicies]) {
    sortRows(rows as { where: string }[]);
  }
}
