/**
 * `modelseal unseal` and the sealed format: a round trip of a multi-file model larger than one chunk, and every way a
 * sealed model can be tampered with (a flipped byte in any chunk or in the header, a truncated file, swapped chunks,
 * a chunk from another file, a wrong root digest, a wrong key, a missing, extra or renamed file), each failing with
 * exit 1 and leaving no plaintext anywhere.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { hashModel, rootDigest } from '../../../src/runtime/engine/hashing';
import {
  chunkCount, encodeHeader, SEALED_INDEX, SEALED_MAGIC, SEALED_SUFFIX, TAG_BYTES,
} from '../../../src/runtime/sealing/format';
import { sealModel } from '../../../src/runtime/sealing/seal';
import { readSealedIndex } from '../../../src/runtime/sealing/unseal';
import { cleanup, tempDir } from '../../fixtures/models';
import { runCli } from '../../helpers/cli';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CHUNK = 4096;

/** A model with files of several sizes: multi-chunk, exactly one chunk, shorter than a chunk, empty, nested. */
function makeWeights(parent: string): string {
  const dir = path.join(parent, 'model');
  fs.mkdirSync(path.join(dir, 'shards'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'shards', 'model-00001.safetensors'), randomBytes(CHUNK * 3 + 123));
  fs.writeFileSync(path.join(dir, 'shards', 'model-00002.safetensors'), randomBytes(CHUNK * 2));
  fs.writeFileSync(path.join(dir, 'config.json'), '{"hidden_size": 64}\n');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), randomBytes(CHUNK));
  fs.writeFileSync(path.join(dir, 'empty.txt'), '');
  return dir;
}

/** Where each chunk of a sealed file starts and how long it is (ciphertext + tag). */
function chunkLayout(file: string): { header: number; chunks: { offset: number; length: number }[] } {
  const bytes = fs.readFileSync(file);
  const headerLength = SEALED_MAGIC.length + 4 + bytes.readUInt32BE(SEALED_MAGIC.length);
  const header = JSON.parse(bytes.subarray(SEALED_MAGIC.length + 4, headerLength).toString('utf8'));
  const chunks: { offset: number; length: number }[] = [];
  let offset = headerLength;
  let remaining = header.size;
  for (let i = 0; i < chunkCount(header.size, header.chunkSize); i++) {
    const plain = Math.min(header.chunkSize, remaining);
    chunks.push({ offset, length: plain + TAG_BYTES });
    offset += plain + TAG_BYTES;
    remaining -= plain;
  }
  return { header: headerLength, chunks };
}

describe('sealed weights: round trip', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => cleanup(dir));

  test('a multi-file model larger than one chunk unseals byte for byte, with the root digest modelseal sign records', async () => {
    const model = makeWeights(dir);
    const key = randomBytes(32);
    const sealed = await sealModel(model, path.join(dir, 'sealed'), { dataKey: key, encryptedDataKey: randomBytes(184), keyArn: KEY_ARN, chunkSize: CHUNK });
    const signedRoot = rootDigest((await hashModel(model)).resources);
    expect(sealed.rootDigest).toBe(signedRoot);
    expect(sealed.index.files.map((f) => f.name)).toEqual(['config.json', 'empty.txt', 'shards/model-00001.safetensors', 'shards/model-00002.safetensors', 'tokenizer.json']);
    // no plaintext in the sealed files: the first chunk of a random file is not found in its sealed form
    const plain = fs.readFileSync(path.join(model, 'tokenizer.json'));
    expect(fs.readFileSync(path.join(dir, 'sealed', `tokenizer.json${SEALED_SUFFIX}`)).includes(plain.subarray(0, 64))).toBe(false);
    // the multi-chunk file really has several chunks, each with its tag
    expect(chunkLayout(path.join(dir, 'sealed', `shards/model-00001.safetensors${SEALED_SUFFIX}`)).chunks.map((c) => c.length))
      .toEqual([CHUNK + 16, CHUNK + 16, CHUNK + 16, 123 + 16]);
    expect(chunkLayout(path.join(dir, 'sealed', `empty.txt${SEALED_SUFFIX}`)).chunks).toHaveLength(1);

    const run = await runCli('unseal', path.join(dir, 'sealed'), path.join(dir, 'plain'), '--data-key-file', keyFile(dir, key), '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, command: 'unseal', rootDigest: `sha256:${signedRoot}`, files: 5, bytes: CHUNK * 6 + 123 + 20 });
    for (const name of sealed.index.files.map((f) => f.name)) {
      expect(fs.readFileSync(path.join(dir, 'plain', name)).equals(fs.readFileSync(path.join(model, name)))).toBe(true);
    }
    expect(rootDigest((await hashModel(path.join(dir, 'plain'))).resources)).toBe(signedRoot);
    // the plaintext is readable by its owner only
    expect(fs.statSync(path.join(dir, 'plain', 'config.json')).mode & 0o777).toBe(0o600);
    expect(leftovers(dir)).toEqual([]);
  });

  test('the key arrives as kmstool_enclave_cli prints it ("PLAINTEXT: <base64>") or as 32 raw bytes; the digest can be pinned', async () => {
    const model = makeWeights(dir);
    const key = randomBytes(32);
    const sealed = await sealModel(model, path.join(dir, 'sealed'), { dataKey: key, encryptedDataKey: randomBytes(184), keyArn: KEY_ARN, chunkSize: CHUNK });
    const kmstool = path.join(dir, 'kmstool.out');
    fs.writeFileSync(kmstool, `PLAINTEXT: ${key.toString('base64')}\n`);
    const a = await runCli('unseal', path.join(dir, 'sealed'), path.join(dir, 'a'), '--data-key-file', kmstool, '--digest', `sha256:${sealed.rootDigest}`);
    expect(a).toMatchObject({ code: 0, stderr: '' });
    expect(a.stdout).toBe(`Unsealed 5 files into ${path.join(dir, 'a')} (sha256:${sealed.rootDigest})\n`);
    const b = await runCli('unseal', path.join(dir, 'sealed'), path.join(dir, 'b'), '--data-key-file', keyFile(dir, key));
    expect(b.code).toBe(0);
  });

  test('sealing with the expected root digest takes one pass; a model that differs from it is refused and nothing is written', async () => {
    const model = makeWeights(dir);
    const root = rootDigest((await hashModel(model)).resources);
    const ok = await sealModel(model, path.join(dir, 'ok'), { dataKey: randomBytes(32), encryptedDataKey: randomBytes(8), keyArn: KEY_ARN, expectedRootDigest: root });
    expect(ok.rootDigest).toBe(root);
    await expect(sealModel(model, path.join(dir, 'bad'), { dataKey: randomBytes(32), encryptedDataKey: randomBytes(8), keyArn: KEY_ARN, expectedRootDigest: 'ab'.repeat(32) }))
      .rejects.toThrow(`the model's root digest is sha256:${root}, not the expected sha256:${'ab'.repeat(32)}; nothing was sealed`);
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  test('fails when the output exists, the chunk size is out of range or the key is not 32 bytes', async () => {
    const model = makeWeights(dir);
    fs.mkdirSync(path.join(dir, 'exists'));
    await expect(sealModel(model, path.join(dir, 'exists'), { dataKey: randomBytes(32), encryptedDataKey: randomBytes(8), keyArn: KEY_ARN }))
      .rejects.toThrow(/exists; give a path that does not exist yet/);
    await expect(sealModel(model, path.join(dir, 'x'), { dataKey: randomBytes(32), encryptedDataKey: randomBytes(8), keyArn: KEY_ARN, chunkSize: 100 }))
      .rejects.toThrow('chunk size must be an integer from 4096 to 67108864 bytes, got 100');
    await expect(sealModel(model, path.join(dir, 'x'), { dataKey: randomBytes(16), encryptedDataKey: randomBytes(8), keyArn: KEY_ARN }))
      .rejects.toThrow('the data key must be 32 bytes (AES-256), got 16');
    await expect(sealModel(model, path.join(dir, 'x'), { dataKey: randomBytes(32), encryptedDataKey: randomBytes(8), keyArn: 'alias/weights' }))
      .rejects.toThrow('key ARN must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>), got "alias/weights"');
  });
});

describe('modelseal unseal fails closed (exit 1, no plaintext left)', () => {
  let dir: string;
  let key: Buffer;
  let sealedDir: string;
  let keyPath: string;
  const big = `shards/model-00001.safetensors${SEALED_SUFFIX}`;

  beforeEach(async () => {
    dir = tempDir();
    key = randomBytes(32);
    sealedDir = path.join(dir, 'sealed');
    await sealModel(makeWeights(dir), sealedDir, { dataKey: key, encryptedDataKey: randomBytes(184), keyArn: KEY_ARN, chunkSize: CHUNK });
    keyPath = keyFile(dir, key);
  });
  afterEach(() => cleanup(dir));

  async function expectRefused(reason: string | RegExp, ...extra: string[]): Promise<void> {
    const run = await runCli('unseal', sealedDir, path.join(dir, 'plain'), '--data-key-file', keyPath, ...extra);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(reason);
    expect(fs.existsSync(path.join(dir, 'plain'))).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  }

  test.each([0, 1, 2, 3])('a flipped byte in chunk %i of a multi-chunk file', async (i) => {
    const file = path.join(sealedDir, big);
    const { chunks } = chunkLayout(file);
    flip(file, chunks[i].offset + Math.floor(chunks[i].length / 2));
    await expectRefused(`${file}: chunk ${i} of 4 does not authenticate (a changed, moved or foreign chunk, a changed header, or the wrong data key); nothing was unsealed`);
  });

  test('a flipped byte in a chunk\'s tag, and in the only chunk of an empty file', async () => {
    const file = path.join(sealedDir, big);
    const { chunks } = chunkLayout(file);
    flip(file, chunks[3].offset + chunks[3].length - 1);
    await expectRefused(/chunk 3 of 4 does not authenticate/);
    fs.rmSync(path.join(dir, 'sealed'), { recursive: true });
    await sealModel(path.join(dir, 'model'), sealedDir, { dataKey: key, encryptedDataKey: randomBytes(184), keyArn: KEY_ARN, chunkSize: CHUNK });
    const empty = path.join(sealedDir, `empty.txt${SEALED_SUFFIX}`);
    flip(empty, chunkLayout(empty).chunks[0].offset);
    await expectRefused(/empty\.txt\.sealed: chunk 0 of 1 does not authenticate/);
  });

  test('a changed header (the salt, re-encoded with a valid length) fails every chunk', async () => {
    const file = path.join(sealedDir, big);
    const bytes = fs.readFileSync(file);
    const { header } = chunkLayout(file);
    const doc = JSON.parse(bytes.subarray(SEALED_MAGIC.length + 4, header).toString('utf8'));
    const forged = encodeHeader({ ...doc, salt: randomBytes(32).toString('base64') }).bytes;
    fs.writeFileSync(file, Buffer.concat([forged, bytes.subarray(header)]));
    await expectRefused(/chunk 0 of 4 does not authenticate/);
  });

  test('a truncated file: the last byte, the whole final chunk, everything after the header', async () => {
    const file = path.join(sealedDir, big);
    const original = fs.readFileSync(file);
    const { header, chunks } = chunkLayout(file);
    fs.writeFileSync(file, original.subarray(0, original.length - 1));
    await expectRefused(`${file} is truncated: chunk 3 of 4 has ${123 + 15} of ${123 + 16} bytes; nothing was unsealed`);
    fs.writeFileSync(file, original.subarray(0, chunks[3].offset));
    await expectRefused(`${file} is truncated: chunk 3 of 4 has 0 of ${123 + 16} bytes`);
    fs.writeFileSync(file, original.subarray(0, header));
    await expectRefused(`${file} is truncated: chunk 0 of 4 has 0 of ${CHUNK + 16} bytes`);
    fs.writeFileSync(file, original.subarray(0, 20));
    await expectRefused(`${file} is truncated inside its header`);
    fs.writeFileSync(file, original.subarray(0, 10));
    await expectRefused(`${file} is not a sealed file (no "MSEALv1" header)`);
  });

  test('a file cut after a full chunk and re-labelled shorter fails: the header and the final flag are authenticated', async () => {
    // Make the file look like a one-chunk file of CHUNK bytes: edit the header's size and drop chunks 1-3.
    const file = path.join(sealedDir, big);
    const bytes = fs.readFileSync(file);
    const { header, chunks } = chunkLayout(file);
    const doc = JSON.parse(bytes.subarray(SEALED_MAGIC.length + 4, header).toString('utf8'));
    const first = bytes.subarray(chunks[0].offset, chunks[0].offset + chunks[0].length);
    fs.writeFileSync(file, Buffer.concat([encodeHeader({ ...doc, size: CHUNK }).bytes, first]));
    const index = JSON.parse(fs.readFileSync(path.join(sealedDir, SEALED_INDEX), 'utf8'));
    index.files.find((f: { name: string }) => f.name === 'shards/model-00001.safetensors').size = CHUNK;
    fs.writeFileSync(path.join(sealedDir, SEALED_INDEX), JSON.stringify(index));
    await expectRefused(/chunk 0 of 1 does not authenticate/);
  });

  test('data after the final chunk', async () => {
    const file = path.join(sealedDir, big);
    fs.appendFileSync(file, Buffer.alloc(16));
    await expectRefused(`${file} has data after its final chunk; nothing was unsealed`);
  });

  test('two chunks swapped, and a chunk taken from another file at the same position', async () => {
    const file = path.join(sealedDir, big);
    const bytes = fs.readFileSync(file);
    const { chunks } = chunkLayout(file);
    const swapped = Buffer.from(bytes);
    bytes.copy(swapped, chunks[0].offset, chunks[1].offset, chunks[1].offset + chunks[1].length);
    bytes.copy(swapped, chunks[1].offset, chunks[0].offset, chunks[0].offset + chunks[0].length);
    fs.writeFileSync(file, swapped);
    await expectRefused(/chunk 0 of 4 does not authenticate/);

    fs.writeFileSync(file, bytes);
    const other = path.join(sealedDir, `shards/model-00002.safetensors${SEALED_SUFFIX}`);
    const otherBytes = fs.readFileSync(other);
    const foreign = Buffer.from(bytes);
    const o = chunkLayout(other).chunks[1];
    otherBytes.copy(foreign, chunks[1].offset, o.offset, o.offset + o.length);
    fs.writeFileSync(file, foreign);
    await expectRefused(/model-00001\.safetensors\.sealed: chunk 1 of 4 does not authenticate/);
  });

  test('a wrong data key', async () => {
    keyPath = keyFile(dir, randomBytes(32), 'wrong.key');
    await expectRefused(/chunk 0 of 1 does not authenticate .*the wrong data key/);
  });

  test('a wrong root digest: pinned on the command line, or changed in the index and every header', async () => {
    await expectRefused(/the sealed model is sha256:[0-9a-f]{64}, not the expected sha256:(ab){32}/, '--digest', `sha256:${'ab'.repeat(32)}`);
    // an attacker who rewrites the root digest everywhere (index and headers) still cannot get it accepted
    const forgedRoot = `sha256:${'cd'.repeat(32)}`;
    const index = JSON.parse(fs.readFileSync(path.join(sealedDir, SEALED_INDEX), 'utf8'));
    index.rootDigest = forgedRoot;
    fs.writeFileSync(path.join(sealedDir, SEALED_INDEX), JSON.stringify(index));
    for (const f of index.files as { name: string }[]) {
      const file = path.join(sealedDir, f.name + SEALED_SUFFIX);
      const bytes = fs.readFileSync(file);
      const { header } = chunkLayout(file);
      const doc = JSON.parse(bytes.subarray(SEALED_MAGIC.length + 4, header).toString('utf8'));
      fs.writeFileSync(file, Buffer.concat([encodeHeader({ ...doc, rootDigest: forgedRoot }).bytes, bytes.subarray(header)]));
    }
    await expectRefused(/does not authenticate/);
  });

  test('a file left out of the sealed directory, an extra file, a renamed file', async () => {
    fs.renameSync(path.join(sealedDir, `config.json${SEALED_SUFFIX}`), path.join(dir, 'moved'));
    await expectRefused(`${sealedDir} does not match its index: missing config.json.sealed; nothing was unsealed`);
    fs.renameSync(path.join(dir, 'moved'), path.join(sealedDir, `renamed.json${SEALED_SUFFIX}`));
    await expectRefused(`${sealedDir} does not match its index: missing config.json.sealed; unexpected renamed.json.sealed; nothing was unsealed`);
    fs.renameSync(path.join(sealedDir, `renamed.json${SEALED_SUFFIX}`), path.join(sealedDir, `config.json${SEALED_SUFFIX}`));
    // two sealed files swapped under each other's names: each header names its own file
    const a = path.join(sealedDir, `config.json${SEALED_SUFFIX}`);
    const b = path.join(sealedDir, `tokenizer.json${SEALED_SUFFIX}`);
    const [ab, bb] = [fs.readFileSync(a), fs.readFileSync(b)];
    fs.writeFileSync(a, bb);
    fs.writeFileSync(b, ab);
    await expectRefused(`${a}: the header describes "tokenizer.json" (4096 bytes), but the index lists "config.json" (20 bytes) here`);
  });

  test('a file dropped from the index and the directory together changes the root digest', async () => {
    const index = JSON.parse(fs.readFileSync(path.join(sealedDir, SEALED_INDEX), 'utf8'));
    index.files = index.files.filter((f: { name: string }) => f.name !== 'config.json');
    fs.writeFileSync(path.join(sealedDir, SEALED_INDEX), JSON.stringify(index));
    fs.rmSync(path.join(sealedDir, `config.json${SEALED_SUFFIX}`));
    await expectRefused(/the plaintext root digest is sha256:[0-9a-f]{64}, not the sealed sha256:[0-9a-f]{64}; nothing was unsealed/);
  });

  test('usage errors exit 2: no key, both key sources, a short key, an existing output', async () => {
    expect((await runCli('unseal', sealedDir, path.join(dir, 'p'))).stderr).toBe('modelseal: unseal needs exactly one of --data-key-file FILE and --data-key-stdin\n');
    const short = keyFile(dir, randomBytes(16), 'short.key');
    const run = await runCli('unseal', sealedDir, path.join(dir, 'p'), '--data-key-file', short);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`modelseal: ${short}: the data key is 16 bytes after base64 decoding; expected 32 (AES-256)\n`);
    fs.writeFileSync(short, 'not a key at all!');
    expect((await runCli('unseal', sealedDir, path.join(dir, 'p'), '--data-key-file', short)).stderr).toMatch(/expected the data key as 32 raw bytes or base64 .*got 17 bytes of something else/);
    fs.mkdirSync(path.join(dir, 'p'));
    const exists = await runCli('unseal', sealedDir, path.join(dir, 'p'), '--data-key-file', keyPath);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/exists; give a path that does not exist yet/);
    expect(await readSealedIndex(sealedDir)).toMatchObject({ keyArn: KEY_ARN, chunkSize: CHUNK });
  });

  test('the sealed files carry no plaintext digest the host could use to confirm a guess', () => {
    // headers name sizes and the root digest (public: it is what was signed), never a per-file plaintext digest
    const file = path.join(sealedDir, `config.json${SEALED_SUFFIX}`);
    const plainDigest = createHash('sha256').update(fs.readFileSync(path.join(dir, 'model', 'config.json'))).digest('hex');
    expect(fs.readFileSync(file).includes(Buffer.from(plainDigest))).toBe(false);
    expect(fs.readFileSync(path.join(sealedDir, SEALED_INDEX), 'utf8')).not.toContain(plainDigest);
  });
});

function keyFile(dir: string, key: Buffer, name = 'data.key'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, key.toString('base64'));
  return file;
}

function flip(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

/** Temporary directories sealing or unsealing left beside their output (there must be none). */
function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /\.(un)?sealing-/.test(n));
}
