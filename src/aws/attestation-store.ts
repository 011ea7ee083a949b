import { Annotations, Duration, IResource, RemovalPolicy, Resource, Stack, Token, TokenComparison, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  STORE_DENIED_MUTATIONS,
  STORE_KEY_DECRYPT_ACTIONS,
  STORE_KEY_ENCRYPT_ACTIONS,
  STORE_PUBLISH_ACTIONS,
  STORE_READ_BUCKET_ACTIONS,
  STORE_READ_OBJECT_ACTIONS,
  SYMMETRIC_KEY_ADMIN_ACTIONS,
} from './perms';
import { createAccessLogsBucket, deliverAccessLogs, HARDENED_BUCKET } from '../private/access-logs';
import { tagRole } from '../private/role-tag';
import { STORE_PREFIXES } from '../private/store-layout';
import { checkIntRange, propError } from '../private/validation';
import { MODEL_NAME_RULE, modelNameProblem } from '../shared/model-name';
import { refFolder, WRITE_AUTHORITIES } from '../shared/store-layout';
import { STORE_PREFIX_RULE, storePrefixProblem } from '../shared/store-prefix';

/**
 * The key prefixes of the store, identical in S3 and in the local store of the `modelseal` CLI.
 *
 * Every object is write-once and content-addressed (its own SHA-256 is part of its key), except `refs/`, which
 * maps a model name and version to a digest and is still write-once.
 */
export const ATTESTATION_STORE_PREFIXES: readonly string[] = STORE_PREFIXES;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : value === '' ? "''" : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * How S3 Object Lock protects each attestation for its retention period.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes
 */
export enum AttestationRetentionMode {
  /** No one, not even the account root, can delete or shorten the retention of an object until it expires. */
  COMPLIANCE = 'COMPLIANCE',
  /** Principals with `s3:BypassGovernanceRetention` could delete objects (the store's bucket policy still denies it). */
  GOVERNANCE = 'GOVERNANCE',
}

/**
 * An attestation store: defined in this app ({@link AttestationStore}) or imported.
 *
 * Write authority is split three ways, because each kind of object carries a different power: a bundle or an
 * attestation only adds evidence about a digest, a revocation can deny a digest for as long as the retention lasts,
 * and a reference decides which digest a model name and version resolve to. Give each principal only the one it needs.
 */
export interface IAttestationStore extends IResource {
  /** The bucket that holds the attestations. */
  readonly bucket: s3.IBucket;

  /** The KMS key every object is encrypted with (SSE-KMS). Clients must name its ARN on every upload. */
  readonly encryptionKey: kms.IKey;

  /**
   * The name of the bucket.
   *
   * @attribute
   */
  readonly bucketName: string;

  /**
   * The key prefix of the store inside its bucket: `''` (the bucket root) or a path ending with `/`. Every key of the
   * layout (`bundles/...`, `refs/...`) lives under it, and every grant is scoped to it.
   */
  readonly prefix: string;

  /**
   * The `s3://` URI the `modelseal` CLI takes as `--store`: `s3://<bucket>` or `s3://<bucket>/<prefix>`.
   *
   * @attribute
   */
  readonly storeUri: string;

  /**
   * Lets `grantee` publish evidence: bundles, attestations and Notation signatures (`bundles/`, `attestations/`,
   * `notation/`), never revocations or references.
   *
   * Grants `s3:PutObject` on those prefixes and `kms:GenerateDataKey` on the store key through S3 only: no read, no
   * delete, no retention change. Overwrites are refused by the bucket policy (`If-None-Match` is required). A grantee
   * in another account gets the same statements in the bucket policy and the store key policy.
   */
  grantPublish(grantee: iam.IGrantable): iam.Grant;

  /**
   * Lets `grantee` write revocation records (`revocations/`): `s3:PutObject` there and `kms:GenerateDataKey` through
   * S3. A revocation denies a digest for every policy that names its signer as a revoker, for as long as the store
   * keeps it: grant this to the people who may withdraw a model, not to a build.
   */
  grantRevoke(grantee: iam.IGrantable): iam.Grant;

  /**
   * Lets `grantee` set the references of one model: `s3:PutObject` on `refs/<modelName>/*` only (and an explicit
   * Deny on `refs/<modelName>/*` + `/*`, so it cannot write the references of a model named under it, such as
   * `<modelName>/v2`), with `kms:GenerateDataKey` through S3.
   *
   * @param modelName the model's name, as `modelseal ref set` takes it (1-200 characters of A-Z a-z 0-9 . _ - and
   *   `/`, each `/`-separated part starting with a letter or digit)
   * @throws if the name is not a valid model name, or if the grantee already holds the references of a name above
   *   or below this one (one Deny would then cancel the other's Allow)
   */
  grantSetRef(grantee: iam.IGrantable, modelName: string): iam.Grant;

  /**
   * Lets `grantee` list and read everything under the store prefixes, including each key's versions and delete
   * markers, and decrypt it through S3.
   *
   * Grants `s3:GetObject`, `s3:GetObjectVersion`, `s3:ListBucket` and `s3:ListBucketVersions` (the lists limited to
   * the store prefixes with `s3:prefix`) and `kms:Decrypt` through S3. A grantee in another account (a verifier role
   * there) gets the same statements in the bucket policy and the store key policy; its own account must allow them
   * in its IAM policy too.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant;
}

/**
 * Attributes for importing an attestation store made elsewhere.
 */
export interface AttestationStoreAttributes {
  /** The name of the bucket (3 to 63 lowercase letters, digits, dots and hyphens). */
  readonly bucketName: string;

  /**
   * The ARN of the bucket's SSE-KMS key, `arn:<partition>:kms:<region>:<account>:key/<key-id>`.
   *
   * Not an alias: grants and the upload header need the key ARN.
   */
  readonly encryptionKeyArn: string;

  /**
   * The key prefix of the store inside the bucket, e.g. `team-a/` (a trailing `/` is added when missing). Grants are
   * scoped to it.
   *
   * @default '' (the bucket root)
   */
  readonly prefix?: string;
}

/**
 * Properties of an {@link AttestationStore}.
 */
export interface AttestationStoreProps {
  /**
   * The Object Lock retention mode applied by default to every object.
   *
   * COMPLIANCE is the default because an attestation is evidence: under COMPLIANCE no principal, including the
   * account root, can delete it or shorten its retention. Choose GOVERNANCE only if you accept that a principal with
   * `s3:BypassGovernanceRetention` (denied by this store's bucket policy, which an account admin could change) can
   * remove evidence.
   *
   * The bucket policy denies `s3:PutBucketObjectLockConfiguration` to every principal, the deploying role included,
   * so the mode and the days are fixed once the store is deployed: changing them later fails the stack update.
   *
   * @default AttestationRetentionMode.COMPLIANCE
   */
  readonly retentionMode?: AttestationRetentionMode;

  /**
   * How long each object is locked, in days (1 to 36500).
   *
   * Ten years by default: the EU AI Act keeps high-risk AI system documentation for ten years after the system is
   * placed on the market, and attestations are small. Fixed once deployed (see `retentionMode`).
   *
   * @default 3650
   */
  readonly retentionDays?: number;

  /**
   * The name of the bucket.
   *
   * @default - generated by CloudFormation
   */
  readonly bucketName?: string;

  /**
   * A key prefix for the store inside its bucket, e.g. `models/` (a trailing `/` is added when missing): every key
   * of the layout lives under it, the store URI is `s3://<bucket>/<prefix>`, and every grant is scoped to it. The
   * bucket policy (append-only, SSE-KMS, write-once) still covers the whole bucket.
   *
   * @default '' (the bucket root)
   */
  readonly prefix?: string;

  /**
   * How long server access logs are kept, in days (1 to 36500).
   *
   * @default 365
   */
  readonly accessLogsRetentionDays?: number;

  /**
   * Principals that administer the store's KMS key (listed key-administration actions only, never decrypt).
   *
   * KMS refuses a key policy that would lock out the principal creating it, so when you name administrators, include
   * the role that deploys the stack (e.g. the CDK CloudFormation execution role).
   *
   * @default - the account root principal, so IAM policies in this account decide
   */
  readonly keyAdmins?: iam.IPrincipal[];

  /**
   * What happens to the buckets and the key when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * SANDBOX ONLY, never for production: expire every attestation this many days after it was written, so a
   * throwaway store empties itself and can then be deleted by hand.
   *
   * Adds a lifecycle rule, set when the bucket is created, that expires current versions after this many days and
   * deletes noncurrent versions one day later (S3 lifecycle never deletes a version before its Object Lock retention
   * ends), and a second rule that removes the expired delete markers. The bucket policy still denies
   * `s3:PutLifecycleConfiguration` to every principal, so the rule can be neither added to an existing store nor
   * changed or removed later: choose it when the store is created.
   *
   * Needs `retentionMode: GOVERNANCE` and a value greater than `retentionDays`, 2 to 3650. The construct adds a
   * warning to the synth output saying the store is a sandbox store.
   *
   * @default - attestations never expire
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-lifecycle
   */
  readonly sandboxExpirationDays?: number;
}

abstract class AttestationStoreBase extends Resource implements IAttestationStore {
  public abstract readonly bucket: s3.IBucket;
  public abstract readonly encryptionKey: kms.IKey;
  public abstract readonly prefix: string;
  /** The model names each grantee may set references for (grantSetRef), to refuse nested names for one grantee. */
  private readonly refNames = new Map<iam.IGrantable, string[]>();

  public get bucketName(): string {
    return this.bucket.bucketName;
  }

  public get storeUri(): string {
    return `s3://${this.bucket.bucketName}${this.prefix === '' ? '' : `/${this.prefix}`}`;
  }

  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    const put = this.grantObjects(grantee, STORE_PUBLISH_ACTIONS, WRITE_AUTHORITIES.publish.map((f) => `${f}*`));
    return put.combine(this.grantKey(grantee, STORE_KEY_ENCRYPT_ACTIONS));
  }

  public grantRevoke(grantee: iam.IGrantable): iam.Grant {
    const put = this.grantObjects(grantee, STORE_PUBLISH_ACTIONS, WRITE_AUTHORITIES.revoke.map((f) => `${f}*`));
    return put.combine(this.grantKey(grantee, STORE_KEY_ENCRYPT_ACTIONS));
  }

  public grantSetRef(grantee: iam.IGrantable, modelName: string): iam.Grant {
    const where = `AttestationStore '${this.node.path}'`;
    if (typeof modelName !== 'string') {
      throw new Error(`${where}: grantSetRef needs a model name, got ${describe(modelName)}`);
    }
    if (!Token.isUnresolved(modelName)) {
      const problem = modelNameProblem(modelName);
      if (problem) throw new Error(`${where}: grantSetRef model name '${modelName}' ${problem}; ${MODEL_NAME_RULE}`);
      const held = this.refNames.get(grantee) ?? [];
      const clash = held.find((n) => n !== modelName && (n.startsWith(`${modelName}/`) || modelName.startsWith(`${n}/`)));
      if (clash) {
        throw new Error(`${where}: grantSetRef('${modelName}') for a grantee that already sets the references of '${clash}': ` +
          'one name is under the other, and the Deny that keeps each grant to its own name would cancel the other\'s Allow; use separate roles');
      }
      this.refNames.set(grantee, [...held, modelName]);
    }
    const refs = refFolder(modelName);
    const put = this.grantObjects(grantee, STORE_PUBLISH_ACTIONS, [`${refs}*`]);
    // IAM's * also matches "/", so refs/<name>/* alone would cover refs/<name>/<sub>/<version>, the references of
    // another model named <name>/<sub>; versions never contain "/", so a Deny on refs/<name>/*/* removes exactly those
    const nested = new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      actions: STORE_PUBLISH_ACTIONS,
      resources: [this.bucket.arnForObjects(`${this.prefix}${refs}*/*`)],
    });
    if (put.principalStatement) grantee.grantPrincipal.addToPrincipalPolicy(nested);
    if (put.resourceStatement) {
      this.bucket.addToResourcePolicy(new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [grantee.grantPrincipal],
        actions: STORE_PUBLISH_ACTIONS,
        resources: nested.resources,
      }));
    }
    return put.combine(this.grantKey(grantee, STORE_KEY_ENCRYPT_ACTIONS));
  }

  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const objects = this.grantObjects(grantee, STORE_READ_OBJECT_ACTIONS, STORE_PREFIXES.map((p) => `${p}*`));
    const list = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: STORE_READ_BUCKET_ACTIONS,
      resourceArns: [this.bucket.bucketArn],
      resource: this.bucket,
      conditions: { StringLike: { 's3:prefix': STORE_PREFIXES.map((p) => `${this.prefix}${p}*`) } },
    });
    return objects.combine(list).combine(this.grantKey(grantee, STORE_KEY_DECRYPT_ACTIONS));
  }

  /** Object actions on keys under the store prefix, in the grantee's IAM policy or, across accounts, the bucket policy. */
  private grantObjects(grantee: iam.IGrantable, actions: string[], keys: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      resourceArns: keys.map((k) => this.bucket.arnForObjects(`${this.prefix}${k}`)),
      resource: this.bucket,
    });
  }

  /**
   * Store-key actions through S3 for this bucket, in the grantee's IAM policy and, across accounts, in the key policy.
   *
   * The key policy statement cannot name this bucket's ARN (the bucket refers to the key, so the key referring to the
   * bucket would be a dependency cycle): it limits the grantee to S3 (`kms:ViaService`). The key is this store's
   * own, so S3 uses it for this bucket; the grantee's IAM statement carries the bucket ARN too.
   */
  private grantKey(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const principal = iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.encryptionKey.keyArn], conditions: this.viaS3Conditions() });
    if (principal.success && sameAccount(grantee, this.encryptionKey)) return principal;
    const statement = new iam.PolicyStatement({
      actions,
      resources: ['*'],
      principals: [grantee.grantPrincipal],
      conditions: { StringEquals: { 'kms:ViaService': this.viaS3Conditions().StringEquals['kms:ViaService'] } },
    });
    return principal.combine(iam.Grant.addStatementToResourcePolicy({
      grantee, actions, resourceArns: ['*'], resource: this.encryptionKey, statement,
    }));
  }

  /** The KMS key is usable only through S3, and only for this bucket (bucket keys make the bucket ARN the context). */
  private viaS3Conditions(): Record<string, Record<string, unknown>> {
    return {
      StringEquals: {
        'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com`,
        'kms:EncryptionContext:aws:s3:arn': this.bucket.bucketArn,
      },
    };
  }
}

/**
 * Whether a grant to `grantee` on `resource` stays in the grantee's account, as `iam.Grant.addToPrincipalOrResource`
 * decides it (two unresolved accounts count as the same; a principal without an account, such as a service, does not).
 */
function sameAccount(grantee: iam.IGrantable, resource: IResource): boolean {
  const principalAccount = grantee.grantPrincipal.principalAccount;
  if (!principalAccount) return false;
  const comparison = Token.compareStrings(resource.env.account, principalAccount);
  return comparison === TokenComparison.SAME || comparison === TokenComparison.BOTH_UNRESOLVED;
}

/** Adds the trailing `/` and checks the prefix; `where` names the construct and the prop in the error. */
function normalizePrefix(where: string, raw: unknown): string {
  if (raw === undefined || raw === '') return '';
  if (typeof raw !== 'string') throw new Error(`${where}: prefix must be a string, got ${describe(raw)}`);
  if (Token.isUnresolved(raw)) throw new Error(`${where}: prefix must be known at synth (grants and the store URI name it), got a token`);
  const prefix = raw.endsWith('/') ? raw : `${raw}/`;
  const problem = storePrefixProblem(prefix);
  if (problem) throw new Error(`${where}: prefix '${raw}' ${problem}; ${STORE_PREFIX_RULE}`);
  return prefix;
}

/**
 * An append-only attestation store: an S3 bucket with Object Lock, SSE-KMS and a bucket policy that lets no one
 * delete, overwrite or unlock what was published.
 *
 * What it sets up:
 * - Object Lock with a default retention (COMPLIANCE, 3650 days, by default): objects get it from the bucket, so
 *   clients send no retention headers. Versioning is on (Object Lock needs it).
 * - SSE-KMS with a dedicated symmetric key (custom key policy, rotation on) and S3 Bucket Keys.
 * - Block Public Access, TLS 1.2 or newer only, bucket-owner-enforced ownership, retained on stack deletion.
 * - Server access logs go to a dedicated log bucket (SSE-S3: S3 server access logging supports neither SSE-KMS nor a
 *   default Object Lock retention on the target bucket) with a lifecycle expiry.
 * - The bucket policy denies, to every principal: deleting objects or versions, changing retention or legal holds,
 *   bypassing governance retention, changing the Object Lock configuration; and uploads that do not name the store
 *   key for SSE-KMS or that lack `If-None-Match: *` (multipart part uploads are exempted through
 *   `s3:ObjectCreationOperation`, since they carry neither header).
 *
 * Consequences to know: `CopyObject` into the store fails by design, and a multipart upload cannot complete (its
 * `CompleteMultipartUpload` carries no SSE header), so clients upload each object with one `PutObject` (up to
 * 5 GiB; attestations are kilobytes).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
 */
export class AttestationStore extends AttestationStoreBase {
  /**
   * Imports a store by the URI the CLI takes (`s3://<bucket>` or `s3://<bucket>/<prefix>/`) and its key ARN; grants
   * are scoped to the prefix.
   *
   * @param storeUri `s3://<bucket>[/<prefix>/]`, known at synth
   * @param encryptionKeyArn the ARN of the store's SSE-KMS key (not an alias)
   * @throws if the URI is not an s3:// URI, or the bucket name, prefix or key ARN is malformed; the error names it.
   */
  public static fromStoreUri(scope: Construct, id: string, storeUri: string, encryptionKeyArn: string): IAttestationStore {
    const where = `AttestationStore.fromStoreUri '${scope.node.path}/${id}'`;
    const m = typeof storeUri === 'string' && !Token.isUnresolved(storeUri) ? /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(storeUri) : null;
    if (!m) {
      throw new Error(`${where}: storeUri must be s3://<bucket> or s3://<bucket>/<prefix>/, known at synth, got ${describe(storeUri)}`);
    }
    return AttestationStore.fromBucketAttributes(scope, id, { bucketName: m[1], encryptionKeyArn, prefix: m[2] ?? '' });
  }

  /**
   * Imports a store by bucket name, key ARN and optional prefix (for grants; its policies cannot be changed from here).
   *
   * @throws if `bucketName` or `encryptionKeyArn` is missing or malformed, or `prefix` is not a valid store prefix;
   *   the error names the attribute.
   */
  public static fromBucketAttributes(scope: Construct, id: string, attrs: AttestationStoreAttributes): IAttestationStore {
    const where = `AttestationStore.fromBucketAttributes '${scope.node.path}/${id}'`;
    if (!attrs || typeof attrs !== 'object') {
      throw new Error(`${where}: attributes { bucketName, encryptionKeyArn } are required, got ${String(attrs)}`);
    }
    const bucketName: unknown = attrs.bucketName;
    if (typeof bucketName !== 'string' || bucketName === '') {
      throw new Error(`${where}: bucketName is required (the name of the store's bucket), got ${describe(bucketName)}`);
    }
    if (!Token.isUnresolved(bucketName) && !BUCKET_NAME.test(bucketName)) {
      throw new Error(`${where}: bucketName must be 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, got '${bucketName}'`);
    }
    const keyArn: unknown = attrs.encryptionKeyArn;
    if (typeof keyArn !== 'string' || keyArn === '') {
      throw new Error(`${where}: encryptionKeyArn is required (the ARN of the store's SSE-KMS key, ` +
        `arn:<partition>:kms:<region>:<account>:key/<key-id>), got ${describe(keyArn)}`);
    }
    if (!Token.isUnresolved(keyArn) && !KMS_KEY_ARN.test(keyArn)) {
      throw new Error(`${where}: encryptionKeyArn must look like arn:<partition>:kms:<region>:<account>:key/<key-id>, got '${keyArn}' ` +
        '(aliases are not accepted: grants and the upload header need the key ARN)');
    }
    const prefix = normalizePrefix(where, attrs.prefix);
    class Import extends AttestationStoreBase {
      public readonly bucket: s3.IBucket;
      public readonly encryptionKey: kms.IKey;
      public readonly prefix = prefix;
      constructor() {
        super(scope, id);
        this.encryptionKey = kms.Key.fromKeyArn(this, 'Key', attrs.encryptionKeyArn);
        this.bucket = s3.Bucket.fromBucketAttributes(this, 'Bucket', {
          bucketName: attrs.bucketName,
          encryptionKey: this.encryptionKey,
        });
      }
    }
    return new Import();
  }

  /** The Object Lock bucket that holds the attestations. */
  public readonly bucket: s3.IBucket;
  /** The key prefix of the store inside its bucket (`''` or ending with `/`). */
  public readonly prefix: string;
  /** The store's SSE-KMS key; clients name its ARN on every upload. */
  public readonly encryptionKey: kms.IKey;
  /** The bucket that receives the store's server access logs. */
  public readonly accessLogsBucket: s3.IBucket;
  /** The Object Lock retention mode of the store. */
  public readonly retentionMode: AttestationRetentionMode;
  /** The Object Lock retention period of the store, in days. */
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: AttestationStoreProps = {}) {
    super(scope, id);

    this.prefix = normalizePrefix(`AttestationStore '${this.node.path}'`, props.prefix);
    this.retentionMode = props.retentionMode ?? AttestationRetentionMode.COMPLIANCE;
    if (!Object.values(AttestationRetentionMode).includes(this.retentionMode)) {
      throw propError(this, 'AttestationStore', 'retentionMode', `must be COMPLIANCE or GOVERNANCE, got ${props.retentionMode}`);
    }
    this.retentionDays = props.retentionDays ?? 3650;
    checkIntRange(this, 'AttestationStore', 'retentionDays', this.retentionDays, 1, 36500);
    const logDays = props.accessLogsRetentionDays ?? 365;
    checkIntRange(this, 'AttestationStore', 'accessLogsRetentionDays', logDays, 1, 36500);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const expirationDays = props.sandboxExpirationDays;
    if (expirationDays !== undefined && !Token.isUnresolved(expirationDays)) {
      checkIntRange(this, 'AttestationStore', 'sandboxExpirationDays', expirationDays, 2, 3650);
      if (this.retentionMode !== AttestationRetentionMode.GOVERNANCE) {
        throw propError(this, 'AttestationStore', 'sandboxExpirationDays',
          `is for sandbox stores only and needs retentionMode GOVERNANCE, got ${this.retentionMode} (a COMPLIANCE store keeps its evidence)`);
      }
      if (!Token.isUnresolved(this.retentionDays) && expirationDays <= this.retentionDays) {
        throw propError(this, 'AttestationStore', 'sandboxExpirationDays',
          `must be greater than retentionDays (${this.retentionDays}) so nothing expires while it is locked, got ${expirationDays}`);
      }
    }

    const keyPolicy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AllowKeyAdministration',
          principals: props.keyAdmins ?? [new iam.AccountRootPrincipal()],
          actions: SYMMETRIC_KEY_ADMIN_ACTIONS,
          resources: ['*'],
        }),
        // Principals of this account may use the key through S3 only, when their IAM policy also allows it
        // (grantPublish/grantRead): the pattern of the AWS managed aws/s3 key, limited to the two actions S3 needs.
        new iam.PolicyStatement({
          sid: 'AllowUseThroughS3ByAccountPrincipals',
          principals: [new iam.AccountRootPrincipal()],
          actions: [...STORE_KEY_ENCRYPT_ACTIONS, ...STORE_KEY_DECRYPT_ACTIONS],
          resources: ['*'],
          conditions: {
            StringEquals: {
              'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com`,
              'kms:CallerAccount': Stack.of(this).account,
            },
          },
        }),
      ],
    });
    const key = new kms.Key(this, 'Key', {
      description: 'ModelSeal attestation store encryption key (SSE-KMS)',
      enableKeyRotation: true,
      policy: keyPolicy,
      removalPolicy,
      pendingWindow: Duration.days(30),
    });
    this.encryptionKey = key;
    tagRole(key, 'store-key');

    const logs = createAccessLogsBucket(this, 'AccessLogs', 'the attestation store', logDays, removalPolicy);
    this.accessLogsBucket = logs;

    const bucket = new s3.Bucket(this, 'Resource', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      ...HARDENED_BUCKET,
      objectLockEnabled: true,
      objectLockDefaultRetention: this.retentionMode === AttestationRetentionMode.COMPLIANCE
        ? s3.ObjectLockRetention.compliance(Duration.days(this.retentionDays))
        : s3.ObjectLockRetention.governance(Duration.days(this.retentionDays)),
      removalPolicy,
      // set at creation: the bucket policy below denies s3:PutLifecycleConfiguration afterwards
      lifecycleRules: expirationDays === undefined ? undefined : [
        {
          id: 'SandboxExpireAttestations',
          expiration: Duration.days(expirationDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        { id: 'SandboxRemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
    });
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Replication of an Object Lock bucket needs a destination bucket, role and key in another region, which only the deployer can choose; the store is protected against deletion by Object Lock.',
    });
    this.bucket = bucket;
    tagRole(bucket, 'attestation-store');
    if (expirationDays !== undefined) {
      Annotations.of(this).addWarningV2('modelseal:sandbox-store',
        `SANDBOX store, not for production: every attestation expires after ${expirationDays} days (sandboxExpirationDays)`);
    }

    deliverAccessLogs(bucket, logs, 'attestation-store/');

    const everyObject = bucket.arnForObjects('*');
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyDeletesAndLockChanges',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: STORE_DENIED_MUTATIONS,
      resources: [bucket.bucketArn, everyObject],
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyUploadsNotEncryptedWithStoreKey',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: STORE_PUBLISH_ACTIONS,
      resources: [everyObject],
      conditions: {
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyUploadsNotSseKms',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: STORE_PUBLISH_ACTIONS,
      resources: [everyObject],
      conditions: {
        StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyOverwrites',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: STORE_PUBLISH_ACTIONS,
      resources: [everyObject],
      conditions: {
        Null: { 's3:if-none-match': 'true' },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    }));
  }
}
