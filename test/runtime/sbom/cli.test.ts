/**
 * `modelseal attest sbom`: in-process through main(), then end to end through the real bundled CLI
 * (`node bin/modelseal`, built by scripts/bundle.ts), whose BOM schema must be inlined in the bundle.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../../src/runtime/cli/main';
import { parseBundle } from '../../../src/runtime/engine/bundle';
import { parseSbomStatement } from '../../../src/runtime/sbom/attest';
import { validateBom } from '../../../src/runtime/sbom/cyclonedx';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { ensureCliBundle } from '../../helpers/cli-bundle';

const root = path.join(__dirname, '..', '..', '..');
const bin = path.join(root, 'bin', 'modelseal');
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sbom');
const CARD = path.join(FIXTURES, 'model-card.yaml');
const SCAN = path.join(FIXTURES, 'scan-findings.json');

/** A writable stream stand-in that records what is written. */
function sink(): { isTTY: boolean; text: string; write(s: string): boolean } {
  return { isTTY: false, text: '', write(s: string) { this.text += s; return true; } };
}

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

let dir: string;
let keyFile: string;
beforeEach(() => {
  dir = tempDir();
  keyFile = path.join(dir, 'k.pem');
  fs.writeFileSync(keyFile, ecKey('P-256').pem);
});
afterEach(() => cleanup(dir));

describe('modelseal attest sbom (in process)', () => {
  test('signs the SBOM over the same root digest as sign, with --framework, --dependency and --bom-out', async () => {
    const model = makeModel(dir);
    const sig = path.join(dir, 'model.sig');
    const signed = await run('sign', 'key', model, '--private-key', keyFile, '--signature', sig, '--json');
    expect(signed.code).toBe(0);
    const printed = JSON.parse(signed.stdout).rootDigest as string;
    expect(printed).toMatch(/^sha256:[0-9a-f]{64}$/);
    const rootDigest = printed.slice('sha256:'.length);

    const out = path.join(dir, 'sbom.sig');
    const bomOut = path.join(dir, 'bom.json');
    const r = await run('attest', 'sbom', 'key', model, '--model-card', CARD, '--private-key', keyFile, '--signature', out,
      '--scan-summary', SCAN, '--framework', 'onnxruntime@1.18.0', '--dependency', 'pkg:generic/cuda@12.4', '--bom-out', bomOut);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`SBOM attestation written: ${out} (sha256:${rootDigest}, CycloneDX 1.6, 9 components)\n`);

    const statement = parseSbomStatement(parseBundle(fs.readFileSync(out)).payload);
    expect(statement.rootDigest).toBe(rootDigest);
    expect(statement.subjectName).toBe('model');
    expect(JSON.parse(fs.readFileSync(bomOut, 'utf8'))).toEqual(statement.bom);
    const purls = (statement.bom.components as any[]).map((c) => c.purl);
    expect(purls).toEqual(expect.arrayContaining(['pkg:pypi/onnxruntime@1.18.0', 'pkg:generic/cuda@12.4']));
  });

  test('--digest skips hashing; --json reports the result', async () => {
    const digest = 'd'.repeat(64);
    const out = path.join(dir, 'sbom.sig');
    const r = await run('attest', 'sbom', 'key', path.join(dir, 'absent-model'), '--model-card', CARD, '--private-key', keyFile,
      '--signature', out, '--digest', `sha256:${digest}`, '--serving-image', `registry.example.com/serve@sha256:${'e'.repeat(64)}`, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, command: 'attest sbom', method: 'key', rootDigest: `sha256:${digest}`, subjectName: 'absent-model', predicateType: 'https://cyclonedx.org/bom', components: 7 });
    const bom = parseSbomStatement(parseBundle(fs.readFileSync(out)).payload).bom as any;
    expect(bom.components.find((c: any) => c.type === 'container').name).toBe('registry.example.com/serve');
  });

  test('an invalid model card exits 2 with the field named, and nothing is written', async () => {
    const card = path.join(dir, 'card.yaml');
    fs.writeFileSync(card, fs.readFileSync(CARD, 'utf8').replace('value: 0.943', 'value: high'));
    const out = path.join(dir, 'sbom.sig');
    const r = await run('attest', 'sbom', 'key', makeModel(dir), '--model-card', card, '--private-key', keyFile, '--signature', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`modelseal: model card ${card} is invalid: modelCard.quantitativeAnalysis.performanceMetrics[0].value: must be a number or numeric string (e.g. 0.94 or "0.94"); got "high"\n`);
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each([
    [['--serving-image', 'registry.example.com/serve:1.0'], /--serving-image: is "registry\.example\.com\/serve:1\.0"; it is not pinned by digest/],
    [['--serving-image', `serve@sha256:${'E'.repeat(64)}`], /is not sha256 followed by 64 lower-case hex/],
    [['--framework', 'torch'], /invalid package: --framework: is "torch"; expected NAME@VERSION/],
    [['--digest', 'sha256:123'], /--digest "sha256:123" is not valid; expected sha256: followed by 64 lower-case hex/],
    [['--serving-image', `serve@sha256:${'e'.repeat(64)}`, '--scan-summary', SCAN], /the scan summary is for image sha256:1d2c.*not the serving image sha256:eee/],
  ])('usage errors exit 2: %j', async (extra, message) => {
    const out = path.join(dir, 'sbom.sig');
    const r = await run('attest', 'sbom', 'key', makeModel(dir), '--model-card', CARD, '--private-key', keyFile, '--signature', out, ...extra);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('missing --model-card, unknown methods and attestation kinds, help', async () => {
    expect((await run('attest', 'sbom', 'key', 'model', '--private-key', keyFile)).stderr).toMatch(/attest sbom key needs --model-card FILE/);
    expect((await run('attest', 'sbom', 'gpg', 'model')).stderr).toMatch(/unknown signing method "gpg"; expected one of key, pkcs11-key, kms, certificate/);
    expect((await run('attest', 'slsa')).stderr).toMatch(/unknown attestation "slsa"; expected sbom/);
    expect((await run('attest', 'sbom', 'key', 'model', '--model-card', CARD)).stderr).toMatch(/needs --private-key/);
    const help = await run('attest', 'sbom', 'kms', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--kms-key ARN/);
    expect(help.stdout).not.toMatch(/--private-key/);
    expect((await run('attest')).code).toBe(2);
    expect((await run('--help')).stdout).toMatch(/attest sbom key\|pkcs11-key\|kms\|certificate MODEL_PATH --model-card FILE/);
  });
});

describe('bundled CLI', () => {
  beforeAll(() => ensureCliBundle(), 120_000);

  test('attest sbom runs from a copy of the bundle alone (schemas inlined), and the result validates', () => {
    const model = makeModel(dir);
    // A lone copy of the bundle: nothing next to it, no node_modules above it.
    const lone = path.join(dir, 'modelseal-cli.js');
    fs.copyFileSync(path.join(root, 'assets', 'modelseal-cli.js'), lone);
    const r = spawnSync(process.execPath, [lone, 'attest', 'sbom', 'key', 'model', '--model-card', CARD, '--private-key', keyFile,
      '--signature', 'sbom.sig', '--scan-summary', SCAN, '--json'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, signature: 'sbom.sig', subjectName: path.basename(model) });
    const statement = parseSbomStatement(parseBundle(fs.readFileSync(path.join(dir, 'sbom.sig'))).payload);
    expect(() => validateBom(statement.bom)).not.toThrow();
  });

  test('an invalid model card exits 2 from the bundle too', () => {
    const card = path.join(dir, 'card.json');
    fs.writeFileSync(card, JSON.stringify({ apiVersion: 'modelseal.dev/v1', kind: 'ModelCard', model: { version: '1' } }));
    const r = spawnSync(process.execPath, [bin, 'attest', 'sbom', 'key', makeModel(dir), '--model-card', card, '--private-key', keyFile],
      { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`modelseal: model card ${card} is invalid: model.name: is required\n`);
  });
});
