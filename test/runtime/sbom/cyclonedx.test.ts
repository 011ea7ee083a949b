import * as path from 'path';
import { UsageError } from '../../../src/runtime/codec/errors';
import { BomValidationError, bomSchemaIssues, buildBom, CYCLONEDX_SPEC_VERSION, validateBom } from '../../../src/runtime/sbom/cyclonedx';
import { loadModelCard, loadScanSummary, ModelCard, parseImageReference, parsePackageSpec, ScanSummary } from '../../../src/runtime/sbom/model-card';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sbom');
const ROOT = 'ab'.repeat(32);
const IMAGE_DIGEST = 'sha256:1d2c3b4a5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001';

let card: ModelCard;
let scan: ScanSummary;
beforeAll(async () => {
  card = await loadModelCard(path.join(FIXTURES, 'model-card.yaml'));
  scan = await loadScanSummary(path.join(FIXTURES, 'scan-findings.json'));
});

/** The value of a component property. */
function prop(component: any, name: string): string | undefined {
  return component.properties?.find((p: any) => p.name === name)?.value;
}

describe('buildBom with the full fixture card', () => {
  let bom: any;
  beforeAll(() => {
    bom = buildBom({
      card,
      rootDigest: ROOT,
      scanSummary: scan,
      frameworks: [parsePackageSpec('pkg:pypi/onnxruntime@1.18.0', '--framework')],
      toolVersion: '1.2.3',
      timestamp: new Date('2024-06-02T10:00:00Z'),
      serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    });
  });

  test('validates against the CycloneDX 1.6 JSON schema', () => {
    expect(bomSchemaIssues(bom)).toEqual([]);
    expect(() => validateBom(bom)).not.toThrow();
  });

  test('top level and metadata', () => {
    expect(bom).toMatchObject({
      bomFormat: 'CycloneDX',
      specVersion: CYCLONEDX_SPEC_VERSION,
      serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
      version: 1,
      metadata: {
        timestamp: '2024-06-02T10:00:00.000Z',
        tools: { components: [{ type: 'application', name: 'modelseal', version: '1.2.3' }] },
      },
    });
  });

  test('the model component carries the root digest and the model card', () => {
    const model = bom.metadata.component;
    expect(model).toMatchObject({
      'type': 'machine-learning-model',
      'bom-ref': 'model:fraud-detector@3.2.0',
      'name': 'fraud-detector',
      'version': '3.2.0',
      'hashes': [{ alg: 'SHA-256', content: ROOT }],
      'licenses': [{ expression: 'Apache-2.0' }],
      'authors': [{ name: 'Dana Lee', email: 'dana.lee@example.com' }],
    });
    expect(prop(model, 'owner-team')).toBe('risk-ml');
    const mp = model.modelCard.modelParameters;
    expect(mp).toMatchObject({
      approach: { type: 'supervised' },
      task: 'classification',
      architectureFamily: 'transformer',
      modelArchitecture: 'DistilBERT-base (6 layers, 66M parameters)',
      inputs: [{ format: 'application/json (transaction record)' }],
      outputs: [{ format: 'application/json (fraud probability, 0-1)' }],
    });
    expect(mp.datasets).toEqual([{ ref: 'dataset:transactions@2024-06' }, { ref: 'dataset:transactions-holdout@2024-07' }]);
    expect(model.modelCard.quantitativeAnalysis.performanceMetrics[0]).toEqual({
      type: 'accuracy', value: '0.943', slice: 'holdout 2024-07', confidenceInterval: { lowerBound: '0.938', upperBound: '0.948' },
    });
    expect(model.modelCard.considerations.ethicalConsiderations[0].name).toBe('Disparate false-positive rates by region');
  });

  test('datasets are data components with version, hashes, location, governance and lineage', () => {
    const ds = bom.components.find((c: any) => c['bom-ref'] === 'dataset:transactions@2024-06');
    expect(ds).toMatchObject({
      type: 'data',
      name: 'transactions',
      version: '2024-06',
      hashes: [{ alg: 'SHA-256', content: '5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' }],
      externalReferences: [{ type: 'distribution', url: 's3://acme-datasets/transactions/2024-06/' }],
      pedigree: {
        ancestors: [{
          type: 'data',
          name: 'raw-transactions',
          version: '2024-06',
          hashes: [{ alg: 'SHA-256', content: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }],
          externalReferences: [{ type: 'distribution', url: 's3://acme-raw/transactions/2024-06/' }],
        }],
        notes: expect.stringMatching(/^De-duplicated/),
      },
      data: [{
        type: 'dataset',
        name: 'transactions',
        contents: { url: 's3://acme-datasets/transactions/2024-06/' },
        classification: 'confidential',
        sensitiveData: ['PII', 'PCI'],
        governance: {
          owners: [{ organization: { name: 'Acme Payments' } }],
          stewards: [{ contact: { name: 'Sam Ortiz', email: 'sam.ortiz@example.com' } }],
        },
      }],
    });
    expect(prop(ds, 'modelseal:dataset:purpose')).toBe('training');
  });

  test('frameworks and dependencies with package URLs, and the model depends on them', () => {
    const byType = (t: string) => bom.components.filter((c: any) => c.type === t).map((c: any) => c.purl);
    expect(byType('framework')).toEqual(['pkg:pypi/torch@2.3.0', 'pkg:pypi/transformers@4.41.2', 'pkg:pypi/onnxruntime@1.18.0']);
    expect(byType('library')).toEqual(['pkg:pypi/numpy@1.26.4', 'pkg:pypi/safetensors@0.4.3']);
    const torch = bom.components.find((c: any) => c.purl === 'pkg:pypi/torch@2.3.0');
    expect(torch).toEqual({ 'type': 'framework', 'bom-ref': 'pkg:pypi/torch@2.3.0', 'name': 'torch', 'version': '2.3.0', 'purl': 'pkg:pypi/torch@2.3.0' });
    expect(bom.dependencies).toEqual([{ ref: 'model:fraud-detector@3.2.0', dependsOn: expect.arrayContaining(['pkg:pypi/torch@2.3.0', 'pkg:pypi/numpy@1.26.4']) }]);
    expect(bom.dependencies[0].dependsOn).toHaveLength(5);
  });

  test('the serving image is a container component pinned by digest, with the scan summary as properties', () => {
    const image = bom.components.find((c: any) => c.type === 'container');
    expect(image).toMatchObject({
      name: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving/torchserve',
      version: IMAGE_DIGEST,
      hashes: [{ alg: 'SHA-256', content: IMAGE_DIGEST.slice('sha256:'.length) }],
      purl: `pkg:oci/torchserve@sha256%3A${IMAGE_DIGEST.slice('sha256:'.length)}?repository_url=123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving/torchserve&tag=0.11.0`,
    });
    expect(prop(image, 'modelseal:scan:critical')).toBe('0');
    expect(prop(image, 'modelseal:scan:high')).toBe('2');
    expect(prop(image, 'modelseal:scan:total')).toBe('21');
    expect(prop(image, 'modelseal:scan:status')).toBe('COMPLETE');
    expect(prop(image, 'modelseal:scan:source')).toBe('aws-ecr');
    expect(prop(image, 'modelseal:image:tag')).toBe('0.11.0');
  });
});

describe('buildBom inputs', () => {
  test('a minimal card gives a minimal valid BOM with a random serial number and the current time', () => {
    const bom: any = buildBom({ card: { model: { name: 'm', version: '1' }, frameworks: [], dependencies: [] }, rootDigest: ROOT });
    validateBom(bom);
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Date.now() - Date.parse(bom.metadata.timestamp)).toBeLessThan(60_000);
    expect(bom.metadata.component.modelCard).toBeUndefined();
    expect(bom.components).toBeUndefined();
    expect(bom.dependencies).toBeUndefined();
  });

  test('a --serving-image replaces the card\'s image', () => {
    const other = parseImageReference(`registry.example.com/serve@sha256:${'c'.repeat(64)}`, '--serving-image');
    const bom: any = buildBom({ card, rootDigest: ROOT, servingImage: other });
    const images = bom.components.filter((c: any) => c.type === 'container');
    expect(images.map((c: any) => c.name)).toEqual(['registry.example.com/serve']);
  });

  test('a scan of another image, or a scan without an image, is refused', () => {
    const other = parseImageReference(`registry.example.com/serve@sha256:${'c'.repeat(64)}`, '--serving-image');
    expect(() => buildBom({ card, rootDigest: ROOT, servingImage: other, scanSummary: scan })).toThrow(
      `the scan summary is for image ${IMAGE_DIGEST}, not the serving image sha256:${'c'.repeat(64)}; scan the image that serves the model`);
    const noImage = { ...card, servingImage: undefined };
    expect(() => buildBom({ card: noImage, rootDigest: ROOT, scanSummary: scan })).toThrow(/scan summary was given without a serving image/);
  });

  test('one package at two versions is refused; exact repeats and frameworks listed as dependencies are merged', () => {
    expect(() => buildBom({ card, rootDigest: ROOT, frameworks: [parsePackageSpec('torch@2.4.0', '--framework')] }))
      .toThrow('framework "torch" is listed at two versions, 2.3.0 and 2.4.0; an SBOM records the one version that is installed');
    const bom: any = buildBom({
      card,
      rootDigest: ROOT,
      frameworks: [parsePackageSpec('torch@2.3.0', '--framework')],
      dependencies: [parsePackageSpec('transformers@4.41.2', '--dependency')],
    });
    expect(bom.components.filter((c: any) => c.name === 'torch')).toHaveLength(1);
    expect(bom.components.filter((c: any) => c.name === 'transformers').map((c: any) => c.type)).toEqual(['framework']);
  });

  test('a malformed root digest is refused', () => {
    expect(() => buildBom({ card, rootDigest: 'ABC' })).toThrow(UsageError);
  });
});

describe('schema validation', () => {
  test('violations are reported with their path in the BOM', () => {
    const bom: any = buildBom({ card, rootDigest: ROOT, serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' });
    bom.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value = 0.9;
    bom.components[0].hashes[0].content = 'xyz';
    let err: BomValidationError | undefined;
    try {
      validateBom(bom);
    } catch (e) {
      err = e as BomValidationError;
    }
    expect(err).toBeInstanceOf(BomValidationError);
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.issues).toEqual(expect.arrayContaining([
      { path: 'metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value', message: 'must be string' },
      { path: 'components[0].hashes[0].content', message: expect.stringMatching(/^must match pattern/) },
    ]));
    expect(err!.message).toMatch(/^the BOM does not validate against the CycloneDX 1\.6 JSON schema, so it was not signed:\n {2}- /);
  });

  test('unknown fields and bad enum values name the field', () => {
    const bom: any = buildBom({ card, rootDigest: ROOT });
    bom.metadata.component.modelCard.modelParameters.approach = { type: 'guessing' };
    bom.metadata.component.colour = 'blue';
    const issues = bomSchemaIssues(bom);
    expect(issues).toEqual(expect.arrayContaining([
      { path: 'metadata.component.modelCard.modelParameters.approach.type', message: expect.stringMatching(/must be equal to one of the allowed values: "supervised"/) },
    ]));
    const unknown = bomSchemaIssues({ ...bom, metadata: { ...bom.metadata, component: { ...bom.metadata.component, modelCard: undefined } } });
    expect(unknown).toEqual([{ path: 'metadata.component', message: 'has unknown field "colour"' }]);
  });
});
