import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../../src/runtime/cli/main';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { makePki } from '../../fixtures/pki';
import { runCli } from '../../helpers/cli';
import { describeVectors, vectorPath } from '../../helpers/vectors';

const run = runCli;

let dir: string;
let model: string;
let keyFile: string;
let pubFile: string;
let sig: string;
const k = ecKey('P-256');

beforeEach(() => {
  dir = tempDir();
  model = makeModel(dir);
  keyFile = path.join(dir, 'key.pem');
  pubFile = path.join(dir, 'key.pub');
  sig = path.join(dir, 'model.sig');
  fs.writeFileSync(keyFile, k.pem);
  fs.writeFileSync(pubFile, k.pubPem);
});
afterEach(() => cleanup(dir));

describe('modelseal CLI', () => {
  test('sign key then verify key: exit 0', async () => {
    const s = await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    expect(s).toMatchObject({ code: 0, stderr: '' });
    expect(s.stdout).toMatch(/^Signing succeeded: .*model\.sig \(sha256:[0-9a-f]{64}, 3 files\)\n$/);
    const v = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile);
    expect(v).toMatchObject({ code: 0, stderr: '' });
    expect(v.stdout).toMatch(/^Verification succeeded: /);
  });

  test('one flipped byte in a model file: exit 1 naming the file', async () => {
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    const f = path.join(model, 'weights.bin');
    const b = fs.readFileSync(f);
    b[100] ^= 0x01;
    fs.writeFileSync(f, b);
    const v = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: \S+ does not match the signature: 1 changed file\(s\): weights\.bin \(signed sha256:/);
  });

  test('--json on success and failure', async () => {
    const s = await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile, '--json');
    const signed = JSON.parse(s.stdout);
    expect(signed).toMatchObject({ ok: true, command: 'sign', method: 'key', resources: 3, rootDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const v = JSON.parse((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--json')).stdout);
    expect(v).toMatchObject({ ok: true, method: 'key', rootDigest: signed.rootDigest, curve: 'P-256', keyHint: signed.keyHint, unsignedFiles: [] });
    fs.writeFileSync(path.join(model, 'extra'), 'x');
    const bad = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      ok: false,
      command: 'verify',
      error: { kind: 'verification', message: `${model} does not match the signature: 1 file(s) the signature does not cover: extra (ignore them with --ignore-paths or accept them with --ignore-unsigned-files)` },
    });
  });

  test('--ignore-unsigned-files and --ignore-paths', async () => {
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    fs.writeFileSync(path.join(model, 'extra'), 'x');
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--ignore-unsigned-files')).code).toBe(0);
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--ignore-paths', path.join(model, 'extra'))).code).toBe(0);
  });

  test('the reference underscore spellings are accepted', async () => {
    expect((await run('sign', 'key', model, '--signature', sig, '--private_key', keyFile)).code).toBe(0);
  });

  test('encrypted key with --password', async () => {
    const enc = ecKey('P-384', 'pw');
    fs.writeFileSync(keyFile, enc.pem);
    fs.writeFileSync(pubFile, enc.pubPem);
    expect((await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile)).code).toBe(2);
    const withFlag = await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile, '--password', 'pw');
    expect(withFlag.code).toBe(0);
    // still accepted, with a warning: a command line is visible in ps and kept in shell history
    expect(withFlag.stderr).toBe('warning: --password puts the password in the process list and in shell history; use MODELSEAL_KEY_PASSWORD, --password-file FILE or the prompt\n');
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile)).code).toBe(0);
  });

  test('certificate sign and verify', async () => {
    const pki = makePki(path.join(dir, 'pki'));
    expect((await run('sign', 'certificate', model, '--signature', sig, '--private-key', pki.leafKey,
      '--signing-certificate', pki.leafCert, '--certificate-chain', pki.intCert)).code).toBe(0);
    const v = await run('verify', 'certificate', model, '--signature', sig, '--certificate-chain', pki.rootCert, '--json');
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, method: 'certificate', certificateSubject: 'CN=leaf' });
    expect((await run('verify', 'certificate', model, '--signature', sig)).code).toBe(2);
  });

  test('digest prints the root digest that sign records', async () => {
    const d = await run('digest', model);
    expect(d.code).toBe(0);
    const s = JSON.parse((await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile, '--json')).stdout);
    expect(d.stdout).toBe(`${s.rootDigest}\n`);
  });

  test('pubkey prints the SPKI PEM of a private key', async () => {
    const p = await run('pubkey', '--private-key', keyFile);
    expect(p).toEqual({ code: 0, stdout: k.pubPem, stderr: '' });
    expect(JSON.parse((await run('pubkey', '--private-key', keyFile, '--json')).stdout).keyHint).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('pubkey')).code).toBe(2);
  });

  test('--max-bundle-size', async () => {
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    const small = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--max-bundle-size', '100');
    expect(small.code).toBe(1);
    expect(small.stderr).toMatch(/over the 100-byte bundle size limit; raise it with --max-bundle-size/);
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--max-bundle-size', '1MiB')).code).toBe(0);
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--max-bundle-size', 'lots')).code).toBe(2);
  });

  test.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['sign', 'gpg', 'm'], /unknown signing method "gpg"; expected one of key, pkcs11-key, kms, certificate/],
    [['sign', 'key', 'm', '--bogus'], /sign key: unknown option --bogus; valid options: /],
    [['sign', 'key', 'm'], /sign key needs --private-key/],
    [['verify', 'key', 'm', '--public-key', 'k'], /verify key needs --signature SIG/],
    [['verify', 'key', 'a', 'b', '--signature', 's'], /verify key needs exactly one MODEL_PATH; got a b/],
    [['sign', 'key', 'm', '--signature'], /--signature needs a value \(OUT\)/],
  ])('bad usage %j: exit 2', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('unreadable inputs: exit 2', async () => {
    expect((await run('verify', 'key', model, '--signature', path.join(dir, 'nope.sig'), '--public-key', pubFile)).code).toBe(2);
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    expect((await run('verify', 'key', model, '--signature', sig, '--public-key', path.join(dir, 'nope.pub'))).code).toBe(2);
    expect((await run('verify', 'key', path.join(dir, 'no-model'), '--signature', sig, '--public-key', pubFile)).code).toBe(2);
  });

  test('--help, per-command help and --version', async () => {
    expect((await run('--help')).stdout).toMatch(/^Usage: modelseal <command>/);
    const h = await run('sign', 'certificate', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--signing-certificate PEM/);
    expect((await run('verify', 'certificate', '--help')).stdout).toMatch(/--certificate-chain PEM \(repeatable\)/);
    expect((await run('digest', '--help')).stdout).toMatch(/--no-ignore-git-paths/);
    expect((await run('--version')).stdout).toMatch(/^modelseal \d+\.\d+\.\d+/);
    expect((await run()).code).toBe(2);
  });

  test('draws a progress bar only when stderr is a TTY', async () => {
    let stderr = '';
    const code = await main(['digest', model], { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s), isTTY: true } });
    expect(code).toBe(0);
    expect(stderr).toMatch(/hashing \[#+\] 100%/);
  });
});

describeVectors('modelseal CLI on the OMS vectors', () => {
  const mt = (...p: string[]) => vectorPath('model-transparency', ...p);

  test('verify key v1.1.0-elliptic-key', async () => {
    const r = await run('verify', 'key', mt('v1.1.0-elliptic-key'), '--signature', mt('v1.1.0-elliptic-key', 'model.sig'),
      '--public-key', mt('keys', 'signing-key-pub.pem'), '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, rootDigest: 'sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4' });
  });

  test('verify certificate v1.1.0-certificate', async () => {
    const r = await run('verify', 'certificate', mt('v1.1.0-certificate'), '--signature', mt('v1.1.0-certificate', 'model.sig'),
      '--certificate-chain', mt('keys', 'ca-cert.pem'));
    expect(r.code).toBe(0);
  });

  test('keyless bundle given to verify key: exit 1 saying how to verify it', async () => {
    const r = await run('verify', 'key', mt('v1.1.0-certificate'), '--signature', vectorPath('spec', 'test-vectors', 'v1.0', 'valid', 'sigstore.bundle.json'),
      '--public-key', mt('keys', 'signing-key-pub.pem'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a Sigstore keyless bundle \(Fulcio certificate, 1 Rekor entry\); verify it with `verify sigstore --identity ID --identity-provider ISSUER`/);
  });
});

describe('issue 10 #9: file names that are not valid UTF-8', () => {
  const bad = Buffer.concat([Buffer.from('weights-'), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]);
  const put = (name: Buffer, data: string) => {
    const fd = fs.openSync(Buffer.concat([Buffer.from(`${model}/`), name]), 'w');
    fs.writeSync(fd, data);
    fs.closeSync(fd);
  };

  test('sign and digest refuse naming the file (escaped); nothing throws ENOENT', async () => {
    put(bad, 'x');
    for (const argv of [['sign', 'key', model, '--signature', sig, '--private-key', keyFile], ['digest', model]]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${model} has 1 file name(s) that are not valid UTF-8 and cannot be OMS resource names: weights-\\xff\\xfe.bin (bytes shown as \\xHH)`);
      expect(r.stderr).not.toMatch(/ENOENT|lstat|    at /);
    }
  });

  test('verify reports it as an unsigned file (exit 1), or skips it with --ignore-unsigned-files (exit 0)', async () => {
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    put(bad, 'x');
    fs.mkdirSync(Buffer.concat([Buffer.from(`${model}/sub/`), Buffer.from([0xc3, 0x28])]));
    const v = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile);
    expect(v.code).toBe(1);
    expect(v.stderr).toBe(`Verification failed: ${model} does not match the signature: 2 file(s) the signature does not cover: `
      + 'sub/\\xc3(/, weights-\\xff\\xfe.bin (ignore them with --ignore-paths or accept them with --ignore-unsigned-files)\n');
    const ok = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile, '--ignore-unsigned-files');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('warning: 2 unsigned file(s) accepted: sub/\\xc3(/, weights-\\xff\\xfe.bin\n');
  });

  test('one changed, one missing and one added file are all listed in one error', async () => {
    await run('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    fs.appendFileSync(path.join(model, 'weights.bin'), 'x');
    fs.rmSync(path.join(model, 'config.json'));
    fs.writeFileSync(path.join(model, 'added.txt'), 'new');
    const v = await run('verify', 'key', model, '--signature', sig, '--public-key', pubFile);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(new RegExp(`^Verification failed: ${model} does not match the signature: 1 changed file\\(s\\): weights\\.bin \\(signed sha256:[0-9a-f]{64}, on disk sha256:[0-9a-f]{64}\\); `
      + '1 missing file\\(s\\): config\\.json; 1 file\\(s\\) the signature does not cover: added\\.txt \\(ignore them'));
  });
});
