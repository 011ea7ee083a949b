import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SignPayloadCommand } from '@aws-sdk/client-signer';
import { signAwsSignerCommand, verifyAwsSignerCommand } from '../../../src/runtime/cli/commands/notation';
import { main } from '../../../src/runtime/cli/main';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import {
  certificateHashes,
  MODEL_ARTIFACT_MEDIA_TYPE,
  NOTATION_PAYLOAD_MEDIA_TYPE,
  NOTATION_PLATFORM_ID,
  notationPayload,
  notationStoreKey,
  signModelWithAwsSigner,
  verifyNotationSignature,
  type NotationVerificationOptions,
} from '../../../src/runtime/signers/aws-signer';
import { cleanup, makeModel, tempDir } from '../../fixtures/models';
import { SignerMock } from '../../helpers/signer-mock';
import { testCa } from '../../helpers/test-ca';

const ROOT = 'ab'.repeat(32);
const OTHER_ROOT = 'cd'.repeat(32);
const DAY = 24 * 3600 * 1000;

let mock: SignerMock;

beforeEach(() => {
  mock = new SignerMock({ ca: testCa() });
});
afterEach(() => mock.restore());

/** Calls SignPayload directly, so envelopes the signing side would refuse can still reach the verifier. */
async function rawSign(root = ROOT): Promise<Buffer> {
  const r = await mock.client.send(new SignPayloadCommand({
    profileName: 'modelseal_ci', payload: notationPayload(root), payloadFormat: NOTATION_PAYLOAD_MEDIA_TYPE,
  }));
  return Buffer.from(r.signature!);
}

/** Signs ROOT (or `root`) through the mock and returns the envelope bytes. */
async function sign(root = ROOT): Promise<Buffer> {
  return (await signModelWithAwsSigner({ root, profileName: 'modelseal_ci', client: mock.client })).envelope;
}

function opts(extra: Partial<NotationVerificationOptions> = {}): NotationVerificationOptions {
  return { root: ROOT, trustedRoots: [testCa().rootPem], profileArn: mock.profileArn(), client: mock.client, ...extra };
}

/** Rewrites one member of an envelope without re-signing it. */
function edit(envelope: Buffer, f: (doc: Record<string, any>) => void): Buffer {
  const doc = JSON.parse(envelope.toString('utf8'));
  f(doc);
  return Buffer.from(JSON.stringify(doc));
}

async function denied(envelope: Buffer, o: NotationVerificationOptions, message: RegExp): Promise<void> {
  const p = verifyNotationSignature(envelope, o);
  await expect(p).rejects.toBeInstanceOf(VerificationError);
  await expect(p).rejects.toThrow(message);
}

describe('notation payload', () => {
  test('is a byte-stable OCI descriptor of the model root', () => {
    expect(notationPayload(`sha256:${ROOT}`, 42).toString('utf8')).toBe(
      `{"targetArtifact":{"mediaType":"${MODEL_ARTIFACT_MEDIA_TYPE}","digest":"sha256:${ROOT}","size":42,` +
      `"annotations":{"dev.modelseal.oms.root":"${ROOT}"}}}`);
    expect(notationPayload(ROOT)).toEqual(notationPayload(ROOT, 0));
  });

  test('takes the root digest as every command does: upper-case hex is refused (codec/digest.ts, one spelling)', () => {
    expect(() => notationPayload(ROOT.toUpperCase())).toThrow(/is not valid; expected sha256: followed by 64 lower-case hex/);
  });

  test('rejects a malformed root or size, naming it', () => {
    expect(() => notationPayload('sha256:1234')).toThrow(/"sha256:1234" is not valid; expected sha256: followed by 64 lower-case hex/);
    expect(() => notationPayload(ROOT, -1)).toThrow(/size -1/);
  });
});

describe('signModelWithAwsSigner', () => {
  test('calls SignPayload with the Notation payload format and returns the envelope and job', async () => {
    const r = await signModelWithAwsSigner({ root: ROOT, size: 10, profileName: 'modelseal_ci', profileOwner: '123456789012', client: mock.client });
    const call = mock.stub.commandCalls(SignPayloadCommand)[0].args[0].input;
    expect(call).toMatchObject({ profileName: 'modelseal_ci', profileOwner: '123456789012', payloadFormat: NOTATION_PAYLOAD_MEDIA_TYPE });
    expect(Buffer.from(call.payload!)).toEqual(notationPayload(ROOT, 10));
    expect(r.jobArn).toBe(mock.jobs[0]);
    expect(r.jobArn.endsWith(r.jobId)).toBe(true);
    expect(r.jobOwner).toBe('123456789012');
    expect(r.profileVersionArn).toBe(mock.profileVersionArn());
    const obj = createHash('sha256').update(r.envelope).digest('hex');
    expect(r.storeKey).toBe(`notation/sha256/${ROOT}/${obj}.jws`);
    expect(notationStoreKey(r.envelope)).toEqual({ root: ROOT, key: r.storeKey });
  });

  test('a SignPayload failure is a usage error naming the profile and the AWS error', async () => {
    const p = signModelWithAwsSigner({ root: ROOT, profileName: 'no_such_profile', client: mock.client });
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(p).rejects.toThrow(/signing profile no_such_profile failed: ResourceNotFoundException/);
  });

  test('refuses an envelope without the AWS Signer job header (not a Notation profile)', async () => {
    mock.overrides.protectedHeader = (h) => ({ ...h, 'com.amazonaws.signer.signingJob': undefined });
    await expect(sign()).rejects.toThrow(/envelope without the com.amazonaws.signer.signingJob/);
  });

  test('rejects a bad profile name or owner before calling AWS', async () => {
    await expect(signModelWithAwsSigner({ root: ROOT, profileName: 'bad name', client: mock.client })).rejects.toThrow(/profile name "bad name"/);
    await expect(signModelWithAwsSigner({ root: ROOT, profileName: 'p1', profileOwner: '12', client: mock.client })).rejects.toThrow(/"12" is not an AWS account id/);
    expect(mock.stub.calls()).toHaveLength(0);
  });
});

describe('verifyNotationSignature', () => {
  test('round trip: sign then verify, with GetRevocationStatus asked the right question', async () => {
    const envelope = await sign();
    const r = await verifyNotationSignature(envelope, opts());
    expect(r).toMatchObject({
      root: ROOT,
      signingScheme: 'notary.x509.signingAuthority',
      profileVersionArn: mock.profileVersionArn(),
      jobArn: mock.jobs[0],
    });
    expect(r.leafSubject).toContain('CN=AWS Signer');
    expect(r.chainSubjects).toHaveLength(3);
    expect(Math.abs(r.signingTime.getTime() - Date.now())).toBeLessThan(60_000);
    expect(mock.revocationQueries).toHaveLength(1);
    const q = mock.revocationQueries[0];
    expect(q).toMatchObject({ platformId: NOTATION_PLATFORM_ID, profileVersionArn: mock.profileVersionArn(), jobArn: mock.jobs[0] });
    expect(q.signatureTimestamp).toEqual(r.signingTime);
    expect(q.certificateHashes).toEqual(certificateHashes([testCa().leaf, testCa().intermediate, testCa().root]));
  });

  test('accepts a trusted profile version ARN and sha256:-prefixed roots', async () => {
    const envelope = await sign();
    await expect(verifyNotationSignature(envelope, opts({ root: `sha256:${ROOT}`, profileArn: undefined, profileVersionArn: mock.profileVersionArn() })))
      .resolves.toMatchObject({ root: ROOT });
  });

  test('certificate hashes are SHA-384(TBS) || SHA-384(issuer TBS), as the API reference computes them with openssl', () => {
    const ca = testCa();
    const tbsHash = (pemFile: string) => {
      const out = path.join(ca.dir, `${path.basename(pemFile)}.tbs`);
      execFileSync('openssl', ['asn1parse', '-in', pemFile, '-strparse', '4', '-out', out, '-noout']);
      return createHash('sha384').update(fs.readFileSync(out)).digest('hex');
    };
    const [leaf, int, root] = ['leaf.pem', 'int.pem', 'root.pem'].map((f) => tbsHash(path.join(ca.dir, f)));
    expect(certificateHashes([ca.leaf, ca.intermediate, ca.root])).toEqual([leaf + int, int + root, root + root]);
  });

  test('a revoked signing profile denies, naming the profile', async () => {
    const envelope = await sign();
    mock.revoked.add(mock.profileArn());
    await denied(envelope, opts(), new RegExp(`signing profile version ${escape(mock.profileVersionArn())} is revoked`));
  });

  test('a revoked signing job denies, naming the job', async () => {
    const envelope = await sign();
    mock.revoked.add(mock.jobs[0]);
    await denied(envelope, opts(), new RegExp(`signing job ${escape(mock.jobs[0])} is revoked`));
  });

  test('a revoked job only revokes its own signature', async () => {
    const first = await sign();
    const second = await sign();
    mock.revoked.add(mock.jobs[0]);
    await expect(verifyNotationSignature(first, opts())).rejects.toThrow(/signing job .* is revoked/);
    await expect(verifyNotationSignature(second, opts())).resolves.toMatchObject({ jobArn: mock.jobs[1] });
  });

  test('a revoked certificate denies, naming the certificate', async () => {
    const envelope = await sign();
    mock.revoked.add(certificateHashes([testCa().leaf, testCa().intermediate, testCa().root])[1]);
    await denied(envelope, opts(), /certificate ".*Code Signing CA G1" .* is revoked/);
  });

  test('a GetRevocationStatus failure denies (fails closed)', async () => {
    const envelope = await sign();
    mock.revocationError = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await denied(envelope, opts(), /cannot confirm revocation status: AWS Signer GetRevocationStatus failed: ThrottlingException: Rate exceeded/);
  });

  test('a signature over another root digest denies', async () => {
    const envelope = await sign(OTHER_ROOT);
    await denied(envelope, opts(), new RegExp(`signs sha256:${OTHER_ROOT}, not the model sha256:${ROOT}`));
    expect(mock.revocationQueries).toHaveLength(0);
  });

  test('a tampered payload denies', async () => {
    const envelope = await sign();
    const forged = edit(envelope, (d) => {
      d.payload = notationPayload(OTHER_ROOT).toString('base64url');
    });
    await denied(forged, opts({ root: OTHER_ROOT }), /JWS signature does not verify/);
  });

  test('a tampered protected header denies', async () => {
    const envelope = await sign();
    const forged = edit(envelope, (d) => {
      const h = JSON.parse(Buffer.from(d.protected, 'base64url').toString('utf8'));
      // Point the signature at another job (the one a revocation would not name); the change must be real.
      h['com.amazonaws.signer.signingJob'] = h['com.amazonaws.signer.signingJob'].replace(/.$/, (c: string) => (c === '0' ? '1' : '0'));
      d.protected = Buffer.from(JSON.stringify(h)).toString('base64url');
    });
    await denied(forged, opts(), /JWS signature does not verify/);
  });

  test('a chain not anchored in the trusted root denies', async () => {
    const envelope = await sign();
    const other = testCa({ name: 'untrusted' });
    await denied(envelope, opts({ trustedRoots: [other.rootPem] }), /not anchored in a trusted root: its root .*aws-signer-test Root CA G1.* is none of the 1 trusted root/);
  });

  test('a chain from another CA, whatever it says about itself, denies', async () => {
    const other = testCa({ name: 'impostor' });
    mock.restore();
    mock = new SignerMock({ ca: other });
    const envelope = await sign();
    await denied(envelope, opts(), /not anchored in a trusted root/);
  });

  test('an x5c without its root certificate denies with a clear reason', async () => {
    mock.overrides.x5c = testCa().chainDer.slice(0, 2).map((d) => d.toString('base64'));
    const envelope = await sign();
    await denied(envelope, opts(), /x5c ends with .*Code Signing CA G1.* instead of its root certificate/);
  });

  test('an x5c out of order denies', async () => {
    const [leaf, int, root] = testCa().chainDer.map((d) => d.toString('base64'));
    mock.overrides.x5c = [leaf, root, int];
    const envelope = await sign();
    await denied(envelope, opts(), /x5c is not an ordered chain/);
  });

  test('a leaf expired at the signing time denies', async () => {
    mock.overrides.signingTime = new Date(Date.now() + 60 * DAY);
    const envelope = await sign();
    await denied(envelope, opts(), /certificate "C=US.*CN=AWS Signer" .* is valid from .* to .*, not at the signing time/);
  });

  test('a leaf not yet valid at the signing time denies', async () => {
    mock.overrides.signingTime = new Date(Date.now() - 10 * DAY);
    const envelope = await sign();
    await denied(envelope, opts(), /CN=AWS Signer.* not at the signing time/);
  });

  test('a leaf that has expired since signing still verifies (authentic signing time)', async () => {
    const envelope = await sign();
    await expect(verifyNotationSignature(envelope, opts({ now: new Date(Date.now() + 90 * DAY) }))).resolves.toBeDefined();
  });

  test('a signature past its io.cncf.notary.expiry denies', async () => {
    const envelope = await sign();
    await denied(envelope, opts({ now: new Date(Date.now() + 400 * DAY) }), /expired at .* \(io\.cncf\.notary\.expiry\)/);
  });

  test('another signing profile of the same root denies, naming both', async () => {
    mock.restore();
    mock = new SignerMock({ ca: testCa(), profiles: ['someone_else'] });
    const envelope = (await signModelWithAwsSigner({ root: ROOT, profileName: 'someone_else', client: mock.client })).envelope;
    const trusted = 'arn:aws:signer:us-west-2:123456789012:/signing-profiles/modelseal_ci';
    await denied(envelope, opts({ profileArn: trusted }), /signing profile .*someone_else .* not the trusted .*modelseal_ci/);
    await denied(envelope, opts({ profileArn: undefined, profileVersionArn: `${trusted}/a1B2c3D4e5` }), /not the trusted/);
  });

  test('refuses to verify without a trusted profile or root', async () => {
    const envelope = await sign();
    await expect(verifyNotationSignature(envelope, opts({ profileArn: undefined }))).rejects.toThrow(/needs the trusted signing profile/);
    await expect(verifyNotationSignature(envelope, opts({ trustedRoots: [] }))).rejects.toThrow(/at least one trusted root/);
    await expect(verifyNotationSignature(envelope, opts({ profileArn: 'arn:aws:signer:us-west-2:123456789012:/signing-profiles/x_y/abc' })))
      .rejects.toThrow(/is not a signing profile ARN.*pass it as profileVersionArn/);
  });

  test('a leaf without the codeSigning extended key usage denies', async () => {
    const ca = testCa({ name: 'no-eku', leafExtKeyUsage: null });
    mock.restore();
    mock = new SignerMock({ ca });
    const envelope = await sign();
    await denied(envelope, opts({ trustedRoots: [ca.rootPem] }), /lacks the extended key usage codeSigning/);
  });

  test('ES256 with a P-256 leaf verifies; an alg that does not fit the key denies', async () => {
    const ca = testCa({ name: 'p256', leafCurve: 'P-256' });
    mock.restore();
    mock = new SignerMock({ ca });
    mock.overrides.protectedHeader = (h) => ({ ...h, alg: 'ES256' });
    const good = await sign();
    await expect(verifyNotationSignature(good, opts({ trustedRoots: [ca.rootPem] }))).resolves.toBeDefined();
    mock.overrides.protectedHeader = undefined;
    const bad = await sign();
    await denied(bad, opts({ trustedRoots: [ca.rootPem] }), /alg ES384 needs a P-384 signing key, but the signing certificate's key is P-256/);
  });

  describe('malformed envelopes give clear errors', () => {
    const cases: [string, (e: Buffer) => Buffer, RegExp][] = [
      ['not JSON', () => Buffer.from('garbage'), /envelope is not valid JSON \(Unexpected token/],
      // issue 10 #7: a JWS envelope and its protected header have one reading
      ['a duplicate member in the envelope', (e) => Buffer.from(e.toString('utf8').replace(/^\{/, '{"header":{},')), /envelope has the member "header" twice in the object at \/; a signed document must have one reading/],
      ['a duplicate member in the protected header', (e) => edit(e, (d) => {
        const text = Buffer.from(d.protected, 'base64url').toString('utf8');
        d.protected = Buffer.from(text.replace(/^\{/, '{"alg":"ES256",')).toString('base64url');
      }), /protected header has the member "alg" twice in the object at \/; a signed document must have one reading/],
      ['compact serialization', () => Buffer.from('eyJhbGciOiJFUzM4NCJ9.eyJ9.c2ln'), /looks like JWS compact serialization/],
      ['a JSON array', () => Buffer.from('[]'), /must be a JSON object/],
      ['general serialization', (e) => edit(e, (d) => {
        d.signatures = [];
      }), /general JWS JSON serialization/],
      ['an extra top-level member', (e) => edit(e, (d) => {
        d.extra = 1;
      }), /unsupported top-level member\(s\) extra/],
      ['no signature', (e) => edit(e, (d) => {
        delete d.signature;
      }), /lacks the required "signature" member/],
      ['padded base64url', (e) => edit(e, (d) => {
        d.signature += '=';
      }), /"signature" is not base64url/],
      ['no x5c', (e) => edit(e, (d) => {
        d.header = {};
      }), /x5c is missing; expected the certificate chain/],
      ['a bad certificate', (e) => edit(e, (d) => {
        d.header.x5c[0] = 'AAAA';
      }), /x5c\[0\] is not a valid X.509 certificate/],
      ['a header in both places', (e) => edit(e, (d) => {
        d.header.alg = 'ES384';
      }), /alg in both the protected and the unprotected header/],
    ];
    test.each(cases)('%s', async (_name, f, message) => {
      await denied(f(await sign()), opts(), message);
    });
  });

  describe('protected header rules', () => {
    const cases: [string, (h: Record<string, any>) => Record<string, any>, RegExp][] = [
      ['alg none', (h) => ({ ...h, alg: 'none' }), /alg is the string "none"; expected one of ES256, ES384/],
      ['wrong cty', (h) => ({ ...h, cty: 'application/json' }), /cty is the string "application\/json"/],
      ['no crit', (h) => ({ ...h, crit: undefined }), /crit is missing/],
      ['unknown critical header', (h) => ({ ...h, 'x.custom': 1, 'crit': [...h.crit, 'x.custom'] }), /marks "x.custom" critical, and ModelSeal does not understand it/],
      ['crit names an absent header', (h) => ({ ...h, crit: [...h.crit, 'io.cncf.notary.verificationPluginMinVersion'] }), /which the protected header does not contain/],
      ['crit names a registered header', (h) => ({ ...h, crit: [...h.crit, 'alg'] }), /registered header "alg"/],
      ['signing scheme not critical', (h) => ({ ...h, crit: h.crit.filter((c: string) => c !== 'io.cncf.notary.signingScheme') }), /crit must list "io.cncf.notary.signingScheme"/],
      ['expiry not critical', (h) => ({ ...h, crit: h.crit.filter((c: string) => c !== 'io.cncf.notary.expiry') }), /"io.cncf.notary.expiry" must be listed in crit/],
      ['unknown scheme', (h) => ({ ...h, 'io.cncf.notary.signingScheme': 'x509' }), /signingScheme is the string "x509"/],
      ['signingTime with signingAuthority', (h) => ({ ...h, 'io.cncf.notary.signingTime': '2024-01-01T00:00:00Z' }), /signingTime is not allowed with signing scheme notary.x509.signingAuthority/],
      ['bad time', (h) => ({ ...h, 'io.cncf.notary.authenticSigningTime': 'yesterday' }), /authenticSigningTime is the string "yesterday"; expected an RFC 3339 date-time/],
      ['another verification plugin', (h) => ({ ...h, 'io.cncf.notary.verificationPlugin': 'com.example.plugin' }), /requires verification plugin the string "com.example.plugin"/],
      ['no job ARN', (h) => {
        const { ['com.amazonaws.signer.signingJob']: _job, ...rest } = h;
        return { ...rest, crit: h.crit.filter((c: string) => c !== 'com.amazonaws.signer.signingJob') };
      }, /com.amazonaws.signer.signingJob is missing; an AWS Signer signature carries the signing job ARN/],
    ];
    test.each(cases)('%s', async (_name, f, message) => {
      mock.overrides.protectedHeader = f;
      await denied(await rawSign(), opts(), message);
    });
  });
});

describe('CLI: sign aws-signer / verify aws-signer', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => cleanup(dir));

  async function run(f: typeof signAwsSignerCommand, ...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await f(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } });
    return { code, stdout, stderr };
  }

  test('sign a model directory, then verify it by path and by digest', async () => {
    const model = makeModel(dir);
    const sig = path.join(dir, 'model.jws');
    const rootPem = path.join(dir, 'root.pem');
    fs.writeFileSync(rootPem, testCa().rootPem);
    const s = await run(signAwsSignerCommand, model, '--profile', 'modelseal_ci', '--region', 'us-west-2', '--signature', sig, '--json');
    expect(s.code).toBe(0);
    const out = JSON.parse(s.stdout);
    expect(out).toMatchObject({ ok: true, method: 'aws-signer', jobArn: mock.jobs[0], profileVersionArn: mock.profileVersionArn() });
    const envelope = fs.readFileSync(sig);
    expect(notationStoreKey(envelope).key).toBe(out.storeKey);
    const payload = JSON.parse(Buffer.from(JSON.parse(envelope.toString()).payload, 'base64url').toString());
    expect(payload.targetArtifact.size).toBe(4096 + '{"layers": 2}\n'.length + '{"vocab": []}\n'.length);

    const v = await run(verifyAwsSignerCommand, model, '--signature', sig, '--trusted-root', rootPem, '--profile-arn', mock.profileArn());
    expect(v).toMatchObject({ code: 0, stderr: '' });
    expect(v.stdout).toMatch(/^Verification succeeded: .*model\.jws \(sha256:[0-9a-f]{64}, AWS Signer profile .*modelseal_ci\/a1B2c3D4e5/);
    expect(out.rootDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const d = await run(verifyAwsSignerCommand, '--digest', out.rootDigest, '--signature', sig, '--trusted-root', rootPem,
      '--profile-version-arn', mock.profileVersionArn(), '--json');
    expect(JSON.parse(d.stdout)).toMatchObject({ ok: true, rootDigest: out.rootDigest, jobArn: mock.jobs[0] });
  });

  test('sign by digest only; a revoked job then fails verification', async () => {
    const sig = path.join(dir, 'x.jws');
    const rootPem = path.join(dir, 'root.pem');
    fs.writeFileSync(rootPem, testCa().rootPem);
    expect((await run(signAwsSignerCommand, '--digest', `sha256:${ROOT}`, '--profile', 'modelseal_ci', '--region', 'us-west-2', '--signature', sig)).code).toBe(0);
    const payload = JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(sig, 'utf8')).payload, 'base64url').toString());
    expect(payload.targetArtifact).toMatchObject({ digest: `sha256:${ROOT}`, size: 0 });
    mock.revoked.add(mock.jobs[0]);
    await expect(run(verifyAwsSignerCommand, '--digest', ROOT, '--signature', sig, '--trusted-root', rootPem, '--profile-arn', mock.profileArn()))
      .rejects.toThrow(/signing job .* is revoked/);
  });

  test('through main: exit 0 when valid, 1 with the reason when revoked, 2 for usage errors', async () => {
    const sig = path.join(dir, 'x.jws');
    const rootPem = path.join(dir, 'root.pem');
    fs.writeFileSync(rootPem, testCa().rootPem);
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } };
      const code = await main(argv, io);
      return { code, stdout, stderr };
    };
    expect((await cli('sign', 'aws-signer', '--digest', ROOT, '--profile', 'modelseal_ci', '--region', 'us-west-2', '--signature', sig)).code).toBe(0);
    const verifyArgs = ['verify', 'aws-signer', '--digest', ROOT, '--signature', sig, '--trusted-root', rootPem, '--profile-arn', mock.profileArn()];
    expect((await cli(...verifyArgs)).code).toBe(0);
    mock.revoked.add(mock.profileArn());
    const denial = await cli(...verifyArgs);
    expect(denial.code).toBe(1);
    expect(denial.stderr).toMatch(/^Verification failed: .*x\.jws: revoked in AWS Signer: signing profile version .*modelseal_ci\/a1B2c3D4e5 is revoked/);
    expect((await cli('sign', 'aws-signer', '--digest', ROOT)).code).toBe(2);
  });

  test('usage errors name what is missing', async () => {
    await expect(run(signAwsSignerCommand, '--digest', ROOT)).rejects.toThrow(/needs --profile NAME/);
    await expect(run(signAwsSignerCommand, 'm', '--digest', ROOT, '--profile', 'p1')).rejects.toThrow(/MODEL_PATH or --digest, not both/);
    await expect(run(verifyAwsSignerCommand, '--digest', ROOT, '--signature', 's', '--profile-arn', 'x')).rejects.toThrow(/needs --trusted-root/);
    await expect(run(verifyAwsSignerCommand, '--digest', ROOT, '--signature', 's', '--trusted-root', 'r')).rejects.toThrow(/needs --profile-arn or --profile-version-arn/);
    expect((await run(signAwsSignerCommand, '--help')).stdout).toMatch(/^Usage: modelseal sign aws-signer/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
