import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  AdmissionEngine, AttestationRequirement, HardenedBuildRunner, ModelAttestationPipeline, ModelAttestationPipelineProps, ModelAttestationStack,
  EnclaveServingOptions, ModelCard, ModelSigningKey, ModelWeightsKey, SignerParty, SignerRequirement,
} from '../../src';
import { buildReview } from '../../src/runtime/review/review';
import { ensureCliBundle } from '../helpers/cli-bundle';
import { expectNagClean } from '../helpers/nag';
import { verifierCaPem } from '../helpers/verifier-ca';
import { VERIFIER_IMAGE } from '../k8s/fixtures';

const TRAINER = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'3f'.repeat(32)}`;
const SEAL_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelseal-seal@sha256:${'5e'.repeat(32)}`;
const PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6ZRTnJ5Ymx74H2Q6U8pAIBUQZTkO
UKtJVvn2MuxeZM5QIaVCYhfTzqSWzW9sj/EAnid5Q7zyGONEvrqe/FmkNA==
-----END PUBLIC KEY-----`;

function props(extra: Partial<ModelAttestationPipelineProps> = {}): ModelAttestationPipelineProps {
  return {
    signers: [SignerParty.withNewKey('ci'), SignerParty.withNewKey('compliance'), SignerParty.withNewKey('security')],
    requiredSigners: SignerRequirement.allOf(['ci', 'compliance']),
    revokers: ['security'],
    modelName: 'fraud',
    buildImage: TRAINER,
    buildCommands: ['python train.py'],
    verifierImage: VERIFIER_IMAGE,
    verifierCaCertificatePem: verifierCaPem(),
    ...extra,
  };
}

function build(extra: Partial<ModelAttestationPipelineProps> = {}, withCluster = false) {
  ensureCliBundle();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-pipeline-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Stack');
  const pipeline = new ModelAttestationPipeline(stack, 'Pipeline', {
    ...props(extra),
    ...(withCluster ? { kubectlLayer: new KubectlV35Layer(stack, 'Kubectl') } : {}),
  });
  HardenedBuildRunner.acknowledgeStackHelperFunctions(stack); // the test's stack owns CDK's helper functions
  const assembly = app.synth();
  return { stack, pipeline, template: assembly.getStackByName('Stack').template, outdir };
}

/** The verifier's trust policy as the EKS manifest carries it (the ConfigMap's policy.yaml, with its tokens). */
function manifestPolicy(template: any): any {
  const manifest = Object.values<any>(template.Resources).find((r) => r.Type === 'Custom::AWSCDK-EKS-KubernetesResource'
    && JSON.stringify(r.Properties.Manifest).includes('modelseal-verifier-policy'));
  return manifest.Properties.Manifest;
}

describe('ModelAttestationPipeline', () => {
  describe('GitOps (no cluster)', () => {
    const { template, outdir, pipeline } = build();
    void pipeline;

    test('one signing key per party with a KMS key, each with its alias, and a signer role per party other than the build\'s', () => {
      const t = Template.fromJSON(template);
      t.resourceCountIs('AWS::KMS::Key', 5); // ci, compliance, security, store, runner
      for (const party of ['ci', 'compliance', 'security']) t.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/modelseal/${party}` });
      const roles = Object.keys(template.Resources).filter((id) => /SignerRole[0-9A-F]{8}$/.test(id));
      expect(roles.map((r) => r.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['PipelineComplianceSignerRole', 'PipelineSecuritySignerRole']);
      expect(pipeline.signerRole('ci')).toBeUndefined();
    });

    test('the compliance role may sign only with its own key (conditioned) and the build role only with ci\'s', () => {
      const t = Template.fromJSON(template);
      const keyId = (party: string) => Object.keys(template.Resources).find((id) => id.startsWith(`Pipeline${party}SigningKey`) && template.Resources[id].Type === 'AWS::KMS::Key')!;
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^PipelineComplianceSignerRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Action: 'kms:Sign',
            Resource: { 'Fn::GetAtt': [keyId('Compliance'), 'Arn'] },
            Condition: { StringEquals: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
          })]),
        },
      });
      const signStatements = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => r.Properties.PolicyDocument.Statement.map((s: any) => ({ roles: r.Properties.Roles, s })))
        .filter(({ s }) => s.Effect === 'Allow' && [s.Action].flat().includes('kms:Sign'));
      const short = (id: string) => id.replace(/[0-9A-F]{8}$/, '');
      expect(signStatements.map(({ roles, s }) => `${short(roles[0].Ref)} -> ${[s.Resource].flat().map((r: any) => short(r['Fn::GetAtt'][0])).join(',')}`).sort()).toEqual([
        'PipelineComplianceSignerRole -> PipelineComplianceSigningKey',
        'PipelineRunnerRole -> PipelineCiSigningKey', // the seal build's role (the train role never signs)
        'PipelineSecuritySignerRole -> PipelineSecuritySigningKey',
      ]);
    });

    test('the trust policy is derived from the props: signers by key ARN, require, attestations, revokers', () => {
      const review = parseYaml(fs.readFileSync(path.join(outdir, 'modelseal', 'Stack', 'trust-policy.yaml'), 'utf8'));
      const id = (party: string) => Object.keys(template.Resources).find((k) => k.startsWith(`Pipeline${party}SigningKey`) && template.Resources[k].Type === 'AWS::KMS::Key');
      expect(review).toEqual({
        apiVersion: 'modelseal.dev/v1',
        kind: 'TrustPolicy',
        metadata: { name: 'fraud' },
        signers: [
          { name: 'ci', kmsKeyArn: `\${${id('Ci')}.Arn}` },
          { name: 'compliance', kmsKeyArn: `\${${id('Compliance')}.Arn}` },
          { name: 'security', kmsKeyArn: `\${${id('Security')}.Arn}` },
        ],
        require: { allOf: ['ci', 'compliance'] },
        // no model card in these props, so no SBOM is demanded (the seal build would make none)
        attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', signers: ['ci'] }],
        revokers: ['security'],
      });
    });

    test('with a model card, the default attestations demand the SBOM too', () => {
      ensureCliBundle();
      const stack = new Stack(new App(), 'S');
      const withCard = new ModelAttestationPipeline(stack, 'Pipeline', props({ modelCard: ModelCard.fromFile(path.join(__dirname, '..', '..', 'examples', 'full-pipeline', 'model-card.yaml')) }));
      expect(withCard.trustPolicy).toContain('predicateType: "https://cyclonedx.org/bom"\n    signers: ["ci"]');
      expect(withCard.trustPolicy).toContain('predicateType: "https://slsa.dev/provenance/v1"');
    });

    test('the Kubernetes objects are written for GitOps, every unresolved value as the resource it comes from', () => {
      const text = fs.readFileSync(path.join(outdir, 'modelseal', 'Stack', 'admission.yaml'), 'utf8');
      const objects = parseAllDocuments(text).map((d) => d.toJS());
      expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Namespace', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'ValidatingPolicy']));
      const cm = objects.find((o) => o.kind === 'ConfigMap');
      expect(cm.data['policy.yaml']).toMatch(/kmsKeyArn: "\$\{PipelineCiSigningKey[0-9A-F]{8}\.Arn\}"/);
      const deployment = objects.find((o) => o.kind === 'Deployment');
      expect(deployment.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--store', expect.stringMatching(/^s3:\/\/\$\{PipelineStore[0-9A-F]{8}\}$/)]));
      expect(text).not.toMatch(/\$\{Token\[/);
    });

    test('stack outputs give the operator what comes next', () => {
      const outputs = Object.keys(template.Outputs).map((o) => o.replace(/^Pipeline/, '').replace(/[0-9A-F]{8}$/, '')).sort();
      expect(outputs).toEqual([
        'CiSigningKeyAlias', 'CiSigningKeyArn', 'ComplianceSignerRoleArn', 'ComplianceSigningKeyAlias', 'ComplianceSigningKeyArn',
        'SealProjectName', 'SecuritySignerRoleArn', 'SecuritySigningKeyAlias', 'SecuritySigningKeyArn', 'StoreBucketName', 'StoreUri', 'TrainProjectName',
        'TrustPolicyConfigMap', 'VerifierService',
      ]);
      expect(Object.values<any>(template.Outputs).find((o) => o.Description.startsWith('The verifier Service')).Value).toBe('modelseal-verifier.modelseal-system.svc');
    });

    test('cdk-nag AwsSolutions and NIST 800-53 R5 clean', () => {
      const { stack } = build();
      expectNagClean(stack);
    });
  });

  describe('with a new EKS cluster (kubectl layer from the app)', () => {
    const { template, stack } = build({}, true);

    test('the verifier\'s ConfigMap in the EKS manifest carries the key ARNs as values CloudFormation resolves', () => {
      const manifest = JSON.stringify(manifestPolicy(template));
      for (const party of ['Ci', 'Compliance', 'Security']) {
        expect(manifest).toMatch(new RegExp(`\\{"Fn::GetAtt":\\["Pipeline${party}SigningKey[0-9A-F]{8}","Arn"\\]\\}`));
      }
    });

    test('the cluster: private endpoint, every control plane log, Secrets encrypted with a key whose policy has no wildcard action', () => {
      const t = Template.fromJSON(template);
      t.hasResourceProperties('AWS::EKS::Cluster', {
        Version: '1.35',
        ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false, EndpointPrivateAccess: true }),
        EncryptionConfig: [Match.objectLike({ Resources: ['secrets'] })],
        Logging: { ClusterLogging: { EnabledTypes: Match.arrayWith([{ Type: 'api' }, { Type: 'audit' }]) } },
      });
      const key = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::KMS::Key' && r.Properties.Tags?.some((x: any) => x.Value === 'cluster-key'));
      for (const s of key.Properties.KeyPolicy.Statement) expect([s.Action].flat().some((a: string) => a.includes('*'))).toBe(false);
    });

    test('the verifier role reads the store and the public keys of every party', () => {
      const t = Template.fromJSON(template);
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^PipelineAdmissionVerifierRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Action: 'kms:GetPublicKey',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineCiSigningKey'), 'Arn'] }]),
          })]),
        },
      });
    });

    test('cdk-nag AwsSolutions and NIST 800-53 R5 clean, the cluster included', () => {
      expectNagClean(stack);
    });
  });

  test('modelseal review of the pipeline: no unconditioned kms:Decrypt; the default seal image is reported unpinned, a digest-pinned sealImage closes it', () => {
    const findingsOf = (outdir: string) => buildReview({ cdkOut: outdir }).findings.map((f) => `${f.severity} ${f.rule} ${f.where.replace(/[0-9A-F]{8}$/, '')}`);
    const byDefault = build();
    expect(findingsOf(byDefault.outdir)).toEqual(['high unpinned-image Stack/PipelineRunnerSealProject']);
    const pinned = build({ sealImage: SEAL_IMAGE });
    expect(findingsOf(pinned.outdir)).toEqual([]);
    const seal = Object.values<any>(pinned.template.Resources).find((r) => r.Type === 'AWS::CodeBuild::Project' && r.Properties.Name.endsWith('-seal'));
    expect(seal.Properties.Environment).toEqual(expect.objectContaining({ Image: SEAL_IMAGE, ImagePullCredentialsType: 'SERVICE_ROLE' }));
  });

  test('ModelAttestationStack is a ready stack with the pipeline as "Pipeline"', () => {
    ensureCliBundle();
    const app = new App();
    const stack = new ModelAttestationStack(app, 'Models', props());
    expect(stack.pipeline.node.path).toBe('Models/Pipeline');
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 5);
  });

  test('with a weights key, the seal build (the ci party\'s role) also seals the weights for the enclave tier', () => {
    ensureCliBundle();
    const app = new App();
    const stack = new Stack(app, 'S');
    const weightsKey = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: ['d4'.repeat(48)] });
    const pipeline = new ModelAttestationPipeline(stack, 'Pipeline', props({
      weightsKey, enclaveMeasurements: { pcr0: 'a1'.repeat(48), pcr1: 'b2'.repeat(48), pcr2: 'c3'.repeat(48), pcr8: 'd4'.repeat(48) },
    }));
    expect(pipeline.runner.sealedWeightsPrefix).toBe('sealed/fraud/');
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowSealersToEncrypt', Principal: { AWS: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineRunnerRole'), 'Arn'] } } })]) },
    });
  });

  test('a public-key party is named by its PEM in the policy and gets no key and no role', () => {
    const { pipeline, template } = build({
      signers: [SignerParty.withNewKey('ci'), SignerParty.withPublicKey('lead', PEM)],
      requiredSigners: SignerRequirement.atLeast(2, ['ci', 'lead']),
      revokers: [],
      requiredAttestations: [AttestationRequirement.sbom(['ci', 'lead'])],
    });
    expect(pipeline.trustPolicy).toContain('publicKey: "-----BEGIN PUBLIC KEY-----\\nMFkw');
    expect(pipeline.trustPolicy).toContain('atLeast: 2');
    expect(pipeline.signerRole('lead')).toBeUndefined();
    Template.fromJSON(template).resourceCountIs('AWS::KMS::Key', 3); // ci, store, runner
  });

  test('an existing key signs for its party (IAM-only grants), and stays out of this stack', () => {
    ensureCliBundle();
    const app = new App();
    const stack = new Stack(app, 'S');
    const imported = ModelSigningKey.fromKeyArn(stack, 'Ci', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const pipeline = new ModelAttestationPipeline(stack, 'Pipeline', props({ signers: [SignerParty.withExistingKey('ci', imported), SignerParty.withNewKey('compliance')], revokers: [], requiredSigners: undefined }));
    expect(pipeline.trustPolicy).toContain('kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"');
    expect(pipeline.trustPolicy).toContain('allOf: ["ci", "compliance"]');
  });

  test.each([
    ['no party', { signers: [] }, /signers must name at least one party, got none/],
    ['a bad name', { signers: [SignerParty.withNewKey('c i')] }, /signers names must match .*, got 'c i'/],
    ['a name twice', { signers: [SignerParty.withNewKey('ci'), SignerParty.withNewKey('ci')] }, /signers names must be unique, got 'ci' twice/],
    ['an unknown revoker', { revokers: ['audit'] }, /revokers names 'audit', which is not one of signers \(ci, compliance, security\)/],
    ['an unknown required signer', { requiredSigners: SignerRequirement.allOf(['ci', 'lead']) }, /requiredSigners names 'lead'/],
    ['atLeast beyond the list', { requiredSigners: SignerRequirement.atLeast(3, ['ci', 'compliance']) }, /atLeast must be between 1 and 2, got 3/],
    ['an unknown attestation signer', { requiredAttestations: [AttestationRequirement.sbom(['qa'])] }, /requiredAttestations \(https:\/\/cyclonedx.org\/bom\) names 'qa'/],
    ['a build party without a KMS key', { signers: [SignerParty.withPublicKey('ci', PEM)], revokers: [], requiredSigners: undefined }, /buildSigner 'ci' signs with a public key outside AWS/],
    ['a public key that is not PEM', { signers: [SignerParty.withNewKey('ci'), SignerParty.withPublicKey('lead', 'abc')], revokers: [], requiredSigners: undefined }, /signers \(lead\) publicKeyPem must be an SPKI PEM public key/],
    ['NATIVE without control plane CIDRs', { admissionEngine: AdmissionEngine.NATIVE }, /controlPlaneCidrs must name the API server's CIDRs/],
  ])('fails when given %s, naming the prop', (_name, extra, message) => {
    ensureCliBundle();
    const stack = new Stack(new App(), 'S');
    expect(() => new ModelAttestationPipeline(stack, 'Pipeline', props(extra as Partial<ModelAttestationPipelineProps>))).toThrow(message);
  });

  describe('with enclaveServing: the pipeline creates the enclave tier', () => {
    const PCR8 = 'd4'.repeat(48);
    const MEASUREMENTS = { pcr0: 'a1'.repeat(48), pcr1: 'b2'.repeat(48), pcr2: 'c3'.repeat(48), pcr8: PCR8 };

    /** A stack with the user's serving VPC (isolated, flow logs) and enclave image bucket, as the example has them. */
    function servingStack() {
      ensureCliBundle();
      const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-pipeline-')) });
      const stack = new Stack(app, 'Stack');
      const vpc = new ec2.Vpc(stack, 'ServingVpc', {
        maxAzs: 2,
        natGateways: 0,
        createInternetGateway: false,
        restrictDefaultSecurityGroup: false,
        subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      });
      const flowLogs = new logs.LogGroup(stack, 'FlowLogs', { retention: logs.RetentionDays.ONE_YEAR });
      vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL });
      const images = new s3.Bucket(stack, 'EnclaveImages', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        versioned: true,
        serverAccessLogsPrefix: 'logs/',
      });
      const reason = 'The test stack stands in for the user\'s own VPC and image bucket, outside the pipeline.';
      Validations.of(flowLogs).acknowledge({ id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason });
      Validations.of(vpc.node.findChild('FlowLogs')).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason });
      Validations.of(vpc).acknowledge({ id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason });
      Validations.of(images).acknowledge(
        { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason }, { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason },
        { id: 'AwsSolutions-S1', reason }, { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason },
      );
      const weightsKey = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: [PCR8] });
      return { app, stack, vpc, images, weightsKey };
    }

    function serving(images: s3.IBucket, vpc?: ec2.IVpc, extra: Partial<EnclaveServingOptions> = {}): EnclaveServingOptions {
      return { vpc, sealedWeightsVersion: '7', enclaveImageBucket: images, enclaveImagePrefix: 'fraud/enclave/', ...extra };
    }

    const s = servingStack();
    const pipeline = new ModelAttestationPipeline(s.stack, 'Pipeline', props({
      weightsKey: s.weightsKey, enclaveMeasurements: MEASUREMENTS, enclaveServing: serving(s.images, s.vpc),
    }));
    HardenedBuildRunner.acknowledgeStackHelperFunctions(s.stack);
    const template = s.app.synth().getStackByName('Stack').template;
    const t = Template.fromJSON(template);
    /** The logical ID of the construct `prefix` (CDK's 8-hex suffix follows the path). */
    const id = (prefix: string, type: string) => Object.keys(template.Resources)
      .find((k) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(k) && template.Resources[k].Type === type)!;
    const staging = id('PipelineRunnerStaging', 'AWS::S3::Bucket');

    test('the tier reads the sealed weights of the chosen build from the runner\'s staging bucket, the image from the user\'s bucket', () => {
      expect(pipeline.enclaveTier).toBeDefined();
      expect(pipeline.enclaveTier!.node.path).toBe('Stack/Pipeline/EnclaveTier');
      t.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^PipelineEnclaveTierInstanceRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'ReadEnclaveArtifacts',
              Resource: [
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id('EnclaveImages', 'AWS::S3::Bucket'), 'Arn'] }, '/fraud/enclave/*']] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': [staging, 'Arn'] }, '/sealed/fraud/7/*']] },
              ],
            }),
            Match.objectLike({ Sid: 'ListEnclaveImage', Condition: { StringLike: { 's3:prefix': ['fraud/enclave/*'] } } }),
            Match.objectLike({ Sid: 'ListSealedWeights', Resource: { 'Fn::GetAtt': [staging, 'Arn'] }, Condition: { StringLike: { 's3:prefix': ['sealed/fraud/7/*'] } } }),
          ]),
        },
      });
      const script = JSON.stringify(s.stack.resolve(pipeline.enclaveTier!.hostScript));
      expect(script).toContain('/sealed/fraud/7/ /opt/modelseal/sealed/');
      expect(script).toContain('fraud/enclave/ /opt/modelseal/enclave-image/');
      expect(script).toContain(`{"Ref":"${staging}"},"/sealed/fraud/7/`);
    });

    test('the sealed weights must carry the seal build\'s enclave-seal attestation for the PCR8 of enclaveMeasurements', () => {
      const policy = parseYaml(pipeline.sealedWeightsTrustPolicy!);
      expect(policy.require).toEqual({ allOf: ['ci', 'compliance'] });
      expect(policy.attestations).toEqual([
        { predicateType: 'https://slsa.dev/provenance/v1', signers: ['ci'] },
        {
          predicateType: 'https://modelseal.dev/enclave-seal/v1',
          signers: ['ci'],
          conditions: [{ name: 'enclave-image', expression: `predicate.enclave.pcrs.PCR8 == '${PCR8}'`, message: 'sealed for another enclave image (PCR8)' }],
        },
      ]);
      expect(parseYaml(pipeline.trustPolicy).attestations).toEqual([{ predicateType: 'https://slsa.dev/provenance/v1', signers: ['ci'] }]);
    });

    test('the hosts may read the public key of every party (trustPolicySigningKeys) and decrypt only in an attested enclave', () => {
      const statements = Object.values<any>(template.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => /^PipelineEnclaveTierInstanceRole/.test(x.Ref)))
        .flatMap((r) => r.Properties.PolicyDocument.Statement);
      const publicKeys = statements.filter((x) => [x.Action].flat().includes('kms:GetPublicKey')).flatMap((x) => [x.Resource].flat());
      for (const party of ['Ci', 'Compliance', 'Security']) {
        expect(publicKeys).toContainEqual({ 'Fn::GetAtt': [id(`Pipeline${party}SigningKey`, 'AWS::KMS::Key'), 'Arn'] });
      }
      t.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([Match.objectLike({
            Action: 'kms:Decrypt',
            Principal: { AWS: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineEnclaveTierInstanceRole'), 'Arn'] } },
            Condition: Match.objectLike({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } }),
          })]),
        },
      });
    });

    test('stack outputs: the load balancer and the sealed weights served', () => {
      const outputs = Object.values<any>(template.Outputs);
      expect(outputs.find((o) => o.Description.startsWith('The enclave tier\'s internal load balancer')).Value)
        .toEqual({ 'Fn::GetAtt': [id('PipelineEnclaveTierLoadBalancer', 'AWS::ElasticLoadBalancingV2::LoadBalancer'), 'DNSName'] });
      expect(outputs.find((o) => o.Description === 'The sealed weights the enclave tier serves').Value)
        .toEqual({ 'Fn::Join': ['', ['s3://', { Ref: staging }, '/sealed/fraud/7/']] });
    });

    test('the existing resources keep their logical IDs and types', () => {
      const before = build({}).template.Resources;
      for (const [logicalId, r] of Object.entries<any>(before)) {
        if (/^(CustomS3AutoDeleteObjects|AWS679f53fac002430cb0da5b7982bd2287|LogRetention|BucketNotificationsHandler)/.test(logicalId)) continue;
        expect([logicalId, template.Resources[logicalId]?.Type]).toEqual([logicalId, r.Type]);
      }
    });

    test('cdk-nag AwsSolutions and NIST 800-53 R5 clean, the tier included', () => {
      expectNagClean(s.stack);
    });

    test.each([
      ['no weightsKey', { weightsKey: undefined, enclaveMeasurements: undefined }, /enclaveServing needs weightsKey/],
      ['a build number that is not one', { enclaveServing: 'v7' }, /enclaveServing.sealedWeightsVersion must be a train build number \(digits, known at synth\), got "v7"/],
      ['no VPC', { enclaveServing: 'novpc' }, /enclaveServing.vpc is required \(or the pipeline's vpc\)/],
    ])('fails with %s, naming the prop', (_name, extra, message) => {
      const x = servingStack();
      const opts = (extra as any).enclaveServing === 'v7' ? serving(x.images, x.vpc, { sealedWeightsVersion: 'v7' })
        : (extra as any).enclaveServing === 'novpc' ? serving(x.images) : serving(x.images, x.vpc);
      const p = props({ weightsKey: x.weightsKey, enclaveMeasurements: MEASUREMENTS, ...extra as object, enclaveServing: opts });
      expect(() => new ModelAttestationPipeline(x.stack, 'Pipeline', p)).toThrow(message);
    });
  });
});
