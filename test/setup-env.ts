// Unit tests synthesize without aws-cdk-lib's built-in CloudFormation validation (slow);
// test/examples.test.ts turns it on for the example app.
process.env.CDK_VALIDATION = process.env.CDK_VALIDATION ?? 'false';
// As the CLI entry point (src/runtime/cli/bin.ts) does: no AWS SDK Node.js version notice in the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true';
