import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { pathToFileURL } from 'url';
import { UsageError } from '../../../src/runtime/codec/errors';
import { parsePkcs11Uri, readPinSource, redact } from '../../../src/runtime/signers/pkcs11-uri';

describe('parsePkcs11Uri: RFC 7512 section 3.3 examples', () => {
  test('empty URI matches everything', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
  });

  test('object and type', () => {
    expect(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public')).toEqual({ object: 'my-pubkey', type: 'public' });
  });

  test('pin-source as a file: URI', () => {
    expect(parsePkcs11Uri('pkcs11:object=my-key;type=private?pin-source=file:/etc/token')).toEqual({
      object: 'my-key',
      type: 'private',
      pinSource: 'file:/etc/token',
    });
  });

  test('token, manufacturer, model, percent-encoded id and an empty serial', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;' +
        'object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
    );
    expect(uri).toEqual({
      token: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      object: 'my-certificate',
      type: 'cert',
      id: Buffer.from('69953e5cf4bdec91', 'hex'),
      serial: '',
      pinSource: 'file:/etc/token_pin',
    });
  });

  test('module-name and module-path', () => {
    expect(parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-name=mypkcs11')).toEqual({
      object: 'my-sign-key',
      type: 'private',
      moduleName: 'mypkcs11',
    });
    expect(parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1')).toEqual({
      object: 'my-sign-key',
      type: 'private',
      modulePath: '/mnt/libmypkcs11.so.1',
    });
  });

  test('pin-value', () => {
    expect(parsePkcs11Uri('pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin')).toEqual({
      token: 'Software PKCS#11 softtoken',
      manufacturer: 'Snake Oil, Inc.',
      pinValue: 'the-pin',
    });
  });

  test('slot and library attributes', () => {
    expect(parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot')).toEqual({ slotDescription: 'Sun Metaslot' });
    expect(
      parsePkcs11Uri('pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23'),
    ).toEqual({ libraryManufacturer: 'Snake Oil, Inc.', libraryDescription: 'Soft Token Library', libraryVersion: '1.23' });
    expect(parsePkcs11Uri('pkcs11:slot-manufacturer=Acme;slot-id=2')).toEqual({ slotManufacturer: 'Acme', slotId: 2 });
  });

  test('percent-encoded "%" and ";" inside a value, and UTF-8 text', () => {
    expect(parsePkcs11Uri('pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert').token).toBe(
      'A name with a substring %;',
    );
    expect(parsePkcs11Uri('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert').token).toBe(
      'Name with a small A with acute: \u00e1',
    );
    expect(parsePkcs11Uri('pkcs11:token=my-token;object=my-certificate;type=cert;id=%E2%82%AC').id).toEqual(Buffer.from('\u20ac', 'utf8'));
  });

  test('vendor attributes are rejected, naming the attribute', () => {
    expect(() =>
      parsePkcs11Uri('pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b'),
    ).toThrow(/unknown attribute "vendor-aaa"/);
  });

  test('attribute names are case-insensitive; the scheme too', () => {
    expect(parsePkcs11Uri('PKCS11:Token=t;OBJECT=k')).toEqual({ token: 't', object: 'k' });
  });
});

describe('parsePkcs11Uri: errors name the bad part', () => {
  const cases: [string, RegExp][] = [
    ['file:/etc/key.pem', /not a PKCS#11 URI/],
    ['pkcs11:token=t;colour=blue', /unknown attribute "colour"/],
    ['pkcs11:token=t?x-vendor=1', /unknown attribute "x-vendor"/],
    ['pkcs11:token=t;token=u', /"token" appears more than once/],
    ['pkcs11:token=t;type=secret', /type "secret" is not one of public, private, cert, secret-key, data/],
    ['pkcs11:slot-id=abc', /slot-id "abc" is not a decimal number/],
    ['pkcs11:token=bad%2', /"token" has a bad percent-escape "%2"/],
    ['pkcs11:token=bad%zz', /bad percent-escape "%zz"/],
    ['pkcs11:token', /"token" is not an attribute=value pair/],
    ['pkcs11:token=t?pin-value=1&pin-source=/x', /pin-value or pin-source, not both/],
    ['pkcs11:token=t?module-path=/a.so&module-name=b', /module-path or module-name, not both/],
    ['pkcs11:token=t;pin-value=1', /"pin-value" belongs in the query/],
    ['pkcs11:token=t?object=k', /"object" belongs in the path/],
    ['pkcs11:library-version=1.x', /library-version "1.x"/],
  ];
  test.each(cases)('%s', (uri, message) => {
    expect(() => parsePkcs11Uri(uri)).toThrow(UsageError);
    expect(() => parsePkcs11Uri(uri)).toThrow(message);
  });

  test('errors never echo pin-value', () => {
    expect(() => parsePkcs11Uri('pkcs11:token=t;bogus=1?pin-value=s3cret')).toThrow(/pin-value=\*\*\*/);
    expect(() => parsePkcs11Uri('pkcs11:token=t;bogus=1?pin-value=s3cret')).not.toThrow(/s3cret/);
    expect(redact('pkcs11:token=t?pin-value=abc&module-name=x')).toBe('pkcs11:token=t?pin-value=***&module-name=x');
  });
});

describe('readPinSource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'modelseal-pin-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads an absolute path and a file: URI, dropping one trailing newline', () => {
    const f = join(dir, 'pin');
    writeFileSync(f, '1234\n');
    expect(readPinSource(f)).toBe('1234');
    expect(readPinSource(pathToFileURL(f).href)).toBe('1234');
    writeFileSync(f, '12 34\r\n');
    expect(readPinSource(f)).toBe('12 34');
  });

  test('a missing file or an unsupported source is a UsageError naming it', () => {
    expect(() => readPinSource(join(dir, 'nope'))).toThrow(/cannot read the PIN from pin-source ".*nope": ENOENT/);
    expect(() => readPinSource('|/usr/bin/askpin')).toThrow(/pin-source "\|\/usr\/bin\/askpin" is not supported/);
    expect(() => readPinSource('relative/pin')).toThrow(UsageError);
  });
});
