/**
 * Shared setup for the trust-policy tests: real EC keys on disk, a real model signed with them, a local store in a
 * temp dir, and helpers to publish bundles and write policies.
 */
import type { KeyObject } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { signModel } from '../../../src/runtime/engine/sign';
import { signStatement } from '../../../src/runtime/engine/sign-statement';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { deriveKey } from '../../../src/runtime/store/keys';
import { LocalStore } from '../../../src/runtime/store/local';
import { ecKey, makeModel, tempDir } from '../../fixtures/models';

/** A named test key with its files. */
export interface TestKey {
  readonly name: string;
  readonly signer: LocalKeySigner;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly keyFile: string;
  readonly pubFile: string;
  readonly pubPem: string;
}

/** A temp workspace: keys, a model, its OMS signature by `ci`, and an empty local store. */
export interface Workspace {
  readonly dir: string;
  readonly model: string;
  readonly store: LocalStore;
  readonly storeDir: string;
  readonly keys: Record<'ci' | 'ci2' | 'compliance' | 'lead' | 'stranger', TestKey>;
  /** The ci-signed bundle, as written. */
  readonly ciBundle: string;
  readonly ciBundleFile: string;
  /** The model's root digest (hex). */
  readonly root: string;
}

/** Creates a workspace (keys are fresh per call). */
export async function workspace(): Promise<Workspace> {
  const dir = tempDir('modelseal-policy-');
  const keys = {} as Record<string, TestKey>;
  for (const name of ['ci', 'ci2', 'compliance', 'lead', 'stranger']) {
    const k = ecKey('P-256');
    const keyFile = path.join(dir, `${name}.key.pem`);
    const pubFile = path.join(dir, `${name}.pub.pem`);
    fs.writeFileSync(keyFile, k.pem);
    fs.writeFileSync(pubFile, k.pubPem);
    keys[name] = {
      name, signer: new LocalKeySigner(k.privateKey), publicKey: k.publicKey, privateKey: k.privateKey, keyFile, pubFile, pubPem: k.pubPem,
    };
  }
  const model = makeModel(dir);
  const ciBundleFile = path.join(dir, 'model.sig');
  const signed = await signModel(model, keys.ci.signer, { signaturePath: ciBundleFile, workers: 1 });
  const storeDir = path.join(dir, 'store');
  fs.mkdirSync(storeDir);
  return {
    dir,
    model,
    store: new LocalStore(storeDir),
    storeDir,
    keys: keys as Workspace['keys'],
    ciBundle: signed.bundleText,
    ciBundleFile,
    root: signed.rootDigest,
  };
}

/** Publishes bundle text at its content-derived key; returns the key. */
export async function publish(ws: Workspace, text: string | Buffer): Promise<string> {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const { key } = deriveKey(body);
  await ws.store.put(key, body);
  return key;
}

/** A CycloneDX-shaped predicate with an accuracy metric and optional vulnerabilities. */
export function bomPredicate(accuracy: string, critical = 0): Record<string, unknown> {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: {
      component: {
        type: 'machine-learning-model',
        name: 'model',
        modelCard: { quantitativeAnalysis: { performanceMetrics: [{ type: 'accuracy', value: accuracy }, { type: 'f1', value: '0.5' }] } },
      },
    },
    vulnerabilities: Array.from({ length: critical }, (_, i) => ({ id: `CVE-2025-${1000 + i}`, ratings: [{ severity: 'critical' }] })),
  };
}

/** Signs an SBOM attestation about `root` with `key`; returns the bundle text. */
export async function sbom(root: string, key: TestKey, predicate: Record<string, unknown>): Promise<string> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: root } }],
    predicateType: 'https://cyclonedx.org/bom',
    predicate,
  };
  return (await signStatement(statement, key.signer)).bundleText;
}

/** Writes a policy file into the workspace and returns its path. */
export function writePolicy(ws: Workspace, text: string, name = 'policy.yaml'): string {
  const file = path.join(ws.dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The sample policy: ci + compliance required, compliance may revoke (key paths relative to the policy). */
export const SAMPLE_POLICY = `apiVersion: modelseal.dev/v1
kind: TrustPolicy
signers:
  - name: ci
    publicKey: ci.pub.pem
  - name: compliance
    publicKey: compliance.pub.pem
require:
  allOf: [ci, compliance]        # or: { atLeast: 2, of: [ci, compliance, lead] }
revokers: [compliance]
`;

/**
 * Re-encodes a bundle with its statement altered but the original signature kept: what tampering looks like.
 */
export function tamper(bundleText: string, edit: (statement: Record<string, any>) => void): string {
  const b = JSON.parse(bundleText);
  const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
  edit(st);
  b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st, null, 2)).toString('base64');
  return JSON.stringify(b);
}
