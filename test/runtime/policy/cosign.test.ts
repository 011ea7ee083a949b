import * as fs from 'fs';
import * as path from 'path';
import { sbom, bomPredicate, tamper, workspace, Workspace } from './fixtures';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { parseBundle } from '../../../src/runtime/engine/bundle';
import { cosignBundle, verifyStatementBundle } from '../../../src/runtime/engine/cosign';
import { keyHint } from '../../../src/runtime/engine/keys';
import { verifyModel } from '../../../src/runtime/engine/verify';
import { compileCel } from '../../../src/runtime/policy/cel';
import { buildRevocationStatement, parseRevocationPredicate, signRevocation } from '../../../src/runtime/policy/revocation';
import { bundleFor, cleanup } from '../../fixtures/models';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
});
afterAll(() => cleanup(ws.dir));

describe('cosignBundle', () => {
  test('signs the exact statement bytes; the co-signature verifies the model like any OMS bundle', async () => {
    const out = path.join(ws.dir, 'compliance.sig');
    const trust = { publicKey: ws.keys.ci.publicKey };
    const r = await cosignBundle(Buffer.from(ws.ciBundle), ws.keys.compliance.signer, { trust, signaturePath: out });
    expect(r.payload.equals(parseBundle(Buffer.from(ws.ciBundle)).payload)).toBe(true);
    expect(parseBundle(fs.readFileSync(out)).payload.equals(r.payload)).toBe(true);
    expect(r.keyHint).toBe(keyHint(ws.keys.compliance.publicKey));
    expect(r.originalSignerTrusted).toBe(true);
    expect(r.warnings).toEqual([]);
    const v = await verifyModel(ws.model, out, { publicKey: ws.keys.compliance.publicKey }, { workers: 1 });
    expect(v.rootDigest).toBe(ws.root);
  });

  test('keeps non-canonical statement bytes as they are (never re-serializes)', async () => {
    const payload = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'm', digest: { sha256: ws.root } }], predicateType: 'https://example.com/p', predicate: {} }));
    const original = JSON.stringify(await bundleFor(payload, ws.keys.ci.privateKey));
    const r = await cosignBundle(Buffer.from(original), ws.keys.compliance.signer, { trust: { publicKey: ws.keys.ci.publicKey } });
    expect(r.payload.equals(payload)).toBe(true);
    expect(r.original.predicateType).toBe('https://example.com/p');
  });

  test('a hint-only bundle needs the original signer\'s key', async () => {
    await expect(cosignBundle(Buffer.from(ws.ciBundle), ws.keys.compliance.signer)).rejects.toThrow(UsageError);
    await expect(cosignBundle(Buffer.from(ws.ciBundle), ws.keys.compliance.signer)).rejects.toThrow(/names its signing key only by hint [0-9a-f]{64}; pass the original signer's public key with --verify-key/);
  });

  test('refuses to co-sign a bundle that does not verify', async () => {
    await expect(cosignBundle(Buffer.from(ws.ciBundle), ws.keys.compliance.signer, { trust: { publicKey: ws.keys.lead.publicKey } }))
      .rejects.toThrow(/key mismatch/);
    const forged = tamper(ws.ciBundle, (st) => { st.subject[0].name = 'other'; });
    await expect(cosignBundle(Buffer.from(forged), ws.keys.compliance.signer, { trust: { publicKey: ws.keys.ci.publicKey } }))
      .rejects.toThrow(VerificationError);
  });

  test('a bundle that embeds its raw key is verified with it, with a warning that the signer is unproven', async () => {
    const b = JSON.parse(ws.ciBundle);
    b.verificationMaterial.publicKey = { rawBytes: ws.keys.ci.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
    const r = await cosignBundle(Buffer.from(JSON.stringify(b)), ws.keys.compliance.signer);
    expect(r.originalSignerTrusted).toBe(false);
    expect(r.warnings[0]).toMatch(/verified only with the key it carries itself/);
  });
});

describe('verifyStatementBundle', () => {
  test('verifies non-OMS statements and reports subject digests and predicate', async () => {
    const text = await sbom(ws.root, ws.keys.ci, bomPredicate('0.9'));
    const v = await verifyStatementBundle(Buffer.from(text), { publicKey: ws.keys.ci.publicKey });
    expect(v).toMatchObject({ predicateType: 'https://cyclonedx.org/bom', subjectDigests: [ws.root], method: 'key' });
    await expect(verifyStatementBundle(Buffer.from(text), { publicKey: ws.keys.lead.publicKey })).rejects.toThrow(/key mismatch/);
  });
});

describe('revocation records', () => {
  test('statement shape and predicate parsing', async () => {
    const st = buildRevocationStatement(`sha256:${ws.root}`, { reason: ' bad data ', revokedAt: new Date('2025-01-02T03:04:05Z'), revoker: 'Jane' });
    expect(st).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `sha256:${ws.root}`, digest: { sha256: ws.root } }],
      predicateType: 'https://modelseal.dev/revocation/v1',
      predicate: { reason: 'bad data', revokedAt: '2025-01-02T03:04:05.000Z', revoker: 'Jane' },
    });
    const signed = await signRevocation(ws.root, ws.keys.compliance.signer, { reason: 'x' });
    expect(signed.key).toMatch(new RegExp(`^revocations/sha256/${ws.root}/${signed.keyHint}/[0-9a-f]{64}\\.json$`));
    expect(() => buildRevocationStatement(ws.root, { reason: '  ' })).toThrow(/non-empty --reason/);
    expect(() => buildRevocationStatement('sha256:abc', { reason: 'x' })).toThrow(/not valid/);
    expect(() => parseRevocationPredicate({ reason: 'x', revokedAt: 'yesterday' })).toThrow(/RFC 3339/);
    expect(() => parseRevocationPredicate({ revokedAt: '2025-01-01T00:00:00Z' })).toThrow(/predicate.reason/);
  });
});

describe('CEL', () => {
  test('only exactly true passes; errors and non-bool values fail with the reason', async () => {
    const c = await compileCel('predicate.a');
    if (!c.ok) {
      throw new Error(c.error);
    }
    expect(c.program.evaluate({ a: true })).toEqual({ passed: true });
    expect(c.program.evaluate({ a: 'true' })).toEqual({ passed: false, error: 'evaluated to "true", not true' });
    expect(c.program.evaluate({})).toMatchObject({ passed: false, error: expect.stringMatching(/No such key: a/) });
    expect(c.program.evaluate(undefined)).toMatchObject({ passed: false });
  });
});
