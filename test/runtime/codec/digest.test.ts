import { formatRootDigest, hexOfPrefixedDigest, isHexDigest, parseRootDigest } from '../../../src/runtime/codec/digest';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';

const ROOT = '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4';

describe('root digests', () => {
  test('parse sha256:<hex> and bare hex; print sha256:<hex>', () => {
    expect(parseRootDigest(`sha256:${ROOT}`)).toBe(ROOT);
    expect(parseRootDigest(ROOT)).toBe(ROOT);
    expect(formatRootDigest(ROOT)).toBe(`sha256:${ROOT}`);
    expect(parseRootDigest(formatRootDigest(ROOT))).toBe(ROOT);
  });

  test.each([
    ['upper-case hex', ROOT.toUpperCase()],
    ['an upper-case prefix', `SHA256:${ROOT}`],
    ['another algorithm', `sha512:${ROOT}`],
    ['a short digest', `sha256:${ROOT.slice(1)}`],
    ['surrounding whitespace', ` ${ROOT}\n`],
    ['a doubled prefix', `sha256:sha256:${ROOT}`],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
  ])('refuse %s, naming the value', (_what, value) => {
    expect(() => parseRootDigest(value, '--digest')).toThrow(UsageError);
    expect(() => parseRootDigest(value, '--digest')).toThrow(
      `--digest ${JSON.stringify(value)} is not valid; expected sha256: followed by 64 lower-case hex characters (the OMS root digest, as modelseal digest prints it)`);
  });

  test('a value that is not a string is named too, and the error class is the caller\'s', () => {
    expect(() => parseRootDigest(undefined, 'subject digest', VerificationError)).toThrow(VerificationError);
    expect(() => parseRootDigest(42)).toThrow('root digest 42 is not valid');
  });

  test('hexOfPrefixedDigest needs the prefix; isHexDigest needs bare lower-case hex', () => {
    expect(hexOfPrefixedDigest(`sha256:${ROOT}`)).toBe(ROOT);
    expect(hexOfPrefixedDigest(ROOT)).toBeUndefined();
    expect(hexOfPrefixedDigest(`sha256:${ROOT.toUpperCase()}`)).toBeUndefined();
    expect(hexOfPrefixedDigest(7)).toBeUndefined();
    expect(isHexDigest(ROOT)).toBe(true);
    expect(isHexDigest(`sha256:${ROOT}`)).toBe(false);
  });
});
