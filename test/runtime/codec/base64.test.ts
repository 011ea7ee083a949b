import { decodeBase64, encodeBase64 } from '../../../src/runtime/codec/base64';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';

describe('decodeBase64 (standard, RFC 4648 §4, padded)', () => {
  test('decodes canonical text, including the empty string and every padding length', () => {
    expect(decodeBase64('', 'x')).toEqual(Buffer.alloc(0));
    expect(decodeBase64('YQ==', 'x').toString()).toBe('a');
    expect(decodeBase64('YWI=', 'x').toString()).toBe('ab');
    expect(decodeBase64('YWJj', 'x').toString()).toBe('abc');
    expect(decodeBase64('+/8=', 'x')).toEqual(Buffer.from([0xfb, 0xff]));
  });

  test('round-trips random bytes through encodeBase64', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(decodeBase64(encodeBase64(bytes), 'x')).toEqual(bytes);
      expect(decodeBase64(encodeBase64(bytes, 'base64url'), 'x', 'base64url')).toEqual(bytes);
    }
  });

  test.each([
    ['a character outside the alphabet', 'YQ!=', 'is not base64'],
    ['whitespace', 'YW Jj', 'is not base64'],
    ['a newline', 'YWJj\n', 'is not base64'],
    ['URL-safe characters', '-_8=', 'is not base64'],
    ['missing padding', 'YQ', 'is not base64'],
    ['too much padding', 'YQ===', 'is not base64'],
    ['padding in the middle', 'YQ==YQ==', 'is not base64'],
    ['a length of 4n+1', 'YWJjZ', 'is not base64'],
  ])('fails on %s', (_what, text, message) => {
    expect(() => decodeBase64(text, 'field')).toThrow(new RegExp(`^field ${message} \\(RFC 4648 §4`));
  });

  test('fails on non-zero unused trailing bits, so one text never decodes two ways', () => {
    // "YR==" and "YQ==" would both be "a" to Buffer.from; only the canonical one is accepted.
    expect(Buffer.from('YR==', 'base64')).toEqual(Buffer.from('a'));
    expect(() => decodeBase64('YR==', 'field')).toThrow(new VerificationError('field is not canonical base64 (its unused trailing bits are not zero)'));
    expect(() => decodeBase64('YWJ=', 'field')).toThrow(/not canonical base64/);
  });

  test('fails on a value that is not a string, naming it', () => {
    expect(() => decodeBase64(42, 'field')).toThrow('field must be a base64 string; got number 42');
    expect(() => decodeBase64(undefined, 'field')).toThrow('field must be a base64 string; got missing');
  });

  test('raises the error class the caller names (usage for arguments, verification by default)', () => {
    expect(() => decodeBase64('!', 'f')).toThrow(VerificationError);
    expect(() => decodeBase64('!', 'f', 'base64', UsageError)).toThrow(UsageError);
  });
});

describe('decodeBase64 (URL-safe, RFC 4648 §5 / RFC 7515, unpadded)', () => {
  test('decodes canonical text', () => {
    expect(decodeBase64('YQ', 'x', 'base64url').toString()).toBe('a');
    expect(decodeBase64('-_8', 'x', 'base64url')).toEqual(Buffer.from([0xfb, 0xff]));
  });

  test.each([
    ['padding', 'YQ=='],
    ['standard-alphabet characters', '+/8'],
    ['a length of 4n+1', 'YWJjZ'],
    ['whitespace', 'YW Jj'],
  ])('fails on %s', (_what, text) => {
    expect(() => decodeBase64(text, 'part', 'base64url')).toThrow('part is not base64url (RFC 7515: characters A-Z a-z 0-9 - _ and no "=" padding)');
  });

  test('fails on non-zero unused trailing bits', () => {
    expect(() => decodeBase64('YR', 'part', 'base64url')).toThrow('part is not canonical base64url (its unused trailing bits are not zero)');
  });
});
