/**
 * End-to-end runs of the real bundled CLI (`node bin/modelseal`), built from src/runtime/cli/bin.ts by scripts/bundle.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { ensureCliBundle } from '../../helpers/cli-bundle';

const root = path.join(__dirname, '..', '..', '..');
const bin = path.join(root, 'bin', 'modelseal');

function modelseal(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return modelsealWith(process.env, ...args);
}

function modelsealWith(env: NodeJS.ProcessEnv, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => ensureCliBundle(), 120_000);

describe('bundled modelseal CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => cleanup(dir));

  test('sign key, verify key, then a tampered file exits 1', () => {
    const model = makeModel(dir);
    const k = ecKey('P-384');
    const keyFile = path.join(dir, 'k.pem');
    const pubFile = path.join(dir, 'k.pub');
    fs.writeFileSync(keyFile, k.pem);
    fs.writeFileSync(pubFile, k.pubPem);
    const sig = path.join(dir, 'model.sig');
    const s = modelseal('sign', 'key', model, '--signature', sig, '--private-key', keyFile);
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(modelseal('verify', 'key', model, '--signature', sig, '--public-key', pubFile).status).toBe(0);
    fs.appendFileSync(path.join(model, 'config.json'), ' ');
    const v = modelseal('verify', 'key', model, '--signature', sig, '--public-key', pubFile);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/^Verification failed: \S+ does not match the signature: 1 changed file\(s\): config\.json \(signed sha256:/);
  });

  test('an S3 store without a region says how to give one, and no third-party notice reaches stderr', () => {
    // a clean AWS environment: no region anywhere, and nothing that silences the SDK's Node.js notice but the CLI itself
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') };
    for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']) {
      delete env[v];
    }
    const r = modelsealWith(env, 'ref', 'get', '--store', 's3://modelseal-test-bucket/prod', 'fraud-detector', '1');
    expect(r.stderr).toBe('modelseal: no AWS region for the S3 store s3://modelseal-test-bucket/prod/: pass --region REGION or set AWS_REGION\n');
    expect(r.status).toBe(2);
  });

  test('usage errors exit 2 and --version prints the version', () => {
    expect(modelseal('verify', 'key').status).toBe(2);
    const v = modelseal('--version');
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^modelseal \d+\.\d+\.\d+/);
  });
});
