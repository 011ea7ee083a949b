import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { bomPredicate, publish, SAMPLE_POLICY, sbom, tamper, workspace, Workspace, writePolicy } from './fixtures';
import { cosignBundle } from '../../../src/runtime/engine/cosign';
import { keyHint } from '../../../src/runtime/engine/keys';
import { signModel } from '../../../src/runtime/engine/sign';
import { signStatement } from '../../../src/runtime/engine/sign-statement';
import { checkStore } from '../../../src/runtime/policy/check';
import { loadTrustPolicy } from '../../../src/runtime/policy/load';
import { publishRevocation, signRevocation } from '../../../src/runtime/policy/revocation';
import { signModelWithAwsSigner } from '../../../src/runtime/signers/aws-signer';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { KmsSigner } from '../../../src/runtime/signers/kms';
import { cleanup } from '../../fixtures/models';
import { makePki } from '../../fixtures/pki';
import { KmsMock } from '../../helpers/kms-mock';
import { SignerMock } from '../../helpers/signer-mock';
import { testCa } from '../../helpers/test-ca';

let ws: Workspace;
beforeEach(async () => {
  ws = await workspace();
});
afterEach(() => cleanup(ws.dir));

async function check(policyText: string) {
  const policy = await loadTrustPolicy(writePolicy(ws, policyText));
  return checkStore(policy, ws.store, `sha256:${ws.root}`);
}

async function cosign(who: 'compliance' | 'lead' | 'ci2' | 'stranger') {
  const result = await cosignBundle(Buffer.from(ws.ciBundle), ws.keys[who].signer, { trust: { publicKey: ws.keys.ci.publicKey } });
  return publish(ws, result.bundleText);
}

const BOM_POLICY = `apiVersion: modelseal.dev/v1
kind: TrustPolicy
signers:
  - name: ci
    publicKey: ci.pub.pem
  - name: compliance
    publicKey: compliance.pub.pem
require:
  allOf: [ci]
attestations:
  - predicateType: https://cyclonedx.org/bom
    signers: [ci]
    conditions:
      - name: accuracy
        expression: "predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics.exists(m, m.type == 'accuracy' && double(m.value) >= 0.9)"
        message: evaluation accuracy must be at least 0.9
      - name: no-critical-vulnerabilities
        expression: "!predicate.vulnerabilities.exists(v, v.ratings.exists(r, r.severity == 'critical'))"
revokers: [compliance]
`;

describe('signer requirements', () => {
  test('signed by ci only fails allOf [ci, compliance]; passes once compliance co-signs without the model bytes', async () => {
    await publish(ws, ws.ciBundle);
    const before = await check(SAMPLE_POLICY);
    expect(before.decision).toBe('deny');
    expect(before.requirements[0]).toMatchObject({ name: 'require', met: false, signedBy: ['ci'], missing: ['compliance'] });
    expect(before.reasons.join('\n')).toMatch(/missing: compliance/);

    cleanup(ws.model); // the co-signer never sees the model
    await cosign('compliance');
    const after = await check(SAMPLE_POLICY);
    expect(after.decision).toBe('allow');
    expect(after.reasons).toEqual([]);
    expect(after.requirements[0]).toMatchObject({ met: true, signedBy: ['ci', 'compliance'], missing: [] });
    expect(after.signatures.filter((s) => s.counted).map((s) => s.signer).sort()).toEqual(['ci', 'compliance']);
  });

  test('atLeast 2 of [ci, compliance, lead] counts distinct signers', async () => {
    const policy = SAMPLE_POLICY.replace('allOf: [ci, compliance]', '{ atLeast: 2, of: [ci, compliance, lead] }')
      .replace('signers:\n', 'signers:\n  - name: lead\n    publicKey: lead.pub.pem\n');
    await publish(ws, ws.ciBundle);
    // The same signer signing twice is still one signer.
    await publish(ws, (await signModel(ws.model, ws.keys.ci.signer, { workers: 1 })).bundleText);
    const one = await check(policy);
    expect(one.decision).toBe('deny');
    expect(one.signatures.filter((s) => s.counted)).toHaveLength(2);
    expect(one.requirements[0]).toMatchObject({ mode: 'atLeast', atLeast: 2, signedBy: ['ci'], met: false });
    await cosign('lead');
    const two = await check(policy);
    expect(two.decision).toBe('allow');
    expect(two.requirements[0]).toMatchObject({ signedBy: ['ci', 'lead'], missing: ['compliance'], met: true });
  });

  test('key rotation: a signer with two keys verifies signatures made with either', async () => {
    const policy = SAMPLE_POLICY.replace('    publicKey: ci.pub.pem', '    publicKeys: [ci.pub.pem, ci2.pub.pem]')
      .replace('allOf: [ci, compliance]', 'allOf: [ci]');
    await cosign('ci2');
    const rotated = await check(policy);
    expect(rotated.decision).toBe('allow');
    expect(rotated.signatures[0]).toMatchObject({ signer: 'ci', counted: true, keyHint: expect.any(String) });
    await publish(ws, ws.ciBundle);
    const both = await check(policy);
    expect(both.decision).toBe('allow');
    expect(both.signatures.filter((s) => s.signer === 'ci' && s.counted)).toHaveLength(2);
  });

  test('a signature by a key the policy does not know never counts and is named in the report', async () => {
    await publish(ws, ws.ciBundle);
    await cosign('stranger');
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('deny');
    const stranger = r.signatures.find((s) => !s.counted)!;
    expect(stranger).toMatchObject({ verified: false, counted: false });
    expect(stranger.signer).toBeUndefined();
    expect(stranger.reason).toMatch(/^unknown key [0-9a-f]{64}: no signer in the policy has this key/);
    expect(r.notes.join('\n')).toMatch(/unknown key/);
    expect(r.reasons.join('\n')).toMatch(/missing: compliance/);
  });

  test('a tampered model signature is reported with the reason and not counted', async () => {
    await publish(ws, ws.ciBundle);
    const cosigned = await cosignBundle(Buffer.from(ws.ciBundle), ws.keys.compliance.signer, { trust: { publicKey: ws.keys.ci.publicKey } });
    await publish(ws, tamper(cosigned.bundleText,
      (st) => { st.subject[0].name = 'evil'; }));
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('deny');
    const bad = r.signatures.find((s) => s.signer === 'compliance')!;
    expect(bad).toMatchObject({ verified: false, counted: false });
    expect(bad.reason).toMatch(/signature by compliance's key [0-9a-f]{64} does not verify \(tampered\?\)/);
  });

  test('an empty store denies', async () => {
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.reasons[0]).toMatch(/verified: none; missing: ci, compliance/);
  });
});

describe('required attestations', () => {
  test('an SBOM meeting every CEL condition passes', async () => {
    await publish(ws, ws.ciBundle);
    await publish(ws, await sbom(ws.root, ws.keys.ci, bomPredicate('0.93')));
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.attestations[0].conditions).toEqual([
      { name: 'accuracy', passed: true, message: 'passed' },
      { name: 'no-critical-vulnerabilities', passed: true, message: 'passed' },
    ]);
  });

  test('a failed CEL condition denies and names the condition', async () => {
    await publish(ws, ws.ciBundle);
    await publish(ws, await sbom(ws.root, ws.keys.ci, bomPredicate('0.85', 1)));
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.reasons.join('\n')).toMatch(/fails condition 'accuracy': evaluation accuracy must be at least 0.9: evaluated to false, not true/);
    expect(r.reasons.join('\n')).toMatch(/fails condition 'no-critical-vulnerabilities'/);
  });

  test('a CEL runtime error fails the condition (fail closed)', async () => {
    await publish(ws, ws.ciBundle);
    const pred = bomPredicate('0.95');
    delete (pred as any).vulnerabilities;
    await publish(ws, await sbom(ws.root, ws.keys.ci, pred));
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('deny');
    const failed = r.attestations[0].conditions.find((c) => !c.passed)!;
    expect(failed.name).toBe('no-critical-vulnerabilities');
    expect(failed.message).toMatch(/No such key: vulnerabilities/);
  });

  test('a missing attestation denies', async () => {
    await publish(ws, ws.ciBundle);
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.reasons.join('\n')).toMatch(/attestation https:\/\/cyclonedx.org\/bom: requirement not met/);
  });

  test('a tampered attestation is reported with the reason and not counted', async () => {
    await publish(ws, ws.ciBundle);
    const key = await publish(ws, tamper(await sbom(ws.root, ws.keys.ci, bomPredicate('0.5')), (st) => {
      st.predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value = '0.99';
    }));
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('deny');
    const f = r.signatures.find((s) => s.key === key)!;
    expect(f).toMatchObject({ kind: 'attestation', signer: 'ci', verified: false, counted: false });
    expect(f.reason).toMatch(/does not verify/);
    expect(r.notes.join('\n')).toContain(key);
    expect(r.attestations).toEqual([]);
  });

  test('an attestation by a signer the requirement does not name is not evaluated and does not count', async () => {
    await publish(ws, ws.ciBundle);
    await publish(ws, await sbom(ws.root, ws.keys.compliance, bomPredicate('0.99')));
    const r = await check(BOM_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.requirements[1]).toMatchObject({ signedBy: [], missing: ['ci'], met: false });
  });
});

describe('revocation', () => {
  async function signedByBoth() {
    await publish(ws, ws.ciBundle);
    await cosign('compliance');
  }

  test('a revocation by a revoker denies and says who, when and why', async () => {
    await signedByBoth();
    expect((await check(SAMPLE_POLICY)).decision).toBe('allow');
    const rev = await signRevocation(`sha256:${ws.root}`, ws.keys.compliance.signer, {
      reason: 'training data license withdrawn', revokedAt: new Date('2025-03-01T12:00:00Z'),
    });
    expect(await publishRevocation(ws.store, rev)).toBe('created');
    expect(await publishRevocation(ws.store, rev)).toBe('unchanged');
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.reasons).toEqual([`sha256:${ws.root} was revoked by compliance at 2025-03-01T12:00:00.000Z: training data license withdrawn`]);
    expect(r.revocations).toEqual([expect.objectContaining({ by: 'compliance', status: 'honoured', at: '2025-03-01T12:00:00.000Z', reason: 'training data license withdrawn' })]);
  });

  test('a revocation by a signer who is not a revoker is ignored and reported', async () => {
    await signedByBoth();
    await publishRevocation(ws.store, await signRevocation(ws.root, ws.keys.ci.signer, { reason: 'oops' }));
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.revocations).toEqual([expect.objectContaining({ by: 'ci', status: 'ignored', reason: 'oops', ignoredBecause: 'signer ci is not a revoker (revokers: compliance)' })]);
    expect(r.notes.join('\n')).toMatch(/ignored: signer ci is not a revoker/);
  });

  test('a revocation by an unknown key is ignored and reported', async () => {
    await signedByBoth();
    await publishRevocation(ws.store, await signRevocation(ws.root, ws.keys.stranger.signer, { reason: 'spam' }));
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.revocations).toEqual([expect.objectContaining({
      status: 'ignored', ignoredBecause: expect.stringMatching(/^not signed by a revoker of the policy \(no revoker's key verifies its signature\): unknown key [0-9a-f]{64}: no signer in the policy has this key$/),
    })]);
  });

  test('review F3: a record naming a revoker\'s key hint whose signature does not verify is junk: published, reported, ignored', async () => {
    await signedByBoth();
    const hint = keyHint(ws.keys.compliance.publicKey);
    // the reviewer's repro: the revoker's public hint, a revocation statement, an 8-byte junk signature (DER 0,0)
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'm', digest: { sha256: ws.root } }],
      predicateType: 'https://modelseal.dev/revocation/v1',
      predicate: { reason: 'x', revokedAt: '2026-01-01T00:00:00Z' },
    };
    const forged = JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint }, tlogEntries: [] },
      dsseEnvelope: { payload: Buffer.from(JSON.stringify(statement)).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'MAYCAQECAQE=', keyid: '' }] },
    });
    const key = await publish(ws, forged); // the store accepts it: keys organise, they do not authenticate
    expect(key).toMatch(new RegExp(`^revocations/sha256/${ws.root}/${hint}/`));
    // and a tampered record that once was the revoker's (its signature no longer covers the statement)
    const tampered = await publish(ws, tamper((await signRevocation(ws.root, ws.keys.compliance.signer, { reason: 'real' })).bundleText, (st) => {
      st.predicate.reason = 'altered';
    }));
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.reasons).toEqual([]);
    const ignored = expect.stringMatching(new RegExp(`^not signed by a revoker of the policy \\(no revoker's key verifies its signature\\): signature by compliance's key ${hint} does not verify \\(tampered\\?\\)`));
    expect(r.revocations).toEqual(expect.arrayContaining([
      { key, keyHint: hint, status: 'ignored', ignoredBecause: ignored },
      { key: tampered, keyHint: hint, status: 'ignored', ignoredBecause: ignored },
    ]));
    expect(r.revocations).toHaveLength(2);
    expect(r.notes.join('\n')).toContain(`revocation ${key} ignored: not signed by a revoker of the policy`);
  });

  test('review F3: a revocation the revoker signed about another root, copied under this one, revokes nothing here', async () => {
    await signedByBoth();
    const other = 'ab'.repeat(32);
    const rev = await signRevocation(other, ws.keys.compliance.signer, { reason: 'the other model' });
    const hint = keyHint(ws.keys.compliance.publicKey);
    const copied = `revocations/sha256/${ws.root}/${hint}/${createHash('sha256').update(rev.bundleText).digest('hex')}.json`;
    fs.mkdirSync(path.dirname(path.join(ws.storeDir, copied)), { recursive: true });
    fs.writeFileSync(path.join(ws.storeDir, copied), rev.bundleText);
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.reasons).toEqual([]);
    const why = `signed by revoker compliance but not a revocation of this root: the statement is about sha256:${other}, not sha256:${ws.root}`;
    expect(r.revocations).toEqual([{ key: copied, by: 'compliance', keyHint: hint, status: 'ignored', ignoredBecause: why }]);
    expect(r.notes).toContain(`revocation ${copied} ignored: ${why}`);
  });
});

describe('other key kinds', () => {
  test('a kmsKeyArn signer is resolved with GetPublicKey at check time', async () => {
    const kms = await KmsMock.create();
    try {
      const key = kms.addKey({ keySpec: 'ECC_NIST_P256' });
      const signer = await KmsSigner.open({ keyId: key.arn, client: kms.client });
      const cosigned = await cosignBundle(Buffer.from(ws.ciBundle), signer, { trust: { publicKey: ws.keys.ci.publicKey } });
      await publish(ws, ws.ciBundle);
      await publish(ws, cosigned.bundleText);
      const policy = await loadTrustPolicy(writePolicy(ws, SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', `kmsKeyArn: ${key.arn}`)));
      const r = await checkStore(policy, ws.store, ws.root, { kmsClient: kms.client });
      expect(r.decision).toBe('allow');
      expect(r.signatures.map((s) => s.signer).sort()).toEqual(['ci', 'compliance']);
    } finally {
      kms.restore();
    }
  });

  test('an unreadable KMS key fails closed', async () => {
    const kms = await KmsMock.create();
    try {
      const key = kms.addKey({ keySpec: 'ECC_NIST_P256', denyAll: true });
      await publish(ws, ws.ciBundle);
      const policy = await loadTrustPolicy(writePolicy(ws, SAMPLE_POLICY.replace('allOf: [ci, compliance]', 'allOf: [ci]')
        .replace('publicKey: compliance.pub.pem', `kmsKeyArn: ${key.arn}`)));
      const r = await checkStore(policy, ws.store, ws.root, { kmsClient: kms.client });
      expect(r.decision).toBe('deny');
      expect(r.reasons[0]).toMatch(/cannot read the public key of KMS key .* \(signer compliance\), failing closed/);
    } finally {
      kms.restore();
    }
  });

  test('a certificate identity needs the trust anchor, the exact name and the code-signing EKU', async () => {
    const pki = makePki(path.join(ws.dir, 'pki'));
    const signer = await CertificateSigner.fromFiles({ privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert] });
    await publish(ws, ws.ciBundle);
    await publish(ws, (await cosignBundle(Buffer.from(ws.ciBundle), signer, { trust: { publicKey: ws.keys.ci.publicKey } })).bundleText);
    const withCn = (cn: string) => SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', `certificate: { trustAnchor: pki/root.pem, commonName: ${cn} }`);
    const ok = await check(withCn('leaf'));
    expect(ok.decision).toBe('allow');
    expect(ok.signatures.find((s) => s.signer === 'compliance')!.reason).toMatch(/certificate commonName leaf/);
    const wrong = await check(withCn('someone-else'));
    expect(wrong.decision).toBe('deny');
    expect(wrong.notes.join('\n')).toMatch(/unknown certificate identity: compliance: certificate has CN "leaf", not commonName "someone-else"/);
  });

  test('a certificate without the code-signing EKU does not match an identity', async () => {
    const pki = makePki(path.join(ws.dir, 'pki'), { leafExtKeyUsage: null });
    const signer = await CertificateSigner.fromFiles({ privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert] });
    await publish(ws, ws.ciBundle);
    await publish(ws, (await cosignBundle(Buffer.from(ws.ciBundle), signer, { trust: { publicKey: ws.keys.ci.publicKey } })).bundleText);
    const r = await check(SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', 'certificate: { trustAnchor: pki/root.pem, commonName: leaf }'));
    expect(r.decision).toBe('deny');
    expect(r.notes.join('\n')).toMatch(/lacks the code-signing extended key usage/);
  });

  test('an AWS Signer (Notation) co-signature counts for its signer; a revoked profile denies, naming it', async () => {
    const mock = new SignerMock({ ca: testCa() });
    try {
      fs.writeFileSync(path.join(ws.dir, 'aws-signer-root.pem'), testCa().rootPem);
      const signed = await signModelWithAwsSigner({ root: ws.root, profileName: 'modelseal_ci', client: mock.client });
      await publish(ws, ws.ciBundle);
      await publish(ws, signed.envelope);
      const policy = await loadTrustPolicy(writePolicy(ws, SAMPLE_POLICY.replace('publicKey: compliance.pub.pem',
        `awsSigner: { profileArn: "${mock.profileArn()}", trustedRoot: aws-signer-root.pem }`)));
      const ok = await checkStore(policy, ws.store, ws.root, { signerClient: mock.client });
      expect(ok.decision).toBe('allow');
      expect(ok.signatures.find((x) => x.kind === 'notation')).toMatchObject({ signer: 'compliance', counted: true });
      mock.revoked.add(mock.profileArn());
      const revoked = await checkStore(policy, ws.store, ws.root, { signerClient: mock.client });
      expect(revoked.decision).toBe('deny');
      expect(revoked.notes.join('\n')).toMatch(/signing profile version .* is revoked/);
      expect(revoked.reasons.join('\n')).toMatch(/missing: compliance/);
    } finally {
      mock.restore();
    }
  });
});

describe('review fixes: fail closed without being lockable', () => {
  test('a junk object under attestations/ is reported, never counted, and does not deny the digest', async () => {
    await publish(ws, ws.ciBundle);
    const cosignKey = await cosign('compliance');
    expect(cosignKey).toContain('bundles/');
    const junk = `attestations/sha256/${ws.root}/x/${'ab'.repeat(32)}/${'cd'.repeat(32)}.json`;
    // written behind the store's back, as anyone with s3:PutObject could (the store's own put refuses it)
    fs.mkdirSync(path.dirname(path.join(ws.storeDir, junk)), { recursive: true });
    fs.writeFileSync(path.join(ws.storeDir, junk), 'junk');
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('allow');
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${junk}: not counted: `))]));
  });

  test('a revocation signed by a revoker denies even when its predicate is malformed', async () => {
    await publish(ws, ws.ciBundle);
    await cosign('compliance');
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: ws.root } }],
      predicateType: 'https://modelseal.dev/revocation/v1',
      predicate: { reason: 'leak', revokedAt: 'yesterday' },
    };
    await publish(ws, (await signStatement(statement, ws.keys.compliance.signer)).bundleText);
    const r = await check(SAMPLE_POLICY);
    expect(r.decision).toBe('deny');
    expect(r.reasons.join('\n')).toMatch(/revoked by compliance with a malformed record/);
  });

  test('one key listed twice in different point encodings is refused as two signers', async () => {
    const jwk = ws.keys.ci.publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const x = Buffer.from(jwk.x, 'base64url');
    const y = Buffer.from(jwk.y, 'base64url');
    const spkiPrefix = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
    const compressed = Buffer.concat([spkiPrefix, Buffer.from([2 + (y[31] & 1)]), x]);
    const pem = `-----BEGIN PUBLIC KEY-----\n${compressed.toString('base64')}\n-----END PUBLIC KEY-----\n`;
    fs.writeFileSync(path.join(ws.dir, 'ci-compressed.pub.pem'), pem);
    const text = SAMPLE_POLICY.replace('publicKey: compliance.pub.pem', 'publicKey: ci-compressed.pub.pem');
    expect(text).toContain('ci-compressed.pub.pem');
    await expect(loadTrustPolicy(writePolicy(ws, text))).rejects.toThrow(/ci|compliance/);
  });
});
