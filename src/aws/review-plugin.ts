import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { REVIEW_OUTPUT_DIR } from './model-attestation-pipeline';

/** How severe a review finding must be to fail synthesis. */
export enum ReviewSeverity {
  /** Only high findings fail. */
  HIGH = 'high',
  /** High and medium findings fail. */
  MEDIUM = 'medium',
}

/**
 * Properties of a {@link PolicyReviewPlugin}.
 */
export interface PolicyReviewPluginProps {
  /**
   * The report's file name, written into the cloud assembly folder (`cdk.out`).
   *
   * @default 'modelseal-review.md'
   */
  readonly fileName?: string;

  /**
   * Fail synthesis when a finding at or above this severity is reported (each finding becomes a violation in CDK's
   * validation report).
   *
   * @default - the report is written and synthesis never fails because of it
   */
  readonly failOn?: ReviewSeverity;

  /**
   * The `modelseal` CLI bundle that writes the report.
   *
   * @default - the bundle this package ships (`assets/modelseal-cli.js`)
   */
  readonly cliPath?: string;
}

/**
 * Writes the `modelseal review` report of every stack at synth: register it with
 * `Validations.of(app).addPlugins(new PolicyReviewPlugin())`.
 *
 * CDK calls validation plugins after the templates are written; this one runs the CLI bundle the package ships (a
 * child process of the current Node.js: the construct library never imports the runtime) over the cloud assembly
 * folder and the Kubernetes YAML a `ModelAttestationPipeline` wrote there, and writes the Markdown report beside the
 * templates. With `failOn`, findings at or above that severity fail synthesis.
 *
 * @see https://github.com/modelseal/modelseal/blob/main/docs/review-example.md
 */
export class PolicyReviewPlugin implements IPolicyValidationPlugin {
  /** The plugin's name in CDK's validation report. */
  public readonly name = 'ModelSealReview';

  private readonly fileName: string;
  private readonly failOn?: ReviewSeverity;
  private readonly cliPath: string;

  constructor(props: PolicyReviewPluginProps = {}) {
    this.fileName = props.fileName ?? 'modelseal-review.md';
    if (!/^[\w.-]+$/.test(this.fileName)) {
      throw new Error(`PolicyReviewPlugin: fileName must be a plain file name (letters, digits, '.', '-', '_'), got '${this.fileName}'`);
    }
    this.failOn = props.failOn;
    this.cliPath = props.cliPath ?? path.join(__dirname, '..', '..', 'assets', 'modelseal-cli.js');
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violation = (description: string, ruleName = 'modelseal-review'): PolicyValidationPluginReport => ({
      success: false,
      violations: [{ ruleName, description, violatingResources: [] }],
    });
    if (context.templatePaths.length === 0) return { success: true, violations: [] };
    if (!fs.existsSync(this.cliPath)) return violation(`the modelseal CLI bundle ${this.cliPath} is missing`);
    const outdir = path.dirname(context.templatePaths[0]);
    const k8s = path.join(outdir, REVIEW_OUTPUT_DIR);
    const args = [this.cliPath, 'review', outdir, ...(fs.existsSync(k8s) ? ['--k8s', k8s] : [])];
    const md = spawnSync(process.execPath, [...args, '--out', path.join(outdir, this.fileName)], { encoding: 'utf8' });
    if (md.status !== 0) return violation(`modelseal review failed (exit ${md.status}): ${(md.stderr ?? '').trim()}`);
    if (this.failOn === undefined) return { success: true, violations: [] };
    const json = spawnSync(process.execPath, [...args, '--format', 'json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (json.status !== 0) return violation(`modelseal review failed (exit ${json.status}): ${(json.stderr ?? '').trim()}`);
    const findings = (JSON.parse(json.stdout).findings as { rule: string; severity: string; where: string; message: string }[])
      .filter((f) => this.failOn === ReviewSeverity.MEDIUM || f.severity === 'high');
    const violations: PolicyViolation[] = findings.map((f) => ({
      ruleName: `modelseal-review/${f.rule}`,
      description: `${f.severity}: ${f.where}: ${f.message}`,
      severity: f.severity,
      violatingResources: [],
    }));
    return { success: violations.length === 0, violations };
  }
}
