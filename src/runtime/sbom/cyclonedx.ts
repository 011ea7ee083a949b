/**
 * The CycloneDX 1.6 ML-BOM of a model: built from a validated model card plus what the pipeline knows (root digest,
 * frameworks, dependencies, serving image, scan summary), then validated against the CycloneDX 1.6 JSON schema.
 *
 * Validation uses ajv directly on the schema files that ship with @cyclonedx/cyclonedx-library, loaded with
 * literal `require` paths so esbuild inlines them into the CLI bundle. The library's own `JsonValidator` is not
 * used: it reads the schemas from disk next to its own module at run time (absent from a bundle) and needs the
 * optional ajv-formats-draft2019 package. The ajv setup below mirrors the library's (same options, same formats).
 */
import { randomUUID } from 'crypto';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import addFormats from 'ajv-formats';
import { compact } from './model-card';
import type { Dataset, DatasetAncestor, Digest, GovernanceParty, ImageReference, ModelCard, PackageRef, ScanSummary } from './model-card';
import { isHexDigest } from '../codec/digest';
import { UsageError } from '../codec/errors';

/** The CycloneDX specification version every ModelSeal BOM declares. */
export const CYCLONEDX_SPEC_VERSION = '1.6';
/** Prefix of every property ModelSeal adds (CycloneDX property names are namespaced by convention). */
export const PROPERTY_PREFIX = 'modelseal:';

/** A CycloneDX BOM as JSON data. */
export type CycloneDxBom = Record<string, unknown>;

/** Inputs of {@link buildBom}. */
export interface BomOptions {
  /** The validated model card. */
  readonly card: ModelCard;
  /** The OMS root digest of the model (64 lower-case hex), recorded as the model component's SHA-256 hash. */
  readonly rootDigest: string;
  /** Frameworks besides the card's (e.g. from `--framework`). @default - none */
  readonly frameworks?: readonly PackageRef[];
  /** Dependencies besides the card's (e.g. from `--dependency`). @default - none */
  readonly dependencies?: readonly PackageRef[];
  /** The serving image; replaces the card's `servingImage`, since the pipeline knows the image it built. @default - the card's */
  readonly servingImage?: ImageReference;
  /** Vulnerability counts of the serving image. Needs a serving image. @default - none */
  readonly scanSummary?: ScanSummary;
  /** ModelSeal's version, recorded in `metadata.tools`. @default '0.0.0' */
  readonly toolVersion?: string;
  /** `metadata.timestamp`. @default - now */
  readonly timestamp?: Date;
  /** `serialNumber` (`urn:uuid:...`). @default - a random UUID */
  readonly serialNumber?: string;
}

/** One schema violation, located in the BOM. */
export interface BomIssue {
  /** Path into the BOM, e.g. `metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value`. */
  readonly path: string;
  /** The schema's complaint. */
  readonly message: string;
}

/** The generated BOM does not conform to the CycloneDX 1.6 JSON schema; it was not signed. */
export class BomValidationError extends UsageError {
  /** The violations found (the most specific ones, at most ten). */
  public readonly issues: readonly BomIssue[];

  /** @param issues the violations */
  public constructor(issues: readonly BomIssue[]) {
    super(`the BOM does not validate against the CycloneDX ${CYCLONEDX_SPEC_VERSION} JSON schema, so it was not signed:\n` +
      issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n'));
    this.issues = issues;
  }
}

/**
 * Builds the CycloneDX 1.6 ML-BOM.
 *
 * - `metadata.component`: the model, type `machine-learning-model`, its SHA-256 hash the OMS root digest, with the
 *   card's `modelCard` (datasets become `{ref}`s to the `data` components below);
 * - `components`: one `data` component per dataset (version, hashes, location, governance, lineage as `pedigree`),
 *   `framework` and `library` components with package URLs, and the serving image as a `container` whose
 *   properties carry the scan summary (`modelseal:scan:critical`, ...);
 * - `dependencies`: the model depends on its frameworks and libraries.
 *
 * The result is not validated here; call {@link validateBom}.
 *
 * @throws UsageError when the inputs contradict each other (a scan of another image, one package at two versions)
 */
export function buildBom(opts: BomOptions): CycloneDxBom {
  const { card } = opts;
  if (!isHexDigest(opts.rootDigest)) {
    throw new UsageError(`root digest ${JSON.stringify(opts.rootDigest)} is not 64 lower-case hex characters`);
  }
  const model = card.model;
  const modelRef = `model:${model.name}@${model.version}`;
  const datasets = card.modelCard?.modelParameters?.datasets ?? [];
  const dataComponents = datasets.map((d) => datasetComponent(d));

  const frameworks = mergePackages('framework', [...card.frameworks, ...(opts.frameworks ?? [])]);
  const frameworkKeys = new Set(frameworks.map(packageKey));
  const libraries = mergePackages('dependency', [...card.dependencies, ...(opts.dependencies ?? [])])
    .filter((p) => !frameworkKeys.has(packageKey(p)));
  const packageComponents = [
    ...frameworks.map((p) => packageComponent('framework', p)),
    ...libraries.map((p) => packageComponent('library', p)),
  ];

  const image = opts.servingImage ?? card.servingImage;
  if (opts.scanSummary && !image) {
    throw new UsageError('a scan summary was given without a serving image; pass --serving-image REPOSITORY@sha256:<digest> (the image that was scanned)');
  }
  if (opts.scanSummary?.imageDigest !== undefined && image && opts.scanSummary.imageDigest !== image.digest) {
    throw new UsageError(
      `the scan summary is for image ${opts.scanSummary.imageDigest}, not the serving image ${image.digest}; scan the image that serves the model`);
  }
  const containerComponents = image ? [imageComponent(image, opts.scanSummary)] : [];

  const body = card.modelCard;
  const params = body?.modelParameters;
  const modelCard = compact({
    modelParameters: params ? compact({
      approach: params.approach,
      task: params.task,
      architectureFamily: params.architectureFamily,
      modelArchitecture: params.modelArchitecture,
      datasets: dataComponents.map((dc) => ({ ref: dc['bom-ref'] })),
      inputs: params.inputs,
      outputs: params.outputs,
    }) : undefined,
    quantitativeAnalysis: body?.quantitativeAnalysis,
    considerations: body?.considerations,
  });

  const modelComponent = compact({
    'type': 'machine-learning-model',
    'bom-ref': modelRef,
    'publisher': model.publisher,
    'authors': model.authors,
    'name': model.name,
    'version': model.version,
    'description': model.description,
    'hashes': [{ alg: 'SHA-256', content: opts.rootDigest }],
    'licenses': model.license ? [{ expression: model.license }] : undefined,
    'purl': model.purl,
    'externalReferences': model.externalReferences,
    'tags': model.tags,
    'properties': model.properties ? Object.entries(model.properties).map(([name, value]) => ({ name, value })) : undefined,
    'modelCard': Object.keys(modelCard).length > 0 ? modelCard : undefined,
  });

  const dependsOn = packageComponents.map((pc) => pc['bom-ref'] as string);
  // A deep copy through JSON, the form the BOM is signed in: it shares no objects with the card (editing one never
  // changes the other), and every object is a plain one of this realm (structuredClone's are not, under jest).
  return JSON.parse(JSON.stringify(compact({
    bomFormat: 'CycloneDX',
    specVersion: CYCLONEDX_SPEC_VERSION,
    serialNumber: opts.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: (opts.timestamp ?? new Date()).toISOString(),
      lifecycles: [{ phase: 'build' }],
      tools: {
        components: [{
          type: 'application',
          name: 'modelseal',
          version: opts.toolVersion ?? '0.0.0',
        }],
      },
      component: modelComponent,
    },
    components: [...dataComponents, ...packageComponents, ...containerComponents],
    dependencies: dependsOn.length > 0 ? [{ ref: modelRef, dependsOn }] : undefined,
  })));
}

/**
 * Validates a BOM against the CycloneDX 1.6 JSON schema.
 *
 * @throws BomValidationError listing the most specific violations, each with its path in the BOM
 */
export function validateBom(bom: unknown): void {
  const issues = bomSchemaIssues(bom);
  if (issues.length > 0) {
    throw new BomValidationError(issues);
  }
}

/**
 * Checks a BOM against the CycloneDX 1.6 JSON schema and returns its violations (none when valid).
 *
 * Alternatives (`oneOf`, `anyOf`) report a failure in every branch. A failure inside an alternative is dropped when
 * another failure lies deeper under the same spot, since the deeper one names the field at fault; the summary
 * `oneOf`/`anyOf` failures themselves are dropped too.
 */
export function bomSchemaIssues(bom: unknown): BomIssue[] {
  const validate = bomValidator();
  if (validate(bom)) {
    return [];
  }
  const errors = (validate.errors ?? []).filter((e) => !['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword));
  const inAlternative = (e: ErrorObject) => /\/(oneOf|anyOf)\//.test(e.schemaPath);
  const specific = errors.filter((e) => !inAlternative(e) ||
    !errors.some((o) => o.instancePath.startsWith(`${e.instancePath}/`)));
  const chosen = specific.length > 0 ? specific : validate.errors ?? [];
  const seen = new Set<string>();
  const issues: BomIssue[] = [];
  for (const e of chosen) {
    const issue = { path: pointerToPath(e.instancePath), message: errorMessage(e) };
    const key = `${issue.path} ${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues.slice(0, 10);
}

// ---------------------------------------------------------------------------------------------------------------

let cachedValidator: ValidateFunction | undefined;

/** Compiles the CycloneDX 1.6 schema once per process (about two seconds; the CLI validates one BOM per run). */
function bomValidator(): ValidateFunction {
  if (cachedValidator) {
    return cachedValidator;
  }
  // Literal paths so esbuild inlines the schemas into the CLI bundle; the package's "exports" map does not
  // expose res/, so they are reached through node_modules directly. `require` keeps TypeScript from typing
  // (and rootDir-checking) a 260 kB JSON document.
  /* eslint-disable @typescript-eslint/no-require-imports -- literal requires are what esbuild inlines */
  const bomSchema = require('../../../node_modules/@cyclonedx/cyclonedx-library/res/schema/bom-1.6.SNAPSHOT.schema.json');
  const spdxSchema = require('../../../node_modules/@cyclonedx/cyclonedx-library/res/schema/spdx.SNAPSHOT.schema.json');
  const cryptoSchema = require('../../../node_modules/@cyclonedx/cyclonedx-library/res/schema/cryptography-defs.SNAPSHOT.schema.json');
  const jsfSchema = require('../../../node_modules/@cyclonedx/cyclonedx-library/res/schema/jsf-0.82.SNAPSHOT.schema.json');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ajv = new Ajv({
    // The library's settings: never alter the data, tolerate the schema's annotation keywords, no network.
    useDefaults: false,
    strict: false,
    strictSchema: false,
    addUsedSchema: false,
    allErrors: true,
    loadSchema: (uri: string) => {
      throw new Error(`remote schemas are disabled: ${uri}`);
    },
    schemas: {
      'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': spdxSchema,
      'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json': cryptoSchema,
      'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': jsfSchema,
    },
  });
  addFormats(ajv);
  // ajv-formats has no internationalized formats. "iri-reference" has no working implementation anywhere (the
  // library also accepts any string); for "idn-email", the model card check has already vetted every email.
  ajv.addFormat('iri-reference', true);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  cachedValidator = ajv.compile(bomSchema);
  return cachedValidator;
}

function pointerToPath(pointer: string): string {
  if (pointer === '') {
    return '(BOM)';
  }
  return pointer.slice(1).split('/')
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function errorMessage(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `has unknown field "${String(p.additionalProperty)}"`;
    case 'enum':
      return `${e.message}: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? e.keyword;
  }
}

function hashes(d: Digest | undefined): { alg: string; content: string }[] | undefined {
  return d ? [{ alg: d.alg, content: d.content }] : undefined;
}

function party(p: GovernanceParty): Record<string, unknown> {
  return p.organization !== undefined ? { organization: { name: p.organization } } : { contact: p.contact };
}

function datasetComponent(d: Dataset): Record<string, unknown> {
  const location = d.url ? [{ type: 'distribution', url: d.url }] : undefined;
  const governance = d.governance ? compact({
    owners: d.governance.owners?.map(party),
    stewards: d.governance.stewards?.map(party),
    custodians: d.governance.custodians?.map(party),
  }) : undefined;
  const lineage = d.lineage;
  const pedigree = lineage ? compact({
    ancestors: lineage.derivedFrom?.map((a: DatasetAncestor) => compact({
      type: 'data',
      name: a.name,
      version: a.version,
      hashes: hashes(a.digest),
      externalReferences: a.url ? [{ type: 'distribution', url: a.url }] : undefined,
    })),
    notes: lineage.notes,
  }) : undefined;
  return compact({
    'type': 'data',
    'bom-ref': `dataset:${d.name}${d.version !== undefined ? `@${d.version}` : ''}`,
    'name': d.name,
    'version': d.version,
    'description': d.description,
    'hashes': hashes(d.digest),
    'externalReferences': location,
    'pedigree': pedigree && Object.keys(pedigree).length > 0 ? pedigree : undefined,
    'properties': d.purpose ? [{ name: `${PROPERTY_PREFIX}dataset:purpose`, value: d.purpose }] : undefined,
    'data': [compact({
      type: d.type,
      name: d.name,
      contents: d.url ? { url: d.url } : undefined,
      classification: d.classification,
      sensitiveData: d.sensitiveData,
      governance: governance && Object.keys(governance).length > 0 ? governance : undefined,
    })],
  });
}

/** Identity of a package regardless of version: its purl without the version, else group/name. */
function packageKey(p: PackageRef): string {
  if (p.purl) {
    const base = p.purl.replace(/[?#].*$/, '');
    return base.slice(0, base.lastIndexOf('@'));
  }
  return `${p.group ?? ''}/${p.name}`;
}

/** Drops exact repeats (a package in the card and on the command line) and refuses one package at two versions. */
function mergePackages(what: string, list: readonly PackageRef[]): PackageRef[] {
  const byKey = new Map<string, PackageRef>();
  for (const p of list) {
    const key = packageKey(p);
    const prev = byKey.get(key);
    if (prev && prev.version !== p.version) {
      throw new UsageError(`${what} "${p.name}" is listed at two versions, ${prev.version} and ${p.version}; an SBOM records the one version that is installed`);
    }
    if (!prev) {
      byKey.set(key, p);
    }
  }
  return [...byKey.values()];
}

function packageComponent(type: 'framework' | 'library', p: PackageRef): Record<string, unknown> {
  return compact({
    'type': type,
    'bom-ref': p.purl ?? `package:${p.group ? `${p.group}/` : ''}${p.name}@${p.version}`,
    'group': p.group,
    'name': p.name,
    'version': p.version,
    'purl': p.purl,
  });
}

function imageComponent(image: ImageReference, scan: ScanSummary | undefined): Record<string, unknown> {
  const hex = image.digest.slice('sha256:'.length);
  const last = image.repository.slice(image.repository.lastIndexOf('/') + 1);
  // purl-spec "oci": the name is the last path component, the full repository goes into repository_url
  // (qualifiers sorted by key); the version is the percent-encoded digest.
  const qualifiers = [`repository_url=${encodeURIComponent(image.repository).replace(/%2F/g, '/').replace(/%3A/g, ':')}`];
  if (image.tag) {
    qualifiers.push(`tag=${encodeURIComponent(image.tag)}`);
  }
  const properties: { name: string; value: string }[] = [];
  if (image.tag) {
    properties.push({ name: `${PROPERTY_PREFIX}image:tag`, value: image.tag });
  }
  if (scan) {
    properties.push({ name: `${PROPERTY_PREFIX}scan:source`, value: scan.source });
    if (scan.status !== undefined) {
      properties.push({ name: `${PROPERTY_PREFIX}scan:status`, value: scan.status });
    }
    if (scan.completedAt !== undefined) {
      properties.push({ name: `${PROPERTY_PREFIX}scan:completedAt`, value: scan.completedAt });
    }
    if (scan.vulnerabilitySourceUpdatedAt !== undefined) {
      properties.push({ name: `${PROPERTY_PREFIX}scan:vulnerabilitySourceUpdatedAt`, value: scan.vulnerabilitySourceUpdatedAt });
    }
    for (const [severity, n] of Object.entries(scan.counts)) {
      properties.push({ name: `${PROPERTY_PREFIX}scan:${severity}`, value: String(n) });
    }
    properties.push({ name: `${PROPERTY_PREFIX}scan:total`, value: String(scan.total) });
  }
  return compact({
    'type': 'container',
    'bom-ref': `image:${image.repository}@${image.digest}`,
    'name': image.repository,
    'version': image.digest,
    'hashes': [{ alg: 'SHA-256', content: hex }],
    'purl': `pkg:oci/${encodeURIComponent(last)}@${encodeURIComponent(image.digest)}?${qualifiers.join('&')}`,
    'properties': properties.length > 0 ? properties : undefined,
  });
}
