import { createHash } from 'crypto';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UsageError } from '../../../src/runtime/codec/errors';
import { signModel } from '../../../src/runtime/engine/sign';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { fetchAttestationSet } from '../../../src/runtime/store/attestation-set';
import { StoreAccessError, StoreConflictError, StoreIntegrityError, StoreNotFoundError, StoreUnavailableError } from '../../../src/runtime/store/errors';
import { deriveKey, refBody, refKey } from '../../../src/runtime/store/keys';
import { openStore } from '../../../src/runtime/store/open';
import { S3Store, S3StoreOptions } from '../../../src/runtime/store/s3';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { S3Mock } from '../../helpers/s3-mock';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const b64sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const k = ecKey('P-256');
const ROOT = 'ab'.repeat(32);

let dir: string;
let model: string;
let s3: S3Mock;
let delays: number[];

function store(opts: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket: s3.bucket,
    prefix: 'prod',
    client: s3.client,
    kmsKeyArn: s3.keyArn,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
    ...opts,
  });
}

async function signedBundle(): Promise<{ body: Buffer; root: string; key: string }> {
  const res = await signModel(model, new LocalKeySigner(k.privateKey));
  const body = Buffer.from(res.bundleText);
  return { body, root: res.rootDigest, key: deriveKey(body).key };
}

beforeEach(() => {
  dir = tempDir();
  model = makeModel(dir);
  s3 = S3Mock.create();
  delays = [];
});

afterEach(() => {
  // Every put this suite made carried the write-once, encryption and checksum headers, and no retention headers.
  for (const input of s3.putCalls()) {
    expect(input.IfNoneMatch).toBe('*');
    expect(input.ServerSideEncryption).toBe('aws:kms');
    expect(input.SSEKMSKeyId).toBe(s3.keyArn);
    expect(input.ChecksumAlgorithm).toBe('SHA256');
    expect(input.ChecksumSHA256).toBe(b64sha(Buffer.from(input.Body as Buffer)));
    expect(Object.keys(input).filter((key) => key.startsWith('ObjectLock'))).toEqual([]);
    expect(input.ContentType).toBeDefined();
  }
  for (const input of s3.getCalls()) {
    expect(input.ChecksumMode).toBe('ENABLED');
  }
  s3.restore();
  cleanup(dir);
});

describe('S3Store', () => {
  test('publishes a real bundle with one conditional, SSE-KMS, checksummed PutObject under the prefix', async () => {
    const { body, key } = await signedBundle();
    const st = store();
    expect(st.uri).toBe(`s3://${s3.bucket}/prod/`);
    expect(await st.put(key, body)).toBe('created');
    expect(s3.putCalls()).toHaveLength(1);
    expect(s3.putCalls()[0]).toMatchObject({ Bucket: s3.bucket, Key: `prod/${key}`, ContentType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    expect(s3.objects.get(`prod/${key}`)?.body).toEqual(body);
    expect(await st.get(key)).toEqual(body);
  });

  test('republishing identical bytes: 412, read back, unchanged', async () => {
    const { body, key } = await signedBundle();
    const st = store();
    await st.put(key, body);
    expect(await st.put(key, Buffer.from(body))).toBe('unchanged');
    expect(s3.putCalls()).toHaveLength(2);
  });

  test('a ref with a different digest is refused; the same digest is unchanged', async () => {
    const st = store();
    const key = refKey('team/llm', '1.0');
    expect(await st.put(key, refBody(ROOT))).toBe('created');
    expect(s3.putCalls()[0].ContentType).toBe('text/plain; charset=utf-8');
    expect(await st.put(key, refBody(ROOT))).toBe('unchanged');
    const err = await st.put(key, refBody('cd'.repeat(32))).catch((e) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect(err.message).toMatch(/^refs\/team\/llm\/1\.0 already exists in s3:\/\/modelseal-store\/prod\/ with different bytes/);
  });

  test('different bytes already under a content key → StoreConflictError', async () => {
    const { body, key } = await signedBundle();
    s3.seed(`prod/${key}`, Buffer.from('squatted'));
    await expect(store().put(key, body)).rejects.toThrow(StoreConflictError);
  });

  test('two signatures by the same signer of the same digest coexist', async () => {
    const a = await signedBundle();
    const b = await signedBundle();
    const st = store();
    await st.put(a.key, a.body);
    await st.put(b.key, b.body);
    expect(await st.list(path.posix.dirname(a.key) + '/')).toEqual([a.key, b.key].sort());
  });

  test('a publisher without read access: a 412 on a content key is unchanged, on a ref it says grantRead is needed', async () => {
    const { body, key } = await signedBundle();
    const st = store();
    await st.put(key, body);
    await st.put(refKey('m', '1'), refBody(ROOT));
    s3.deny('GetObject');
    expect(await st.put(key, body)).toBe('unchanged');
    await expect(st.put(refKey('m', '1'), refBody(ROOT))).rejects.toThrow(/refs\/m\/1 already exists .* needs read access \(the store's grantRead\)/);
  });

  test('throttling is retried with growing backoff; too much throttling is a clear error', async () => {
    const st = store({ maxAttempts: 5, baseDelayMs: 100 });
    s3.throttle(3);
    expect(await st.put(refKey('m', '1'), refBody(ROOT))).toBe('created');
    expect(delays).toEqual([75, 150, 300]);
    delays = [];
    s3.throttle(100, 'ThrottlingException');
    const err = await st.put(refKey('m', '2'), refBody(ROOT)).catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/^S3 PutObject on s3:\/\/modelseal-store\/prod\/refs\/m\/2 failed 5 times with throttling or transient errors \(last: ThrottlingException: .*\); try again later/);
    expect(delays).toHaveLength(4);
  });

  test('409 ConditionalRequestConflict is retried', async () => {
    s3.conditionalConflicts(2);
    expect(await store().put(refKey('m', '1'), refBody(ROOT))).toBe('created');
    expect(s3.putCalls()).toHaveLength(3);
  });

  test('AccessDenied names the bucket, the key and the grant that is likely missing', async () => {
    const st = store();
    s3.deny('PutObject');
    const err = await st.put(refKey('m', '1'), refBody(ROOT)).catch((e) => e);
    expect(err).toBeInstanceOf(StoreAccessError);
    expect(err.message).toMatch(/^S3 denied PutObject on s3:\/\/modelseal-store\/prod\/refs\/m\/1 \(AccessDenied: .*\)\. The caller needs the store's grantSetRef for this model name/);
    s3.deny('GetObject', 'ListObjectsV2', 'ListObjectVersions');
    await expect(st.get('refs/m/1')).rejects.toThrow(/^S3 denied ListObjectVersions on s3:\/\/modelseal-store\/prod\/refs\/m\/1 .*grantRead/);
    await expect(st.get(`bundles/sha256/${ROOT}/${ROOT}/${ROOT}.sig.json`)).rejects.toThrow(/^S3 denied GetObject on s3:\/\/modelseal-store\/prod\/bundles\/.*grantRead/);
    await expect(st.list('bundles/')).rejects.toThrow(/^S3 denied ListObjectsV2 .*grantRead/);
    await expect(st.list('refs/')).rejects.toThrow(/^S3 denied ListObjectVersions .*grantRead/);
  });

  test('a put with another KMS key is denied by the bucket policy, and the error says which key was sent', async () => {
    const other = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
    await expect(store({ kmsKeyArn: other }).put(refKey('m', '1'), refBody(ROOT))).rejects.toThrow(new RegExp(`store key \\(sent ${other}\\)`));
    // The afterEach header check is about the store key; this put deliberately sent another.
    s3.stub.resetHistory();
  });

  test('the mock models the bucket policy: no If-None-Match, no SSE-KMS, retention headers or a bad checksum are refused', async () => {
    const base = { Bucket: s3.bucket, Key: 'refs/m/1', Body: Buffer.from('x'), IfNoneMatch: '*', ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: s3.keyArn };
    const send = async (input: object): Promise<unknown> => {
      try {
        return await s3.client.send(new PutObjectCommand(input as never));
      } catch (e) {
        return e;
      }
    };
    expect(await send({ ...base, IfNoneMatch: undefined })).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(await send({ ...base, ServerSideEncryption: 'AES256' })).toMatchObject({ name: 'AccessDenied' });
    expect(await send({ ...base, ObjectLockMode: 'COMPLIANCE' })).toMatchObject({ name: 'AccessDenied' });
    expect(await send({ ...base, ChecksumSHA256: b64sha(Buffer.from('y')) })).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    await send(base);
    expect(await send(base)).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    s3.stub.resetHistory();
  });

  test('without a configured key ARN the bucket default is looked up once', async () => {
    const st = store({ kmsKeyArn: undefined });
    await st.put(refKey('m', '1'), refBody(ROOT));
    await st.put(refKey('m', '2'), refBody(ROOT));
    expect(s3.encryptionLookups()).toBe(1);
  });

  test.each([
    ['AES256' as const, /default encryption is AES256, not SSE-KMS/],
    ['aws-managed-kms' as const, /uses the AWS managed key aws\/s3/],
    ['none' as const, /has no default encryption/],
  ])('a bucket whose default encryption is %s cannot be published to', async (mode, re) => {
    s3.restore();
    s3 = S3Mock.create({ defaultEncryption: mode });
    const err = await store({ kmsKeyArn: undefined }).put(refKey('m', '1'), refBody(ROOT)).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(re);
    expect(err.message).toMatch(/--store-key-arn or MODELSEAL_STORE_KMS_KEY_ARN/);
  });

  test('a denied key lookup says to pass --store-key-arn or grant s3:GetEncryptionConfiguration', async () => {
    s3.deny('GetBucketEncryption');
    await expect(store({ kmsKeyArn: undefined }).put(refKey('m', '1'), refBody(ROOT)))
      .rejects.toThrow(/s3:GetEncryptionConfiguration was denied .*--store-key-arn/);
  });

  test('a checksum mismatch on read fails closed', async () => {
    const { body, key } = await signedBundle();
    const st = store();
    await st.put(key, body);
    const flipped = Buffer.from(body);
    flipped[10] ^= 1;
    s3.tamper(`prod/${key}`, flipped, true);
    await expect(st.get(key)).rejects.toThrow(StoreIntegrityError);
    await expect(st.get(key)).rejects.toThrow(/failed its SHA-256 checksum/);
    // Rewritten with a matching checksum, the content address still catches it.
    s3.tamper(`prod/${key}`, flipped, false);
    await expect(st.get(key)).rejects.toThrow(/does not match its content address/);
  });

  test('a missing key is StoreNotFoundError; tryGet is undefined', async () => {
    await expect(store().get('refs/m/1')).rejects.toThrow(StoreNotFoundError);
    expect(await store().tryGet('refs/m/1')).toBeUndefined();
  });

  test('list follows ListObjectsV2 continuation, strips the prefix and sorts', async () => {
    const st = store();
    const keys = [5, 1, 3, 2, 4].map((i) => `bundles/sha256/${ROOT}/${ROOT}/${String(i).repeat(64)}.sig.json`);
    for (const key of keys) {
      s3.seed(`prod/${key}`, Buffer.from('x'));
    }
    s3.seed(`other/${keys[0]}`, Buffer.from('x'));
    s3.seed('prod/bundles/', Buffer.alloc(0));
    expect(await st.list('bundles/')).toEqual([...keys].sort());
    const calls = s3.listCalls();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[0]).toMatchObject({ Bucket: s3.bucket, Prefix: 'prod/bundles/' });
    expect(calls[1].ContinuationToken).toBeDefined();
    expect(s3.versionListCalls()).toEqual([]);
  });

  test('refs/ and revocations/ are listed with ListObjectVersions (all pages), strip the prefix and sort', async () => {
    const st = store();
    const keys = ['refs/m/5', 'refs/m/1', 'refs/m/3', 'refs/m/2', 'refs/m/4'];
    for (const key of keys) {
      await st.put(key, refBody(ROOT));
    }
    s3.seed('other/refs/m/9', refBody(ROOT));
    s3.seed('prod/refs/m/', Buffer.alloc(0));
    expect(await st.list('refs/')).toEqual([...keys].sort());
    const calls = s3.versionListCalls();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[0]).toMatchObject({ Bucket: s3.bucket, Prefix: 'prod/refs/' });
    expect(calls[1].KeyMarker).toBeDefined();
    expect(s3.listCalls()).toEqual([]);
  });

  test('a ref or revocation with a second version or a delete marker fails: the bucket policy was bypassed', async () => {
    const st = store();
    const other = 'ab'.repeat(32);
    await st.put('refs/m/1', refBody(ROOT));
    await st.put('refs/m/2', refBody(ROOT));
    s3.overwriteBehindPolicy('prod/refs/m/1', refBody(other));
    const overwritten = await st.get('refs/m/1').catch((e) => e);
    expect(overwritten).toBeInstanceOf(StoreIntegrityError);
    expect(overwritten.message).toBe('s3://modelseal-store/prod/refs/m/1 has 2 versions: the store is write-once (Object Lock, and a bucket policy that denies '
      + 'overwrites and deletes), so the bucket policy was bypassed or changed (by the account root or whoever may change it); nothing under refs/ can be '
      + 'trusted until an administrator investigates');
    await expect(st.list('refs/')).rejects.toThrow(/refs\/m\/1 has 2 versions: .*bucket policy was bypassed/);
    s3.deleteBehindPolicy('prod/refs/m/2');
    await expect(st.get('refs/m/2')).rejects.toThrow(/refs\/m\/2 has a delete marker over 1 version\(s\): .*bucket policy was bypassed/);

    const revocation = `revocations/sha256/${ROOT}/${ROOT}/${'cd'.repeat(32)}.json`;
    s3.seed(`prod/${revocation}`, Buffer.from('x'));
    expect(await st.list(`revocations/sha256/${ROOT}/`)).toEqual([revocation]);
    s3.deleteBehindPolicy(`prod/${revocation}`);
    const hidden = await st.list(`revocations/sha256/${ROOT}/`).catch((e) => e);
    expect(hidden).toBeInstanceOf(StoreIntegrityError);
    expect(hidden.message).toMatch(new RegExp(`^s3://modelseal-store/prod/${revocation} has a delete marker over 1 version\\(s\\): .*nothing under revocations/ can be trusted`));
  });

  test('invalid bucket, prefix and key ARN are usage errors naming them', () => {
    expect(() => new S3Store({ bucket: 'Bad_Bucket' })).toThrow(/S3 bucket name "Bad_Bucket" is not valid/);
    expect(() => new S3Store({ bucket: 'ok-bucket', prefix: '../x' })).toThrow(/S3 store prefix "\.\.\/x" is not valid/);
    expect(() => new S3Store({ bucket: 'ok-bucket', kmsKeyArn: 'alias/store' })).toThrow(/store KMS key "alias\/store" is not a key ARN/);
  });

  test('fetchAttestationSet reads through the same checks', async () => {
    const { body, key, root } = await signedBundle();
    const st = store();
    await st.put(key, body);
    const set = await fetchAttestationSet(st, `sha256:${root}`);
    expect(set.bundles).toEqual([{ key, body }]);
    expect(sha(set.bundles[0].body)).toBe(key.split('/').pop()!.replace('.sig.json', ''));
  });

  test('review F4: an object whose listed Size is over the limit is never fetched (no GetObject); the limit also holds on Content-Length', async () => {
    const { body, key, root } = await signedBundle();
    const st = store();
    await st.put(key, body);
    const junk = Buffer.from(JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
    const junkKey = `attestations/sha256/${root}/x/${'ab'.repeat(32)}/${sha(junk)}.json`;
    await st.put(junkKey, junk);
    const before = s3.getCalls().length;
    const set = await fetchAttestationSet(st, root);
    expect(s3.getCalls().slice(before).map((c) => c.Key)).toEqual([`prod/${key}`]);
    expect(set.stats).toEqual({ listed: 2, fetched: 1, bytesFetched: body.length, oversize: 1, overBudget: 0 });
    expect(set.rejected).toEqual([{ key: junkKey, notRead: 'oversize', reason: expect.stringContaining(`is ${junk.length} bytes (listed size), over the 1048576-byte limit`) }]);
    await expect(st.get(junkKey, { maxBytes: 1024 })).rejects.toThrow(new RegExp(`${junkKey} is ${junk.length} bytes, over the 1024-byte limit for these objects; not read`));
  });

  test('openStore parses s3:// URIs and takes the key ARN from the environment', async () => {
    const st = openStore(`s3://${s3.bucket}/a/b`, { s3Client: s3.client, env: { MODELSEAL_STORE_KMS_KEY_ARN: s3.keyArn } });
    expect(st).toBeInstanceOf(S3Store);
    expect(st.uri).toBe(`s3://${s3.bucket}/a/b/`);
    expect(await st.put('refs/m/1', refBody(ROOT))).toBe('created');
    expect(s3.objects.has('a/b/refs/m/1')).toBe(true);
    expect(s3.encryptionLookups()).toBe(0);
  });
});
