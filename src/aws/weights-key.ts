import { Annotations, ArnFormat, Duration, IResource, Names, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  WEIGHTS_KEY_ALWAYS_DENIED_ACTIONS, WEIGHTS_KEY_DECRYPT_ACTIONS, WEIGHTS_KEY_ENCRYPT_ACTIONS, WEIGHTS_KEY_NEW_DATA_KEY_ACTIONS,
} from './enclave-perms';
import { SYMMETRIC_KEY_ADMIN_ACTIONS } from './perms';
import { checkPcrs } from '../private/pcr';
import { tagRole } from '../private/role-tag';
import { checkIntRange, propError } from '../private/validation';

const TYPE = 'ModelWeightsKey';
/** The KMS condition key of PCR8: the SHA-384 of the enclave image's signing certificate. */
export const PCR8_CONDITION_KEY = 'kms:RecipientAttestation:PCR8';
/** The KMS condition key of PCR0: the SHA-384 of the enclave image file. */
export const IMAGE_SHA384_CONDITION_KEY = 'kms:RecipientAttestation:ImageSha384';

/**
 * A symmetric KMS key that wraps the data keys of sealed model weights: defined in this app ({@link ModelWeightsKey})
 * or imported.
 */
export interface IModelWeightsKey extends IResource {
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

  /** PCR8 values (SHA-384 of an enclave image's signing certificate, lower-case hex) allowed to decrypt; empty when not bound by PCR8. */
  readonly enclavePcr8: string[];

  /** PCR0 values (SHA-384 of an enclave image file, lower-case hex) allowed to decrypt; empty when not bound by PCR0. */
  readonly enclavePcr0: string[];

  /**
   * Lets `grantee` (the seal build) make data keys: `kms:GenerateDataKey` and `kms:Encrypt`, never `kms:Decrypt`.
   */
  grantEncrypt(grantee: iam.IGrantable): iam.Grant;

  /**
   * Lets `grantee` (the serving instances' role) call `kms:Decrypt` only with a `Recipient` attestation document of an
   * allowed enclave image: `StringEqualsIgnoreCase` on `kms:RecipientAttestation:PCR8` and/or
   * `kms:RecipientAttestation:ImageSha384`. KMS then returns the data key encrypted to the enclave's key
   * (`CiphertextForRecipient`), never in plaintext.
   */
  grantDecryptInEnclave(grantee: iam.IGrantable): iam.Grant;
}

/**
 * Attributes for importing a weights key made elsewhere.
 */
export interface ModelWeightsKeyAttributes {
  /** The ARN of the KMS key (`arn:<partition>:kms:<region>:<account>:key/<key-id>`). */
  readonly keyArn: string;

  /**
   * The PCR8 values its key policy allows, for the conditions of the IAM statements `grantDecryptInEnclave` writes.
   *
   * @default - none; then `enclavePcr0` is required
   */
  readonly enclavePcr8?: string[];

  /**
   * The PCR0 values its key policy allows.
   *
   * @default - none; then `enclavePcr8` is required
   */
  readonly enclavePcr0?: string[];
}

/**
 * Properties of a {@link ModelWeightsKey}.
 */
export interface ModelWeightsKeyProps {
  /**
   * PCR8 of the enclave images that may decrypt: the SHA-384 of the image's signing certificate
   * (`nitro-cli build-enclave --signing-certificate` or `nitro-cli sign-eif`), 96 hex characters; any one matches.
   *
   * Binding by PCR8 is the default way: every image the pipeline signs with that certificate decrypts without a key
   * policy change, and an image nobody signed with it never does. Never all zeros: a debug-mode enclave measures zeros.
   *
   * @default - none; then `enclavePcr0` is required
   * @see https://docs.aws.amazon.com/enclaves/latest/user/set-up-attestation.html#pcr8
   */
  readonly enclavePcr8?: string[];

  /**
   * PCR0 of the enclave images that may decrypt (`kms:RecipientAttestation:ImageSha384`): the SHA-384 of the exact
   * image file, 96 hex characters; any one matches.
   *
   * The strict option: only these exact images decrypt, and each new image needs a key policy update. Given together
   * with `enclavePcr8`, both must match.
   *
   * @default - none; then `enclavePcr8` is required
   */
  readonly enclavePcr0?: string[];

  /**
   * Principals that administer the key: the listed key-administration and rotation actions, never `kms:Decrypt` or
   * any other use. They can change the key policy (as any KMS key administrator can); CloudTrail records it.
   *
   * KMS refuses a key policy that would lock out the principal creating it, so when you name administrators, include
   * the role that deploys the stack.
   *
   * @default - the account root principal, so IAM policies in this account decide who administers the key
   */
  readonly admins?: iam.IPrincipal[];

  /**
   * The alias of the key, starting with `alias/` (not `alias/aws/`).
   *
   * @default - `alias/modelseal/` followed by a name unique to this construct's path
   */
  readonly aliasName?: string;

  /**
   * A description of the key.
   *
   * @default 'ModelSeal model weights key (decrypts only in an attested Nitro Enclave)'
   */
  readonly description?: string;

  /**
   * The waiting period before KMS deletes the key after deletion is scheduled, 7 to 30 days.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the key when it leaves the stack. Sealed weights are unreadable without it.
   * Its alias is always deleted with the stack (only a name; a retained alias would block a redeploy after a rollback).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The attestation conditions of a Decrypt: every bound PCR compared with StringEqualsIgnoreCase. */
function attestationConditions(pcr8: string[], pcr0: string[]): Record<string, Record<string, unknown>> {
  const equal: Record<string, unknown> = {};
  if (pcr8.length > 0) equal[PCR8_CONDITION_KEY] = pcr8;
  if (pcr0.length > 0) equal[IMAGE_SHA384_CONDITION_KEY] = pcr0;
  return { StringEqualsIgnoreCase: equal };
}

abstract class ModelWeightsKeyBase extends Resource implements IModelWeightsKey {
  public abstract readonly keyArn: string;
  public abstract readonly keyId: string;
  public abstract readonly enclavePcr8: string[];
  public abstract readonly enclavePcr0: string[];

  public abstract grantEncrypt(grantee: iam.IGrantable): iam.Grant;
  public abstract grantDecryptInEnclave(grantee: iam.IGrantable): iam.Grant;

  /** The IAM side of a decrypt grant: `kms:Decrypt` on this key, with the attestation conditions. */
  protected principalDecryptGrant(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: WEIGHTS_KEY_DECRYPT_ACTIONS,
      resourceArns: [this.keyArn],
      conditions: attestationConditions(this.enclavePcr8, this.enclavePcr0),
    });
  }

  protected principalEncryptGrant(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: WEIGHTS_KEY_ENCRYPT_ACTIONS, resourceArns: [this.keyArn] });
  }
}

/**
 * A symmetric AWS KMS key for the envelope encryption of model weights that decrypts only inside an attested Nitro
 * Enclave running an allowed image, so that even root on the serving host cannot read the weights.
 *
 * The key policy is written out in full (CDK's default, which gives the account root `kms:*`, is not used):
 * - `AllowKeyAdministration`: administrators get the listed administration and rotation actions, never any use;
 * - `AllowSealersToEncrypt` (from `grantEncrypt`): `kms:GenerateDataKey` and `kms:Encrypt`;
 * - `AllowDecryptInAttestedEnclave` (from `grantDecryptInEnclave`): `kms:Decrypt` only when the request's attestation
 *   matches (`StringEqualsIgnoreCase` on PCR8 and/or `ImageSha384`);
 * - `DenyDecryptWithoutAttestation`: `kms:Decrypt` is denied to every principal when the request carries no
 *   attestation (`Null` on the bound condition key is `true`), whatever any other statement, IAM policy or grant says;
 * - `DenyDecryptToOtherEnclaveImages` / `DenyDecryptToOtherImageMeasurements`: denied when a bound PCR differs
 *   (`StringNotEqualsIgnoreCase`, which also matches a missing key);
 * - `DenyNewDataKeysExceptSealers`: `Encrypt`, `GenerateDataKey*`, `ReEncryptTo` denied to every principal but the
 *   sealers, so a serving host cannot wrap weights of its own for the enclave;
 * - `DenyReEncryptFromAndGrants`: `ReEncryptFrom` and `CreateGrant` denied to every principal.
 *
 * Rotation is on (old data keys keep decrypting). The key carries the tag `modelseal:role` = `weights-key`.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/kms.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/conditions-nitro-enclaves.html
 */
export class ModelWeightsKey extends ModelWeightsKeyBase implements iam.IResourceWithPolicy {
  /**
   * Imports a weights key by its attributes.
   *
   * An imported key's policy cannot be changed from here: the grant methods add IAM statements (with the attestation
   * conditions) to the grantee only, and warn. Make sure the key's own policy has the statements of a ModelWeightsKey.
   *
   * @throws if `keyArn` is not a key ARN, or a PCR value is malformed or all zeros; the error names the attribute
   */
  public static fromKeyAttributes(scope: Construct, id: string, attrs: ModelWeightsKeyAttributes): IModelWeightsKey {
    const where = `${TYPE}.fromKeyAttributes '${scope.node.path}/${id}'`;
    const keyArn = attrs?.keyArn;
    let keyId: string;
    if (typeof keyArn === 'string' && Token.isUnresolved(keyArn)) {
      keyId = Stack.of(scope).splitArn(keyArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    } else {
      const match = typeof keyArn === 'string' ? /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/([A-Za-z0-9-]+)$/.exec(keyArn) : null;
      if (!match) {
        throw new Error(`${where}: keyArn must look like arn:<partition>:kms:<region>:<account>:key/<key-id>, got ${JSON.stringify(keyArn)}`);
      }
      keyId = match[1];
    }
    const pcr8 = checkPcrs(where, 'enclavePcr8', attrs.enclavePcr8);
    const pcr0 = checkPcrs(where, 'enclavePcr0', attrs.enclavePcr0);
    if (pcr8.length === 0 && pcr0.length === 0) {
      throw new Error(`${where}: enclavePcr8 or enclavePcr0 is required: the IAM conditions of grantDecryptInEnclave name the allowed enclave images`);
    }

    class Import extends ModelWeightsKeyBase {
      public readonly keyArn = keyArn;
      public readonly keyId = keyId;
      public readonly enclavePcr8 = pcr8;
      public readonly enclavePcr0 = pcr0;

      public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
        this.warnImported('grantEncrypt');
        return this.principalEncryptGrant(grantee);
      }

      public grantDecryptInEnclave(grantee: iam.IGrantable): iam.Grant {
        this.warnImported('grantDecryptInEnclave');
        return this.principalDecryptGrant(grantee);
      }

      private warnImported(method: string): void {
        Annotations.of(this).addWarningV2('modelseal:imported-weights-key', `${method}() on the imported weights key ${this.keyArn}: only ` +
          'IAM statements are added (its key policy cannot be changed from this app). Make sure its own key policy denies kms:Decrypt ' +
          'without a matching attestation and new data keys to everyone but the sealers (see ModelWeightsKey\'s key policy).');
      }
    }
    return new Import(scope, id, { environmentFromArn: Token.isUnresolved(keyArn) ? undefined : keyArn });
  }

  /** The ARN of the KMS key. */
  public readonly keyArn: string;
  /** The id of the KMS key. */
  public readonly keyId: string;
  /** The alias of the key (`alias/...`). */
  public readonly aliasName: string;
  /** PCR8 values allowed to decrypt (lower-case hex). */
  public readonly enclavePcr8: string[];
  /** PCR0 values allowed to decrypt (lower-case hex). */
  public readonly enclavePcr0: string[];
  /** The key policy. Read it in tests and reviews; add to it only through the grant methods. */
  public readonly policy: iam.PolicyDocument;

  private readonly sealerArns: string[] = [];
  private readonly servingArns: string[] = [];
  private readonly denyNewDataKeys: iam.PolicyStatement;
  private allowSealers?: iam.PolicyStatement;
  private allowServing?: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: ModelWeightsKeyProps = {}) {
    super(scope, id);
    const where = `${TYPE} '${this.node.path}'`;
    this.enclavePcr8 = checkPcrs(where, 'enclavePcr8', props.enclavePcr8);
    this.enclavePcr0 = checkPcrs(where, 'enclavePcr0', props.enclavePcr0);
    if (this.enclavePcr8.length === 0 && this.enclavePcr0.length === 0) {
      throw propError(this, TYPE, 'enclavePcr8',
        'or enclavePcr0 is required: the key decrypts only for the enclave images they name (PCR8, the image signing certificate, is the usual binding)');
    }
    const pendingDays = props.pendingWindow?.toDays() ?? 30;
    checkIntRange(this, TYPE, 'pendingWindow (days)', pendingDays, 7, 30);
    this.aliasName = props.aliasName ?? `alias/modelseal/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`;
    if (!Token.isUnresolved(this.aliasName) && (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(this.aliasName) || this.aliasName.startsWith('alias/aws/'))) {
      throw propError(this, TYPE, 'aliasName',
        `must start with 'alias/' (not 'alias/aws/') and use only letters, digits, '/', '_' and '-', got '${this.aliasName}'`);
    }

    const anyone = [new iam.AnyPrincipal()];
    this.policy = new iam.PolicyDocument();
    this.policy.addStatements(new iam.PolicyStatement({
      sid: 'AllowKeyAdministration',
      principals: props.admins ?? [new iam.AccountRootPrincipal()],
      actions: SYMMETRIC_KEY_ADMIN_ACTIONS,
      resources: ['*'],
    }));
    // Absent: a request without a Recipient attestation has no kms:RecipientAttestation:* key at all; the Null
    // operator is the one that tests for that (true = the key is missing).
    const primary = this.enclavePcr8.length > 0 ? PCR8_CONDITION_KEY : IMAGE_SHA384_CONDITION_KEY;
    this.policy.addStatements(new iam.PolicyStatement({
      sid: 'DenyDecryptWithoutAttestation',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: WEIGHTS_KEY_DECRYPT_ACTIONS,
      resources: ['*'],
      conditions: { Null: { [primary]: 'true' } },
    }));
    // Present but another image: negated operators also match a missing key, so each of these denies that case too.
    if (this.enclavePcr8.length > 0) {
      this.policy.addStatements(new iam.PolicyStatement({
        sid: 'DenyDecryptToOtherEnclaveImages',
        effect: iam.Effect.DENY,
        principals: anyone,
        actions: WEIGHTS_KEY_DECRYPT_ACTIONS,
        resources: ['*'],
        conditions: { StringNotEqualsIgnoreCase: { [PCR8_CONDITION_KEY]: this.enclavePcr8 } },
      }));
    }
    if (this.enclavePcr0.length > 0) {
      this.policy.addStatements(new iam.PolicyStatement({
        sid: 'DenyDecryptToOtherImageMeasurements',
        effect: iam.Effect.DENY,
        principals: anyone,
        actions: WEIGHTS_KEY_DECRYPT_ACTIONS,
        resources: ['*'],
        conditions: { StringNotEqualsIgnoreCase: { [IMAGE_SHA384_CONDITION_KEY]: this.enclavePcr0 } },
      }));
    }
    this.denyNewDataKeys = new iam.PolicyStatement({
      sid: 'DenyNewDataKeysExceptSealers',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: WEIGHTS_KEY_NEW_DATA_KEY_ACTIONS,
      resources: ['*'],
    });
    this.policy.addStatements(this.denyNewDataKeys, new iam.PolicyStatement({
      sid: 'DenyReEncryptFromAndGrants',
      effect: iam.Effect.DENY,
      principals: anyone,
      actions: WEIGHTS_KEY_ALWAYS_DENIED_ACTIONS,
      resources: ['*'],
    }));

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const resource = new kms.CfnKey(this, 'Resource', {
      description: props.description ?? 'ModelSeal model weights key (decrypts only in an attested Nitro Enclave)',
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      enableKeyRotation: true,
      keyPolicy: this.policy,
      pendingWindowInDays: pendingDays,
      enabled: true,
    });
    resource.applyRemovalPolicy(removalPolicy);
    this.keyArn = resource.attrArn;
    this.keyId = resource.ref;
    tagRole(resource, 'weights-key');
    const alias = new kms.CfnAlias(this, 'Alias', { aliasName: this.aliasName, targetKeyId: this.keyId });
    // the alias is only a name: deleted with the stack (the retained key keeps its ARN), so a redeploy after a rollback
    // or a stack deletion can create it again instead of failing on 'alias already exists'
    alias.applyRemovalPolicy(RemovalPolicy.DESTROY);
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
   * Lets `grantee` (the seal build) make data keys: `kms:GenerateDataKey` and `kms:Encrypt`, in the key policy
   * (`AllowSealersToEncrypt`, and the `DenyNewDataKeysExceptSealers` exemption) and in the grantee's IAM policy.
   * Never `kms:Decrypt`.
   *
   * @throws if the grantee is not one IAM role or user, or already decrypts (one principal never does both)
   */
  public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    const arn = this.principalArn(grantee, 'grantEncrypt');
    if (this.servingArns.includes(arn)) {
      throw propError(this, TYPE, 'grantEncrypt(grantee)', `${arn} already decrypts in the enclave; a principal that can make data keys must never decrypt (use separate roles)`);
    }
    if (!this.sealerArns.includes(arn)) {
      this.sealerArns.push(arn);
      if (!this.allowSealers) {
        this.allowSealers = new iam.PolicyStatement({ sid: 'AllowSealersToEncrypt', actions: WEIGHTS_KEY_ENCRYPT_ACTIONS, resources: ['*'] });
        this.policy.addStatements(this.allowSealers);
      }
      this.allowSealers.addPrincipals(grantee.grantPrincipal);
      this.denyNewDataKeys.addCondition('ArnNotEquals', { 'aws:PrincipalArn': [...this.sealerArns] });
    }
    return this.principalEncryptGrant(grantee);
  }

  /**
   * Lets `grantee` (the serving instances' role) decrypt data keys for an attested enclave only: `kms:Decrypt` with
   * the attestation conditions, in the key policy (`AllowDecryptInAttestedEnclave`) and in the grantee's IAM policy.
   *
   * @throws if the grantee is not one IAM role or user, or already makes data keys
   */
  public grantDecryptInEnclave(grantee: iam.IGrantable): iam.Grant {
    const arn = this.principalArn(grantee, 'grantDecryptInEnclave');
    if (this.sealerArns.includes(arn)) {
      throw propError(this, TYPE, 'grantDecryptInEnclave(grantee)', `${arn} already makes data keys (grantEncrypt); a principal that decrypts must never make data keys (use separate roles)`);
    }
    if (!this.servingArns.includes(arn)) {
      this.servingArns.push(arn);
      if (!this.allowServing) {
        this.allowServing = new iam.PolicyStatement({
          sid: 'AllowDecryptInAttestedEnclave',
          actions: WEIGHTS_KEY_DECRYPT_ACTIONS,
          resources: ['*'],
          conditions: attestationConditions(this.enclavePcr8, this.enclavePcr0),
        });
        this.policy.addStatements(this.allowServing);
      }
      this.allowServing.addPrincipals(grantee.grantPrincipal);
    }
    return this.principalDecryptGrant(grantee);
  }

  /** The one IAM ARN of a grantee (role or user), or an error that says why it cannot be named in the key policy. */
  private principalArn(grantee: iam.IGrantable, method: string): string {
    const principal = grantee.grantPrincipal;
    const aws = principal.policyFragment.principalJson.AWS ?? [];
    if (principal instanceof iam.AccountPrincipal || aws.length !== 1) {
      throw propError(this, TYPE, `${method}(grantee)`, `needs an IAM role or user with one ARN (the key policy names each principal), got ${principal.toString()}`);
    }
    return aws[0];
  }
}
