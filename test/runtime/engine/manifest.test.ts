import { createHash } from 'crypto';
import { canonicalManifest, manifestDigest, statementManifestDigest } from '../../../src/runtime/engine/manifest';
import { buildStatement, parseStatement } from '../../../src/runtime/engine/statement';
import type { Manifest } from '../../../src/runtime/engine/types';

const D = (c: string) => c.repeat(64);
const base: Manifest = {
  resources: [{ name: 'b', algorithm: 'sha256', digest: D('2') }, { name: 'a', algorithm: 'sha256', digest: D('1') }],
  serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git', '.github'] },
};

describe('manifest digest (issue 10 #1)', () => {
  test('is SHA-256 over the RFC 8785 form: hash algorithm, every serialization parameter, resources sorted by name', () => {
    const text = canonicalManifest(base);
    expect(text).toBe('{"hashAlgorithm":"sha256","resources":['
      + `{"algorithm":"sha256","digest":"${D('1')}","name":"a"},{"algorithm":"sha256","digest":"${D('2')}","name":"b"}],`
      + '"serialization":{"allow_symlinks":false,"hash_type":"sha256","ignore_paths":[".git",".github"],"method":"files"}}');
    expect(manifestDigest(base)).toBe(createHash('sha256').update(text).digest('hex'));
  });

  test('binds names, ignore paths, symlinks and shard size: the root digest binds none of them', () => {
    const renamed = { ...base, resources: base.resources.map((r) => (r.name === 'b' ? { ...r, name: 'c' } : r)) };
    const variants: Manifest[] = [
      renamed,
      { ...base, serialization: { ...base.serialization, ignore_paths: ['.git', '.github', 'extra'] } },
      { ...base, serialization: { ...base.serialization, allow_symlinks: true } },
      { resources: base.resources.map((r) => ({ ...r, name: `${r.name}:0:4` })), serialization: { ...base.serialization, method: 'shards', shard_size: 4 } },
    ];
    const digests = new Set([base, ...variants].map((m) => manifestDigest(m)));
    expect(digests.size).toBe(5);
  });

  test('does not depend on resource order or on how ignore paths are spelt, so one manifest has one digest', () => {
    const reordered = { ...base, resources: [...base.resources].reverse() };
    const spelt = { ...base, serialization: { ...base.serialization, ignore_paths: ['./.github/', '.git', '.git'] } };
    expect(manifestDigest(reordered)).toBe(manifestDigest(base));
    expect(manifestDigest(spelt)).toBe(manifestDigest(base));
  });

  test('a serialization parameter this verifier does not read still binds; a fractional one is refused', () => {
    const statement = buildStatement('m', base);
    const payload = (extra: Record<string, unknown>) => {
      const s = JSON.parse(JSON.stringify(statement));
      Object.assign(s.predicate.serialization, extra);
      return s;
    };
    const plain = statementManifestDigest(parseStatement(Buffer.from(JSON.stringify(statement))), statement);
    const withExtra = payload({ future_option: 'on' });
    expect(statementManifestDigest(parseStatement(Buffer.from(JSON.stringify(withExtra))), withExtra)).not.toBe(plain);
    const fraction = payload({ future_option: 0.5 });
    expect(() => statementManifestDigest(parseStatement(Buffer.from(JSON.stringify(fraction))), fraction))
      .toThrow('manifest at /serialization/future_option is the number 0.5; the canonical encoding takes integers of at most 2^53 - 1 in magnitude, no fractions');
    expect(plain).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('unicode look-alike names are different manifests', () => {
    const latin = { ...base, resources: [{ name: 'model.bin', algorithm: 'sha256', digest: D('1') }] };
    const cyrillic = { ...base, resources: [{ name: 'mоdel.bin', algorithm: 'sha256', digest: D('1') }] };
    const nfd = { ...base, resources: [{ name: 'modèl.bin'.normalize('NFD'), algorithm: 'sha256', digest: D('1') }] };
    const nfc = { ...base, resources: [{ name: 'modèl.bin'.normalize('NFC'), algorithm: 'sha256', digest: D('1') }] };
    expect(manifestDigest(latin)).not.toBe(manifestDigest(cyrillic));
    expect(manifestDigest(nfd)).not.toBe(manifestDigest(nfc));
  });
});
