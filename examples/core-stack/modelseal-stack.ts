import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your app: import { AttestationStore, HardenedBuildRunner, ModelCard, ModelSigningKey } from 'modelseal';
import { AttestationStore, HardenedBuildRunner, ModelCard, ModelSigningKey } from '../../src';

/** The training image, pinned by digest (a tag could be moved to other bytes after review). */
export const TRAINER_IMAGE =
  '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-trainer@sha256:3f1b6c0c9e4d2a7f8b5e6d1c0a9f8e7d6c5b4a3928170f6e5d4c3b2a19087f6e';

/**
 * The example ModelSeal stack: an HSM-backed signing key, an append-only attestation store, a hardened build runner
 * whose train build runs the training and whose seal build signs and publishes the model, and a verifier role that may
 * read attestations and public keys.
 */
export class ModelSealExampleStack extends Stack {
  public readonly signingKey: ModelSigningKey;
  public readonly store: AttestationStore;
  public readonly runner: HardenedBuildRunner;
  public readonly verifierRole: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.store = new AttestationStore(this, 'Store');
    this.signingKey = new ModelSigningKey(this, 'SigningKey');

    const trainingData = new s3.Bucket(this, 'TrainingData', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.store.accessLogsBucket,
      serverAccessLogsPrefix: 'training-data/',
    });

    this.runner = new HardenedBuildRunner(this, 'Runner', {
      signingKey: this.signingKey,
      store: this.store,
      buildImage: TRAINER_IMAGE,
      modelName: 'fraud-detector',
      modelSourceBucket: trainingData,
      // train.py, model-card.yaml and the data are uploaded under datasets/, then datasets/_SUCCESS
      modelSourcePrefix: 'datasets/',
      buildCommands: ['python3 inputs/train.py --data inputs --out model'],
      modelCard: ModelCard.fromInput('model-card.yaml'),
      startOnUpload: true,
      servingImageSigning: true,
    });

    this.verifierRole = new iam.Role(this, 'Verifier', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Reads attestations and signing public keys to verify models',
    });
    this.signingKey.grantVerify(this.verifierRole);
    this.store.grantRead(this.verifierRole);

    const verifierPolicy = this.verifierRole.node.findChild('DefaultPolicy').node.defaultChild!;
    Validations.of(verifierPolicy).acknowledge(
      ...['bundles', 'attestations', 'notation', 'revocations', 'refs'].map((prefix) => ({
        id: `AwsSolutions-IAM5[Resource::<StoreC1F82936.Arn>/${prefix}/*]`,
        reason: `Attestation keys are content-addressed under ${prefix}/ and unknown until they are read; the grant is limited to that prefix.`,
      })),
    );
    Validations.of(this.verifierRole).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'CDK grants write one inline policy per role naming exact actions and resources; it is reviewed with the stack.',
    });
    // Two deploy-time helpers are CDK's stack-wide singletons, not the runner's, so their findings are acknowledged
    // here, by the stack that owns them: the S3 prefix-list lookup (pass s3PrefixListId to the runner to avoid it) and
    // the bucket-notification handler that turns on EventBridge for the training data bucket (startOnUpload).
    HardenedBuildRunner.acknowledgeStackHelperFunctions(this);
    const notifications = trainingData.node.tryFindChild('Notifications');
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'CDK bucket-notification helper with a generated single-purpose policy (s3:PutBucketNotification on this bucket).',
      });
    }
    Validations.of(trainingData).acknowledge(
      { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: 'Example training data is SSE-S3 encrypted; use SSE-KMS with a key of your own for real data.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'Replication of training data is a deployment choice (destination region, role and key) the example cannot make.' },
    );
  }
}
