import { IN_TOTO_PAYLOAD_TYPE, pae, paeCompat, pythonBytesRepr } from '../../../src/runtime/engine/pae';

describe('pae', () => {
  test('encodes DSSEv1 with byte lengths', () => {
    expect(pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"a":1}')).toString()).toBe(
      'DSSEv1 28 application/vnd.in-toto+json 7 {"a":1}');
  });

  test('counts UTF-8 bytes, not characters', () => {
    expect(pae('t', Buffer.from('é', 'utf8')).toString('utf8')).toBe('DSSEv1 1 t 2 é');
  });

  test('matches the DSSE specification example', () => {
    // https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md#test-vectors
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
});

describe('paeCompat (model_signing v0.2)', () => {
  test('embeds the Python repr of the payload after DSSEV1', () => {
    expect(paeCompat(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{\n "a": 1\n}')).toString()).toBe(
      'DSSEV1 28 application/vnd.in-toto+json 11 b\'{\\n "a": 1\\n}\'');
  });

  test.each([
    ["it's", 'b"it\'s"'],
    ['both \' and "', 'b\'both \\\' and "\''],
    ['tab\there\r', "b'tab\\there\\r'"],
    ['back\\slash', "b'back\\\\slash'"],
  ])('repr of %j is %s', (input, expected) => {
    expect(pythonBytesRepr(Buffer.from(input))).toBe(expected);
  });

  test('escapes non-ASCII bytes as \\x', () => {
    expect(pythonBytesRepr(Buffer.from([0x00, 0x7f, 0xc3, 0xa9]))).toBe("b'\\x00\\x7f\\xc3\\xa9'");
  });
});
