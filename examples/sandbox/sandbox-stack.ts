/*
 * ============================================================================================================
 *  SANDBOX — NOT FOR PRODUCTION.
 *  A first deploy in a throwaway account: GOVERNANCE mode, one-day retention, and a lifecycle rule (set when the
 *  store is created) that expires every attestation after three days, so the store empties itself and can then be
 *  deleted by hand. A production store is COMPLIANCE, ten years, no expiration: see ../core-stack/.
 * ============================================================================================================
 */
import { CfnOutput, Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
// In your app: import { AttestationRetentionMode, AttestationStore, ModelSigningKey } from 'modelseal';
import { AttestationRetentionMode, AttestationStore, ModelSigningKey } from '../../src';

/** The sandbox's Object Lock retention, in days. */
export const SANDBOX_RETENTION_DAYS = 1;
/** When the sandbox's attestations expire, in days after they were written. */
export const SANDBOX_EXPIRATION_DAYS = 3;

/** The model name the sandbox publisher may set references for (`modelseal ref set <this> <version> ...`). */
export const SANDBOX_MODEL_NAME = 'demo-model';

/**
 * SANDBOX, NOT FOR PRODUCTION: a signing key, a self-emptying attestation store, a publisher role, a revoker role and
 * a verifier role, to try `modelseal sign kms`, `publish`, `ref set`, `revoke` and `check` against real AWS in a
 * throwaway account.
 */
export class ModelSealSandboxStack extends Stack {
  public readonly signingKey: ModelSigningKey;
  public readonly store: AttestationStore;
  public readonly publisherRole: iam.Role;
  public readonly revokerRole: iam.Role;
  public readonly verifierRole: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, {
      description: 'ModelSeal SANDBOX - NOT FOR PRODUCTION: attestations expire after a few days',
      ...props,
    });

    this.store = new AttestationStore(this, 'Store', {
      retentionMode: AttestationRetentionMode.GOVERNANCE,
      retentionDays: SANDBOX_RETENTION_DAYS,
      sandboxExpirationDays: SANDBOX_EXPIRATION_DAYS,
      accessLogsRetentionDays: 7,
    });
    this.signingKey = new ModelSigningKey(this, 'SigningKey', {
      pendingWindow: Duration.days(7),
      description: 'ModelSeal SANDBOX signing key - not for production',
    });

    // people of this account assume these roles (with IAM permission to do so) to try the CLI
    this.publisherRole = new iam.Role(this, 'Publisher', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'SANDBOX: signs model digests and publishes attestations',
    });
    this.signingKey.grantSign(this.publisherRole);
    this.store.grantPublish(this.publisherRole);
    this.store.grantSetRef(this.publisherRole, SANDBOX_MODEL_NAME);

    // revoking is a separate power: a revocation denies a digest for as long as the store keeps it
    this.revokerRole = new iam.Role(this, 'Revoker', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'SANDBOX: signs and publishes revocation records',
    });
    this.signingKey.grantSign(this.revokerRole);
    this.store.grantRevoke(this.revokerRole);

    this.verifierRole = new iam.Role(this, 'Verifier', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'SANDBOX: reads attestations and the signing public key',
    });
    this.signingKey.grantVerify(this.verifierRole);
    this.store.grantRead(this.verifierRole);

    new CfnOutput(this, 'StoreUri', { value: this.store.storeUri, description: 'modelseal --store' });
    new CfnOutput(this, 'StoreKeyArn', { value: this.store.encryptionKey.keyArn, description: 'MODELSEAL_STORE_KMS_KEY_ARN' });
    new CfnOutput(this, 'SigningKeyArn', { value: this.signingKey.keyArn, description: 'modelseal sign kms --kms-key' });
    new CfnOutput(this, 'PublisherRoleArn', { value: this.publisherRole.roleArn });
    new CfnOutput(this, 'RevokerRoleArn', { value: this.revokerRole.roleArn });
    new CfnOutput(this, 'VerifierRoleArn', { value: this.verifierRole.roleArn });

    const granted: [iam.Role, string[]][] = [
      [this.publisherRole, ['bundles/', 'attestations/', 'notation/', `refs/${SANDBOX_MODEL_NAME}/`, `refs/${SANDBOX_MODEL_NAME}/*/`]],
      [this.revokerRole, ['revocations/']],
      [this.verifierRole, ['bundles/', 'attestations/', 'notation/', 'revocations/', 'refs/']],
    ];
    for (const [role, prefixes] of granted) {
      const policy = role.node.findChild('DefaultPolicy').node.defaultChild!;
      Validations.of(policy).acknowledge(
        ...prefixes.map((prefix) => ({
          id: `AwsSolutions-IAM5[Resource::<StoreC1F82936.Arn>/${prefix}*]`,
          reason: `Attestation keys are content-addressed under ${prefix} and unknown in advance; the grant is limited to that prefix.`,
        })),
      );
      Validations.of(role).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'CDK grants write one inline policy per role naming exact actions and resources; it is reviewed with the stack.',
      });
    }
  }
}
