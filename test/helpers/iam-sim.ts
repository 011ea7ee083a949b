/**
 * Evaluates a synthesized CloudFormation template's IAM with an IAM policy simulator (`@cloud-copilot/iam-simulate`,
 * AGPL-3.0: a devDependency used only by the tests, never bundled or shipped).
 *
 * `TemplateSimulator` resolves every intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
 * Fn::GetAZs) to concrete fake values for one account and region, the same way for resource policies and identity
 * policies, then evaluates rows of `(principal, action, resource, context) -> expected decision` against:
 * - the principal's identity policies (inline `Policies`, `AWS::IAM::Policy` attached to the role, or ones given),
 * - the resource's policy: a KMS key policy, an S3 bucket policy, an ECR repository policy, a role's trust policy,
 * - the VPC endpoint policies a request goes through (`via`).
 *
 * When a row's decision is not the expected one, the error names the row and prints the decisive statements (the
 * Deny that matched, or the Allow statements that matched and the policy that did not allow), with their Sid and the
 * policy they come from.
 */
import { createHash } from 'crypto';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** The fake account every template is resolved for. */
export const ACCOUNT = '123456789012';
/** The fake region every template is resolved for. */
export const REGION = 'eu-west-1';
/** The fake partition every template is resolved for. */
export const PARTITION = 'aws';

/** The CDK bootstrap's CloudFormation execution role (modern bootstrap, default qualifier) in the same account. */
export const DEPLOY_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;

/** `AdministratorAccess`, the default `--cloudformation-execution-policies` of `cdk bootstrap`. */
export const ADMINISTRATOR_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' }],
};

/** The default SCP of every organization (`FullAWSAccess`): without it, an SCP layer allows nothing. */
const FULL_AWS_ACCESS = { Version: '2012-10-17', Statement: [{ Sid: 'FullAWSAccess', Effect: 'Allow', Action: '*', Resource: '*' }] };

/** What a row expects: `Denied` accepts an explicit or an implicit deny. */
export type Expected = 'Allowed' | 'Denied' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The principal making a request. */
export interface SimPrincipal {
  /** The principal's ARN (`arn:aws:iam::…:role/…`), or a service principal (`logs.eu-west-1.amazonaws.com`). */
  readonly arn: string;
  /** A short name for reports, e.g. `deploy role` or `RunnerRole4782C5F2`. */
  readonly label: string;
  /** The principal's identity policies, already resolved. */
  readonly identityPolicies: { name: string; policy: any }[];
}

/** One request to evaluate. */
export interface SimRow {
  /** What the row checks, in words. */
  readonly name: string;
  readonly principal: SimPrincipal;
  readonly action: string;
  /** A concrete resource ARN, or `*` for actions that support no resource-level permissions. */
  readonly resource: string;
  /** Request context keys (the principal keys, `aws:SecureTransport` and `kms:CallerAccount` are filled in). */
  readonly context?: Record<string, string | string[]>;
  /** Logical IDs of the VPC endpoints the request goes through (their policies apply). */
  readonly via?: string[];
  /**
   * The logical ID of a resource being created: resource policies defined by resources that depend on it (an
   * `AWS::S3::BucketPolicy` on a new bucket) do not exist yet and are left out.
   */
  readonly creating?: string;
  /** The account that owns the resource, when its ARN does not say (S3). @default the template's account */
  readonly resourceAccount?: string;
  /**
   * The policy of a resource outside the template (e.g. an ECR repository in another account), as the deployer must
   * set it; used instead of looking one up in the template.
   */
  readonly externalPolicy?: { name: string; kind: string; policy: any };
  /** Leave the resource's policy out (it lives in another template, e.g. the CDK assets bucket). */
  readonly noResourcePolicy?: boolean;
  /**
   * Session keys a service attaches to the credentials it hands out, used as policy variables: CodeBuild sets
   * `codebuild:buildArn` and `codebuild:projectArn` on a build's service-role session
   * (https://docs.aws.amazon.com/codebuild/latest/userguide/permissions-conditionkeys-variables.html). The simulator
   * does not know them for other services' actions, so the helper substitutes `${key}` in the principal's identity
   * policies as IAM does; a variable whose key the row does not give stays unresolved and matches nothing, which is
   * what IAM does with a missing key.
   */
  readonly session?: Record<string, string>;
  /** Service control policies that apply to the principal's account (an organization guardrail). */
  readonly scps?: { name: string; policy: any }[];
  readonly expect: Expected;
}

/** What the simulator decided for a row, and the statements that decided it. */
export interface SimResult {
  readonly row: SimRow;
  readonly decision: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  readonly ok: boolean;
  /** The statements that decided, as `<policy>: <Sid or #index>` (deny statements for a deny). */
  readonly decisive: string[];
  /** A multi-line explanation with the decisive statements' JSON. */
  readonly explanation: string;
}

type Json = any;

const AZS = ['a', 'b', 'c'].map((s) => `${REGION}${s}`);

/** A deterministic fake id: the same logical ID always gets the same value. */
function fakeId(logicalId: string, len = 17): string {
  return createHash('sha256').update(logicalId).digest('hex').slice(0, len);
}

function fakeUuid(logicalId: string): string {
  const h = fakeId(logicalId, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Every condition key the simulator cannot take as it is (it does not match `kms:EncryptionContext:<key>`). */
const ALIASED_KEY = /^kms:EncryptionContext:(.+)$/i;
/**
 * iam-simulate 0.1.x matches variable condition keys only when the variable follows a `/` (as in
 * `aws:RequestTag/<key>`), so `kms:EncryptionContext:aws:s3:arn` would be dropped from the request and every
 * condition on it would fail. Both the policies and the request carry it under a `/` alias of the same type
 * (String), so the evaluation is the same; reports show the original statements.
 */
function aliasKey(key: string): string {
  return ALIASED_KEY.test(key) ? `aws:RequestTag/${key}` : key;
}

function aliasConditions(policy: Json): Json {
  const copy = JSON.parse(JSON.stringify(policy));
  for (const s of [copy.Statement ?? []].flat()) {
    for (const op of Object.keys(s.Condition ?? {})) {
      const block = s.Condition[op];
      s.Condition[op] = Object.fromEntries(Object.entries(block).map(([k, v]) => [aliasKey(k), v]));
    }
  }
  return copy;
}

/**
 * In an endpoint policy `"Principal": {"AWS": "*"}` (what CDK writes) and `"Principal": "*"` mean the same; the
 * simulator accepts only the second form there.
 */
function anyPrincipalAsStar(policy: Json): Json {
  for (const s of [policy.Statement ?? []].flat()) {
    if (s.Principal && typeof s.Principal === 'object' && s.Principal.AWS === '*' && Object.keys(s.Principal).length === 1) s.Principal = '*';
  }
  return policy;
}

/** Replaces `${key}` policy variables of the session keys given (see {@link SimRow.session}). */
function substituteSession(policy: Json, session: Record<string, string> | undefined): Json {
  if (!session) return policy;
  let text = JSON.stringify(policy);
  for (const [k, v] of Object.entries(session)) text = text.split(`\${${k}}`).join(v);
  return JSON.parse(text);
}

function statementLabel(policyName: string, policy: Json, index: number): string {
  const s = [policy.Statement].flat()[index];
  if (s?.Sid === policyName) return policyName;
  // a statement without a Sid is named by its actions: stable when other statements come and go
  return `${policyName}: ${s?.Sid ?? `[${[s?.Action ?? s?.NotAction ?? `#${index}`].flat().join(' ')}]`}`;
}

/**
 * A synthesized template, resolved for account 123456789012 in eu-west-1, that evaluates rows of requests.
 */
export class TemplateSimulator {
  /** Synthesizes `stack` and resolves its template. */
  public static fromStack(stack: Stack): TemplateSimulator {
    return new TemplateSimulator(Template.fromStack(stack).toJSON(), stack.stackName);
  }

  /** The resolved template (every intrinsic replaced by a concrete value). */
  public readonly resolved: Json;
  private readonly physical = new Map<string, string>();

  constructor(public readonly template: Json, public readonly stackName = 'Stack') {
    for (const [id, r] of Object.entries<Json>(template.Resources ?? {})) {
      this.physical.set(id, this.physicalId(id, r));
    }
    this.resolved = this.resolve(template.Resources ?? {});
  }

  /** The resolved value of `Ref` on a resource. */
  public ref(logicalId: string): string {
    return this.resolveNode({ Ref: logicalId });
  }

  /** The resolved value of `Fn::GetAtt` on a resource (`Arn` by default). */
  public arn(logicalId: string, attribute = 'Arn'): string {
    return this.resolveNode({ 'Fn::GetAtt': [logicalId, attribute] });
  }

  /** Logical IDs of the resources of one type, in template order. */
  public idsOfType(type: string): string[] {
    return Object.entries<Json>(this.template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  }

  /** The one logical ID of `type` whose ID starts with `prefix` (fails if there is not exactly one). */
  public idOf(type: string, prefix: string): string {
    const ids = this.idsOfType(type).filter((id) => id.startsWith(prefix));
    if (ids.length !== 1) throw new Error(`expected one ${type} starting with '${prefix}', found ${JSON.stringify(ids)}`);
    return ids[0];
  }

  /** The resolved properties of a resource. */
  public props(logicalId: string): Json {
    const r = this.resolved[logicalId];
    if (!r) throw new Error(`no resource '${logicalId}' in the template`);
    return r.Properties ?? {};
  }

  /** A role of this template as a principal, with its inline policies and every `AWS::IAM::Policy` attached to it. */
  public role(logicalId: string): SimPrincipal {
    const r = this.resolved[logicalId];
    if (r?.Type !== 'AWS::IAM::Role') throw new Error(`'${logicalId}' is not an AWS::IAM::Role`);
    const name = this.ref(logicalId);
    const identityPolicies: { name: string; policy: Json }[] = [];
    for (const inline of r.Properties.Policies ?? []) identityPolicies.push({ name: `${logicalId}/${inline.PolicyName}`, policy: inline.PolicyDocument });
    for (const [id, p] of Object.entries<Json>(this.resolved)) {
      if (p.Type === 'AWS::IAM::Policy' && (p.Properties.Roles ?? []).includes(name)) {
        identityPolicies.push({ name: id, policy: p.Properties.PolicyDocument });
      }
    }
    if ((r.Properties.ManagedPolicyArns ?? []).length > 0) {
      identityPolicies.push(...(r.Properties.ManagedPolicyArns as string[]).map((arn) => managedPolicy(arn)));
    }
    return { arn: this.arn(logicalId), label: logicalId, identityPolicies };
  }

  /** The deploying principal: the CDK bootstrap's CloudFormation execution role with `AdministratorAccess`. */
  public deployRole(): SimPrincipal {
    return { arn: DEPLOY_ROLE_ARN, label: 'deploy role', identityPolicies: [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }] };
  }

  /** Any other principal of the account, with the identity policies given (e.g. an administrator). */
  public principal(arn: string, label: string, identityPolicies: { name: string; policy: Json }[] = []): SimPrincipal {
    return { arn, label, identityPolicies };
  }

  /** An AWS service principal (no identity policies; resource policies decide). */
  public service(name: string): SimPrincipal {
    return { arn: name, label: name, identityPolicies: [] };
  }

  /** Evaluates one row. */
  public async evaluate(row: SimRow): Promise<SimResult> {
    const resourcePolicy = row.noResourcePolicy ? undefined : row.externalPolicy ?? this.resourcePolicyFor(row);
    const endpoints = (row.via ?? []).map((id) => {
      const r = this.resolved[id];
      if (r?.Type !== 'AWS::EC2::VPCEndpoint') throw new Error(`row '${row.name}': '${id}' is not an AWS::EC2::VPCEndpoint`);
      // an endpoint without a policy has the default one: full access
      const policy = r.Properties.PolicyDocument ?? { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] };
      return { name: id, policy };
    });

    const isService = !row.principal.arn.startsWith('arn:');
    const context: Record<string, string | string[]> = { 'aws:SecureTransport': 'true' };
    if (isService) {
      context['aws:PrincipalIsAWSService'] = 'true';
      context['aws:PrincipalServiceName'] = row.principal.arn;
    } else {
      context['aws:PrincipalArn'] = row.principal.arn;
      context['aws:PrincipalAccount'] = row.principal.arn.split(':')[4];
      context['aws:PrincipalIsAWSService'] = 'false';
      if (row.action.startsWith('kms:')) context['kms:CallerAccount'] = row.principal.arn.split(':')[4];
    }
    for (const [k, v] of Object.entries(row.context ?? {})) context[k] = v;
    const aliasedContext = Object.fromEntries(Object.entries(context).map(([k, v]) => [aliasKey(k), v]));

    const response = await runSimulation({
      request: {
        principal: row.principal.arn,
        action: row.action,
        resource: { resource: row.resource, accountId: row.resourceAccount ?? this.resourceAccount(row.resource) },
        contextVariables: aliasedContext,
      },
      identityPolicies: row.principal.identityPolicies
        .map((p) => ({ name: p.name, policy: substituteSession(aliasConditions(p.policy), row.session) })),
      // one organization level: AWS's default FullAWSAccess beside the row's guardrails, as attached in practice
      serviceControlPolicies: row.scps?.length ? [{
        orgIdentifier: 'r-root',
        policies: [{ name: 'FullAWSAccess', policy: FULL_AWS_ACCESS }, ...row.scps.map((p) => ({ name: p.name, policy: aliasConditions(p.policy) }))],
      }] : [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy ? aliasConditions(resourcePolicy.policy) : undefined,
      vpcEndpointPolicies: endpoints.map((e) => ({ name: e.name, policy: anyPrincipalAsStar(aliasConditions(e.policy)) })),
    }, {});

    if (response.resultType === 'error') {
      throw new Error(`row '${row.name}': the simulator refused the input: ${JSON.stringify(response.errors, null, 2)}`);
    }
    const result = response.resultType === 'single' ? response.result : response.results[0];
    if (!result) throw new Error(`row '${row.name}': the simulator returned no result for ${row.resource}`);
    // keys the helper fills in for every request may not apply to every action; the row's own keys must
    const given = new Set(Object.keys(row.context ?? {}).map((k) => aliasKey(k).toLowerCase()));
    const ignored = (result.ignoredContextKeys ?? []).filter((k) => given.has(k.toLowerCase()));
    if (ignored.length > 0) {
      throw new Error(`row '${row.name}': context keys ${ignored.join(', ')} do not apply to ${row.action} on ${row.resource}; ` +
        'a condition on them would be evaluated as absent, so the row would not test what it says');
    }
    const analysis = result.analysis;
    const decision = response.overallResult;
    const ok = row.expect === 'Denied' ? decision !== 'Allowed' : decision === row.expect;

    const policies: Record<string, { kind: string; policy: Json }> = {};
    for (const p of row.principal.identityPolicies) policies[p.name] = { kind: 'identity policy', policy: p.policy };
    for (const p of row.scps ?? []) policies[p.name] = { kind: 'service control policy', policy: p.policy };
    if (resourcePolicy) policies[resourcePolicy.name] = { kind: resourcePolicy.kind, policy: resourcePolicy.policy };
    for (const e of endpoints) policies[e.name] = { kind: 'VPC endpoint policy', policy: e.policy };

    const decisive: string[] = [];
    const details: string[] = [];
    const collect = (kind: string, section: any, which: 'denyStatements' | 'allowStatements') => {
      for (const s of section?.[which] ?? []) {
        // the simulator numbers statements from 1; resource and endpoint policies may carry no id of ours
        const index: number = (s.statement?.index?.() ?? 1) - 1;
        const byId = s.policyId !== undefined ? policies[s.policyId] : undefined;
        const fallback = Object.entries(policies).find(([, p]) => p.kind === kind);
        const policyName: string = byId ? s.policyId : fallback?.[0] ?? kind;
        const source = byId ?? fallback?.[1];
        const label = source ? statementLabel(policyName, source.policy, index) : `${policyName}: statement #${index}`;
        decisive.push(label);
        const statement = source ? [source.policy.Statement].flat()[index] : undefined;
        details.push(`  ${which === 'denyStatements' ? 'DENY ' : 'ALLOW'} ${kind} ${label}\n${indent(JSON.stringify(statement, null, 2), 6)}`);
      }
    };
    const sections: [string, any][] = [
      ...(row.scps?.length ? [['service control policy', analysis.scpAnalysis?.ouAnalysis?.[0]] as [string, any]] : []),
      ['identity policy', analysis.identityAnalysis],
      [resourcePolicy?.kind ?? 'resource policy', analysis.resourceAnalysis],
      ['VPC endpoint policy', analysis.endpointAnalysis],
    ];
    if (decision === 'ExplicitlyDenied') {
      for (const [kind, section] of sections) collect(kind, section, 'denyStatements');
    } else {
      for (const [kind, section] of sections) collect(kind, section, 'allowStatements');
    }
    const summary = sections.map(([kind, s]) => `${kind}: ${s?.result ?? 'not evaluated'}`).join('; ');
    const explanation = [
      `row '${row.name}': ${row.principal.label} ${row.action} on ${row.resource}` +
        `${row.via?.length ? ` via ${row.via.join(', ')}` : ''} -> ${decision} (expected ${row.expect})`,
      `  ${summary}`,
      ...(details.length ? details : ['  no statement matched the request']),
      ...(decision === 'ImplicitlyDenied' && resourcePolicy ? [`  the ${resourcePolicy.kind} of ${resourcePolicy.name} has no Allow for it`] : []),
    ].join('\n');
    return { row, decision, ok, decisive, explanation };
  }

  /** Evaluates every row (in parallel) and returns the results in row order. */
  public async evaluateAll(rows: SimRow[]): Promise<SimResult[]> {
    return Promise.all(rows.map((r) => this.evaluate(r)));
  }

  /** Evaluates every row and throws one error listing every row whose decision is not the expected one. */
  public async expectRows(rows: SimRow[]): Promise<SimResult[]> {
    const results = await this.evaluateAll(rows);
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new Error(`${failed.length} of ${results.length} rows did not get the expected decision:\n\n${failed.map((f) => f.explanation).join('\n\n')}`);
    }
    return results;
  }

  /** Replaces a resource's property (before resolution) and returns a new simulator: for tests that break a policy. */
  public withChange(change: (template: Json) => void): TemplateSimulator {
    const copy = JSON.parse(JSON.stringify(this.template));
    change(copy);
    return new TemplateSimulator(copy, this.stackName);
  }

  // ---- resource policies ---------------------------------------------------------------------------------------

  private resourcePolicyFor(row: SimRow): { name: string; kind: string; policy: Json } | undefined {
    const arn = row.resource;
    const skip = row.creating ? this.dependents(row.creating) : new Set<string>();
    if (arn.startsWith(`arn:${PARTITION}:kms:`) && arn.includes(':key/')) {
      const id = this.findResource('AWS::KMS::Key', (lid) => this.arn(lid) === arn);
      return id ? { name: id, kind: 'key policy', policy: this.props(id).KeyPolicy } : undefined;
    }
    if (arn.startsWith(`arn:${PARTITION}:s3:::`)) {
      const bucket = arn.slice(`arn:${PARTITION}:s3:::`.length).split('/')[0];
      const id = this.findResource('AWS::S3::BucketPolicy', (lid) => this.props(lid).Bucket === bucket && !skip.has(lid));
      return id ? { name: id, kind: 'bucket policy', policy: this.props(id).PolicyDocument } : undefined;
    }
    if (arn.startsWith(`arn:${PARTITION}:iam::`) && row.action.startsWith('sts:')) {
      const id = this.findResource('AWS::IAM::Role', (lid) => this.arn(lid) === arn);
      return id ? { name: id, kind: 'trust policy', policy: this.props(id).AssumeRolePolicyDocument } : undefined;
    }
    if (arn.startsWith(`arn:${PARTITION}:ecr:`)) {
      const id = this.findResource('AWS::ECR::Repository', (lid) => this.arn(lid) === arn);
      const policy = id ? this.props(id).RepositoryPolicyText : undefined;
      return policy ? { name: id!, kind: 'repository policy', policy } : undefined;
    }
    return undefined;
  }

  private findResource(type: string, match: (logicalId: string) => boolean): string | undefined {
    return this.idsOfType(type).find(match);
  }

  /** Every resource that depends on `logicalId` (Ref, Fn::GetAtt, Fn::Sub, DependsOn), transitively. */
  private dependents(logicalId: string): Set<string> {
    const direct = new Map<string, Set<string>>();
    for (const [id, r] of Object.entries<Json>(this.template.Resources)) {
      for (const dep of references(r)) {
        if (!direct.has(dep)) direct.set(dep, new Set());
        direct.get(dep)!.add(id);
      }
    }
    const out = new Set<string>();
    const visit = (id: string) => {
      for (const d of direct.get(id) ?? []) {
        if (!out.has(d)) { out.add(d); visit(d); }
      }
    };
    visit(logicalId);
    return out;
  }

  private resourceAccount(arn: string): string {
    if (arn === '*') return ACCOUNT;
    const account = arn.split(':')[4];
    return account && /^\d{12}$/.test(account) ? account : ACCOUNT;
  }

  // ---- resolution ----------------------------------------------------------------------------------------------

  private physicalId(id: string, r: Json): string {
    const p = r.Properties ?? {};
    const generated = `${this.stackName}-${id}`.slice(0, 60);
    // a name given as a string, or built from pseudo parameters only (e.g. `<name>-${AWS::Region}`)
    const pseudoOnly = (v: unknown) => typeof v === 'object' && v !== null && !/"(Fn::GetAtt|Fn::ImportValue)"|"Ref":"(?!AWS::)/.test(JSON.stringify(v));
    const literal = (v: unknown) => (typeof v === 'string' ? v : pseudoOnly(v) ? String(this.resolveNode(v as Json)) : undefined);
    switch (r.Type) {
      case 'AWS::S3::Bucket': return literal(p.BucketName) ?? generated.toLowerCase();
      case 'AWS::KMS::Key': return fakeUuid(id);
      case 'AWS::KMS::Alias': return literal(p.AliasName) ?? `alias/${id}`;
      case 'AWS::IAM::Role': return literal(p.RoleName) ?? generated;
      case 'AWS::Logs::LogGroup': return literal(p.LogGroupName) ?? generated;
      case 'AWS::ECR::Repository': return literal(p.RepositoryName) ?? generated.toLowerCase();
      case 'AWS::CodeBuild::Project': return literal(p.Name) ?? generated;
      case 'AWS::Lambda::Function': return literal(p.FunctionName) ?? generated;
      case 'AWS::EC2::VPC': return `vpc-${fakeId(id)}`;
      case 'AWS::EC2::Subnet': return `subnet-${fakeId(id)}`;
      case 'AWS::EC2::SecurityGroup': return `sg-${fakeId(id)}`;
      case 'AWS::EC2::VPCEndpoint': return `vpce-${fakeId(id)}`;
      case 'AWS::EC2::RouteTable': return `rtb-${fakeId(id)}`;
      case 'AWS::EC2::LaunchTemplate': return `lt-${fakeId(id)}`;
      case 'AWS::IAM::InstanceProfile': return generated;
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': return `arn:${PARTITION}:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/net/${generated.slice(0, 32)}/${fakeId(id, 16)}`;
      case 'AWS::ElasticLoadBalancingV2::TargetGroup': return `arn:${PARTITION}:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${generated.slice(0, 32)}/${fakeId(id, 16)}`;
      default: return generated;
    }
  }

  private resolve(node: Json): Json {
    return this.resolveNode(node);
  }

  private resolveNode(node: Json): Json {
    if (Array.isArray(node)) return node.map((n) => this.resolveNode(n)).filter((n) => n !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [k] = keys;
      const v = node[k];
      switch (k) {
        case 'Ref': return this.resolveRef(v);
        case 'Fn::GetAtt': return this.resolveGetAtt(...(Array.isArray(v) ? v : String(v).split('.')) as [string, string]);
        case 'Fn::Join': return (this.resolveNode(v[1]) as string[]).join(v[0]);
        case 'Fn::Select': return this.resolveNode(v[1])[Number(this.resolveNode(v[0]))];
        case 'Fn::Split': return String(this.resolveNode(v[1])).split(v[0]);
        case 'Fn::GetAZs': return AZS;
        case 'Fn::Sub': return this.resolveSub(v);
        case 'Fn::Base64': return Buffer.from(String(this.resolveNode(v)), 'utf8').toString('base64');
        case 'Fn::If': return this.condition(v[0]) ? this.resolveNode(v[1]) : this.resolveNode(v[2]);
        case 'Fn::ImportValue':
        case 'Fn::FindInMap':
        case 'Fn::Cidr':
          throw new Error(`TemplateSimulator: ${k} is not supported (resolve it in the helper before relying on it): ${JSON.stringify(node)}`);
        default:
      }
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, this.resolveNode(v)]).filter(([, v]) => v !== NO_VALUE));
  }

  /** Evaluates a template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) in the simulated region. */
  private condition(name: string): boolean {
    const evaluate = (c: Json): boolean => {
      const [k] = Object.keys(c);
      const v = c[k];
      switch (k) {
        case 'Fn::Equals': return JSON.stringify(this.resolveNode(v[0])) === JSON.stringify(this.resolveNode(v[1]));
        case 'Fn::Not': return !evaluate(v[0]);
        case 'Fn::And': return v.every(evaluate);
        case 'Fn::Or': return v.some(evaluate);
        case 'Condition': return this.condition(v);
        default: throw new Error(`TemplateSimulator: condition function ${k} is not supported`);
      }
    };
    const c = this.template.Conditions?.[name];
    if (!c) throw new Error(`TemplateSimulator: unknown condition '${name}'`);
    return evaluate(c);
  }

  private resolveRef(name: string): Json {
    switch (name) {
      case 'AWS::AccountId': return ACCOUNT;
      case 'AWS::Region': return REGION;
      case 'AWS::Partition': return PARTITION;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.stackName;
      case 'AWS::StackId': return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${this.stackName}/${fakeUuid(this.stackName)}`;
      case 'AWS::NoValue': return NO_VALUE;
      default:
    }
    const param = this.template.Parameters?.[name];
    if (param) return param.Default;
    const r = this.template.Resources?.[name];
    if (!r) throw new Error(`TemplateSimulator: Ref to unknown '${name}'`);
    switch (r.Type) {
      // these types return their ARN from Ref
      case 'AWS::Signer::SigningProfile': return this.resolveGetAtt(name, 'Arn');
      default: return this.physical.get(name)!;
    }
  }

  private resolveGetAtt(id: string, attr: string): Json {
    const r = this.template.Resources?.[id];
    if (!r) throw new Error(`TemplateSimulator: Fn::GetAtt on unknown '${id}'`);
    const name = this.physical.get(id)!;
    const a = `${r.Type}.${attr}`;
    switch (a) {
      case 'AWS::KMS::Key.Arn': return `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${name}`;
      case 'AWS::KMS::Key.KeyId': return name;
      case 'AWS::S3::Bucket.Arn': return `arn:${PARTITION}:s3:::${name}`;
      case 'AWS::S3::Bucket.DomainName': return `${name}.s3.amazonaws.com`;
      case 'AWS::S3::Bucket.RegionalDomainName': return `${name}.s3.${REGION}.amazonaws.com`;
      case 'AWS::IAM::Role.Arn': return `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`;
      case 'AWS::IAM::InstanceProfile.Arn': return `arn:${PARTITION}:iam::${ACCOUNT}:instance-profile/${name}`;
      case 'AWS::EC2::LaunchTemplate.LatestVersionNumber': return '1';
      case 'AWS::IAM::Role.RoleId': return `AROA${fakeId(id, 17).toUpperCase()}`;
      case 'AWS::Logs::LogGroup.Arn': return `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${name}:*`;
      case 'AWS::ECR::Repository.Arn': return `arn:${PARTITION}:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
      case 'AWS::ECR::Repository.RepositoryUri': return `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`;
      case 'AWS::CodeBuild::Project.Arn': return `arn:${PARTITION}:codebuild:${REGION}:${ACCOUNT}:project/${name}`;
      case 'AWS::Lambda::Function.Arn': return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      case 'AWS::Signer::SigningProfile.Arn': return `arn:${PARTITION}:signer:${REGION}:${ACCOUNT}:/signing-profiles/${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
      case 'AWS::Signer::SigningProfile.ProfileName': return name.replace(/[^A-Za-z0-9_]/g, '_');
      case 'AWS::EC2::VPC.CidrBlock': return '10.0.0.0/16';
      case 'AWS::EC2::SecurityGroup.GroupId': return name;
      case 'AWS::EC2::VPCEndpoint.Id': return name;
      case 'AWS::Events::Rule.Arn': return `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${name}`;
      case 'Custom::AWS.PrefixLists.0.PrefixListId': return 'pl-6da54004';
      case 'AWS::EC2::EIP.AllocationId': return `eipalloc-${fakeId(id, 17)}`;
      case 'AWS::EKS::Cluster.Arn': return `arn:${PARTITION}:eks:${REGION}:${ACCOUNT}:cluster/${name}`;
      case 'AWS::EKS::Cluster.ClusterSecurityGroupId': return `sg-${fakeId(id, 17)}`;
      case 'AWS::Route53Resolver::FirewallDomainList.Id': return `rslvr-fdl-${fakeId(id)}`;
      case 'AWS::Route53Resolver::FirewallRuleGroup.Id': return `rslvr-frg-${fakeId(id)}`;
      default:
        throw new Error(`TemplateSimulator: no fake value for Fn::GetAtt ${a} (add one to test/helpers/iam-sim.ts)`);
    }
  }

  private resolveSub(v: Json): string {
    const [text, vars] = Array.isArray(v) ? v : [v, {}];
    return String(text).replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (vars[name] !== undefined) return String(this.resolveNode(vars[name]));
      if (name.includes('.')) {
        const [id, ...attr] = name.split('.');
        return String(this.resolveGetAtt(id, attr.join('.')));
      }
      return String(this.resolveRef(name));
    });
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/** The logical IDs a resource refers to. */
function references(node: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) { for (const n of node) references(n, out); return out; }
  if (node === null || typeof node !== 'object') return out;
  for (const [k, v] of Object.entries<Json>(node)) {
    if (k === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) {out.add(v);} else if (k === 'Fn::GetAtt') {out.add(Array.isArray(v) ? v[0] : String(v).split('.')[0]);} else if (k === 'DependsOn') {for (const d of [v].flat()) out.add(d);} else if (k === 'Fn::Sub') {
      const text = Array.isArray(v) ? v[0] : v;
      for (const m of String(text).matchAll(/\$\{([^}!.]+)[^}]*\}/g)) if (!m[1].startsWith('AWS::')) out.add(m[1]);
      if (Array.isArray(v)) references(v[1], out);
    } else {references(v, out);}
  }
  return out;
}

/** The AWS managed policies the CDK helper roles use, written out (only what the rows need). */
function managedPolicy(arn: string): { name: string; policy: Json } {
  if (arn.endsWith(':policy/service-role/AWSLambdaBasicExecutionRole')) {
    return {
      name: 'AWSLambdaBasicExecutionRole',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }] },
    };
  }
  throw new Error(`TemplateSimulator: managed policy ${arn} is not written out in test/helpers/iam-sim.ts`);
}

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}
