import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { VerificationError } from '../../../src/runtime/codec/errors';
import { decodeStatement } from '../../../src/runtime/codec/statement';
import { BUNDLE_MEDIA_TYPE, buildBundle, parseBundle, readBundleFile } from '../../../src/runtime/engine/bundle';
import { signManifest } from '../../../src/runtime/engine/sign';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { bundleFor, cleanup, ecKey, tempDir } from '../../fixtures/models';
import { describeVectors, readVector, vectorPath } from '../../helpers/vectors';

function parseError(text: string | Buffer, max?: number): string {
  try {
    parseBundle(Buffer.isBuffer(text) ? text : Buffer.from(text), 'b.json', max);
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return (e as Error).message;
  }
  throw new Error('expected parseBundle to throw');
}

const key = ecKey('P-256');
const STATEMENT = { _type: 'https://in-toto.io/Statement/v1' };

describe('buildBundle', () => {
  test('writes the reference layout with an empty tlogEntries and keyid ""', () => {
    const b = buildBundle({ publicKey: { hint: 'ab'.repeat(32) } }, Buffer.from('{}'), Buffer.from([1, 2]));
    expect(JSON.stringify(b)).toBe(
      `{"mediaType":"${BUNDLE_MEDIA_TYPE}","verificationMaterial":{"publicKey":{"hint":"${'ab'.repeat(32)}"},"tlogEntries":[]},` +
      '"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AQI=","keyid":""}]}}');
  });
});

describe('parseBundle', () => {
  let good: string;
  beforeAll(async () => {
    good = JSON.stringify(await bundleFor(STATEMENT, key.privateKey));
  });

  test('parses a bundle it built', () => {
    const p = parseBundle(Buffer.from(good));
    expect(p.material).toEqual({ kind: 'publicKey', hint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.parse(p.payload.toString())).toEqual(STATEMENT);
  });

  test('fails when the bundle is empty', () => {
    expect(parseError('')).toBe('b.json is empty; expected a Sigstore bundle v0.3 JSON document');
    expect(parseError(' \n')).toBe('b.json is empty; expected a Sigstore bundle v0.3 JSON document');
  });

  test('fails when the bundle is truncated', () => {
    expect(parseError(good.slice(0, good.length / 2))).toMatch(/^b\.json is not valid JSON \(Unterminated string/);
  });

  test('fails when the payload base64 is corrupted', () => {
    const b = JSON.parse(good);
    b.dsseEnvelope.payload = '!!' + b.dsseEnvelope.payload;
    expect(parseError(JSON.stringify(b))).toBe(
      'b.json dsseEnvelope.payload is not base64 (RFC 4648 §4: characters A-Z a-z 0-9 + / and "=" padding to a multiple of 4)');
  });

  test('fails when the mediaType is wrong', () => {
    const b = { ...JSON.parse(good), mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' };
    expect(parseError(JSON.stringify(b))).toBe(
      `b.json has mediaType "application/vnd.dev.sigstore.bundle+json;version=0.2"; expected "${BUNDLE_MEDIA_TYPE}"`);
  });

  test('fails when the payloadType is wrong', () => {
    const b = JSON.parse(good);
    b.dsseEnvelope.payloadType = 'application/json';
    expect(parseError(JSON.stringify(b))).toBe('b.json has DSSE payloadType "application/json"; expected "application/vnd.in-toto+json"');
  });

  test('fails with several signatures', () => {
    const b = JSON.parse(good);
    b.dsseEnvelope.signatures.push(b.dsseEnvelope.signatures[0]);
    expect(parseError(JSON.stringify(b))).toBe('b.json has 2 DSSE signatures; OMS bundles carry exactly one');
  });

  test.each([[''], [null], [undefined]])('accepts keyid %j', (keyid) => {
    const b = JSON.parse(good);
    if (keyid === undefined) {
      delete b.dsseEnvelope.signatures[0].keyid;
    } else {
      b.dsseEnvelope.signatures[0].keyid = keyid;
    }
    expect(() => parseBundle(Buffer.from(JSON.stringify(b)))).not.toThrow();
  });

  test('fails when the bundle is over the size limit, and the limit can be raised', () => {
    expect(parseError(good, 100)).toBe(`b.json is ${good.length} bytes, over the 100-byte bundle size limit`);
    expect(() => parseBundle(Buffer.from(good), 'b.json', good.length)).not.toThrow();
  });

  test('readBundleFile refuses an oversized file before reading it', async () => {
    const dir = tempDir();
    try {
      const f = path.join(dir, 'big.sig');
      fs.writeFileSync(f, Buffer.alloc(2048, 0x20));
      await expect(readBundleFile(f, 1024)).rejects.toThrow(new VerificationError(
        `signature ${f} is 2048 bytes, over the 1024-byte bundle size limit; raise it with --max-bundle-size if this bundle is expected`));
      await expect(readBundleFile(f, 4096)).resolves.toHaveLength(2048);
    } finally {
      cleanup(dir);
    }
  });
});

describeVectors('bundle schema (OMS spec schemas, JSON Schema 2020-12)', () => {
  const schemaDir = vectorPath('spec', 'schemas', 'v1.0');
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const f of ['predicate', 'statement', 'envelope', 'bundle']) {
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(schemaDir, `${f}.schema.json`), 'utf8')));
  }
  const validateBundle = ajv.getSchema('https://model_signing/bundle/v1.0/schema')!;
  const validateStatement = ajv.getSchema('https://model_signing/statement/v1.0/schema')!;

  test('the schemas accept the spec valid vectors (sanity check of the setup)', () => {
    for (const f of ['key', 'certificate', 'sigstore']) {
      expect(validateBundle(JSON.parse(readVector('spec', 'test-vectors', 'v1.0', 'valid', `${f}.bundle.json`).toString()))).toBe(true);
    }
  });

  test('emitted key bundles and their statements validate', async () => {
    const r = await signManifest('m', {
      resources: [{ name: 'a', algorithm: 'sha256', digest: 'aa'.repeat(32) }],
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git'] },
    }, new LocalKeySigner(key.privateKey));
    expect(validateBundle(r.bundle)).toBe(true);
    expect(validateBundle.errors ?? null).toBeNull();
    const statement = JSON.parse(Buffer.from(r.bundle.dsseEnvelope.payload, 'base64').toString());
    expect(validateStatement(statement)).toBe(true);
  });
});

describe('issue 10 #7: a bundle has one reading', () => {
  let good: Record<string, any>;
  beforeAll(async () => {
    good = (await bundleFor(STATEMENT, key.privateKey)) as unknown as Record<string, any>;
  });

  test('a duplicate member anywhere in the bundle is refused, whichever copy a reader would keep', () => {
    const text = JSON.stringify(good);
    const dupMedia = text.replace('{"mediaType":', '{"mediaType":"application/x","mediaType":');
    expect(parseError(dupMedia)).toBe('b.json has the member "mediaType" twice in the object at /; a signed document must have one reading');
    const dupSig = text.replace('"signatures":[{"sig":', '"signatures":[{"sig":"AAAA","sig":');
    expect(parseError(dupSig)).toBe('b.json has the member "sig" twice in the object at /dsseEnvelope/signatures/0; a signed document must have one reading');
  });

  test('a signed statement with a duplicate member verifies as a signature but is refused as a statement', async () => {
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://modelseal.dev/revocation/v1","predicateType":"x","subject":[]}');
    const b = await bundleFor(payload, key.privateKey);
    expect(() => decodeStatement(parseBundle(Buffer.from(JSON.stringify(b))).payload, 'r.json'))
      .toThrow('r.json: DSSE payload (an in-toto Statement v1) has the member "predicateType" twice in the object at /; a signed document must have one reading');
  });

  test('verificationMaterial with both publicKey and x509CertificateChain is refused', () => {
    const both = { ...good, verificationMaterial: { ...good.verificationMaterial, x509CertificateChain: { certificates: [{ rawBytes: 'AAAA' }] } } };
    expect(parseError(JSON.stringify(both))).toBe('b.json verificationMaterial has publicKey and x509CertificateChain; a bundle carries exactly one of publicKey, x509CertificateChain or certificate');
  });
});
