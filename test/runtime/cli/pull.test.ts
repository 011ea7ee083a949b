/**
 * `modelseal pull`: check the digest against the policy, stream the model from a local folder or S3 while hashing
 * it, and let nothing appear under DEST unless every file matched (issue 13, "Done when": pull tests).
 */
import { createPublicKey } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { KServeModelLoadVerification, ModelLoadVerification, VerifierImage } from '../../../src';
import { pullCommand, PullCommandDeps } from '../../../src/runtime/cli/commands/pull';
import { main } from '../../../src/runtime/cli/main';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { cosignBundle } from '../../../src/runtime/engine/cosign';
import { hashModel, rootDigest } from '../../../src/runtime/engine/hashing';
import { manifestDigest } from '../../../src/runtime/engine/manifest';
import { signManifest, signModel } from '../../../src/runtime/engine/sign';
import type { Manifest } from '../../../src/runtime/engine/types';
import { STAGING_PREFIX } from '../../../src/runtime/policy/pull';
import { deriveKey } from '../../../src/runtime/store/keys';
import { S3Store } from '../../../src/runtime/store/s3';
import { cleanup } from '../../fixtures/models';
import { S3Mock } from '../../helpers/s3-mock';
import { saltedModel, verifierWorld, VerifierWorld } from '../../helpers/verifier';

let world: VerifierWorld;
/** A model with a file larger than the part size, signed by both parties, and its files keyed by name. */
let big: { dir: string; digest: string; files: Record<string, Buffer> };
const PART = 64 * 1024;

beforeAll(async () => {
  world = await verifierWorld();
  const dir = path.join(world.dir, 'models', 'big');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const files: Record<string, Buffer> = {
    'weights.bin': Buffer.from(Array.from({ length: 5 * PART + 123 }, (_, i) => (i * 31 + 7) % 251)),
    'config.json': Buffer.from('{"layers": 4}\n'),
    'sub/tokenizer.json': Buffer.from('{"vocab": ["a"]}\n'),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  const signed = await signModel(dir, world.keys.ci.signer, { workers: 1 });
  const co = await cosignBundle(Buffer.from(signed.bundleText), world.keys.compliance.signer, { trust: { publicKey: createPublicKey(world.keys.ci.pubPem) } }); // eslint-disable-line @stylistic/max-len
  for (const text of [signed.bundleText, co.bundleText]) {
    const body = Buffer.from(text);
    await world.store.put(deriveKey(body).key, body);
  }
  big = { dir, digest: `sha256:${signed.rootDigest}`, files };
});

afterAll(() => cleanup(world.dir));

/** Runs pull in-process. */
async function pull(argv: string[], deps: PullCommandDeps = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } };
  let code: number;
  try {
    code = await pullCommand(argv, io, deps);
  } catch (e) {
    // the CLI's mapping (main.ts): verification failures exit 1, usage errors 2
    code = e instanceof VerificationError ? 1 : e instanceof UsageError ? 2 : 99;
    stderr += (e as Error).message;
  }
  return { code, stdout, stderr };
}

/** Everything under a folder, as relative paths (hidden entries included). */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(path.join(d, e.name), r);
    else out.push(r);
  });
  walk(dir, '');
  return out.sort();
}

let n = 0;
const freshDest = () => path.join(world.dir, `dest-${++n}`);
const common = () => ['--store', world.store.uri, '--policy', world.policyFile];

/** A bucket holding the big model under fraud/1/ (and the store's objects in a second mock). */
function bucketWithModel(): S3Mock {
  const s3 = S3Mock.create({ bucket: 'models', maxKeys: 3 });
  for (const [name, bytes] of Object.entries(big.files)) s3.seed(`fraud/1/${name}`, bytes);
  return s3;
}

describe('from a local folder, with a local store', () => {
  test('a model attested as required is written to DEST, byte for byte, and nothing else', async () => {
    const dest = freshDest();
    const r = await pull([world.models.allowed, dest, ...common(), '--digest', world.digests.allowed, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'pull', root: world.digests.allowed, files: 3, signers: ['ci', 'compliance'], manifest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(tree(dest)).toEqual(['config.json', 'sub/tokenizer.json', 'weights.bin']);
    for (const f of tree(dest)) expect(fs.readFileSync(path.join(dest, f))).toEqual(fs.readFileSync(path.join(world.models.allowed, f)));
  });

  test('flags may come first (as a KServe ClusterStorageContainer renders them) and DEST may exist empty', async () => {
    const dest = freshDest();
    fs.mkdirSync(dest);
    const r = await pull([...common(), '--digest', world.digests.allowed, world.models.allowed, dest]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Pulled and verified sha256:[0-9a-f]{64}: 3 files, \d+ bytes into .* \(manifest sha256:[0-9a-f]{64}, signed by ci, compliance\)\n$/);
  });

  test.each([
    ['signed by one of two signers', 'oneSigner', /does not meet the trust policy .*missing: compliance/],
    ['revoked', 'revoked', /revoked by compliance/],
    ['unsigned', 'unsigned', /needs all of \[ci, compliance\]; verified: none/],
  ] as const)('%s: exit 1, DEST left empty', async (_what, which, reason) => {
    const dest = freshDest();
    const r = await pull([world.models.allowed, dest, ...common(), '--digest', world.digests[which]]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(reason);
    expect(tree(dest)).toEqual([]);
  });

  test('the wrong digest (another signed model\'s): exit 1, the files do not match its manifest, DEST empty', async () => {
    const dest = freshDest();
    const r = await pull([world.models.allowed, dest, ...common(), '--digest', big.digest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match the manifest that met the policy \(sha256:[0-9a-f]{64}\): missing from the source: empty.txt$/);
    expect(tree(dest)).toEqual([]);
  });

  test('a file changed on disk after signing: exit 1 naming it, DEST empty', async () => {
    const src = path.join(world.dir, 'changed');
    fs.cpSync(world.models.allowed, src, { recursive: true });
    fs.appendFileSync(path.join(src, 'config.json'), ' ');
    const dest = freshDest();
    const r = await pull([src, dest, ...common(), '--digest', world.digests.allowed]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config.json does not match the manifest: signed sha256:[0-9a-f]{64}, downloaded sha256:[0-9a-f]{64}/);
    expect(tree(dest)).toEqual([]);
  });

  test('two manifests over one root both meet the policy: files matching the one the decision did not choose are refused', async () => {
    // the same file digests under other names make the same root digest but another manifest (issue 10 #1); when
    // both parties signed both, check chooses the smallest manifest digest, and pull must check the files against it
    const src = saltedModel(world.dir, 'two-manifests', 'two-manifests');
    const original = await hashModel(src, { workers: 1 });
    const renamed: Manifest = { ...original, resources: original.resources.map((r) => (r.name === 'config.json' ? { ...r, name: 'settings.json' } : r)) };
    for (const m of [original, renamed]) {
      for (const who of [world.keys.ci, world.keys.compliance]) {
        const body = Buffer.from((await signManifest('model', m, who.signer)).bundleText);
        await world.store.put(deriveKey(body).key, body);
      }
    }
    const digest = `sha256:${rootDigest(original.resources)}`;
    const [chosen, other] = [original, renamed].sort((a, b) => (manifestDigest(a) < manifestDigest(b) ? -1 : 1));
    // lay the source out as the manifest that was NOT chosen
    const asOther = path.join(world.dir, 'two-manifests-other');
    const layOut = (dir: string, m: Manifest) => {
      fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
      for (const r of m.resources) fs.copyFileSync(path.join(src, r.name === 'settings.json' ? 'config.json' : r.name), path.join(dir, r.name));
    };
    layOut(asOther, other);
    const dest = freshDest();
    const refused = await pull([asOther, dest, ...common(), '--digest', digest]);
    expect(refused.code).toBe(1);
    const [missing, extra] = chosen === original ? ['config.json', 'settings.json'] : ['settings.json', 'config.json'];
    expect(refused.stderr).toBe(`${asOther} does not match the manifest that met the policy (sha256:${manifestDigest(chosen)}): `
      + `missing from the source: ${missing}; not covered by the manifest: ${extra}`);
    expect(tree(dest)).toEqual([]);
    // laid out as the chosen manifest, the same bytes pass, and the answer names that manifest
    const asChosen = path.join(world.dir, 'two-manifests-chosen');
    layOut(asChosen, chosen);
    const ok = await pull([asChosen, freshDest(), ...common(), '--digest', digest, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, manifest: `sha256:${manifestDigest(chosen)}` });
  });

  test('DEST that is not empty: exit 2 and it is not touched', async () => {
    const dest = freshDest();
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'old.bin'), 'old');
    const r = await pull([world.models.allowed, dest, ...common(), '--digest', world.digests.allowed]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DEST .* is not empty \(old.bin\)/);
    expect(tree(dest)).toEqual(['old.bin']);
  });

  test.each([
    ['no digest', [], /pull needs --digest sha256:ROOT/],
    ['an unexpanded downward-API variable', ['--digest', '$(MODELSEAL_DIGEST)'], /--digest "\$\(MODELSEAL_DIGEST\)" is not sha256:<64 lowercase hex>/],
    ['an empty annotation', ['--digest', ''], /--digest needs a value|is not sha256/],
  ])('%s is a usage error (exit 2), nothing written', async (_what, extra, message) => {
    const dest = freshDest();
    const r = await pull([world.models.allowed, dest, ...common(), ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(dest) ? tree(dest) : []).toEqual([]);
  });

  test('one positional is a usage error', async () => {
    const r = await pull([world.models.allowed, ...common(), '--digest', world.digests.allowed]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pull needs SOURCE and DEST/);
  });
});

describe('from S3, streamed in ranged parts', () => {
  test('a model with a file larger than the part size: every part is a ranged GET pinned to the listed ETag', async () => {
    const s3 = bucketWithModel();
    const dest = freshDest();
    const r = await pull(['s3://models/fraud/1/', dest, ...common(), '--digest', big.digest], { sourceS3Client: s3.client, partSize: PART });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(tree(dest)).toEqual(['config.json', 'empty.txt', 'sub/tokenizer.json', 'weights.bin']);
    expect(fs.readFileSync(path.join(dest, 'weights.bin'))).toEqual(big.files['weights.bin']);
    const gets = s3.getCalls().filter((c) => c.Key === 'fraud/1/weights.bin');
    expect(gets.map((c) => c.Range)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `bytes=${i * PART}-${Math.min((i + 1) * PART, big.files['weights.bin'].length) - 1}`));
    expect(new Set(gets.map((c) => c.IfMatch))).toEqual(new Set([expect.stringMatching(/^"[0-9a-f]{32}"$/)]));
    // the empty file is never fetched
    expect(s3.getCalls().filter((c) => c.Key === 'fraud/1/empty.txt')).toEqual([]);
  });

  test('with the attestation store in S3 too', async () => {
    const s3 = bucketWithModel();
    const storeS3 = S3Mock.create();
    const copy = (dir: string, rel = ''): void => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => (e.isDirectory()
      ? copy(path.join(dir, e.name), `${rel}${e.name}/`)
      : storeS3.seed(`${rel}${e.name}`, fs.readFileSync(path.join(dir, e.name)))));
    copy(world.storeDir);
    const dest = freshDest();
    const r = await pull(['s3://models/fraud/1', dest, '--store', 's3://modelseal-store', '--policy', world.policyFile, '--digest', big.digest], {
      sourceS3Client: s3.client, partSize: PART, openStore: () => new S3Store({ bucket: 'modelseal-store', client: storeS3.client, maxAttempts: 2, sleep: async () => undefined }),
    });
    expect(r.code).toBe(0);
    expect(tree(dest)).toHaveLength(4);

    // store down: exit 1, DEST empty
    storeS3.throttle(50);
    const down = freshDest();
    const failed = await pull(['s3://models/fraud/1/', down, '--store', 's3://modelseal-store', '--policy', world.policyFile, '--digest', big.digest], {
      sourceS3Client: s3.client, openStore: () => new S3Store({ bucket: 'modelseal-store', client: storeS3.client, maxAttempts: 2, sleep: async () => undefined }),
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/cannot read the attestation set of sha256:[0-9a-f]{64} from s3:\/\/modelseal-store\/: S3 ListObjectsV2 .* failed 2 times .*SlowDown/);
    expect(tree(down)).toEqual([]);
  });

  test.each([
    ['a tampered object (same size)', (s3: S3Mock) => s3.tamper('fraud/1/weights.bin', Buffer.from(big.files['weights.bin']).fill(1, 3 * PART, 3 * PART + 1), false), /weights.bin does not match the manifest/],
    ['an extra object', (s3: S3Mock) => s3.seed('fraud/1/extra.txt', Buffer.from('x')), /not covered by the manifest: extra.txt/],
    ['a missing object', (s3: S3Mock) => s3.objects.delete('fraud/1/sub/tokenizer.json'), /missing from the source: sub\/tokenizer.json/],
    ['access denied', (s3: S3Mock) => s3.deny('GetObject'), /S3 denied GetObject on s3:\/\/models\/fraud\/1\/.* s3:GetObject and s3:ListBucket/],
    ['an unreachable bucket', (s3: S3Mock) => s3.throttle(1000), /S3 ListObjectsV2 on s3:\/\/models\/fraud\/1\/ failed after 5 attempts: SlowDown/],
  ] as const)('%s: exit 1, DEST left empty', async (_what, fault, message) => {
    const s3 = bucketWithModel();
    fault(s3);
    const dest = freshDest();
    const r = await pull(['s3://models/fraud/1/', dest, ...common(), '--digest', big.digest], { sourceS3Client: s3.client, partSize: PART });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(tree(dest)).toEqual([]);
    expect(fs.readdirSync(dest).filter((e) => e.startsWith(STAGING_PREFIX))).toEqual([]);
  });

  test('an object replaced while it downloads fails on the ETag pin, and DEST is left empty', async () => {
    const s3 = bucketWithModel();
    let parts = 0;
    s3.stub.on(GetObjectCommand).callsFake((input: any) => {
      if (input.Key === 'fraud/1/weights.bin' && ++parts === 3) {
        s3.seed('fraud/1/weights.bin', Buffer.concat([big.files['weights.bin'], Buffer.from('!')]));
      }
      return (s3 as any).getObject(input);
    });
    const dest = freshDest();
    const r = await pull(['s3://models/fraud/1/', dest, ...common(), '--digest', big.digest], { sourceS3Client: s3.client, partSize: PART });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/s3:\/\/models\/fraud\/1\/weights.bin changed while it was being downloaded/);
    expect(tree(dest)).toEqual([]);
  });

  test('a single-object model (s3://bucket/model.joblib) is written under its own name', async () => {
    const file = path.join(world.dir, 'model.joblib');
    fs.writeFileSync(file, Buffer.alloc(1000, 9));
    const signed = await signModel(file, world.keys.ci.signer, { workers: 1 });
    const co = await cosignBundle(Buffer.from(signed.bundleText), world.keys.compliance.signer, { trust: { publicKey: createPublicKey(world.keys.ci.pubPem) } }); // eslint-disable-line @stylistic/max-len
    for (const text of [signed.bundleText, co.bundleText]) await world.store.put(deriveKey(Buffer.from(text)).key, Buffer.from(text));
    const s3 = S3Mock.create({ bucket: 'models' });
    s3.seed('sklearn/model.joblib', fs.readFileSync(file));
    s3.seed('sklearn/model.joblib.bak', Buffer.from('other'));
    const dest = freshDest();
    const r = await pull(['s3://models/sklearn/model.joblib', dest, ...common(), '--digest', `sha256:${signed.rootDigest}`], { sourceS3Client: s3.client });
    expect(r.stderr).toBe('');
    expect(tree(dest)).toEqual(['model.joblib']);
  });
});

describe('the command lines the load-time constructs render', () => {
  const image = VerifierImage.fromRegistry(`registry.example/modelseal@sha256:${'ef'.repeat(32)}`);

  /** Kubernetes' $(VAR) expansion with the pod's downward-API value, and the pod's mounts mapped to this machine. */
  const expand = (args: string[], digest: string) => args.map((a) => a
    .replace('$(MODELSEAL_DIGEST)', digest)
    .replace('/etc/modelseal/policy/policy.yaml', world.policyFile)
    .replace(/^s3:\/\/attestations-bucket$/, world.store.uri));

  test('KServe ClusterStorageContainer: flags in the command, then KServe appends the storageUri and /mnt/models', async () => {
    const chart = Testing.chart();
    const kserve = new KServeModelLoadVerification(chart, 'KServe', { image, storeUri: 's3://attestations-bucket', trustPolicy: 'x: 1', namespaces: ['models'] });
    const command = (kserve.storageContainer.toJson().spec.container.command as string[]);
    expect(command.slice(0, 2)).toEqual(['modelseal', 'pull']);
    const dest = freshDest();
    const argv = [...expand(command.slice(2), big.digest), 's3://models/fraud/1/', dest];
    const r = await pull(argv, { sourceS3Client: bucketWithModel().client, partSize: PART });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(tree(dest)).toHaveLength(4);
  });

  test('ModelLoadVerification init container: SOURCE and DEST first, then the flags', async () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'Server', { containers: [{ image: `registry.example/serving@sha256:${'0c'.repeat(32)}`, securityContext: { ensureNonRoot: false } }] });
    const load = new ModelLoadVerification(chart, 'Load', { image, storeUri: 's3://attestations-bucket', trustPolicy: 'x: 1', workload: deployment, digest: world.digests.allowed, source: world.models.allowed });
    const command = load.initContainer.command!;
    expect(command.slice(0, 2)).toEqual(['modelseal', 'pull']);
    const argv = expand(command.slice(2), world.digests.allowed);
    const dest = freshDest();
    argv[1] = dest;
    const r = await pull(argv);
    expect(r.code).toBe(0);
    expect(tree(dest)).toEqual(['config.json', 'sub/tokenizer.json', 'weights.bin']);
  });
});

test('the CLI entry point maps a pull failure to exit 1 and its message', async () => {
  let stderr = '';
  const code = await main(['pull', world.models.allowed, freshDest(), ...common(), '--digest', world.digests.oneSigner], {
    stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  expect(code).toBe(1);
  expect(stderr).toMatch(/^modelseal: sha256:[0-9a-f]{64} does not meet the trust policy/);
});
