import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { parseRfc3339 } from '../../../src/runtime/codec/time';

describe('parseRfc3339', () => {
  test.each([
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01t12:00:00z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00:00.5Z', '2024-05-01T12:00:00.500Z'],
    ['2024-05-01T12:00:00.123456789Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T14:30:00+02:30', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T00:00:00-05:00', '2024-05-01T05:00:00.000Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0050-01-01T00:30:00+01:00', '0049-12-31T23:30:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseRfc3339(text, 't').toISOString()).toBe(iso);
  });

  test.each([
    ['a date without a time', '2024-05-01'],
    ['no offset', '2024-05-01T12:00:00'],
    ['a space for T', '2024-05-01 12:00:00Z'],
    ['an RFC 2822 date Date.parse accepts', 'Wed, 01 May 2024 12:00:00 GMT'],
    ['an offset without a colon', '2024-05-01T12:00:00+0200'],
    ['a trailing dot', '2024-05-01T12:00:00.Z'],
    ['surrounding whitespace', ' 2024-05-01T12:00:00Z'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseRfc3339(text, 'signingTime')).toThrow(
      `signingTime is the string ${JSON.stringify(text)}; expected an RFC 3339 date-time such as "2024-05-01T12:00:00Z"`);
  });

  test.each([
    ['30 February (Date would roll over to 1 March)', '2024-02-30T00:00:00Z', 'day 30 (2024-02 has 29 days)'],
    ['29 February of a common year', '2023-02-29T00:00:00Z', 'day 29 (2023-02 has 28 days)'],
    ['1900, not a leap year', '1900-02-29T00:00:00Z', 'day 29 (1900-02 has 28 days)'],
    ['month 13', '2024-13-01T00:00:00Z', 'month 13'],
    ['day 0', '2024-01-00T00:00:00Z', 'day 0 (2024-01 has 31 days)'],
    ['hour 24', '2024-01-01T24:00:00Z', 'hour 24'],
    ['minute 60', '2024-01-01T00:60:00Z', 'minute 60'],
    ['a leap second', '2016-12-31T23:59:60Z', 'second 60'],
    ['an offset of 24 hours', '2024-01-01T00:00:00+24:00', 'offset +24:00'],
  ])('refuses %s', (_what, text, field) => {
    expect(() => parseRfc3339(text, 'revokedAt')).toThrow(new VerificationError(`revokedAt ${JSON.stringify(text)} is not a valid date-time: ${field} is out of range`));
  });

  test('refuses non-strings, and raises the caller\'s error class', () => {
    expect(() => parseRfc3339(1714564800, 'expiry')).toThrow('expiry is number 1714564800; expected an RFC 3339 date-time');
    expect(() => parseRfc3339('x', 'expiry', UsageError)).toThrow(UsageError);
  });
});
