import { Duration, Testing } from 'cdk8s';
import { MALFORMED, NOT_MODEL, WELL_FORMED, verifierInChart } from './fixtures';
import { AdmissionMode, NativeModelPolicy } from '../../src';
import { evaluatePolicy } from '../helpers/cel-k8s';
import { validateCoreObject } from '../helpers/k8s';
import { verifierCaPem } from '../helpers/verifier-ca';

function synth(props: Partial<import('../../src').NativeModelPolicyProps> = {}) {
  const { chart, verifier } = verifierInChart({ clientNamespaces: [], controlPlaneCidrs: ['10.0.0.0/16'] });
  new NativeModelPolicy(chart, 'Native', { verifier, ...props });
  const objs = Testing.synth(chart);
  return (kind: string) => objs.find((o) => o.kind === kind);
}

describe('NativeModelPolicy', () => {
  const get = synth();
  const vap = get('ValidatingAdmissionPolicy');
  const binding = get('ValidatingAdmissionPolicyBinding');
  const webhook = get('ValidatingWebhookConfiguration');

  test('admissionregistration.k8s.io/v1 policy, binding and webhook validate against the Kubernetes OpenAPI schema', () => {
    for (const o of [vap, binding, webhook]) {
      expect(o.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(() => validateCoreObject(o)).not.toThrow();
    }
  });

  test('the policy fails closed and the binding denies', () => {
    expect(vap.spec.failurePolicy).toBe('Fail');
    expect(binding.spec).toEqual({ policyName: 'modelseal-model-verification', validationActions: ['Deny'] });
  });

  test('the webhook: /validate of the verifier, Fail, timeout, no side effects, v1 reviews, system namespaces excluded', () => {
    expect(webhook.webhooks).toHaveLength(1);
    const w = webhook.webhooks[0];
    expect(w).toMatchObject({
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      matchPolicy: 'Equivalent',
      clientConfig: {
        service: { name: 'modelseal-verifier', namespace: 'modelseal-system', path: '/validate', port: 443 },
        caBundle: Buffer.from(verifierCaPem()).toString('base64'),
      },
    });
    expect(w.namespaceSelector.matchExpressions[0].values).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'modelseal-system']);
    expect(w.objectSelector).toBeUndefined(); // no label on a workload can exempt it
    expect(w.rules.flatMap((r: any) => r.resources)).toEqual(['pods', 'pods/ephemeralcontainers', 'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs', 'cronjobs', 'inferenceservices', 'llminferenceservices', 'clusterstoragecontainers']);
  });

  test.each(WELL_FORMED.map((c) => [c.name, c]))('VAP CEL admits a well-formed %s', async (_n, c) => {
    expect((await evaluatePolicy(vap.spec, c.object)).messages).toEqual([]);
  });
  test.each(MALFORMED.map((c) => [c.name, c]))('VAP CEL refuses %s', async (_n, c) => {
    const out = await evaluatePolicy(vap.spec, c.object);
    expect(out.admitted).toBe(false);
    expect(out.messages.join('\n')).toMatch(c.reason!);
  });
  test.each(NOT_MODEL.map((c) => [c.name, c]))('VAP CEL admits %s', async (_n, c) => {
    expect((await evaluatePolicy(vap.spec, c.object)).admitted).toBe(true);
  });

  test('VAP messages have no line breaks (the API server refuses them)', () => {
    for (const v of vap.spec.validations) expect(v.message).not.toMatch(/\n/);
  });

  test('rollout: WARN and AUDIT bind with [Warn, Audit] / [Audit] and render no webhook', () => {
    const warn = synth({ mode: AdmissionMode.WARN });
    expect(warn('ValidatingAdmissionPolicyBinding').spec.validationActions).toEqual(['Warn', 'Audit']);
    expect(warn('ValidatingWebhookConfiguration')).toBeUndefined();
    expect(synth({ mode: AdmissionMode.AUDIT })('ValidatingAdmissionPolicyBinding').spec.validationActions).toEqual(['Audit']);
  });

  test('fails when the webhook timeout leaves no room for the deadline', () => {
    expect(() => synth({ webhookTimeout: Duration.seconds(1) })).toThrow(/webhookTimeout \(1000 ms\) must exceed the verifier's deadline/);
  });
});
