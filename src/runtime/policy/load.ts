/**
 * Loading a trust policy: YAML/JSON text → schema validation → semantic checks (names, CEL, keys) → a resolved
 * policy whose keys are loaded and whose CEL conditions are compiled.
 *
 * Every problem is collected with the JSON pointer of the value at fault, so `policy validate` can list them all at
 * once instead of making the author fix one error per run.
 */
import type { KeyObject, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
// eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
import { parseDocument } from 'yaml';
import { CelProgram, compileCel } from './cel';
import { TRUST_POLICY_SCHEMA } from './schema';
import { UsageError } from '../codec/errors';
import { parseCertificates } from '../engine/certificates';
import { keyHint, loadPublicKey } from '../engine/keys';
import { readTrustedRoot, shippedTrustedRoot, SigstoreTrust, SigstoreTrustedRoot } from '../engine/sigstore-keyless';
import { anchoredRegExp, describeIdentityRule } from '../engine/x509-identity';

/** A problem with a policy document, located by JSON pointer (`/signers/0/publicKey`; `/` is the document). */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

/** A policy that does not validate; `issues` lists every problem found. */
export class PolicyError extends UsageError {
  public constructor(public readonly source: string, public readonly issues: readonly PolicyIssue[]) {
    super(`trust policy ${source} is not valid:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
}

/** A certificate identity: who the leaf certificate must name, and the CAs it must chain to. */
export interface CertificateIdentity {
  /** Which field is matched exactly. */
  readonly field: 'subjectAlternativeName' | 'email' | 'uri' | 'commonName';
  /** The exact value. */
  readonly value: string;
  /** Trusted CA certificates. */
  readonly trustAnchors: readonly X509Certificate[];
}

/** One way a signer can be recognised. */
export type PolicyKey =
  | { readonly kind: 'publicKey'; readonly source: string; readonly key: KeyObject; readonly hint: string }
  | { readonly kind: 'kms'; readonly source: string; readonly keyArn: string }
  | { readonly kind: 'certificate'; readonly source: string; readonly identity: CertificateIdentity }
  | { readonly kind: 'awsSigner'; readonly source: string; readonly profileArn: string; readonly trustedRoots: readonly X509Certificate[] }
  /** Sigstore keyless: the identity and issuer the Fulcio certificate must name, checked against a trusted root. */
  | { readonly kind: 'sigstore'; readonly source: string; readonly trust: SigstoreTrust };

/** A named signer and every key it may sign with. */
export interface PolicySigner {
  readonly name: string;
  readonly keys: readonly PolicyKey[];
}

/** "At least `atLeast` distinct signers of `of`"; `allOf` is the case `atLeast === of.length`. */
export interface PolicyRequirement {
  readonly mode: 'allOf' | 'atLeast';
  readonly atLeast: number;
  readonly of: readonly string[];
}

/** A compiled CEL condition of a required attestation. */
export interface PolicyCondition {
  readonly name: string;
  readonly expression: string;
  readonly message?: string;
  readonly program: CelProgram;
}

/** A required attestation. */
export interface PolicyAttestation {
  readonly predicateType: string;
  /** Who must sign it; undefined means any one signer the policy names. */
  readonly signers?: PolicyRequirement;
  readonly conditions: readonly PolicyCondition[];
}

/** A validated policy with its keys loaded and its conditions compiled. */
export interface TrustPolicy {
  /** Where it came from (a file path, or a caller-given name). */
  readonly source: string;
  readonly name?: string;
  readonly signers: readonly PolicySigner[];
  readonly require: PolicyRequirement;
  readonly attestations: readonly PolicyAttestation[];
  readonly revokers: readonly string[];
  /** Trusted RFC 3161 timestamp authority certificates (empty: timestamps are not verified, certificates are checked now). */
  readonly timestampAuthorities: readonly X509Certificate[];
  /** Whether model signatures and attestations in older formats count (`allowLegacyFormats`, default false). */
  readonly allowLegacyFormats: boolean;
}

/** Raw document shapes (after schema validation). */
interface RawRequirement { allOf?: string[]; atLeast?: number; of?: string[] }
interface RawCertificate { trustAnchor: string; subjectAlternativeName?: string; email?: string; uri?: string; commonName?: string }
interface RawSigner {
  name: string;
  publicKey?: string;
  publicKeys?: string[];
  kmsKeyArn?: string;
  kmsKeyArns?: string[];
  certificate?: RawCertificate;
  certificates?: RawCertificate[];
  awsSigner?: { profileArn: string; trustedRoot: string };
  sigstore?: { identity?: string; identityRegex?: string; issuer: string; trustedRoot?: string };
}
interface RawCondition { name: string; expression: string; message?: string }
interface RawPolicy {
  metadata?: { name?: string };
  signers: RawSigner[];
  require: RawRequirement;
  attestations?: { predicateType: string; signers?: string[] | RawRequirement; conditions?: RawCondition[] }[];
  revokers?: string[];
  timestampAuthorities?: string[];
  allowLegacyFormats?: boolean;
}

let validator: ReturnType<Ajv2020['compile']> | undefined;

function schemaValidator(): ReturnType<Ajv2020['compile']> {
  validator ??= new Ajv2020({ allErrors: true, strict: true, strictRequired: false, verbose: true }).compile(TRUST_POLICY_SCHEMA);
  return validator;
}

/**
 * Parses policy text (YAML 1.2, which includes JSON).
 *
 * @throws PolicyError with the line and column of a syntax error, duplicate keys included
 */
export function parsePolicyText(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(source, doc.errors.map((e) => ({
      path: '/',
      message: `${e.message.split('\n')[0]}${e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : ''}`,
    })));
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Validates a document against the JSON Schema and maps ajv's errors to one readable message per problem.
 */
export function validatePolicySchema(doc: unknown): PolicyIssue[] {
  const validate = schemaValidator();
  if (validate(doc)) {
    return [];
  }
  const issues = dedupe(mapErrors(validate.errors ?? []));
  // Group by path in first-seen order and put "unknown field" first within a path: a misspelt key usually explains
  // the other complaints about the same object (e.g. `publickey` → "needs at least one key").
  const firstSeen = new Map<string, number>();
  issues.forEach((i, n) => firstSeen.set(i.path, firstSeen.get(i.path) ?? n));
  const rank = (i: PolicyIssue) => firstSeen.get(i.path)! * 2 + (i.message.startsWith('unknown field') ? 0 : 1);
  return issues.map((i, n) => ({ i, n })).sort((a, b) => rank(a.i) - rank(b.i) || a.n - b.n).map((x) => x.i);
}

/**
 * Validates and resolves a parsed document: schema, then names, requirements, CEL and keys.
 *
 * @param baseDir directory that relative key paths are resolved against
 * @param source names the policy in errors
 * @throws PolicyError listing every problem
 */
export async function resolvePolicyDocument(doc: unknown, baseDir: string, source: string): Promise<TrustPolicy> {
  const schemaIssues = validatePolicySchema(doc);
  if (schemaIssues.length > 0) {
    // The document's shape is wrong, but its CEL can still be checked, so one run reports both kinds of mistake.
    throw new PolicyError(source, [...schemaIssues, ...await bestEffortCelIssues(doc)]);
  }
  const raw = doc as RawPolicy;
  const issues: PolicyIssue[] = [];
  const names = new Set<string>();
  raw.signers.forEach((s, i) => {
    if (names.has(s.name)) {
      issues.push({ path: `/signers/${i}/name`, message: `signer name '${s.name}' is defined twice; names must be unique` });
    }
    names.add(s.name);
  });
  const known = [...names].join(', ');
  const checkNames = (list: readonly string[], at: string) => list.forEach((n, i) => {
    if (!names.has(n)) {
      issues.push({ path: `${at}/${i}`, message: `unknown signer '${n}'; signers defined: ${known}` });
    }
  });
  const requirement = (r: RawRequirement | string[], at: string): PolicyRequirement => {
    if (Array.isArray(r)) {
      checkNames(r, at);
      return { mode: 'allOf', atLeast: r.length, of: r };
    }
    if (r.allOf) {
      checkNames(r.allOf, `${at}/allOf`);
      return { mode: 'allOf', atLeast: r.allOf.length, of: r.allOf };
    }
    checkNames(r.of!, `${at}/of`);
    if (r.atLeast! > r.of!.length) {
      issues.push({ path: `${at}/atLeast`, message: `atLeast is ${r.atLeast} but 'of' names only ${r.of!.length} signer(s); it can never be met` });
    }
    return { mode: 'atLeast', atLeast: r.atLeast!, of: r.of! };
  };
  const require = requirement(raw.require, '/require');
  checkNames(raw.revokers ?? [], '/revokers');

  const attestations: PolicyAttestation[] = [];
  for (const [i, a] of (raw.attestations ?? []).entries()) {
    const signers = a.signers === undefined ? undefined : requirement(a.signers, `/attestations/${i}/signers`);
    const conditions: PolicyCondition[] = [];
    const condNames = new Set<string>();
    for (const [j, c] of (a.conditions ?? []).entries()) {
      const at = `/attestations/${i}/conditions/${j}`;
      if (condNames.has(c.name)) {
        issues.push({ path: `${at}/name`, message: `condition name '${c.name}' is used twice in this attestation; names identify conditions in reports` });
      }
      condNames.add(c.name);
      const compiled = await compileCel(c.expression);
      if (!compiled.ok) {
        issues.push({ path: `${at}/expression`, message: compiled.error });
        continue;
      }
      const message = c.message !== undefined ? { message: c.message } : {};
      conditions.push({ name: c.name, expression: c.expression, ...message, program: compiled.program });
    }
    attestations.push({ predicateType: a.predicateType, ...(signers ? { signers } : {}), conditions });
  }

  const signers: PolicySigner[] = [];
  for (const [i, s] of raw.signers.entries()) {
    signers.push({ name: s.name, keys: await loadSignerKeys(s, `/signers/${i}`, baseDir, issues) });
  }
  const timestampAuthorities: X509Certificate[] = [];
  for (const [i, value] of (raw.timestampAuthorities ?? []).entries()) {
    try {
      const { data, source: from } = await readKeySource(value, baseDir, 'timestamp authority certificate');
      timestampAuthorities.push(...parseCertificates(data, from));
    } catch (e) {
      issues.push({ path: `/timestampAuthorities/${i}`, message: (e as Error).message });
    }
  }
  issues.push(...duplicateKeyIssues(signers));
  if (issues.length > 0) {
    throw new PolicyError(source, issues);
  }
  return {
    source,
    ...(raw.metadata?.name !== undefined ? { name: raw.metadata.name } : {}),
    signers,
    require,
    attestations,
    revokers: raw.revokers ?? [],
    timestampAuthorities,
    allowLegacyFormats: raw.allowLegacyFormats === true,
  };
}

/**
 * One key, one party: every key the policy can know offline (PEM public keys, KMS key ARNs, certificate identities)
 * is named once. A key under two names would let a single party satisfy "ci and compliance" alone; the same key
 * twice under one signer is a mistake too. KMS keys are compared by ARN here and by public key at check time, once
 * GetPublicKey has resolved them (two ARNs can hold one key: multi-Region keys).
 *
 * Two certificate identities name the same party when they share a trust anchor and name the same value in fields a
 * single certificate can carry both of (`email`, `uri` and `subjectAlternativeName` all match subject alternative
 * names); identities in different fields (a CN and an email) can only be told apart at check time.
 */
function duplicateKeyIssues(signers: readonly PolicySigner[]): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const owners = new Map<string, { signer: string; source: string }>();
  const claim = (id: string, signer: string, index: number, source: string) => {
    const owner = owners.get(id);
    if (owner === undefined) {
      owners.set(id, { signer, source });
    } else if (owner.signer === signer) {
      issues.push({ path: `/signers/${index}`, message: `${id} is listed twice for signer '${signer}' (${owner.source} and ${source}); list each key once` });
    } else {
      issues.push({ path: `/signers/${index}`, message: `${id} (${source}) is also a key of signer '${owner.signer}' (${owner.source}); one key must identify exactly one signer` });
    }
  };
  signers.forEach((s, i) => s.keys.forEach((k) => {
    if (k.kind === 'publicKey') {
      claim(`key ${k.hint}`, s.name, i, k.source);
    } else if (k.kind === 'kms') {
      claim(`KMS key ${k.keyArn}`, s.name, i, k.source);
    } else if (k.kind === 'certificate') {
      const value = k.identity.field === 'commonName' ? `CN=${k.identity.value}` : `SAN ${k.identity.value}`;
      for (const anchor of k.identity.trustAnchors) {
        claim(`certificate identity ${value} under trust anchor ${anchor.fingerprint256}`, s.name, i, `${k.identity.field} ${JSON.stringify(k.identity.value)}`);
      }
    } else if (k.kind === 'sigstore') {
      const rule = describeIdentityRule(k.trust.identity);
      claim(`Sigstore identity ${rule} of issuer ${k.trust.issuer} under trusted root ${k.trust.trustedRoot.sha256}`, s.name, i, `sigstore ${rule}`);
    }
  }));
  return issues;
}

/**
 * Reads, validates and resolves a policy file. Key paths in it are relative to the file's directory.
 *
 * @throws PolicyError listing every problem; UsageError when the file cannot be read
 */
export async function loadTrustPolicy(file: string): Promise<TrustPolicy> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read trust policy ${file}: ${(e as Error).message}`);
  }
  return resolvePolicyDocument(parsePolicyText(text, file), path.dirname(path.resolve(file)), file);
}

/**
 * Validates a policy file and returns every problem (empty when it is valid): what `policy validate` runs.
 *
 * @throws UsageError when the file cannot be read
 */
export async function validateTrustPolicyFile(file: string): Promise<PolicyIssue[]> {
  try {
    await loadTrustPolicy(file);
    return [];
  } catch (e) {
    if (e instanceof PolicyError) {
      return [...e.issues];
    }
    throw e;
  }
}

/** Compiles every condition expression found in a document that failed the schema (skipping what is not a string). */
async function bestEffortCelIssues(doc: unknown): Promise<PolicyIssue[]> {
  const out: PolicyIssue[] = [];
  const atts = (doc as { attestations?: unknown } | null)?.attestations;
  if (!Array.isArray(atts)) {
    return out;
  }
  for (const [i, a] of atts.entries()) {
    const conds = (a as { conditions?: unknown } | null)?.conditions;
    if (!Array.isArray(conds)) {
      continue;
    }
    for (const [j, c] of conds.entries()) {
      const expr = (c as { expression?: unknown } | null)?.expression;
      if (typeof expr === 'string' && expr !== '') {
        const compiled = await compileCel(expr);
        if (!compiled.ok) {
          out.push({ path: `/attestations/${i}/conditions/${j}/expression`, message: compiled.error });
        }
      }
    }
  }
  return out;
}

async function loadSignerKeys(s: RawSigner, at: string, baseDir: string, issues: PolicyIssue[]): Promise<PolicyKey[]> {
  const keys: PolicyKey[] = [];
  const pems: [string, string][] = [];
  if (s.publicKey !== undefined) {
    pems.push([s.publicKey, `${at}/publicKey`]);
  }
  (s.publicKeys ?? []).forEach((k, j) => pems.push([k, `${at}/publicKeys/${j}`]));
  for (const [value, p] of pems) {
    try {
      const { data, source } = await readKeySource(value, baseDir, 'public key');
      const key = loadPublicKey(data, source);
      keys.push({ kind: 'publicKey', source, key, hint: keyHint(key) });
    } catch (e) {
      issues.push({ path: p, message: (e as Error).message });
    }
  }
  const arns: [string, string][] = [];
  if (s.kmsKeyArn !== undefined) {
    arns.push([s.kmsKeyArn, `${at}/kmsKeyArn`]);
  }
  (s.kmsKeyArns ?? []).forEach((k, j) => arns.push([k, `${at}/kmsKeyArns/${j}`]));
  // KMS keys are resolved at check time (GetPublicKey), so loading a policy needs no AWS access.
  for (const [arn] of arns) {
    keys.push({ kind: 'kms', source: arn, keyArn: arn });
  }
  const certs: [RawCertificate, string][] = [];
  if (s.certificate !== undefined) {
    certs.push([s.certificate, `${at}/certificate`]);
  }
  (s.certificates ?? []).forEach((c, j) => certs.push([c, `${at}/certificates/${j}`]));
  for (const [c, p] of certs) {
    try {
      const { data, source } = await readKeySource(c.trustAnchor, baseDir, 'trust anchor');
      const trustAnchors = parseCertificates(data, source);
      const field = (['subjectAlternativeName', 'email', 'uri', 'commonName'] as const).find((f) => c[f] !== undefined)!;
      keys.push({ kind: 'certificate', source, identity: { field, value: c[field]!, trustAnchors } });
    } catch (e) {
      issues.push({ path: `${p}/trustAnchor`, message: (e as Error).message });
    }
  }
  if (s.awsSigner !== undefined) {
    try {
      const { data, source } = await readKeySource(s.awsSigner.trustedRoot, baseDir, 'AWS Signer root certificate');
      keys.push({ kind: 'awsSigner', source, profileArn: s.awsSigner.profileArn, trustedRoots: parseCertificates(data, source) });
    } catch (e) {
      issues.push({ path: `${at}/awsSigner/trustedRoot`, message: (e as Error).message });
    }
  }
  if (s.sigstore !== undefined) {
    const sg = s.sigstore;
    const identity = sg.identity !== undefined ? { exact: sg.identity } : { regex: sg.identityRegex! };
    let ok = true;
    if (identity.regex !== undefined) {
      try {
        anchoredRegExp(identity.regex);
      } catch (e) {
        ok = false;
        issues.push({ path: `${at}/sigstore/identityRegex`, message: `is not a valid regular expression: ${(e as Error).message}` });
      }
    }
    let trustedRoot: SigstoreTrustedRoot | undefined;
    try {
      trustedRoot = sg.trustedRoot === undefined ? shippedTrustedRoot() : await readTrustedRoot(path.resolve(baseDir, sg.trustedRoot));
    } catch (e) {
      ok = false;
      issues.push({ path: `${at}/sigstore/trustedRoot`, message: (e as Error).message });
    }
    if (ok && trustedRoot) {
      keys.push({ kind: 'sigstore', source: trustedRoot.source, trust: { trustedRoot, identity, issuer: sg.issuer } });
    }
  }
  return keys;
}

/** Inline PEM is recognised by its armour; anything else is a path relative to the policy's directory. */
async function readKeySource(value: string, baseDir: string, what: string): Promise<{ data: Buffer; source: string }> {
  if (value.includes('-----BEGIN ')) {
    return { data: Buffer.from(value, 'utf8'), source: `inline ${what}` };
  }
  const file = path.resolve(baseDir, value);
  try {
    return { data: await fs.readFile(file), source: file };
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Turns ajv errors into one message per problem.
 *
 * `oneOf`/`anyOf` failures would otherwise list every branch's complaints. When exactly one branch fits the shape
 * of the value (its required fields are present, its type is right), that branch's own errors are the real
 * problem; otherwise the node's `description`, which says what would be valid, is the message. Alternatives are
 * never `$ref`s in the schema, so a branch's errors are exactly those under its schema path.
 */
function mapErrors(errors: readonly ErrorObject[]): PolicyIssue[] {
  const isAlt = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const inScope = (e: ErrorObject, alt: ErrorObject) => e !== alt
    && e.schemaPath.startsWith(alt.schemaPath + '/')
    && (e.instancePath === alt.instancePath || e.instancePath.startsWith(alt.instancePath + '/'));
  const alts = errors.filter(isAlt);
  const outermost = alts.filter((a) => !alts.some((o) => inScope(a, o)));
  const consumed = new Set<ErrorObject>(alts);
  const resolved = new Map<ErrorObject, PolicyIssue[]>();
  for (const alt of outermost) {
    const inner = errors.filter((e) => inScope(e, alt));
    inner.forEach((e) => consumed.add(e));
    const branches = new Map<string, ErrorObject[]>();
    for (const e of inner) {
      const idx = e.schemaPath.slice(alt.schemaPath.length + 1).split('/')[0];
      branches.set(idx, [...(branches.get(idx) ?? []), e]);
    }
    const misfit = ([idx, list]: [string, ErrorObject[]]) => list.some((e) => e.instancePath === alt.instancePath
      && (e.keyword === 'required' || e.keyword === 'type') && e.schemaPath === `${alt.schemaPath}/${idx}/${e.keyword}`);
    const fitting = [...branches.entries()].filter((b) => !misfit(b));
    const bothPass = alt.keyword === 'oneOf' && Array.isArray((alt.params as { passingSchemas?: unknown }).passingSchemas);
    resolved.set(alt, !bothPass && fitting.length === 1
      ? mapErrors(fitting[0][1])
      : [{ path: pointer(alt.instancePath), message: describeAlternatives(alt) }]);
  }
  // Keep ajv's order (document order, field errors before the alternatives of the same object).
  const out: PolicyIssue[] = [];
  for (const e of errors) {
    if (resolved.has(e)) {
      out.push(...resolved.get(e)!);
    } else if (!consumed.has(e)) {
      out.push(mapError(e));
    }
  }
  return out;
}

function describeAlternatives(e: ErrorObject): string {
  const desc = (e.parentSchema as { description?: string } | undefined)?.description;
  return desc ?? `does not match any allowed form (${e.message})`;
}

function mapError(e: ErrorObject): PolicyIssue {
  const p = pointer(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return { path: p, message: `unknown field '${params.additionalProperty}'${allowed.length ? `; allowed fields: ${allowed.join(', ')}` : ''}` };
    }
    case 'required':
      return { path: p, message: `missing required field '${params.missingProperty}'` };
    case 'type':
      return { path: p, message: `is ${describe(e.data)}; expected ${params.type}` };
    case 'const':
      return { path: p, message: `is ${JSON.stringify(e.data)}; expected ${JSON.stringify(params.allowedValue)}` };
    case 'pattern': {
      const desc = (e.parentSchema as { description?: string } | undefined)?.description;
      return { path: p, message: `${JSON.stringify(e.data)} is not valid${desc ? `: expected ${lowerFirst(desc)}` : ` (must match ${params.pattern})`}` };
    }
    case 'minItems':
      return { path: p, message: `needs at least ${params.limit} item(s)` };
    case 'uniqueItems':
      return { path: p, message: `lists ${JSON.stringify((e.data as unknown[])[params.i as number])} twice; items must be unique` };
    case 'minimum':
      return { path: p, message: `is ${JSON.stringify(e.data)}; must be at least ${params.limit}` };
    case 'minLength':
      return { path: p, message: 'must not be empty' };
    default:
      return { path: p, message: e.message ?? `fails ${e.keyword}` };
  }
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.message}`;
    if (seen.has(k)) {
      return false;
    }
    seen.add(k);
    return true;
  });
}

function pointer(instancePath: string): string {
  return instancePath === '' ? '/' : instancePath;
}

function describe(v: unknown): string {
  if (v === null) {
    return 'null';
  }
  if (Array.isArray(v)) {
    return 'an array';
  }
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
