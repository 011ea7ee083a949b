import * as path from 'path';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AdmissionEngine, AttestationStore, KubectlClusterImport, ModelAdmission, ModelAdmissionProps, ServingImageVerification, VerifierImage } from '../../src';
import { expectNagClean } from '../helpers/nag';
import { verifierCaPem } from '../helpers/verifier-ca';
import { TRUST_POLICY, VERIFIER_IMAGE } from '../k8s/fixtures';

const KMS_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function newCluster(stack: Stack): eks.ICluster {
  return new eks.Cluster(stack, 'Cluster', {
    version: eks.KubernetesVersion.V1_34,
    kubectlProviderOptions: { kubectlLayer: new KubectlV35Layer(stack, 'Kubectl') },
  });
}

function build(engine: AdmissionEngine, extra: Partial<ModelAdmissionProps> = {}, imported = false) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
  const cluster = imported
    ? new KubectlClusterImport(stack, 'Imported', { clusterName: 'prod', kubectlLayer: new KubectlV35Layer(stack, 'Kubectl') }).cluster
    : newCluster(stack);
  const store = new AttestationStore(stack, 'Store');
  const key = new kms.Key(stack, 'CoSignerKey', { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY });
  const admission = new ModelAdmission(stack, 'Admission', {
    cluster,
    engine,
    store,
    image: VERIFIER_IMAGE,
    caCertificatePem: verifierCaPem(),
    trustPolicy: `${TRUST_POLICY}  - name: compliance\n    kmsKeyArn: ${KMS_ARN}\n`,
    verificationKeys: [key],
    controlPlaneCidrs: ['10.0.0.0/16'],
    ...extra,
  });
  return { stack, admission, store, key, template: Template.fromStack(stack) };
}

const helmValues = (template: Template, chart: string) => {
  const charts = Object.values(template.findResources('Custom::AWSCDK-EKS-HelmChart')).filter((r: any) => r.Properties.Chart === chart);
  expect(charts).toHaveLength(1);
  return { props: (charts[0] as any).Properties, values: JSON.parse((charts[0] as any).Properties.Values ?? '{}') };
};

describe('ModelAdmission', () => {
  test('Gatekeeper: pinned chart, failure policy Fail, webhook timeout above the provider\'s, cache TTL = allow TTL', () => {
    const { template } = build(AdmissionEngine.GATEKEEPER);
    const { props, values } = helmValues(template, 'gatekeeper');
    expect(props).toMatchObject({ Version: '3.23.0', Repository: 'https://open-policy-agent.github.io/gatekeeper/charts', Namespace: 'gatekeeper-system', Wait: true, CreateNamespace: true });
    expect(values).toEqual({
      replicas: 3,
      validatingWebhookFailurePolicy: 'Fail',
      validatingWebhookTimeoutSeconds: 5,
      enableExternalData: true,
      externaldataProviderResponseCacheTTL: '60s',
      controllerManager: { exemptNamespaces: ['kube-system', 'kube-public', 'kube-node-lease', 'modelseal-system'] },
    });
    const manifests = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r: any) => JSON.stringify(r.Properties.Manifest));
    const provider = manifests.find((m) => m.includes('externaldata.gatekeeper.sh/v1beta1'))!;
    expect(provider).toMatch(/\\"timeout\\":3/);
    // the Constraints wait for Gatekeeper to create the templates' CRDs
    template.resourceCountIs('Custom::AWSCDK-EKS-KubernetesObjectValue', 2);
    template.hasResourceProperties('Custom::AWSCDK-EKS-KubernetesObjectValue', { ObjectType: 'constrainttemplate', ObjectName: 'modelsealverified', JsonPath: '.status.created' });
    const constraints = Object.entries(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')).find(([, r]: any) => JSON.stringify(r.Properties.Manifest).includes('constraints.gatekeeper.sh'))!;
    expect((constraints[1] as any).DependsOn.filter((d: string) => /TemplateCreated/.test(d))).toHaveLength(2);
  });

  test('Gatekeeper cache TTL follows cacheTtl', () => {
    const { values } = helmValues(build(AdmissionEngine.GATEKEEPER, { cacheTtl: Duration.seconds(30) }).template, 'gatekeeper');
    expect(values.externaldataProviderResponseCacheTTL).toBe('30s');
  });

  test('Kyverno: pinned chart; the policy manifest waits for the chart', () => {
    const { template } = build(AdmissionEngine.KYVERNO);
    const { props } = helmValues(template, 'kyverno');
    expect(props).toMatchObject({ Version: '3.9.0', Repository: 'https://kyverno.github.io/kyverno/', Namespace: 'kyverno' });
    const [[, manifest]] = Object.entries(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')) as any;
    expect(JSON.stringify(manifest.Properties.Manifest)).toContain('policies.kyverno.io/v1');
    expect(manifest.DependsOn.some((d: string) => /Kyverno/.test(d))).toBe(true);
  });

  test('Native: no engine chart; cert-manager only when it issues the certificate', () => {
    const plain = build(AdmissionEngine.NATIVE).template;
    plain.resourceCountIs('Custom::AWSCDK-EKS-HelmChart', 0);
    const cm = build(AdmissionEngine.NATIVE, { certManagerCaSecretName: 'modelseal-ca' }).template;
    const { props, values } = helmValues(cm, 'cert-manager');
    expect(props).toMatchObject({ Version: 'v1.19.1', Repository: 'https://charts.jetstack.io' });
    expect(values).toEqual({ crds: { enabled: true } });
  });

  test('Pod Identity: the verifier ServiceAccount is associated to a role with exactly these statements', () => {
    const { template, stack } = build(AdmissionEngine.KYVERNO);
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: 'modelseal-system', ServiceAccount: 'modelseal-verifier', RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AdmissionVerifierRole'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] },
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('AdmissionVerifierRole') }] } });
    const [policy] = Object.values(policies) as any[];
    const resolved = stack.resolve(policy.Properties.PolicyDocument.Statement);
    expect(resolved).toHaveLength(4);
    expect(resolved[0].Action).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(resolved[0].Resource).toHaveLength(5);
    expect(resolved[1]).toMatchObject({ Action: ['s3:ListBucket', 's3:ListBucketVersions'], Condition: { StringLike: { 's3:prefix': ['bundles/*', 'attestations/*', 'notation/*', 'revocations/*', 'refs/*'] } } });
    expect(resolved[2]).toMatchObject({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } });
    expect(resolved[3]).toEqual({ Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: [KMS_ARN, { 'Fn::GetAtt': [expect.stringMatching(/^CoSignerKey/), 'Arn'] }] });
  });

  test('imported cluster: a KubectlProvider on the import, an access entry for its role, manifests after it', () => {
    const { template } = build(AdmissionEngine.KYVERNO, {}, true);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'prod',
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ImportedKubectlProvider'), 'Arn'] },
      AccessPolicies: [{ PolicyArn: Match.anyValue(), AccessScope: { Type: 'cluster' } }],
    });
    const [entry] = Object.values(template.findResources('AWS::EKS::AccessEntry')) as any[];
    expect(JSON.stringify(entry.Properties.AccessPolicies[0].PolicyArn)).toContain(':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy');
    const accessId = Object.keys(template.findResources('AWS::EKS::AccessEntry'))[0];
    for (const [, r] of Object.entries(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')) as any) {
      expect(r.DependsOn).toContain(accessId);
      expect(r.Properties.ServiceToken).toBeDefined();
    }
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { ClusterName: 'prod' });
  });

  test.each([AdmissionEngine.KYVERNO, AdmissionEngine.GATEKEEPER, AdmissionEngine.NATIVE])('cdk-nag clean (%s)', (engine) => {
    const { admission } = build(engine);
    expectNagClean(Stack.of(admission).node.findChild('Admission') as any);
  });

  test('fails without control plane CIDRs for NATIVE, or with image verification outside Kyverno', () => {
    expect(() => build(AdmissionEngine.NATIVE, { controlPlaneCidrs: [] })).toThrow(/controlPlaneCidrs must name the API server's CIDRs with the NATIVE engine/);
    expect(() => build(AdmissionEngine.GATEKEEPER, { servingImageVerification: ServingImageVerification.cosignKms(KMS_ARN) })).toThrow(/needs engine KYVERNO, got GATEKEEPER/);
  });
});

describe('ModelAdmission: the verifier image is rendered by digest', () => {
  test('a repository of the app (a deploy-time token) with a pushed digest: the Deployment renders <repositoryUri>@sha256:…', () => {
    const digest = `sha256:${'4e'.repeat(32)}`;
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
    const repo = new ecr.Repository(stack, 'VerifierRepo');
    new ModelAdmission(stack, 'Admission', {
      cluster: newCluster(stack),
      engine: AdmissionEngine.GATEKEEPER,
      store: new AttestationStore(stack, 'Store'),
      image: VerifierImage.fromRepositoryDigest(repo.repositoryUri, digest),
      caCertificatePem: verifierCaPem(),
      trustPolicy: TRUST_POLICY,
    });
    // the image is a join of the repository's URI parts and the literal digest, never a tag
    const manifests = Object.values(Template.fromStack(stack).findResources('Custom::AWSCDK-EKS-KubernetesResource')).map((r: any) => JSON.stringify(r.Properties.Manifest));
    const withDeployment = manifests.find((m) => m.includes('Deployment'));
    expect(withDeployment).toBeDefined();
    expect(withDeployment).toMatch(/VerifierRepo[0-9A-F]{8}/);
    expect(withDeployment).toContain(`@${digest}`);
  });

  test('a DockerImageAsset\'s imageUri (repository:tag) is refused, naming the way out', () => {
    const stack = new Stack(new App(), 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
    const asset = new DockerImageAsset(stack, 'VerifierImage', { directory: path.join(__dirname, '..', '..', 'src', 'runtime', 'service') });
    expect(() => VerifierImage.fromRegistry(asset.imageUri)).toThrow(/deploy-time token \(a DockerImageAsset's imageUri is repository:tag, never pinned by digest\)/);
  });
});
