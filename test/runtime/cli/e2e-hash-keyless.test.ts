/**
 * The bundled CLI (assets/modelseal-cli.js) with what it carries and what it leaves out: the native BLAKE3 module is
 * external (resolved beside the package), the WebAssembly BLAKE3 and the Sigstore trusted root are inside.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanup, makeModel, tempDir } from '../../fixtures/models';
import { ensureCliBundle, REPO_ROOT } from '../../helpers/cli-bundle';
import { describeVectors, vectorPath } from '../../helpers/vectors';

let bundle: string;
let dir: string;
beforeAll(() => {
  bundle = ensureCliBundle();
}, 120_000);
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

function run(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bundled CLI: digest starts from its own bundle', () => {
  test('bin/modelseal digest loads assets/modelseal-digest.js and not the full CLI; both bundles print the same digest', () => {
    const model = makeModel(dir);
    // a preload that reports, at exit, which bundles the process loaded
    const probe = path.join(dir, 'probe.js');
    fs.writeFileSync(probe, "process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('assets')).map((f) => require('path').basename(f)))));\n");
    const loaded = (script: string, ...args: string[]) => {
      const r = spawnSync(process.execPath, ['--require', probe, script, ...args], { encoding: 'utf8', cwd: dir });
      expect(r.status).toBe(0);
      return { stdout: r.stdout, bundles: JSON.parse(r.stderr) as string[] };
    };
    const viaBin = loaded(path.join(REPO_ROOT, 'bin', 'modelseal'), 'digest', model, '--hash-algorithm', 'blake3');
    expect(viaBin.bundles).toEqual(['modelseal-digest.js']);
    const viaFull = loaded(bundle, 'digest', model, '--hash-algorithm', 'blake3');
    expect(viaFull.bundles).toEqual(['modelseal-cli.js']);
    expect(viaFull.stdout).toBe(viaBin.stdout);
    expect(loaded(path.join(REPO_ROOT, 'bin', 'modelseal'), '--version').bundles).toEqual(['modelseal-cli.js']);
  });

  test('the digest bundle reports errors with the CLI\'s exit codes and messages', () => {
    const r = run(path.join(REPO_ROOT, 'bin', 'modelseal'), 'digest', path.join(dir, 'nowhere'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^modelseal: cannot read model path .*nowhere: ENOENT/);
    const json = run(path.join(REPO_ROOT, 'bin', 'modelseal'), 'digest', dir, '--hash-algorithm', 'md5', '--json');
    expect([json.status, JSON.parse(json.stdout)]).toEqual([2, { ok: false, command: 'digest', error: { kind: 'usage', message: '--hash-algorithm "md5" is not an OMS hash algorithm; expected sha256, blake2b or blake3' } }]);
  });
});

describe('bundled CLI: BLAKE3', () => {
  test('inside the package the native module is found; a copy of the bundle alone falls back to WebAssembly, with the same digest and a warning', () => {
    const model = makeModel(dir);
    const native = run(path.join(REPO_ROOT, 'bin', 'modelseal'), 'digest', model, '--hash-algorithm', 'blake3');
    expect(native.stderr).toBe('');
    expect(native.status).toBe(0);
    const alone = path.join(dir, 'alone');
    fs.mkdirSync(alone);
    fs.copyFileSync(bundle, path.join(alone, 'modelseal-cli.js'));
    const wasm = run(path.join(alone, 'modelseal-cli.js'), 'digest', model, '--hash-algorithm', 'blake3');
    expect(wasm.status).toBe(0);
    expect(wasm.stdout).toBe(native.stdout);
    expect(wasm.stderr).toMatch(/^warning: BLAKE3 is computed with the bundled WebAssembly build \(correct, about 8x slower\): the native module @napi-rs\/blake-hash is not available .*npm install @napi-rs\/blake-hash/);
    // sha256 and blake2b need no native module
    expect(run(path.join(alone, 'modelseal-cli.js'), 'digest', model, '--hash-algorithm', 'blake2b').stderr).toBe('');
  });
});

describeVectors('bundled CLI: keyless', () => {
  test('a copy of the bundle alone verifies a keyless vector with the trusted root it carries', () => {
    const alone = path.join(dir, 'alone');
    fs.mkdirSync(alone);
    fs.copyFileSync(bundle, path.join(alone, 'modelseal-cli.js'));
    const mt = vectorPath('model-transparency', 'v1.1.0-sigstore');
    const r = run(path.join(alone, 'modelseal-cli.js'), 'verify', 'sigstore', mt, '--signature', path.join(mt, 'model.sig'),
      '--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, method: 'sigstore', signedAt: ['2025-10-10T02:12:20.000Z'] });
  });
});
