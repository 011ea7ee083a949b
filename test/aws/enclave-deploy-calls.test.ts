/**
 * The deploy-call table of the Nitro Enclave serving tier, evaluated on examples/enclave-serving: the generic rows of
 * deploy-calls.ts (keys, aliases, buckets, store readers) and the tier's own (enclave-calls.ts), including the weights
 * key's decisions. docs/DEPLOYMENT.md's second table is generated from these rows (npx projen docs:deployment).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ENCLAVE_PCR8, EnclaveServingStack } from '../../examples/enclave-serving/enclave-serving-stack';
import { REPO_ROOT } from '../helpers/cli-bundle';
import { DeployCallRow, deployCallRows, renderDeployCallTables } from '../helpers/deploy-calls';
import { ENCLAVE_DOC_END, ENCLAVE_DOC_START, enclaveCallRows, enclaveTableOptions, WEIGHTS_KEY_REFUSED_BY_DESIGN } from '../helpers/enclave-calls';
import { synthExampleStack } from '../helpers/examples';
import { TemplateSimulator } from '../helpers/iam-sim';

let sim: TemplateSimulator;

beforeAll(() => {
  sim = new TemplateSimulator(
    synthExampleStack('enclave-serving', 'ModelSealEnclaveServing', (app) => new EnclaveServingStack(app, 'ModelSealEnclaveServing')).template,
    'ModelSealEnclaveServing');
});

describe('deploy calls of the enclave-serving example', () => {
  test('every call is allowed for the role that makes it; the weights key refuses exactly what it must', async () => {
    const rows = [...deployCallRows(sim), ...enclaveCallRows(sim, ENCLAVE_PCR8)];
    const results = await sim.expectRows(rows);
    const types = new Set(rows.map((r) => r.resourceType));
    for (const t of ['AWS::KMS::Key', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::InstanceProfile', 'AWS::EC2::LaunchTemplate',
      'AWS::AutoScaling::AutoScalingGroup', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ElasticLoadBalancingV2::Listener',
      'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::EC2::VPCEndpoint', 'AWS::S3::Bucket']) {
      expect(types).toContain(t);
    }
    const refused = results.filter((r) => r.decision !== 'Allowed').map((r) => `${r.row.principal.label} ${r.row.action}: ${(r.row as DeployCallRow).byDesign} <- ${r.decisive.join(' + ')}`);
    const key = 'WeightsKey04EA1633';
    expect(refused.filter((r) => r.includes('kms:')).sort()).toEqual([
      `SealRoleF3C0EACC kms:Decrypt: ${WEIGHTS_KEY_REFUSED_BY_DESIGN.sealerDecrypts} <- ${key}: DenyDecryptWithoutAttestation + ${key}: DenyDecryptToOtherEnclaveImages`,
      `ServingInstanceRole298257F6 kms:Decrypt: ${WEIGHTS_KEY_REFUSED_BY_DESIGN.debugEnclave} <- ${key}: DenyDecryptToOtherEnclaveImages`,
      `ServingInstanceRole298257F6 kms:Decrypt: ${WEIGHTS_KEY_REFUSED_BY_DESIGN.noAttestation} <- ${key}: DenyDecryptWithoutAttestation + ${key}: DenyDecryptToOtherEnclaveImages`,
      `ServingInstanceRole298257F6 kms:Decrypt: ${WEIGHTS_KEY_REFUSED_BY_DESIGN.otherImage} <- ${key}: DenyDecryptToOtherEnclaveImages`,
      `ServingInstanceRole298257F6 kms:GenerateDataKey: ${WEIGHTS_KEY_REFUSED_BY_DESIGN.hostMakesKey} <- ${key}: DenyNewDataKeysExceptSealers`,
    ].sort());
    // the attested decrypt is allowed by both the key policy and the host role's own conditioned statement
    const attested = results.find((r) => r.row.action === 'kms:Decrypt' && r.row.resource === sim.arn(key) && r.decision === 'Allowed')!;
    expect(attested.decisive).toEqual(expect.arrayContaining([`${key}: AllowDecryptInAttestedEnclave`]));
  });

  test('docs/DEPLOYMENT.md: the enclave table is the one the rows produce (regenerate: npx projen docs:deployment)', async () => {
    const results = await sim.evaluateAll([...deployCallRows(sim), ...enclaveCallRows(sim, ENCLAVE_PCR8)]);
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'DEPLOYMENT.md'), 'utf8');
    const start = doc.indexOf(ENCLAVE_DOC_START);
    const end = doc.indexOf(ENCLAVE_DOC_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start + ENCLAVE_DOC_START.length, end).trim()).toEqual(renderDeployCallTables(sim, results, enclaveTableOptions).trim());
  });
});
