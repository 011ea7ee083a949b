import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelAttestationPipeline, PolicyReviewPlugin, ReviewSeverity, SignerParty } from '../../src';
import { ensureCliBundle } from '../helpers/cli-bundle';
import { verifierCaPem } from '../helpers/verifier-ca';
import { VERIFIER_IMAGE } from '../k8s/fixtures';

function app(plugin: PolicyReviewPlugin): { app: App; stack: Stack; outdir: string } {
  ensureCliBundle();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-review-plugin-'));
  const a = new App({ outdir });
  Validations.of(a).addPlugins(plugin);
  return { app: a, stack: new Stack(a, 'Stack'), outdir };
}

/**
 * Synthesizes and returns the ModelSealReview plugin's failed report (CDK's validation-report.json, which the CDK CLI
 * turns into a failed synth), or undefined when the plugin passed.
 */
function synthFails(a: App, outdir: string): string | undefined {
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const before = process.exitCode;
  try {
    try { a.synth(); } catch { /* in-memory apps throw on a failed validation; the report is written first */ }
    const file = path.join(outdir, 'validation-report.json');
    if (!fs.existsSync(file)) return undefined;
    const mine = JSON.parse(fs.readFileSync(file, 'utf8')).pluginReports.find((r: any) => r.pluginName === 'ModelSealReview');
    return mine?.conclusion === 'failure' ? JSON.stringify(mine.violations) : undefined;
  } finally {
    process.exitCode = before;
    error.mockRestore();
  }
}

describe('PolicyReviewPlugin (the review written at synth)', () => {
  test('writes the report beside the templates, including the Kubernetes YAML of a pipeline, and never fails synth by default', () => {
    const { app: a, stack, outdir } = app(new PolicyReviewPlugin());
    new ModelAttestationPipeline(stack, 'Pipeline', {
      signers: [SignerParty.withNewKey('ci'), SignerParty.withNewKey('security')],
      revokers: ['security'],
      modelName: 'm',
      buildImage: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/t@sha256:${'3f'.repeat(32)}`,
      buildCommands: ['true'],
      verifierImage: VERIFIER_IMAGE,
      verifierCaCertificatePem: verifierCaPem(),
    });
    new s3.CfnBucket(stack, 'Plain'); // no encryption: a high finding
    a.synth();
    const report = fs.readFileSync(path.join(outdir, 'modelseal-review.md'), 'utf8');
    expect(report).toContain('| high | missing-encryption | Stack/Plain | bucket without default encryption |');
    // the GitOps YAML the pipeline wrote into the assembly was read: its trust policy ConfigMap is in the report
    expect(report).toMatch(/Stack\/admission\.yaml#ConfigMap\/modelseal-system\/modelseal-verifier-policy:policy\.yaml/);
  });

  test('with failOn HIGH, a high finding fails synthesis and names the rule and the resource', () => {
    const { app: a, stack, outdir } = app(new PolicyReviewPlugin({ failOn: ReviewSeverity.HIGH }));
    new s3.CfnBucket(stack, 'Plain');
    const failure = synthFails(a, outdir);
    expect(failure).toContain('modelseal-review/missing-encryption');
    expect(failure).toContain('Stack/Plain: bucket without default encryption');
  });

  test('with failOn HIGH, a clean app synthesizes', () => {
    const { app: a, stack, outdir } = app(new PolicyReviewPlugin({ failOn: ReviewSeverity.HIGH, fileName: 'review.md' }));
    new s3.Bucket(stack, 'Encrypted', { encryption: s3.BucketEncryption.S3_MANAGED, enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    expect(synthFails(a, outdir)).toBeUndefined();
    expect(fs.readFileSync(path.join(outdir, 'review.md'), 'utf8')).toContain('Findings: 0 high, 0 medium.');
  });

  test('fails when the file name is a path, or the CLI bundle is missing', () => {
    expect(() => new PolicyReviewPlugin({ fileName: '../x.md' })).toThrow(/fileName must be a plain file name .* got '..\/x.md'/);
    const { app: a, stack, outdir } = app(new PolicyReviewPlugin({ cliPath: '/nonexistent/modelseal-cli.js' }));
    new s3.Bucket(stack, 'B');
    expect(synthFails(a, outdir)).toContain('the modelseal CLI bundle /nonexistent/modelseal-cli.js is missing');
  });
});
