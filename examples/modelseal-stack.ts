import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
// In your app: import { AttestationStore, ModelSigningKey } from 'modelseal';
import { AttestationStore, ModelSigningKey } from '../src';

/**
 * The example ModelSeal stack: an HSM-backed signing key and an append-only attestation store,
 * with a CI role that may sign model digests and publish attestations, and a verifier role that may read them.
 */
export class ModelSealExampleStack extends Stack {
  public readonly signingKey: ModelSigningKey;
  public readonly store: AttestationStore;
  public readonly ciRole: iam.Role;
  public readonly verifierRole: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.store = new AttestationStore(this, 'Store');

    this.ciRole = new iam.Role(this, 'CiSigner', {
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: 'Signs model digests with the ModelSeal key and publishes attestations',
    });
    this.verifierRole = new iam.Role(this, 'Verifier', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Reads attestations and signing public keys to verify models',
    });

    this.signingKey = new ModelSigningKey(this, 'SigningKey', { signers: [this.ciRole] });
    this.signingKey.grantVerify(this.verifierRole);
    this.store.grantPublish(this.ciRole);
    this.store.grantRead(this.verifierRole);

    for (const role of [this.ciRole, this.verifierRole]) {
      const policy = role.node.findChild('DefaultPolicy').node.defaultChild!;
      Validations.of(policy).acknowledge(
        ...['bundles', 'attestations', 'notation', 'revocations', 'refs'].map((prefix) => ({
          id: `AwsSolutions-IAM5[Resource::<StoreC1F82936.Arn>/${prefix}/*]`,
          reason: `Attestation keys are content-addressed under ${prefix}/ and unknown until publish time; the grant is limited to that prefix.`,
        })),
      );
      Validations.of(role).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'CDK grants write one inline policy per role naming exact actions and resources; it is reviewed with the stack.',
      });
    }
  }
}
