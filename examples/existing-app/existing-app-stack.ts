/**
 * ModelSeal added to an app that already exists: the signing key, the attestation store and the EKS cluster were
 * made elsewhere (another team's stack, another account's console) and are imported here by ARN and attributes;
 * the pipeline adds only what is missing (the build runner, the compliance party's role, the verifier and the
 * policy on the existing cluster) and derives the trust policy from the same props.
 *
 * Nothing here looks anything up: every imported value is written out, so `npx cdk synth` runs offline.
 */
import * as fs from 'fs';
import * as path from 'path';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
// In your app: import { ... } from 'modelseal';
import {
  AttestationStore, HardenedBuildRunner, KubectlClusterImport, ModelAttestationPipeline, ModelSigningKey, SignerParty, SignerRequirement, VerifierImage,
} from '../../src';

/** The CI signing key another stack made (its key policy there already denies Sign to everyone else). */
export const CI_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** The attestation store a platform stack made, and its SSE-KMS key. */
export const STORE_BUCKET = 'modelseal-attestations-111122223333';
export const STORE_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/abcd1234-ab12-cd34-ef56-abcdef123456';
/** The EKS cluster the platform team runs. */
export const CLUSTER_NAME = 'platform-prod';

/** The compliance party signs on an on-premises HSM (PKCS#11): only its public key is known here. */
const COMPLIANCE_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6ZRTnJ5Ymx74H2Q6U8pAIBUQZTkO
UKtJVvn2MuxeZM5QIaVCYhfTzqSWzW9sj/EAnid5Q7zyGONEvrqe/FmkNA==
-----END PUBLIC KEY-----`;

/** An app that already exists (its alerts topic stands for everything it had before) with ModelSeal added. */
export class ExistingAppStack extends Stack {
  public readonly pipeline: ModelAttestationPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // what the app already had
    const onCall = iam.Role.fromRoleArn(this, 'OnCall', 'arn:aws:iam::111122223333:role/on-call', { mutable: false });
    const alerts = new sns.Topic(this, 'Alerts', { enforceSSL: true });
    alerts.grantPublish(onCall);
    Validations.of(alerts).acknowledge(
      { id: 'AwsSolutions-SNS2', reason: 'The pre-existing alerts topic of this app carries no sensitive data; it stands for what the app had before ModelSeal.' },
      { id: 'NIST.800.53.R5-SNSEncryptedKMS', reason: 'The pre-existing alerts topic of this app carries no sensitive data; it stands for what the app had before ModelSeal.' },
    );

    // made elsewhere, imported by ARN and attributes
    const ciKey = ModelSigningKey.fromKeyArn(this, 'CiKey', CI_KEY_ARN);
    const store = AttestationStore.fromBucketAttributes(this, 'Store', { bucketName: STORE_BUCKET, encryptionKeyArn: STORE_KEY_ARN });
    const cluster = new KubectlClusterImport(this, 'Cluster', { clusterName: CLUSTER_NAME, kubectlLayer: new KubectlV35Layer(this, 'KubectlLayer') });

    this.pipeline = new ModelAttestationPipeline(this, 'Models', {
      signers: [SignerParty.withExistingKey('ci', ciKey), SignerParty.withPublicKey('compliance', COMPLIANCE_PUBLIC_KEY)],
      requiredSigners: SignerRequirement.allOf(['ci', 'compliance']),
      store,
      modelName: 'churn',
      buildImage: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/churn-trainer@sha256:${'5c'.repeat(32)}`,
      buildCommands: ['python train.py --out model'],
      verifierImage: VerifierImage.fromRegistry(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:${'4e'.repeat(32)}`),
      verifierCaCertificatePem: fs.readFileSync(path.join(__dirname, '..', 'full-pipeline', 'verifier-ca.pem'), 'utf8'),
      cluster: cluster.cluster,
    });
    // this stack owns CDK's helper function behind the runner's S3 prefix-list lookup
    HardenedBuildRunner.acknowledgeStackHelperFunctions(this);
  }
}
