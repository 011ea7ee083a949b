import * as fs from 'fs';
import * as path from 'path';
import { cleanup } from '../../fixtures/models';
import { runCli } from '../../helpers/cli';
import { SAMPLE_POLICY, workspace, Workspace, writePolicy } from '../policy/fixtures';

const run = runCli;

let ws: Workspace;
let policy: string;
beforeEach(async () => {
  ws = await workspace();
  policy = writePolicy(ws, SAMPLE_POLICY);
});
afterEach(() => cleanup(ws.dir));

describe('modelseal check / sign --from-bundle / revoke', () => {
  test('ci alone fails; compliance co-signs from the bundle (no model); revoke denies with who, when, why', async () => {
    const root = `sha256:${ws.root}`;
    expect((await run('publish', '--store', ws.storeDir, ws.ciBundleFile)).code).toBe(0);

    const denied = await run('check', '--store', ws.storeDir, '--policy', policy, root);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^DENY sha256:[0-9a-f]{64}/);
    expect(denied.stdout).toMatch(/MISSING require: all of \[ci, compliance\]; signed by ci; missing compliance/);

    cleanup(ws.model);
    const cosig = path.join(ws.dir, 'compliance.sig');
    const noKey = await run('sign', 'key', '--from-bundle', ws.ciBundleFile, '--signature', cosig, '--private-key', ws.keys.compliance.keyFile);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--verify-key/);
    const cs = await run('sign', 'key', '--from-bundle', ws.ciBundleFile, '--signature', cosig,
      '--private-key', ws.keys.compliance.keyFile, '--verify-key', ws.keys.ci.pubFile);
    expect(cs).toMatchObject({ code: 0, stderr: '' });
    expect(cs.stdout).toMatch(/^Co-signing succeeded: .*compliance\.sig \(sha256:[0-9a-f]{64}/);
    expect((await run('publish', '--store', ws.storeDir, cosig)).code).toBe(0);

    const allowed = await run('check', '--store', ws.storeDir, '--policy', policy, root, '--json');
    expect(allowed.code).toBe(0);
    const report = JSON.parse(allowed.stdout);
    expect(report).toMatchObject({ ok: true, command: 'check', decision: 'allow', root: `sha256:${ws.root}`, reasons: [] });
    expect(report.requirements[0]).toMatchObject({ name: 'require', met: true, signedBy: ['ci', 'compliance'] });
    expect(report.signatures).toHaveLength(2);

    const ignored = await run('revoke', '--store', ws.storeDir, '--reason', 'not me', '--private-key', ws.keys.ci.keyFile, root);
    expect(ignored.code).toBe(0);
    const still = await run('check', '--store', ws.storeDir, '--policy', policy, root);
    expect(still.code).toBe(0);
    expect(still.stdout).toMatch(/ignored ci at .*: not me \(ignored: signer ci is not a revoker/);

    const rv = await run('revoke', '--store', ws.storeDir, '--reason', 'license withdrawn', '--private-key', ws.keys.compliance.keyFile, root, '--json');
    expect(rv.code).toBe(0);
    expect(JSON.parse(rv.stdout)).toMatchObject({ ok: true, command: 'revoke', outcome: 'created', key: expect.stringMatching(/^revocations\/sha256\//) });
    const revoked = await run('check', '--store', ws.storeDir, '--policy', policy, root);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toMatch(/denied: sha256:[0-9a-f]{64} was revoked by compliance at \d{4}-\d\d-\d\dT[\d:.]+Z: license withdrawn/);
  });

  test('usage errors exit 2', async () => {
    expect((await run('check', '--store', ws.storeDir, `sha256:${ws.root}`)).code).toBe(2);
    expect((await run('check', '--store', ws.storeDir, '--policy', policy, 'sha256:nothex')).code).toBe(2);
    expect((await run('revoke', '--store', ws.storeDir, '--private-key', ws.keys.ci.keyFile, `sha256:${ws.root}`)).stderr).toMatch(/--reason/);
    expect((await run('revoke', '--store', ws.storeDir, '--reason', 'x', `sha256:${ws.root}`)).stderr).toMatch(/exactly one signing key/);
    const badPolicy = writePolicy(ws, SAMPLE_POLICY.replace('publicKey: ci', 'publickey: ci'), 'bad.yaml');
    const r = await run('check', '--store', ws.storeDir, '--policy', badPolicy, `sha256:${ws.root}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/signers\/0: unknown field 'publickey'/);
  });
});

describe('modelseal policy validate', () => {
  test('valid policy: exit 0', async () => {
    expect(await run('policy', 'validate', policy)).toMatchObject({ code: 0, stdout: `${policy}: valid trust policy\n` });
  });

  test('invalid policy: every error with its path, exit 1; --json too', async () => {
    const bad = writePolicy(ws, SAMPLE_POLICY.replace('publicKey: ci.pub.pem', 'publickey: ci.pub.pem')
      + 'attestations:\n  - predicateType: https://cyclonedx.org/bom\n    conditions:\n      - {name: a, expression: "true"}\n      - {name: b, expression: "predicate.x >"}\n', 'bad.yaml');
    const r = await run('policy', 'validate', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/signers/0: unknown field 'publickey'");
    expect(r.stderr).toMatch(/\/attestations\/0\/conditions\/1\/expression: Unexpected token/);
    const j = await run('policy', 'validate', bad, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ valid: false, errors: expect.arrayContaining([{ path: '/signers/0', message: expect.stringMatching(/^unknown field/) }]) });
  });

  test('help lists the new commands', async () => {
    const h = await run('--help');
    expect(h.stdout).toMatch(/policy validate FILE/);
    expect(h.stdout).toMatch(/check --store URI --policy FILE sha256:ROOT/);
    expect(h.stdout).toMatch(/revoke --store URI --reason TEXT/);
    expect(fs.existsSync(policy)).toBe(true);
  });
});
