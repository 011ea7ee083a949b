/**
 * Validation helpers for synthesized Kubernetes objects:
 *
 * - CRD-backed objects (Kyverno, Gatekeeper) against the openAPIV3Schema of the CRDs in ../shared/crds, with ajv.
 *   The API server prunes unknown fields silently, so the schemas are tightened first: every object schema that lists
 *   `properties` and does not preserve unknown fields gets `additionalProperties: false` (a misspelt field fails here
 *   instead of vanishing in a cluster);
 * - core objects against the Kubernetes OpenAPI schemas that `kubernetes-models` 4.x ships.
 *
 * When ../shared/crds is absent the CRD tests skip with one message, except under CI=true, where they fail.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';

/** The CRD folder beside the project. */
export const CRDS_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'crds');

/** Whether the CRDs are present. */
export const HAVE_CRDS = fs.existsSync(path.join(CRDS_DIR, 'README.md'));

/** The message test/global-setup.ts prints once when the CRDs are absent. */
export const CRDS_SKIP_MESSAGE = `SKIPPED: the CRD schema tests of the admission objects: ${CRDS_DIR} is absent. ` +
  'The rest of the suite runs without it; under CI=true these tests fail instead.';

/**
 * `test` for checks that need the CRDs: the test itself when they are present; without them, under CI=true a test
 * that fails saying what is missing, otherwise a skipped test (test/global-setup.ts says so once for the run).
 */
export const testWithCrds = ((name: string, fn: jest.ProvidesCallback, timeout?: number) => {
  if (HAVE_CRDS) {
    test(name, fn, timeout);
  } else if (process.env.CI === 'true') {
    test(name, () => {
      throw new Error(`${CRDS_DIR} is missing; CI=true requires ../shared/crds beside the repository`);
    });
  } else {
    test.skip(name, fn, timeout);
  }
}) as (name: string, fn: jest.ProvidesCallback, timeout?: number) => void;

function tighten(schema: any): any {
  if (Array.isArray(schema)) return schema.map(tighten);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as any).map(([p, s]) => [p, tighten(s)])) : tighten(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

let validators: Map<string, (obj: unknown) => string[]> | undefined;

function loadValidators(): Map<string, (obj: unknown) => string[]> {
  if (validators) return validators;
  validators = new Map();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const dir of ['kyverno', 'gatekeeper']) {
    for (const file of fs.readdirSync(path.join(CRDS_DIR, dir))) {
      for (const doc of parseAllDocuments(fs.readFileSync(path.join(CRDS_DIR, dir, file), 'utf8'))) {
        const crd = doc.toJS();
        if (crd?.kind !== 'CustomResourceDefinition') continue;
        for (const v of crd.spec.versions) {
          const schema = tighten(v.schema.openAPIV3Schema);
          // metadata is the API server's ObjectMeta, which the CRD schema leaves open
          if (schema.properties?.metadata) schema.properties.metadata = { type: 'object' };
          const validate = ajv.compile(schema);
          validators.set(`${crd.spec.group}/${v.name}|${crd.spec.names.kind}`, (obj) =>
            validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && (e.params as any).additionalProperty ? `: ${(e.params as any).additionalProperty}` : ''}`));
        }
      }
    }
  }
  return validators;
}

/** Validates a CRD-backed object against its CRD's schema; returns the errors (empty when valid). */
export function crdErrors(obj: any): string[] {
  const validate = loadValidators().get(`${obj.apiVersion}|${obj.kind}`);
  if (!validate) throw new Error(`no CRD for ${obj.apiVersion} ${obj.kind} in ${CRDS_DIR}`);
  return validate(obj);
}

/** Whether an object is a core Kubernetes kind that `kubernetes-models` knows. */
export function isCoreObject(obj: any): boolean {
  return modelClass(obj) !== undefined;
}

function modelClass(obj: any): any {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(modulePath)[obj.kind];
  } catch {
    return undefined;
  }
}

/** Validates a core object against the Kubernetes OpenAPI schema (throws with the reasons). */
export function validateCoreObject(obj: any): void {
  const Model = modelClass(obj);
  if (!Model) throw new Error(`kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}
