import * as fs from 'fs';
import * as path from 'path';
import { SAMPLE_POLICY, workspace, Workspace, writePolicy } from './fixtures';
import { loadTrustPolicy, PolicyError, validatePolicySchema, validateTrustPolicyFile } from '../../../src/runtime/policy/load';
import { renderTrustPolicySchema, TRUST_POLICY_SCHEMA } from '../../../src/runtime/policy/schema';
import { cleanup } from '../../fixtures/models';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
});
afterAll(() => cleanup(ws.dir));

const HEAD = 'apiVersion: modelseal.dev/v1\nkind: TrustPolicy\n';
const SIGNERS = 'signers:\n  - name: ci\n    publicKey: ci.pub.pem\n  - name: compliance\n    publicKey: compliance.pub.pem\n';

async function issues(text: string) {
  return validateTrustPolicyFile(writePolicy(ws, text, `p-${Math.random().toString(36).slice(2)}.yaml`));
}

describe('published schema', () => {
  test('schemas/trust-policy.v1.schema.json is exactly the schema in src/runtime/policy/schema.ts', () => {
    const file = path.join(__dirname, '..', '..', '..', 'schemas', 'trust-policy.v1.schema.json');
    expect(fs.readFileSync(file, 'utf8')).toBe(renderTrustPolicySchema());
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(TRUST_POLICY_SCHEMA);
  });

  test('every object in the schema refuses unknown fields', () => {
    const walk = (node: unknown, at: string): string[] => {
      if (typeof node !== 'object' || node === null) {
        return [];
      }
      const n = node as Record<string, unknown>;
      const own = n.properties && n.additionalProperties !== false ? [at] : [];
      return [...own, ...Object.entries(n).flatMap(([k, v]) => walk(v, `${at}/${k}`))];
    };
    expect(walk(TRUST_POLICY_SCHEMA, '')).toEqual([]);
  });
});

describe('loading policies', () => {
  test('the sample document from the issue is accepted, with real PEM files relative to the policy', async () => {
    const file = writePolicy(ws, SAMPLE_POLICY);
    expect(await validateTrustPolicyFile(file)).toEqual([]);
    const p = await loadTrustPolicy(file);
    expect(p.signers.map((s) => s.name)).toEqual(['ci', 'compliance']);
    expect(p.signers[0].keys[0]).toMatchObject({ kind: 'publicKey', source: path.join(ws.dir, 'ci.pub.pem') });
    expect(p.require).toEqual({ mode: 'allOf', atLeast: 2, of: ['ci', 'compliance'] });
    expect(p.revokers).toEqual(['compliance']);
  });

  test('the same policy as JSON, with an inline PEM, atLeast/of, attestations and every key kind', async () => {
    const doc = {
      apiVersion: 'modelseal.dev/v1',
      kind: 'TrustPolicy',
      metadata: { name: 'prod', description: 'production models' },
      signers: [
        { name: 'ci', publicKeys: ['ci.pub.pem', ws.keys.ci2.pubPem] },
        { name: 'compliance', kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        { name: 'lead', publicKey: ws.keys.lead.pubPem },
      ],
      require: { atLeast: 2, of: ['ci', 'compliance', 'lead'] },
      attestations: [{
        predicateType: 'https://cyclonedx.org/bom',
        signers: { atLeast: 1, of: ['ci', 'lead'] },
        conditions: [{ name: 'accuracy', expression: "predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics.exists(m, m.type == 'accuracy' && double(m.value) >= 0.9)" }],
      }],
      revokers: ['compliance', 'lead'],
    };
    const p = await loadTrustPolicy(writePolicy(ws, JSON.stringify(doc), 'policy.json'));
    expect(p.name).toBe('prod');
    expect(p.signers[0].keys.map((k) => k.source)).toEqual([path.join(ws.dir, 'ci.pub.pem'), 'inline public key']);
    expect(p.signers[1].keys[0]).toMatchObject({ kind: 'kms' });
    expect(p.require).toEqual({ mode: 'atLeast', atLeast: 2, of: ['ci', 'compliance', 'lead'] });
    expect(p.attestations[0].signers).toEqual({ mode: 'atLeast', atLeast: 1, of: ['ci', 'lead'] });
  });

  test('a YAML syntax error names the line', async () => {
    const file = writePolicy(ws, HEAD + 'signers: [\n', 'broken.yaml');
    await expect(loadTrustPolicy(file)).rejects.toThrow(PolicyError);
    expect((await validateTrustPolicyFile(file))[0].message).toMatch(/line \d+/);
  });

  test('a missing policy file is a usage error naming it', async () => {
    await expect(loadTrustPolicy(path.join(ws.dir, 'nope.yaml'))).rejects.toThrow(/cannot read trust policy .*nope\.yaml/);
  });
});

describe('validation errors give the path and the reason', () => {
  test('unknown fields anywhere', async () => {
    expect(await issues(HEAD + 'signers:\n  - name: ci\n    publickey: ci.pub.pem\nrequire: {allOf: [ci]}\n')).toEqual([
      { path: '/signers/0', message: expect.stringMatching(/^unknown field 'publickey'; allowed fields: name, publicKey, publicKeys/) },
      { path: '/signers/0', message: expect.stringMatching(/^a signer needs at least one key/) },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci]}\nrevoker: [ci]\n')).toEqual([
      { path: '/', message: expect.stringMatching(/^unknown field 'revoker'/) },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci], extra: 1}\n')).toEqual([
      { path: '/require', message: "unknown field 'extra'; allowed fields: allOf" },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci]}\nattestations:\n  - predicateType: x\n    conditions:\n      - {name: a, expression: "true", severity: high}\n')).toEqual([
      { path: '/attestations/0/conditions/0', message: "unknown field 'severity'; allowed fields: name, expression, message" },
    ]);
  });

  test('bad CEL is reported at the expression with the parser reason', async () => {
    const text = HEAD + SIGNERS + 'require: {allOf: [ci]}\nattestations:\n  - predicateType: https://cyclonedx.org/bom\n    conditions:\n'
      + '      - {name: ok, expression: "predicate.x == 1"}\n'
      + '      - {name: broken, expression: "predicate.x >= "}\n'
      + '      - {name: typo, expression: "predicat.x == 1"}\n'
      + '      - {name: not-bool, expression: "size(predicate.x)"}\n';
    const got = await issues(text);
    expect(got).toEqual([
      { path: '/attestations/0/conditions/1/expression', message: expect.stringMatching(/^Unexpected token: EOF \(line 1, column \d+\)$/) },
      { path: '/attestations/0/conditions/2/expression', message: expect.stringMatching(/^Unknown variable: predicat/) },
      { path: '/attestations/0/conditions/3/expression', message: 'the expression has type int; a condition must evaluate to a bool' },
    ]);
  });

  test('unknown signer names, impossible atLeast, duplicate names', async () => {
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci, lead]}\nrevokers: [boss]\n')).toEqual([
      { path: '/require/allOf/1', message: "unknown signer 'lead'; signers defined: ci, compliance" },
      { path: '/revokers/0', message: "unknown signer 'boss'; signers defined: ci, compliance" },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {atLeast: 3, of: [ci, compliance]}\n')).toEqual([
      { path: '/require/atLeast', message: "atLeast is 3 but 'of' names only 2 signer(s); it can never be met" },
    ]);
    expect(await issues(HEAD + SIGNERS + '  - name: ci\n    publicKey: lead.pub.pem\nrequire: {allOf: [ci]}\n')).toEqual([
      { path: '/signers/2/name', message: "signer name 'ci' is defined twice; names must be unique" },
    ]);
  });

  test('one key under two signer names is refused', async () => {
    const got = await issues(HEAD + 'signers:\n  - {name: ci, publicKey: ci.pub.pem}\n  - {name: compliance, publicKey: ci.pub.pem}\nrequire: {allOf: [ci, compliance]}\n');
    expect(got).toEqual([{ path: '/signers/1', message: expect.stringMatching(/is also a key of signer 'ci' \(.*ci\.pub\.pem\); one key must identify exactly one signer/) }]);
  });

  test('requirement forms', async () => {
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci], atLeast: 1, of: [ci]}\n')).toEqual([
      { path: '/require', message: 'a requirement is either {allOf: [names]} or {atLeast: N, of: [names]}' },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {atLeast: 0, of: [ci]}\n')).toEqual([
      { path: '/require/atLeast', message: 'is 0; must be at least 1' },
    ]);
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci, ci]}\n')).toEqual([
      { path: '/require/allOf', message: 'lists "ci" twice; items must be unique' },
    ]);
    expect(await issues(HEAD + SIGNERS)).toEqual([{ path: '/', message: "missing required field 'require'" }]);
    expect(await issues(HEAD + SIGNERS + 'require: {allOf: [ci]}\nattestations:\n  - predicateType: x\n    signers: ci\n')).toEqual([
      { path: '/attestations/0/signers', message: 'signers is a list of names (all must sign) or {allOf: [names]} or {atLeast: N, of: [names]}' },
    ]);
  });

  test('wrong apiVersion, kind, ARN and certificate identity forms', async () => {
    expect(validatePolicySchema({ apiVersion: 'v1', kind: 'Policy', signers: [{ name: 'ci', kmsKeyArn: 'alias/x' }], require: { allOf: ['ci'] } })).toEqual([
      { path: '/apiVersion', message: 'is "v1"; expected "modelseal.dev/v1"' },
      { path: '/kind', message: 'is "Policy"; expected "TrustPolicy"' },
      { path: '/signers/0/kmsKeyArn', message: expect.stringMatching(/^"alias\/x" is not valid: expected an AWS KMS key ARN/) },
    ]);
    expect(validatePolicySchema({
      apiVersion: 'modelseal.dev/v1',
      kind: 'TrustPolicy',
      require: { allOf: ['ci'] },
      signers: [{ name: 'ci', certificate: { trustAnchor: 'ca.pem', email: 'a@b', commonName: 'x' } }],
    })).toEqual([
      { path: '/signers/0/certificate', message: 'a certificate identity names exactly one of subjectAlternativeName, email, uri or commonName (matched exactly)' },
    ]);
  });

  test('keys that cannot be loaded are errors naming the file', async () => {
    fs.writeFileSync(path.join(ws.dir, 'garbage.pem'), 'not a key');
    const got = await issues(HEAD + 'signers:\n  - {name: ci, publicKey: missing.pub.pem}\n  - {name: compliance, publicKeys: [garbage.pem]}\n'
      + '  - {name: lead, certificate: {trustAnchor: missing-ca.pem, email: a@example.com}}\nrequire: {allOf: [ci]}\n');
    expect(got).toEqual([
      { path: '/signers/0/publicKey', message: `cannot read public key file ${path.join(ws.dir, 'missing.pub.pem')}: ENOENT` },
      { path: '/signers/1/publicKeys/0', message: expect.stringContaining(`${path.join(ws.dir, 'garbage.pem')} is not a readable public key`) },
      { path: '/signers/2/certificate/trustAnchor', message: `cannot read trust anchor file ${path.join(ws.dir, 'missing-ca.pem')}: ENOENT` },
    ]);
  });
});
