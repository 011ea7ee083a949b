/**
 * Integration test of the full pipeline (`@aws-cdk/integ-tests-alpha`), for an AWS account: deploys the
 * FullPipeline stack, starts the train build, waits until the seal build has signed, attested and published, and
 * asserts what the store then holds: an OMS bundle, the provenance and SBOM attestations, and the name → digest ref.
 *
 * Run where an AWS account exists (credentials for it, the account bootstrapped with `cdk bootstrap`):
 *
 *   INTEG_TRAINER_IMAGE=<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest> \
 *     npx @aws-cdk/integ-runner --directory examples/full-pipeline --parallel-regions eu-west-1 --update-on-failed
 *
 * The trainer image must be in your account's ECR (the builds have no internet egress) with Node.js 20+ and the AWS
 * CLI. The unit suite synthesizes this app (test/examples-integ.test.ts); it never deploys.
 */
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { FullPipelineStack } from './full-pipeline-stack';

/** Builds the integ app (exported for the synth test). */
export function integApp(app = new App()): { app: App; stack: FullPipelineStack; integ: IntegTest } {
  const stack = new FullPipelineStack(app, 'ModelSealIntegFullPipeline', {
    trainerImage: process.env.INTEG_TRAINER_IMAGE,
    // a tiny model, so a run takes minutes: the point is signing, attesting and publishing, not training
    buildCommands: ['mkdir -p model', 'head -c 1048576 /dev/urandom > model/weights.bin', 'echo "{\\"layers\\": 1}" > model/config.json'],
  });
  const integ = new IntegTest(app, 'FullPipelineInteg', {
    testCases: [stack],
    diffAssets: false,
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const pipeline = stack.pipeline;
  const store = pipeline.store.bucketName;

  const started = integ.assertions.awsApiCall('CodeBuild', 'startBuild', { projectName: pipeline.runner.trainProject.projectName });
  // the seal build starts on the train build's SUCCEEDED event; wait until one seal build succeeded
  const sealed = integ.assertions.awsApiCall('CodeBuild', 'listBuildsForProject', { projectName: pipeline.runner.sealProject.projectName, sortOrder: 'DESCENDING' });
  const sealStatus = integ.assertions.awsApiCall('CodeBuild', 'batchGetBuilds', { ids: [sealed.getAttString('ids.0')] })
    .expect(ExpectedResult.objectLike({ builds: [{ buildStatus: 'SUCCEEDED' }] }))
    .waitForAssertions({ totalTimeout: Duration.minutes(45), interval: Duration.minutes(1) });
  const listed = (prefix: string, count: number) => integ.assertions.awsApiCall('S3', 'listObjectsV2', { Bucket: store, Prefix: prefix })
    .expect(ExpectedResult.objectLike({ KeyCount: count }));
  started.next(sealed).next(sealStatus)
    .next(listed('bundles/sha256/', 1)) // the ci signature
    .next(listed('attestations/sha256/', 2)) // SBOM and provenance
    .next(listed('refs/ppocr-v4/', 1)); // the name -> digest reference
  return { app, stack, integ };
}

if (require.main === module) {
  integApp().app.synth();
}
