/**
 * The trust-policy CEL conditions docs/SBOM.md shows, evaluated against a real BOM: they are how a policy reads
 * evaluation metrics and the serving image's scan summary, so they must keep working as the BOM mapping evolves.
 */
import * as path from 'path';
import { compileCel } from '../../../src/runtime/policy/cel';
import { buildBom } from '../../../src/runtime/sbom/cyclonedx';
import { loadModelCard, loadScanSummary, parseScanSummary } from '../../../src/runtime/sbom/model-card';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sbom');

/** The conditions, exactly as docs/SBOM.md writes them. */
const ACCURACY = 'predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics'
  + '.exists(m, m.type == "accuracy" && double(m.value) >= 0.9)';
const NO_CRITICAL = 'predicate.components.exists(c, c.type == "container" && c.properties.exists(p, '
  + 'p.name == "modelseal:scan:critical" && int(p.value) == 0))';
const FEW_HIGH = 'predicate.components.exists(c, c.type == "container" && c.properties.exists(p, '
  + 'p.name == "modelseal:scan:high" && int(p.value) <= 5))';
const DATASETS_HASHED = 'predicate.components.filter(c, c.type == "data").all(d, has(d.hashes))';
const TORCH = 'predicate.components.exists(c, c.type == "framework" && c.name == "torch" && c.version.startsWith("2."))';

async function evaluate(expression: string, predicate: unknown): Promise<boolean> {
  const compiled = await compileCel(expression);
  if (!compiled.ok) {
    throw new Error(`${expression}: ${compiled.error}`);
  }
  return compiled.program.evaluate(predicate).passed;
}

test('documented conditions pass on the fixture BOM and fail when the evidence says otherwise', async () => {
  const card = await loadModelCard(path.join(FIXTURES, 'model-card.yaml'));
  const scanSummary = await loadScanSummary(path.join(FIXTURES, 'scan-findings.json'));
  const bom = buildBom({ card, rootDigest: 'ab'.repeat(32), scanSummary });
  for (const expr of [ACCURACY, NO_CRITICAL, FEW_HIGH, DATASETS_HASHED, TORCH]) {
    expect([expr, await evaluate(expr, bom)]).toEqual([expr, true]);
  }

  const critical = parseScanSummary({
    imageId: { imageDigest: card.servingImage!.digest },
    imageScanFindings: { findingSeverityCounts: { CRITICAL: 1 } },
  }, 'scan');
  expect(await evaluate(NO_CRITICAL, buildBom({ card, rootDigest: 'ab'.repeat(32), scanSummary: critical }))).toBe(false);
  // No scan summary at all: the condition fails closed rather than passing for lack of evidence.
  expect(await evaluate(NO_CRITICAL, buildBom({ card, rootDigest: 'ab'.repeat(32) }))).toBe(false);

  const weak = JSON.parse(JSON.stringify(bom));
  weak.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value = '0.85';
  expect(await evaluate(ACCURACY, weak)).toBe(false);
});
