// Unit tests synthesize without aws-cdk-lib's built-in CloudFormation validation (slow);
// test/examples.test.ts turns it on for the example app.
process.env.CDK_VALIDATION = process.env.CDK_VALIDATION ?? 'false';
