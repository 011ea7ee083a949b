/**
 * `modelseal review`: reads a cloud assembly (every `*.template.json` under CDK_OUT, nested stage assemblies too)
 * and optionally a folder of Kubernetes manifests, and builds the {@link ReviewReport}.
 */
import * as fs from 'fs';
import * as path from 'path';
import { collectObjects, collectTemplate, emptyCollected, ObjectInput, objectsOfFile, sortCollected } from './collect';
import type { ReviewReport } from './model';
import { runRules } from './rules';
import { UsageError } from '../codec/errors';
import { isJsonObject } from '../codec/json';

function filesUnder(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else if (e.isFile() && accept(e.name)) out.push(r);
    }
  };
  visit('');
  return out.sort();
}

function requireDir(dir: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`review: ${what} '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(`review: ${what} '${dir}' is not a directory`);
}

/** What to review. */
export interface ReviewOptions {
  /** A cloud assembly folder (`cdk.out`). */
  readonly cdkOut: string;
  /** A folder of Kubernetes manifests (`.yaml`, `.yml`, `.json`). @default - none */
  readonly k8sDir?: string;
}

/**
 * Builds the review of a cloud assembly and a manifest folder.
 *
 * @throws UsageError when a folder is missing, CDK_OUT holds no template, or a file is not JSON/YAML (naming it)
 */
export function buildReview(options: ReviewOptions): ReviewReport {
  requireDir(options.cdkOut, 'CDK_OUT');
  const templates = filesUnder(options.cdkOut, (n) => n.endsWith('.template.json'));
  if (templates.length === 0) {
    throw new UsageError(`review: no *.template.json in '${options.cdkOut}' (run \`cdk synth\` first; CDK_OUT is the folder it writes, e.g. cdk.out)`);
  }
  const collected = emptyCollected();
  const objects: ObjectInput[] = [];
  for (const rel of templates) {
    let template: unknown;
    try {
      template = JSON.parse(fs.readFileSync(path.join(options.cdkOut, rel), 'utf8'));
    } catch (e) {
      throw new UsageError(`review: ${rel} is not JSON: ${(e as Error).message}`);
    }
    if (!isJsonObject(template)) throw new UsageError(`review: ${rel} is not a CloudFormation template (not a JSON object)`);
    collectTemplate({ stack: path.basename(rel).replace(/\.template\.json$/, ''), template }, collected, objects);
  }
  let manifests: string[] = [];
  if (options.k8sDir !== undefined) {
    requireDir(options.k8sDir, '--k8s');
    manifests = filesUnder(options.k8sDir, (n) => /\.(ya?ml|json)$/.test(n));
    for (const rel of manifests) {
      try {
        objects.push(...objectsOfFile(rel, fs.readFileSync(path.join(options.k8sDir, rel), 'utf8')));
      } catch (e) {
        throw new UsageError(`review: --k8s ${(e as Error).message}`);
      }
    }
  }
  collectObjects(objects, collected);
  sortCollected(collected);
  return {
    reviewVersion: 1,
    inputs: { templates, kubernetes: manifests },
    resources: collected.resources,
    statements: collected.statements,
    keys: collected.keys,
    buckets: collected.buckets,
    network: collected.network,
    admission: collected.admission,
    images: collected.images,
    trustPolicies: collected.trustPolicies,
    findings: runRules(collected),
  };
}

/**
 * Reads a report written by `review --format json` (the baseline).
 *
 * @throws UsageError naming the file when it is missing or not a version 1 review report
 */
export function readBaseline(file: string): ReviewReport {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`review: --baseline ${file}: ${(e as Error).message}`);
  }
  if (!isJsonObject(doc) || doc.reviewVersion !== 1 || !Array.isArray(doc.findings)) {
    throw new UsageError(`review: --baseline ${file} is not a review report (write one with --format json)`);
  }
  return doc as unknown as ReviewReport;
}
