/**
 * Regenerates the deploy-call table of docs/DEPLOYMENT.md from the evaluated rows of test/helpers/deploy-calls.ts
 * (the same rows test/aws/deploy-calls.test.ts checks, which also fails when the doc is stale).
 *
 *   npx projen docs:deployment
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelSealExampleStack } from '../examples/core-stack/modelseal-stack';
import { ENCLAVE_PCR8, EnclaveServingStack } from '../examples/enclave-serving/enclave-serving-stack';
import { deployCallRows, DOC_END, DOC_START, renderDeployCallTables } from '../test/helpers/deploy-calls';
import { ENCLAVE_DOC_END, ENCLAVE_DOC_START, enclaveCallRows, enclaveTableOptions } from '../test/helpers/enclave-calls';
import { synthExampleStack } from '../test/helpers/examples';
import { TemplateSimulator } from '../test/helpers/iam-sim';

async function main(): Promise<void> {
  process.env.CDK_VALIDATION = 'false';
  const { template } = synthExampleStack('core-stack', 'ModelSealExample', (app) => new ModelSealExampleStack(app, 'ModelSealExample'));
  const sim = new TemplateSimulator(template, 'ModelSealExample');
  // refuses to write a table with a row that does not get its expected decision
  const results = await sim.expectRows(deployCallRows(sim));
  const file = path.join(__dirname, '..', 'docs', 'DEPLOYMENT.md');
  let doc = replaceBlock(fs.readFileSync(file, 'utf8'), DOC_START, DOC_END, renderDeployCallTables(sim, results), file);

  // the Nitro Enclave serving tier: its own example, its own table
  const enclave = synthExampleStack('enclave-serving', 'ModelSealEnclaveServing', (app) => new EnclaveServingStack(app, 'ModelSealEnclaveServing'));
  const enclaveSim = new TemplateSimulator(enclave.template, 'ModelSealEnclaveServing');
  const enclaveResults = await enclaveSim.expectRows([...deployCallRows(enclaveSim), ...enclaveCallRows(enclaveSim, ENCLAVE_PCR8)]);
  doc = replaceBlock(doc, ENCLAVE_DOC_START, ENCLAVE_DOC_END, renderDeployCallTables(enclaveSim, enclaveResults, enclaveTableOptions), file);
  fs.writeFileSync(file, doc);
  console.log(`docs/DEPLOYMENT.md: ${results.length} deploy-call rows (core-stack) and ${enclaveResults.length} (enclave-serving) written`);
}

function replaceBlock(doc: string, startMarker: string, endMarker: string, body: string, file: string): string {
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`${file}: the markers ${startMarker} ... ${endMarker} are missing`);
  return `${doc.slice(0, start + startMarker.length)}\n\n${body}\n\n${doc.slice(end)}`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
