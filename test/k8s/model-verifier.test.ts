import { Duration, Testing } from 'cdk8s';
import { TRUST_POLICY, VERIFIER_IMAGE, verifierInChart } from './fixtures';
import { GatekeeperModelPolicy, KyvernoModelPolicy, ModelVerifier, NativeModelPolicy, VerifierImage, VerifierTlsVersion } from '../../src';
import { validateCoreObject } from '../helpers/k8s';
import { verifierCaPem } from '../helpers/verifier-ca';

const find = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);

describe('ModelVerifier', () => {
  test('renders the contract: args, mounts, ports, probes, Service 443 -> https', () => {
    const { chart } = verifierInChart({ region: 'eu-west-1', exemptNamespaces: ['sandbox'], deadline: Duration.millis(1500) });
    const objs = Testing.synth(chart);
    const [deployment] = find(objs, 'Deployment');
    const c = deployment.spec.template.spec.containers[0];
    expect(c.command).toEqual(['modelseal']);
    expect(c.args).toEqual([
      'serve', '--listen', '0.0.0.0:8443',
      '--tls-cert', '/etc/modelseal/tls/tls.crt', '--tls-key', '/etc/modelseal/tls/tls.key', '--tls-min-version', '1.3',
      '--store', 's3://attestations-bucket', '--policy', '/etc/modelseal/policy/policy.yaml',
      '--cache-ttl', '60s', '--deny-cache-ttl', '5s', '--cache-size', '10000', '--deadline', '1500ms',
      '--region', 'eu-west-1', '--exempt-namespaces', 'sandbox',
      // the structural rules' options, the same the engines' CEL renders
      '--kserve-uri-prefixes', 's3://', '--kserve-storage-container', 'modelseal', '--load-verifier-image', VERIFIER_IMAGE.reference, '--load-verifier-command', 'modelseal',
    ]);
    expect(c.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/healthz', port: 'https' });
    expect(c.readinessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/readyz', port: 'https' });
    expect(c.volumeMounts).toEqual([
      { name: 'tls', mountPath: '/etc/modelseal/tls', readOnly: true },
      { name: 'policy', mountPath: '/etc/modelseal/policy', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    const vols = deployment.spec.template.spec.volumes;
    expect(vols.find((v: any) => v.name === 'tls').secret.secretName).toBe('modelseal-verifier-tls');
    expect(vols.find((v: any) => v.name === 'policy').configMap.name).toBe('modelseal-verifier-policy');
    const [service] = find(objs, 'Service');
    expect(service.metadata).toMatchObject({ name: 'modelseal-verifier', namespace: 'modelseal-system' });
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    const [cm] = find(objs, 'ConfigMap');
    expect(Object.keys(cm.data).sort()).toEqual(['ci.pub.pem', 'policy.yaml']);
    expect(cm.data['policy.yaml']).toBe(TRUST_POLICY);
  });

  test('pods meet the "restricted" Pod Security Standard, with requests and limits', () => {
    const [deployment] = find(Testing.synth(verifierInChart().chart), 'Deployment');
    const spec = deployment.spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.containers[0].resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  test('two replicas spread across zones and nodes, a PodDisruptionBudget, rolling updates that never drop below', () => {
    const objs = Testing.synth(verifierInChart().chart);
    const [deployment] = find(objs, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(deployment.spec.template.spec.topologySpreadConstraints.map((t: any) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ['topology.kubernetes.io/zone', 'ScheduleAnyway'], ['kubernetes.io/hostname', 'DoNotSchedule'],
    ]);
    const [pdb] = find(objs, 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
  });

  test('NetworkPolicy: ingress to https only from the engine namespace and the control plane CIDRs', () => {
    const objs = Testing.synth(verifierInChart({ clientNamespaces: ['gatekeeper-system'], controlPlaneCidrs: ['10.0.0.0/16'] }).chart);
    const [np] = find(objs, 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toEqual([{
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gatekeeper-system' } } },
        { ipBlock: { cidr: '10.0.0.0/16' } },
      ],
      ports: [{ protocol: 'TCP', port: 'https' }],
    }]);
  });

  test('the namespace enforces the restricted Pod Security Standard', () => {
    const [ns] = find(Testing.synth(verifierInChart().chart), 'Namespace');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('cert-manager: an Issuer of type CA from the given Secret and a Certificate for the Service DNS names', () => {
    const { chart, verifier } = verifierInChart({ certManagerCaSecretName: 'modelseal-ca' });
    const objs = Testing.synth(chart);
    expect(verifier.usesCertManager).toBe(true);
    expect(find(objs, 'Issuer')[0].spec).toEqual({ ca: { secretName: 'modelseal-ca' } });
    const [cert] = find(objs, 'Certificate');
    expect(cert.spec.secretName).toBe('modelseal-verifier-tls');
    expect(cert.spec.dnsNames).toEqual([
      'modelseal-verifier', 'modelseal-verifier.modelseal-system', 'modelseal-verifier.modelseal-system.svc',
      'modelseal-verifier.modelseal-system.svc.cluster.local',
    ]);
  });

  test('every core object validates against the Kubernetes OpenAPI schema', () => {
    const objs = Testing.synth(verifierInChart({ controlPlaneCidrs: ['10.0.0.0/16'] }).chart).filter((o) => o.apiVersion !== 'cert-manager.io/v1');
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    for (const o of objs) expect(() => validateCoreObject(o)).not.toThrow();
  });

  test('url() and TLS version', () => {
    const { verifier } = verifierInChart({ tlsMinVersion: VerifierTlsVersion.TLS_1_2 });
    expect(verifier.url('/kyverno')).toBe('https://modelseal-verifier.modelseal-system.svc/kyverno');
    expect(verifier.tlsMinVersion).toBe('1.2');
  });

  test.each([
    [{ replicas: 1 }, /replicas must be an integer of at least 2.*got 1/],
    [{ clientNamespaces: [], controlPlaneCidrs: [] }, /clientNamespaces and controlPlaneCidrs are both empty/],
    [{ controlPlaneCidrs: ['10.0.0.0'] }, /controlPlaneCidrs must hold CIDRs.*got '10.0.0.0'/],
    [{ storeUri: 'http://bucket' }, /storeUri must be s3:\/\/bucket\[\/prefix\] or file:\/\/\/path, got 'http:\/\/bucket'/],
    [{ caCertificatePem: 'not a pem' }, /caCertificatePem must be a PEM certificate/],
    [{ caCertificatePem: `${'-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n'}-----BEGIN PRIVATE KEY-----\n` }, /holds a private key/],
    [{ namespace: 'Bad_NS' }, /namespace must be a DNS label.*got 'Bad_NS'/],
    [{ trustPolicyFiles: [{ name: 'policy.yaml', content: 'x' }] }, /trustPolicyFiles names must be ConfigMap keys other than policy.yaml/],
    [{ trustPolicy: '  ' }, /trustPolicy must not be empty/],
  ])('fails when a prop is invalid (%o)', (props, error) => {
    expect(() => verifierInChart(props as any)).toThrow(error);
  });

  test('fails when the image is not pinned by digest', () => {
    expect(() => VerifierImage.fromRegistry('registry.example/modelseal:1.0')).toThrow(/pinned by digest.*registry.example\/modelseal:1.0/);
    expect(VERIFIER_IMAGE.reference).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  test('error messages name the construct path', () => {
    const chart = Testing.chart();
    expect(() => new ModelVerifier(chart, 'V', {
      image: VERIFIER_IMAGE, storeUri: 's3://bucket', trustPolicy: 'x', caCertificatePem: verifierCaPem(), clientNamespaces: ['k'], replicas: 0,
    })).toThrow(/^ModelVerifier '.*\/V': replicas/);
  });
});

describe('mutual TLS (clientCaCertificatePem): the verifier requires Gatekeeper\'s client certificate', () => {
  const clientCa = verifierCaPem();

  test('renders --client-ca from a ConfigMap mounted read-only; the probes stay plain HTTPS GETs', () => {
    const { chart, verifier } = verifierInChart({ clientCaCertificatePem: clientCa, clientNamespaces: ['gatekeeper-system'] });
    expect(verifier.requiresClientCertificates).toBe(true);
    const objs = Testing.synth(chart);
    const [deployment] = find(objs, 'Deployment');
    const c = deployment.spec.template.spec.containers[0];
    const at = c.args.indexOf('--client-ca');
    expect(c.args.slice(at, at + 2)).toEqual(['--client-ca', '/etc/modelseal/client-ca/ca.crt']);
    expect(c.volumeMounts).toContainEqual({ name: 'client-ca', mountPath: '/etc/modelseal/client-ca', readOnly: true });
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'client-ca', configMap: { name: 'modelseal-verifier-client-ca', defaultMode: 0o440 } });
    const cm = find(objs, 'ConfigMap').find((o) => o.metadata.name === 'modelseal-verifier-client-ca');
    expect(cm).toMatchObject({ metadata: { namespace: 'modelseal-system' }, data: { 'ca.crt': clientCa } });
    expect(c.readinessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/readyz', port: 'https' });
    for (const o of objs) expect(() => validateCoreObject(o)).not.toThrow();
  });

  test('without it: no --client-ca, no client CA ConfigMap', () => {
    const { chart, verifier } = verifierInChart();
    expect(verifier.requiresClientCertificates).toBe(false);
    const objs = Testing.synth(chart);
    expect(find(objs, 'Deployment')[0].spec.template.spec.containers[0].args).not.toContain('--client-ca');
    expect(find(objs, 'ConfigMap').map((o) => o.metadata.name)).toEqual(['modelseal-verifier-policy']);
  });

  test('a client CA that is not a certificate, or holds a private key, is refused', () => {
    expect(() => verifierInChart({ clientCaCertificatePem: 'not a pem' })).toThrow(/clientCaCertificatePem must be a PEM certificate/);
    expect(() => verifierInChart({ clientCaCertificatePem: `${clientCa}-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n` }))
      .toThrow(/clientCaCertificatePem holds a private key/);
  });

  test('Kyverno and the native webhook present no client certificate: their policies refuse such a verifier; Gatekeeper takes it', () => {
    const kyverno = verifierInChart({ clientCaCertificatePem: clientCa });
    expect(() => new KyvernoModelPolicy(kyverno.chart, 'Kyverno', { verifier: kyverno.verifier }))
      .toThrow(/KyvernoModelPolicy.*verifier requires client certificates \(clientCaCertificatePem\), but Kyverno's http.Client presents no client certificate/);
    const native = verifierInChart({ clientCaCertificatePem: clientCa, controlPlaneCidrs: ['10.0.0.0/16'] });
    expect(() => new NativeModelPolicy(native.chart, 'Native', { verifier: native.verifier }))
      .toThrow(/NativeModelPolicy.*verifier requires client certificates \(clientCaCertificatePem\), but the API server presents no client certificate/);
    const gk = verifierInChart({ clientCaCertificatePem: clientCa, clientNamespaces: ['gatekeeper-system'] });
    const policy = new GatekeeperModelPolicy(gk.chart, 'Gatekeeper', { verifier: gk.verifier });
    expect(policy.providerName).toBe('modelseal-verifier');
  });
});

describe('VerifierImage: always pinned by digest', () => {
  const DIGEST_OF_IMAGE = `sha256:${'4e'.repeat(32)}`;

  test('fromRepositoryDigest renders repository@digest; a bad digest, a tag or a digest in the URI is refused', () => {
    expect(VerifierImage.fromRepositoryDigest('111122223333.dkr.ecr.eu-west-1.amazonaws.com/modelseal', DIGEST_OF_IMAGE).reference)
      .toBe(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/modelseal@${DIGEST_OF_IMAGE}`);
    expect(VerifierImage.fromRepositoryDigest('registry.example:5000/team/modelseal', DIGEST_OF_IMAGE).reference)
      .toBe(`registry.example:5000/team/modelseal@${DIGEST_OF_IMAGE}`);
    expect(() => VerifierImage.fromRepositoryDigest('registry.example/modelseal', 'sha256:abc')).toThrow(/digest must be sha256:<64 lowercase hex>, got 'sha256:abc'/);
    expect(() => VerifierImage.fromRepositoryDigest('registry.example/modelseal', 'latest')).toThrow(/got 'latest'/);
    expect(() => VerifierImage.fromRepositoryDigest('registry.example/modelseal:1.0', DIGEST_OF_IMAGE)).toThrow(/must not carry a tag, got 'registry.example\/modelseal:1.0'/);
    expect(() => VerifierImage.fromRepositoryDigest(`registry.example/modelseal@${DIGEST_OF_IMAGE}`, DIGEST_OF_IMAGE)).toThrow(/without a tag or digest/);
  });

  test('fromRegistry refuses a deploy-time token (a DockerImageAsset\'s imageUri is a tag), naming the way out', () => {
    expect(() => VerifierImage.fromRegistry('${Token[TOKEN.123]}')).toThrow(/deploy-time token \(a DockerImageAsset's imageUri is repository:tag.*fromRepositoryDigest/);
  });
});
