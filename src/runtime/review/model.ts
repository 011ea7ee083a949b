/**
 * The review report's shape: what `modelseal review` reads out of synthesized CloudFormation templates and Kubernetes
 * manifests, one row type per section, and the findings. Every row carries `where`: `<stack>/<logical ID>` for a
 * template resource, `<file>#<Kind>/<namespace>/<name>` for a Kubernetes object (an object a template embeds in a
 * `KubernetesManifest` is `<stack>/<logical ID>#<Kind>/<namespace>/<name>`). Unresolved CloudFormation values are
 * written as `${LogicalId.Attribute}` (src/shared/cfn-intrinsics.ts).
 */

/** How much a finding matters. `--fail-on medium` fails on both. */
export type Severity = 'high' | 'medium';

/** One IAM policy statement, wherever it is written. */
export interface StatementRow {
  /** The resource that holds the document, e.g. `Pipeline/CiKey1234`. */
  readonly where: string;
  /** What kind of document: `identity` (role/user policy), `key`, `bucket`, `endpoint`, `repository`, `resource` (SNS/SQS), `trust`. */
  readonly document: 'identity' | 'key' | 'bucket' | 'endpoint' | 'repository' | 'resource' | 'trust';
  readonly sid?: string;
  readonly effect: string;
  /** Who: the policy's principals, or for an identity policy the roles/users/groups it is attached to. */
  readonly principals: string[];
  readonly actions: string[];
  /** `NotAction` entries (never expected in an Allow). */
  readonly notActions: string[];
  readonly resources: string[];
  /** `Operator key=value[,value]` per condition, sorted. */
  readonly conditions: string[];
}

/** A KMS key. */
export interface KeyRow {
  readonly where: string;
  /** The `modelseal:role` tag, or `-`. */
  readonly role: string;
  readonly spec: string;
  readonly usage: string;
  readonly rotation: boolean;
  readonly removal: string;
}

/** An S3 bucket. */
export interface BucketRow {
  readonly where: string;
  readonly role: string;
  /** `aws:kms ${Key.Arn}`, `AES256`, or `none`. */
  readonly encryption: string;
  /** Whether all four Block Public Access settings are on. */
  readonly blockPublicAccess: boolean;
  readonly versioning: boolean;
  /** `COMPLIANCE 3650 days`, `GOVERNANCE 1 days`, `enabled, no default retention` or `none`. */
  readonly objectLock: string;
  readonly accessLogs: string;
}

/** One network control of a build or serving environment: egress rules, VPC endpoints, DNS firewall rules. */
export interface NetworkRow {
  readonly where: string;
  readonly kind: 'egress' | 'ingress' | 'endpoint' | 'dns-firewall';
  readonly detail: string;
}

/** One admission control: a webhook, a policy, a binding, an engine's install values. */
export interface AdmissionRow {
  readonly where: string;
  readonly kind: string;
  /** `Fail`, `Ignore`, or `-` when the object has none. */
  readonly failurePolicy: string;
  /** Seconds, or `-`. */
  readonly timeoutSeconds: string;
  readonly detail: string;
}

/** One container image, with whether it is pinned by digest. */
export interface ImageRow {
  readonly where: string;
  readonly container: string;
  readonly image: string;
  readonly pinned: boolean;
}

/** A trust policy found in a ConfigMap or a file. */
export interface TrustPolicyRow {
  readonly where: string;
  /** `name: key source` per signer. */
  readonly signers: string[];
  /** `allOf [a, b]` or `atLeast 2 of [a, b, c]`. */
  readonly require: string;
  /** `predicateType by <requirement>` per required attestation, with its condition names. */
  readonly attestations: string[];
  readonly revokers: string[];
}

/** A resource the constructs tagged with its role (`modelseal:role`). */
export interface ResourceRow {
  readonly where: string;
  readonly type: string;
  readonly role: string;
}

/** One flag raised by a rule. */
export interface Finding {
  /** The rule (see rules.ts). */
  readonly rule: string;
  readonly severity: Severity;
  readonly where: string;
  readonly message: string;
}

/** The whole report (the JSON format prints exactly this). */
export interface ReviewReport {
  readonly reviewVersion: 1;
  /** The template and manifest files read, relative to the folders given. */
  readonly inputs: { readonly templates: string[]; readonly kubernetes: string[] };
  readonly resources: ResourceRow[];
  readonly statements: StatementRow[];
  readonly keys: KeyRow[];
  readonly buckets: BucketRow[];
  readonly network: NetworkRow[];
  readonly admission: AdmissionRow[];
  readonly images: ImageRow[];
  readonly trustPolicies: TrustPolicyRow[];
  readonly findings: Finding[];
}

/** The row sections of a report, in the order the Markdown prints them. */
export const SECTIONS = ['resources', 'statements', 'keys', 'buckets', 'network', 'admission', 'images', 'trustPolicies'] as const;

/** One of {@link SECTIONS}. */
export type Section = typeof SECTIONS[number];
