/**
 * `modelseal review CDK_OUT [--k8s DIR] [--format md|json] [--baseline FILE] [--fail-on high|medium] [--out FILE]`.
 *
 * Exit codes: 0 when a report was produced, whatever it flags; 1 only with `--fail-on` when a finding at or above that
 * severity is in the report (with `--baseline`: among the new findings); 2 bad usage or unreadable input.
 */
import * as fs from 'fs';
import { UsageError } from '../../codec/errors';
import type { Finding } from '../../review/model';
import { diffReports, renderChangesMarkdown, renderJson, renderMarkdown } from '../../review/render';
import { buildReview, readBaseline } from '../../review/review';
import { FlagSpec, onePositional, parseArgs, printHelp } from '../args';
import type { ProgressStream } from '../progress';

const REVIEW_FLAGS: Record<string, FlagSpec> = {
  'k8s': { type: 'string', metavar: 'DIR', help: 'Also read the Kubernetes manifests (.yaml, .yml, .json) in DIR.' },
  'format': { type: 'string', metavar: 'md|json', help: 'Markdown for a pull request (default) or JSON (the --baseline input).' },
  'baseline': { type: 'string', metavar: 'FILE', help: 'A previous report (--format json): print only what changed.' },
  'fail-on': { type: 'string', metavar: 'high|medium', help: 'Exit 1 when a finding at or above this severity is reported (with --baseline: a new one).' },
  'out': { type: 'string', metavar: 'FILE', help: 'Write the report to FILE instead of stdout.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

/** Where the command writes. */
export interface ReviewCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

/** Runs `modelseal review`. */
export async function reviewCommand(argv: readonly string[], io: ReviewCommandIo): Promise<number> {
  const args = parseArgs(argv, REVIEW_FLAGS, 'review');
  if (args.flags.help) {
    return printHelp(io.stdout, 'review CDK_OUT [options]',
      'Report every IAM statement, key and bucket policy, network control, admission rule, image and trust policy of a synthesized app, with flags.',
      REVIEW_FLAGS, 'Exit codes: 0 report produced (whatever it flags), 1 --fail-on matched, 2 bad usage or unreadable input.');
  }
  const cdkOut = onePositional(args, 'review', 'CDK_OUT');
  const format = (args.flags.format as string | undefined) ?? 'md';
  if (format !== 'md' && format !== 'json') throw new UsageError(`review: --format must be md or json, got '${format}'`);
  const failOn = args.flags['fail-on'] as string | undefined;
  if (failOn !== undefined && failOn !== 'high' && failOn !== 'medium') {
    throw new UsageError(`review: --fail-on must be high or medium, got '${failOn}'`);
  }
  const report = buildReview({ cdkOut, k8sDir: args.flags.k8s as string | undefined });
  const baselineFile = args.flags.baseline as string | undefined;
  let text: string;
  let considered: Finding[] = report.findings;
  if (baselineFile !== undefined) {
    const changes = diffReports(baselineFile, readBaseline(baselineFile), report);
    considered = changes.findings.added;
    text = format === 'json' ? JSON.stringify({ reviewVersion: 1, changes }, null, 2) + '\n' : renderChangesMarkdown(changes);
  } else {
    text = format === 'json' ? renderJson(report) : renderMarkdown(report);
  }
  const out = args.flags.out as string | undefined;
  if (out !== undefined) {
    try {
      fs.writeFileSync(out, text);
    } catch (e) {
      throw new UsageError(`review: cannot write --out ${out}: ${(e as Error).message}`);
    }
  } else {
    io.stdout.write(text);
  }
  if (failOn !== undefined) {
    const failing = considered.filter((f) => failOn === 'medium' || f.severity === 'high');
    if (failing.length > 0) {
      io.stderr.write(`review: ${failing.length} finding(s) at or above ${failOn} (--fail-on ${failOn}): ${[...new Set(failing.map((f) => f.rule))].join(', ')}\n`);
      return 1;
    }
  }
  return 0;
}
