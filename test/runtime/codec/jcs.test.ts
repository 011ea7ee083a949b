import { canonicalJson } from '../../../src/runtime/codec/jcs';

describe('canonicalJson (RFC 8785)', () => {
  test('sorts names by UTF-16 code units, writes no whitespace, escapes as RFC 8785 §3.2.2.2', () => {
    // RFC 8785 §3.2.3 sorting example, restricted to string values
    const names = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    expect(canonicalJson(names)).toBe('{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
    expect(canonicalJson({ b: [true, null, 0, -7, 'a\u0001\n"\\'], a: {} })).toBe('{"a":{},"b":[true,null,0,-7,"a\\u0001\\n\\"\\\\"]}');
    expect(canonicalJson(-0)).toBe('0');
  });

  test.each([
    ['a fraction', { shard_size: 1.5 }, 'manifest at /shard_size is the number 1.5; the canonical encoding takes integers of at most 2^53 - 1 in magnitude, no fractions'],
    ['an unsafe integer', [2 ** 53], 'manifest at /0 is the number 9007199254740992; the canonical encoding takes integers of at most 2^53 - 1 in magnitude, no fractions'],
    ['a lone surrogate', { a: 'x\ud800' }, 'manifest at /a is a string with a lone UTF-16 surrogate, which has no canonical encoding'],
    ['undefined', { a: undefined }, 'manifest at /a is undefined, which is not JSON data'],
  ])('refuses %s, naming where', (_what, value, message) => {
    expect(() => canonicalJson(value, 'manifest')).toThrow(message);
  });
});
