import * as path from 'path';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template, Annotations as AssertAnnotations } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AdmissionEngine, AttestationStore, KubectlClusterImport, ModelAdmission, ModelAdmissionProps, ModelSigningKey, ServingImageVerification, VerifierImage } from '../../src';
import { expectNagClean, nagFindings } from '../helpers/nag';
import { verifierCaPem } from '../helpers/verifier-ca';
import { TRUST_POLICY, VERIFIER_IMAGE } from '../k8s/fixtures';

/** A deploy-time string that is not a KMS key of the stack (a parameter's value). */
const externalValue = (stack: Stack) => new CfnParameter(stack, 'ExternalKeyArn', { type: 'String' }).valueAsString;

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

/** A KYVERNO ModelAdmission on a new cluster of `stack`, with `props` over the fixtures. */
function kyvernoIn(stack: Stack, props: Partial<ModelAdmissionProps>): ModelAdmission {
  return new ModelAdmission(stack, 'Admission', {
    cluster: newCluster(stack),
    engine: AdmissionEngine.KYVERNO,
    store: new AttestationStore(stack, 'Store'),
    image: VERIFIER_IMAGE,
    caCertificatePem: verifierCaPem(),
    trustPolicy: TRUST_POLICY,
    ...props,
  });
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
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('AdmissionVerifierRole') }] } });
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: 'modelseal-system', ServiceAccount: 'modelseal-verifier', RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AdmissionVerifierRole'), 'Arn'] },
    });
    const [role] = Object.values(template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('^ModelSeal verifier') } })) as any[];
    // EKS Pod Identity trust, only for this cluster, namespace and ServiceAccount (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html)
    expect(stack.resolve(role.Properties.AssumeRolePolicyDocument.Statement)).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        StringEquals: {
          'aws:RequestTag/eks-cluster-arn': { 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] },
          'aws:RequestTag/kubernetes-namespace': 'modelseal-system',
          'aws:RequestTag/kubernetes-service-account': 'modelseal-verifier',
        },
      },
    }]);
    // the verifier's pods start only once the association and the role's policy exist
    const [[, manifest]] = Object.entries(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')) as any;
    expect(manifest.DependsOn).toEqual(expect.arrayContaining([
      Object.keys(template.findResources('AWS::EKS::PodIdentityAssociation'))[0],
      Object.keys(policies)[0],
    ]));
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
    expect(() => build(AdmissionEngine.KYVERNO, { servingImageReferences: ['*.dkr.ecr.*'] }))
      .toThrow("ModelAdmission 'Stack/Admission': servingImageReferences applies only with servingImageVerification (engine KYVERNO), which is not set");
  });

  test('a bad webhookTimeout is reported as webhookTimeout (not as the Gatekeeper Provider\'s providerTimeout)', () => {
    expect(() => build(AdmissionEngine.GATEKEEPER, { webhookTimeout: Duration.seconds(3) }))
      .toThrow("ModelAdmission 'Stack/Admission': webhookTimeout must exceed the verifier's deadline (2000 ms) by more than 2 s with GATEKEEPER (its external-data Provider gets webhookTimeout - 2 s), got 3000 ms");
    expect(() => build(AdmissionEngine.GATEKEEPER, { webhookTimeout: Duration.seconds(31) }))
      .toThrow("ModelAdmission 'Stack/Admission': webhookTimeout must be whole seconds between 1 and 30 (the Kubernetes webhook limits), got 31000 ms");
    expect(() => build(AdmissionEngine.NATIVE, { webhookTimeout: Duration.millis(4500) })).toThrow(/webhookTimeout must be whole seconds between 1 and 30 .*got 4500 ms/);
    // 5 s (the default) leaves the Provider 3 s, above the 2 s deadline
    expect(() => build(AdmissionEngine.GATEKEEPER, { webhookTimeout: Duration.seconds(5) })).not.toThrow();
  });
});

describe('ModelAdmission: Kyverno verifies cosign (KMS) serving images with its own identity, on model pods only', () => {
  const COSIGN = 'arn:aws:kms:eu-west-1:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab';
  function cosign(extra: Partial<ModelAdmissionProps> = {}) {
    return build(AdmissionEngine.KYVERNO, { certManagerCaSecretName: 'modelseal-ca', servingImageVerification: ServingImageVerification.cosignKms(COSIGN), ...extra });
  }

  test('Kyverno\'s admission controller ServiceAccount gets a Pod Identity role with exactly kms:GetPublicKey on the cosign key', () => {
    const { template, stack, admission } = cosign();
    const { values } = helmValues(template, 'kyverno');
    expect(values.admissionController).toEqual({ replicas: 3, rbac: { serviceAccount: { name: 'kyverno-admission-controller' } } });
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: 'kyverno', ServiceAccount: 'kyverno-admission-controller', RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AdmissionKyvernoRole'), 'Arn'] },
    });
    const roleId = stack.getLogicalId(admission.kyvernoRole!.node.defaultChild as any);
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals).toMatchObject({
      'aws:RequestTag/kubernetes-namespace': 'kyverno', 'aws:RequestTag/kubernetes-service-account': 'kyverno-admission-controller',
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
    expect(Object.values(policies).map((p: any) => p.Properties.PolicyDocument.Statement)).toEqual([[{ Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: COSIGN }]]);
    // the policies are applied only once Kyverno can get credentials
    const manifest = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource'))[0] as any;
    const association = Object.entries(template.findResources('AWS::EKS::PodIdentityAssociation')).find(([, r]: any) => r.Properties.Namespace === 'kyverno')![0];
    expect(manifest.DependsOn).toEqual(expect.arrayContaining([association, Object.keys(policies)[0]]));
    expect(nagFindings(admission).map((f) => `${f.rule} ${f.paths.join(',')}`)).toEqual([]);
  });

  test('servingImageRepositories: ECR pulls on those repositories only', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
    const repo = new ecr.Repository(stack, 'Serving');
    const admission = kyvernoIn(stack, { servingImageVerification: ServingImageVerification.cosignKms(COSIGN), servingImageRepositories: [repo] });
    const statements = stack.resolve((admission.kyvernoRole!.node.findChild('DefaultPolicy') as any).document.toJSON()).Statement;
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: COSIGN },
      { Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Serving/), 'Arn'] } },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    ]);
    expect(nagFindings(admission).map((f) => `${f.rule} ${f.paths.join(',')}`)).toEqual([]);
  });

  test('the ImageValidatingPolicy checks model workloads\' pods only; cert-manager\'s namespace is exempt; references and timeout are passed', () => {
    const { admission } = cosign({ servingImageReferences: ['111122223333.dkr.ecr.eu-west-1.amazonaws.com/*'], servingImageTimeout: Duration.seconds(20) });
    const objects = admission.chart.toJson();
    const ivp = objects.find((o: any) => o.kind === 'ImageValidatingPolicy');
    const vp = objects.find((o: any) => o.kind === 'ValidatingPolicy');
    for (const policy of [ivp, vp]) {
      expect(policy.spec.matchConstraints.namespaceSelector.matchExpressions[0].values).toContain('cert-manager');
    }
    expect(ivp.spec.matchImageReferences).toEqual([{ glob: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/*' }]);
    expect(ivp.spec.webhookConfiguration).toEqual({ timeoutSeconds: 20 });
    expect(ivp.spec.matchConditions).toEqual([{
      name: 'model-workload-pod',
      expression: "(has(object.metadata.annotations) && ('modelseal.dev/model-digest' in object.metadata.annotations || 'modelseal.dev/model-uri' in object.metadata.annotations))"
        + " || (has(object.metadata.labels) && 'serving.kserve.io/inferenceservice' in object.metadata.labels)",
    }]);
    // without cert-manager, its namespace is not exempted
    const plain = build(AdmissionEngine.KYVERNO).admission.chart.toJson().find((o: any) => o.kind === 'ValidatingPolicy');
    expect(plain.spec.matchConstraints.namespaceSelector.matchExpressions[0].values).not.toContain('cert-manager');
  });

  test('Notary verification needs no AWS identity: no Kyverno role', () => {
    const { admission, template } = build(AdmissionEngine.KYVERNO, { servingImageVerification: ServingImageVerification.notary(verifierCaPem()) });
    expect(admission.kyvernoRole).toBeUndefined();
    template.resourceCountIs('AWS::EKS::PodIdentityAssociation', 1);
  });
});

describe('ModelAdmission: the verifier can read every key the trust policy names', () => {
  type Extra = (key: ModelSigningKey) => Partial<ModelAdmissionProps>;
  function withPolicy(trustPolicy: (stack: Stack, key: ModelSigningKey) => string, extra: Extra = () => ({})) {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: '111122223333', region: 'eu-west-1' } });
    const key = new ModelSigningKey(stack, 'SigningKey');
    const admission = kyvernoIn(stack, { trustPolicy: trustPolicy(stack, key), ...extra(key) });
    const statements = stack.resolve((admission.verifierRole.node.findChild('DefaultPolicy') as any).document.toJSON()).Statement;
    return { stack, key, admission, statements };
  }

  test('a trust policy built with JSON.stringify({ kmsKeyArn: key.keyArn }) gets kms:GetPublicKey on that key, without a warning', () => {
    const { statements, stack } = withPolicy((_, key) => JSON.stringify({ version: 1, signers: [{ name: 'ci', kmsKeyArn: key.keyArn }] }));
    expect(statements.find((s: any) => s.Action === 'kms:GetPublicKey')).toEqual({
      Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SigningKey/), 'Arn'] },
    });
    AssertAnnotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('trustPolicy contains deploy-time values'));
  });

  test('a token that is no KMS key of the stack: a warning naming verificationSigningKeys', () => {
    const { stack } = withPolicy((s) => JSON.stringify({ version: 1, signers: [{ name: 'ci', kmsKeyArn: externalValue(s) }] }));
    AssertAnnotations.fromStack(stack).hasWarning('/Stack/Admission', Match.stringLikeRegexp('trustPolicy contains deploy-time values that are not KMS keys of this stack .*Pass that key in verificationSigningKeys'));
  });

  test('verificationSigningKeys: grantVerify on each ModelSigningKey, in the role policy and the key policy', () => {
    const { statements, stack, key } = withPolicy(() => TRUST_POLICY, (k) => ({ verificationSigningKeys: [k] }));
    expect(statements.find((s: any) => Array.isArray(s.Action) && s.Action.includes('kms:Verify'))).toEqual({
      Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SigningKey/), 'Arn'] },
    });
    const keyPolicy = stack.resolve(key.policy.toJSON()).Statement;
    expect(keyPolicy).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'],
      Resource: '*',
      Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^AdmissionVerifierRole/), 'Arn'] } },
    });
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
