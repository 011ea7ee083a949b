import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { FullPipelineStack } from './full-pipeline-stack';
// In your app: import { PolicyReviewPlugin } from 'modelseal';
import { PolicyReviewPlugin } from '../../src';

const app = new App();
// env-agnostic: synthesizes offline, with no AWS credentials. `-c modelDigest=sha256:<root>` sets the workloads' model.
new FullPipelineStack(app, 'FullPipeline', { modelDigest: app.node.tryGetContext('modelDigest') });
// the review report is written at every synth, into cdk.out/modelseal-review.md (opt-in: the plugin)
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new PolicyReviewPlugin());
app.synth();
