/**
 * The whole enclave flow without Nitro hardware, with real keys and the synthesized key policy:
 * the seal build runs `modelseal seal-weights` (a data key from KMS, the weights sealed, the manifest of the encrypted
 * files and the enclave-seal attestation signed); a trust policy demands the enclave image's PCR8; the enclave obtains
 * the data key through KMS `Decrypt` with a `Recipient` attestation document (COSE_Sign1 signed by a test Nitro CA) and
 * `CiphertextForRecipient` (CMS, RSAES-OAEP-SHA-256, AES-256-CBC), and `modelseal unseal` restores the model.
 * The KMS mock decides every call by evaluating the example stack's key policy and IAM policies (kms-enclave-mock.ts).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ENCLAVE_PCR8, EnclaveServingStack } from '../../../examples/enclave-serving/enclave-serving-stack';
import { hashModel, rootDigest } from '../../../src/runtime/engine/hashing';
import { ENCLAVE_SEAL_PREDICATE_TYPE } from '../../../src/runtime/sealing/attestation';
import { SEALED_INDEX } from '../../../src/runtime/sealing/format';
import { cleanup, ecKey, tempDir } from '../../fixtures/models';
import { runCli } from '../../helpers/cli';
import { synthExampleStack } from '../../helpers/examples';
import { TemplateSimulator } from '../../helpers/iam-sim';
import { EnclaveKmsMock, kmstoolDecrypt } from '../../helpers/kms-enclave-mock';
import { loadCbor, nitroTestPki } from '../../helpers/nitro-enclave';

const PCR0 = 'd4'.repeat(48);
const ENCLAVE = { 0: PCR0, 1: 'e5'.repeat(48), 2: 'f6'.repeat(48), 8: ENCLAVE_PCR8 };

let sim: TemplateSimulator;
let mock: EnclaveKmsMock;
let dir: string;
const pki = () => nitroTestPki();

beforeAll(async () => {
  await loadCbor();
  process.env.CDK_VALIDATION = 'false';
  sim = new TemplateSimulator(synthExampleStack('enclave-serving', 'ModelSealEnclaveServing',
    (app) => new EnclaveServingStack(app, 'ModelSealEnclaveServing')).template, 'ModelSealEnclaveServing');
  mock = new EnclaveKmsMock(sim, 'WeightsKey04EA1633', pki().root, sim.role('SealRoleF3C0EACC'));
}, 120_000);
afterAll(() => mock.restore());
beforeEach(() => { dir = tempDir(); });
afterEach(() => cleanup(dir));

function makeModel(): string {
  const model = path.join(dir, 'model');
  fs.mkdirSync(path.join(model, 'shards'), { recursive: true });
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(model, 'shards', `part-${i}.bin`), Buffer.alloc(3 * 1024 * 1024 + i, i + 1));
  fs.writeFileSync(path.join(model, 'config.json'), '{"hidden": 128}\n');
  return model;
}

/** Seals a model as the seal build would; returns the paths and the JSON result. */
async function sealAsTheSealBuild(model: string) {
  const measurements = path.join(dir, 'measurements.json');
  fs.writeFileSync(measurements, JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0, PCR1: ENCLAVE[1], PCR2: ENCLAVE[2], PCR8: ENCLAVE_PCR8 } }));
  const key = ecKey('P-256');
  fs.writeFileSync(path.join(dir, 'ci.pem'), key.pem);
  fs.writeFileSync(path.join(dir, 'ci.pub.pem'), key.pubPem);
  const root = rootDigest((await hashModel(model)).resources);
  mock.caller = sim.role('SealRoleF3C0EACC');
  const run = await runCli('seal-weights', 'key', model, path.join(dir, 'sealed'), '--key-arn', mock.keyArn,
    '--enclave-measurements', measurements, '--digest', `sha256:${root}`, '--private-key', path.join(dir, 'ci.pem'),
    '--signature', path.join(dir, 'sealed.sig'), '--attestation', path.join(dir, 'sealed.enclave-seal.sig'), '--json');
  return { run, root, pub: path.join(dir, 'ci.pub.pem') };
}

describe('the enclave flow, end to end with the KMS mock', () => {
  test('seal build → signed, attested sealed weights → enclave decrypts with an attestation → unseal restores the model', async () => {
    const model = makeModel();
    const { run, root, pub } = await sealAsTheSealBuild(model);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ ok: true, command: 'seal-weights', rootDigest: `sha256:${root}`, keyArn: mock.keyArn, files: 4, predicateType: ENCLAVE_SEAL_PREDICATE_TYPE });
    // the data key came from KMS, authorized for the seal role by the key policy
    expect(mock.calls.at(-1)).toMatchObject({ action: 'kms:GenerateDataKey', caller: 'SealRoleF3C0EACC', decision: 'Allowed' });
    expect(mock.calls.at(-1)!.decisive).toContain('WeightsKey04EA1633: AllowSealersToEncrypt');

    // what the host verifies: the manifest of the encrypted files, signed
    const verified = await runCli('verify', 'key', path.join(dir, 'sealed'), '--signature', path.join(dir, 'sealed.sig'), '--public-key', pub, '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout).rootDigest).toBe(out.sealedRootDigest);
    // ...linked to the plaintext root digest and the enclave image by the attestation
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'sealed.enclave-seal.sig'), 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    const edk = JSON.parse(fs.readFileSync(path.join(dir, 'sealed', SEALED_INDEX), 'utf8')).encryptedDataKey;
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'sealed', digest: { sha256: out.sealedRootDigest.slice(7) } }],
      predicateType: ENCLAVE_SEAL_PREDICATE_TYPE,
      predicate: {
        plaintext: { rootDigest: `sha256:${root}`, files: 4, bytes: 3 * 3 * 1024 * 1024 + 3 + 16 },
        sealed: { rootDigest: out.sealedRootDigest, format: 'modelseal-sealed/v1', algorithm: 'AES-256-GCM', chunkSize: 1048576 },
        weightsKey: { keyArn: mock.keyArn, encryptedDataKeySha256: createHash('sha256').update(Buffer.from(edk, 'base64')).digest('hex') },
        enclave: { hashAlgorithm: 'SHA384', pcrs: { PCR0, PCR1: ENCLAVE[1], PCR2: ENCLAVE[2], PCR8: ENCLAVE_PCR8 } },
      },
    });

    // inside the enclave: kmstool_enclave_cli's Recipient flow, then unseal
    mock.caller = sim.role('ServingInstanceRole298257F6');
    const printed = await kmstoolDecrypt(edk, ENCLAVE, pki());
    expect(mock.calls.at(-1)).toMatchObject({ action: 'kms:Decrypt', caller: 'ServingInstanceRole298257F6', decision: 'Allowed', recipient: true });
    expect(printed).toMatch(/^PLAINTEXT: [A-Za-z0-9+/]{43}=\n$/);
    fs.writeFileSync(path.join(dir, 'kmstool.out'), printed);
    const unsealed = await runCli('unseal', path.join(dir, 'sealed'), path.join(dir, 'plain'), '--data-key-file', path.join(dir, 'kmstool.out'), '--digest', `sha256:${root}`);
    expect(unsealed).toEqual({ code: 0, stdout: `Unsealed 4 files into ${path.join(dir, 'plain')} (sha256:${root})\n`, stderr: '' });
    for (const f of ['config.json', 'shards/part-0.bin', 'shards/part-1.bin', 'shards/part-2.bin']) {
      expect(fs.readFileSync(path.join(dir, 'plain', f)).equals(fs.readFileSync(path.join(model, f)))).toBe(true);
    }
  });

  test('a trust policy can demand the enclave image: the attestation meets one naming its PCR8 and fails one naming another', async () => {
    const { run, pub } = await sealAsTheSealBuild(makeModel());
    const sealedRoot = JSON.parse(run.stdout).sealedRootDigest;
    const store = path.join(dir, 'store');
    fs.mkdirSync(store);
    expect((await runCli('publish', '--store', store, path.join(dir, 'sealed.sig'), path.join(dir, 'sealed.enclave-seal.sig'))).code).toBe(0);
    const policy = (pcr8: string) => {
      const file = path.join(dir, `policy-${pcr8.slice(0, 4)}.yaml`);
      fs.writeFileSync(file, [
        'apiVersion: modelseal.dev/v1', 'kind: TrustPolicy',
        `signers: [{name: ci, publicKey: ${pub}}]`, 'require: {allOf: [ci]}',
        'attestations:',
        `  - predicateType: ${ENCLAVE_SEAL_PREDICATE_TYPE}`,
        '    signers: [ci]',
        '    conditions:',
        `      - {name: enclave-image, expression: "predicate.enclave.pcrs.PCR8 == '${pcr8}'"}`,
      ].join('\n'));
      return file;
    };
    const met = await runCli('check', '--store', store, '--policy', policy(ENCLAVE_PCR8), sealedRoot);
    expect(met.code).toBe(0);
    const other = await runCli('check', '--store', store, '--policy', policy('ab'.repeat(48)), sealedRoot);
    expect(other.code).toBe(1);
    expect(other.stdout + other.stderr).toMatch(/enclave-image/);
  });

  test('KMS refuses the data key to the host without an enclave, to a debug-mode enclave, to another image, to a forged document, and to the seal role', async () => {
    const { run } = await sealAsTheSealBuild(makeModel());
    expect(run.code).toBe(0);
    const edk = JSON.parse(fs.readFileSync(path.join(dir, 'sealed', SEALED_INDEX), 'utf8')).encryptedDataKey;
    const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDHOST', secretAccessKey: 'x' } });
    mock.caller = sim.role('ServingInstanceRole298257F6');

    // root on the host, with the instance role's credentials but no enclave
    await expect(client.send(new DecryptCommand({ CiphertextBlob: Buffer.from(edk, 'base64') })))
      .rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringMatching(/ExplicitlyDenied: WeightsKey04EA1633: DenyDecryptWithoutAttestation/) });
    // a debug-mode enclave measures zeros
    await expect(kmstoolDecrypt(edk, { 0: '0'.repeat(96), 1: '0'.repeat(96), 2: '0'.repeat(96), 8: '0'.repeat(96) }, pki(), client))
      .rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringMatching(/DenyDecryptToOtherEnclaveImages/) });
    // an image signed with another certificate
    await expect(kmstoolDecrypt(edk, { ...ENCLAVE, 8: 'ab'.repeat(48) }, pki(), client))
      .rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringMatching(/DenyDecryptToOtherEnclaveImages/) });
    // a document the host made itself (its own CA): KMS refuses it before looking at the policy
    await expect(kmstoolDecrypt(edk, ENCLAVE, nitroTestPki('host-made-ca'), client))
      .rejects.toMatchObject({ name: 'ValidationException', message: 'Invalid attestation document: the certificate chain does not start at the trusted root' });
    // the host cannot wrap weights of its own for the enclave
    await expect(client.send(new GenerateDataKeyCommand({ KeyId: mock.keyArn, KeySpec: 'AES_256' })))
      .rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringMatching(/DenyNewDataKeysExceptSealers/) });
    // the seal role never decrypts, not even with an attestation
    mock.caller = sim.role('SealRoleF3C0EACC');
    await expect(kmstoolDecrypt(edk, ENCLAVE, pki(), client)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  test('seal-weights refuses a model that is not the signed one, an all-zero PCR, and a missing measurements file; nothing is sealed', async () => {
    const model = makeModel();
    const measurements = path.join(dir, 'm.json');
    fs.writeFileSync(measurements, JSON.stringify({ Measurements: { PCR0, PCR1: ENCLAVE[1], PCR2: ENCLAVE[2] } }));
    fs.writeFileSync(path.join(dir, 'ci.pem'), ecKey('P-256').pem);
    mock.caller = sim.role('SealRoleF3C0EACC');
    const base = ['seal-weights', 'key', model, path.join(dir, 'sealed'), '--key-arn', mock.keyArn, '--private-key', path.join(dir, 'ci.pem'),
      '--signature', path.join(dir, 's.sig'), '--attestation', path.join(dir, 'a.sig')];
    const wrong = await runCli(...base, '--enclave-measurements', measurements, '--digest', `sha256:${'ab'.repeat(32)}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/the model's root digest is sha256:[0-9a-f]{64}, not the expected sha256:(ab){32}; nothing was sealed/);
    expect(fs.existsSync(path.join(dir, 'sealed'))).toBe(false);
    fs.writeFileSync(measurements, JSON.stringify({ Measurements: { PCR0: '0'.repeat(96), PCR1: ENCLAVE[1], PCR2: ENCLAVE[2] } }));
    const zero = await runCli(...base, '--enclave-measurements', measurements);
    expect(zero).toMatchObject({ code: 2, stderr: `modelseal: ${measurements}: PCR0 is all zeros, which is what a debug-mode enclave measures; seal for a production (non-debug) image\n` });
    const missing = await runCli(...base);
    expect(missing.stderr).toBe('modelseal: seal-weights key needs --enclave-measurements FILE (the JSON nitro-cli build-enclave prints for the enclave image)\n');
    fs.writeFileSync(measurements, JSON.stringify({ Measurements: { PCR0, PCR1: ENCLAVE[1], PCR2: ENCLAVE[2] } }));
    const inside = await runCli(...base.slice(0, -4), '--signature', path.join(model, 's.sig'), '--attestation', path.join(dir, 'a.sig'), '--enclave-measurements', measurements);
    expect(inside.stderr).toMatch(/--signature .* lies inside MODEL_DIR or OUT_DIR; write it beside them/);
  });
});
