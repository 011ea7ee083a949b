import { createHash, X509Certificate } from 'crypto';
import * as fs from 'fs';
import { parseRootDigest } from '../../../src/runtime/codec/digest';
import { UsageError } from '../../../src/runtime/codec/errors';
import { buildBundle } from '../../../src/runtime/engine/bundle';
import { keyHint } from '../../../src/runtime/engine/keys';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../../../src/runtime/engine/pae';
import { signModel } from '../../../src/runtime/engine/sign';
import { CertificateSigner } from '../../../src/runtime/signers/certificate';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { StoreIntegrityError } from '../../../src/runtime/store/errors';
import {
  checkContentAddress, contentAddress, deriveKey, parseRefBody, predicateSlug, refBody, refKey, TEMP_PREFIX, validateKey,
} from '../../../src/runtime/store/keys';
import { bundleFor, cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';
import { makePki } from '../../fixtures/pki';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ROOT = 'ab'.repeat(32);
const k = ecKey('P-256');

function statement(predicateType: string, root = ROOT, predicate: object = { x: 1 }): object {
  return { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'model', digest: { sha256: root } }], predicateType, predicate };
}

async function bundleBytes(st: object): Promise<Buffer> {
  return Buffer.from(JSON.stringify(await bundleFor(st, k.privateKey)));
}

function jwsHeader(h: object): string {
  return Buffer.from(JSON.stringify(h)).toString('base64url');
}

function notationJson(root: string, cty = 'application/vnd.cncf.notary.payload.v1+json'): Buffer {
  const payload = Buffer.from(JSON.stringify({ targetArtifact: { mediaType: 'application/vnd.modelseal.model.v1', digest: `sha256:${root}`, size: 0 } })).toString('base64url');
  return Buffer.from(JSON.stringify({ payload, protected: jwsHeader({ alg: 'ES384', cty, crit: ['io.cncf.notary.signingScheme'] }), header: { x5c: [] }, signature: 'c2ln' }));
}

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

describe('deriveKey', () => {
  test('an OMS bundle signed with a key → bundles/sha256/<root>/<key hint>/<sha256 of bytes>.sig.json', async () => {
    const model = makeModel(dir);
    const res = await signModel(model, new LocalKeySigner(k.privateKey));
    const body = Buffer.from(res.bundleText);
    const d = deriveKey(body, 'model.sig');
    expect(d).toMatchObject({ kind: 'bundle', root: res.rootDigest, signer: res.keyHint, objectDigest: sha(body) });
    expect(d.key).toBe(`bundles/sha256/${res.rootDigest}/${keyHint(k.publicKey)}/${sha(body)}.sig.json`);
    expect(d.predicateType).toBe('https://model_signing/signature/v1.0');
  });

  test('a certificate bundle: the signer is the hint of the leaf certificate\'s public key', async () => {
    const pki = makePki(dir);
    const signer = await CertificateSigner.fromFiles({ privateKey: pki.leafKey, signingCertificate: pki.leafCert, certificateChain: [pki.intCert] });
    const res = await signModel(makeModel(dir), signer);
    const d = deriveKey(Buffer.from(res.bundleText));
    const leaf = new X509Certificate(fs.readFileSync(pki.leafCert));
    expect(d.signer).toBe(keyHint(leaf.publicKey));
    expect(d.key.startsWith(`bundles/sha256/${res.rootDigest}/${keyHint(leaf.publicKey)}/`)).toBe(true);
  });

  test('an older bundle with publicKey.rawBytes: the signer is the hint of the embedded key', async () => {
    const payload = Buffer.from(JSON.stringify(statement('https://model_signing/signature/v1.0', ROOT, {
      resources: [{ name: 'w.bin', algorithm: 'sha256', digest: 'cd'.repeat(32) }],
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] },
    })));
    const sig = await new LocalKeySigner(k.privateKey).sign(pae(IN_TOTO_PAYLOAD_TYPE, payload));
    const raw = (k.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    const bundle = buildBundle({ publicKey: { rawBytes: raw, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } } as never, payload, sig);
    const d = deriveKey(Buffer.from(JSON.stringify(bundle)));
    expect(d.signer).toBe(keyHint(k.publicKey));
    expect(d.root).toBe(ROOT);
  });

  test('the legacy Digests/v0.1 predicate goes under bundles/ with the verifier\'s root over its resources', async () => {
    const files = [{ name: 'a', digest: { sha256: '11'.repeat(32) } }, { name: 'b', digest: { sha256: '22'.repeat(32) } }];
    const body = await bundleBytes({ _type: 'https://in-toto.io/Statement/v1', subject: files, predicateType: 'https://model_signing/Digests/v0.1', predicate: {} });
    const d = deriveKey(body);
    expect(d.kind).toBe('bundle');
    expect(d.root).toBe(sha(Buffer.from('11'.repeat(32) + '22'.repeat(32), 'hex')));
  });

  test.each([
    ['https://cyclonedx.org/bom', 'cyclonedx-bom'],
    ['https://slsa.dev/provenance/v1', 'slsa-provenance-v1'],
    ['https://in-toto.io/attestation/vulns/v0.1', 'in-toto-io-attestation-vulns-v0-1'],
  ])('attestation %s → attestations/sha256/<root>/%s/<signer>/<obj>.json', async (type, slug) => {
    const body = await bundleBytes(statement(type));
    const d = deriveKey(body);
    expect(d.key).toBe(`attestations/sha256/${ROOT}/${slug}/${keyHint(k.publicKey)}/${sha(body)}.json`);
    expect(d).toMatchObject({ kind: 'attestation', slug, predicateType: type });
  });

  test('a revocation record → revocations/sha256/<root>/<signer>/<obj>.json', async () => {
    const body = await bundleBytes(statement('https://modelseal.dev/revocation/v1', ROOT, { reason: 'leaked', revokedAt: '2025-01-01T00:00:00Z' }));
    expect(deriveKey(body).key).toBe(`revocations/sha256/${ROOT}/${keyHint(k.publicKey)}/${sha(body)}.json`);
  });

  test('a Notation JWS, JSON or compact → notation/sha256/<root>/<obj>.jws', () => {
    const json = notationJson(ROOT);
    expect(deriveKey(json)).toMatchObject({ key: `notation/sha256/${ROOT}/${sha(json)}.jws`, kind: 'notation', root: ROOT, contentType: 'application/jose+json' });
    const doc = JSON.parse(json.toString());
    const compact = Buffer.from(`${doc.protected}.${doc.payload}.c2ln`);
    expect(deriveKey(compact)).toMatchObject({ key: `notation/sha256/${ROOT}/${sha(compact)}.jws`, contentType: 'application/jose' });
  });

  test('unrecognised or malformed objects are UsageErrors naming the file and why', async () => {
    const bad: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /^x\.bin is empty/],
      [Buffer.from('hello world'), /^x\.bin is neither a Sigstore bundle .* nor a Notation JWS/],
      [Buffer.from('{"a": 1}'), /^x\.bin is a JSON document but neither a Sigstore bundle/],
      [Buffer.from('{"a": '), /^x\.bin \(expected a Sigstore bundle or a Notation JWS\) is not valid JSON/],
      [Buffer.from('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'), /^x\.bin is not a usable Sigstore bundle: .*verificationMaterial/],
      [notationJson(ROOT, 'application/json'), /content type \(cty\) "application\/json"; expected a Notation signature/],
      [notationJson('XYZ'), /targetArtifact\.digest is "sha256:XYZ"/],
      [await bundleBytes({ ...statement('https://cyclonedx.org/bom'), subject: [] }), /has 0 subject\(s\)/],
      [await bundleBytes(statement('https://cyclonedx.org/bom', 'AB'.repeat(32))), /subject digest\.sha256 is "ABAB/],
      [await bundleBytes({ ...statement('https://cyclonedx.org/bom'), _type: 'https://in-toto.io/Statement/v0.9' }), /_type is "https:\/\/in-toto\.io\/Statement\/v0\.9"/],
      [await bundleBytes(statement('https://model_signing/signature/v1.0', ROOT, {})), /does not hold a valid OMS model signature statement/],
    ];
    for (const [body, re] of bad) {
      let err: unknown;
      try {
        deriveKey(body, 'x.bin');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(re);
    }
  });
});

describe('predicateSlug', () => {
  test('is deterministic, lower-case, dash-separated and bounded', () => {
    expect(predicateSlug('HTTPS://Example.COM//Foo__Bar/v2.0/')).toBe('example-com-foo-bar-v2-0');
    expect(predicateSlug('urn:example:thing')).toBe('urn-example-thing');
    const long = `https://example.com/${'x'.repeat(300)}`;
    const slug = predicateSlug(long);
    expect(slug.length).toBeLessThanOrEqual(100);
    expect(slug).toBe(predicateSlug(long));
    expect(slug).not.toBe(predicateSlug(`${long}y`));
    expect(() => predicateSlug('://--')).toThrow(/no letters or digits/);
  });
});

describe('refs', () => {
  test('refKey builds refs/<name>/<version>; the body is sha256:<root>', () => {
    expect(refKey('team/llm-7b', 'v1.2.0')).toBe('refs/team/llm-7b/v1.2.0');
    expect(refBody(ROOT).toString()).toBe(`sha256:${ROOT}`);
    expect(parseRefBody(Buffer.from(`sha256:${ROOT}\n`), 'refs/a/1')).toBe(ROOT);
    expect(() => parseRefBody(Buffer.from('sha256:nope'), 'refs/a/1')).toThrow(StoreIntegrityError);
  });

  test.each([
    ['../etc', '1', /model name "\.\.\/etc" contains "\.\."/],
    ['/abs', '1', /model name "\/abs" starts with "\/"/],
    ['a/', '1', /model name "a\/" ends with "\/"/],
    ['a//b', '1', /model name "a\/\/b" has a part that is empty/],
    ['a b', '1', /model name "a b" has a part/],
    ['.hidden', '1', /model name "\.hidden" has a part/],
    ['', '1', /model name "" is empty/],
    ['x'.repeat(201), '1', /is 201 characters, over the 200-character limit/],
    ['m', '1/2', /version "1\/2" contains "\/"/],
    ['m', '..', /version "\.\." contains "\.\."/],
    ['m', '-rc', /version "-rc" does not start with a letter or digit/],
    ['m', '', /version "" is empty/],
    ['m', 'v'.repeat(129), /version "v+" is 129 characters/],
  ])('refKey(%j, %j) is refused', (name, version, re) => {
    expect(() => refKey(name, version)).toThrow(UsageError);
    expect(() => refKey(name, version)).toThrow(re);
  });
});

describe('key validation', () => {
  test.each([
    ['', /is empty/],
    ['/bundles/x', /is absolute/],
    ['bundles\\x', /backslash/],
    ['bundles/../refs/x', /contains a "\.\." part/],
    ['..', /contains a "\.\." part/],
    ['bundles//x', /empty or "\." part/],
    ['bundles/./x', /empty or "\." part/],
    [`bundles/${TEMP_PREFIX}123`, /temp-file prefix/],
    ['bundles/a b', /character outside/],
    ['x'.repeat(901), /over the 900-character limit/],
  ])('validateKey(%j) is refused', (key, re) => {
    expect(() => validateKey(key)).toThrow(re);
  });

  test('parseRootDigest takes sha256:<hex> or hex and names a bad value', () => {
    expect(parseRootDigest(`sha256:${ROOT}`)).toBe(ROOT);
    expect(parseRootDigest(ROOT)).toBe(ROOT);
    expect(() => parseRootDigest('sha256:abc', 'digest')).toThrow(/^digest "sha256:abc" is not valid; expected sha256: followed by 64 lower-case hex/);
    expect(() => parseRootDigest(ROOT.toUpperCase())).toThrow(UsageError);
  });

  test('contentAddress parses the four layouts; checkContentAddress fails closed', () => {
    const obj = sha('x');
    const s = 'cd'.repeat(32);
    expect(contentAddress(`bundles/sha256/${ROOT}/${s}/${obj}.sig.json`)).toEqual({ kind: 'bundle', root: ROOT, signer: s, objectDigest: obj });
    expect(contentAddress(`attestations/sha256/${ROOT}/cyclonedx-bom/${s}/${obj}.json`)).toEqual({ kind: 'attestation', root: ROOT, slug: 'cyclonedx-bom', signer: s, objectDigest: obj });
    expect(contentAddress(`notation/sha256/${ROOT}/${obj}.jws`)).toEqual({ kind: 'notation', root: ROOT, objectDigest: obj });
    expect(contentAddress(`revocations/sha256/${ROOT}/${s}/${obj}.json`)).toEqual({ kind: 'revocation', root: ROOT, signer: s, objectDigest: obj });
    expect(contentAddress('refs/a/1')).toBeUndefined();
    expect(contentAddress(`bundles/sha256/${ROOT}/${s}/${obj}.json`)).toBeUndefined();
    expect(() => checkContentAddress(`notation/sha256/${ROOT}/${obj}.jws`, Buffer.from('x'))).not.toThrow();
    expect(() => checkContentAddress(`notation/sha256/${ROOT}/${obj}.jws`, Buffer.from('y'))).toThrow(StoreIntegrityError);
  });
});
