import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Duration, Testing, Yaml } from 'cdk8s';
import { MALFORMED, NOT_MODEL, WELL_FORMED, verifierInChart } from './fixtures';
import { AdmissionMode, GatekeeperModelPolicy } from '../../src';
import { evaluatePolicy } from '../helpers/cel-k8s';
import { crdErrors, testWithCrds } from '../helpers/k8s';
import { verifierCaPem } from '../helpers/verifier-ca';

function synth(props: Partial<import('../../src').GatekeeperModelPolicyProps> = {}) {
  const { chart, verifier } = verifierInChart({ clientNamespaces: ['gatekeeper-system'] });
  const policy = new GatekeeperModelPolicy(chart, 'Gatekeeper', { verifier, ...props });
  const objs = Testing.synth(chart);
  const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
  return { policy, objs, byKind };
}

describe('GatekeeperModelPolicy', () => {
  const { policy, byKind } = synth();
  const [provider] = byKind('Provider');
  const templates = byKind('ConstraintTemplate');
  const rego = templates.find((t) => t.metadata.name === 'modelsealverified').spec.targets[0].rego;
  const cel = templates.find((t) => t.metadata.name === 'modelsealworkload').spec.targets[0].code[0];

  test('Provider v1beta1: https URL of /gatekeeper, explicit timeout above the deadline, base64 caBundle', () => {
    expect(provider).toEqual({
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'Provider',
      metadata: { name: 'modelseal-verifier' },
      spec: {
        url: 'https://modelseal-verifier.modelseal-system.svc/gatekeeper',
        timeout: 3,
        caBundle: Buffer.from(verifierCaPem()).toString('base64'),
      },
    });
  });

  testWithCrds('Provider and both ConstraintTemplates validate against the Gatekeeper CRD schemas', () => {
    for (const o of [provider, ...templates]) expect(crdErrors(o)).toEqual([]);
  });

  test('the Rego makes exactly one external_data call, for well-formed digests only', () => {
    expect(rego.match(/external_data\(/g)).toHaveLength(1);
    expect(rego).toContain('response := external_data({"provider": "modelseal-verifier", "keys": [digest]}) {\n  regex.match(`^sha256:[0-9a-f]{64}$`, digest)\n}');
    expect(rego).toContain('digest := annotations["modelseal.dev/model-digest"]');
    expect(rego).toMatch(/^package modelsealverified$/m);
  });

  test('the Rego denies on item errors, system_error, a non-200 status and a missing allowed answer', () => {
    const rules = rego.split(/\n(?=violation\[)/).filter((r: string) => r.startsWith('violation['));
    expect(rules).toHaveLength(4);
    expect(rules[0]).toContain('item := response.errors[_]');
    expect(rules[1]).toContain('response.system_error != ""');
    expect(rules[2]).toContain('response.status_code != 200');
    expect(rules[3]).toContain('not allowed');
    expect(rego).toContain('allowed {\n  item := response.responses[_]\n  item[0] == digest\n  item[1].allowed == true\n}');
  });

  test('the Rego reads the digest where each kind keeps its pod annotations', () => {
    expect(rego).toContain('{"Pod", "InferenceService", "LLMInferenceService"}[input.review.object.kind]');
    expect(rego).toContain('["spec", "template", "metadata", "annotations"]');
    expect(rego).toContain('["spec", "jobTemplate", "spec", "template", "metadata", "annotations"]');
  });

  describe('the K8sNativeValidation template (CEL)', () => {
    test('engine K8sNativeValidation with the shared variables', () => {
      expect(cel.engine).toBe('K8sNativeValidation');
      expect(cel.source.variables.map((v: any) => v.name)).toEqual(['annotations', 'podSpec', 'containers', 'modelContainers', 'images', 'storageUris', 'storageBypass', 'isKServe', 'isModel', 'digest', 'pull', 'pullArgv']);
    });
    test.each(WELL_FORMED.map((c) => [c.name, c]))('admits a well-formed %s', async (_n, c) => {
      expect((await evaluatePolicy(cel.source, c.object)).messages).toEqual([]);
    });
    test.each(MALFORMED.map((c) => [c.name, c]))('refuses %s', async (_n, c) => {
      const out = await evaluatePolicy(cel.source, c.object);
      expect(out.admitted).toBe(false);
      expect(out.messages.join('\n')).toMatch(c.reason!);
    });
    test.each(NOT_MODEL.map((c) => [c.name, c]))('admits %s', async (_n, c) => {
      expect((await evaluatePolicy(cel.source, c.object)).admitted).toBe(true);
    });
  });

  test('Constraints match every workload kind, exclude system namespaces, deny by default', () => {
    const constraints = [...byKind('ModelSealVerified'), ...byKind('ModelSealWorkload')];
    expect(constraints).toHaveLength(2);
    for (const c of constraints) {
      expect(c.apiVersion).toBe('constraints.gatekeeper.sh/v1beta1');
      expect(c.spec.enforcementAction).toBe('deny');
      expect(c.spec.match.excludedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'modelseal-system', 'gatekeeper-system']);
      expect(c.spec.match.kinds).toEqual([
        { apiGroups: [''], kinds: ['Pod'] },
        { apiGroups: ['apps'], kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'] },
        { apiGroups: ['batch'], kinds: ['Job', 'CronJob'] },
        { apiGroups: ['serving.kserve.io'], kinds: ['InferenceService', 'LLMInferenceService', 'ClusterStorageContainer'] },
      ]);
    }
  });

  test('rollout: WARN is enforcementAction warn, AUDIT is dryrun', () => {
    expect(synth({ mode: AdmissionMode.WARN }).byKind('ModelSealVerified')[0].spec.enforcementAction).toBe('warn');
    expect(synth({ mode: AdmissionMode.AUDIT }).byKind('ModelSealWorkload')[0].spec.enforcementAction).toBe('dryrun');
  });

  test('constraintsScope puts the Constraints in another chart', () => {
    const { chart, verifier } = verifierInChart({ clientNamespaces: ['gatekeeper-system'] });
    const later = new Chart(Testing.app(), 'later');
    new GatekeeperModelPolicy(chart, 'G', { verifier, constraintsScope: later });
    expect(Testing.synth(chart).filter((o) => o.apiVersion.startsWith('constraints.'))).toEqual([]);
    expect(Testing.synth(later).map((o) => o.kind).sort()).toEqual(['ModelSealVerified', 'ModelSealWorkload']);
  });

  test.each([
    [{ providerTimeout: Duration.seconds(2) }, /providerTimeout must be whole seconds, more than the verifier's deadline \(2000 ms\)/],
    [{ providerTimeout: Duration.millis(2500) }, /got 2500 ms/],
  ])('fails when %o', (props, error) => {
    expect(() => synth(props)).toThrow(error);
  });

  describe('gator Suite', () => {
    const files = policy.gatorSuiteFiles();
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gator-'));
      policy.writeGatorSuiteFiles(dir);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('suite.yaml names the structural template, its constraint and one case per sample, each file present', () => {
      const [suite] = Yaml.load(path.join(dir, 'suite.yaml'));
      expect(suite).toMatchObject({ apiVersion: 'test.gatekeeper.sh/v1alpha1', kind: 'Suite' });
      const t = suite.tests[0];
      expect([t.template, t.constraint]).toEqual(['template.yaml', 'constraint.yaml']);
      expect(Yaml.load(path.join(dir, 'template.yaml'))[0].metadata.name).toBe('modelsealworkload');
      for (const c of t.cases) expect(fs.existsSync(path.join(dir, c.object))).toBe(true);
      expect(files.some((f) => f.content.includes('external_data'))).toBe(false); // gator cannot evaluate external data
    });

    test('every case assertion is what the template\'s CEL decides', async () => {
      const [suite] = Yaml.load(path.join(dir, 'suite.yaml'));
      const [template] = Yaml.load(path.join(dir, 'template.yaml'));
      const seen = new Set<string>();
      for (const c of suite.tests[0].cases) {
        const [object] = Yaml.load(path.join(dir, c.object));
        const out = await evaluatePolicy(template.spec.targets[0].code[0].source, object);
        expect([c.name, out.admitted ? 'no' : 'yes']).toEqual([c.name, c.assertions[0].violations]);
        seen.add(c.assertions[0].violations);
      }
      expect(seen).toEqual(new Set(['no', 'yes']));
    });
  });
});
