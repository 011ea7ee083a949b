import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ModelSealSandboxStack } from './sandbox-stack';

// SANDBOX — NOT FOR PRODUCTION: attestations expire after a few days (see README.md beside this file).
const app = new App();
// env-agnostic: synthesizes offline, with no AWS credentials
new ModelSealSandboxStack(app, 'ModelSealSandbox');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
app.synth();
