import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Testing, Yaml } from 'cdk8s';
import { DIGEST, MALFORMED, NOT_MODEL, PINNED, UNPINNED, WELL_FORMED, verifierInChart } from './fixtures';
import { AdmissionMode, KyvernoModelPolicy, ServingImageVerification } from '../../src';
import { evaluatePolicy, HttpCall, KyvernoResponse } from '../helpers/cel-k8s';
import { crdErrors, testWithCrds } from '../helpers/k8s';
import { verifierCaPem } from '../helpers/verifier-ca';

const URL = 'https://modelseal-verifier.modelseal-system.svc/kyverno';
const ALLOW = { allowed: true, reasons: [], manifest: `sha256:${'11'.repeat(32)}`, policy: `sha256:${'22'.repeat(32)}` };
const DENY = { allowed: false, reasons: ['revoked by compliance: leaked weights', 'only 1 of 2 signers'], manifest: null, policy: `sha256:${'22'.repeat(32)}` };

function synth(props: Partial<import('../../src').KyvernoModelPolicyProps> = {}) {
  const { chart, verifier } = verifierInChart();
  const policy = new KyvernoModelPolicy(chart, 'Kyverno', { verifier, ...props });
  const objs = Testing.synth(chart);
  return { policy, objs, vpol: objs.find((o) => o.kind === 'ValidatingPolicy'), ivpol: objs.find((o) => o.kind === 'ImageValidatingPolicy') };
}

describe('KyvernoModelPolicy', () => {
  const { vpol } = synth();

  test('a cluster-scoped policies.kyverno.io/v1 ValidatingPolicy, Deny, failurePolicy Fail, timeout above the deadline', () => {
    expect(vpol.apiVersion).toBe('policies.kyverno.io/v1');
    expect(vpol.metadata.namespace).toBeUndefined();
    expect(vpol.spec).toMatchObject({
      validationActions: ['Deny'],
      failurePolicy: 'Fail',
      webhookConfiguration: { timeoutSeconds: 5 },
      evaluation: { background: { enabled: false } },
      autogen: { podControllers: { controllers: [] } },
    });
    expect(vpol.spec.matchConstraints.namespaceSelector).toEqual({
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'modelseal-system', 'kyverno'] }],
    });
    expect(vpol.spec.matchConstraints.resourceRules.map((r: any) => [r.apiGroups[0], r.resources])).toEqual([
      // kubectl debug adds ephemeral containers through the pods/ephemeralcontainers subresource (UPDATE)
      ['', ['pods', 'pods/ephemeralcontainers']], ['apps', ['deployments', 'statefulsets', 'daemonsets', 'replicasets']], ['batch', ['jobs', 'cronjobs']],
      ['serving.kserve.io', ['inferenceservices', 'llminferenceservices', 'clusterstoragecontainers']],
    ]);
  });

  test('the verifier is called with http.Client(<the CA PEM>).Post(<verifier>/kyverno, {digest})', () => {
    const verdict = vpol.spec.variables.find((v: any) => v.name === 'verdict').expression;
    expect(verdict).toContain(`http.Client(${JSON.stringify(verifierCaPem())}).Post("${URL}", {'digest': variables.digest`);
  });

  testWithCrds('validates against the Kyverno CRD schema', () => {
    expect(crdErrors(vpol)).toEqual([]);
  });

  describe.each([
    ['live (flattened body + statusCode)', KyvernoResponse.live],
    ['kyverno test ({body, statusCode})', KyvernoResponse.cli],
  ])('verifier answer shape: %s', (_shape, respond) => {
    const allow = (c: HttpCall) => respond(200, ALLOW) && (c.url === URL ? respond(200, ALLOW) : undefined);

    test.each(WELL_FORMED.map((c) => [c.name, c]))('admits a well-formed %s the verifier allows, after one call', async (_n, c) => {
      const out = await evaluatePolicy(vpol.spec, c.object, allow);
      expect(out.messages).toEqual([]);
      expect(out.calls).toHaveLength(1);
      expect(out.calls[0]).toMatchObject({ method: 'POST', url: URL, caPem: verifierCaPem(), body: { digest: DIGEST, kind: c.object.kind }, headers: { 'Content-Type': 'application/json' } });
    });

    test.each(WELL_FORMED.map((c) => [c.name, c]))('refuses a well-formed %s the verifier denies, with its reasons', async (_n, c) => {
      const out = await evaluatePolicy(vpol.spec, c.object, () => respond(200, DENY));
      expect(out.admitted).toBe(false);
      expect(out.messages).toEqual([`model ${DIGEST} refused by the ModelSeal verifier: revoked by compliance: leaked weights; only 1 of 2 signers`]);
    });

    test('refuses on a non-200 answer, even one that says allowed', async () => {
      const out = await evaluatePolicy(vpol.spec, WELL_FORMED[0].object, () => respond(503, { ...ALLOW }));
      expect(out.admitted).toBe(false);
    });

    test('refuses when the answer has no allowed field', async () => {
      const out = await evaluatePolicy(vpol.spec, WELL_FORMED[0].object, () => respond(200, { reasons: [] }));
      expect(out.messages).toEqual([`model ${DIGEST} refused by the ModelSeal verifier: no allowed answer (HTTP 200)`]);
    });

    test('refuses when allowed is not the boolean true', async () => {
      const out = await evaluatePolicy(vpol.spec, WELL_FORMED[0].object, () => respond(200, { allowed: 'true', reasons: [] }));
      expect(out.admitted).toBe(false);
    });

    test.each(MALFORMED.map((c) => [c.name, c]))('refuses %s without asking the verifier', async (_n, c) => {
      const out = await evaluatePolicy(vpol.spec, c.object, allow);
      expect(out.admitted).toBe(false);
      expect(out.messages.join('\n')).toMatch(c.reason!);
      if (!/(without|no|malformed) digest/.test(c.name) || /unpinned/.test(c.name)) return;
      expect(out.calls).toHaveLength(0);
    });
  });

  test('refuses when the verifier cannot be reached (the http call errors)', async () => {
    const out = await evaluatePolicy(vpol.spec, WELL_FORMED[0].object, () => {
      throw new Error('dial tcp 10.0.0.1:443: connect: connection refused');
    });
    expect(out.admitted).toBe(false);
    expect(out.messages[0]).toMatch(/connection refused/);
  });

  test.each(NOT_MODEL.map((c) => [c.name, c]))('admits %s without a call', async (_n, c) => {
    const out = await evaluatePolicy(vpol.spec, c.object);
    expect(out).toEqual({ admitted: true, messages: [], calls: [] });
  });

  test('rollout modes: WARN renders [Warn, Audit], AUDIT [Audit]', () => {
    expect(synth({ mode: AdmissionMode.WARN }).vpol.spec.validationActions).toEqual(['Warn', 'Audit']);
    expect(synth({ mode: AdmissionMode.AUDIT }).vpol.spec.validationActions).toEqual(['Audit']);
  });

  test('exempt namespaces come from props only', () => {
    const values = synth({ exemptNamespaces: ['sandbox'] }).vpol.spec.matchConstraints.namespaceSelector.matchExpressions[0].values;
    expect(values).toContain('sandbox');
    expect(synth().vpol.spec.matchConstraints.objectSelector).toBeUndefined();
  });

  test.each([
    [{ webhookTimeout: Duration.seconds(2) }, /webhookTimeout \(2000 ms\) must exceed the verifier's deadline \(2000 ms\)/],
    [{ webhookTimeout: Duration.seconds(31) }, /webhookTimeout must be whole seconds between 1 and 30/],
    [{ exemptNamespaces: ['Not A Namespace'] }, /exemptNamespaces must be a DNS label/],
  ])('fails when %o', (props, error) => {
    expect(() => synth(props)).toThrow(error);
  });

  describe('ImageValidatingPolicy for serving images', () => {
    const kmsArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    test('cosign with an awskms:// key', () => {
      const { ivpol } = synth({ servingImageVerification: ServingImageVerification.cosignKms(kmsArn) });
      expect(ivpol.apiVersion).toBe('policies.kyverno.io/v1');
      expect(ivpol.spec.attestors).toEqual([{ name: 'signer', cosign: { key: { kms: `awskms:///${kmsArn}` } } }]);
      expect(ivpol.spec).toMatchObject({ failurePolicy: 'Fail', validationActions: ['Deny'], webhookConfiguration: { timeoutSeconds: 15 }, credentials: { providers: ['amazon'] } });
    });

    test('Notary with the AWS Signer root certificate', () => {
      const { ivpol } = synth({ servingImageVerification: ServingImageVerification.notary(verifierCaPem()), servingImageReferences: ['*.dkr.ecr.*.amazonaws.com/*'] });
      expect(ivpol.spec.attestors).toEqual([{ name: 'signer', notary: { certs: { value: verifierCaPem() } } }]);
      expect(ivpol.spec.matchImageReferences).toEqual([{ glob: '*.dkr.ecr.*.amazonaws.com/*' }]);
    });

    testWithCrds('validates against the ImageValidatingPolicy CRD schema', () => {
      expect(crdErrors(synth({ servingImageVerification: ServingImageVerification.cosignKms(kmsArn) }).ivpol)).toEqual([]);
    });

    test('its CEL refuses when any container or init container image is unsigned', async () => {
      const { ivpol } = synth({ servingImageVerification: ServingImageVerification.cosignKms(kmsArn) });
      const signed = (c: HttpCall) => c.url !== `image:${UNPINNED}`;
      const images = (containers: string[], initContainers?: string[]) => ({
        images: { containers, ...(initContainers ? { initContainers } : {}) }, attestors: { signer: {} },
      });
      expect((await evaluatePolicy(ivpol.spec, {}, signed, images([PINNED]))).admitted).toBe(true);
      expect((await evaluatePolicy(ivpol.spec, {}, signed, images([PINNED], [PINNED]))).admitted).toBe(true);
      expect((await evaluatePolicy(ivpol.spec, {}, signed, images([PINNED, UNPINNED]))).admitted).toBe(false);
      expect((await evaluatePolicy(ivpol.spec, {}, signed, images([PINNED], [UNPINNED]))).admitted).toBe(false);
    });

    test('it matches only the pods of model workloads (either annotation, or a KServe predictor\'s label)', async () => {
      const { ivpol } = synth({ servingImageVerification: ServingImageVerification.cosignKms(kmsArn) });
      expect(ivpol.spec.matchConditions).toHaveLength(1);
      const matches = async (metadata: any) => (await evaluatePolicy({ validations: [{ expression: ivpol.spec.matchConditions[0].expression, message: 'no match' }] },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'cert-manager', ...metadata }, spec: { containers: [{ name: 'c', image: UNPINNED }] } })).admitted;
      expect(await matches({ annotations: { 'modelseal.dev/model-digest': `sha256:${'ab'.repeat(32)}` } })).toBe(true);
      expect(await matches({ annotations: { 'modelseal.dev/model-uri': 's3://models/fraud' } })).toBe(true);
      expect(await matches({ labels: { 'serving.kserve.io/inferenceservice': 'fraud' } })).toBe(true);
      // cert-manager's or any add-on's pod: no annotation, no KServe label, no image check
      expect(await matches({})).toBe(false);
      expect(await matches({ annotations: { 'cert-manager.io/issuer': 'ca' }, labels: { app: 'cert-manager' } })).toBe(false);
    });

    test('fails on a bad key ARN or a non-PEM root', () => {
      expect(() => ServingImageVerification.cosignKms('alias/x')).toThrow(/keyArn must be a KMS key ARN, got 'alias\/x'/);
      expect(() => ServingImageVerification.notary('x')).toThrow(/rootCertificatesPem must be PEM/);
    });
  });

  describe('emitted kyverno test suite', () => {
    const { policy } = synth();
    const files = policy.testFiles();
    const file = (p: string) => Yaml.load(path.join(dir, p));
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kyverno-test-'));
      policy.writeTestFiles(dir);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('writes kyverno-test.yaml, verifier-denies/kyverno-test.yaml, policy.yaml and resources.yaml', () => {
      expect(files.map((f) => f.path).sort()).toEqual(['kyverno-test.yaml', 'policy.yaml', 'resources.yaml', 'verifier-denies/kyverno-test.yaml']);
      expect(file('policy.yaml')).toEqual([policy.policy.toJson()]);
    });

    testWithCrds('both Test files validate against the cli.kyverno.io Test CRD', () => {
      for (const p of ['kyverno-test.yaml', 'verifier-denies/kyverno-test.yaml']) expect(crdErrors(file(p)[0])).toEqual([]);
    });

    test.each([['kyverno-test.yaml', ''], ['verifier-denies/kyverno-test.yaml', '../']])(
      '%s: every expected result is what the policy decides under its apiCallResponses mock', async (p, prefix) => {
        const test = file(p)[0];
        expect(test.policies).toEqual([`${prefix}policy.yaml`]);
        expect(test.apiCallResponses).toHaveLength(1);
        const mock = test.apiCallResponses[0];
        expect(mock).toMatchObject({ url: URL, method: 'POST', response: { statusCode: 200 } });
        const resources: any[] = file('resources.yaml');
        const expected = new Map<string, string>();
        for (const r of test.results) for (const name of r.resources) expected.set(name, r.result);
        expect([...expected.keys()].sort()).toEqual(resources.map((r) => r.metadata.name).sort());
        const results = new Set<string>();
        for (const r of resources) {
          const answer = (c: HttpCall) => (c.url === mock.url ? KyvernoResponse.cli(mock.response.statusCode, mock.response.body) : undefined);
          const out = await evaluatePolicy(policy.policy.toJson().spec, r, answer);
          expect([r.metadata.name, out.admitted ? 'pass' : 'fail']).toEqual([r.metadata.name, expected.get(r.metadata.name)]);
          results.add(expected.get(r.metadata.name)!);
        }
        expect(results).toEqual(new Set(['pass', 'fail'])); // the suite has resources that must pass and that must fail
      });
  });
});
