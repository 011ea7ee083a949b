import { Annotations, ArnFormat, Duration, IResource, Names, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { KEY_ADMIN_ACTIONS, KEY_SIGN_ACTIONS, KEY_SIGNER_READ_ACTIONS, KEY_VERIFY_ACTIONS } from './perms';
import { tagRole } from '../private/role-tag';
import { checkIntRange, propError } from '../private/validation';

/**
 * The curve of a ModelSeal signing key.
 *
 * Both are accepted by the OpenSSF Model Signing verifiers; P-256 is also verified by sigstore-js.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
 */
export enum ModelSigningKeySpec {
  /** NIST P-256 (secp256r1), signed with ECDSA over SHA-256. */
  ECC_NIST_P256 = 'ECC_NIST_P256',
  /** NIST P-384 (secp384r1), signed with ECDSA over SHA-384. */
  ECC_NIST_P384 = 'ECC_NIST_P384',
}

/**
 * The KMS signing algorithm a ModelSeal key is restricted to.
 *
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-SigningAlgorithm
 */
export enum ModelSigningAlgorithm {
  /** ECDSA with SHA-256; the only algorithm for `ECC_NIST_P256`. */
  ECDSA_SHA_256 = 'ECDSA_SHA_256',
  /** ECDSA with SHA-384; the only algorithm for `ECC_NIST_P384`. */
  ECDSA_SHA_384 = 'ECDSA_SHA_384',
}

const ALGORITHM_FOR_SPEC: Record<ModelSigningKeySpec, ModelSigningAlgorithm> = {
  [ModelSigningKeySpec.ECC_NIST_P256]: ModelSigningAlgorithm.ECDSA_SHA_256,
  [ModelSigningKeySpec.ECC_NIST_P384]: ModelSigningAlgorithm.ECDSA_SHA_384,
};

/**
 * A KMS key that signs models: defined in this app ({@link ModelSigningKey}) or imported.
 */
export interface IModelSigningKey extends IResource {
  /**
   * The ARN of the KMS key.
   *
   * @attribute
   */
  readonly keyArn: string;

  /**
   * The id of the KMS key.
   *
   * @attribute
   */
  readonly keyId: string;

  /** The only signing algorithm the key is used with. */
  readonly signingAlgorithm: ModelSigningAlgorithm;

  /**
   * Lets `grantee` sign model digests with this key.
   *
   * Grants `kms:Sign` only when `kms:MessageType` is `DIGEST` and `kms:SigningAlgorithm` is the key's algorithm,
   * plus `kms:GetPublicKey` and `kms:DescribeKey` (the OMS key hint is derived from the public key).
   */
  grantSign(grantee: iam.IGrantable): iam.Grant;

  /** Lets `grantee` read the public key and verify signatures: `kms:GetPublicKey`, `kms:DescribeKey`, `kms:Verify`. */
  grantVerify(grantee: iam.IGrantable): iam.Grant;
}

/**
 * Attributes for importing a signing key made elsewhere.
 */
export interface ModelSigningKeyAttributes {
  /** The ARN of the KMS key (`arn:<partition>:kms:<region>:<account>:key/<key-id>`). */
  readonly keyArn: string;

  /**
   * The signing algorithm the key is used with; grants are conditioned on it.
   *
   * Set it to `ECDSA_SHA_384` for an `ECC_NIST_P384` key: a grant conditioned on the wrong algorithm never matches,
   * so signing fails (closed) until it is corrected.
   *
   * @default ModelSigningAlgorithm.ECDSA_SHA_256
   */
  readonly signingAlgorithm?: ModelSigningAlgorithm;
}

/**
 * Properties of a {@link ModelSigningKey}.
 */
export interface ModelSigningKeyProps {
  /**
   * The curve of the key.
   *
   * @default ModelSigningKeySpec.ECC_NIST_P256
   */
  readonly keySpec?: ModelSigningKeySpec;

  /**
   * The signing algorithm; it must match the key spec. The key policy denies `kms:Sign` with any other algorithm.
   *
   * @default - ECDSA_SHA_256 for P-256, ECDSA_SHA_384 for P-384
   */
  readonly signingAlgorithm?: ModelSigningAlgorithm;

  /**
   * The alias of the key, starting with `alias/` (not `alias/aws/`).
   *
   * @default - `alias/modelseal/` followed by a name unique to this construct's path
   */
  readonly aliasName?: string;

  /**
   * A description of the key.
   *
   * @default 'ModelSeal model signing key'
   */
  readonly description?: string;

  /**
   * Principals that administer the key: they get the listed key-administration actions (including
   * `kms:PutKeyPolicy`) and never `kms:Sign`.
   *
   * KMS refuses a key policy that would lock out the principal creating it, so when you name
   * administrators, include the role that deploys the stack (e.g. the CDK CloudFormation execution role).
   *
   * @default - the account root principal, so IAM policies in this account decide who administers the key
   */
  readonly admins?: iam.IPrincipal[];

  /**
   * Principals allowed to sign, granted as if `grantSign()` was called for each.
   *
   * @default - none; call `grantSign()` later
   */
  readonly signers?: iam.IGrantable[];

  /**
   * The waiting period before KMS deletes the key after deletion is scheduled, 7 to 30 days.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the key when it leaves the stack.
   *
   * A signing key outlives every model it signed: verifiers fetch its public key for years.
   * Its alias is always deleted with the stack (only a name; a retained alias would block a redeploy after a rollback).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

abstract class ModelSigningKeyBase extends Resource implements IModelSigningKey {
  public abstract readonly keyArn: string;
  public abstract readonly keyId: string;
  public abstract readonly signingAlgorithm: ModelSigningAlgorithm;

  public abstract grantSign(grantee: iam.IGrantable): iam.Grant;

  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: KEY_VERIFY_ACTIONS, resourceArns: [this.keyArn] });
  }

  protected signConditions(): Record<string, Record<string, unknown>> {
    return { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': this.signingAlgorithm } };
  }
}

/**
 * An HSM-backed AWS KMS asymmetric key that signs models, with a least-privilege key policy.
 *
 * KMS generates and keeps the private key in HSMs validated at FIPS 140-3 Security Level 3; it never leaves them.
 * CloudHSM custom key stores cannot hold asymmetric keys, so for a dedicated HSM use the PKCS#11 signer of the
 * `modelseal` CLI instead.
 *
 * The key policy is written out in full (CDK's default policy, which gives the account root `kms:*`, is not used):
 * - administrators get the listed key-administration actions, never `kms:Sign`;
 * - each principal passed to `grantSign()` may call `kms:Sign` only with `kms:MessageType` `DIGEST` and the
 *   key's signing algorithm;
 * - explicit Deny statements refuse `kms:Sign` to every principal not granted it (by `aws:PrincipalArn`), and to
 *   any request whose message type is not `DIGEST` or whose algorithm is not the key's.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
 */
export class ModelSigningKey extends ModelSigningKeyBase implements iam.IResourceWithPolicy {
  /**
   * Imports a signing key by ARN; grants assume `ECDSA_SHA_256`.
   *
   * An imported key's policy cannot be changed from here: `grantSign()` adds IAM permissions to the grantee (with
   * the same conditions) but no Deny statements. Make sure the key's own policy denies other signers.
   */
  public static fromKeyArn(scope: Construct, id: string, keyArn: string): IModelSigningKey {
    return ModelSigningKey.fromKeyAttributes(scope, id, { keyArn });
  }

  /**
   * Imports a signing key by its attributes. See {@link ModelSigningKey.fromKeyArn} for the limits.
   *
   * @throws if `keyArn` is missing or not a key ARN, or `signingAlgorithm` is not a {@link ModelSigningAlgorithm};
   * the error names the attribute.
   */
  public static fromKeyAttributes(scope: Construct, id: string, attrs: ModelSigningKeyAttributes): IModelSigningKey {
    const where = `ModelSigningKey.fromKeyAttributes '${scope.node.path}/${id}'`;
    if (!attrs || typeof attrs !== 'object') {
      throw new Error(`${where}: attributes { keyArn } are required, got ${String(attrs)}`);
    }
    const given: unknown = attrs.keyArn;
    if (typeof given !== 'string' || given === '') {
      throw new Error(`${where}: keyArn is required (arn:<partition>:kms:<region>:<account>:key/<key-id>), got ` +
        `${given === undefined ? 'undefined' : JSON.stringify(given)}`);
    }
    const keyArn: string = given;
    let keyId: string;
    if (Token.isUnresolved(keyArn)) {
      keyId = Stack.of(scope).splitArn(keyArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    } else {
      const match = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/([A-Za-z0-9-]+)$/.exec(keyArn);
      if (!match) {
        throw new Error(
          `${where}: keyArn must look like ` +
          `arn:<partition>:kms:<region>:<account>:key/<key-id>, got '${keyArn}' (aliases are not accepted: grants need the key ARN)`,
        );
      }
      keyId = match[1];
    }
    if (attrs.signingAlgorithm !== undefined && !Object.values(ModelSigningAlgorithm).includes(attrs.signingAlgorithm)) {
      throw new Error(`${where}: signingAlgorithm must be one of ${Object.values(ModelSigningAlgorithm).join(', ')}, got ${JSON.stringify(attrs.signingAlgorithm)}`);
    }
    const signingAlgorithm = attrs.signingAlgorithm ?? ModelSigningAlgorithm.ECDSA_SHA_256;

    class Import extends ModelSigningKeyBase {
      public readonly keyArn = keyArn;
      public readonly keyId = keyId;
      public readonly signingAlgorithm = signingAlgorithm;

      public grantSign(grantee: iam.IGrantable): iam.Grant {
        Annotations.of(this).addWarningV2('modelseal:imported-key-no-deny',
          `grantSign() on the imported key ${this.keyArn}: no Deny statement protects it (its key policy cannot be changed from ` +
          'this app). Make sure its own key policy denies kms:Sign to principals not granted, unless MessageType DIGEST and ' +
          `the algorithm ${this.signingAlgorithm} (see ModelSigningKey's key policy).`);
        return iam.Grant.addToPrincipal({
          grantee,
          actions: KEY_SIGN_ACTIONS,
          resourceArns: [this.keyArn],
          conditions: this.signConditions(),
        }).combine(iam.Grant.addToPrincipal({
          grantee,
          actions: KEY_SIGNER_READ_ACTIONS,
          resourceArns: [this.keyArn],
        }));
      }
    }
    return new Import(scope, id, { environmentFromArn: Token.isUnresolved(keyArn) ? undefined : keyArn });
  }

  /** The ARN of the KMS key. */
  public readonly keyArn: string;
  /** The id of the KMS key. */
  public readonly keyId: string;
  /** The curve of the key. */
  public readonly keySpec: ModelSigningKeySpec;
  /** The only signing algorithm the key policy allows. */
  public readonly signingAlgorithm: ModelSigningAlgorithm;
  /** The alias of the key (`alias/...`). */
  public readonly aliasName: string;
  /** The key policy. Read it in tests and reviews; add to it only through the grant methods. */
  public readonly policy: iam.PolicyDocument;

  private readonly signerArns: string[] = [];
  private readonly verifyAccounts: string[] = [];
  private readonly denyUngrantedSigners: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: ModelSigningKeyProps = {}) {
    super(scope, id);

    this.keySpec = props.keySpec ?? ModelSigningKeySpec.ECC_NIST_P256;
    const expected = ALGORITHM_FOR_SPEC[this.keySpec];
    if (!expected) {
      throw propError(this, 'ModelSigningKey', 'keySpec', `must be one of ${Object.keys(ALGORITHM_FOR_SPEC).join(', ')}, got ${props.keySpec}`);
    }
    this.signingAlgorithm = props.signingAlgorithm ?? expected;
    if (this.signingAlgorithm !== expected) {
      throw propError(this, 'ModelSigningKey', 'signingAlgorithm',
        `${this.signingAlgorithm} does not match keySpec ${this.keySpec}; use ${expected}`);
    }
    const pendingDays = props.pendingWindow?.toDays() ?? 30;
    checkIntRange(this, 'ModelSigningKey', 'pendingWindow (days)', pendingDays, 7, 30);

    this.aliasName = props.aliasName ?? `alias/modelseal/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`;
    if (!Token.isUnresolved(this.aliasName)) {
      if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(this.aliasName) || this.aliasName.startsWith('alias/aws/')) {
        throw propError(this, 'ModelSigningKey', 'aliasName',
          `must start with 'alias/' (not 'alias/aws/') and use only letters, digits, '/', '_' and '-', got '${this.aliasName}'`);
      }
    }

    this.policy = new iam.PolicyDocument();
    this.policy.addStatements(new iam.PolicyStatement({
      sid: 'AllowKeyAdministration',
      principals: props.admins ?? [new iam.AccountRootPrincipal()],
      actions: KEY_ADMIN_ACTIONS,
      resources: ['*'],
    }));
    this.denyUngrantedSigners = new iam.PolicyStatement({
      sid: 'DenySignToPrincipalsNotGranted',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: KEY_SIGN_ACTIONS,
      resources: ['*'],
    });
    this.policy.addStatements(
      this.denyUngrantedSigners,
      new iam.PolicyStatement({
        sid: 'DenySignUnlessDigest',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: KEY_SIGN_ACTIONS,
        resources: ['*'],
        conditions: { StringNotEquals: { 'kms:MessageType': 'DIGEST' } },
      }),
      new iam.PolicyStatement({
        sid: 'DenySignWithOtherAlgorithms',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: KEY_SIGN_ACTIONS,
        resources: ['*'],
        conditions: { StringNotEquals: { 'kms:SigningAlgorithm': this.signingAlgorithm } },
      }),
    );

    const resource = new kms.CfnKey(this, 'Resource', {
      description: props.description ?? 'ModelSeal model signing key',
      keySpec: this.keySpec,
      keyUsage: 'SIGN_VERIFY',
      keyPolicy: this.policy,
      pendingWindowInDays: pendingDays,
      enabled: true,
    });
    resource.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.keyArn = resource.attrArn;
    this.keyId = resource.ref;
    tagRole(resource, 'signing-key');

    const alias = new kms.CfnAlias(this, 'Alias', { aliasName: this.aliasName, targetKeyId: this.keyId });
    // the alias is only a name: deleted with the stack (the retained key keeps its ARN), so a redeploy after a rollback
    // or a stack deletion can create it again instead of failing on 'alias already exists'
    alias.applyRemovalPolicy(RemovalPolicy.DESTROY);

    for (const signer of props.signers ?? []) {
      this.grantSign(signer);
    }
  }

  /**
   * Adds a statement to the key policy.
   *
   * Used by `iam.Grant`; prefer the grant methods, which keep the Deny statements in step.
   */
  public addToResourcePolicy(statement: iam.PolicyStatement): iam.AddToResourcePolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this };
  }

  /**
   * Lets `grantee` sign model digests with this key, in the key policy and in the grantee's IAM policy.
   *
   * The grantee must be an IAM role or user (its ARN is added to the `aws:PrincipalArn` exemption of the Deny
   * statement).
   *
   * A role defined in another stack (e.g. a shared key stack and a `HardenedBuildRunner` per team) cannot be named by
   * its generated ARN: the key policy would reference that stack while the role's policy references this key, a cyclic
   * reference. Give such a role a fixed name (`iam.Role` `roleName`, `HardenedBuildRunner` `sealRoleName`): the key
   * policy then allows the role's account principal with `ArnEquals aws:PrincipalArn` the role's literal ARN (and the
   * Deny statement exempts that ARN), and only the role's stack references the key.
   *
   * @throws if the grantee is not one IAM role or user, or is a role of another stack without a fixed name; the error
   * names the ways out.
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
   */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    const principalArn = singlePrincipalArn(this, grantee);
    const conditions = this.signConditions();
    const literalArn = crossStackRoleArn(this, grantee, principalArn);
    if (literalArn) {
      this.addSigner(literalArn);
      const account = Stack.of(grantee.grantPrincipal as unknown as Construct).account;
      const onlyThisRole = { ArnEquals: { 'aws:PrincipalArn': literalArn } };
      this.policy.addStatements(
        new iam.PolicyStatement({
          principals: [new iam.AccountPrincipal(account)], actions: KEY_SIGN_ACTIONS, resources: ['*'], conditions: { ...conditions, ...onlyThisRole },
        }),
        new iam.PolicyStatement({
          principals: [new iam.AccountPrincipal(account)], actions: KEY_SIGNER_READ_ACTIONS, resources: ['*'], conditions: onlyThisRole,
        }),
      );
      return iam.Grant.addToPrincipal({ grantee, actions: KEY_SIGN_ACTIONS, resourceArns: [this.keyArn], conditions })
        .combine(iam.Grant.addToPrincipal({ grantee, actions: KEY_SIGNER_READ_ACTIONS, resourceArns: [this.keyArn] }));
    }
    const sign = iam.Grant.addToPrincipalAndResource({
      grantee,
      actions: KEY_SIGN_ACTIONS,
      resourceArns: [this.keyArn],
      resource: this,
      resourceSelfArns: ['*'],
      conditions,
    });
    const read = iam.Grant.addToPrincipalAndResource({
      grantee,
      actions: KEY_SIGNER_READ_ACTIONS,
      resourceArns: [this.keyArn],
      resource: this,
      resourceSelfArns: ['*'],
    });
    this.addSigner(principalArn);
    return sign.combine(read);
  }

  /**
   * Lets `grantee` read the public key and verify signatures, in the key policy and the grantee's IAM policy.
   *
   * A grantee in another stack (which would make a cyclic reference through the key policy) gets the IAM statement
   * only, and the key policy allows the verify actions (`kms:GetPublicKey`, `kms:DescribeKey`, `kms:Verify`, never
   * `kms:Sign`) to the grantee's account principal, so IAM policies in that account decide: verifying needs no secret.
   */
  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal) && Stack.of(principal) !== Stack.of(this)) {
      const account = Stack.of(principal).account;
      if (!this.verifyAccounts.includes(account)) {
        this.verifyAccounts.push(account);
        this.policy.addStatements(new iam.PolicyStatement({
          principals: [new iam.AccountPrincipal(account)], actions: KEY_VERIFY_ACTIONS, resources: ['*'],
        }));
      }
      return iam.Grant.addToPrincipal({ grantee, actions: KEY_VERIFY_ACTIONS, resourceArns: [this.keyArn] });
    }
    return iam.Grant.addToPrincipalAndResource({
      grantee,
      actions: KEY_VERIFY_ACTIONS,
      resourceArns: [this.keyArn],
      resource: this,
      resourceSelfArns: ['*'],
    });
  }

  /** Exempts `principalArn` from the Deny statement on `kms:Sign`. */
  private addSigner(principalArn: string): void {
    if (!this.signerArns.includes(principalArn)) {
      this.signerArns.push(principalArn);
      this.denyUngrantedSigners.addCondition('ArnNotEquals', { 'aws:PrincipalArn': [...this.signerArns] });
    }
  }
}

/**
 * For a role of another stack whose ARN is a token: its literal ARN (from its fixed name), or an error naming the ways
 * out. Undefined for a grantee of this stack or with a literal ARN (no cyclic reference).
 */
function crossStackRoleArn(key: ModelSigningKey, grantee: iam.IGrantable, principalArn: string): string | undefined {
  const principal = grantee.grantPrincipal;
  if (!Token.isUnresolved(principalArn) || !Construct.isConstruct(principal) || Stack.of(principal) === Stack.of(key)) return undefined;
  const cfn = principal.node.defaultChild;
  const roleName = cfn instanceof iam.CfnRole ? cfn.roleName : undefined;
  const rolePath = cfn instanceof iam.CfnRole ? cfn.path ?? '/' : '/';
  if (roleName === undefined || Token.isUnresolved(roleName) || Token.isUnresolved(rolePath)) {
    throw propError(key, 'ModelSigningKey', 'grantSign(grantee)',
      `got ${principal.node.path}, a role of stack ${Stack.of(principal).stackName} with a generated name, while the key is in stack ` +
      `${Stack.of(key).stackName}: the key policy would name the role's ARN and the role's policy the key's ARN, a cyclic reference. ` +
      'Give the role a fixed name (iam.Role roleName, or HardenedBuildRunner sealRoleName), pass it imported by ARN ' +
      '(iam.Role.fromRoleArn), or define it in the key\'s stack');
  }
  const stack = Stack.of(principal);
  return `arn:${Stack.of(key).partition}:iam::${stack.account}:role${rolePath}${roleName}`;
}

/** The one IAM ARN of a grantee (role or user), or an error that says why it cannot sign. */
function singlePrincipalArn(key: ModelSigningKey, grantee: iam.IGrantable): string {
  const principal = grantee.grantPrincipal;
  const aws = principal.policyFragment.principalJson.AWS ?? [];
  if (principal instanceof iam.AccountPrincipal || aws.length !== 1) {
    throw propError(key, 'ModelSigningKey', 'grantSign(grantee)',
      `needs an IAM role or user with one ARN (the Deny statement names each signer), got ${principal.toString()}`);
  }
  return aws[0];
}
