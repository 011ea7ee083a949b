/**
 * The README's first command runs scripts/demo.ts: here it runs as a test, with its own work and output folders, and
 * every case must come out as expected. Each refusal must say why, in the case's own terms.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureCliBundle } from './helpers/cli-bundle';
import { formatTable, runDemo, shortReason } from '../scripts/demo';

test('the demo: the attested model is admitted and pulled, every tampered, unsigned, partly signed, unpinned or revoked one is refused with its reason', async () => {
  ensureCliBundle();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-demo-'));
  try {
    const result = await runDemo({ workDir: path.join(dir, 'work'), cdkOut: path.join(dir, 'cdk.out'), verbose: false });
    const table = formatTable(result.rows);
    expect(result.rows.filter((r) => r.outcome !== r.expected)).toEqual([]);
    const reason = (c: string, step = 'admission') => result.rows.find((r) => r.case === c && r.step === step)!.reason;
    expect(result.rows.map((r) => `${r.case}/${r.step}/${r.outcome}`)).toEqual([
      'attested model (Deployment)/admission/admitted',
      'attested model (InferenceService)/admission/admitted',
      'attested model/pull/pulled',
      'one flipped byte/pull/refused',
      'unsigned model/admission/refused',
      'only the ci signature/admission/refused',
      'manifest re-signed under other file names/admission/refused',
      'unpinned image/admission/refused',
      'revoked model/admission/refused',
    ]);
    expect(reason('one flipped byte', 'pull')).toMatch(/ch_PP-OCRv4_rec_infer\.onnx does not match the manifest/);
    expect(reason('unsigned model')).toMatch(/model signatures: missing ci, compliance/);
    expect(reason('only the ci signature')).toBe('model signatures: missing compliance');
    expect(reason('manifest re-signed under other file names')).toMatch(/signatures over different manifests never add up/);
    expect(reason('unpinned image')).toMatch(/images not pinned by digest.*ocr-server:1\.0/);
    expect(reason('revoked model')).toMatch(/was revoked by security/);
    expect(table.split('\n')).toHaveLength(result.rows.length + 2);
    // the synthesized app it decided with: the template and the YAML the verifier's policy came from
    expect(fs.existsSync(path.join(dir, 'cdk.out', 'FullPipeline.template.json'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'work', 'policy', 'policy.yaml'), 'utf8')).toMatch(/revokers:\n\s+- security/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

test('shortReason keeps what is missing and drops the verifier prefix', () => {
  expect(shortReason('modelseal denied Deployment d: model signatures: requirement not met: needs all of [ci, compliance]; verified: ci; missing: compliance'))
    .toBe('model signatures: missing compliance');
  expect(shortReason(`modelseal: sha256:${'a'.repeat(64)} was revoked by security`)).toBe('sha256:aaaaaaaaaaaa… was revoked by security');
});
