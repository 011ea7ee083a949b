/**
 * The model card's JSON Schema (draft 2020-12), as data.
 *
 * `schemas/model-card.v1.schema.json` is this object rendered by {@link renderModelCardSchema}; a test keeps the two
 * identical, so editors and CI tools validate cards against exactly what `modelseal attest sbom` enforces. The
 * `modelCard` block mirrors the CycloneDX 1.6 `modelCard` object field for field, so an error path such as
 * `modelCard.quantitativeAnalysis.performanceMetrics[0].value` reads the same in the card and in the BOM. Every object
 * refuses unknown fields: a misspelt field would otherwise silently drop out of a signed attestation.
 *
 * Beyond the schema, `modelseal` checks the contents of package specs and package URLs, the serving image reference
 * (pinned by digest) and that each dataset is listed once (model-card.ts).
 *
 * A string field's `description` is also the hint its error message gives.
 */

/** The `apiVersion` a model card must declare. */
export const MODEL_CARD_API_VERSION = 'modelseal.dev/v1';
/** The `kind` a model card must declare. */
export const MODEL_CARD_KIND = 'ModelCard';
/** `$id` of the published schema. */
export const MODEL_CARD_SCHEMA_ID = 'https://modelseal.dev/schemas/model-card.v1.schema.json';

/** CycloneDX 1.6 `modelCard.modelParameters.approach.type` values. */
export const LEARNING_APPROACHES = ['supervised', 'unsupervised', 'reinforcement-learning', 'semi-supervised', 'self-supervised'] as const;
/** CycloneDX 1.6 `componentData.type` values (what kind of data a dataset entry is). */
export const DATA_TYPES = ['dataset', 'source-code', 'configuration', 'definition', 'other'] as const;
/** What a dataset was used for; recorded as the `modelseal:dataset:purpose` property. */
export const DATASET_PURPOSES = ['training', 'fine-tuning', 'validation', 'evaluation', 'calibration', 'other'] as const;
/** CycloneDX 1.6 `externalReference.type` values a card may use for the model's references. */
export const EXTERNAL_REFERENCE_TYPES = [
  'vcs', 'issue-tracker', 'website', 'advisories', 'bom', 'mailing-list', 'social', 'chat', 'documentation', 'support',
  'source-distribution', 'distribution', 'distribution-intake', 'license', 'build-meta', 'build-system', 'release-notes',
  'security-contact', 'model-card', 'log', 'configuration', 'evidence', 'formulation', 'attestation', 'threat-model',
  'adversary-model', 'risk-assessment', 'vulnerability-assertion', 'exploitability-statement', 'pentest-report',
  'static-analysis-report', 'dynamic-analysis-report', 'runtime-analysis-report', 'component-analysis-report',
  'maturity-report', 'certification-report', 'codified-infrastructure', 'quality-metrics', 'poam', 'electronic-signature',
  'digital-signature', 'rfc-9116', 'other',
] as const;

/** A decimal number written as a string (CycloneDX records metric values as strings; CEL reads them with double()). */
export const NUMERIC_PATTERN = '^\\s*[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?\\s*$';

/**
 * A non-empty, non-blank string. Optional fields also accept null (an empty YAML value), which counts as absent.
 */
function text(description: string, opts: { optional?: boolean } = {}) {
  return { type: opts.optional === false ? 'string' : ['string', 'null'], minLength: 1, pattern: '\\S', description };
}

/** A required string field (null is "missing"). */
function requiredText(description: string) {
  return text(description, { optional: false });
}

function list(items: Record<string, unknown>, description?: string) {
  return { type: 'array', items, ...(description ? { description } : {}) };
}

const textList = (description: string) => list(requiredText(description));

const digest = { $ref: '#/$defs/digest' };
const uri = { $ref: '#/$defs/uri' };
const numeric = { $ref: '#/$defs/numeric' };

/** The schema. */
export const MODEL_CARD_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: MODEL_CARD_SCHEMA_ID,
  title: 'ModelSeal model card',
  description: 'The input of `modelseal attest sbom`: the model card of a CycloneDX 1.6 ML-BOM, plus the model\'s packages and serving image. See docs/SBOM.md.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'model'],
  properties: {
    apiVersion: { const: MODEL_CARD_API_VERSION },
    kind: { const: MODEL_CARD_KIND },
    model: { $ref: '#/$defs/model' },
    modelCard: { $ref: '#/$defs/modelCard' },
    frameworks: list({ $ref: '#/$defs/package' }, 'ML frameworks: NAME@VERSION (PyPI), a package URL, or {name, group, version, purl}.'),
    dependencies: list({ $ref: '#/$defs/package' }, 'Other runtime dependencies, in the same forms as frameworks.'),
    servingImage: requiredText('the image that serves the model, pinned by digest: [REGISTRY/]REPOSITORY[:TAG]@sha256:<64 hex>'),
  },
  $defs: {
    model: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version'],
      properties: {
        name: requiredText('the model\'s name, e.g. "fraud-detector"'),
        version: requiredText('the model\'s version, e.g. "3.2.0" (quote it in YAML so it stays a string)'),
        description: text('what the model does'),
        publisher: text('who publishes the model'),
        license: text('an SPDX license expression, e.g. "Apache-2.0"'),
        purl: text('a package URL for the model, e.g. "pkg:huggingface/acme/fraud-detector@<revision>"'),
        authors: list({ $ref: '#/$defs/contact' }),
        externalReferences: list({ $ref: '#/$defs/externalReference' }),
        tags: textList('a tag'),
        properties: {
          type: 'object',
          additionalProperties: { $ref: '#/$defs/propertyValue' },
          description: 'Free-form name/value pairs, emitted as component properties.',
        },
      },
    },
    modelCard: {
      type: 'object',
      additionalProperties: false,
      properties: {
        modelParameters: { $ref: '#/$defs/modelParameters' },
        quantitativeAnalysis: {
          type: 'object',
          additionalProperties: false,
          properties: { performanceMetrics: list({ $ref: '#/$defs/performanceMetric' }) },
        },
        considerations: { $ref: '#/$defs/considerations' },
      },
    },
    modelParameters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        approach: {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: { type: { enum: LEARNING_APPROACHES } },
        },
        task: text('the task, e.g. "classification"'),
        architectureFamily: text('e.g. "transformer"'),
        modelArchitecture: text('e.g. "DistilBERT-base"'),
        datasets: list({ $ref: '#/$defs/dataset' }, 'Each dataset the model was trained or evaluated on, listed once.'),
        inputs: list({ $ref: '#/$defs/ioFormat' }),
        outputs: list({ $ref: '#/$defs/ioFormat' }),
      },
    },
    ioFormat: {
      type: 'object',
      additionalProperties: false,
      required: ['format'],
      properties: { format: requiredText('e.g. "text/plain" or "image/jpeg, 224x224 RGB"') },
    },
    dataset: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: requiredText('the dataset\'s name'),
        version: text('the dataset\'s version'),
        type: { enum: DATA_TYPES, description: 'What kind of data; "dataset" unless given.' },
        description: text('what the data is'),
        purpose: { enum: DATASET_PURPOSES },
        digest,
        url: uri,
        classification: text('e.g. "confidential"'),
        sensitiveData: textList('a kind of sensitive data, e.g. "PII"'),
        governance: {
          type: 'object',
          additionalProperties: false,
          properties: {
            owners: list({ $ref: '#/$defs/party' }),
            stewards: list({ $ref: '#/$defs/party' }),
            custodians: list({ $ref: '#/$defs/party' }),
          },
        },
        lineage: {
          type: 'object',
          additionalProperties: false,
          properties: {
            derivedFrom: list({
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: {
                name: requiredText('the upstream dataset\'s name'),
                version: text('the upstream dataset\'s version'),
                digest,
                url: uri,
              },
            }),
            notes: text('how the dataset was produced from its ancestors'),
          },
        },
      },
    },
    performanceMetric: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      properties: {
        type: requiredText('the metric\'s name, e.g. "accuracy" or "f1"'),
        value: numeric,
        slice: text('the data the metric was measured on'),
        confidenceInterval: {
          type: 'object',
          additionalProperties: false,
          properties: { lowerBound: numeric, upperBound: numeric },
        },
      },
    },
    considerations: {
      type: 'object',
      additionalProperties: false,
      properties: {
        users: textList('an intended user'),
        useCases: textList('an intended use'),
        technicalLimitations: textList('a limitation'),
        performanceTradeoffs: textList('a trade-off'),
        ethicalConsiderations: list({
          type: 'object',
          additionalProperties: false,
          properties: { name: text('the consideration'), mitigationStrategy: text('how it is mitigated') },
        }),
        fairnessAssessments: list({
          type: 'object',
          additionalProperties: false,
          properties: {
            groupAtRisk: text('the group at risk'),
            benefits: text('expected benefits'),
            harms: text('possible harms'),
            mitigationStrategy: text('how harms are mitigated'),
          },
        }),
      },
    },
    contact: {
      type: 'object',
      additionalProperties: false,
      properties: { name: text('a person\'s name'), email: { $ref: '#/$defs/email' } },
      anyOf: [{ required: ['name'] }, { required: ['email'] }],
    },
    party: {
      type: 'object',
      additionalProperties: false,
      properties: { organization: text('the organization\'s name'), name: text('a person\'s name'), email: { $ref: '#/$defs/email' } },
      anyOf: [{ required: ['organization'] }, { required: ['name'] }, { required: ['email'] }],
      not: { required: ['organization'], anyOf: [{ required: ['name'] }, { required: ['email'] }] },
      description: 'An organization {organization} or a person {name, email}.',
    },
    externalReference: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'url'],
      properties: {
        type: { enum: EXTERNAL_REFERENCE_TYPES },
        url: uri,
        comment: text('what the reference is'),
      },
    },
    package: {
      if: { type: 'string' },
      then: requiredText('NAME@VERSION (a PyPI package, e.g. "torch@2.3.0") or a package URL such as "pkg:npm/onnxruntime-node@1.18.0"'),
      else: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'version'],
        properties: {
          name: requiredText('the package name'),
          group: text('the package URL namespace (an npm scope, a Maven group)'),
          version: requiredText('the exact version'),
          purl: text('the package URL'),
        },
      },
    },
    digest: {
      type: 'string',
      pattern: '^(?:sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$',
      description: 'ALGORITHM:HEX with sha256, sha384 or sha512 in lower case.',
    },
    uri: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*:\\S+$', description: 'An absolute URI, e.g. s3://bucket/prefix/.' },
    email: { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+$', description: 'An email address.' },
    numeric: {
      anyOf: [{ type: 'number' }, { type: 'string', pattern: NUMERIC_PATTERN }],
      description: 'A number, or a string holding a decimal number (kept as written).',
    },
    propertyValue: { type: ['string', 'number', 'boolean'] },
  },
} as const;

/** The schema as the published file holds it: two-space JSON with a trailing newline. */
export function renderModelCardSchema(): string {
  return JSON.stringify(MODEL_CARD_SCHEMA, null, 2) + '\n';
}
