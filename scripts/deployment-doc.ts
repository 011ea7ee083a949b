/**
 * Regenerates the deploy-call table of docs/DEPLOYMENT.md from the evaluated rows of test/helpers/deploy-calls.ts
 * (the same rows test/aws/deploy-calls.test.ts checks, which also fails when the doc is stale).
 *
 *   npx projen docs:deployment
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelSealExampleStack } from '../examples/core-stack/modelseal-stack';
import { deployCallRows, DOC_END, DOC_START, renderDeployCallTables } from '../test/helpers/deploy-calls';
import { synthExampleStack } from '../test/helpers/examples';
import { TemplateSimulator } from '../test/helpers/iam-sim';

async function main(): Promise<void> {
  process.env.CDK_VALIDATION = 'false';
  const { template } = synthExampleStack('core-stack', 'ModelSealExample', (app) => new ModelSealExampleStack(app, 'ModelSealExample'));
  const sim = new TemplateSimulator(template, 'ModelSealExample');
  // refuses to write a table with a row that does not get its expected decision
  const results = await sim.expectRows(deployCallRows(sim));
  const file = path.join(__dirname, '..', 'docs', 'DEPLOYMENT.md');
  const doc = fs.readFileSync(file, 'utf8');
  const start = doc.indexOf(DOC_START);
  const end = doc.indexOf(DOC_END);
  if (start < 0 || end < start) throw new Error(`${file}: the markers ${DOC_START} ... ${DOC_END} are missing`);
  const next = `${doc.slice(0, start + DOC_START.length)}\n\n${renderDeployCallTables(sim, results)}\n\n${doc.slice(end)}`;
  fs.writeFileSync(file, next);
  console.log(`docs/DEPLOYMENT.md: ${results.length} deploy-call rows written`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
