import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { ModelCardError, parseModelCard, parseScanSummary } from '../../../src/runtime/sbom/model-card';
import { MODEL_CARD_SCHEMA, renderModelCardSchema } from '../../../src/runtime/sbom/model-card-schema';

const ROOT = path.join(__dirname, '..', '..', '..');
const CARD = parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'sbom', 'model-card.yaml'), 'utf8'));
const MINIMAL = { apiVersion: 'modelseal.dev/v1', kind: 'ModelCard', model: { name: 'm', version: '1' } };

function issuesOf(doc: unknown): { path: string; message: string }[] {
  try {
    parseModelCard(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelCardError);
    return [...(e as ModelCardError).issues];
  }
  throw new Error('expected the card to be invalid');
}

describe('published model card schema', () => {
  test('schemas/model-card.v1.schema.json is exactly the schema in src/runtime/sbom/model-card-schema.ts', () => {
    const file = path.join(ROOT, 'schemas', 'model-card.v1.schema.json');
    expect(fs.readFileSync(file, 'utf8')).toBe(renderModelCardSchema());
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(MODEL_CARD_SCHEMA);
  });

  test('another JSON Schema 2020-12 validator accepts the fixture card and refuses a misspelt field', () => {
    const validate = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'model-card.v1.schema.json'), 'utf8')));
    expect(validate(CARD)).toBe(true);
    expect(validate({ ...CARD, modelCrad: {} })).toBe(false);
  });

  test('every object in the schema refuses unknown fields', () => {
    const open: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (typeof node !== 'object' || node === null) {
        return;
      }
      const n = node as Record<string, unknown>;
      if (n.type === 'object' && n.properties && n.additionalProperties !== false) {
        open.push(at);
      }
      Object.entries(n).forEach(([k, v]) => walk(v, `${at}/${k}`));
    };
    walk(MODEL_CARD_SCHEMA, '#');
    expect(open).toEqual([]);
  });
});

describe('model card rules the schema states', () => {
  test('an empty YAML value (null) is absent in an optional field and missing in a required one', () => {
    expect(parseModelCard({ ...MINIMAL, model: { ...MINIMAL.model, description: null } }).model).toEqual({ name: 'm', version: '1' });
    expect(issuesOf({ ...MINIMAL, model: { name: null, version: '1' } })).toEqual([{ path: 'model.name', message: 'is required' }]);
  });

  test('a blank string is empty', () => {
    expect(issuesOf({ ...MINIMAL, model: { ...MINIMAL.model, publisher: '  ' } })).toEqual([
      { path: 'model.publisher', message: 'is empty; expected a non-empty string (who publishes the model)' },
    ]);
  });

  test('a contact needs a name or an email; a party is an organization or a person, not both and not neither', () => {
    expect(issuesOf({ ...MINIMAL, model: { ...MINIMAL.model, authors: [{}] } })).toEqual([{ path: 'model.authors[0]', message: 'needs a name or an email' }]);
    const withParty = (party: unknown) => ({ ...MINIMAL, modelCard: { modelParameters: { datasets: [{ name: 'd', governance: { owners: [party] } }] } } });
    expect(issuesOf(withParty({ organization: 'Acme', name: 'Sam' }))).toEqual([{
      path: 'modelCard.modelParameters.datasets[0].governance.owners[0]',
      message: 'gives both organization and name/email; a party is either an organization or a person',
    }]);
    expect(issuesOf(withParty({}))).toEqual([{
      path: 'modelCard.modelParameters.datasets[0].governance.owners[0]',
      message: 'is empty; expected {organization: NAME} or a person {name, email}',
    }]);
    const person = parseModelCard(withParty({ name: 'Sam', email: 'sam@example.com' }));
    expect(person.modelCard!.modelParameters!.datasets![0].governance).toEqual({ owners: [{ contact: { name: 'Sam', email: 'sam@example.com' } }] });
  });

  test('property values are scalars, kept as strings; metric values are finite numbers or numeric strings', () => {
    expect(issuesOf({ ...MINIMAL, model: { ...MINIMAL.model, properties: { run: { id: 1 } } } })).toEqual([
      { path: 'model.properties.run', message: 'is an object; expected a string, number or boolean' },
    ]);
    expect(parseModelCard({ ...MINIMAL, model: { ...MINIMAL.model, properties: { gpu: true, epochs: 12 } } }).model.properties).toEqual({ gpu: 'true', epochs: '12' });
    const metric = (value: unknown) => ({ ...MINIMAL, modelCard: { quantitativeAnalysis: { performanceMetrics: [{ type: 'accuracy', value }] } } });
    expect(issuesOf(metric(Infinity))[0].path).toBe('modelCard.quantitativeAnalysis.performanceMetrics[0].value');
    expect(parseModelCard(metric(' 0.91 ')).modelCard!.quantitativeAnalysis!.performanceMetrics![0].value).toBe('0.91');
  });

  test('a missing field sorts right after its parent, before that parent\'s own fields', () => {
    expect(issuesOf({ apiVersion: 'modelseal.dev/v1', kind: 'ModelCard', model: { version: 2 } }).map((i) => i.path))
      .toEqual(['model.name', 'model.version']);
  });

  test('scan summary timestamps are RFC 3339 (the codec parser) or epoch seconds', () => {
    expect(() => parseScanSummary({ imageScanFindings: { imageScanCompletedAt: '2024-02-30T00:00:00Z' } }, 's'))
      .toThrow('s is invalid: imageScanFindings.imageScanCompletedAt: is "2024-02-30T00:00:00Z"; expected an RFC 3339 timestamp or epoch seconds');
  });
});
