/**
 * Synthesizes the example app the way `cdk synth` does, with aws-cdk-lib's built-in CloudFormation validation ON
 * (the only test that keeps it on) and the cdk-nag plugins registered.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ModelSealExampleStack } from '../examples/modelseal-stack';
import { ensureCliBundle } from './helpers/cli-bundle';
import { expectNagClean } from './helpers/nag';

/** Every IAM-shaped policy document in a template: IAM policies, key policies, bucket policies, role trust policies. */
function policyDocuments(template: any): { where: string; doc: any }[] {
  const docs: { where: string; doc: any }[] = [];
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    const p = r.Properties ?? {};
    for (const key of ['PolicyDocument', 'KeyPolicy', 'AssumeRolePolicyDocument']) {
      if (p[key]) docs.push({ where: `${id}.${key}`, doc: p[key] });
    }
    for (const inline of p.Policies ?? []) docs.push({ where: `${id}.Policies`, doc: inline.PolicyDocument });
  }
  return docs;
}

describe('examples/ app', () => {
  let template: any;
  let stack: ModelSealExampleStack;

  beforeAll(() => {
    ensureCliBundle(); // the runner ships it as an asset
    const previous = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION; // validation on
    try {
      const app = new App({ context: JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'cdk.json'), 'utf8')).context });
      stack = new ModelSealExampleStack(app, 'ModelSealExample');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
      const assembly = app.synth();
      template = assembly.getStackByName('ModelSealExample').template;
    } finally {
      process.env.CDK_VALIDATION = previous;
    }
  });

  test('synthesizes with built-in validation and cdk-nag plugins on', () => {
    expect(Object.keys(template.Resources).length).toBeGreaterThan(5);
    const t = Template.fromJSON(template);
    t.resourceCountIs('AWS::KMS::Key', 3); // signing key, store key, runner key
    t.resourceCountIs('AWS::S3::Bucket', 3); // store, access logs, training data
    t.resourceCountIs('AWS::CodeBuild::Project', 1);
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5: zero unacknowledged findings', () => {
    expectNagClean(stack);
  });

  test('no Allow statement in any policy has a wildcard action (not even service:Prefix*)', () => {
    const docs = policyDocuments(template);
    expect(docs.length).toBeGreaterThanOrEqual(6);
    const offenders: string[] = [];
    for (const { where, doc } of docs) {
      for (const s of doc.Statement) {
        if (s.Effect !== 'Allow') continue;
        for (const a of [s.Action ?? []].flat()) {
          if (String(a).includes('*')) offenders.push(`${where}: ${a}`);
        }
        if (s.NotAction) offenders.push(`${where}: NotAction in an Allow`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
