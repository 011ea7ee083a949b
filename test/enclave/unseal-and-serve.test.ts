/**
 * The enclave image's start-up after the vsock hand-over (enclave/unseal-and-serve.sh), run with bash and the real
 * bundled CLI: it calls kmstool_enclave_cli with the region, the credentials and the encrypted data key it received,
 * pipes the key into `modelseal unseal`, deletes its inputs and only then execs the model server. kmstool_enclave_cli
 * itself needs /dev/nsm and is replaced by a script that checks the arguments it is given and prints what kmstool prints
 * (`PLAINTEXT: <base64>`); the Recipient flow it stands for is tested in test/runtime/sealing/enclave-flow.test.ts.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { hashModel, rootDigest } from '../../src/runtime/engine/hashing';
import { sealModel } from '../../src/runtime/sealing/seal';
import { cleanup, tempDir } from '../fixtures/models';
import { CLI_BUNDLE, ensureCliBundle, REPO_ROOT } from '../helpers/cli-bundle';

const SCRIPT = path.join(REPO_ROOT, 'enclave', 'unseal-and-serve.sh');
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

beforeAll(() => ensureCliBundle(), 120_000);

describe('enclave/unseal-and-serve.sh', () => {
  let dir: string;
  let key: Buffer;
  let root: string;
  let edk: Buffer;

  beforeEach(async () => {
    dir = tempDir();
    const model = path.join(dir, 'model-src');
    fs.mkdirSync(model);
    fs.writeFileSync(path.join(model, 'weights.bin'), randomBytes(300_000));
    fs.writeFileSync(path.join(model, 'config.json'), '{"a": 1}\n');
    root = rootDigest((await hashModel(model)).resources);
    key = randomBytes(32);
    edk = randomBytes(184);
    await sealModel(model, path.join(dir, 'sealed'), { dataKey: key, encryptedDataKey: edk, keyArn: KEY_ARN, chunkSize: 65536 });
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({
      region: 'eu-west-1', credentials: { AccessKeyId: 'ASIAENCLAVE', SecretAccessKey: 'secret', Token: 'session-token', Expiration: '2026-12-01T00:00:00Z' },
    }) + '\n');
  });
  afterEach(() => cleanup(dir));

  /** A kmstool_enclave_cli stand-in: checks its arguments, prints `PLAINTEXT: <key>` (or fails like kmstool). */
  function fakeKmstool(printKey: Buffer | null): string {
    const file = path.join(dir, 'kmstool_enclave_cli');
    const expected = ['decrypt', '--region', 'eu-west-1', '--proxy-port', '8000', '--aws-access-key-id', 'ASIAENCLAVE',
      '--aws-secret-access-key', 'secret', '--aws-session-token', 'session-token', '--ciphertext', edk.toString('base64')];
    fs.writeFileSync(file, `#!${process.execPath}
const expected = ${JSON.stringify(expected)};
const got = process.argv.slice(2);
if (JSON.stringify(got) !== JSON.stringify(expected)) { console.error('kmstool: unexpected arguments ' + JSON.stringify(got)); process.exit(3); }
${printKey ? `process.stdout.write('PLAINTEXT: ${printKey.toString('base64')}\\n');` : "console.error('kmstool: AccessDeniedException'); process.exit(1);"}
`);
    fs.chmodSync(file, 0o755);
    return file;
  }

  function run(kmstool: string, env: Record<string, string> = {}, server = ['sh', '-c', 'ls -R "$MODELSEAL_MODEL_DIR" > "$0/served.txt"', dir]) {
    // stdin not a socket: bash would read ~/.bashrc as if started by a remote shell daemon
    return spawnSync('bash', ['--norc', SCRIPT, ...server], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
        MODELSEAL_INPUT: path.join(dir, 'input.json'),
        MODELSEAL_SEALED_DIR: path.join(dir, 'sealed'),
        MODELSEAL_MODEL_DIR: path.join(dir, 'model'),
        MODELSEAL_KMSTOOL: kmstool,
        MODELSEAL_CLI: CLI_BUNDLE,
        ...env,
      },
    });
  }

  test('unseals with the key kmstool prints, deletes the inputs, then execs the model server on the plaintext', () => {
    const r = run(fakeKmstool(key), { MODELSEAL_EXPECTED_ROOT: `sha256:${root}` });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`Unsealed 2 files into ${path.join(dir, 'model')} (sha256:${root})\n`);
    expect(fs.readFileSync(path.join(dir, 'model', 'weights.bin')).equals(fs.readFileSync(path.join(dir, 'model-src', 'weights.bin')))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'served.txt'), 'utf8')).toBe(`${path.join(dir, 'model')}:\nconfig.json\nweights.bin\n`);
    expect(fs.existsSync(path.join(dir, 'sealed'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'input.json'))).toBe(false);
  });

  test('KMS refuses the key: the script stops, nothing is unsealed, the server never starts', () => {
    const r = run(fakeKmstool(null));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('kmstool: AccessDeniedException');
    expect(fs.existsSync(path.join(dir, 'model'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'served.txt'))).toBe(false);
  });

  test('a wrong key, or a model other than the pinned one: exit 1 from unseal, no plaintext, no server', () => {
    const wrong = run(fakeKmstool(randomBytes(32)));
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/does not authenticate .*the wrong data key/);
    const pinned = run(fakeKmstool(key), { MODELSEAL_EXPECTED_ROOT: `sha256:${'ab'.repeat(32)}` });
    expect(pinned.status).toBe(1);
    expect(pinned.stderr).toMatch(/the sealed model is sha256:[0-9a-f]{64}, not the expected sha256:(ab){32}/);
    expect(fs.existsSync(path.join(dir, 'model'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'served.txt'))).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.includes('unsealing'))).toEqual([]);
  });

  test('input without credentials, or no server command: a clear error before anything runs', () => {
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({ region: 'eu-west-1', credentials: {} }));
    const r = run(fakeKmstool(key));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`unseal-and-serve: credentials.AccessKeyId is missing in ${path.join(dir, 'input.json')}\n`);
    const none = run(fakeKmstool(key), {}, []);
    expect(none).toMatchObject({ status: 2, stderr: 'unseal-and-serve: no model server command given\n' });
  });

  test('the image recipe pins its bases by argument, installs the tools the scripts use, and never runs anything in debug mode', () => {
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'enclave', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM \$\{KMSTOOL_IMAGE\} AS kmstool$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    expect(dockerfile).toContain('COPY --from=kmstool /kmstool_enclave_cli /usr/local/bin/kmstool_enclave_cli');
    expect(dockerfile).toContain('COPY assets/modelseal-cli.js /opt/modelseal/modelseal-cli.js');
    expect(dockerfile).toMatch(/dnf install -y nodejs22 socat tar iproute/);
    expect(dockerfile).toContain('ENTRYPOINT ["/opt/modelseal/start.sh"]');
    const start = fs.readFileSync(path.join(REPO_ROOT, 'enclave', 'start.sh'), 'utf8');
    expect(start).toContain('exec "$(dirname "$0")/unseal-and-serve.sh" "$@"');
    for (const f of ['start.sh', 'unseal-and-serve.sh']) {
      expect(fs.statSync(path.join(REPO_ROOT, 'enclave', f)).mode & 0o111).not.toBe(0);
      expect(spawnSync('bash', ['-n', path.join(REPO_ROOT, 'enclave', f)]).status).toBe(0);
    }
  });
});
