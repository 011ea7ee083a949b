/**
 * A world for the verifier service tests: real keys, real models signed as a two-party policy demands, a local
 * store, TLS material from `modelseal tls init`'s own code, and an HTTPS client for loopback.
 *
 * Digests: `allowed` (ci + compliance), `oneSigner` (ci only), `revoked` (both, then revoked by compliance),
 * `tampered` (both, but ci's bundle carries an altered statement), `unsigned` (nothing in the store).
 */
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { Writable } from 'stream';
import * as tls from 'tls';
import { loadVerifiedPodSpec } from '../../src/k8s/private/samples';
import { makeVerifierTls, TlsMaterial } from '../../src/runtime/cli/commands/tls';
import { cosignBundle } from '../../src/runtime/engine/cosign';
import { signModel } from '../../src/runtime/engine/sign';
import { publishRevocation, signRevocation } from '../../src/runtime/policy/revocation';
import { startVerifier, Verifier, VerifierOptions } from '../../src/runtime/service/server';
import { LocalKeySigner } from '../../src/runtime/signers/local';
import { deriveKey } from '../../src/runtime/store/keys';
import { LocalStore } from '../../src/runtime/store/local';
import type { ObjectStore, PutOutcome } from '../../src/runtime/store/types';
import { cleanup, ecKey, tempDir } from '../fixtures/models';
import { SAMPLE_POLICY } from '../runtime/policy/fixtures';

/** The Service DNS name the test certificates carry (the ModelVerifier defaults). */
export const SERVICE_NAME = 'modelseal-verifier.modelseal-system.svc';

/** A pinned image for workloads. */
export const PINNED_IMAGE = `registry.example/serving@sha256:${'0c'.repeat(32)}`;

/** The two-party trust policy the world's digests are judged by (the trust-policy tests' sample: ci + compliance). */
export const TWO_PARTY_POLICY = SAMPLE_POLICY;

/** A signer with its files. */
export interface WorldKey {
  readonly signer: LocalKeySigner;
  readonly pubPem: string;
}

/** See the module comment. */
export interface VerifierWorld {
  readonly dir: string;
  readonly storeDir: string;
  readonly store: LocalStore;
  readonly policyFile: string;
  readonly keys: { readonly ci: WorldKey; readonly compliance: WorldKey };
  readonly digests: Readonly<Record<'allowed' | 'oneSigner' | 'revoked' | 'tampered' | 'unsigned', string>>;
  /** Models on disk by digest name. */
  readonly models: Record<'allowed' | 'oneSigner' | 'revoked' | 'tampered', string>;
  readonly tls: TlsMaterial & { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

/** Writes a small model whose content (and so root digest) depends on `salt`. */
export function saltedModel(parent: string, name: string, salt: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([Buffer.from(salt), Buffer.alloc(8192, 3)]));
  fs.writeFileSync(path.join(dir, 'config.json'), `{"salt": ${JSON.stringify(salt)}}\n`);
  fs.writeFileSync(path.join(dir, 'sub', 'tokenizer.json'), '{"vocab": []}\n');
  return dir;
}

async function put(store: ObjectStore, text: string): Promise<PutOutcome> {
  const body = Buffer.from(text, 'utf8');
  return store.put(deriveKey(body).key, body);
}

/** Builds the world (fresh keys, models, store, TLS) in a temp dir. */
export async function verifierWorld(): Promise<VerifierWorld> {
  const dir = tempDir('modelseal-verifier-');
  const key = (name: string): WorldKey => {
    const k = ecKey('P-256');
    fs.writeFileSync(path.join(dir, `${name}.pub.pem`), k.pubPem);
    return { signer: new LocalKeySigner(k.privateKey), pubPem: k.pubPem };
  };
  const keys = { ci: key('ci'), compliance: key('compliance') };
  const storeDir = path.join(dir, 'store');
  fs.mkdirSync(storeDir);
  const store = new LocalStore(storeDir);
  const policyFile = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policyFile, TWO_PARTY_POLICY);

  const models = {} as Record<'allowed' | 'oneSigner' | 'revoked' | 'tampered', string>;
  const digests: Record<string, string> = {};
  for (const name of ['allowed', 'oneSigner', 'revoked', 'tampered'] as const) {
    const model = saltedModel(path.join(dir, 'models'), name, name);
    models[name] = model;
    const signed = await signModel(model, keys.ci.signer, { workers: 1 });
    digests[name] = `sha256:${signed.rootDigest}`;
    const co = await cosignBundle(Buffer.from(signed.bundleText), keys.compliance.signer, { trust: { publicKey: (await import('crypto')).createPublicKey(keys.ci.pubPem) } });
    if (name === 'tampered') {
      // ci's bundle with one resource digest changed, signature kept: what an attacker with write access publishes
      const b = JSON.parse(signed.bundleText);
      const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
      st.predicate.resources[0].digest = 'f'.repeat(64);
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st, null, 2)).toString('base64');
      await put(store, JSON.stringify(b));
    } else {
      await put(store, signed.bundleText);
    }
    if (name !== 'oneSigner') {
      await put(store, co.bundleText);
    }
    if (name === 'revoked') {
      await publishRevocation(store, await signRevocation(signed.rootDigest, keys.compliance.signer, { reason: 'CVE-2026-0001 in the tokenizer' }));
    }
  }
  digests.unsigned = `sha256:${'ab'.repeat(32)}`;
  const material = await makeVerifierTls({ service: 'modelseal-verifier', namespace: 'modelseal-system', days: 2, caDays: 3 });
  const tlsDir = path.join(dir, 'tls');
  fs.mkdirSync(tlsDir);
  const files = { ...material, certFile: path.join(tlsDir, 'tls.crt'), keyFile: path.join(tlsDir, 'tls.key'), caFile: path.join(tlsDir, 'ca.crt') };
  fs.writeFileSync(files.certFile, material.certPem);
  fs.writeFileSync(files.keyFile, material.keyPem, { mode: 0o600 });
  fs.writeFileSync(files.caFile, material.caPem);
  return { dir, storeDir, store, policyFile, keys, digests: digests as VerifierWorld['digests'], models, tls: files };
}

/** A copy of the world's policy and key files in a fresh folder under it, to change; returns the policy file. */
export function policyCopy(world: VerifierWorld, name: string, text = TWO_PARTY_POLICY): string {
  const dir = path.join(world.dir, name);
  fs.mkdirSync(dir);
  for (const f of ['ci.pub.pem', 'compliance.pub.pem']) fs.copyFileSync(path.join(world.dir, f), path.join(dir, f));
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, text);
  return file;
}

/**
 * For a test file that starts several verifiers: builds the world before all tests, shuts every verifier started with
 * `start` down after each test, and removes the world after all.
 */
export function verifiersPerTest(): { world: () => VerifierWorld; start: (overrides?: Partial<VerifierOptions>) => Promise<Verifier> } {
  let world: VerifierWorld | undefined;
  const running: Verifier[] = [];
  beforeAll(async () => {
    world = await verifierWorld();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((v) => v.shutdown('test done')));
  });
  afterAll(() => world && cleanup(world.dir));
  return {
    world: () => world!,
    start: async (overrides = {}) => {
      const v = await startVerifier(worldOptions(world!, overrides));
      running.push(v);
      return v;
    },
  };
}

/** Collected JSON log lines. */
export class LogSink extends Writable {
  public readonly lines: Record<string, any>[] = [];
  public text = '';

  public override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.lines.push(JSON.parse(line));
    }
    cb();
  }

  /** The decision lines. */
  public decisions(): Record<string, any>[] {
    return this.lines.filter((l) => l.event === 'decision');
  }
}

/** Options for a verifier on loopback in the world (any free port, quick reload polling). */
export function worldOptions(world: VerifierWorld, overrides: Partial<VerifierOptions> = {}): VerifierOptions & { logStream: LogSink } {
  return {
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: world.tls.certFile, keyFile: world.tls.keyFile, minVersion: 'TLSv1.2' },
    storeUri: world.store.uri,
    policyFile: world.policyFile,
    allowTtlMs: 60_000,
    denyTtlMs: 5_000,
    cacheSize: 10_000,
    deadlineMs: 2_000,
    exemptNamespaces: ['sandbox'],
    maxBodyBytes: 1_048_576,
    reloadPollMs: 200,
    shutdownTimeoutMs: 5_000,
    logStream: new LogSink(),
    ...overrides,
  } as VerifierOptions & { logStream: LogSink };
}

/** One HTTPS response. */
export interface HttpResult {
  readonly status: number;
  readonly body: any;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** SHA-256 fingerprint of the server certificate the connection saw. */
  readonly peerFingerprint?: string;
}

/** Options of {@link request}. */
export interface RequestOptions {
  readonly method?: 'GET' | 'POST';
  /** A JSON body, or raw text when a string. */
  readonly body?: unknown;
  readonly ca: string;
  readonly agent?: https.Agent;
  readonly contentType?: string;
  /** Client certificate and key (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
  /** Gives up after this many ms. @default 10000 */
  readonly timeoutMs?: number;
}

/** An HTTPS request to a loopback verifier, checking its certificate for {@link SERVICE_NAME} against `ca` only. */
export function request(url: string, opts: RequestOptions): Promise<HttpResult> {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
      ca: opts.ca,
      servername: SERVICE_NAME,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(SERVICE_NAME, cert),
      ...(opts.agent ? { agent: opts.agent } : { agent: false }),
      ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
      headers: body === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: opts.timeoutMs ?? 10_000,
    }, (res) => {
      // read now: a keep-alive agent takes the socket back once the response ends
      const peer = (res.socket as tls.TLSSocket | null)?.getPeerCertificate?.();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const fingerprint = peer?.fingerprint256 ? { peerFingerprint: peer.fingerprint256 } : {};
        resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers, ...fingerprint });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** An AdmissionReview v1 for `object`. */
export function admissionReview(object: any, opts: { uid?: string; operation?: string; namespace?: string } = {}): any {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? 'uid-1',
      kind: { group: '', version: 'v1', kind: object?.kind ?? 'Pod' },
      operation: opts.operation ?? 'CREATE',
      namespace: opts.namespace ?? 'models',
      name: object?.metadata?.name ?? 'x',
      object,
    },
  };
}

/** A Pod that loads the model `digest`, with `image`, verified at load as ModelLoadVerification renders it. */
export function modelPod(digest: string | undefined, image = PINNED_IMAGE, extraAnnotations: Record<string, string> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'server',
      namespace: 'models',
      annotations: { ...(digest !== undefined ? { 'modelseal.dev/model-digest': digest } : {}), 'modelseal.dev/model-uri': 's3://models/fraud/1/', ...extraAnnotations },
    },
    spec: loadVerifiedPodSpec(image),
  };
}

/** A Gatekeeper ProviderRequest for `keys`. */
export function providerRequest(keys: unknown[]): any {
  return { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys } };
}
