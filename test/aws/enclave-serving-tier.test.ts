import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AttestationStore, EnclaveServingTier, EnclaveServingTierProps, ModelWeightsKey } from '../../src';
import { lookupEnclaveInstanceType } from '../../src/private/enclave-instance-types';
import { ensureCliBundle } from '../helpers/cli-bundle';
import { TemplateSimulator } from '../helpers/iam-sim';
import { nagFindings } from '../helpers/nag';

const PCR8 = 'a1'.repeat(48);
const POLICY = JSON.stringify({ apiVersion: 'modelseal.dev/v1', kind: 'TrustPolicy', signers: [{ name: 'ci', publicKey: '-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n' }], require: { allOf: ['ci'] } });

beforeAll(() => ensureCliBundle(), 120_000);

function setup(overrides: Partial<EnclaveServingTierProps> = {}, vpcProps: ec2.VpcProps = {}, storePrefix?: string) {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    ...vpcProps,
  });
  const store = new AttestationStore(stack, 'Store', { prefix: storePrefix });
  const weightsKey = new ModelWeightsKey(stack, 'WeightsKey', { enclavePcr8: [PCR8] });
  const artifacts = new s3.Bucket(stack, 'Artifacts');
  const make = (more: Partial<EnclaveServingTierProps> = {}) => new EnclaveServingTier(stack, 'Serving', {
    vpc,
    weightsKey,
    store,
    artifactsBucket: artifacts,
    enclaveImagePrefix: 'model/1/enclave/',
    sealedWeightsPrefix: 'model/1/sealed/',
    trustPolicy: POLICY,
    ...overrides,
    ...more,
  });
  return { app, stack, vpc, make };
}

/** The host script as the instance receives it, with every intrinsic resolved to the simulator's fake values. */
function hostScript(stack: Stack): string {
  const sim = TemplateSimulator.fromStack(stack);
  const lt = sim.idsOfType('AWS::EC2::LaunchTemplate')[0];
  return Buffer.from(sim.props(lt).LaunchTemplateData.UserData, 'base64').toString('utf8');
}

describe('EnclaveServingTier', () => {
  test('launch template: Nitro Enclaves on, IMDSv2 required with hop limit 1, encrypted gp3 root volume, no SSH key', () => {
    const { stack, make } = setup();
    make();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: {
        InstanceType: 'm6i.xlarge',
        EnclaveOptions: { Enabled: true },
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled', InstanceMetadataTags: 'disabled' },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 40, DeleteOnTermination: true } }],
        Monitoring: { Enabled: true },
        KeyName: Match.absent(),
        IamInstanceProfile: { Arn: Match.anyValue() },
        ImageId: { Ref: Match.stringLikeRegexp('^SsmParameterValueawsserviceamiamazonlinuxlatestal2023amikernel.*x8664') },
      },
    });
    t.resourceCountIs('AWS::IAM::InstanceProfile', 1);
  });

  test('user data: the steps in order, verification before run-enclave, no debug mode, vsock-proxy to the regional KMS endpoint only', () => {
    const { stack, make } = setup({ enclaveImageDigest: `sha256:${'c'.repeat(64)}`, enclaveMemoryMib: 6144, enclaveCpuCount: 2 });
    make();
    const script = hostScript(stack);
    const lines = script.split('\n');
    const at = (needle: string | RegExp) => {
      const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
      if (i < 0) throw new Error(`no line matches ${needle}:\n${script}`);
      return i;
    };
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines).toContain('set -euo pipefail');
    const order = [
      at('dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel nodejs22 socat tar'),
      at('memory_mib: 6144'),
      at('cpu_count: 2'),
      at('systemctl enable --now nitro-enclaves-allocator.service'),
      at(/^aws s3 cp --only-show-errors s3:\/\/.+\/[0-9a-f]{64}\.js \/opt\/modelseal\/modelseal-cli\.js$/),
      at(/sha256sum --check --quiet - \|\| fail/),
      at(/^aws s3 cp --recursive --only-show-errors s3:\/\/stack-artifacts[^/]*\/model\/1\/enclave\/ \/opt\/modelseal\/enclave-image\/$/),
      at(/^aws s3 cp --recursive --only-show-errors s3:\/\/stack-artifacts[^/]*\/model\/1\/sealed\/ \/opt\/modelseal\/sealed\/$/),
      at('base64 -d > /etc/modelseal/trust-policy.json'),
      at(`node /opt/modelseal/modelseal-cli.js verify policy /opt/modelseal/enclave-image --store s3://stack-storec1f82936 --policy /etc/modelseal/trust-policy.json --digest sha256:${'c'.repeat(64)} || fail`),
      at('node /opt/modelseal/modelseal-cli.js verify policy /opt/modelseal/sealed --store s3://stack-storec1f82936 --policy /etc/modelseal/sealed-weights-policy.json || fail'),
      at('- {address: kms.eu-west-1.amazonaws.com, port: 443}'),
      at('ExecStart=/usr/bin/vsock-proxy 8000 kms.eu-west-1.amazonaws.com 443 --config /etc/nitro_enclaves/vsock-proxy.yaml'),
      at('systemctl enable --now modelseal-vsock-proxy.service'),
      at('nitro-cli run-enclave --eif-path /opt/modelseal/enclave-image/image.eif --cpu-count 2 --memory 6144 --enclave-cid 16'),
      at(/socat -u - VSOCK-CONNECT:16:7000/),
      at('ExecStart=/usr/bin/socat TCP-LISTEN:8443,fork,reuseaddr VSOCK-CONNECT:16:8443'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // no command asks for debug mode or the enclave console (comments may explain why)
    expect(lines.filter((l) => !l.startsWith('#')).join('\n')).not.toMatch(/debug-mode|--attach-console|console/);
    // the allowlist holds exactly one endpoint
    const allowlist = lines.slice(at('allowlist:') + 1, at('allowlist:') + 3);
    expect(allowlist).toEqual(['- {address: kms.eu-west-1.amazonaws.com, port: 443}', 'EOF']);
    // the trust policy reaches the host byte for byte
    const written = /^echo '([A-Za-z0-9+/=]+)' \| base64 -d > \/etc\/modelseal\/trust-policy\.json$/m.exec(script)![1];
    expect(Buffer.from(written, 'base64').toString('utf8')).toBe(POLICY);
  });

  test('user data: the CLI is checked against the SHA-256 of the bundle the construct ships', () => {
    const { stack, make } = setup();
    make();
    const sha = createHash('sha256').update(fs.readFileSync(path.join(__dirname, '..', '..', 'assets', 'modelseal-cli.js'))).digest('hex');
    expect(hostScript(stack)).toContain(`echo '${sha}  /opt/modelseal/modelseal-cli.js' | sha256sum --check --quiet -`);
  });

  test('the instance role, statement for statement: CLI, artifacts, Session Manager, store, decrypt only attested', () => {
    const { stack, make } = setup();
    make();
    const sim = TemplateSimulator.fromStack(stack);
    const roleId = sim.idOf('AWS::IAM::Role', 'ServingInstanceRole');
    const statements = sim.role(roleId).identityPolicies.flatMap((p) => [p.policy.Statement].flat());
    const bucket = sim.arn(sim.idOf('AWS::S3::Bucket', 'Artifacts'));
    const store = sim.arn(sim.idOf('AWS::S3::Bucket', 'StoreC1F'));
    const storeKey = sim.arn(sim.idOf('AWS::KMS::Key', 'StoreKey'));
    const weightsKey = sim.arn(sim.idOf('AWS::KMS::Key', 'WeightsKey'));
    expect(statements).toEqual([
      { Sid: 'ReadModelSealCli', Effect: 'Allow', Action: 's3:GetObject', Resource: expect.stringMatching(/^arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.js$/) },
      { Sid: 'ReadEnclaveArtifacts', Effect: 'Allow', Action: 's3:GetObject', Resource: [`${bucket}/model/1/enclave/*`, `${bucket}/model/1/sealed/*`] },
      { Sid: 'ListEnclaveArtifacts', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket, Condition: { StringLike: { 's3:prefix': ['model/1/enclave/*', 'model/1/sealed/*'] } } },
      {
        Sid: 'SessionManager',
        Effect: 'Allow',
        Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: ['bundles', 'attestations', 'notation', 'revocations', 'refs'].map((p) => `${store}/${p}/*`) },
      // the version listings: the store's reads of refs/ and revocations/ use ListObjectVersions
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: store, Condition: { StringLike: { 's3:prefix': ['bundles/*', 'attestations/*', 'notation/*', 'revocations/*', 'refs/*'] } } },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: storeKey,
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': store } },
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: weightsKey, Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [PCR8] } } },
    ]);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('Auto Scaling group in the private subnets with ELB health checks, behind an internal NLB: TCP passthrough, HTTPS health checks', () => {
    const { stack, make } = setup({ minCapacity: 2, maxCapacity: 4, healthCheckGracePeriod: Duration.minutes(20) });
    make();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2',
      MaxSize: '4',
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 1200,
      VPCZoneIdentifier: [{ Ref: Match.stringLikeRegexp('VpcIsolatedSubnet1') }, { Ref: Match.stringLikeRegexp('VpcIsolatedSubnet2') }],
    });
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', { UpdatePolicy: { AutoScalingRollingUpdate: Match.anyValue() } });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'TCP' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8443,
      Protocol: 'TCP',
      HealthCheckProtocol: 'HTTPS',
      HealthCheckPath: '/healthz',
      HealthCheckPort: 'traffic-port',
      TargetType: 'instance',
    });
    // the hosts accept the serving port from the load balancer only; nobody reaches the load balancer until allowed
    const sgs = t.findResources('AWS::EC2::SecurityGroup');
    const lb = Object.entries<any>(sgs).find(([id]) => id.startsWith('ServingLoadBalancerSecurityGroup'))![1];
    expect(lb.Properties.SecurityGroupIngress).toBeUndefined();
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 8443,
      ToPort: 8443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServingLoadBalancerSecurityGroup'), 'GroupId'] },
    });
    const host = Object.entries<any>(sgs).find(([id]) => id.startsWith('ServingHostSecurityGroup'))![1];
    expect(host.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'HTTPS to S3, KMS and Session Manager (endpoints or NAT)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 }]);
  });

  test('a Graviton type gets an arm64 image; Graviton enclaves may have an odd vCPU count', () => {
    const { stack, make } = setup({ instanceType: new ec2.InstanceType('c7g.large'), enclaveCpuCount: 1, enclaveMemoryMib: 2048 });
    make();
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { InstanceType: 'c7g.large', ImageId: { Ref: Match.stringLikeRegexp('arm64') } },
    });
  });

  describe('fails when', () => {
    test.each([
      ['t3.xlarge', "instanceType 't3.xlarge' is a burstable t3 instance: burstable T families cannot run Nitro Enclaves"],
      ['t4g.large', "instanceType 't4g.large' is a burstable t4g instance"],
      ['m5.large', "instanceType 'm5.large' has 2 vCPUs; Intel and AMD instances need at least 4 to run an enclave"],
      ['c7g.medium', "instanceType 'c7g.medium' has 1 vCPU; Graviton instances need at least 2 to run an enclave"],
      ['a1.xlarge', "instanceType 'a1.xlarge' cannot run Nitro Enclaves (a1 instances do not support them)"],
      ['x9.xlarge', "instanceType 'x9.xlarge' is not in ModelSeal's table of enclave-capable families (c5, c5d,"],
      ['m6i.metal', "instanceType 'm6i.metal' is not a size the table knows for m6i"],
    ])('the instance type cannot run an enclave: %s', (type, message) => {
      const { make } = setup({ instanceType: new ec2.InstanceType(type) });
      expect(make).toThrow(`EnclaveServingTier 'Stack/Serving': ${message}`);
    });

    test('debug mode is asked for', () => {
      const { make } = setup({ enclaveDebugMode: true });
      expect(make).toThrow("EnclaveServingTier 'Stack/Serving': enclaveDebugMode is true, which is refused: a debug-mode enclave (nitro-cli run-enclave --debug-mode) measures all-zero PCRs");
    });

    test('the enclave memory is less than 4x the image plus twice the sealed weights', () => {
      const { make } = setup({ enclaveMemoryMib: 4096, enclaveImageSizeMib: 800, sealedWeightsSizeMib: 500 });
      expect(make).toThrow("EnclaveServingTier 'Stack/Serving': enclaveMemoryMib is 4096 MiB, less than the 4200 MiB the enclave needs: 4 x the 800 MiB enclave image (nitro-cli's rule) + 2 x the 500 MiB of sealed weights");
    });

    test('the enclave memory or vCPUs do not fit the instance', () => {
      expect(setup({ enclaveMemoryMib: 15000 }).make).toThrow('enclaveMemoryMib must be an integer from 64 to 14336 MiB on m6i.xlarge (16384 MiB; the parent keeps 2048), got 15000');
      expect(setup({ enclaveCpuCount: 4 }).make).toThrow('enclaveCpuCount must be an integer from 2 to 2 on m6i.xlarge (4 vCPUs; the parent keeps 2), got 4');
      expect(setup({ instanceType: new ec2.InstanceType('m6i.2xlarge'), enclaveCpuCount: 3 }).make)
        .toThrow('enclaveCpuCount must be even on m6i.2xlarge: an enclave takes whole cores (two threads each) on Intel and AMD, got 3');
    });

    test('the enclave size is a deploy-time value (a parameter): it must be known at synth', () => {
      for (const prop of ['enclaveCpuCount', 'enclaveMemoryMib'] as const) {
        const { stack, make } = setup();
        const value = new CfnParameter(stack, 'Size', { type: 'Number' }).valueAsNumber;
        expect(() => make({ [prop]: value })).toThrow(`EnclaveServingTier 'Stack/Serving': ${prop} must be known at synth, got a deploy-time value (a parameter or another token): `
          + 'it is checked against m6i.xlarge and written into the Nitro Enclaves allocator file of the launch template');
      }
    });

    test('a prefix, the image file, a pinned digest or the trust policy is malformed', () => {
      expect(setup({ enclaveImagePrefix: 'model/1/enclave' }).make).toThrow("enclaveImagePrefix must be an S3 key prefix ending with '/' (no leading '/', no '.' or '..' segment), got \"model/1/enclave\"");
      expect(setup({ sealedWeightsPrefix: 'model/../x/' }).make).toThrow(/sealedWeightsPrefix must be an S3 key prefix/);
      expect(setup({ sealedWeightsPrefix: 'model/1/enclave/sealed/' }).make).toThrow(/sealedWeightsPrefix and enclaveImagePrefix must not contain each other/);
      expect(setup({ enclaveImageFile: 'image.tar' }).make).toThrow(/enclaveImageFile must be a file name ending in \.eif/);
      expect(setup({ sealedWeightsDigest: 'abc' }).make).toThrow('sealedWeightsDigest must be sha256: followed by 64 lower-case hex characters (as modelseal digest prints it), got "abc"');
      expect(setup({ trustPolicy: ' ' }).make).toThrow('trustPolicy must be a trust policy document (YAML or JSON text), got an empty value');
    });

    test('the trust policy would make the user data larger than EC2 accepts', () => {
      expect(setup({ trustPolicy: 'x'.repeat(16 * 1024) }).make).toThrow(/trustPolicy makes the host script \d+ bytes, over EC2's 16384-byte user data limit/);
    });

    test('the subnets are public', () => {
      const { make } = setup({ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }, {
        subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      expect(make).toThrow("EnclaveServingTier 'Stack/Serving': vpcSubnets must select private subnets only; it selects 2 public subnet(s)");
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: the tier\'s own findings are acknowledged with reasons', () => {
    const { stack, make } = setup();
    make();
    // the test's own VPC, bucket and store are not the tier's: check the tier's findings only
    const tier = stack.node.findChild('Serving');
    expect(nagFindings(tier).map((f) => `${f.rule} ${f.paths.join(',')}`)).toEqual([]);
  });

  test('cdk-nag: the store grants are acknowledged under the store\'s prefix too', () => {
    const { stack, make } = setup({}, {}, 'team-a/');
    make();
    expect(nagFindings(stack.node.findChild('Serving')).map((f) => `${f.rule} ${f.paths.join(',')}`)).toEqual([]);
  });
});

describe('the enclave instance-type table', () => {
  test('knows the vCPUs and memory of what it accepts', () => {
    expect(lookupEnclaveInstanceType('m6i.xlarge')).toEqual({ family: 'm6i', size: 'xlarge', arch: 'x86_64', vcpus: 4, memoryMib: 16384, parentVcpus: 2 });
    expect(lookupEnclaveInstanceType('r7g.large')).toEqual({ family: 'r7g', size: 'large', arch: 'arm64', vcpus: 2, memoryMib: 16384, parentVcpus: 1 });
    expect(lookupEnclaveInstanceType('c5.9xlarge')).toMatchObject({ vcpus: 36, memoryMib: 73728 });
    expect(lookupEnclaveInstanceType('c5.8xlarge')).toMatch(/not a size the table knows for c5/);
    expect(lookupEnclaveInstanceType('m6i')).toMatch(/is not an instance type name/);
  });
});
