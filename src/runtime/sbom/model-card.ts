/**
 * The inputs of an AI SBOM: the model card file (YAML or JSON), package specs (`torch@2.3.0`, package URLs), the
 * serving image reference and an Amazon ECR scan summary — each checked strictly, with errors that name the field.
 *
 * The card is validated against its JSON Schema (model-card-schema.ts, published as schemas/model-card.v1.schema.json)
 * with ajv; this module turns ajv's errors into one message per problem, located by a path into the card
 * (`modelCard.quantitativeAnalysis.performanceMetrics[0].value`), then checks what a schema does not express (package
 * specs and URLs, the serving image reference, datasets listed once) and converts the card into the shape the BOM
 * builder takes. Datasets are the one deliberate extension of CycloneDX: its inline dataset objects cannot carry a
 * version, hashes or lineage, so the card describes each dataset fully and the BOM turns it into a `data` component
 * (see cyclonedx.ts).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { parse as parseYaml } from 'yaml';
import { MODEL_CARD_SCHEMA } from './model-card-schema';
import { hexOfPrefixedDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';
import { parseRfc3339 } from '../codec/time';

export {
  DATA_TYPES, DATASET_PURPOSES, EXTERNAL_REFERENCE_TYPES, LEARNING_APPROACHES, MODEL_CARD_API_VERSION, MODEL_CARD_KIND,
} from './model-card-schema';

/** Model card files larger than this are refused before parsing: a card is prose and numbers, never megabytes. */
export const MAX_MODEL_CARD_BYTES = 4 * 1024 * 1024;

/** A content digest as CycloneDX records it. */
export interface Digest {
  /** CycloneDX hash algorithm name: `SHA-256`, `SHA-384` or `SHA-512`. */
  readonly alg: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** Lower-case hex. */
  readonly content: string;
}

/** A person. */
export interface Contact {
  readonly name?: string;
  readonly email?: string;
}

/** A link from the model to something else (source repository, documentation, paper, ...). */
export interface ExternalReference {
  /** One of {@link EXTERNAL_REFERENCE_TYPES}. */
  readonly type: string;
  /** An absolute URI. */
  readonly url: string;
  readonly comment?: string;
}

/** The `model` block: identity of the model component. */
export interface ModelInfo {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  /** Who publishes the model (CycloneDX `publisher`). */
  readonly publisher?: string;
  /** An SPDX license expression, e.g. `Apache-2.0`. */
  readonly license?: string;
  /** A package URL for the model, e.g. `pkg:huggingface/acme/fraud-detector@<revision>`. */
  readonly purl?: string;
  readonly authors?: readonly Contact[];
  readonly externalReferences?: readonly ExternalReference[];
  readonly tags?: readonly string[];
  /** Free-form name/value pairs, emitted as component properties. */
  readonly properties?: Readonly<Record<string, string>>;
}

/** A party responsible for a dataset: an organization or a person. */
export interface GovernanceParty {
  readonly organization?: string;
  readonly contact?: Contact;
}

/** Dataset governance (CycloneDX `data.governance`). */
export interface DatasetGovernance {
  readonly owners?: readonly GovernanceParty[];
  readonly stewards?: readonly GovernanceParty[];
  readonly custodians?: readonly GovernanceParty[];
}

/** An upstream dataset this one was derived from. */
export interface DatasetAncestor {
  readonly name: string;
  readonly version?: string;
  readonly digest?: Digest;
  readonly url?: string;
}

/** Where a dataset came from and how it was made (CycloneDX `pedigree`). */
export interface DatasetLineage {
  readonly derivedFrom?: readonly DatasetAncestor[];
  /** How the dataset was produced from its ancestors (filtering, labelling, de-duplication, ...). */
  readonly notes?: string;
}

/** A dataset the model was trained or evaluated on. */
export interface Dataset {
  readonly name: string;
  readonly version?: string;
  /** One of {@link DATA_TYPES}; `dataset` unless given. */
  readonly type: string;
  readonly description?: string;
  /** One of {@link DATASET_PURPOSES}. */
  readonly purpose?: string;
  readonly digest?: Digest;
  /** Where the dataset is stored (absolute URI such as `s3://bucket/prefix/`). */
  readonly url?: string;
  readonly classification?: string;
  readonly sensitiveData?: readonly string[];
  readonly governance?: DatasetGovernance;
  readonly lineage?: DatasetLineage;
}

/** A model input or output format. */
export interface IoFormat {
  readonly format: string;
}

/** `modelCard.modelParameters`. */
export interface ModelParameters {
  /** One of {@link LEARNING_APPROACHES}. */
  readonly approach?: { readonly type: string };
  readonly task?: string;
  readonly architectureFamily?: string;
  readonly modelArchitecture?: string;
  readonly datasets?: readonly Dataset[];
  readonly inputs?: readonly IoFormat[];
  readonly outputs?: readonly IoFormat[];
}

/** An evaluation result. Numbers are kept as decimal strings, exactly as CycloneDX records them. */
export interface PerformanceMetric {
  readonly type: string;
  readonly value: string;
  readonly slice?: string;
  readonly confidenceInterval?: { readonly lowerBound?: string; readonly upperBound?: string };
}

/** `modelCard.considerations`. */
export interface Considerations {
  readonly users?: readonly string[];
  readonly useCases?: readonly string[];
  readonly technicalLimitations?: readonly string[];
  readonly performanceTradeoffs?: readonly string[];
  readonly ethicalConsiderations?: readonly { readonly name?: string; readonly mitigationStrategy?: string }[];
  readonly fairnessAssessments?: readonly {
    readonly groupAtRisk?: string;
    readonly benefits?: string;
    readonly harms?: string;
    readonly mitigationStrategy?: string;
  }[];
}

/** The `modelCard` block. */
export interface ModelCardBody {
  readonly modelParameters?: ModelParameters;
  readonly quantitativeAnalysis?: { readonly performanceMetrics?: readonly PerformanceMetric[] };
  readonly considerations?: Considerations;
}

/** A software package the model needs (a framework or another dependency). */
export interface PackageRef {
  readonly name: string;
  /** The package URL namespace (e.g. an npm scope or Maven group), when there is one. */
  readonly group?: string;
  readonly version: string;
  /** Package URL, e.g. `pkg:pypi/torch@2.3.0`. */
  readonly purl?: string;
}

/** A digest-pinned container image reference. */
export interface ImageReference {
  /** Registry and repository, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving/torchserve`. */
  readonly repository: string;
  /** The registry host (and port), when the reference names one. */
  readonly registry?: string;
  /** The tag written before the digest, if any; informational only, the digest is what is pinned. */
  readonly tag?: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** The reference as given. */
  readonly reference: string;
}

/** A vulnerability count summary of the serving image. */
export interface ScanSummary {
  /** Which scanner produced it (`aws-ecr`). */
  readonly source: string;
  /** The scan status as reported (`COMPLETE`, or `ACTIVE` for ECR enhanced scanning). */
  readonly status?: string;
  /** Findings per lower-case severity; `critical`, `high`, `medium`, `low`, `informational` and `undefined` always present. */
  readonly counts: Readonly<Record<string, number>>;
  /** Sum of all counts. */
  readonly total: number;
  /** When the scan finished (ISO 8601). */
  readonly completedAt?: string;
  /** When the scanner's vulnerability database was last updated (ISO 8601). */
  readonly vulnerabilitySourceUpdatedAt?: string;
  /** The digest of the image that was scanned, when the summary names it. */
  readonly imageDigest?: string;
}

/** A model card after validation. */
export interface ModelCard {
  readonly model: ModelInfo;
  readonly modelCard?: ModelCardBody;
  readonly frameworks: readonly PackageRef[];
  readonly dependencies: readonly PackageRef[];
  readonly servingImage?: ImageReference;
}

/** One problem found in a model card. */
export interface ModelCardIssue {
  /** Where, as a path into the card: `model.name`, `modelCard.quantitativeAnalysis.performanceMetrics[0].value`. */
  readonly path: string;
  /** What is wrong and what would be valid. */
  readonly message: string;
}

/** A model card (or another SBOM input) that does not validate; lists every problem found, each with its field path. */
export class ModelCardError extends UsageError {
  /** The problems, in document order. */
  public readonly issues: readonly ModelCardIssue[];

  /**
   * @param heading what was invalid, e.g. `model card card.yaml is invalid`
   * @param issues the problems found
   */
  public constructor(heading: string, issues: readonly ModelCardIssue[]) {
    super(issues.length === 1
      ? `${heading}: ${issues[0].path}: ${issues[0].message}`
      : `${heading}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/**
 * Reads and validates a model card file: YAML, or JSON when the name ends in `.json`.
 *
 * @throws ModelCardError naming every invalid field; UsageError when the file cannot be read or parsed
 */
export async function loadModelCard(file: string): Promise<ModelCard> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    throw new UsageError(`cannot read model card ${file}: ${(e as Error).message}`);
  }
  if (!st.isFile()) {
    throw new UsageError(`model card ${file} is not a regular file`);
  }
  if (st.size > MAX_MODEL_CARD_BYTES) {
    throw new UsageError(`model card ${file} is ${st.size} bytes, over the ${MAX_MODEL_CARD_BYTES}-byte limit; a model card describes the model, it does not contain it`);
  }
  const text = await fs.readFile(file, 'utf8');
  return parseModelCard(parseDocument(text, file), `model card ${file} is invalid`);
}

/**
 * Parses model card text (YAML or JSON) into plain data, without validating it.
 *
 * @param source the file name; `.json` selects the JSON parser, anything else YAML (which also reads JSON)
 * @throws UsageError with the parser's position when the text is not well-formed
 */
export function parseDocument(text: string, source: string): unknown {
  if (path.extname(source).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new UsageError(`model card ${source} is not valid JSON: ${(e as Error).message}`);
    }
  }
  try {
    // YAML 1.2 core schema: `version: 1.10` stays a number here and is caught as such, rather than being
    // silently read as 1.1 by YAML 1.1 rules; duplicate keys are errors.
    return parseYaml(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    throw new UsageError(`model card ${source} is not valid YAML: ${(e as Error).message}`);
  }
}

/**
 * Validates parsed model card data against the model card schema, then checks package specs, package URLs, the
 * serving image and repeated datasets, and converts the card.
 *
 * Unknown fields are errors (a misspelt field would otherwise silently drop out of a signed attestation), and every
 * problem is collected, so one run reports them all, in document order.
 *
 * @param heading starts the error message, e.g. `model card card.yaml is invalid`
 * @throws ModelCardError listing every invalid field with its path
 */
export function parseModelCard(doc: unknown, heading = 'model card is invalid'): ModelCard {
  const issues = schemaIssues(cardValidator(), doc);
  // The checks a schema cannot express run on whatever is well-formed enough to read, so one run reports everything.
  const card = (isObject(doc) ? doc : {}) as RawCard;
  const packages = [...listOf(card.frameworks).map((v, i) => [v, `frameworks[${i}]`] as const),
    ...listOf(card.dependencies).map((v, i) => [v, `dependencies[${i}]`] as const)];
  const refs = packages.map(([v, p]) => (typeof v === 'string' || isObject(v) ? packageSpec(issues, v, p) : undefined));
  if (typeof card.model?.purl === 'string') {
    parsePurl(issues, card.model.purl, 'model.purl');
  }
  const image = typeof card.servingImage === 'string' ? imageReference(issues, card.servingImage, 'servingImage') : undefined;
  const seen = new Map<string, number>();
  listOf(card.modelCard?.modelParameters?.datasets).forEach((d, i) => {
    if (isObject(d) && typeof d.name === 'string') {
      const key = `${d.name}@${typeof d.version === 'string' ? d.version : ''}`;
      if (seen.has(key)) {
        issues.push({
          path: `modelCard.modelParameters.datasets[${i}]`,
          message: `repeats dataset "${d.name}"${d.version ? ` version "${d.version}"` : ''} (also datasets[${seen.get(key)}]); list each dataset once`,
        });
      }
      seen.set(key, i);
    }
  });
  if (issues.length > 0) {
    throw new ModelCardError(heading, inDocumentOrder(doc, issues));
  }
  return toModelCard(card, refs as PackageRef[], listOf(card.frameworks).length, image);
}

/**
 * Parses a package given on the command line or in a card: `NAME@VERSION` (a PyPI package, where ML frameworks are
 * published, so it gets a `pkg:pypi/...` package URL) or a full package URL (`pkg:TYPE/[NAMESPACE/]NAME@VERSION`)
 * for any other ecosystem.
 *
 * @param what names the value in errors, e.g. `--framework`
 * @throws ModelCardError when the spec has neither form or lacks a version
 */
export function parsePackageSpec(spec: string, what: string): PackageRef {
  const issues: ModelCardIssue[] = [];
  const ref = packageSpec(issues, spec, what);
  if (!ref) {
    throw new ModelCardError('invalid package', issues);
  }
  return ref;
}

/**
 * Parses a digest-pinned image reference: `[REGISTRY/]REPOSITORY[:TAG]@sha256:<64 hex>`.
 *
 * A tag alone is refused: tags move, and the SBOM must name exactly the image that serves the model.
 *
 * @param what names the value in errors, e.g. `--serving-image`
 * @throws ModelCardError naming what is wrong with the reference
 */
export function parseImageReference(ref: string, what: string): ImageReference {
  const issues: ModelCardIssue[] = [];
  const image = imageReference(issues, ref, what);
  if (!image) {
    throw new ModelCardError('invalid image reference', issues);
  }
  return image;
}

/**
 * Reads the output of `aws ecr describe-image-scan-findings` (basic or enhanced scanning) as a count summary.
 *
 * ECR leaves out severities with no findings, so every standard severity is filled in with 0: a policy condition
 * can then read `critical` without first asking whether it is there. A scan that has not completed is refused,
 * since its counts say nothing.
 *
 * @param doc the parsed JSON
 * @param source names the file in errors
 * @throws ModelCardError naming the invalid field
 */
export function parseScanSummary(doc: unknown, source: string): ScanSummary {
  const issues = schemaIssues(scanValidator(), doc);
  const o = doc as EcrScanFindings;
  const findings = o?.imageScanFindings;
  const completedAt = issues.length > 0 ? undefined : timestamp(issues, findings?.imageScanCompletedAt, 'imageScanFindings.imageScanCompletedAt');
  const updatedAt = issues.length > 0 ? undefined : timestamp(issues, findings?.vulnerabilitySourceUpdatedAt, 'imageScanFindings.vulnerabilitySourceUpdatedAt');
  if (issues.length > 0) {
    throw new ModelCardError(`${source} is invalid`, issues);
  }
  const counts: Record<string, number> = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const [severity, n] of Object.entries(findings.findingSeverityCounts ?? {})) {
    counts[severity.toLowerCase()] = (counts[severity.toLowerCase()] ?? 0) + n;
  }
  return compact({
    source: 'aws-ecr',
    status: o.imageScanStatus?.status ?? undefined,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    completedAt,
    vulnerabilitySourceUpdatedAt: updatedAt,
    imageDigest: o.imageId?.imageDigest ?? undefined,
  }) as ScanSummary;
}

/**
 * Reads an ECR scan findings JSON file with {@link parseScanSummary}.
 *
 * @throws UsageError when the file cannot be read or is not JSON; ModelCardError when it is not a scan result
 */
export async function loadScanSummary(file: string): Promise<ScanSummary> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read scan summary ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`scan summary ${file} is not valid JSON (${(e as Error).message}); expected the output of aws ecr describe-image-scan-findings`);
  }
  return parseScanSummary(doc, `scan summary ${file}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Schema validation and error messages

/** The severities ECR reports; each always appears in a summary. */
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational', 'undefined'] as const;

/**
 * The part of `aws ecr describe-image-scan-findings` output a summary reads (internal; ECR output has more fields,
 * which are allowed). Basic scanning ends in COMPLETE, enhanced (continuous) scanning is ACTIVE.
 */
const ECR_SCAN_SCHEMA = {
  type: 'object',
  required: ['imageScanFindings'],
  properties: {
    imageScanStatus: { type: 'object', properties: { status: { $ref: '#/$defs/scanStatus' } } },
    imageId: { type: 'object', properties: { imageDigest: { type: ['string', 'null'], minLength: 1, pattern: '\\S' } } },
    imageScanFindings: {
      type: 'object',
      properties: {
        findingSeverityCounts: { type: 'object', additionalProperties: { $ref: '#/$defs/count' } },
        imageScanCompletedAt: { type: ['string', 'number'] },
        vulnerabilitySourceUpdatedAt: { type: ['string', 'number'] },
      },
    },
  },
  $defs: {
    scanStatus: { enum: ['COMPLETE', 'ACTIVE', null] },
    count: { type: 'integer', minimum: 0 },
  },
} as const;

/** Messages of the errors a field's own schema (a `$defs` entry) raises, by definition and keyword. */
const DEF_MESSAGES: Record<string, Record<string, (data: unknown) => string>> = {
  digest: { pattern: (d) => `is ${JSON.stringify(d)}; expected ALGORITHM:HEX with sha256 (64 hex), sha384 (96) or sha512 (128) in lower case, e.g. "sha256:9f86d0..."` },
  uri: { pattern: (d) => `is ${JSON.stringify(d)}; expected an absolute URI such as "s3://bucket/prefix/" or "https://..."` },
  email: { pattern: (d) => `is ${JSON.stringify(d)}; expected an email address such as "ml-team@example.com"` },
  numeric: { anyOf: (d) => `must be a number or numeric string (e.g. 0.94 or "0.94"); got ${d === undefined ? 'nothing' : JSON.stringify(d)}` },
  contact: { anyOf: () => 'needs a name or an email' },
  party: {
    anyOf: () => 'is empty; expected {organization: NAME} or a person {name, email}',
    not: () => 'gives both organization and name/email; a party is either an organization or a person',
  },
  propertyValue: { type: (d) => `is ${describe(d)}; expected a string, number or boolean` },
  scanStatus: { enum: (d) => `is ${JSON.stringify(d)}; the scan has not completed (expected COMPLETE or ACTIVE), so its counts cannot be attested` },
  count: {
    type: (d) => `is ${JSON.stringify(d)}; expected a non-negative integer`,
    minimum: (d) => `is ${JSON.stringify(d)}; expected a non-negative integer`,
  },
};

let ajv: Ajv2020 | undefined;
let cardValidatorFn: ValidateFunction | undefined;
let scanValidatorFn: ValidateFunction | undefined;

function compiler(): Ajv2020 {
  // verbose: errors carry the failing value and the schema, which the messages quote
  ajv ??= new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true });
  return ajv;
}

function cardValidator(): ValidateFunction {
  cardValidatorFn ??= compiler().compile(MODEL_CARD_SCHEMA);
  return cardValidatorFn;
}

function scanValidator(): ValidateFunction {
  scanValidatorFn ??= compiler().compile(ECR_SCAN_SCHEMA);
  return scanValidatorFn;
}

/** Validates `doc` and turns ajv's errors into one issue per problem. */
function schemaIssues(validate: ValidateFunction, doc: unknown): ModelCardIssue[] {
  if (validate(doc)) {
    return [];
  }
  const errors = validate.errors ?? [];
  const issues: ModelCardIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // A failed alternative (anyOf, not) is reported once, by the alternative itself; `if` only selects a branch.
    if (/\/(anyOf|not)\//.test(e.schemaPath) || e.keyword === 'if') {
      continue;
    }
    const issue = toIssue(validate.schema as SchemaNode, e);
    const key = `${issue.path}\n${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly properties?: Record<string, SchemaNode>;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly items?: SchemaNode;
  readonly required?: readonly string[];
  readonly pattern?: string;
  readonly description?: string;
  readonly $ref?: string;
  readonly $defs?: Record<string, SchemaNode>;
  readonly else?: SchemaNode;
}

function toIssue(root: SchemaNode, e: ErrorObject): ModelCardIssue {
  const at = pointerToPath(e.instancePath);
  const data: unknown = e.data;
  const node = (e.parentSchema ?? {}) as SchemaNode;
  const params = e.params as Record<string, unknown>;
  const { def } = schemaAt(root, e.instancePath);
  const custom = def === undefined ? undefined : DEF_MESSAGES[def]?.[e.keyword];
  if (custom) {
    return { path: at, message: custom(data) };
  }
  const hint = node.pattern === '\\S' && node.description ? ` (${node.description})` : '';
  switch (e.keyword) {
    case 'required':
      return { path: join(at, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: join(at, String(params.additionalProperty)), message: `is not a known field; valid fields here: ${Object.keys(node.properties ?? {}).join(', ')}` };
    case 'enum':
      return { path: at, message: `is ${data === undefined ? 'missing' : JSON.stringify(data)}; expected one of ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { path: at, message: `is ${JSON.stringify(data)}; expected ${JSON.stringify(params.allowedValue)}` };
    case 'minLength':
    case 'pattern':
      return { path: at, message: `is empty; expected a non-empty string${hint}` };
    case 'type': {
      // null in a required field is an empty YAML value: the field is missing
      const slash = e.instancePath.lastIndexOf('/');
      if (data === null && (schemaAt(root, e.instancePath.slice(0, slash)).node?.required ?? []).includes(e.instancePath.slice(slash + 1))) {
        return { path: at, message: 'is required' };
      }
      const expected = [params.type].flat();
      if (expected.includes('object')) {
        const fields = Object.keys(node.properties ?? {});
        return { path: at, message: `is ${describe(data)}; expected ${fields.length > 0 ? `an object with ${fields.join(', ')}` : 'an object'}` };
      }
      if (expected.includes('array')) {
        return { path: at, message: `is ${describe(data)}; expected a list` };
      }
      return { path: at, message: `is ${describe(data)}; expected a non-empty string${hint}` };
    }
    default:
      return { path: at, message: e.message ?? `fails ${e.keyword}` };
  }
}

/**
 * The schema that applies at an instance path (`/model/authors/0`), following `properties`, `items`,
 * `additionalProperties` and `$ref`s (the `else` of an if/then/else is the object form), and the `$defs` entry it is
 * when the last step went through a `$ref` (ajv's own schema paths restart inside every `$ref`).
 */
function schemaAt(root: SchemaNode, instancePath: string): { node?: SchemaNode; def?: string } {
  let node: SchemaNode | undefined = root;
  let def: string | undefined;
  const deref = () => {
    def = undefined;
    while (node?.$ref !== undefined || (node?.else !== undefined && node.properties === undefined)) {
      if (node.$ref !== undefined) {
        def = node.$ref.slice('#/$defs/'.length);
        node = root.$defs?.[def];
      } else {
        node = node.else;
      }
    }
  };
  deref();
  for (const seg of instancePath.split('/').slice(1).map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    const extra: SchemaNode | undefined = typeof node?.additionalProperties === 'object' ? node.additionalProperties : undefined;
    node = /^\d+$/.test(seg) && node?.items ? node.items : node?.properties?.[seg] ?? extra;
    deref();
  }
  return { node, def };
}

/** `/a/b/0/c` → `a.b[0].c`; the document itself is `(document)`. */
function pointerToPath(pointer: string): string {
  return pointer.slice(1).split('/').filter((s) => s !== '')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : join(acc, s)), '') || '(document)';
}

function join(p: string, k: string): string {
  return p && p !== '(document)' ? `${p}.${k}` : k;
}

/**
 * Sorts issues by where their field appears in the document; a missing field sorts right after its parent, before the
 * parent's fields. Issues at the same place keep their order.
 */
function inDocumentOrder(doc: unknown, issues: ModelCardIssue[]): ModelCardIssue[] {
  const order = new Map<string, number>();
  const walk = (v: unknown, p: string) => {
    order.set(p, order.size);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${p}[${i}]`));
    } else if (isObject(v)) {
      Object.entries(v).forEach(([k, x]) => walk(x, join(p, k)));
    }
  };
  walk(doc, '(document)');
  const rank = (p: string): number => {
    for (let q = p; ; q = q.replace(/(\.[^.[]+|\[\d+\])$/, '')) {
      if (order.has(q)) {
        return order.get(q)! + (q === p ? 0 : 0.5);
      }
      if (!/(\.[^.[]+|\[\d+\])$/.test(q)) {
        return order.has(q) ? order.get(q)! : 0.5;
      }
    }
  };
  return issues.map((issue, i) => ({ issue, i, r: rank(issue.path) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.issue);
}

// ---------------------------------------------------------------------------------------------------------------
// Checks beyond the schema, and conversion of a valid card

/** A card as the schema checked it. */
interface RawCard {
  readonly model?: Record<string, unknown> & { purl?: unknown };
  readonly modelCard?: Record<string, unknown> & { modelParameters?: { datasets?: unknown } };
  readonly frameworks?: unknown;
  readonly dependencies?: unknown;
  readonly servingImage?: unknown;
}

/** The ECR output a summary reads, after schema validation. */
interface EcrScanFindings {
  readonly imageScanStatus?: { readonly status?: string | null };
  readonly imageId?: { readonly imageDigest?: string | null };
  readonly imageScanFindings: {
    readonly findingSeverityCounts?: Record<string, number>;
    readonly imageScanCompletedAt?: string | number;
    readonly vulnerabilitySourceUpdatedAt?: string | number;
  };
}

const IMAGE_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const IMAGE_TAG = /^\w[\w.-]{0,127}$/;
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
const PURL_TYPE = /^[a-zA-Z][a-zA-Z0-9.+-]*$/;

type Json = Record<string, any>;

/**
 * A valid card in the {@link ModelCard} shape: the card as written with empty YAML values (null) and empty lists
 * dropped, metric values as decimal strings, digests as `{alg, content}`, governance parties as `{organization}` or
 * `{contact}`, property values as strings, and each dataset's `type` defaulting to `dataset`.
 */
function toModelCard(card: RawCard, packages: readonly PackageRef[], frameworkCount: number, image: ImageReference | undefined): ModelCard {
  const c = prune(card) as Json;
  if (c.model.properties) {
    c.model.properties = Object.fromEntries(Object.entries(c.model.properties).map(([k, v]) => [k, String(v)]));
  }
  for (const d of c.modelCard?.modelParameters?.datasets ?? []) {
    d.type ??= 'dataset';
    for (const x of [d, ...(d.lineage?.derivedFrom ?? [])]) {
      if (x.digest !== undefined) {
        const [alg, content] = (x.digest as string).split(':');
        x.digest = { alg: ({ sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as Json)[alg], content };
      }
    }
    for (const role of ['owners', 'stewards', 'custodians']) {
      if (d.governance?.[role]) {
        d.governance[role] = d.governance[role].map((o: Json) => (o.organization !== undefined ? { organization: o.organization } : { contact: o }));
      }
    }
  }
  for (const m of c.modelCard?.quantitativeAnalysis?.performanceMetrics ?? []) {
    m.value = decimal(m.value);
    for (const bound of ['lowerBound', 'upperBound']) {
      if (m.confidenceInterval?.[bound] !== undefined) {
        m.confidenceInterval[bound] = decimal(m.confidenceInterval[bound]);
      }
    }
  }
  return {
    model: c.model,
    ...(c.modelCard !== undefined ? { modelCard: c.modelCard } : {}),
    frameworks: packages.slice(0, frameworkCount),
    dependencies: packages.slice(frameworkCount),
    ...(image ? { servingImage: image } : {}),
  };
}

/** A deep copy without null or undefined fields and without empty lists. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) {
    return v.map(prune);
  }
  if (!isObject(v)) {
    return v;
  }
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    const y = prune(x);
    if (y !== null && y !== undefined && !(Array.isArray(y) && y.length === 0)) {
      out[k] = y;
    }
  }
  return out;
}

/** Metric values: numbers become decimal strings; numeric strings are kept as written (trimmed). */
function decimal(v: unknown): string {
  return typeof v === 'number' ? String(v) : String(v).trim();
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A package spec: NAME@VERSION (PyPI) or a package URL; or, in a card, {name, group, version, purl}. */
function packageSpec(issues: ModelCardIssue[], v: unknown, p: string): PackageRef | undefined {
  if (typeof v !== 'string') {
    const o = v as Json;
    const purl = typeof o.purl === 'string' && parsePurl(issues, o.purl, `${p}.purl`) ? o.purl : undefined;
    return compact({ name: o.name as string, group: typeof o.group === 'string' ? o.group : undefined, version: o.version as string, purl });
  }
  const s = v.trim();
  if (s.startsWith('pkg:')) {
    return parsePurl(issues, s, p);
  }
  const at = s.lastIndexOf('@');
  const name = at > 0 ? s.slice(0, at) : '';
  const version = at > 0 ? s.slice(at + 1) : '';
  if (!name || !version || /\s/.test(s) || name.includes('/')) {
    issues.push({ path: p, message: `is ${JSON.stringify(v)}; expected NAME@VERSION (a PyPI package, e.g. "torch@2.3.0") or a package URL such as "pkg:npm/onnxruntime-node@1.18.0"` });
    return undefined;
  }
  // PyPI names are case-insensitive and treat runs of -, _ and . alike; the purl spec normalizes them so.
  const purlName = name.toLowerCase().replace(/[-_.]+/g, '-');
  return { name, version, purl: `pkg:pypi/${encodeURIComponent(purlName)}@${encodeURIComponent(version)}` };
}

/** Checks a package URL's shape (`pkg:TYPE/[NAMESPACE/]NAME@VERSION[?QUALIFIERS][#SUBPATH]`) and reads it. */
function parsePurl(issues: ModelCardIssue[], s: string, p: string): PackageRef | undefined {
  const bad = (why: string) => {
    issues.push({ path: p, message: `is ${JSON.stringify(s)}; ${why} (package URL form: pkg:TYPE/[NAMESPACE/]NAME@VERSION, e.g. "pkg:pypi/torch@2.3.0")` });
    return undefined;
  };
  if (/\s/.test(s)) {
    return bad('a package URL has no spaces');
  }
  let rest = s.slice('pkg:'.length).replace(/^\/+/, '');
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    rest = rest.slice(0, q);
  }
  const segments = rest.split('/');
  const type = segments.shift() ?? '';
  if (!PURL_TYPE.test(type)) {
    return bad(`"${type}" is not a package type`);
  }
  if (segments.length === 0 || segments.some((seg) => seg === '')) {
    return bad('it has no package name');
  }
  const last = segments.pop()!;
  const at = last.lastIndexOf('@');
  if (at <= 0 || at === last.length - 1) {
    return bad('it has no @VERSION; an SBOM must record the exact version');
  }
  let name: string;
  let version: string;
  let group: string | undefined;
  try {
    name = decodeURIComponent(last.slice(0, at));
    version = decodeURIComponent(last.slice(at + 1));
    group = segments.length > 0 ? segments.map((seg) => decodeURIComponent(seg)).join('/') : undefined;
  } catch {
    return bad('it has an invalid %-escape');
  }
  return compact({ name, group, version, purl: s }) as PackageRef;
}

function imageReference(issues: ModelCardIssue[], ref: string, p: string): ImageReference | undefined {
  const bad = (why: string) => {
    issues.push({ path: p, message: `is ${JSON.stringify(ref)}; ${why} (expected [REGISTRY/]REPOSITORY[:TAG]@sha256:<64 lower-case hex>)` });
    return undefined;
  };
  const at = ref.indexOf('@');
  if (at < 0) {
    return bad('it is not pinned by digest; tags move, so the SBOM names the image by its digest');
  }
  const digestPart = ref.slice(at + 1);
  if (hexOfPrefixedDigest(digestPart) === undefined) {
    return bad(`the digest "${digestPart}" is not sha256 followed by 64 lower-case hex characters`);
  }
  let name = ref.slice(0, at);
  let tag: string | undefined;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!IMAGE_TAG.test(tag)) {
      return bad(`the tag "${tag}" is not a valid tag`);
    }
  }
  const parts = name.split('/');
  let registry: string | undefined;
  // As Docker decides: the first component is a registry when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift();
    if (!REGISTRY.test(registry!)) {
      return bad(`"${registry}" is not a registry host`);
    }
  }
  if (parts.length === 0 || parts.some((seg) => !IMAGE_COMPONENT.test(seg))) {
    return bad('the repository must be lower-case path components of letters, digits and separators');
  }
  return compact({ repository: name, registry, tag, digest: digestPart, reference: ref }) as ImageReference;
}

/** AWS CLI JSON writes timestamps as RFC 3339 strings; SDK dumps write epoch seconds. Both become ISO 8601 (UTC). */
function timestamp(issues: ModelCardIssue[], v: unknown, p: string): string | undefined {
  if (v === undefined) {
    return undefined;
  }
  try {
    return (typeof v === 'number' ? new Date(v * 1000) : parseRfc3339(v, p)).toISOString();
  } catch {
    issues.push({ path: p, message: `is ${JSON.stringify(v)}; expected an RFC 3339 timestamp or epoch seconds` });
    return undefined;
  }
}

function describe(v: unknown): string {
  if (v === undefined) {
    return 'missing';
  }
  if (v === null) {
    return 'null';
  }
  if (Array.isArray(v)) {
    return 'a list';
  }
  return typeof v === 'object' ? 'an object' : `${typeof v === 'number' ? 'the number' : `a ${typeof v}`} ${JSON.stringify(v)}`;
}

/** Drops undefined fields and empty lists, so optional inputs leave no empty keys in the BOM. */
export function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) {
      out[k] = v;
    }
  }
  return out as T;
}
