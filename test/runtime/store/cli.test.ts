import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { fetchCommand, publishCommand, refCommand } from '../../../src/runtime/cli/commands/store';
import { main } from '../../../src/runtime/cli/main';
import { openStore } from '../../../src/runtime/store/open';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { S3Mock } from '../../helpers/s3-mock';

type Out = { code: number; stdout: string; stderr: string };

function capture() {
  const out = { stdout: '', stderr: '' };
  const io = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s), isTTY: false } };
  return { out, io };
}

/** Runs the CLI in-process and captures its output. */
async function run(...argv: string[]): Promise<Out> {
  const { out, io } = capture();
  const code = await main(argv, io);
  return { code, ...out };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const k = ecKey('P-256');

let dir: string;
let storeDir: string;
let sig: string;
let root: string;

beforeEach(async () => {
  dir = tempDir();
  storeDir = path.join(dir, 'store');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(keyFile, k.pem);
  sig = path.join(dir, 'model.sig');
  const s = await run('sign', 'key', makeModel(dir), '--signature', sig, '--private-key', keyFile, '--json');
  expect(s.code).toBe(0);
  // --json prints the root digest as every command does, sha256:<hex>; the store paths below use the hex
  expect(JSON.parse(s.stdout).rootDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  root = JSON.parse(s.stdout).rootDigest.slice('sha256:'.length);
});
afterEach(() => cleanup(dir));

describe('modelseal publish / fetch / ref', () => {
  test('publish prints the derived key and created, then unchanged on a republish', async () => {
    const body = fs.readFileSync(sig);
    const p = await run('publish', '--store', `file://${storeDir}`, sig);
    expect(p).toMatchObject({ code: 0, stderr: '' });
    const key = p.stdout.trim().split(/\s+/)[1];
    expect(p.stdout).toMatch(new RegExp(`^created {3}bundles/sha256/${root}/[0-9a-f]{64}/${sha(body)}\\.sig\\.json \\(.*model\\.sig\\)\\n$`));
    expect(fs.readFileSync(path.join(storeDir, ...key.split('/')))).toEqual(body);
    const again = await run('publish', '--store', storeDir, sig, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, command: 'publish', objects: [{ file: sig, key, kind: 'bundle', root: `sha256:${root}`, outcome: 'unchanged' }] });
  });

  test('publish refuses an unrecognised file (exit 2, naming it) and writes nothing', async () => {
    const junk = path.join(dir, 'notes.txt');
    fs.writeFileSync(junk, 'not a signature');
    const p = await run('publish', '--store', storeDir, sig, junk);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/notes\.txt is neither a Sigstore bundle .* nor a Notation JWS/);
    expect(fs.existsSync(storeDir)).toBe(false);
    expect((await run('publish', '--store', storeDir, path.join(dir, 'missing.sig'))).stderr).toMatch(/cannot read .*missing\.sig/);
    expect((await run('publish', '--store', storeDir)).code).toBe(2);
  });

  test('publish of different bytes under an existing key is refused with exit 1 and the key', async () => {
    const p = await run('publish', '--store', storeDir, sig);
    const key = p.stdout.trim().split(/\s+/)[1];
    const file = path.join(storeDir, ...key.split('/'));
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, 'squatted');
    const again = await run('publish', '--store', storeDir, sig, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, command: 'publish', error: { kind: 'conflict', key } });
  });

  test('fetch writes the attestation set under DIR with the same keys; an unknown digest exits 1', async () => {
    const p = await run('publish', '--store', storeDir, sig);
    const key = p.stdout.trim().split(/\s+/)[1];
    const out = path.join(dir, 'out');
    const f = await run('fetch', '--store', storeDir, '--out', out, `sha256:${root}`);
    expect(f).toMatchObject({ code: 0, stderr: '' });
    expect(f.stdout).toBe(`created   ${key}\n`);
    expect(fs.readFileSync(path.join(out, ...key.split('/')))).toEqual(fs.readFileSync(sig));
    const again = await run('fetch', '--store', storeDir, '--out', out, root, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, rootDigest: `sha256:${root}`, counts: { bundles: 1, attestations: 0 }, objects: [{ key, outcome: 'unchanged' }] });
    const none = await run('fetch', '--store', storeDir, '--out', out, `sha256:${'0'.repeat(64)}`);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/holds no usable bundles, attestations, Notation signatures or revocations for sha256:0{64}/);
    expect((await run('fetch', '--store', storeDir, `sha256:${root}`)).stderr).toMatch(/fetch needs --out DIR/);
    expect((await run('fetch', '--store', storeDir, '--out', out, 'sha256:nothex')).code).toBe(2);
  });

  test('fetch of a tampered object exits 1 naming the key and writes nothing', async () => {
    const p = await run('publish', '--store', storeDir, sig);
    const key = p.stdout.trim().split(/\s+/)[1];
    const file = path.join(storeDir, ...key.split('/'));
    fs.chmodSync(file, 0o644);
    fs.appendFileSync(file, ' ');
    const out = path.join(dir, 'out');
    const f = await run('fetch', '--store', storeDir, '--out', out, `sha256:${root}`);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(key);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('ref set / get: write-once, exit 1 on a different digest or a missing ref, 2 on a bad name', async () => {
    const s = await run('ref', 'set', '--store', storeDir, 'team/llm', '1.0', `sha256:${root}`);
    expect(s).toMatchObject({ code: 0, stdout: `created   refs/team/llm/1.0 -> sha256:${root}\n` });
    expect((await run('ref', 'set', '--store', storeDir, 'team/llm', '1.0', `sha256:${root}`)).stdout).toMatch(/^unchanged/);
    const g = await run('ref', 'get', '--store', storeDir, 'team/llm', '1.0');
    expect(g).toMatchObject({ code: 0, stdout: `sha256:${root}\n` });
    expect(JSON.parse((await run('ref', 'get', '--store', storeDir, 'team/llm', '1.0', '--json')).stdout)).toMatchObject({ digest: `sha256:${root}`, key: 'refs/team/llm/1.0' });

    const c = await run('ref', 'set', '--store', storeDir, 'team/llm', '1.0', `sha256:${'1'.repeat(64)}`);
    expect(c.code).toBe(1);
    // issue 10 #11: the conflict says which name and version already point to which digest, not object hashes
    expect(c.stderr).toBe(`modelseal ref set: ref team/llm 1.0 already points to sha256:${root} in ${pathToFileURL(storeDir).href}; `
      + `refusing to point it to sha256:${'1'.repeat(64)} (refs are write-once: publish a new version instead)\n`);
    const missing = await run('ref', 'get', '--store', storeDir, 'team/llm', '2.0', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { kind: 'not-found', key: 'refs/team/llm/2.0' } });
    const bad = await run('ref', 'set', '--store', storeDir, '../etc', '1', `sha256:${root}`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/model name "\.\.\/etc" contains "\.\."/);
    expect((await run('ref', 'get', '--store', storeDir, 'm')).code).toBe(2);
    expect((await run('ref', 'delete', '--store', storeDir, 'm', '1')).stderr).toMatch(/unknown subcommand "delete"/);
  });

  test('--store comes from MODELSEAL_STORE; no store at all is exit 2', async () => {
    const saved = process.env.MODELSEAL_STORE;
    try {
      process.env.MODELSEAL_STORE = storeDir;
      expect((await run('publish', sig)).code).toBe(0);
      delete process.env.MODELSEAL_STORE;
      const none = await run('publish', sig);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no store given; pass --store URI .* or set MODELSEAL_STORE/);
    } finally {
      if (saved === undefined) {
        delete process.env.MODELSEAL_STORE;
      } else {
        process.env.MODELSEAL_STORE = saved;
      }
    }
  });

  test('help texts list the commands and the exit codes', async () => {
    expect((await run('--help')).stdout).toMatch(/publish --store URI FILE\.\.\./);
    const h = await run('publish', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--store URI .*--store-key-arn ARN/s);
    expect(h.stdout).toMatch(/Exit codes: 0 success/);
  });

  test('the commands work against S3 (mocked), with access errors exiting 2', async () => {
    const s3 = S3Mock.create();
    try {
      const deps = {
        openStore: (uri: string, opts: object) => openStore(uri, { ...opts, s3Client: s3.client }),
        env: { MODELSEAL_STORE_KMS_KEY_ARN: s3.keyArn },
      };
      const uri = `s3://${s3.bucket}/prod`;
      let c = capture();
      expect(await publishCommand(['--store', uri, sig], c.io, deps)).toBe(0);
      expect(c.out.stdout).toMatch(/^created {3}bundles\/sha256\//);
      c = capture();
      expect(await refCommand(['set', '--store', uri, 'm', '1', root], c.io, deps)).toBe(0);
      c = capture();
      const out = path.join(dir, 'out');
      expect(await fetchCommand(['--store', uri, '--out', out, root], c.io, deps)).toBe(0);
      expect(fs.readdirSync(path.join(out, 'bundles', 'sha256'))).toEqual([root]);
      s3.deny('PutObject');
      c = capture();
      expect(await refCommand(['set', '--store', uri, 'm', '2', root], c.io, deps)).toBe(2);
      expect(c.out.stderr).toMatch(/S3 denied PutObject on s3:\/\/modelseal-store\/prod\/refs\/m\/2 .*grantSetRef/);
    } finally {
      s3.restore();
    }
  });
});
