/**
 * The inputs of an AI SBOM: the model card file (YAML or JSON), package specs (`torch@2.3.0`, package URLs), the
 * serving image reference and an Amazon ECR scan summary — each parsed strictly, with errors that name the field.
 *
 * The card's `modelCard` block mirrors the CycloneDX 1.6 `modelCard` object field for field, so an error path such
 * as `modelCard.quantitativeAnalysis.performanceMetrics[0].value` reads the same in the card and in the BOM.
 * Datasets are the one deliberate extension: CycloneDX inline dataset objects cannot carry a version, hashes or
 * lineage, so the card describes each dataset fully and the BOM turns it into a `data` component (see cyclonedx.ts).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../codec/errors';

/** The `apiVersion` a model card must declare. */
export const MODEL_CARD_API_VERSION = 'modelseal.dev/v1';
/** The `kind` a model card must declare. */
export const MODEL_CARD_KIND = 'ModelCard';
/** Model card files larger than this are refused before parsing: a card is prose and numbers, never megabytes. */
export const MAX_MODEL_CARD_BYTES = 4 * 1024 * 1024;

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
 * Validates parsed model card data.
 *
 * Unknown fields are errors (a misspelt field would otherwise silently drop out of a signed attestation), and every
 * problem is collected, so one run reports them all.
 *
 * @param heading starts the error message, e.g. `model card card.yaml is invalid`
 * @throws ModelCardError listing every invalid field with its path
 */
export function parseModelCard(doc: unknown, heading = 'model card is invalid'): ModelCard {
  const c = new Checker();
  const root = c.object(doc, '', ['apiVersion', 'kind', 'model', 'modelCard', 'frameworks', 'dependencies', 'servingImage'], ['apiVersion', 'kind', 'model']);
  if (!root) {
    throw new ModelCardError(heading, c.issues);
  }
  if (root.apiVersion !== undefined && root.apiVersion !== MODEL_CARD_API_VERSION) {
    c.fail('apiVersion', `is ${JSON.stringify(root.apiVersion)}; expected "${MODEL_CARD_API_VERSION}"`);
  }
  if (root.kind !== undefined && root.kind !== MODEL_CARD_KIND) {
    c.fail('kind', `is ${JSON.stringify(root.kind)}; expected "${MODEL_CARD_KIND}"`);
  }
  const model = root.model === undefined || root.model === null ? undefined : checkModel(c, root.model, 'model');
  const modelCard = root.modelCard === undefined ? undefined : checkCardBody(c, root.modelCard, 'modelCard');
  const frameworks = c.list(root.frameworks, 'frameworks', (v, p) => packageSpec(c, v, p)) ?? [];
  const dependencies = c.list(root.dependencies, 'dependencies', (v, p) => packageSpec(c, v, p)) ?? [];
  let servingImage: ImageReference | undefined;
  if (root.servingImage !== undefined) {
    const ref = c.string(root.servingImage, 'servingImage');
    if (ref !== undefined) {
      servingImage = imageReference(c, ref, 'servingImage');
    }
  }
  if (c.issues.length > 0 || !model) {
    throw new ModelCardError(heading, c.issues);
  }
  return {
    model,
    ...(modelCard ? { modelCard } : {}),
    frameworks: frameworks.filter(isDefined),
    dependencies: dependencies.filter(isDefined),
    ...(servingImage ? { servingImage } : {}),
  };
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
  const c = new Checker();
  const ref = packageSpec(c, spec, what);
  if (!ref) {
    throw new ModelCardError('invalid package', c.issues);
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
  const c = new Checker();
  const image = imageReference(c, ref, what);
  if (!image) {
    throw new ModelCardError('invalid image reference', c.issues);
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
  const c = new Checker();
  const summary = scanSummary(c, doc);
  if (!summary || c.issues.length > 0) {
    throw new ModelCardError(`${source} is invalid`, c.issues);
  }
  return summary;
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

/** The severities ECR reports; each always appears in a summary. */
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational', 'undefined'] as const;
/** Scan states whose counts are final: basic scanning ends in COMPLETE, enhanced (continuous) scanning is ACTIVE. */
const FINISHED_SCAN_STATES = ['COMPLETE', 'ACTIVE'];

const NUMERIC = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const DIGEST = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const URI = /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** An image path component, as the OCI distribution spec defines it. */
const IMAGE_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const IMAGE_TAG = /^\w[\w.-]{0,127}$/;
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
const PURL_TYPE = /^[a-zA-Z][a-zA-Z0-9.+-]*$/;

function checkModel(c: Checker, v: unknown, p: string): ModelInfo | undefined {
  const o = c.object(v, p, ['name', 'version', 'description', 'publisher', 'license', 'purl', 'authors', 'externalReferences', 'tags', 'properties'], ['name', 'version']);
  if (!o) {
    return undefined;
  }
  const name = c.string(o.name, `${p}.name`, 'the model\'s name, e.g. "fraud-detector"');
  const version = c.string(o.version, `${p}.version`, 'the model\'s version, e.g. "3.2.0" (quote it in YAML so it stays a string)');
  let purl: string | undefined;
  if (o.purl !== undefined) {
    const s = c.string(o.purl, `${p}.purl`);
    if (s !== undefined && parsePurl(c, s, `${p}.purl`)) {
      purl = s;
    }
  }
  let properties: Record<string, string> | undefined;
  if (o.properties !== undefined) {
    const props = c.object(o.properties, `${p}.properties`);
    if (props) {
      properties = {};
      for (const [k, val] of Object.entries(props)) {
        if (typeof val === 'string' || typeof val === 'boolean' || (typeof val === 'number' && Number.isFinite(val))) {
          properties[k] = String(val);
        } else {
          c.fail(`${p}.properties.${k}`, `is ${describe(val)}; expected a string, number or boolean`);
        }
      }
    }
  }
  // Every field is checked before deciding, so one run reports all of the block's problems.
  const info = compact({
    name,
    version,
    description: c.optString(o.description, `${p}.description`),
    publisher: c.optString(o.publisher, `${p}.publisher`),
    license: c.optString(o.license, `${p}.license`),
    purl,
    authors: c.list(o.authors, `${p}.authors`, (a, ap) => contact(c, a, ap))?.filter(isDefined),
    externalReferences: c.list(o.externalReferences, `${p}.externalReferences`, (r, rp) => externalReference(c, r, rp))?.filter(isDefined),
    tags: c.stringList(o.tags, `${p}.tags`),
    properties,
  });
  return name === undefined || version === undefined ? undefined : info as ModelInfo;
}

function checkCardBody(c: Checker, v: unknown, p: string): ModelCardBody | undefined {
  const o = c.object(v, p, ['modelParameters', 'quantitativeAnalysis', 'considerations']);
  if (!o) {
    return undefined;
  }
  return compact({
    modelParameters: o.modelParameters === undefined ? undefined : modelParameters(c, o.modelParameters, `${p}.modelParameters`),
    quantitativeAnalysis: o.quantitativeAnalysis === undefined ? undefined : quantitativeAnalysis(c, o.quantitativeAnalysis, `${p}.quantitativeAnalysis`),
    considerations: o.considerations === undefined ? undefined : considerations(c, o.considerations, `${p}.considerations`),
  });
}

function modelParameters(c: Checker, v: unknown, p: string): ModelParameters | undefined {
  const o = c.object(v, p, ['approach', 'task', 'architectureFamily', 'modelArchitecture', 'datasets', 'inputs', 'outputs']);
  if (!o) {
    return undefined;
  }
  let approach: { type: string } | undefined;
  if (o.approach !== undefined) {
    const a = c.object(o.approach, `${p}.approach`, ['type'], ['type']);
    const t = a ? c.enumOf(a.type, `${p}.approach.type`, LEARNING_APPROACHES) : undefined;
    approach = t === undefined ? undefined : { type: t };
  }
  const datasets = c.list(o.datasets, `${p}.datasets`, (d, dp) => dataset(c, d, dp))?.filter(isDefined);
  const seen = new Map<string, number>();
  datasets?.forEach((d, i) => {
    const key = `${d.name}@${d.version ?? ''}`;
    if (seen.has(key)) {
      c.fail(`${p}.datasets[${i}]`, `repeats dataset "${d.name}"${d.version ? ` version "${d.version}"` : ''} (also datasets[${seen.get(key)}]); list each dataset once`);
    }
    seen.set(key, i);
  });
  const io = (x: unknown, xp: string) => c.list(x, xp, (f, fp) => {
    const fo = c.object(f, fp, ['format'], ['format']);
    const format = fo ? c.string(fo.format, `${fp}.format`, 'e.g. "text/plain" or "image/jpeg, 224x224 RGB"') : undefined;
    return format === undefined ? undefined : { format };
  })?.filter(isDefined);
  return compact({
    approach,
    task: c.optString(o.task, `${p}.task`),
    architectureFamily: c.optString(o.architectureFamily, `${p}.architectureFamily`),
    modelArchitecture: c.optString(o.modelArchitecture, `${p}.modelArchitecture`),
    datasets,
    inputs: io(o.inputs, `${p}.inputs`),
    outputs: io(o.outputs, `${p}.outputs`),
  });
}

function dataset(c: Checker, v: unknown, p: string): Dataset | undefined {
  const o = c.object(v, p, ['name', 'version', 'type', 'description', 'purpose', 'digest', 'url', 'classification', 'sensitiveData', 'governance', 'lineage'], ['name']);
  if (!o) {
    return undefined;
  }
  // Fields are checked in document order and all of them, even when the name is missing.
  const fields = {
    name: c.string(o.name, `${p}.name`, 'the dataset\'s name'),
    version: c.optString(o.version, `${p}.version`),
    type: o.type === undefined ? 'dataset' : c.enumOf(o.type, `${p}.type`, DATA_TYPES) ?? 'dataset',
    description: c.optString(o.description, `${p}.description`),
    purpose: o.purpose === undefined ? undefined : c.enumOf(o.purpose, `${p}.purpose`, DATASET_PURPOSES),
    digest: digest(c, o.digest, `${p}.digest`),
    url: uri(c, o.url, `${p}.url`),
    classification: c.optString(o.classification, `${p}.classification`),
    sensitiveData: c.stringList(o.sensitiveData, `${p}.sensitiveData`),
    governance: undefined as DatasetGovernance | undefined,
    lineage: undefined as DatasetLineage | undefined,
  };
  if (o.governance !== undefined) {
    const g = c.object(o.governance, `${p}.governance`, ['owners', 'stewards', 'custodians']);
    if (g) {
      const parties = (x: unknown, xp: string) => c.list(x, xp, (e, ep) => governanceParty(c, e, ep))?.filter(isDefined);
      fields.governance = compact({
        owners: parties(g.owners, `${p}.governance.owners`),
        stewards: parties(g.stewards, `${p}.governance.stewards`),
        custodians: parties(g.custodians, `${p}.governance.custodians`),
      });
    }
  }
  if (o.lineage !== undefined) {
    const l = c.object(o.lineage, `${p}.lineage`, ['derivedFrom', 'notes']);
    if (l) {
      fields.lineage = compact({
        derivedFrom: c.list(l.derivedFrom, `${p}.lineage.derivedFrom`, (a, ap) => {
          const ao = c.object(a, ap, ['name', 'version', 'digest', 'url'], ['name']);
          if (!ao) {
            return undefined;
          }
          const ancestor = compact({
            name: c.string(ao.name, `${ap}.name`, 'the upstream dataset\'s name'),
            version: c.optString(ao.version, `${ap}.version`),
            digest: digest(c, ao.digest, `${ap}.digest`),
            url: uri(c, ao.url, `${ap}.url`),
          });
          return ancestor.name === undefined ? undefined : ancestor as DatasetAncestor;
        })?.filter(isDefined),
        notes: c.optString(l.notes, `${p}.lineage.notes`),
      });
    }
  }
  return fields.name === undefined ? undefined : compact(fields) as Dataset;
}

function governanceParty(c: Checker, v: unknown, p: string): GovernanceParty | undefined {
  const o = c.object(v, p, ['organization', 'name', 'email']);
  if (!o) {
    return undefined;
  }
  if (o.organization !== undefined) {
    if (o.name !== undefined || o.email !== undefined) {
      c.fail(p, 'gives both organization and name/email; a party is either an organization or a person');
      return undefined;
    }
    const org = c.string(o.organization, `${p}.organization`);
    return org === undefined ? undefined : { organization: org };
  }
  if (o.name === undefined && o.email === undefined) {
    c.fail(p, 'is empty; expected {organization: NAME} or a person {name, email}');
    return undefined;
  }
  const person = contact(c, { name: o.name, email: o.email }, p);
  return person ? { contact: person } : undefined;
}

function quantitativeAnalysis(c: Checker, v: unknown, p: string): ModelCardBody['quantitativeAnalysis'] {
  const o = c.object(v, p, ['performanceMetrics']);
  if (!o) {
    return undefined;
  }
  return compact({
    performanceMetrics: c.list(o.performanceMetrics, `${p}.performanceMetrics`, (m, mp) => {
      const mo = c.object(m, mp, ['type', 'value', 'slice', 'confidenceInterval'], ['type', 'value']);
      if (!mo) {
        return undefined;
      }
      const type = c.string(mo.type, `${mp}.type`, 'the metric\'s name, e.g. "accuracy" or "f1"');
      const value = numeric(c, mo.value, `${mp}.value`);
      let interval: PerformanceMetric['confidenceInterval'];
      if (mo.confidenceInterval !== undefined) {
        const ci = c.object(mo.confidenceInterval, `${mp}.confidenceInterval`, ['lowerBound', 'upperBound']);
        if (ci) {
          interval = compact({
            lowerBound: ci.lowerBound === undefined ? undefined : numeric(c, ci.lowerBound, `${mp}.confidenceInterval.lowerBound`),
            upperBound: ci.upperBound === undefined ? undefined : numeric(c, ci.upperBound, `${mp}.confidenceInterval.upperBound`),
          });
        }
      }
      if (type === undefined || value === undefined) {
        return undefined;
      }
      return compact({ type, value, slice: c.optString(mo.slice, `${mp}.slice`), confidenceInterval: interval }) as PerformanceMetric;
    })?.filter(isDefined),
  });
}

function considerations(c: Checker, v: unknown, p: string): Considerations | undefined {
  const o = c.object(v, p, ['users', 'useCases', 'technicalLimitations', 'performanceTradeoffs', 'ethicalConsiderations', 'fairnessAssessments']);
  if (!o) {
    return undefined;
  }
  const strings = (obj: Record<string, unknown>, fields: string[], op: string) => {
    const out: Record<string, string | undefined> = {};
    for (const f of fields) {
      out[f] = c.optString(obj[f], `${op}.${f}`);
    }
    return compact(out);
  };
  return compact({
    users: c.stringList(o.users, `${p}.users`),
    useCases: c.stringList(o.useCases, `${p}.useCases`),
    technicalLimitations: c.stringList(o.technicalLimitations, `${p}.technicalLimitations`),
    performanceTradeoffs: c.stringList(o.performanceTradeoffs, `${p}.performanceTradeoffs`),
    ethicalConsiderations: c.list(o.ethicalConsiderations, `${p}.ethicalConsiderations`, (e, ep) => {
      const fields = ['name', 'mitigationStrategy'];
      const eo = c.object(e, ep, fields);
      return eo ? strings(eo, fields, ep) : undefined;
    })?.filter(isDefined),
    fairnessAssessments: c.list(o.fairnessAssessments, `${p}.fairnessAssessments`, (e, ep) => {
      const fields = ['groupAtRisk', 'benefits', 'harms', 'mitigationStrategy'];
      const eo = c.object(e, ep, fields);
      return eo ? strings(eo, fields, ep) : undefined;
    })?.filter(isDefined),
  });
}

function contact(c: Checker, v: unknown, p: string): Contact | undefined {
  const o = c.object(v, p, ['name', 'email']);
  if (!o) {
    return undefined;
  }
  const email = c.optString(o.email, `${p}.email`);
  if (email !== undefined && !EMAIL.test(email)) {
    c.fail(`${p}.email`, `is ${JSON.stringify(email)}; expected an email address such as "ml-team@example.com"`);
  }
  const name = c.optString(o.name, `${p}.name`);
  if (name === undefined && email === undefined) {
    c.fail(p, 'needs a name or an email');
    return undefined;
  }
  return compact({ name, email });
}

function externalReference(c: Checker, v: unknown, p: string): ExternalReference | undefined {
  const o = c.object(v, p, ['type', 'url', 'comment'], ['type', 'url']);
  if (!o) {
    return undefined;
  }
  const type = c.enumOf(o.type, `${p}.type`, EXTERNAL_REFERENCE_TYPES);
  const url = uri(c, o.url, `${p}.url`);
  const comment = c.optString(o.comment, `${p}.comment`);
  return type === undefined || url === undefined ? undefined : compact({ type, url, comment }) as ExternalReference;
}

/** Metric values: JSON/YAML numbers, or strings that are plain decimal numbers (so a policy can `double()` them). */
function numeric(c: Checker, v: unknown, p: string): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      c.fail(p, `is ${v}; must be a finite number`);
      return undefined;
    }
    return String(v);
  }
  if (typeof v === 'string' && NUMERIC.test(v.trim())) {
    return v.trim();
  }
  c.fail(p, `must be a number or numeric string (e.g. 0.94 or "0.94"); got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return undefined;
}

function digest(c: Checker, v: unknown, p: string): Digest | undefined {
  if (v === undefined) {
    return undefined;
  }
  const s = c.string(v, p);
  if (s === undefined) {
    return undefined;
  }
  const m = DIGEST.exec(s);
  if (!m || m[2].length !== DIGEST_LENGTHS[m[1]]) {
    c.fail(p, `is ${JSON.stringify(s)}; expected ALGORITHM:HEX with sha256 (64 hex), sha384 (96) or sha512 (128) in lower case, e.g. "sha256:9f86d0..."`);
    return undefined;
  }
  const alg = ({ sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const)[m[1] as 'sha256' | 'sha384' | 'sha512'];
  return { alg, content: m[2] };
}

function uri(c: Checker, v: unknown, p: string): string | undefined {
  if (v === undefined) {
    return undefined;
  }
  const s = c.string(v, p);
  if (s !== undefined && !URI.test(s)) {
    c.fail(p, `is ${JSON.stringify(s)}; expected an absolute URI such as "s3://bucket/prefix/" or "https://..."`);
    return undefined;
  }
  return s;
}

function packageSpec(c: Checker, v: unknown, p: string): PackageRef | undefined {
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('pkg:')) {
      return parsePurl(c, s, p);
    }
    const at = s.lastIndexOf('@');
    const name = at > 0 ? s.slice(0, at) : '';
    const version = at > 0 ? s.slice(at + 1) : '';
    if (!name || !version || /\s/.test(s) || name.includes('/')) {
      c.fail(p, `is ${JSON.stringify(v)}; expected NAME@VERSION (a PyPI package, e.g. "torch@2.3.0") or a package URL such as "pkg:npm/onnxruntime-node@1.18.0"`);
      return undefined;
    }
    // PyPI names are case-insensitive and treat runs of -, _ and . alike; the purl spec normalizes them so.
    const purlName = name.toLowerCase().replace(/[-_.]+/g, '-');
    return { name, version, purl: `pkg:pypi/${encodeURIComponent(purlName)}@${encodeURIComponent(version)}` };
  }
  const o = c.object(v, p, ['name', 'group', 'version', 'purl'], ['name', 'version']);
  if (!o) {
    return undefined;
  }
  const name = c.string(o.name, `${p}.name`);
  const version = c.string(o.version, `${p}.version`);
  const group = c.optString(o.group, `${p}.group`);
  let purl: string | undefined;
  if (o.purl !== undefined) {
    const s = c.string(o.purl, `${p}.purl`);
    if (s !== undefined && parsePurl(c, s, `${p}.purl`)) {
      purl = s;
    }
  }
  return name === undefined || version === undefined ? undefined : compact({ name, group, version, purl }) as PackageRef;
}

/** Checks a package URL's shape (`pkg:TYPE/[NAMESPACE/]NAME@VERSION[?QUALIFIERS][#SUBPATH]`) and reads it. */
function parsePurl(c: Checker, s: string, p: string): PackageRef | undefined {
  const bad = (why: string) => {
    c.fail(p, `is ${JSON.stringify(s)}; ${why} (package URL form: pkg:TYPE/[NAMESPACE/]NAME@VERSION, e.g. "pkg:pypi/torch@2.3.0")`);
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

function imageReference(c: Checker, ref: string, p: string): ImageReference | undefined {
  const bad = (why: string) => {
    c.fail(p, `is ${JSON.stringify(ref)}; ${why} (expected [REGISTRY/]REPOSITORY[:TAG]@sha256:<64 lower-case hex>)`);
    return undefined;
  };
  const at = ref.indexOf('@');
  if (at < 0) {
    return bad('it is not pinned by digest; tags move, so the SBOM names the image by its digest');
  }
  const digestPart = ref.slice(at + 1);
  if (!/^sha256:[0-9a-f]{64}$/.test(digestPart)) {
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

function scanSummary(c: Checker, doc: unknown): ScanSummary | undefined {
  const o = c.object(doc, '', undefined, ['imageScanFindings']);
  if (!o) {
    return undefined;
  }
  let status: string | undefined;
  if (o.imageScanStatus !== undefined) {
    const st = c.object(o.imageScanStatus, 'imageScanStatus');
    status = st ? c.optString(st.status, 'imageScanStatus.status') : undefined;
    if (status !== undefined && !FINISHED_SCAN_STATES.includes(status)) {
      c.fail('imageScanStatus.status', `is ${JSON.stringify(status)}; the scan has not completed (expected ${FINISHED_SCAN_STATES.join(' or ')}), so its counts cannot be attested`);
    }
  }
  let imageDigest: string | undefined;
  if (o.imageId !== undefined) {
    const id = c.object(o.imageId, 'imageId');
    imageDigest = id ? c.optString(id.imageDigest, 'imageId.imageDigest') : undefined;
  }
  const findings = o.imageScanFindings === undefined ? undefined : c.object(o.imageScanFindings, 'imageScanFindings');
  if (!findings) {
    return undefined;
  }
  const counts: Record<string, number> = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  if (findings.findingSeverityCounts !== undefined) {
    const fc = c.object(findings.findingSeverityCounts, 'imageScanFindings.findingSeverityCounts');
    for (const [sev, n] of Object.entries(fc ?? {})) {
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
        c.fail(`imageScanFindings.findingSeverityCounts.${sev}`, `is ${JSON.stringify(n)}; expected a non-negative integer`);
        continue;
      }
      counts[sev.toLowerCase()] = (counts[sev.toLowerCase()] ?? 0) + n;
    }
  }
  return compact({
    source: 'aws-ecr',
    status,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    completedAt: timestamp(c, findings.imageScanCompletedAt, 'imageScanFindings.imageScanCompletedAt'),
    vulnerabilitySourceUpdatedAt: timestamp(c, findings.vulnerabilitySourceUpdatedAt, 'imageScanFindings.vulnerabilitySourceUpdatedAt'),
    imageDigest,
  }) as ScanSummary;
}

/** AWS CLI JSON writes timestamps as ISO 8601 strings; SDK dumps write epoch seconds. Both become ISO 8601. */
function timestamp(c: Checker, v: unknown, p: string): string | undefined {
  if (v === undefined) {
    return undefined;
  }
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) {
    c.fail(p, `is ${JSON.stringify(v)}; expected an ISO 8601 timestamp or epoch seconds`);
    return undefined;
  }
  return new Date(ms).toISOString();
}

/** Collects issues while walking a document; every check returns undefined on failure and records why. */
class Checker {
  public readonly issues: ModelCardIssue[] = [];

  public fail(p: string, message: string): void {
    this.issues.push({ path: p || '(document)', message });
  }

  /**
   * Checks for a plain object; with `fields`, refuses unknown keys; with `required`, reports missing ones.
   * Required fields that are present but invalid are left to the caller.
   */
  public object(v: unknown, p: string, fields?: readonly string[], required: readonly string[] = []): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(p, `is ${describe(v)}; expected ${fields ? `an object with ${fields.join(', ')}` : 'an object'}`);
      return undefined;
    }
    const o = v as Record<string, unknown>;
    if (fields) {
      for (const k of Object.keys(o)) {
        if (!fields.includes(k)) {
          this.fail(join(p, k), `is not a known field; valid fields here: ${fields.join(', ')}`);
        }
      }
    }
    for (const k of required) {
      if (o[k] === undefined || o[k] === null) {
        this.fail(join(p, k), 'is required');
      }
    }
    return o;
  }

  /** A non-empty string; `hint` explains what is expected. Missing values were reported by {@link object}. */
  public string(v: unknown, p: string, hint?: string): string | undefined {
    if (v === undefined || v === null) {
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(p, `is ${typeof v === 'string' ? 'empty' : describe(v)}; expected a non-empty string${hint ? ` (${hint})` : ''}`);
      return undefined;
    }
    return v;
  }

  public optString(v: unknown, p: string): string | undefined {
    return this.string(v, p);
  }

  public enumOf<T extends string>(v: unknown, p: string, values: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(p, `is ${v === undefined ? 'missing' : JSON.stringify(v)}; expected one of ${values.join(', ')}`);
      return undefined;
    }
    return v as T;
  }

  public list<T>(v: unknown, p: string, item: (x: unknown, ip: string) => T | undefined): (T | undefined)[] | undefined {
    if (v === undefined) {
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.fail(p, `is ${describe(v)}; expected a list`);
      return undefined;
    }
    return v.map((x, i) => item(x, `${p}[${i}]`));
  }

  public stringList(v: unknown, p: string): string[] | undefined {
    return this.list(v, p, (x, ip) => this.string(x, ip))?.filter(isDefined);
  }
}

function join(p: string, k: string): string {
  return p ? `${p}.${k}` : k;
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

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
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
