import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ExistingAppStack } from './existing-app-stack';

const app = new App();
// env-agnostic: synthesizes offline, with no AWS credentials
new ExistingAppStack(app, 'ExistingApp');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
app.synth();
