import { VerificationError } from '../../../src/runtime/codec/errors';
import { buildStatement, LEGACY_PREDICATE_TYPE, parseStatement, PREDICATE_TYPE, statementBytes } from '../../../src/runtime/engine/statement';
import { describeVectors, readVector, V110_ROOT } from '../../helpers/vectors';

const RES = [
  { algorithm: 'sha256', name: 'a.bin', digest: 'aa'.repeat(32) },
  { algorithm: 'sha256', name: 'b.bin', digest: 'bb'.repeat(32) },
];

function statement(over: Record<string, unknown> = {}, predicate: Record<string, unknown> = {}): Buffer {
  const s = buildStatement('m', { resources: RES, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] } });
  return Buffer.from(JSON.stringify({ ...s, ...over, predicate: { ...(s.predicate as object), ...predicate } }));
}

function parseError(buf: Buffer): string {
  try {
    parseStatement(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return (e as Error).message;
  }
  throw new Error('expected parseStatement to throw');
}

describeVectors('statement vs the reference', () => {
  test('rebuilds the v1.1.0 reference payload byte for byte', () => {
    const bundle = JSON.parse(readVector('model-transparency', 'v1.1.0-elliptic-key', 'model.sig').toString());
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const parsed = parseStatement(payload);
    expect(parsed.rootDigest).toBe(V110_ROOT);
    expect(statementBytes(buildStatement(parsed.subjectName, parsed.manifest)).equals(payload)).toBe(true);
  });
});

describe('parseStatement', () => {
  test('accepts a well-formed statement and keeps payload order', () => {
    const reversed = statement({}, { resources: [...RES].reverse() });
    const parsed = parseStatement(reversed);
    expect(parsed.predicateType).toBe(PREDICATE_TYPE);
    expect(parsed.manifest.resources.map((r) => r.name)).toEqual(['b.bin', 'a.bin']);
  });

  test('fails when the payload is not JSON', () => {
    expect(parseError(Buffer.from('{"_type":'))).toMatch(/^DSSE payload \(an in-toto Statement v1\) is not valid JSON/);
  });

  test('fails when _type is wrong', () => {
    expect(parseError(statement({ _type: 'https://in-toto.io/Statement/v0.1' }))).toBe(
      'statement _type is "https://in-toto.io/Statement/v0.1"; expected "https://in-toto.io/Statement/v1"');
  });

  test('fails when predicateType is wrong', () => {
    expect(parseError(statement({ predicateType: 'https://example.com/x' }))).toBe(
      `statement predicateType is "https://example.com/x"; expected "${PREDICATE_TYPE}" (or the legacy "${LEGACY_PREDICATE_TYPE}")`);
  });

  test('fails when there is no subject', () => {
    expect(parseError(statement({ subject: [] }))).toBe(
      'statement has no subject; expected exactly one subject naming the model and its root digest');
  });

  test('fails when there are two subjects', () => {
    const s = JSON.parse(statement().toString());
    expect(parseError(statement({ subject: [s.subject[0], s.subject[0]] }))).toBe('statement has 2 subjects; expected exactly one (the model)');
  });

  test('fails when resources are empty', () => {
    expect(parseError(statement({}, { resources: [] }))).toBe('predicate.resources is empty; a signature must cover at least one file');
  });

  test('fails when a resource name is duplicated', () => {
    expect(parseError(statement({}, { resources: [RES[0], { ...RES[1], name: 'a.bin' }] }))).toBe(
      'resource name "a.bin" appears twice; each file or shard must be listed once');
  });

  test.each([
    ['../etc/passwd', 'contains ".."'],
    ['a/../../b', 'contains ".."'],
    ['/etc/passwd', 'is absolute'],
    ['C:\\x', 'is absolute'],
    ['a//b', 'has an empty or "." segment'],
    ['a\\b', 'contains a backslash (names are POSIX paths)'],
  ])('fails when a resource is named %j', (name, why) => {
    expect(parseError(statement({}, { resources: [{ ...RES[0], name }] }))).toBe(
      `resource name "${name}" ${why}; expected a relative POSIX path inside the model`);
  });

  test('accepts "." only as the single resource', () => {
    expect(parseStatement(statement({}, { resources: [{ ...RES[0], name: '.' }] })).manifest.resources[0].name).toBe('.');
    expect(parseError(statement({}, { resources: [{ ...RES[0], name: '.' }, RES[1]] }))).toMatch(/^resource name "\." \(the model file itself\) is only valid/);
  });

  test('fails on a malformed digest or unsupported algorithm', () => {
    expect(parseError(statement({}, { resources: [{ ...RES[0], digest: 'XYZ' }] }))).toBe(
      'resource "a.bin" has digest "XYZ"; expected 64 lower-case hex characters (a sha256 digest)');
    expect(parseError(statement({}, { resources: [{ ...RES[0], algorithm: 'md5' }] }))).toBe(
      'resource "a.bin" has algorithm "md5"; this verifier supports sha256, blake2b, blake3');
    expect(parseError(statement({}, { resources: [{ ...RES[0], algorithm: 'blake3' }] }))).toBe(
      'resource "a.bin" has algorithm "blake3" but serialization.hash_type is "sha256"');
  });

  test('reads blake2b (64-byte digests) and blake3 (32-byte digests) manifests, and checks the digest length per algorithm', () => {
    const b2 = { algorithm: 'blake2b', name: 'a.bin', digest: 'ab'.repeat(64) };
    const ser = (hash: string) => ({ serialization: { method: 'files', hash_type: hash, allow_symlinks: false } });
    expect(parseStatement(statement({}, { resources: [b2], ...ser('blake2b') })).manifest.serialization.hash_type).toBe('blake2b');
    expect(parseError(statement({}, { resources: [{ ...b2, digest: 'ab'.repeat(32) }], ...ser('blake2b') }))).toBe(
      `resource "a.bin" has digest "${'ab'.repeat(32)}"; expected 128 lower-case hex characters (a blake2b digest)`);
    const b3 = { algorithm: 'blake3', name: 'a.bin', digest: 'cd'.repeat(32) };
    expect(parseStatement(statement({}, { resources: [b3], ...ser('blake3') })).manifest.resources).toEqual([b3]);
  });

  test('fails on an unknown serialization method', () => {
    expect(parseError(statement({}, { serialization: { method: 'tree', hash_type: 'sha256', allow_symlinks: false } }))).toBe(
      'serialization.method is "tree"; expected "files" or "shards"');
  });

  test('validates shard names and shard_size', () => {
    const ser = { method: 'shards', hash_type: 'sha256', allow_symlinks: false, shard_size: 10 };
    const ok = parseStatement(statement({}, { serialization: ser, resources: [{ ...RES[0], name: 'a:b.bin:0:10' }] }));
    expect(ok.manifest.serialization.shard_size).toBe(10);
    expect(parseError(statement({}, { serialization: ser, resources: [{ ...RES[0], name: 'a.bin:10:5' }] }))).toMatch(/is not "path:start:end"/);
    expect(parseError(statement({}, { serialization: { ...ser, shard_size: 0 }, resources: [RES[0]] }))).toMatch(/shard_size is 0/);
  });

  test('reads the legacy Digests/v0.1 layout (files as subjects)', () => {
    const legacy = Buffer.from(JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: RES.map((r) => ({ name: r.name, digest: { sha256: r.digest }, annotations: { actual_hash_algorithm: 'file-sha256' } })),
      predicateType: LEGACY_PREDICATE_TYPE,
      predicate: { unused: 'Unused, just passed due to API requirements' },
    }));
    const parsed = parseStatement(legacy);
    expect(parsed.legacy).toBe(true);
    expect(parsed.rootDigest).toBeUndefined();
    expect(parsed.manifest.resources).toEqual(RES);
    expect(parsed.manifest.serialization).toEqual({ method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] });
  });
});
