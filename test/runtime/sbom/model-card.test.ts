import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { UsageError } from '../../../src/runtime/codec/errors';
import {
  loadModelCard, loadScanSummary, ModelCardError, parseImageReference, parseModelCard, parsePackageSpec, parseScanSummary,
} from '../../../src/runtime/sbom/model-card';
import { cleanup, tempDir } from '../../fixtures/models';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sbom');
const CARD = path.join(FIXTURES, 'model-card.yaml');
const IMAGE_DIGEST = 'sha256:1d2c3b4a5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001';

/** The fixture card as data, for tests that break one field. */
function fixture(): any {
  return parse(fs.readFileSync(CARD, 'utf8'));
}

/** The issues a card produces (fails the test if it is valid). */
function issuesOf(doc: unknown): { path: string; message: string }[] {
  try {
    parseModelCard(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelCardError);
    expect(e).toBeInstanceOf(UsageError);
    return [...(e as ModelCardError).issues];
  }
  throw new Error('expected the card to be invalid');
}

describe('loadModelCard', () => {
  test('reads the full fixture card', async () => {
    const card = await loadModelCard(CARD);
    expect(card.model).toMatchObject({ name: 'fraud-detector', version: '3.2.0', license: 'Apache-2.0' });
    expect(card.model.properties).toEqual({ 'owner-team': 'risk-ml', 'training-run': 'run-2024-06-01-17' });
    const params = card.modelCard!.modelParameters!;
    expect(params.approach).toEqual({ type: 'supervised' });
    expect(params.task).toBe('classification');
    expect(params.datasets).toHaveLength(2);
    expect(params.datasets![0]).toMatchObject({
      name: 'transactions',
      version: '2024-06',
      type: 'dataset',
      purpose: 'training',
      digest: { alg: 'SHA-256', content: '5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' },
      governance: { owners: [{ organization: 'Acme Payments' }], stewards: [{ contact: { name: 'Sam Ortiz', email: 'sam.ortiz@example.com' } }] },
    });
    expect(params.datasets![0].lineage!.derivedFrom![0].name).toBe('raw-transactions');
    // Numbers become decimal strings (CycloneDX records metric values as strings); numeric strings stay as written.
    expect(card.modelCard!.quantitativeAnalysis!.performanceMetrics).toEqual([
      { type: 'accuracy', value: '0.943', slice: 'holdout 2024-07', confidenceInterval: { lowerBound: '0.938', upperBound: '0.948' } },
      { type: 'f1', value: '0.88', slice: 'holdout 2024-07' },
      { type: 'auc', value: '0.97' },
    ]);
    expect(card.frameworks.map((f) => f.purl)).toEqual(['pkg:pypi/torch@2.3.0', 'pkg:pypi/transformers@4.41.2']);
    expect(card.dependencies.map((f) => f.purl)).toEqual(['pkg:pypi/numpy@1.26.4', 'pkg:pypi/safetensors@0.4.3']);
    expect(card.servingImage).toMatchObject({
      repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving/torchserve',
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      tag: '0.11.0',
      digest: IMAGE_DIGEST,
    });
  });

  test('reads JSON cards, and a minimal card needs only apiVersion, kind and model name/version', async () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'card.json');
      fs.writeFileSync(file, JSON.stringify({ apiVersion: 'modelseal.dev/v1', kind: 'ModelCard', model: { name: 'm', version: '1' } }));
      const card = await loadModelCard(file);
      expect(card).toEqual({ model: { name: 'm', version: '1' }, frameworks: [], dependencies: [] });
    } finally {
      cleanup(dir);
    }
  });

  test('unreadable, malformed and duplicate-key files are usage errors that name the file', async () => {
    const dir = tempDir();
    try {
      await expect(loadModelCard(path.join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read model card .*missing\.yaml/);
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{"model": ');
      await expect(loadModelCard(bad)).rejects.toThrow(/model card .*bad\.json is not valid JSON/);
      const dup = path.join(dir, 'dup.yaml');
      fs.writeFileSync(dup, 'apiVersion: modelseal.dev/v1\nkind: ModelCard\nmodel:\n  name: a\n  name: b\n  version: "1"\n');
      await expect(loadModelCard(dup)).rejects.toThrow(/dup\.yaml is not valid YAML: .*unique/i);
    } finally {
      cleanup(dir);
    }
  });
});

describe('invalid model cards name the field', () => {
  test('missing model name', () => {
    const doc = fixture();
    delete doc.model.name;
    expect(issuesOf(doc)).toEqual([{ path: 'model.name', message: 'is required' }]);
  });

  test('a metric value that is not a number', () => {
    const doc = fixture();
    doc.modelCard.quantitativeAnalysis.performanceMetrics[0].value = 'high';
    expect(issuesOf(doc)).toEqual([{
      path: 'modelCard.quantitativeAnalysis.performanceMetrics[0].value',
      message: 'must be a number or numeric string (e.g. 0.94 or "0.94"); got "high"',
    }]);
  });

  test('the error message lists the file and the field path', () => {
    const doc = fixture();
    doc.modelCard.quantitativeAnalysis.performanceMetrics[1].confidenceInterval = { lowerBound: '80%' };
    expect(() => parseModelCard(doc, 'model card card.yaml is invalid')).toThrow(
      'model card card.yaml is invalid: modelCard.quantitativeAnalysis.performanceMetrics[1].confidenceInterval.lowerBound: must be a number or numeric string');
  });

  test('unknown fields are refused with the valid ones listed', () => {
    const doc = fixture();
    doc.modelCard.modelParameters.taks = 'classification';
    expect(issuesOf(doc)).toEqual([{
      path: 'modelCard.modelParameters.taks',
      message: 'is not a known field; valid fields here: approach, task, architectureFamily, modelArchitecture, datasets, inputs, outputs',
    }]);
  });

  test('every problem is reported at once', () => {
    const doc = fixture();
    doc.apiVersion = 'v2';
    doc.model.version = 3.2;
    doc.modelCard.modelParameters.approach.type = 'supervized';
    doc.modelCard.modelParameters.datasets[0].digest = 'sha256:abc';
    doc.modelCard.modelParameters.datasets[1].purpose = 'testing';
    doc.modelCard.modelParameters.datasets[0].governance.stewards[0].email = 'not-an-email';
    doc.model.externalReferences[0].type = 'git';
    const issues = issuesOf(doc);
    expect(issues.map((i) => i.path)).toEqual([
      'apiVersion',
      'model.version',
      'model.externalReferences[0].type',
      'modelCard.modelParameters.approach.type',
      'modelCard.modelParameters.datasets[0].digest',
      'modelCard.modelParameters.datasets[0].governance.stewards[0].email',
      'modelCard.modelParameters.datasets[1].purpose',
    ]);
    expect(issues[1].message).toMatch(/is the number 3\.2; expected a non-empty string .*quote it in YAML/);
    expect(issues[3].message).toMatch(/expected one of supervised, unsupervised, reinforcement-learning/);
    expect(issues[4].message).toMatch(/expected ALGORITHM:HEX with sha256 \(64 hex\)/);
  });

  test('a non-object document, missing required sections, repeated datasets', () => {
    expect(issuesOf('just text')).toEqual([{ path: '(document)', message: expect.stringMatching(/^is a string "just text"; expected an object with apiVersion/) }]);
    expect(issuesOf({ model: { name: 'm', version: '1' } }).map((i) => i.path)).toEqual(['apiVersion', 'kind']);
    const doc = fixture();
    doc.modelCard.modelParameters.datasets[1] = { ...doc.modelCard.modelParameters.datasets[0] };
    expect(issuesOf(doc)).toEqual([{ path: 'modelCard.modelParameters.datasets[1]', message: expect.stringMatching(/repeats dataset "transactions" version "2024-06" \(also datasets\[0\]\)/) }]);
  });

  test('an invalid serving image digest in the card', () => {
    const doc = fixture();
    doc.servingImage = 'registry.example.com/serving:1.0';
    expect(issuesOf(doc)).toEqual([{ path: 'servingImage', message: expect.stringMatching(/not pinned by digest/) }]);
  });

  test('invalid framework specs', () => {
    const doc = fixture();
    doc.frameworks = ['torch', { name: 'jax' }, 'pkg:pypi/torch'];
    const issues = issuesOf(doc);
    expect(issues.map((i) => i.path)).toEqual(['frameworks[0]', 'frameworks[1].version', 'frameworks[2]']);
    expect(issues[0].message).toMatch(/expected NAME@VERSION \(a PyPI package, e\.g\. "torch@2\.3\.0"\) or a package URL/);
    expect(issues[2].message).toMatch(/it has no @VERSION/);
  });
});

describe('parsePackageSpec', () => {
  test('NAME@VERSION is a PyPI package with a normalized purl', () => {
    expect(parsePackageSpec('torch@2.3.0', '--framework')).toEqual({ name: 'torch', version: '2.3.0', purl: 'pkg:pypi/torch@2.3.0' });
    expect(parsePackageSpec('Scikit_Learn@1.5.0', '--framework')).toEqual({ name: 'Scikit_Learn', version: '1.5.0', purl: 'pkg:pypi/scikit-learn@1.5.0' });
    expect(parsePackageSpec('torch@2.3.0+cu121', '--framework').purl).toBe('pkg:pypi/torch@2.3.0%2Bcu121');
  });

  test('package URLs of any ecosystem keep their namespace as the group', () => {
    expect(parsePackageSpec('pkg:npm/%40tensorflow/tfjs-node@4.20.0', '--dependency')).toEqual({
      name: 'tfjs-node', group: '@tensorflow', version: '4.20.0', purl: 'pkg:npm/%40tensorflow/tfjs-node@4.20.0',
    });
    expect(parsePackageSpec('pkg:generic/cuda@12.4?arch=x86_64', '--dependency')).toMatchObject({ name: 'cuda', version: '12.4' });
  });

  test('bad specs name the flag and the expected forms', () => {
    expect(() => parsePackageSpec('torch', '--framework')).toThrow(
      'invalid package: --framework: is "torch"; expected NAME@VERSION (a PyPI package, e.g. "torch@2.3.0") or a package URL such as "pkg:npm/onnxruntime-node@1.18.0"');
    expect(() => parsePackageSpec('pkg:/torch@1', '--framework')).toThrow(/is not a package type/);
    expect(() => parsePackageSpec('pkg:pypi/torch@', '--framework')).toThrow(/no @VERSION/);
  });
});

describe('parseImageReference', () => {
  const hex = IMAGE_DIGEST.slice('sha256:'.length);

  test('accepts digest-pinned references with and without registry and tag', () => {
    expect(parseImageReference(`serving/torchserve@${IMAGE_DIGEST}`, '--serving-image')).toEqual({
      repository: 'serving/torchserve', digest: IMAGE_DIGEST, reference: `serving/torchserve@${IMAGE_DIGEST}`,
    });
    expect(parseImageReference(`localhost:5000/m:v1@${IMAGE_DIGEST}`, 'x')).toMatchObject({ registry: 'localhost:5000', repository: 'localhost:5000/m', tag: 'v1' });
  });

  test.each([
    ['a tag only', 'registry.example.com/serving:1.0', /not pinned by digest/],
    ['a short digest', `serving@sha256:${hex.slice(2)}`, /is not sha256 followed by 64 lower-case hex/],
    ['upper-case hex', `serving@sha256:${hex.toUpperCase()}`, /is not sha256 followed by 64 lower-case hex/],
    ['another algorithm', `serving@sha512:${hex}${hex}`, /is not sha256 followed by 64/],
    ['an upper-case repository', `Serving/Model@${IMAGE_DIGEST}`, /lower-case path components/],
    ['a bad tag', `serving:-bad@${IMAGE_DIGEST}`, /the tag "-bad" is not a valid tag/],
  ])('rejects %s', (_what, ref, message) => {
    expect(() => parseImageReference(ref, '--serving-image')).toThrow(ModelCardError);
    expect(() => parseImageReference(ref, '--serving-image')).toThrow(message);
    expect(() => parseImageReference(ref, '--serving-image')).toThrow(/^invalid image reference: --serving-image: is /);
  });
});

describe('scan summaries (aws ecr describe-image-scan-findings)', () => {
  test('fills in absent severities with 0 and totals the counts', async () => {
    const s = await loadScanSummary(path.join(FIXTURES, 'scan-findings.json'));
    expect(s).toEqual({
      source: 'aws-ecr',
      status: 'COMPLETE',
      counts: { critical: 0, high: 2, medium: 5, low: 11, informational: 3, undefined: 0 },
      total: 21,
      completedAt: '2024-06-02T09:15:30.000Z',
      vulnerabilitySourceUpdatedAt: '2024-06-01T22:04:11.000Z',
      imageDigest: IMAGE_DIGEST,
    });
  });

  test('a scan with no findings has all-zero counts; epoch-second timestamps are accepted', () => {
    const s = parseScanSummary({ imageScanStatus: { status: 'ACTIVE' }, imageScanFindings: { imageScanCompletedAt: 1717320930 } }, 'scan');
    expect(s.total).toBe(0);
    expect(s.counts.critical).toBe(0);
    expect(s.completedAt).toBe('2024-06-02T09:35:30.000Z');
  });

  test('unfinished scans, bad counts and other documents are refused with the field named', () => {
    expect(() => parseScanSummary({ imageScanStatus: { status: 'IN_PROGRESS' }, imageScanFindings: {} }, 'scan summary s.json'))
      .toThrow('scan summary s.json is invalid: imageScanStatus.status: is "IN_PROGRESS"; the scan has not completed (expected COMPLETE or ACTIVE), so its counts cannot be attested');
    expect(() => parseScanSummary({ imageScanFindings: { findingSeverityCounts: { CRITICAL: -1 } } }, 's'))
      .toThrow('imageScanFindings.findingSeverityCounts.CRITICAL: is -1; expected a non-negative integer');
    expect(() => parseScanSummary({ images: [] }, 's')).toThrow('s is invalid: imageScanFindings: is required');
  });

  test('a file that is not JSON is a usage error', async () => {
    const dir = tempDir();
    try {
      const f = path.join(dir, 'scan.txt');
      fs.writeFileSync(f, 'CRITICAL: 0');
      await expect(loadScanSummary(f)).rejects.toThrow(/is not valid JSON .*expected the output of aws ecr describe-image-scan-findings/);
    } finally {
      cleanup(dir);
    }
  });
});
