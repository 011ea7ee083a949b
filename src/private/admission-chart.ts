import * as cdk8s from 'cdk8s';
import { AdmissionMode } from '../k8s/admission-mode';
import { GatekeeperModelPolicy } from '../k8s/gatekeeper-model-policy';
import { KyvernoModelPolicy, ServingImageVerification } from '../k8s/kyverno-model-policy';
import { ModelVerifier, TrustPolicyFile } from '../k8s/model-verifier';
import { NativeModelPolicy } from '../k8s/native-model-policy';
import { VerifierImage } from '../k8s/verifier-image';

/** What the verifier and the engine's policy are rendered from (the values of `AdmissionEngine`). */
export interface AdmissionChartOptions {
  readonly engine: 'KYVERNO' | 'GATEKEEPER' | 'NATIVE';
  readonly image: VerifierImage;
  readonly storeUri: string;
  readonly trustPolicy: string;
  readonly trustPolicyFiles?: TrustPolicyFile[];
  readonly caCertificatePem: string;
  readonly tlsSecretName?: string;
  readonly certManagerCaSecretName?: string;
  readonly namespace?: string;
  readonly controlPlaneCidrs?: string[];
  readonly cacheTtl: cdk8s.Duration;
  readonly deadline: cdk8s.Duration;
  readonly webhookTimeout: cdk8s.Duration;
  readonly exemptNamespaces?: string[];
  readonly mode?: AdmissionMode;
  readonly servingImageVerification?: ServingImageVerification;
  readonly servingImageReferences?: string[];
  readonly servingImageTimeout?: cdk8s.Duration;
}

/** The admission objects: the verifier and the engine's policy in `chart`, Gatekeeper Constraints in their own chart. */
export interface AdmissionCharts {
  readonly chart: cdk8s.Chart;
  readonly verifier: ModelVerifier;
  /** Gatekeeper only: the Constraints, applied once Gatekeeper has created their templates' CRDs. */
  readonly constraintsChart?: cdk8s.Chart;
}

/** The namespace of the engine's admission controller (the verifier's NetworkPolicy client). */
export function engineNamespace(engine: AdmissionChartOptions['engine']): string | undefined {
  return { KYVERNO: 'kyverno', GATEKEEPER: 'gatekeeper-system', NATIVE: undefined }[engine];
}

/**
 * Renders the verifier (`ModelVerifier`) and the engine's model policy into a new cdk8s app: what `ModelAdmission`
 * applies to an EKS cluster and what `ModelAttestationPipeline` writes as YAML for GitOps.
 */
export function renderAdmissionCharts(o: AdmissionChartOptions): AdmissionCharts {
  const app = new cdk8s.App();
  const chart = new cdk8s.Chart(app, 'modelseal');
  const clientNamespace = engineNamespace(o.engine);
  const verifier = new ModelVerifier(chart, 'Verifier', {
    image: o.image,
    storeUri: o.storeUri,
    trustPolicy: o.trustPolicy,
    trustPolicyFiles: o.trustPolicyFiles,
    caCertificatePem: o.caCertificatePem,
    tlsSecretName: o.tlsSecretName,
    certManagerCaSecretName: o.certManagerCaSecretName,
    namespace: o.namespace,
    clientNamespaces: clientNamespace ? [clientNamespace] : [],
    controlPlaneCidrs: o.controlPlaneCidrs,
    cacheTtl: o.cacheTtl,
    deadline: o.deadline,
    exemptNamespaces: o.exemptNamespaces,
  });
  const common = { verifier, mode: o.mode, exemptNamespaces: o.exemptNamespaces };
  let constraintsChart: cdk8s.Chart | undefined;
  switch (o.engine) {
    case 'KYVERNO':
      new KyvernoModelPolicy(chart, 'Policy', {
        ...common,
        webhookTimeout: o.webhookTimeout,
        servingImageVerification: o.servingImageVerification,
        servingImageReferences: o.servingImageReferences,
        servingImageTimeout: o.servingImageTimeout,
      });
      break;
    case 'GATEKEEPER':
      constraintsChart = new cdk8s.Chart(app, 'modelseal-constraints');
      new GatekeeperModelPolicy(chart, 'Policy', {
        ...common, constraintsScope: constraintsChart, providerTimeout: cdk8s.Duration.seconds(o.webhookTimeout.toSeconds() - 2),
      });
      break;
    case 'NATIVE':
      new NativeModelPolicy(chart, 'Policy', { ...common, webhookTimeout: o.webhookTimeout });
      break;
  }
  return { chart, verifier, constraintsChart };
}
