import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { EnclaveServingStack } from './enclave-serving-stack';

const app = new App();
// env-agnostic: synthesizes offline, with no AWS credentials
new EnclaveServingStack(app, 'ModelSealEnclaveServing');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
app.synth();
