/**
 * The integration-test definition of the full pipeline (examples/full-pipeline/integ.full-pipeline.ts) synthesizes:
 * the stack under test and the assertion stack with its API calls. Deploying it needs an AWS account (see the file).
 */
import { App } from 'aws-cdk-lib';
import { ensureCliBundle } from './helpers/cli-bundle';
import { exampleContext } from './helpers/examples';
import { integApp } from '../examples/full-pipeline/integ.full-pipeline';

test('the full-pipeline integration test synthesizes: deploy, start the train build, wait for the seal, assert the store', () => {
  ensureCliBundle();
  const { app } = integApp(new App({ context: exampleContext('full-pipeline') }));
  const assembly = app.synth();
  const names = assembly.stacks.map((s) => s.stackName);
  expect(names).toContain('ModelSealIntegFullPipeline');
  const assertions = assembly.stacks.find((s) => /^FullPipelineIntegDefaultTestDeployAssert/.test(s.stackName))!;
  const calls = Object.values<any>(assertions.template.Resources).filter((r) => String(r.Type).startsWith('Custom::DeployAssert@SdkCall'));
  expect(calls.map((c) => c.Type.replace('Custom::DeployAssert@SdkCall', '')).sort()).toEqual([
    'CodeBuildbatchGetBuilds', 'CodeBuildlistBuildsForProject', 'CodeBuildstartBuild', 'S3listObjectsV2', 'S3listObjectsV2', 'S3listObjectsV2',
  ]);
  const buildCommands = JSON.stringify(assembly.getStackByName('ModelSealIntegFullPipeline').template);
  expect(buildCommands).toContain('head -c 1048576 /dev/urandom > model/weights.bin');
});
