/**
 * Property-based fuzzing of the decision path (issue 10 #12), shared by the unit suite (a small budget and the
 * corpus replay, test/runtime/policy/fuzz.test.ts) and the long run (scripts/fuzz-decision.ts, ≥ 100,000 cases).
 *
 * Every target mutates a valid input (any byte; any field removed, retyped, duplicated, reordered, made huge or
 * deeply nested; unicode look-alikes in strings) and checks two properties:
 * - nothing but the engine's own errors (VerificationError, UsageError and their subclasses) is ever thrown, and no
 *   decision ever contains an "unexpected error" (the check's fail-closed net for everything else);
 * - a mutated input never verifies as something else: a bundle verifies only with the original statement bytes, a
 *   co-signature counts only when its manifest is the one the other signer signed, a revoker's record always denies
 *   and anyone else's never does.
 *
 * Inputs are plain JSON so that every failing one can be kept in test/fixtures/fuzz-corpus/ and replayed; signatures
 * are made fresh with the context's keys when a case runs (a replay needs no committed private key).
 */
import { generateKeyPairSync, KeyObject } from 'crypto';
import * as fc from 'fast-check';
import { UsageError, VerificationError } from '../../src/runtime/codec/errors';
import { decodeStatement, subjectDigests } from '../../src/runtime/codec/statement';
import { buildBundle } from '../../src/runtime/engine/bundle';
import { verifyStatementBundle } from '../../src/runtime/engine/cosign';
import { keyHint } from '../../src/runtime/engine/keys';
import { statementManifestDigest } from '../../src/runtime/engine/manifest';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../../src/runtime/engine/pae';
import { buildStatement, parseStatement } from '../../src/runtime/engine/statement';
import type { Manifest } from '../../src/runtime/engine/types';
import { checkPolicy, CheckReport } from '../../src/runtime/policy/check';
import { resolvePolicyDocument, TrustPolicy } from '../../src/runtime/policy/load';
import { buildRevocationStatement, REVOCATION_PREDICATE_TYPE } from '../../src/runtime/policy/revocation';
import { LocalKeySigner } from '../../src/runtime/signers/local';
import { StoreIntegrityError } from '../../src/runtime/store/errors';
import { deriveKey, parseRefBody, refKey, validateKey } from '../../src/runtime/store/keys';
import type { AttestationSet, StoredObject } from '../../src/runtime/store/types';
import { isRefOfModel } from '../../src/shared/store-layout';

/** The fuzz targets. */
export const TARGET_NAMES = ['bundle-bytes', 'bundle-json', 'statement', 'revocation', 'reference'] as const;
export type TargetName = typeof TARGET_NAMES[number];

/** One kept input: which target, and the input as the target's arbitrary produced it. */
export interface CorpusEntry {
  readonly target: TargetName;
  readonly input: unknown;
  /** What went wrong when it was found, and what fixed it. */
  readonly note?: string;
}

interface Party {
  readonly signer: LocalKeySigner;
  readonly publicKey: KeyObject;
  readonly pem: string;
}

/** Keys, a two-party policy and a model signature made once per run. */
export interface FuzzContext {
  readonly ci: Party;
  readonly compliance: Party;
  readonly policy: TrustPolicy;
  readonly root: string;
  /** The OMS statement ci signed (as data) and its exact payload bytes. */
  readonly statement: Record<string, unknown>;
  readonly payload: Buffer;
  /** The ci-signed bundle (as data and as stored text) and compliance's co-signature of the same payload. */
  readonly bundle: Record<string, unknown>;
  readonly bundleText: string;
  readonly cosignature: StoredObject;
  readonly manifest: string;
  readonly revocation: Record<string, unknown>;
}

function party(): Party {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { signer: new LocalKeySigner(privateKey), publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

async function signPayload(p: Party, payload: Buffer): Promise<string> {
  const sig = await p.signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload));
  return JSON.stringify(buildBundle(await p.signer.verificationMaterial(), payload, sig));
}

function stored(text: string, fallbackKey: string): StoredObject {
  const body = Buffer.from(text, 'utf8');
  let key = fallbackKey;
  try {
    key = deriveKey(body).key;
  } catch (e) {
    expectEngineError(e, 'deriveKey', UsageError);
  }
  return { key, body };
}

/** Builds the context: fresh P-256 keys for ci and compliance, `allOf: [ci, compliance]`, compliance may revoke. */
export async function fuzzContext(): Promise<FuzzContext> {
  const ci = party();
  const compliance = party();
  const policy = await resolvePolicyDocument({
    apiVersion: 'modelseal.dev/v1',
    kind: 'TrustPolicy',
    signers: [{ name: 'ci', publicKey: ci.pem }, { name: 'compliance', publicKey: compliance.pem }],
    require: { allOf: ['ci', 'compliance'] },
    revokers: ['compliance'],
  }, process.cwd(), 'fuzz-policy');
  const model: Manifest = {
    resources: [
      { name: 'config.json', algorithm: 'sha256', digest: 'a1'.repeat(32) },
      { name: 'weights/model.safetensors', algorithm: 'sha256', digest: 'b2'.repeat(32) },
      { name: 'tokenizer.json', algorithm: 'sha256', digest: 'c3'.repeat(32) },
    ],
    serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git', '.github'] },
  };
  const statement = buildStatement('model', model);
  const payload = Buffer.from(JSON.stringify(statement, null, 2));
  const bundleText = await signPayload(ci, payload);
  const root = parseStatement(payload).rootDigest!;
  const cosignature = stored(await signPayload(compliance, payload), 'cosignature');
  const manifest = statementManifestDigest(parseStatement(payload), statement);
  const revocation = buildRevocationStatement(root, { reason: 'fuzz', revokedAt: new Date('2026-01-01T00:00:00Z') });
  return { ci, compliance, policy, root, statement, payload, bundle: JSON.parse(bundleText), bundleText, cosignature, manifest, revocation };
}

/** Throws unless `e` is one of the engine's own errors (optionally: of exactly this family). */
function expectEngineError(e: unknown, where: string, only?: abstract new (...args: never[]) => Error): void {
  const ok = only ? e instanceof only : e instanceof VerificationError || e instanceof UsageError;
  if (!ok) {
    throw new Error(`${where} threw ${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`);
  }
}

function expectNoUnexpected(report: CheckReport, where: string): void {
  const bad = report.reasons.find((r) => r.includes('unexpected error'));
  if (bad) {
    throw new Error(`${where}: the decision hit an unexpected error: ${bad}`);
  }
}

async function decide(ctx: FuzzContext, set: Partial<AttestationSet>): Promise<CheckReport> {
  return checkPolicy(ctx.policy, { root: ctx.root, bundles: [], attestations: [], notation: [], revocations: [], ...set });
}

// ---------------------------------------------------------------------------------------------------------------
// JSON mutations

/** What a structured mutation does at the node its path reaches. */
export type JsonOp = 'remove' | 'retype' | 'duplicate' | 'reorder' | 'huge' | 'nest' | 'lookalike';

/** A structured mutation: a walk (indices taken modulo the children at each level), an operation and its material. */
export interface JsonMutation {
  readonly path: number[];
  readonly op: JsonOp;
  readonly value: unknown;
  readonly size: number;
}

const LOOKALIKES: Record<string, string> = { 'a': 'а', 'e': 'е', 'o': 'о', 'c': 'с', 'p': 'р', 'x': 'х', 'i': 'і', '/': '∕', '.': '․', '-': '‐', '1': 'l', '0': 'O', ':': '։' };

/** Applies a mutation to a copy of `base` and serializes it (a duplicated member exists only in the text). */
export function mutateJson(base: unknown, m: JsonMutation): string {
  const root: unknown = JSON.parse(JSON.stringify(base));
  let parent: Record<string, unknown> | unknown[] | undefined;
  let slot: string | number | undefined;
  let node: unknown = root;
  for (const step of m.path) {
    const keys = Array.isArray(node) ? node.map((_, i) => i) : isObject(node) ? Object.keys(node) : [];
    if (keys.length === 0) {
      break;
    }
    parent = node as Record<string, unknown> | unknown[];
    slot = keys[step % keys.length];
    node = (parent as Record<string | number, unknown>)[slot];
  }
  let dup: { target: unknown; name: string } | undefined;
  const set = (v: unknown) => {
    if (parent === undefined) {
      return v;
    }
    (parent as Record<string | number, unknown>)[slot!] = v;
    return root;
  };
  let out: unknown = root;
  switch (m.op) {
    case 'remove':
      if (Array.isArray(parent)) {
        parent.splice(slot as number, 1);
      } else if (parent !== undefined) {
        delete parent[slot as string];
      } else {
        out = null;
      }
      break;
    case 'retype':
      out = set(m.value);
      break;
    case 'duplicate':
      if (isObject(parent)) {
        dup = { target: parent, name: slot as string };
      } else if (isObject(node) && Object.keys(node).length > 0) {
        dup = { target: node, name: Object.keys(node)[m.size % Object.keys(node).length] };
      }
      break;
    case 'reorder':
      if (isObject(node)) {
        const entries = Object.entries(node);
        entries.push(entries.splice(m.size % entries.length, 1)[0] ?? ['', null]);
        out = set(Object.fromEntries(entries.filter(([k]) => k !== '' || entries.length === 1)));
      } else if (Array.isArray(node) && node.length > 1) {
        out = set([...node.slice(1), node[0]]);
      }
      break;
    case 'huge':
      out = set(typeof node === 'string' ? node + 'A'.repeat(1000 + (m.size % 100_000)) : Array.from({ length: 10 + (m.size % 500) }, () => (typeof node === 'object' ? 'x' : node)));
      break;
    case 'nest': {
      let v: unknown = node;
      for (let i = 0; i < 1 + (m.size % 300); i++) {
        v = m.size % 2 === 0 ? [v] : { v };
      }
      out = set(v);
      break;
    }
    case 'lookalike':
      if (typeof node === 'string' && node.length > 0) {
        const chars = [...node];
        const at = chars.findIndex((c, i) => i >= m.size % chars.length && LOOKALIKES[c] !== undefined);
        if (at >= 0) {
          chars[at] = LOOKALIKES[chars[at]];
        }
        out = set(chars.join(''));
      }
      break;
  }
  return serialize(out, dup);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function serialize(v: unknown, dup?: { target: unknown; name: string }): string {
  if (Array.isArray(v)) {
    return `[${v.map((x) => serialize(x, dup)).join(',')}]`;
  }
  if (isObject(v)) {
    const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${serialize(x, dup)}`);
    if (dup && dup.target === v && dup.name in v) {
      members.push(`${JSON.stringify(dup.name)}:${serialize(v[dup.name])}`);
    }
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 8 }),
  op: fc.constantFrom<JsonOp>('remove', 'retype', 'duplicate', 'reorder', 'huge', 'nest', 'lookalike'),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('', '.', '/', '..', 'sha256:', 'ab'.repeat(32), -1, 1.5, 2 ** 53, true, null, [], {})),
  size: fc.nat(),
});

// ---------------------------------------------------------------------------------------------------------------
// Byte mutations

/** A byte-level mutation of a text: flip bits at a position, insert bytes, delete a range, or truncate. */
export interface ByteMutation {
  readonly op: 'flip' | 'insert' | 'delete' | 'truncate';
  readonly at: number;
  readonly bytes: number[];
}

export function mutateBytes(base: Buffer, m: ByteMutation): Buffer {
  const at = m.at % (base.length + 1);
  switch (m.op) {
    case 'flip': {
      const out = Buffer.from(base);
      m.bytes.forEach((b, i) => {
        if (at + i < out.length) {
          out[at + i] ^= b || 1;
        }
      });
      return out;
    }
    case 'insert':
      return Buffer.concat([base.subarray(0, at), Buffer.from(m.bytes), base.subarray(at)]);
    case 'delete':
      return Buffer.concat([base.subarray(0, at), base.subarray(at + 1 + (m.bytes.length * 7))]);
    case 'truncate':
      return base.subarray(0, at);
  }
}

const byteMutation: fc.Arbitrary<ByteMutation> = fc.record({
  op: fc.constantFrom<ByteMutation['op']>('flip', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
});

// ---------------------------------------------------------------------------------------------------------------
// Targets

/** A target: how its inputs are made, and the property one input must satisfy (throws when it does not). */
export interface Target {
  readonly arbitrary: fc.Arbitrary<unknown>;
  readonly check: (ctx: FuzzContext, input: unknown) => Promise<void>;
}

/**
 * A mutated ci bundle: verifying it either fails with an engine error or yields the original statement bytes and
 * ci's key; counted beside compliance's co-signature it allows only then.
 */
async function checkBundle(ctx: FuzzContext, body: Buffer): Promise<void> {
  let verified;
  try {
    verified = await verifyStatementBundle(body, { publicKey: ctx.ci.publicKey }, { source: 'fuzz' });
  } catch (e) {
    expectEngineError(e, 'verifyStatementBundle');
  }
  if (verified && (!verified.payload.equals(ctx.payload) || verified.keyHint !== keyHint(ctx.ci.publicKey))) {
    throw new Error('a mutated bundle verified with a statement or key other than the one signed');
  }
  const obj = stored(body.toString('utf8'), `bundles/sha256/${ctx.root}/${keyHint(ctx.ci.publicKey)}/${'0'.repeat(64)}.sig.json`);
  const report = await decide(ctx, { bundles: [{ key: obj.key, body }, ctx.cosignature] });
  expectNoUnexpected(report, 'bundle');
  if (report.decision === 'allow' && (!verified || report.manifest !== ctx.manifest)) {
    throw new Error(`a mutated bundle was counted (decision allow, manifest ${report.manifest})`);
  }
}

/**
 * A mutated statement that compliance signs (a compromised co-signer): beside ci's original it allows only when its
 * manifest is exactly the one ci signed.
 */
async function checkStatement(ctx: FuzzContext, text: string): Promise<void> {
  const payload = Buffer.from(text, 'utf8');
  let digest: string | undefined;
  try {
    const parsed = parseStatement(payload);
    digest = parsed.rootDigest === ctx.root ? statementManifestDigest(parsed, JSON.parse(text)) : undefined;
  } catch (e) {
    expectEngineError(e, 'parseStatement / manifest digest');
  }
  const cosig = stored(await signPayload(ctx.compliance, payload), `bundles/sha256/${ctx.root}/${keyHint(ctx.compliance.publicKey)}/${'1'.repeat(64)}.sig.json`);
  const report = await decide(ctx, { bundles: [{ key: 'bundles/ci', body: Buffer.from(ctx.bundleText) }, cosig] });
  expectNoUnexpected(report, 'statement');
  if (report.decision === 'allow' && digest !== ctx.manifest) {
    throw new Error(`a co-signature over another manifest was counted (statement manifest ${digest ?? 'none'}, decision manifest ${report.manifest})`);
  }
}

/**
 * A mutated revocation record: signed by the revoker it denies unless it is readably about something else (another
 * predicate type, or subjects other than exactly this root: intact bytes that say nothing about this root); signed by
 * ci (no revoker) it never denies.
 */
async function checkRevocation(ctx: FuzzContext, text: string): Promise<void> {
  const payload = Buffer.from(text, 'utf8');
  const base = [{ key: 'bundles/ci', body: Buffer.from(ctx.bundleText) }, ctx.cosignature];
  let aboutElse = false;
  try {
    const st = decodeStatement(payload);
    if (st.predicateType !== REVOCATION_PREDICATE_TYPE) {
      aboutElse = true;
    } else {
      try {
        const d = subjectDigests(st);
        aboutElse = !(d.length === 1 && d[0] === ctx.root);
      } catch {
        aboutElse = false;
      }
    }
  } catch {
    aboutElse = false;
  }
  for (const [who, expected] of [[ctx.compliance, aboutElse ? 'allow' : 'deny'], [ctx.ci, 'allow']] as const) {
    const obj = stored(await signPayload(who, payload), `revocations/sha256/${ctx.root}/${keyHint(who.publicKey)}/${'2'.repeat(64)}.json`);
    const report = await decide(ctx, { bundles: base, revocations: [obj] });
    expectNoUnexpected(report, 'revocation');
    if (report.decision !== expected) {
      throw new Error(`a revocation record signed by ${who === ctx.ci ? 'ci (not a revoker)' : 'the revoker'} gave ${report.decision}: ${report.reasons.join('; ')}`);
    }
  }
}

/** A reference name, version or body: only the store's own errors, and a valid key belongs to its name. */
async function checkReference(_ctx: FuzzContext, input: unknown): Promise<void> {
  const { name, version, body } = input as { name: string; version: string; body: number[] };
  try {
    parseRefBody(Buffer.from(body), 'refs/m/1');
  } catch (e) {
    expectEngineError(e, 'parseRefBody', StoreIntegrityError);
  }
  let key: string | undefined;
  try {
    key = refKey(name, version);
  } catch (e) {
    expectEngineError(e, 'refKey', UsageError);
  }
  if (key !== undefined) {
    validateKey(key);
    if (!isRefOfModel(key, name)) {
      throw new Error(`refKey(${JSON.stringify(name)}, ${JSON.stringify(version)}) = ${key} is not a ref of that name`);
    }
  }
}

const lookalikeText = fc.array(fc.constantFrom('a', 'а', 'o', 'о', '/', '∕', '.', '․', '-', '_', '1', 'l', 'é', 'é', '\u200b', ' ', '..', 'team', 'llm'), { maxLength: 12 })
  .map((parts) => parts.join(''));

/** The targets by name. */
export function targets(ctx: FuzzContext): Record<TargetName, Target> {
  return {
    'bundle-bytes': {
      arbitrary: byteMutation,
      check: (c, input) => checkBundle(c, mutateBytes(Buffer.from(c.bundleText), input as ByteMutation)),
    },
    'bundle-json': {
      arbitrary: jsonMutation,
      check: (c, input) => checkBundle(c, Buffer.from(mutateJson(c.bundle, input as JsonMutation))),
    },
    'statement': {
      arbitrary: jsonMutation.map((m) => ({ ...m, text: undefined })),
      check: (c, input) => checkStatement(c, typeof (input as { text?: string }).text === 'string' ? (input as { text: string }).text : mutateJson(c.statement, input as JsonMutation)),
    },
    'revocation': {
      arbitrary: jsonMutation,
      check: (c, input) => checkRevocation(c, typeof (input as { text?: string }).text === 'string' ? (input as { text: string }).text : mutateJson(c.revocation, input as JsonMutation)),
    },
    'reference': {
      arbitrary: fc.record({
        name: fc.oneof(lookalikeText, fc.string({ maxLength: 40 }), fc.constantFrom('a/b', 'a//b', '../x', 'a/./b', '/a', 'a/', '.hidden', 'x'.repeat(201))),
        version: fc.oneof(lookalikeText, fc.string({ maxLength: 10 }), fc.constantFrom('1', '1.0', '..', 'a/b', '-1')),
        body: fc.oneof(
          fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 80 }),
          fc.constantFrom(`sha256:${ctx.root}`, `sha256:${ctx.root}\n`, `sha256:${ctx.root}\r\n`, `sha256:${ctx.root.toUpperCase()}`, ` sha256:${ctx.root}`).map((t) => [...Buffer.from(t)]),
        ),
      }),
      check: checkReference,
    },
  };
}

/** Runs one kept input; throws when the property fails. */
export async function replay(ctx: FuzzContext, entry: CorpusEntry): Promise<void> {
  await targets(ctx)[entry.target].check(ctx, entry.input);
}
