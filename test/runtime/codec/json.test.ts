import * as fc from 'fast-check';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { MAX_JSON_DEPTH, parseJson } from '../../../src/runtime/codec/json';

describe('parseJson (issue 10 #7: every signed or stored document has one reading)', () => {
  test('reads what JSON.parse reads when names are unique', () => {
    expect(parseJson('{"a": [1, "x", {"b": null}], "c": true}', 'doc')).toEqual({ a: [1, 'x', { b: null }], c: true });
    expect(parseJson(Buffer.from('"\\ud83d\\ude00"'), 'doc')).toBe('😀');
    expect(parseJson('{"a": {"x": 1}, "b": {"x": 2}}', 'doc')).toEqual({ a: { x: 1 }, b: { x: 2 } });
  });

  test.each([
    ['a duplicate member', '{"mediaType": "a", "mediaType": "b"}', 'doc has the member "mediaType" twice in the object at /; a signed document must have one reading'],
    ['a duplicate spelled with an escape', '{"a": 1, "\\u0061": 2}', 'doc has the member "a" twice in the object at /; a signed document must have one reading'],
    ['a nested duplicate', '{"x": [{"ok": 1}, {"k": 1, "k": 2}]}', 'doc has the member "k" twice in the object at /x/1; a signed document must have one reading'],
    ['a lone surrogate', '{"name": "a\\ud800"}', 'doc has a lone UTF-16 surrogate in a string at /name'],
    ['a lone low surrogate as a name', '{"\\udc00": 1}', 'doc has a lone UTF-16 surrogate in a string at /'],
    ['not JSON', '{"a":', 'doc is not valid JSON (Unexpected end of JSON input)'],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseJson(text, 'doc')).toThrow(new VerificationError(message));
  });

  test('refuses bytes that are not UTF-8 (U+FFFD would hide them) and a BOM', () => {
    expect(() => parseJson(Buffer.from([0x22, 0xff, 0x22]), 'doc')).toThrow('doc is not valid UTF-8');
    expect(() => parseJson(Buffer.from('\ufeff{}'), 'doc')).toThrow(/^doc is not valid JSON/);
  });

  test('refuses nesting deeper than the limit, and raises the error class the caller names', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(() => parseJson(deep, 'doc')).toThrow(`doc nests deeper than ${MAX_JSON_DEPTH} levels at /${'0/'.repeat(MAX_JSON_DEPTH - 1)}0`);
    expect(parseJson('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH), 'doc')).toBeDefined();
    expect(() => parseJson('{"a":1,"a":1}', 'doc', UsageError)).toThrow(UsageError);
  });

  test('property: any JSON value without duplicate names reads back equal; adding a duplicate is always refused', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      const text = JSON.stringify(v);
      expect(parseJson(text, 'doc')).toEqual(JSON.parse(text));
    }), { numRuns: 200 });
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 }), fc.jsonValue({ maxDepth: 2 }), (obj, extra) => {
      const text = JSON.stringify(obj);
      const name = Object.keys(obj)[0];
      const dup = `${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(extra)}}`;
      expect(() => parseJson(dup, 'doc')).toThrow(/twice in the object at \/;/);
    }), { numRuns: 100 });
  });
});
