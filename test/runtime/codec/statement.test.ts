import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { decodeStatement, onlySubjectDigest, STATEMENT_TYPE, subjectDigests } from '../../../src/runtime/codec/statement';

const ROOT = 'ab'.repeat(32);
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const ok = { _type: STATEMENT_TYPE, subject: [{ name: 'm', digest: { sha256: ROOT } }], predicateType: 'https://example.com/p', predicate: { a: 1 } };

describe('decodeStatement', () => {
  test('decodes a statement of any predicate type, keeping every member', () => {
    const st = decodeStatement(bytes(ok));
    expect(st).toEqual(ok);
    expect(st.predicateType).toBe('https://example.com/p');
  });

  test.each([
    ['not JSON', '{"_type":', /^b\.json: DSSE payload \(an in-toto Statement v1\) is not valid JSON \(.*\)$/],
    ['an array', '[]', /^b\.json: DSSE payload is an array; expected an in-toto Statement v1 JSON object$/],
    ['null', 'null', /^b\.json: DSSE payload is null; expected/],
    ['a string', '"x"', /^b\.json: DSSE payload is a string; expected/],
    ['another _type', { ...ok, _type: 'https://in-toto.io/Statement/v0.1' }, /^b\.json: statement _type is "https:\/\/in-toto.io\/Statement\/v0.1"; expected "https:\/\/in-toto.io\/Statement\/v1"$/],
    ['no predicateType', { ...ok, predicateType: undefined }, /^b\.json: statement predicateType is undefined; expected a non-empty URI$/],
    ['an empty predicateType', { ...ok, predicateType: '' }, /statement predicateType is ""; expected a non-empty URI/],
  ])('refuses %s', (_what, payload, message) => {
    expect(() => decodeStatement(bytes(payload), 'b.json')).toThrow(VerificationError);
    expect(() => decodeStatement(bytes(payload), 'b.json')).toThrow(message);
  });

  test('without a name the message has no prefix; the error class is the caller\'s', () => {
    expect(() => decodeStatement(bytes({ ...ok, _type: 'x' }))).toThrow(/^statement _type is "x"/);
    expect(() => decodeStatement(bytes('[]'), 'f', UsageError)).toThrow(UsageError);
  });
});

describe('subject digests', () => {
  test('subjectDigests lists every subject\'s sha256, in order', () => {
    const two = { ...ok, subject: [...ok.subject, { name: 'n', digest: { sha256: 'cd'.repeat(32), sha512: 'x' } }] };
    expect(subjectDigests(two)).toEqual([ROOT, 'cd'.repeat(32)]);
  });

  test.each([
    ['no subject', { ...ok, subject: [] }, /statement has no subject/],
    ['a subject without sha256', { ...ok, subject: [{ name: 'm', digest: { sha512: ROOT } }] }, /subject #0 digest.sha256 is undefined/],
    ['upper-case hex', { ...ok, subject: [{ name: 'm', digest: { sha256: ROOT.toUpperCase() } }] }, /subject #0 digest.sha256 is "ABAB/],
  ])('subjectDigests refuses %s', (_what, st, message) => {
    expect(() => subjectDigests(st, 'b')).toThrow(message);
  });

  test('onlySubjectDigest needs exactly one subject', () => {
    expect(onlySubjectDigest(ok)).toBe(ROOT);
    expect(() => onlySubjectDigest({ ...ok, subject: [...ok.subject, ...ok.subject] }, 'b', UsageError)).toThrow(
      new UsageError('b: statement has 2 subject(s); an attestation must have exactly one subject, the model\'s root digest'));
    expect(() => onlySubjectDigest({ ...ok, subject: undefined })).toThrow(/has no subject\(s\)/);
    expect(() => onlySubjectDigest({ ...ok, subject: [{ name: 'm', digest: { sha256: 'xyz' } }] })).toThrow(/subject digest.sha256 is "xyz"/);
  });
});
