import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** One cdk-nag finding that nobody acknowledged. */
export interface NagFinding {
  readonly rule: string;
  readonly paths: string[];
  readonly description: string;
}

/**
 * Runs cdk-nag 3.x AwsSolutions and NIST 800-53 R5 over `scope` and returns every finding not acknowledged.
 *
 * Acknowledgements are CDK's own (`Validations.of(c).acknowledge({ id, reason })`), which cdk-nag honours.
 */
export function nagFindings(scope: IConstruct): NagFinding[] {
  const findings: NagFinding[] = [];
  for (const pack of [new AwsSolutionsChecks(undefined, { verbose: true }), new NIST80053R5Checks(undefined, { verbose: true })]) {
    const report = pack.validateScope(scope);
    for (const v of report.violations) {
      findings.push({ rule: v.ruleName, paths: v.violatingResources.map((r) => r.constructPath ?? '(unknown path)'), description: v.description });
    }
  }
  return findings;
}

/**
 * Every acknowledgement under `scope` with its reason; a reason must say why in a sentence, not just exist.
 */
export function acknowledgements(scope: IConstruct): { path: string; rule: string; reason: string }[] {
  const out: { path: string; rule: string; reason: string }[] = [];
  for (const c of scope.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, rule: rule.replace(/^annotation::/i, ''), reason: String(reason) });
      }
    }
  }
  return out;
}

/**
 * Fails (with the list of findings) unless cdk-nag AwsSolutions and NIST 800-53 R5 are clean on `stack`, and every
 * acknowledgement carries a written reason of at least a few words.
 */
export function expectNagClean(stack: Stack): void {
  const findings = nagFindings(stack);
  if (findings.length > 0) {
    const lines = findings.map((f) => `${f.rule} at ${f.paths.join(', ')}: ${f.description}`);
    throw new Error(`cdk-nag found ${findings.length} unacknowledged finding(s):\n${lines.join('\n')}`);
  }
  const weak = acknowledgements(stack).filter((a) => a.reason.trim().split(/\s+/).length < 5);
  if (weak.length > 0) {
    throw new Error(`acknowledgements without a written reason: ${weak.map((a) => `${a.rule} at ${a.path}`).join(', ')}`);
  }
}
