import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ModelSealExampleStack } from './modelseal-stack';

const app = new App();
// env-agnostic: synthesizes offline, with no AWS credentials
new ModelSealExampleStack(app, 'ModelSealExample');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
app.synth();
