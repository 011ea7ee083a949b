/**
 * Issue 10: one decision that means what it says. Each numbered finding of the issue is reproduced here as the
 * attacker (one compromised signer, or only the build runner's publish rights) would try it, and the exact reason of
 * the answer is asserted. Findings that live in one module (strict JSON, non-UTF-8 names, S3 versions) have their
 * reproduction beside that module's tests and are named "issue 10 #N" there too.
 */
import { createHash, createPrivateKey, createPublicKey } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { publish, SAMPLE_POLICY, workspace, Workspace, writePolicy } from './fixtures';
import { formatRootDigest } from '../../../src/runtime/codec/digest';
import { cosignBundle } from '../../../src/runtime/engine/cosign';
import { hashModel } from '../../../src/runtime/engine/hashing';
import { keyHint } from '../../../src/runtime/engine/keys';
import { manifestDigest } from '../../../src/runtime/engine/manifest';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../../../src/runtime/engine/pae';
import { signManifest } from '../../../src/runtime/engine/sign';
import { signStatement } from '../../../src/runtime/engine/sign-statement';
import type { Signer } from '../../../src/runtime/engine/signer';
import { buildStatement, parseStatement } from '../../../src/runtime/engine/statement';
import type { Manifest } from '../../../src/runtime/engine/types';
import { checkStore, checkStoreWithSet } from '../../../src/runtime/policy/check';
import { manifestForDecision, verifyModelAgainstPolicy } from '../../../src/runtime/policy/decision';
import { loadTrustPolicy } from '../../../src/runtime/policy/load';
import { signRevocation } from '../../../src/runtime/policy/revocation';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { deriveKey } from '../../../src/runtime/store/keys';
import { S3Store } from '../../../src/runtime/store/s3';
import { cleanup } from '../../fixtures/models';
import { makePki } from '../../fixtures/pki';
import { runCli } from '../../helpers/cli';
import { KmsMock } from '../../helpers/kms-mock';
import { S3Mock } from '../../helpers/s3-mock';

let ws: Workspace;
let signed: Manifest;
beforeEach(async () => {
  ws = await workspace();
  signed = await hashModel(ws.model, { workers: 1 });
});
afterEach(() => cleanup(ws.dir));

async function policy(text = SAMPLE_POLICY) {
  return loadTrustPolicy(writePolicy(ws, text));
}

/** Signs `manifest` as `who` and publishes the bundle; returns the store key. */
async function signAndPublish(who: keyof Workspace['keys'], manifest: Manifest): Promise<string> {
  const r = await signManifest('model', manifest, ws.keys[who].signer);
  return publish(ws, r.bundleText);
}

/** The ci-signed manifest with `config.json` renamed to `evil.json`: the same digests, so the same root. */
function renamed(): Manifest {
  return {
    ...signed,
    resources: signed.resources.map((r) => (r.name === 'config.json' ? { ...r, name: 'evil.json' } : r)),
  };
}

const hex = (m: Manifest) => `sha256:${manifestDigest(m)}`;

/** A co-signature of the ci-signed statement (verified with ci's key first), as bundle text. */
async function cosignText(signer: Signer): Promise<string> {
  return (await cosignBundle(Buffer.from(ws.ciBundle), signer, { trust: { publicKey: ws.keys.ci.publicKey } })).bundleText;
}

describe('issue 10 #1: signers agree on a manifest, not on a root digest', () => {
  test('the same digests under other file names make the same root but another manifest: signatures never add up', async () => {
    const evil = renamed();
    expect(formatRootDigest(parseStatement(Buffer.from(JSON.stringify(buildStatement('model', evil)))).rootDigest!)).toBe(formatRootDigest(ws.root));
    await publish(ws, ws.ciBundle);
    await signAndPublish('compliance', evil); // compromised compliance signs the renamed manifest
    const r = await checkStore(await policy(), ws.store, ws.root);
    expect(r.decision).toBe('deny');
    expect(r.manifest).toBeUndefined();
    const [a, b] = [hex(signed), hex(evil)].sort();
    const by = (m: string) => (m === hex(signed) ? 'ci' : 'compliance');
    expect(r.reasons).toEqual([
      `model signatures: requirement not met: needs all of [ci, compliance]; verified: ${by(a)}; missing: ${by(a) === 'ci' ? 'compliance' : 'ci'}; `
      + `signatures over different manifests never add up: ${a} signed by ${by(a)}, ${b} signed by ${by(b)}`,
    ]);
    expect(r.manifests).toEqual([
      { digest: a, resources: 3, signedBy: [by(a)], meetsRequirement: false, chosen: false },
      { digest: b, resources: 3, signedBy: [by(b)], meetsRequirement: false, chosen: false },
    ]);
    expect(r.signatures.map((s) => s.manifest).sort()).toEqual([a, b]);
  });

  test('an ignore_paths entry that covers the whole model is refused at sign, publish, verify and check, naming the entry', async () => {
    await publish(ws, ws.ciBundle);
    await expect(hashModel(ws.model, { modelIgnorePaths: ['.'] })).rejects.toThrow('ignore path "." is the model root itself, which would leave every file unsigned');
    await expect(hashModel(ws.model, { ignorePaths: [ws.model] })).rejects.toThrow(`ignore path ${JSON.stringify(ws.model)} is the model itself (${ws.model}); ignoring it would leave every file unsigned`);
    for (const entry of ['.', '', '/', '/etc', '../x', 'a/../..', './']) {
      const statement = buildStatement('model', { ...signed, serialization: { ...signed.serialization, ignore_paths: [entry] } });
      const text = (await signStatement(statement, ws.keys.compliance.signer)).bundleText;
      const why = new RegExp(`serialization\\.ignore_paths entry ${JSON.stringify(entry).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} .*; a signature must not exempt the whole model`);
      expect(() => deriveKey(Buffer.from(text))).toThrow(why);
      const sig = path.join(ws.dir, 'whole.sig');
      fs.writeFileSync(sig, text);
      const v = await runCli('verify', 'key', ws.model, '--signature', sig, '--public-key', ws.keys.compliance.pubFile);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(why);
      // written behind the store's back, at the key it would have had: rejected, never counted
      const key = `bundles/sha256/${ws.root}/${keyHint(ws.keys.compliance.publicKey)}/${createHash('sha256').update(text).digest('hex')}.sig.json`;
      fs.mkdirSync(path.dirname(path.join(ws.storeDir, key)), { recursive: true });
      fs.writeFileSync(path.join(ws.storeDir, key), text);
      const r = await checkStore(await policy(), ws.store, ws.root);
      expect(r.decision).toBe('deny');
      expect(r.notes.find((n) => n.startsWith(key))).toMatch(why);
      fs.rmSync(path.join(ws.storeDir, key));
    }
  });

  test('both signers over one manifest: the decision names it, and --json carries it', async () => {
    await publish(ws, ws.ciBundle);
    await signAndPublish('compliance', signed);
    const r = await checkStore(await policy(), ws.store, ws.root);
    expect(r.decision).toBe('allow');
    expect(r.manifest).toBe(hex(signed));
    expect(r.requirements[0]).toMatchObject({ met: true, signedBy: ['ci', 'compliance'], manifest: hex(signed) });
    const cli = await runCli('check', '--store', ws.storeDir, '--policy', path.join(ws.dir, 'policy.yaml'), ws.root, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ decision: 'allow', manifest: hex(signed), manifests: [{ digest: hex(signed), chosen: true }] });
    const text = await runCli('check', '--store', ws.storeDir, '--policy', path.join(ws.dir, 'policy.yaml'), ws.root);
    expect(text.stdout.split('\n')[0]).toBe(`ALLOW sha256:${ws.root} manifest ${hex(signed)} (policy ${path.join(ws.dir, 'policy.yaml')})`);
  });

  test('two manifests that each meet the policy: the smallest digest is chosen and the other is reported', async () => {
    const evil = renamed();
    await publish(ws, ws.ciBundle);
    await signAndPublish('compliance', signed);
    await signAndPublish('ci', evil);
    await signAndPublish('compliance', evil);
    const r = await checkStore(await policy(), ws.store, ws.root);
    const [first, second] = [hex(signed), hex(evil)].sort();
    expect(r.decision).toBe('allow');
    expect(r.manifest).toBe(first);
    expect(r.notes).toContain(`manifest ${second} also meets the signer requirement (signed by ci, compliance); the decision uses ${first}, the smallest digest, and the model files must match it`);
    expect(r.manifests.map((m) => [m.digest, m.meetsRequirement, m.chosen])).toEqual([[first, true, true], [second, true, false]]);
  });

  test('an SBOM keeps binding to the root digest whatever manifest the signers chose', async () => {
    const bom = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: ws.root } }],
      predicateType: 'https://cyclonedx.org/bom',
      predicate: { bomFormat: 'CycloneDX' },
    };
    await publish(ws, ws.ciBundle);
    await publish(ws, (await signStatement(bom, ws.keys.ci.signer)).bundleText);
    const r = await checkStore(await policy(SAMPLE_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci]') + 'attestations:\n  - predicateType: https://cyclonedx.org/bom\n    signers: [ci]\n'), ws.store, ws.root);
    expect(r.decision).toBe('allow');
    expect(r.signatures.find((s) => s.kind === 'attestation')).toMatchObject({ counted: true });
    expect(r.signatures.find((s) => s.kind === 'attestation')!.manifest).toBeUndefined();
  });
});

describe('issue 10 #2: verify policy ties the decision to the bytes', () => {
  async function cosigned() {
    await publish(ws, ws.ciBundle);
    await publish(ws, await cosignText(ws.keys.compliance.signer));
  }

  test('the files on disk match the chosen manifest: exit 0, naming the root and the manifest', async () => {
    await cosigned();
    const r = await verifyModelAgainstPolicy(ws.model, await policy(), ws.store, { workers: 1 });
    expect(r).toMatchObject({ ok: true, root: ws.root, rootFrom: 'computed', resources: 3 });
    expect(r.report.manifest).toBe(hex(signed));
    const cli = await runCli('verify', 'policy', ws.model, '--store', ws.storeDir, '--policy', path.join(ws.dir, 'policy.yaml'));
    expect(cli).toMatchObject({ code: 0, stdout: `Verification succeeded: ${ws.model} (sha256:${ws.root}, 3 files match manifest ${hex(signed)}, policy ${path.join(ws.dir, 'policy.yaml')})\n` });
  });

  test('a changed, a missing and an extra file: exit 1 with every difference listed', async () => {
    await cosigned();
    fs.appendFileSync(path.join(ws.model, 'config.json'), ' ');
    fs.rmSync(path.join(ws.model, 'sub', 'tokenizer.json'));
    fs.writeFileSync(path.join(ws.model, 'backdoor.py'), 'import os');
    // the root of what is on disk now is unknown to the store: the signed root is given, as the init container does
    const r = await verifyModelAgainstPolicy(ws.model, await policy(), ws.store, { digest: `sha256:${ws.root}`, workers: 1 });
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual({
      changed: [{ name: 'config.json', detail: expect.stringMatching(/^signed sha256:[0-9a-f]{64}, on disk sha256:[0-9a-f]{64}$/) }],
      missing: ['sub/tokenizer.json'],
      unsigned: ['backdoor.py'],
    });
    const cli = await runCli('verify', 'policy', ws.model, '--store', ws.storeDir, '--policy', path.join(ws.dir, 'policy.yaml'), '--digest', `sha256:${ws.root}`, '--json');
    expect(cli.code).toBe(1);
    const out = JSON.parse(cli.stdout);
    expect(out).toMatchObject({ ok: false, command: 'verify policy', rootDigest: `sha256:${ws.root}`, rootFrom: 'digest', decision: 'allow', manifest: hex(signed) });
    expect(out.files).toEqual(r.differences);
    expect(out.failure).toMatch(/does not match the signature: 1 changed file\(s\): config\.json .*; 1 missing file\(s\): sub\/tokenizer\.json; 1 file\(s\) the signature does not cover: backdoor\.py/);
  });

  test('files renamed on disk to match a compromised signer\'s manifest fail against the manifest the policy chose', async () => {
    await cosigned();
    await signAndPublish('compliance', renamed()); // only one party signed it: never chosen
    fs.renameSync(path.join(ws.model, 'config.json'), path.join(ws.model, 'evil.json'));
    const r = await verifyModelAgainstPolicy(ws.model, await policy(), ws.store, { workers: 1 });
    expect(r.report.manifest).toBe(hex(signed));
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual({ changed: [], missing: ['config.json'], unsigned: ['evil.json'] });
  });

  test('a policy that is not met: exit 1 with the decision, files not compared', async () => {
    await publish(ws, ws.ciBundle);
    const cli = await runCli('verify', 'policy', ws.model, '--store', ws.storeDir, '--policy', writePolicy(ws, SAMPLE_POLICY));
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`^DENY sha256:${ws.root} \\(policy`));
    expect(cli.stderr).toMatch(new RegExp(`^Verification failed: the trust policy is not met for sha256:${ws.root}: model signatures: requirement not met: needs all of \\[ci, compliance\\]; verified: ci; missing: compliance\\n$`));
  });

  test('a model signed with other hashing options is found with --digest only', async () => {
    const withSig = await signManifest('model', await hashModel(ws.model, { workers: 1, modelIgnorePaths: ['notes.txt'] }), ws.keys.ci.signer);
    const key = await publish(ws, withSig.bundleText);
    fs.writeFileSync(path.join(ws.model, 'notes.txt'), 'ignored when signed');
    const p = await policy(SAMPLE_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci]'));
    const computed = await verifyModelAgainstPolicy(ws.model, p, ws.store, { workers: 1 });
    expect(computed.ok).toBe(false);
    expect(computed.failure).toMatch(/^the trust policy is not met for sha256:[0-9a-f]{64}: model signatures: requirement not met/);
    const given = await verifyModelAgainstPolicy(ws.model, p, ws.store, { digest: deriveKey(Buffer.from(withSig.bundleText)).root, workers: 1 });
    expect(given).toMatchObject({ ok: true, rootFrom: 'digest' });
    expect(key).toContain(given.root);
  });

  test('manifestForDecision returns the chosen statement, and nothing for a denial', async () => {
    await publish(ws, ws.ciBundle);
    const p = await policy();
    const denied = await checkStoreWithSet(p, ws.store, ws.root);
    expect(manifestForDecision(denied.report, denied.set!)).toBeUndefined();
    await signAndPublish('compliance', signed);
    const allowed = await checkStoreWithSet(p, ws.store, ws.root);
    expect(manifestForDecision(allowed.report, allowed.set!)!.manifest.resources.map((r) => r.name)).toEqual(signed.resources.map((r) => r.name));
  });
});

describe('issue 10 #3: nobody who can merely write to the store can veto a digest', () => {
  const CI_ONLY = SAMPLE_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci]').replace('revokers: [compliance]\n', '');

  test('one junk object under revocations/ does not deny a policy that names no revokers; it is reported', async () => {
    await publish(ws, ws.ciBundle);
    const junk = `revocations/sha256/${ws.root}/${'ab'.repeat(32)}/${'cd'.repeat(32)}.json`;
    fs.mkdirSync(path.dirname(path.join(ws.storeDir, junk)), { recursive: true });
    fs.writeFileSync(path.join(ws.storeDir, junk), 'junk');
    const r = await checkStore(await policy(CI_ONLY), ws.store, ws.root);
    expect(r.decision).toBe('allow');
    expect(r.revocations).toEqual([{ key: junk, status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): .*does not match its content address/) }]);
    expect(r.notes.join('\n')).toContain(`revocation ${junk} ignored: not signed by a revoker of the policy`);
  });

  test('a valid revocation by a signer who is not a revoker is ignored; by a revoker it denies', async () => {
    await publish(ws, ws.ciBundle);
    await publish(ws, (await signRevocation(ws.root, ws.keys.stranger.signer, { reason: 'veto' })).bundleText);
    await publish(ws, (await signRevocation(ws.root, ws.keys.ci.signer, { reason: 'ci may not revoke' })).bundleText);
    expect((await checkStore(await policy(CI_ONLY), ws.store, ws.root)).decision).toBe('allow');
    const revoked = await checkStore(await policy(CI_ONLY + 'revokers: [ci]\n'), ws.store, ws.root);
    expect(revoked.decision).toBe('deny');
    expect(revoked.reasons).toEqual([expect.stringMatching(new RegExp(`^sha256:${ws.root} was revoked by ci at .*: ci may not revoke$`))]);
  });

  test('review F3: junk at a revoker\'s key path is ignored: the path names a key, it does not prove who wrote the file', async () => {
    await publish(ws, ws.ciBundle);
    const hint = keyHint(ws.keys.compliance.publicKey);
    // the reviewer's raw-file repro: any bytes, at their own content address (so the store's hash check passes)
    const body = Buffer.from('half a record');
    const junk = `revocations/sha256/${ws.root}/${hint}/${createHash('sha256').update(body).digest('hex')}.json`;
    const wrongAddress = `revocations/sha256/${ws.root}/${hint}/${'cd'.repeat(32)}.json`;
    for (const key of [junk, wrongAddress]) {
      fs.mkdirSync(path.dirname(path.join(ws.storeDir, key)), { recursive: true });
      fs.writeFileSync(path.join(ws.storeDir, key), body);
    }
    const r = await checkStore(await policy(CI_ONLY + 'revokers: [compliance]\n'), ws.store, ws.root);
    expect(r.decision).toBe('allow');
    expect(r.reasons).toEqual([]);
    expect(r.revocations).toEqual([
      { key: junk, status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): .* is not a publishable object/) },
      { key: wrongAddress, status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): .*does not match its content address/) },
    ]);
  });

  test('review F4: junk under other hints cannot crowd out the policy\'s signature; a revocation the budget left unread in a revoker\'s folder denies', async () => {
    await publish(ws, ws.ciBundle);
    for (let i = 0; i < 12; i++) {
      const body = Buffer.from(`{"junk":${i}}`);
      const key = `bundles/sha256/${ws.root}/${'00'.repeat(32)}/${createHash('sha256').update(body).digest('hex')}.sig.json`;
      fs.mkdirSync(path.dirname(path.join(ws.storeDir, key)), { recursive: true });
      fs.writeFileSync(path.join(ws.storeDir, key), body);
    }
    const p = await policy(CI_ONLY + 'revokers: [compliance]\n');
    const r = await checkStore(p, ws.store, ws.root, { fetch: { maxObjects: 4 } });
    expect(r.decision).toBe('allow');
    // revocation records in the revoker's own folder are read first; past the budget, an unread one fails closed
    for (let i = 0; i < 5; i++) {
      await publish(ws, (await signRevocation(ws.root, ws.keys.stranger.signer, { reason: `r${i}` })).bundleText);
    }
    const hint = keyHint(ws.keys.compliance.publicKey);
    const flood = Array.from({ length: 5 }, (_, i) => {
      const body = Buffer.from(`{"flood":${i}}`);
      const key = `revocations/sha256/${ws.root}/${hint}/${createHash('sha256').update(body).digest('hex')}.json`;
      fs.mkdirSync(path.dirname(path.join(ws.storeDir, key)), { recursive: true });
      fs.writeFileSync(path.join(ws.storeDir, key), body);
      return key;
    }).sort();
    const flooded = await checkStore(p, ws.store, ws.root, { fetch: { maxObjects: 4 } });
    expect(flooded.decision).toBe('deny');
    // (the budget went to the revoker's folder first, so the model signature was not read either: both deny)
    expect(flooded.reasons).toEqual(['model signatures: requirement not met: needs all of [ci]; verified: none; missing: ci', expect.stringMatching(new RegExp(`^sha256:${ws.root} has a revocation object ${flood[4]} that was not read \\(.*per-root read budget \\(4 objects.*\\); it is in the folder of revoker compliance's key, so it may be a revocation: failing closed$`))]);
    // junk read within the budget is only junk, and the stranger's records (another folder) never spend it first
    expect(flooded.revocations.filter((x) => x.status === 'honoured').map((x) => x.key)).toEqual([flood[4]]);
  });

  test('review F4: check --max-object-bytes refuses larger objects unread (the bundle then counts for nothing)', async () => {
    await publish(ws, ws.ciBundle);
    fs.writeFileSync(path.join(ws.dir, 'ci-only.yaml'), CI_ONLY);
    const ok = await runCli('check', '--store', ws.storeDir, '--policy', path.join(ws.dir, 'ci-only.yaml'), `sha256:${ws.root}`, '--json');
    expect(JSON.parse(ok.stdout).decision).toBe('allow');
    const tight = await runCli('check', '--store', ws.storeDir, '--policy', path.join(ws.dir, 'ci-only.yaml'), `sha256:${ws.root}`, '--json', '--max-object-bytes', '100');
    expect(tight.code).toBe(1);
    expect(JSON.parse(tight.stdout).notes.join('\n')).toMatch(/is \d+ bytes \(listed size\), over the 100-byte limit for attestation objects; not read/);
  });

  test('fetch copies the usable objects and reports the rejected ones', async () => {
    await publish(ws, ws.ciBundle);
    const junk = `revocations/sha256/${ws.root}/${'ab'.repeat(32)}/${'cd'.repeat(32)}.json`;
    fs.mkdirSync(path.dirname(path.join(ws.storeDir, junk)), { recursive: true });
    fs.writeFileSync(path.join(ws.storeDir, junk), 'junk');
    const out = path.join(ws.dir, 'fetched');
    const r = await runCli('fetch', '--store', ws.storeDir, '--out', out, ws.root, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^rejected  ${junk}: .*does not match its content address`));
    const json = JSON.parse(r.stdout);
    expect(json.counts).toEqual({ bundles: 1, attestations: 0, notation: 0, revocations: 0 });
    expect(json.rejected).toEqual([{ key: junk, reason: expect.stringMatching(/does not match its content address/) }]);
    expect(fs.existsSync(path.join(out, junk))).toBe(false);
  });
});

describe('issue 10 #4: ref get --policy', () => {
  test('a reference squatted by another publisher is visibly not trusted', async () => {
    await publish(ws, ws.ciBundle);
    await publish(ws, await cosignText(ws.keys.compliance.signer));
    const policyFile = writePolicy(ws, SAMPLE_POLICY);
    expect((await runCli('ref', 'set', '--store', ws.storeDir, 'fraud', '7', ws.root)).code).toBe(0);
    const good = await runCli('ref', 'get', '--store', ws.storeDir, 'fraud', '7', '--policy', policyFile);
    expect(good).toMatchObject({ code: 0, stdout: `sha256:${ws.root}\n` });
    expect(good.stderr).toBe(`ref fraud 7 -> sha256:${ws.root}: meets ${policyFile} (manifest ${hex(signed)})\n`);

    // Someone with publish and set-ref rights but no policy key points version 8 at their own model.
    const squatter = await signManifest('model', renamed(), ws.keys.stranger.signer);
    await publish(ws, squatter.bundleText);
    const other = 'ef'.repeat(32);
    expect((await runCli('ref', 'set', '--store', ws.storeDir, 'fraud', '8', other)).code).toBe(0);
    const bad = await runCli('ref', 'get', '--store', ws.storeDir, 'fraud', '8', '--policy', policyFile);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`ref fraud 8 -> sha256:${other} is NOT trusted: it does not meet ${policyFile}\n`
      + '  denied: model signatures: requirement not met: needs all of [ci, compliance]; verified: none; missing: ci, compliance\n');
    const json = JSON.parse((await runCli('ref', 'get', '--store', ws.storeDir, 'fraud', '8', '--policy', policyFile, '--json')).stdout);
    expect(json).toMatchObject({ ok: false, decision: 'deny', digest: `sha256:${other}`, manifest: null });
  });
});

describe('issue 10 #5: a delete marker cannot hide a revocation on S3', () => {
  test('a revocation hidden behind a delete marker denies, saying the bucket policy was bypassed', async () => {
    const s3 = S3Mock.create();
    try {
      const store = new S3Store({ bucket: s3.bucket, prefix: 'team-a', client: s3.client, kmsKeyArn: s3.keyArn });
      const put = async (text: string) => {
        const body = Buffer.from(text);
        const { key } = deriveKey(body);
        await store.put(key, body);
        return key;
      };
      await put(ws.ciBundle);
      await put(await cosignText(ws.keys.compliance.signer));
      const p = await policy();
      expect(await checkStore(p, store, ws.root)).toMatchObject({ decision: 'allow', manifest: hex(signed) });
      const rev = await put((await signRevocation(ws.root, ws.keys.compliance.signer, { reason: 'data leak' })).bundleText);
      expect((await checkStore(p, store, ws.root)).decision).toBe('deny');
      s3.deleteBehindPolicy(`team-a/${rev}`);
      const r = await checkStore(p, store, ws.root);
      expect(r.decision).toBe('deny');
      expect(r.reasons).toEqual([`the store's attestation set for sha256:${ws.root} failed its integrity check: s3://${s3.bucket}/team-a/${rev} has a delete marker over 1 version(s): `
        + 'the store is write-once (Object Lock, and a bucket policy that denies overwrites and deletes), so the bucket policy was bypassed or changed '
        + '(by the account root or whoever may change it); nothing under revocations/ can be trusted until an administrator investigates']);
      expect(s3.versionListCalls().every((c) => c.Prefix!.startsWith('team-a/revocations/'))).toBe(true);
    } finally {
      s3.restore();
    }
  });
});

describe('issue 10 #6: one key, one party', () => {
  test('the same key as publicKey of one signer and kmsKeyArn of another: refused at check time', async () => {
    const kms = await KmsMock.create();
    try {
      const key = kms.addKey({ keySpec: 'ECC_NIST_P256', privateKey: ws.keys.ci.privateKey });
      const p = await policy(SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', `kmsKeyArn: ${key.arn}`));
      await publish(ws, ws.ciBundle);
      const r = await checkStore(p, ws.store, ws.root, { kmsClient: kms.client });
      expect(r.decision).toBe('deny');
      expect(r.reasons[0]).toBe(`the policy names key ${keyHint(ws.keys.ci.publicKey)} for signers ci (${ws.keys.ci.pubFile}) and compliance (${key.arn}); one key must identify one party (failing closed)`);
    } finally {
      kms.restore();
    }
  });

  test('the same key twice under one signer, and two signers with one certificate identity, are refused when the policy loads', async () => {
    const pki = makePki(path.join(ws.dir, 'pki'));
    fs.copyFileSync(pki.rootCert, path.join(ws.dir, 'ca.pem'));
    const twice = SAMPLE_POLICY.replace('    publicKey: ci.pub.pem', '    publicKeys: [ci.pub.pem, ci.pub.pem]');
    await expect(policy(twice)).rejects.toThrow(new RegExp(`/signers/0: key ${keyHint(ws.keys.ci.publicKey)} is listed twice for signer 'ci'`));
    const certs = `apiVersion: modelseal.dev/v1
kind: TrustPolicy
signers:
  - name: lead
    certificate: { trustAnchor: ca.pem, email: lead@example.com }
  - name: security
    certificate: { trustAnchor: ca.pem, subjectAlternativeName: lead@example.com }
require: { allOf: [lead, security] }
`;
    await expect(policy(certs)).rejects.toThrow(/\/signers\/1: certificate identity SAN lead@example\.com under trust anchor .* is also a key of signer 'lead'.*one key must identify exactly one signer/);
  });

  test('a key is counted once: a bare key and a certificate over the same key are one party, and a revocation by it counts for the revoker', async () => {
    // compliance's bare key is the leaf certificate's key, and lead is that certificate's identity
    const pki = makePki(path.join(ws.dir, 'pki'));
    const leafKey = createPrivateKey(fs.readFileSync(pki.leafKey));
    fs.writeFileSync(ws.keys.compliance.pubFile, createPublicKey(leafKey).export({ type: 'spki', format: 'pem' }));
    const p = await policy(SAMPLE_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci, compliance, lead]').replace('revokers: [compliance]', 'revokers: [lead]')
      .replace('signers:\n', 'signers:\n  - name: lead\n    certificate: { trustAnchor: pki/root.pem, commonName: leaf }\n'));
    const certSigner = await CertificateSigner.fromFiles({
      privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert],
    });
    await publish(ws, ws.ciBundle);
    await publish(ws, await cosignText(new LocalKeySigner(leafKey)));
    const certKey = await publish(ws, await cosignText(certSigner));
    const r = await checkStore(p, ws.store, ws.root);
    expect(r.decision).toBe('deny');
    expect(r.reasons).toContain(`${certKey}: its key ${keyHint(leafKey)} matches several signers of the policy (lead, compliance); one key must identify one party (failing closed)`);
    expect(r.requirements[0]).toMatchObject({ signedBy: ['ci', 'compliance'], met: false });
    // the same key revoking, through either route, counts for the revoker
    await publish(ws, (await signRevocation(ws.root, certSigner, { reason: 'withdrawn' })).bundleText);
    const revoked = await checkStore(p, ws.store, ws.root);
    expect(revoked.revocations).toEqual([expect.objectContaining({ by: 'lead', status: 'honoured', reason: 'withdrawn' })]);
  });
});

describe('issue 10 #8: legacy formats stay out of admission decisions', () => {
  /** The ci statement signed into a v1.0.x bundle: publicKey.rawBytes + keyDetails instead of a hint. */
  async function rawBytesBundle(): Promise<string> {
    const bundle = JSON.parse(ws.ciBundle);
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const signer = new LocalKeySigner(ws.keys.compliance.privateKey);
    const sig = await signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload));
    const raw = ws.keys.compliance.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    return JSON.stringify({
      ...bundle,
      verificationMaterial: { publicKey: { rawBytes: raw, keyDetails: 'PKIX_ECDSA_P256_SHA_256' }, tlogEntries: [] },
      dsseEnvelope: { ...bundle.dsseEnvelope, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
    });
  }

  test('an older-format co-signature verifies with verify but counts in check only with allowLegacyFormats: true', async () => {
    await publish(ws, ws.ciBundle);
    const legacy = await rawBytesBundle();
    const key = await publish(ws, legacy);
    const sig = path.join(ws.dir, 'legacy.sig');
    fs.writeFileSync(sig, legacy);
    const v = await runCli('verify', 'key', ws.model, '--signature', sig, '--public-key', ws.keys.compliance.pubFile);
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/warning: .* uses the older verification material format \(publicKey\.rawBytes\)/);
    const strict = await checkStore(await policy(), ws.store, ws.root);
    expect(strict.decision).toBe('deny');
    expect(strict.signatures.find((s) => s.key === key)!.reason).toBe('it uses an older format (publicKey.rawBytes verification material (model_signing v1.0.x)); '
      + 'the trust policy counts only current OMS v1.0 bundles (set allowLegacyFormats: true to count them)');
    const lenient = await checkStore(await policy(SAMPLE_POLICY + 'allowLegacyFormats: true\n'), ws.store, ws.root);
    expect(lenient).toMatchObject({ decision: 'allow', manifest: hex(signed) });
  });
});

describe('issue 10 #11: errors a newcomer hits', () => {
  test('check --store file://nostore is a usage error naming the store, not a DENY', async () => {
    const missing = path.join(ws.dir, 'nostore');
    const r = await runCli('check', '--store', `file://${missing}`, '--policy', writePolicy(ws, SAMPLE_POLICY), ws.root);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `modelseal: store file://${missing} does not exist (no directory ${missing}); check --store, or publish to it first\n` });
  });

  test('ref set on a taken version says which name and version point to which digest', async () => {
    await runCli('ref', 'set', '--store', ws.storeDir, 'fraud', '7', ws.root);
    const r = await runCli('ref', 'set', '--store', ws.storeDir, 'fraud', '7', 'ef'.repeat(32));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`modelseal ref set: ref fraud 7 already points to sha256:${ws.root} in ${ws.store.uri}; refusing to point it to sha256:${'ef'.repeat(32)} `
      + '(refs are write-once: publish a new version instead)\n');
  });
});
